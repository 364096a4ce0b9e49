/* test_body_chain.c — unit tests for stacked content codings in dissectors/http/body.c
 * (body_codings_of, body_init_codings): each listed coding undone in turn, last-applied first,
 * whole and byte by byte; up to BODY_MAX_CODINGS layers; an unknown coding or too many layers
 * flagged (-1), never decoded; the bomb ratio taken over the whole chain against the wire bytes
 * (each layer alone under the ratio, together over it); the limit; a corrupt inner layer; reset
 * in the middle of a chain (ASan reports leaks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "body.h"

struct bytes {
    uint8_t *p;
    size_t len;
};

/* One coding applied with zlib: gzip (RFC 1952) or deflate = zlib format (RFC 1950). */
static struct bytes code(int enc, const struct bytes in)
{
    z_stream s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(deflateInit2(&s, 9, Z_DEFLATED, enc == BODY_GZIP ? 16 + MAX_WBITS : MAX_WBITS,
                                  9, Z_DEFAULT_STRATEGY),
                     Z_OK);
    struct bytes out = {malloc(deflateBound(&s, in.len)), 0};
    assert_non_null(out.p);
    s.next_in = in.p;
    s.avail_in = (uInt)in.len;
    s.next_out = out.p;
    s.avail_out = (uInt)deflateBound(&s, in.len);
    assert_int_equal(deflate(&s, Z_FINISH), Z_STREAM_END);
    out.len = s.total_out;
    deflateEnd(&s);
    return out;
}

/* Applies codings[0..n) in order (codings[0] first), as a server writing "c0, c1, ..." does. */
static struct bytes code_all(const uint8_t *codings, int n, struct bytes plain)
{
    struct bytes cur = {malloc(plain.len), plain.len};
    memcpy(cur.p, plain.p, plain.len);
    for (int i = 0; i < n; i++) {
        struct bytes next = code(codings[i], cur);
        free(cur.p);
        cur = next;
    }
    return cur;
}

static struct bytes sample(size_t n)
{
    struct bytes b = {malloc(n), n};
    uint32_t x = 777;
    static const char jwt[] = "&assertion=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln&";
    for (size_t i = 0; i < n;) {
        x = x * 1103515245u + 12345u;
        if ((x >> 28) == 5 && n - i >= sizeof(jwt) - 1) {
            memcpy(b.p + i, jwt, sizeof(jwt) - 1);
            i += sizeof(jwt) - 1;
        } else {
            b.p[i++] = (uint8_t)('a' + (x >> 24) % 26);
        }
    }
    return b;
}

static void test_codings_of(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        int n;
        uint8_t c[BODY_MAX_CODINGS];
    } cases[] = {
        {"", 0, {0}},
        {"identity", 0, {0}},
        {"gzip", 1, {BODY_GZIP}},
        {"gzip, gzip", 2, {BODY_GZIP, BODY_GZIP}},
        {"deflate, gzip", 2, {BODY_DEFLATE, BODY_GZIP}},
        {"x-gzip,identity , DEFLATE", 2, {BODY_GZIP, BODY_DEFLATE}},
        {"gzip, deflate, gzip, deflate", 4, {BODY_GZIP, BODY_DEFLATE, BODY_GZIP, BODY_DEFLATE}},
        {"gzip, gzip, gzip, gzip, gzip", -1, {0}}, /* more layers than we undo: flagged */
        {"gzip, br", -1, {0}},                       /* an unknown coding in the list */
        {"zstd, gzip", -1, {0}},
        {"gzip;q=1, gzip", -1, {0}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t c[BODY_MAX_CODINGS];
        int n = body_codings_of(span_cstr(cases[i].v), c);
        if (n != cases[i].n)
            fail_msg("\"%s\": %d codings, want %d", cases[i].v, n, cases[i].n);
        for (int k = 0; k < n; k++)
            assert_int_equal(c[k], cases[i].c[k]);
    }
    uint8_t c[BODY_MAX_CODINGS];
    assert_int_equal(body_codings_of(span_make(NULL, 0), c), 0);
}

