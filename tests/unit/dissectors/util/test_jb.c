/* test_jb.c — the EVE JSON builder: structure and escaping, checked by parsing the output back
 * with jansson (a real JSON parser that also rejects invalid UTF-8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "jb.h"

static json_t *parse(const struct jb *j)
{
    json_error_t e;
    json_t *v = json_loadb(j->buf, j->len, JSON_ALLOW_NUL, &e);
    if (!v)
        fail_msg("not JSON (%s): %.*s", e.text, (int)j->len, j->buf);
    return v;
}

static void test_structure(void **state)
{
    (void)state;
    struct jb j;
    jb_init(&j, 8);
    jb_open_object(&j, NULL);
    jb_str(&j, "a", "x");
    jb_int(&j, "neg", -42);
    jb_int(&j, "min", INT64_MIN);
    jb_uint(&j, "big", (uint64_t)INT64_MAX);
    jb_uint(&j, "zero", 0);
    jb_bool(&j, "t", 1);
    jb_bool(&j, "f", 0);
    jb_open_array(&j, "list");
    jb_uint(&j, NULL, 1);
    jb_open_object(&j, NULL);
    jb_close(&j);
    jb_open_array(&j, NULL);
    jb_close(&j);
    jb_str(&j, NULL, "s");
    jb_close(&j);
    jb_open_object(&j, "o");
    jb_raw(&j, "r", "[1,2]", 5);
    jb_close(&j);
    jb_close(&j);
    assert_int_equal(j.err, 0);
    assert_int_equal(j.depth, 0);
    json_t *v = parse(&j);
    assert_string_equal(json_string_value(json_object_get(v, "a")), "x");
    assert_int_equal(json_integer_value(json_object_get(v, "neg")), -42);
    assert_true(json_integer_value(json_object_get(v, "min")) == INT64_MIN);
    assert_true(json_is_true(json_object_get(v, "t")));
    assert_true(json_is_false(json_object_get(v, "f")));
    json_t *l = json_object_get(v, "list");
    assert_int_equal(json_array_size(l), 4);
    assert_true(json_is_object(json_array_get(l, 1)));
    assert_true(json_is_array(json_array_get(l, 2)));
    assert_int_equal(json_array_size(json_object_get(json_object_get(v, "o"), "r")), 2);
    assert_int_equal(json_integer_value(json_object_get(v, "big")), INT64_MAX);
    assert_int_equal(json_integer_value(json_object_get(v, "zero")), 0);
    json_decref(v);
    jb_reset(&j);
    jb_open_object(&j, NULL);
    jb_close(&j);
    assert_int_equal(j.len, 2);
    jb_release(&j);
}

/* Every single byte value, and every pair, round-trips to valid JSON; ASCII and valid UTF-8
 * come back unchanged. */
static void test_escape_bytes(void **state)
{
    (void)state;
    struct jb j;
    jb_init(&j, 0);
    for (int a = 0; a < 256; a++) {
        for (int b = 0; b < 256; b++) {
            uint8_t s[2] = {(uint8_t)a, (uint8_t)b};
            jb_reset(&j);
            jb_open_array(&j, NULL);
            jb_strn(&j, NULL, s, 2);
            jb_close(&j);
            json_error_t e;
            json_t *v = json_loadb(j.buf, j.len, JSON_ALLOW_NUL, &e);
            if (!v)
                fail_msg("bytes %02x %02x: %s: %.*s", a, b, e.text, (int)j.len, j.buf);
            const char *out = json_string_value(json_array_get(v, 0));
            size_t outlen = json_string_length(json_array_get(v, 0));
            if (a < 0x80 && b < 0x80 && a && b) {
                assert_int_equal(outlen, 2);
                assert_memory_equal(out, s, 2);
            }
            json_decref(v);
        }
    }
    jb_release(&j);
}

