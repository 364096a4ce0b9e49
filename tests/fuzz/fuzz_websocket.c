/* fuzz_websocket.c — libFuzzer target for dissectors/http/websocket.c (RFC 6455 frames,
 * RFC 7692 permessage-deflate).
 *
 * The first input byte picks the extension (bits 0-1: none, deflate, deflate without context
 * takeover, deflate with 9-bit windows), a split pattern (bits 2-4) and the message limit (bits
 * 5-7); the rest is one direction's bytes. They are read whole, in pseudo-random pieces and byte
 * by byte: the three must see the same messages and control frames (a bomb may stop at a
 * split-dependent point, so then only the messages before it are compared), and the same
 * status. A fourth reader gets a small room on every feed: it may never hold more than it was
 * granted. Also parses the first bytes as a frame header and as a Sec-WebSocket-Extensions
 * value. abort() on any broken invariant, so libFuzzer reports it as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "websocket.h"

static const size_t limits[8] = {0, 1, 5, 100, 1000, 4096, 65536, 1 << 20};

/* What a reader handed on, one record after another: opcode, flags, length, bytes. */
struct log {
    uint8_t *p;
    size_t len, cap;
    size_t limit;
    int bombs;
};

static void log_add(struct log *l, const void *p, size_t n)
{
    if (!n)
        return;
    if (l->len + n > l->cap) {
        size_t cap = (l->len + n) * 2;
        uint8_t *q = realloc(l->p, cap);
        if (!q)
            abort();
        l->p = q;
        l->cap = cap;
    }
    if (n)
        memcpy(l->p + l->len, p, n);
    l->len += n;
}

static int on_msg(void *user, const struct ws_message *m)
{
    struct log *l = user;
    if (m->len > (m->opcode & 8 ? WS_CONTROL_MAX : l->limit))
        abort();
    if (m->len && !m->p)
        abort();
    if (m->bomb) {
        l->bombs++;
        return 0; /* where a bomb stops depends on the split: not logged */
    }
    uint8_t head[8] = {m->opcode, m->compressed, m->truncated, m->capped, m->error};
    memcpy(head + 5, &(uint16_t){(uint16_t)m->len}, 2);
    log_add(l, head, sizeof(head));
    log_add(l, m->p, m->len);
    return 0;
}

static void check(const struct ws_reader *r)
{
    if (r->len > r->cap || r->cap > r->limit || (r->cap && !r->buf) || r->ctl_len > WS_CONTROL_MAX)
        abort();
    if (r->buf && r->mem < r->cap)
        abort();
}

static int same(const struct log *a, const struct log *b)
{
    return a->len == b->len && (!a->len || !memcmp(a->p, b->p, a->len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static const struct ws_deflate ext[4] = {
        {0, {0, 0}, {15, 15}}, {1, {0, 0}, {15, 15}}, {1, {1, 1}, {15, 15}}, {1, {0, 0}, {9, 8}}};
    const struct ws_deflate *d = &ext[data[0] & 3];
    uint32_t seed = ((data[0] >> 2) & 7) * 2654435761u + 1;
    size_t limit = limits[data[0] >> 5];
    const uint8_t *p = data + 1;
    size_t n = size - 1;

    struct ws_frame_header h;
    struct parse_result pr = ws_frame_header_parse(p, n, &h);
    if (pr.status == PARSE_OK && (pr.consumed > n || pr.consumed != h.hlen || h.hlen > 14))
        abort();
    if (pr.status == PARSE_NEED_MORE && (pr.needed <= n || pr.needed > WS_HEADER_MAX))
        abort();
    struct ws_deflate parsed;
    if (ws_extensions_parse(span_make(p, n < 200 ? n : 200), &parsed) != 1 && parsed.on)
        abort();

    struct ws_reader whole, pieces, bytes, tight;
    struct log lw = {.limit = limit}, lp = {.limit = limit}, lb = {.limit = limit},
               lt = {.limit = limit};
    ws_reader_init(&whole, limit, 100, d, WS_CLIENT);
    enum ws_status sw = ws_reader_feed(&whole, p, n, SIZE_MAX, on_msg, &lw);
    check(&whole);

    ws_reader_init(&pieces, limit, 100, d, WS_CLIENT);
    enum ws_status sp = WS_OK;
    for (size_t off = 0; off < n;) {
        seed = seed * 1103515245u + 12345u;
        size_t k = (seed >> 16) % 97;
        if (k > n - off)
            k = n - off;
        uint8_t *copy = malloc(k ? k : 1); /* exactly sized, so ASan sees any overread */
        memcpy(copy, p + off, k);
        sp = ws_reader_feed(&pieces, copy, k, SIZE_MAX, on_msg, &lp);
        free(copy);
        off += k;
        check(&pieces);
    }
    if (!n)
        sp = ws_reader_feed(&pieces, p, 0, SIZE_MAX, on_msg, &lp);

    ws_reader_init(&bytes, limit, 100, d, WS_CLIENT);
    enum ws_status sb = WS_OK;
    for (size_t i = 0; i < n; i++)
        sb = ws_reader_feed(&bytes, p + i, 1, SIZE_MAX, on_msg, &lb);
    if (!n)
        sb = ws_reader_feed(&bytes, p, 0, SIZE_MAX, on_msg, &lb);
    check(&bytes);

    if (sw != sp || sw != sb)
        abort();
    if (!lw.bombs && !lp.bombs && !lb.bombs && (!same(&lw, &lp) || !same(&lw, &lb)))
        abort();

    /* a small room each feed: what it holds grows by no more than it was granted */
    ws_reader_init(&tight, limit, 100, d, WS_CLIENT);
    for (size_t off = 0; off < n;) {
        size_t k = n - off < 61 ? n - off : 61, before = tight.mem, room = 3000 + (off % 50000);
        ws_reader_feed(&tight, p + off, k, room, on_msg, &lt);
        if (tight.mem > before + room)
            abort();
        check(&tight);
        off += k;
    }

    ws_reader_reset(&whole);
    ws_reader_reset(&pieces);
    ws_reader_reset(&bytes);
    ws_reader_reset(&tight);
    if (whole.mem || pieces.mem || bytes.mem || tight.mem)
        abort();
    free(lw.p);
    free(lp.p);
    free(lb.p);
    free(lt.p);
    return 0;
}