static void test_each_layer(void **state)
{
    (void)state;
    static const struct {
        int n;
        uint8_t c[BODY_MAX_CODINGS];
    } chains[] = {
        {2, {BODY_GZIP, BODY_GZIP}},
        {2, {BODY_DEFLATE, BODY_GZIP}},
        {2, {BODY_GZIP, BODY_DEFLATE}},
        {3, {BODY_GZIP, BODY_DEFLATE, BODY_GZIP}},
        {4, {BODY_DEFLATE, BODY_DEFLATE, BODY_GZIP, BODY_GZIP}},
    };
    struct bytes plain = sample(300000);
    for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
        struct bytes wire = code_all(chains[i].c, chains[i].n, plain);
        struct body b;
        body_init_codings(&b, chains[i].c, chains[i].n, 1 << 20, 100);
        body_feed(&b, wire.p, wire.len);
        assert_true(b.done && !b.error && !b.bomb && !b.truncated);
        assert_int_equal(b.len, plain.len);
        assert_memory_equal(b.buf, plain.p, plain.len);
        assert_int_equal(b.in, wire.len);
        body_reset(&b);

        body_init_codings(&b, chains[i].c, chains[i].n, 1 << 20, 100);
        for (size_t k = 0; k < wire.len; k++)
            body_feed(&b, wire.p + k, 1);
        assert_true(b.done && !b.error);
        assert_int_equal(b.len, plain.len);
        assert_memory_equal(b.buf, plain.p, plain.len);
        body_reset(&b);

        /* decoding only the outer layer leaves the inner one encoded: no token in sight */
        body_init(&b, chains[i].c[chains[i].n - 1], 1 << 20, 100);
        body_feed(&b, wire.p, wire.len);
        assert_false(b.len == plain.len && memcmp(b.buf, plain.p, plain.len) == 0);
        body_reset(&b);
        free(wire.p);
    }
    free(plain.p);
}

/* Each layer alone inflates by less than the ratio; the chain as a whole by more: a bomb. */
static void test_bomb_over_chain(void **state)
{
    (void)state;
    struct bytes zeros = {calloc(1, 8u << 20), 8u << 20};
    assert_non_null(zeros.p);
    struct bytes inner = code(BODY_DEFLATE, zeros);
    struct bytes outer = code(BODY_GZIP, inner);
    double r_in = (double)zeros.len / (double)inner.len, r_out = (double)inner.len / (double)outer.len;
    uint32_t ratio = (uint32_t)(2 * (r_in > r_out ? r_in : r_out)) + 1;
    assert_true(r_in * r_out > 4.0 * ratio); /* the premise of this test */

    struct body b;
    body_init(&b, BODY_DEFLATE, 64u << 20, ratio); /* the inner layer alone: no bomb */
    body_feed(&b, inner.p, inner.len);
    assert_true(b.done && !b.bomb);
    body_reset(&b);
    body_init(&b, BODY_GZIP, 64u << 20, ratio); /* the outer layer alone: no bomb */
    body_feed(&b, outer.p, outer.len);
    assert_true(!b.bomb);
    body_reset(&b);

    uint8_t c[2] = {BODY_DEFLATE, BODY_GZIP};
    body_init_codings(&b, c, 2, 64u << 20, ratio);
    body_feed(&b, outer.p, outer.len);
    assert_true(b.bomb && !b.done);
    assert_true(b.len < zeros.len);
    assert_int_equal(b.in, outer.len);
    body_reset(&b);
    free(inner.p);
    free(outer.p);
    free(zeros.p);
}

static void test_limit_and_corrupt(void **state)
{
    (void)state;
    struct bytes plain = sample(200000);
    uint8_t c[2] = {BODY_GZIP, BODY_GZIP};
    struct bytes wire = code_all(c, 2, plain);
    struct body b;
    body_init_codings(&b, c, 2, 5000, 100);
    body_feed(&b, wire.p, wire.len);
    assert_true(b.truncated && !b.done);
    assert_int_equal(b.len, 5000);
    assert_memory_equal(b.buf, plain.p, 5000);
    body_reset(&b);

    /* the inner layer corrupt (a byte of its deflate data changed), the outer one sound */
    struct bytes inner = code(BODY_GZIP, plain);
    inner.p[inner.len / 2] ^= 0x55;
    struct bytes outer = code(BODY_GZIP, inner);
    body_init_codings(&b, c, 2, 1 << 20, 100);
    body_feed(&b, outer.p, outer.len);
    assert_true(b.error && !b.done);
    body_reset(&b);

    /* reset in the middle of a chain: every layer's zlib state is freed */
    body_init_codings(&b, c, 2, 1 << 20, 100);
    body_feed(&b, wire.p, wire.len / 2);
    body_reset(&b);
    free(inner.p);
    free(outer.p);
    free(wire.p);
    free(plain.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codings_of),
        cmocka_unit_test(test_each_layer),
        cmocka_unit_test(test_bomb_over_chain),
        cmocka_unit_test(test_limit_and_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