static void test_escape_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int kept; /* valid UTF-8: must come back byte for byte */
    } cases[] = {
        {"plain", 1},
        {"quote \" backslash \\ slash /", 1},
        {"tab\tnl\ncr\rbs\bff\f", 1},
        {"\xc3\xa9t\xc3\xa9", 1},               /* été */
        {"\xe2\x82\xac", 1},                    /* € */
        {"\xf0\x9f\x94\x91", 1},                /* 🔑 */
        {"\xc0\xaf", 0},                        /* overlong '/' */
        {"\xed\xa0\x80", 0},                    /* surrogate */
        {"\xf4\x90\x80\x80", 0},                /* above U+10FFFF */
        {"\xe2\x82", 0},                        /* truncated */
        {"\x80\xbf", 0},                        /* lone continuations */
        {"\xff\xfe", 0},
    };
    struct jb j;
    jb_init(&j, 16);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        jb_reset(&j);
        jb_open_object(&j, NULL);
        jb_str(&j, "k\"ey", cases[i].in);
        jb_close(&j);
        json_t *v = parse(&j);
        const char *out = json_string_value(json_object_get(v, "k\"ey"));
        assert_non_null(out);
        if (cases[i].kept)
            assert_string_equal(out, cases[i].in);
        json_decref(v);
    }
    /* Embedded NUL is escaped, not a terminator. */
    jb_reset(&j);
    jb_open_array(&j, NULL);
    jb_strn(&j, NULL, "a\0b", 3);
    jb_close(&j);
    assert_non_null(memmem(j.buf, j.len, "a\\u0000b", 8));
    jb_release(&j);
}

/* Random byte strings of random lengths: always valid JSON. */
static void test_escape_random(void **state)
{
    (void)state;
    struct jb j;
    jb_init(&j, 0);
    uint32_t x = 12345;
    uint8_t buf[512];
    for (int round = 0; round < 5000; round++) {
        size_t n = 0;
        x = x * 1103515245u + 12345u;
        n = (x >> 8) % sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            buf[i] = (uint8_t)(x >> 16);
        }
        jb_reset(&j);
        jb_open_object(&j, NULL);
        jb_strn(&j, "v", buf, n);
        jb_close(&j);
        json_t *v = parse(&j);
        json_decref(v);
    }
    jb_release(&j);
}

/* Every byte value at every offset of plain strings of 8 to 24 bytes: the 8-bytes-at-a-time
 * skip of plain runs must stop at exactly the bytes the table escapes (a lone byte >= 0x80
 * between ASCII letters is never valid UTF-8: escaped). */
static void test_escape_word_skip(void **state)
{
    (void)state;
    struct jb j;
    jb_init(&j, 0);
    uint8_t s[24];
    char want[64];
    for (size_t n = 8; n <= sizeof(s); n++) {
        for (size_t p = 0; p < n; p++) {
            for (int c = 0; c < 256; c++) {
                memset(s, 'a', n);
                s[p] = (uint8_t)c;
                size_t w = 0;
                want[w++] = '"';
                memset(want + w, 'a', p);
                w += p;
                const char *e = NULL;
                char u[8];
                switch (c) {
                case '"': e = "\\\""; break;
                case '\\': e = "\\\\"; break;
                case '\n': e = "\\n"; break;
                case '\r': e = "\\r"; break;
                case '\t': e = "\\t"; break;
                case '\b': e = "\\b"; break;
                case '\f': e = "\\f"; break;
                default:
                    if (c < 0x20 || c >= 0x80) {
                        snprintf(u, sizeof(u), "\\u%04x", c);
                        e = u;
                    }
                }
                if (e) {
                    memcpy(want + w, e, strlen(e));
                    w += strlen(e);
                } else {
                    want[w++] = (char)c;
                }
                memset(want + w, 'a', n - p - 1);
                w += n - p - 1;
                want[w++] = '"';
                jb_reset(&j);
                jb_strn(&j, NULL, s, n);
                if (j.len != w || memcmp(j.buf, want, w) != 0)
                    fail_msg("byte %02x at %zu of %zu: %.*s, want %.*s", c, p, n, (int)j.len,
                             j.buf, (int)w, want);
                if (!c)
                    continue;
                /* the same bytes as a member key (keys take their own copy-in-one-go path) */
                char key[32];
                memcpy(key, s, n);
                key[n] = '\0';
                jb_reset(&j);
                jb_open_object(&j, NULL);
                jb_bool(&j, key, 1);
                if (j.len != w + 6 || j.buf[0] != '{' || memcmp(j.buf + 1, want, w) != 0 ||
                    memcmp(j.buf + 1 + w, ":true", 5) != 0)
                    fail_msg("key byte %02x at %zu of %zu: %.*s", c, p, n, (int)j.len, j.buf);
            }
        }
    }
    jb_release(&j);
}

