/* test_websocket.c — unit tests for dissectors/http/websocket.c: the examples of RFC 6455 §5.7
 * (single-frame unmasked and masked "Hello", fragmented "Hel"+"lo", ping and pong, 256-byte and
 * 65536-byte binary messages) and of RFC 7692 §7.2.3 (compressed "Hello", fragmented, the shared
 * sliding window of a second message, the same without context takeover, a stored block, BFINAL,
 * two blocks), each fed whole, in every two-way split and byte by byte; control frames inside a
 * fragmented message; the message limit and the caller's room (memory charged exactly, never
 * more than granted); a deflate bomb stopped; framing errors (reserved opcode and bits, control
 * frames fragmented or too long, lengths not minimally encoded, 2^63, continuation without a
 * message, interleaved messages); Sec-WebSocket-Extensions parsing; UTF-8 validation; a reset in
 * the middle of a compressed message (ASan reports leaks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "websocket.h"

/* What the callback saw: every message and control frame, in order. */
#define MAX_SEEN 16
struct seen {
    int n;
    struct ws_message m[MAX_SEEN];
    uint8_t *data[MAX_SEEN];
    int stop_after; /* 0: never ask to stop */
};

static int on_msg(void *user, const struct ws_message *m)
{
    struct seen *s = user;
    assert_true(s->n < MAX_SEEN);
    s->m[s->n] = *m;
    s->data[s->n] = malloc(m->len + 1);
    if (m->len)
        memcpy(s->data[s->n], m->p, m->len);
    s->m[s->n].p = s->data[s->n];
    s->n++;
    return s->stop_after && s->n >= s->stop_after;
}

static void seen_free(struct seen *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->data[i]);
    memset(s, 0, sizeof(*s));
}

static void expect(const struct seen *s, int i, uint8_t op, const void *p, size_t len)
{
    assert_true(i < s->n);
    assert_int_equal(s->m[i].opcode, op);
    assert_int_equal(s->m[i].len, len);
    if (len)
        assert_memory_equal(s->m[i].p, p, len);
}

static const struct ws_deflate deflate_on = {1, {0, 0}, {15, 15}};
static const struct ws_deflate deflate_no_ctx = {1, {1, 1}, {15, 15}};

/* Feeds `in` in one piece, split at every offset, and byte by byte; each run must see the
 * messages `check` expects. */
static void feed_all_ways(const uint8_t *in, size_t n, const struct ws_deflate *d, int sender,
                          void (*check)(const struct seen *s))
{
    for (size_t split = 0; split <= n + 1; split++) {
        struct ws_reader r;
        struct seen s = {0};
        ws_reader_init(&r, 1 << 20, 100, d, sender);
        if (split == n + 1) {
            for (size_t i = 0; i < n; i++)
                assert_int_equal(ws_reader_feed(&r, in + i, 1, SIZE_MAX, on_msg, &s), WS_OK);
        } else {
            assert_int_equal(ws_reader_feed(&r, in, split, SIZE_MAX, on_msg, &s), WS_OK);
            assert_int_equal(ws_reader_feed(&r, in + split, n - split, SIZE_MAX, on_msg, &s),
                             WS_OK);
        }
        check(&s);
        ws_reader_reset(&r);
        assert_int_equal(r.mem, 0);
        seen_free(&s);
    }
}

/* ---- RFC 6455 §5.7 ---- */

static void check_hello(const struct seen *s)
{
    assert_int_equal(s->n, 1);
    expect(s, 0, WS_OP_TEXT, "Hello", 5);
    assert_false(s->m[0].compressed);
}

