/* fuzz_body.c — libFuzzer target for dissectors/http/body.c (Content-Encoding decoding).
 *
 * The first input byte picks the encoding (bits 0-1: identity, gzip, deflate, unsupported), a
 * split pattern (bits 2-4) and the limit (bits 5-7); the rest is the body. It is decoded whole,
 * in pseudo-random pieces (with a length announced, right or wrong: body_expect) and byte by
 * byte; the three must agree (only a bomb may stop at a
 * split-dependent point, so then only the common prefix is compared). Checks the buffer and
 * counter invariants, and resets one copy mid-stream (leaks show under ASan). abort() on any
 * broken invariant, so libFuzzer reports it as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"

static const size_t limits[8] = {0, 1, 100, 1000, 4096, 5000, 65536, 1 << 20};

static void check(const struct body *b, size_t n)
{
    if (b->len > b->cap || b->cap > b->limit || b->len > b->out || b->in != n)
        abort();
    if (b->len && !b->buf)
        abort();
    if (b->encoding == BODY_IDENTITY && (b->out != n || b->len != (n < b->limit ? n : b->limit)))
        abort();
    if (b->encoding == BODY_UNSUPPORTED && (b->len || b->buf || b->z))
        abort();
    if (b->encoding == BODY_GZIP || b->encoding == BODY_DEFLATE) {
        /* past the limit zlib only fills the small probe: out stays near what is kept */
        if (b->out - b->len > 256 || (!b->truncated && b->out != b->len))
            abort();
        if (b->done && (b->error || b->bomb || b->truncated))
            abort();
    }
}

static void same(const struct body *a, const struct body *b)
{
    if (a->bomb || b->bomb) {
        size_t n = a->len < b->len ? a->len : b->len;
        if (n && memcmp(a->buf, b->buf, n))
            abort();
        return;
    }
    if (a->len != b->len || a->done != b->done || a->error != b->error ||
        a->truncated != b->truncated)
        abort();
    if (a->len && memcmp(a->buf, b->buf, a->len))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int enc = data[0] & 3;
    uint32_t seed = ((data[0] >> 2) & 7) * 2654435761u + 1;
    size_t limit = limits[data[0] >> 5];
    const uint8_t *p = data + 1;
    size_t n = size - 1;

    struct body whole, pieces, bytes, cut;
    body_init(&whole, enc, limit, 100);
    body_feed(&whole, p, n);
    check(&whole, n);

    body_init(&pieces, enc, limit, 100);
    /* A Content-Length, right or wrong, only sizes the buffer: the same bytes are kept. */
    const uint64_t announced[4] = {n, n / 2, (uint64_t)n + 7, UINT64_MAX};
    body_expect(&pieces, announced[n & 3]);
    for (size_t off = 0; off < n;) {
        seed = seed * 1103515245u + 12345u;
        size_t k = (seed >> 16) % 97;
        if (k > n - off)
            k = n - off;
        uint8_t *copy = malloc(k ? k : 1); /* exactly sized, so ASan sees any overread */
        memcpy(copy, p + off, k);
        body_feed(&pieces, copy, k);
        free(copy);
        off += k;
    }
    check(&pieces, n);
    same(&whole, &pieces);

    body_init(&bytes, enc, limit, 100);
    for (size_t i = 0; i < n; i++)
        body_feed(&bytes, p + i, 1);
    check(&bytes, n);
    same(&whole, &bytes);

    body_init(&cut, enc, limit, 100);
    body_feed(&cut, p, n / 2);
    body_reset(&cut);

    body_reset(&whole);
    body_reset(&pieces);
    body_reset(&bytes);
    return 0;
}