/* The JB_KEY writers against their plain twins: the same sequence of members, nested objects
 * and arrays, strings needing escapes, negative, zero and extreme numbers, written both ways,
 * must give the same bytes. */
static void test_prerendered_keys(void **state)
{
    (void)state;
    struct jb a, b;
    jb_init(&a, 16);
    jb_init(&b, 16);
    jb_open_object(&a, NULL);
    jb_open_object(&b, NULL);
    for (int round = 0; round < 3; round++) {
        jb_str(&a, "event_type", "to\"ken\n\x01");
        jb_kstr(&b, JB_KEY("event_type"), "to\"ken\n\x01");
        jb_strn(&a, "raw", "a\0b", 3);
        jb_kstrn(&b, JB_KEY("raw"), "a\0b", 3);
        jb_int(&a, "neg", INT64_MIN);
        jb_kint(&b, JB_KEY("neg"), INT64_MIN);
        jb_int(&a, "pos", 42 * round);
        jb_kint(&b, JB_KEY("pos"), 42 * round);
        jb_uint(&a, "max", UINT64_MAX);
        jb_kuint(&b, JB_KEY("max"), UINT64_MAX);
        jb_bool(&a, "yes", round & 1);
        jb_kbool(&b, JB_KEY("yes"), round & 1);
        jb_open_object(&a, "http");
        jb_kopen_object(&b, JB_KEY("http"));
        jb_open_array(&a, "list");
        jb_kopen_array(&b, JB_KEY("list"));
        jb_uint(&a, NULL, 1);
        jb_uint(&b, NULL, 1);
        jb_close(&a);
        jb_close(&b);
        jb_kstr(&a, JB_KEY("x-y.z_0"), "");
        jb_str(&b, "x-y.z_0", "");
        jb_close(&a);
        jb_close(&b);
    }
    jb_close(&a);
    jb_close(&b);
    assert_false(a.err);
    assert_false(b.err);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.buf, b.buf, a.len);
    assert_true(a.len > 300);
    jb_release(&a);
    jb_release(&b);
}

/* jb_verbatim: a record cut where its members go on, resumed with the builder's own writers
 * (the comma comes from the state it leaves), and completed; an error past the depth limit. */
static void test_verbatim(void **state)
{
    (void)state;
    static const char rec[] = "{\"event_type\":\"token\",\"tx_id\":3,\"token\":{\"f\":[]}}";
    const char *cut = strstr(rec, ",\"token\""); /* after tx_id */
    struct jb j;
    jb_init(&j, 8);
    jb_verbatim(&j, rec, (size_t)(cut - rec), 1);
    jb_open_object(&j, "alert");
    jb_uint(&j, "sid", 7);
    jb_close(&j);
    jb_verbatim(&j, cut, strlen(cut), 0);
    assert_int_equal(j.err, 0);
    assert_int_equal(j.depth, 0);
    static const char want[] =
        "{\"event_type\":\"token\",\"tx_id\":3,\"alert\":{\"sid\":7},\"token\":{\"f\":[]}}";
    assert_int_equal(j.len, strlen(want));
    assert_memory_equal(j.buf, want, j.len);
    /* depth < 0 leaves the state: bytes that open and close nothing */
    jb_reset(&j);
    jb_open_object(&j, NULL);
    jb_verbatim(&j, "\"k\":1", 5, -1);
    assert_int_equal(j.depth, 1);
    jb_verbatim(&j, "}", 1, 0);
    assert_int_equal(j.len, 7);
    assert_memory_equal(j.buf, "{\"k\":1}", 7);
    jb_verbatim(&j, "", 0, JB_MAX_DEPTH + 1);
    assert_int_equal(j.err, 1);
    jb_release(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prerendered_keys),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_escape_bytes),
        cmocka_unit_test(test_escape_utf8),
        cmocka_unit_test(test_escape_random),
        cmocka_unit_test(test_escape_word_skip),
        cmocka_unit_test(test_verbatim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