static void test_rfc6455_unmasked(void **state)
{
    (void)state;
    static const uint8_t f[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    feed_all_ways(f, sizeof(f), NULL, WS_SERVER, check_hello);
}

static void test_rfc6455_masked(void **state)
{
    (void)state;
    static const uint8_t f[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    feed_all_ways(f, sizeof(f), NULL, WS_CLIENT, check_hello);
}

static void test_rfc6455_fragmented(void **state)
{
    (void)state;
    static const uint8_t f[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
    feed_all_ways(f, sizeof(f), NULL, WS_SERVER, check_hello);
}

static void check_ping_pong(const struct seen *s)
{
    assert_int_equal(s->n, 2);
    expect(s, 0, WS_OP_PING, "Hello", 5);
    expect(s, 1, WS_OP_PONG, "Hello", 5);
}

static void test_rfc6455_ping_pong(void **state)
{
    (void)state;
    static const uint8_t f[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f, /* unmasked ping */
                                0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    feed_all_ways(f, sizeof(f), NULL, WS_CLIENT, check_ping_pong);
}

/* A ping between the fragments of a message, as §5.4 allows. */
static void check_ping_inside(const struct seen *s)
{
    assert_int_equal(s->n, 2);
    expect(s, 0, WS_OP_PING, "", 0);
    expect(s, 1, WS_OP_TEXT, "Hello", 5);
}

static void test_control_inside_fragments(void **state)
{
    (void)state;
    static const uint8_t f[] = {0x01, 0x83, 1, 2, 3, 4, 0x48 ^ 1, 0x65 ^ 2, 0x6c ^ 3,
                                0x89, 0x80, 9, 9, 9, 9, /* masked empty ping */
                                0x80, 0x82, 5, 6, 7, 8, 0x6c ^ 5, 0x6f ^ 6};
    feed_all_ways(f, sizeof(f), NULL, WS_CLIENT, check_ping_inside);
}

static uint8_t *big_frame(size_t len, size_t *n)
{
    size_t h = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
    uint8_t *f = malloc(h + len);
    f[0] = 0x82;
    if (h == 4) {
        f[1] = 0x7e;
        f[2] = (uint8_t)(len >> 8);
        f[3] = (uint8_t)len;
    } else if (h == 10) {
        f[1] = 0x7f;
        for (int i = 0; i < 8; i++)
            f[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    } else {
        f[1] = (uint8_t)len;
    }
    for (size_t i = 0; i < len; i++)
        f[h + i] = (uint8_t)(i * 7);
    *n = h + len;
    return f;
}

static void test_rfc6455_lengths(void **state)
{
    (void)state;
    static const size_t lens[] = {256, 65536};
    static const uint8_t heads[2][10] = {{0x82, 0x7e, 0x01, 0x00},
                                         {0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}};
    for (int k = 0; k < 2; k++) {
        size_t n;
        uint8_t *f = big_frame(lens[k], &n);
        assert_memory_equal(f, heads[k], k ? 10 : 4); /* the RFC's header bytes */
        struct ws_frame_header h;
        struct parse_result pr = ws_frame_header_parse(f, n, &h);
        assert_int_equal(pr.status, PARSE_OK);
        assert_int_equal(h.len, lens[k]);
        assert_int_equal(h.hlen, k ? 10 : 4);
        for (size_t cut = 0; cut < h.hlen; cut++)
            assert_int_equal(ws_frame_header_parse(f, cut, &h).status, PARSE_NEED_MORE);
        struct ws_reader r;
        struct seen s = {0};
        ws_reader_init(&r, 1 << 20, 100, NULL, WS_SERVER);
        for (size_t off = 0; off < n; off += 1000) /* pieces across the header and payload */
            ws_reader_feed(&r, f + off, n - off < 1000 ? n - off : 1000, SIZE_MAX, on_msg, &s);
        assert_int_equal(s.n, 1);
        expect(&s, 0, WS_OP_BINARY, f + (k ? 10 : 4), lens[k]);
        assert_true(r.mem >= r.cap);
        ws_reader_reset(&r);
        seen_free(&s);
        free(f);
    }
}

/* ---- RFC 7692 §7.2.3 ---- */

static void check_hello_z(const struct seen *s)
{
    assert_int_equal(s->n, 1);
    expect(s, 0, WS_OP_TEXT, "Hello", 5);
    assert_true(s->m[0].compressed);
    assert_false(s->m[0].error);
}

static void test_rfc7692_hello(void **state)
{
    (void)state;
    static const uint8_t one[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t frag[] = {0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t stored[] = {0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48,
                                     0x65, 0x6c, 0x6c, 0x6f, 0x00};
    static const uint8_t bfinal[] = {0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
    static const uint8_t two[] = {0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff,
                                  0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00};
    feed_all_ways(one, sizeof(one), &deflate_on, WS_SERVER, check_hello_z);
    feed_all_ways(frag, sizeof(frag), &deflate_on, WS_SERVER, check_hello_z);
    feed_all_ways(stored, sizeof(stored), &deflate_on, WS_SERVER, check_hello_z);
    feed_all_ways(bfinal, sizeof(bfinal), &deflate_on, WS_SERVER, check_hello_z);
    feed_all_ways(two, sizeof(two), &deflate_on, WS_SERVER, check_hello_z);
    /* a masked one, as a client sends it */
    uint8_t masked[] = {0xc1, 0x87, 0x11, 0x22, 0x33, 0x44, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 7; i++)
        masked[6 + i] = one[2 + i] ^ masked[2 + i % 4];
    feed_all_ways(masked, sizeof(masked), &deflate_on, WS_CLIENT, check_hello_z);
}

/* The second "Hello" refers back into the first one's window (§7.2.3.2). */
static const uint8_t shared[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00,
                                 0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00};

static void check_shared(const struct seen *s)
{
    assert_int_equal(s->n, 2);
    expect(s, 0, WS_OP_TEXT, "Hello", 5);
    expect(s, 1, WS_OP_TEXT, "Hello", 5);
    assert_false(s->m[1].error);
}

static void test_rfc7692_shared_window(void **state)
{
    (void)state;
    feed_all_ways(shared, sizeof(shared), &deflate_on, WS_SERVER, check_shared);
}

/* Without context takeover the second message may not refer back: it fails to inflate, while a
 * message that stands alone (the first encoding, sent twice) reads every time. */
static void check_no_ctx(const struct seen *s)
{
    assert_int_equal(s->n, 2);
    expect(s, 0, WS_OP_TEXT, "Hello", 5);
    assert_int_equal(s->m[1].opcode, WS_OP_TEXT);
    assert_true(s->m[1].error);
    assert_true(s->m[1].len < 5); /* what decoded before the reference back: never "Hello" */
}

static void check_twice(const struct seen *s)
{
    assert_int_equal(s->n, 2);
    expect(s, 0, WS_OP_TEXT, "Hello", 5);
    expect(s, 1, WS_OP_TEXT, "Hello", 5);
}

static void test_rfc7692_no_context_takeover(void **state)
{
    (void)state;
    feed_all_ways(shared, sizeof(shared), &deflate_no_ctx, WS_SERVER, check_no_ctx);
    static const uint8_t twice[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00,
                                    0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    feed_all_ways(twice, sizeof(twice), &deflate_no_ctx, WS_SERVER, check_twice);
    /* the parameter of the other direction does not apply to this one */
    struct ws_deflate server_only = {1, {0, 1}, {15, 15}};
    feed_all_ways(shared, sizeof(shared), &server_only, WS_CLIENT, check_shared);
}

/* Messages compressed here by zlib the way a peer does (raw deflate, sync flush, the 00 00 ff
 * ff tail removed), a window taken over from message to message. */
static size_t compress_msgs(z_stream *z, const void *p, size_t n, uint8_t *out, size_t cap)
{
    z->next_in = (Bytef *)p;
    z->avail_in = (uInt)n;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    assert_int_equal(deflate(z, Z_SYNC_FLUSH), Z_OK);
    size_t len = cap - z->avail_out;
    assert_true(len >= 4 && !memcmp(out + len - 4, "\x00\x00\xff\xff", 4));
    return len - 4;
}

static size_t frame(uint8_t *f, uint8_t b0, const uint8_t *payload, size_t n)
{
    size_t h = 2;
    f[0] = b0;
    if (n < 126) {
        f[1] = (uint8_t)n;
    } else if (n <= 0xffff) {
        f[1] = 126;
        f[2] = (uint8_t)(n >> 8);
        f[3] = (uint8_t)n;
        h = 4;
    } else {
        f[1] = 127;
        for (int i = 0; i < 8; i++)
            f[2 + i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
        h = 10;
    }
    memcpy(f + h, payload, n);
    return h + n;
}

static void test_deflate_limit_keeps_window(void **state)
{
    (void)state;
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    static uint8_t big[20000], comp[30000], f[40000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)("abcdefghij"[i % 10] + (i / 1000) % 5);
    size_t n = 0, c = compress_msgs(&z, big, sizeof(big), comp, sizeof(comp));
    n += frame(f + n, 0xc1, comp, c);
    c = compress_msgs(&z, big + 100, 5000, comp, sizeof(comp)); /* refers back into message 1 */
    n += frame(f + n, 0xc1, comp, c);
    deflateEnd(&z);
    struct ws_reader r;
    struct seen s = {0};
    ws_reader_init(&r, 1000, 100, &deflate_on, WS_SERVER);
    assert_int_equal(ws_reader_feed(&r, f, n, SIZE_MAX, on_msg, &s), WS_OK);
    assert_int_equal(s.n, 2);
    expect(&s, 0, WS_OP_TEXT, big, 1000);
    assert_true(s.m[0].truncated);
    expect(&s, 1, WS_OP_TEXT, big + 100, 1000); /* decoded right: the window was kept */
    assert_true(s.m[1].truncated);
    assert_false(s.m[1].error);
    assert_true(r.cap <= 1000);
    ws_reader_reset(&r);
    seen_free(&s);
}

static void test_deflate_bomb(void **state)
{
    (void)state;
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    size_t zeros = 20u << 20, cap = 64 * 1024;
    uint8_t *in = calloc(1, zeros), *comp = malloc(cap), *f = malloc(cap + 16);
    size_t c = compress_msgs(&z, in, zeros, comp, cap);
    deflateEnd(&z);
    size_t n = frame(f, 0xc2, comp, c);
    struct ws_reader r;
    struct seen s = {0};
    ws_reader_init(&r, 4096, 100, &deflate_on, WS_SERVER);
    assert_int_equal(ws_reader_feed(&r, f, n, SIZE_MAX, on_msg, &s), WS_OK);
    assert_int_equal(s.n, 1);
    assert_true(s.m[0].bomb);
    assert_true(s.m[0].truncated);
    assert_int_equal(s.m[0].len, 4096);
    /* it stopped early: about ratio times what it was given past the floor, not 20 MiB */
    assert_true(r.msg_out <= 100 * r.msg_in + 65536 + 4096);
    assert_true(r.msg_out < zeros / 8);
    /* the window is lost: the next compressed message cannot be read, a plain one can */
    n = frame(f, 0xc1, (const uint8_t *)"\xf2\x48\xcd\xc9\xc9\x07\x00", 7);
    n += frame(f + n, 0x81, (const uint8_t *)"ok", 2);
    assert_int_equal(ws_reader_feed(&r, f, n, SIZE_MAX, on_msg, &s), WS_OK);
    assert_int_equal(s.n, 3);
    assert_true(s.m[1].error);
    expect(&s, 2, WS_OP_TEXT, "ok", 2);
    ws_reader_reset(&r);
    seen_free(&s);
    free(in);
    free(comp);
    free(f);
}

/* The caller's room bounds what the reader allocates, and `mem` is what it holds. */
static void test_room(void **state)
{
    (void)state;
    size_t n;
    uint8_t *f = big_frame(65536, &n);
    struct ws_reader r;
    struct seen s = {0};
    ws_reader_init(&r, 1 << 20, 100, NULL, WS_SERVER);
    assert_int_equal(ws_reader_feed(&r, f, n, 5000, on_msg, &s), WS_OK);
    assert_int_equal(s.n, 1);
    assert_true(s.m[0].capped);
    assert_true(s.m[0].truncated);
    assert_true(s.m[0].len > 0 && s.m[0].len <= 5000);
    assert_true(r.mem <= 5000);
    assert_int_equal(r.mem, r.cap + 16);
    ws_reader_reset(&r);
    seen_free(&s);
    free(f);
    /* a compressed message without room for zlib: an error, nothing allocated */
    static const uint8_t one[] = {0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    ws_reader_init(&r, 1 << 20, 100, &deflate_on, WS_SERVER);
    assert_int_equal(ws_reader_feed(&r, one, sizeof(one), 1000, on_msg, &s), WS_OK);
    assert_int_equal(s.n, 1);
    assert_true(s.m[0].error);
    assert_true(r.mem <= 1000);
    ws_reader_reset(&r);
    seen_free(&s);
    /* with room, zlib's allocations are counted and given back */
    ws_reader_init(&r, 1 << 20, 100, &deflate_on, WS_SERVER);
    assert_int_equal(ws_reader_feed(&r, one, sizeof(one), SIZE_MAX, on_msg, &s), WS_OK);
    assert_true(r.mem > (1u << 15)); /* the 32 KiB window at least */
    ws_reader_reset(&r);
    assert_int_equal(r.mem, 0);
    seen_free(&s);
}

static void test_stop(void **state)
{
    (void)state;
    static const uint8_t f[] = {0x81, 0x01, 'a', 0x81, 0x01, 'b', 0x81, 0x01, 'c'};
    struct ws_reader r;
    struct seen s = {.stop_after = 2};
    ws_reader_init(&r, 100, 100, NULL, WS_SERVER);
    assert_int_equal(ws_reader_feed(&r, f, sizeof(f), SIZE_MAX, on_msg, &s), WS_STOP);
    assert_int_equal(s.n, 2);
    assert_int_equal(ws_reader_feed(&r, f, sizeof(f), SIZE_MAX, on_msg, &s), WS_STOP);
    assert_int_equal(s.n, 2);
    ws_reader_reset(&r);
    seen_free(&s);
}

/* ---- errors ---- */

static void expect_error(const uint8_t *f, size_t n, const struct ws_deflate *d, int messages)
{
    struct ws_reader r;
    struct seen s = {0};
    ws_reader_init(&r, 100, 100, d, WS_SERVER);
    assert_int_equal(ws_reader_feed(&r, f, n, SIZE_MAX, on_msg, &s), WS_ERROR);
    assert_int_equal(s.n, messages);
    /* and for good */
    static const uint8_t ok[] = {0x81, 0x01, 'x'};
    assert_int_equal(ws_reader_feed(&r, ok, sizeof(ok), SIZE_MAX, on_msg, &s), WS_ERROR);
    assert_int_equal(s.n, messages);
    ws_reader_reset(&r);
    seen_free(&s);
}

static void test_errors(void **state)
{
    (void)state;
    struct ws_frame_header h;
    static const uint8_t reserved_op[] = {0x83, 0x00};
    static const uint8_t ctl_reserved[] = {0x8b, 0x00};
    static const uint8_t ping_frag[] = {0x09, 0x00};
    static const uint8_t ping_long[] = {0x89, 0x7e, 0x00, 0x7e};
    static const uint8_t len16_short[] = {0x82, 0x7e, 0x00, 0x7d};
    static const uint8_t len64_short[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t len64_top[] = {0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t *bad[] = {reserved_op, ctl_reserved, ping_frag, ping_long,
                            len16_short, len64_short,  len64_top};
    size_t badn[] = {2, 2, 2, 4, 4, 10, 10};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(ws_frame_header_parse(bad[i], badn[i], &h).status, PARSE_ERROR);
        expect_error(bad[i], badn[i], NULL, 0);
    }
    static const uint8_t ok16[] = {0x82, 0x7e, 0x00, 0x7e};
    assert_int_equal(ws_frame_header_parse(ok16, 4, &h).status, PARSE_OK);
    assert_int_equal(h.len, 126);

    static const uint8_t cont_alone[] = {0x80, 0x01, 'x'};
    expect_error(cont_alone, sizeof(cont_alone), NULL, 0);
    static const uint8_t interleaved[] = {0x01, 0x01, 'a', 0x81, 0x01, 'b'};
    expect_error(interleaved, sizeof(interleaved), NULL, 0);
    static const uint8_t rsv1_off[] = {0xc1, 0x01, 'a'};
    expect_error(rsv1_off, sizeof(rsv1_off), NULL, 0);
    static const uint8_t rsv2[] = {0x81, 0x01, 'a', 0xa1, 0x01, 'b'};
    expect_error(rsv2, sizeof(rsv2), &deflate_on, 1);
    static const uint8_t rsv1_ping[] = {0xc9, 0x00};
    expect_error(rsv1_ping, sizeof(rsv1_ping), &deflate_on, 0);
    static const uint8_t rsv1_cont[] = {0x41, 0x01, 0x00, 0xc0, 0x01, 0x00};
    expect_error(rsv1_cont, sizeof(rsv1_cont), &deflate_on, 0);

    /* corrupt compressed data: the message says so, the reader goes on */
    static const uint8_t corrupt[] = {0xc1, 0x02, 0xff, 0xff, 0x81, 0x01, 'z'};
    struct ws_reader r;
    struct seen s = {0};
    ws_reader_init(&r, 100, 100, &deflate_on, WS_SERVER);
    assert_int_equal(ws_reader_feed(&r, corrupt, sizeof(corrupt), SIZE_MAX, on_msg, &s), WS_OK);
    assert_int_equal(s.n, 2);
    assert_true(s.m[0].error);
    expect(&s, 1, WS_OP_TEXT, "z", 1);
    ws_reader_reset(&r);
    seen_free(&s);
}

static void test_reset_midway(void **state)
{
    (void)state;
    static const uint8_t part[] = {0x41, 0x03, 0xf2, 0x48, 0xcd};
    struct ws_reader r;
    ws_reader_init(&r, 100, 100, &deflate_on, WS_SERVER);
    assert_int_equal(ws_reader_feed(&r, part, sizeof(part), SIZE_MAX, NULL, NULL), WS_OK);
    assert_true(r.mem > 0);
    ws_reader_reset(&r);
    assert_int_equal(r.mem, 0);
}

/* ---- Sec-WebSocket-Extensions ---- */

static void test_extensions(void **state)
{
    (void)state;
    struct ws_deflate d;
    assert_int_equal(ws_extensions_parse(span_cstr("permessage-deflate"), &d), 1);
    assert_true(d.on);
    assert_int_equal(d.max_window_bits[WS_CLIENT], 15);
    assert_false(d.no_context_takeover[WS_SERVER]);
    assert_int_equal(ws_extensions_parse(span_cstr("permessage-deflate; client_max_window_bits=10;"
                                                   " Server_No_Context_Takeover"),
                                         &d),
                     1);
    assert_int_equal(d.max_window_bits[WS_CLIENT], 10);
    assert_int_equal(d.max_window_bits[WS_SERVER], 15);
    assert_true(d.no_context_takeover[WS_SERVER]);
    assert_false(d.no_context_takeover[WS_CLIENT]);
    assert_int_equal(
        ws_extensions_parse(span_cstr("x-webkit-deflate-frame, permessage-deflate;"
                                      "server_max_window_bits=\"9\";client_no_context_takeover"),
                            &d),
        1);
    assert_int_equal(d.max_window_bits[WS_SERVER], 9);
    assert_true(d.no_context_takeover[WS_CLIENT]);
    assert_int_equal(ws_extensions_parse(span_cstr("x-webkit-deflate-frame"), &d), 0);
    assert_false(d.on);
    assert_int_equal(ws_extensions_parse(span_make(NULL, 0), &d), 0);
    static const char *const bad[] = {
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; mystery",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ws_extensions_parse(span_cstr(bad[i]), &d), -1);
        assert_false(d.on);
    }
    /* window bits of 8 are read with zlib's 9 */
    struct ws_deflate eight = {1, {0, 0}, {8, 8}};
    struct ws_reader r;
    ws_reader_init(&r, 10, 0, &eight, WS_CLIENT);
    assert_int_equal(r.window_bits, 9);
    ws_reader_reset(&r);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(ws_utf8_valid((const uint8_t *)"{\"a\":\"h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
                              17));
    assert_true(ws_utf8_valid((const uint8_t *)"", 0));
    assert_false(ws_utf8_valid((const uint8_t *)"\xc0\xaf", 2));         /* overlong '/' */
    assert_false(ws_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));     /* surrogate */
    assert_false(ws_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(ws_utf8_valid((const uint8_t *)"\xe2\x82", 2));         /* cut short */
    assert_false(ws_utf8_valid((const uint8_t *)"\x80", 1));
    assert_false(ws_utf8_valid((const uint8_t *)"\xff", 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6455_unmasked),
        cmocka_unit_test(test_rfc6455_masked),
        cmocka_unit_test(test_rfc6455_fragmented),
        cmocka_unit_test(test_rfc6455_ping_pong),
        cmocka_unit_test(test_control_inside_fragments),
        cmocka_unit_test(test_rfc6455_lengths),
        cmocka_unit_test(test_rfc7692_hello),
        cmocka_unit_test(test_rfc7692_shared_window),
        cmocka_unit_test(test_rfc7692_no_context_takeover),
        cmocka_unit_test(test_deflate_limit_keeps_window),
        cmocka_unit_test(test_deflate_bomb),
        cmocka_unit_test(test_room),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_reset_midway),
        cmocka_unit_test(test_extensions),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
