/* test_token.c — unit tests for dissectors/token.c: Bearer credentials parsing, the request
 * scan over parsed heads (repeated headers, other schemes, output bound), location names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "token.h"

/* token_bearer on a C string; `want` NULL means no token. */
static void bearer(const char *value, const char *want)
{
    struct span tok = {NULL, 0};
    int got = token_bearer(span_cstr(value), &tok);
    if (!want) {
        assert_int_equal(got, 0);
        return;
    }
    assert_int_equal(got, 1);
    assert_int_equal(tok.len, strlen(want));
    assert_memory_equal(tok.p, want, tok.len);
    /* a span into the value, not a copy */
    assert_true(tok.p >= (const uint8_t *)value && tok.p + tok.len <= (const uint8_t *)value +
                                                                            strlen(value));
}

static void test_bearer_accepts(void **state)
{
    (void)state;
    bearer("Bearer x", "x");
    bearer("bearer   x", "x");
    bearer("BEARER\tx", "x");
    bearer("  Bearer \t eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln  ",
           "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln");
    bearer("Bearer abc-._~+/==", "abc-._~+/==");
    bearer("Bearer tok, other", "tok");
    bearer("Bearer tok,other", "tok");
    bearer("Bearer tok extra", "tok");
    bearer("BeArEr t\x01zz", "t");
}

static void test_bearer_rejects(void **state)
{
    (void)state;
    bearer("Bearer", NULL);
    bearer("Bearer ", NULL);
    bearer("Bearer \t ", NULL);
    bearer("Basic x", NULL);
    bearer("Bearerx", NULL);
    bearer("Bearer,x", NULL);
    bearer("Bearer ,x", NULL);
    bearer("Bear x", NULL);
    bearer("", NULL);
    bearer("Bearer \x80\x81", NULL);
    bearer("xBearer y", NULL);
}

static size_t scan(const char *raw, struct token_ref *out, size_t max, struct http1_msg *m)
{
    struct parse_result r = http1_parse_request((const uint8_t *)raw, strlen(raw), m);
    assert_int_equal(r.status, PARSE_OK);
    return token_scan_request(m, out, max);
}

static void assert_ref(struct token_ref r, const char *want)
{
    assert_int_equal(r.loc, TOKEN_LOC_AUTHORIZATION);
    assert_int_equal(r.text.len, strlen(want));
    assert_memory_equal(r.text.p, want, r.text.len);
}

static void test_scan_request(void **state)
{
    (void)state;
    static const char raw[] = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer one\r\n"
                              "authorization: Basic dXNlcjpwdw==\r\n"
                              "Proxy-Authorization: Bearer proxy\r\n"
                              "X-Authorization: Bearer nope\r\n"
                              "AUTHORIZATION:bearer\ttwo \r\n\r\n";
    struct http1_msg m;
    struct token_ref out[8];
    size_t n = scan(raw, out, 8, &m);
    assert_int_equal(n, 2);
    assert_ref(out[0], "one");
    assert_ref(out[1], "two");
    /* spans point into the request buffer */
    assert_true(out[0].text.p > (const uint8_t *)raw &&
                out[0].text.p < (const uint8_t *)raw + sizeof(raw));
    /* the output bound holds */
    assert_int_equal(scan(raw, out, 1, &m), 1);
    assert_ref(out[0], "one");
    assert_int_equal(scan(raw, out, 0, &m), 0);
}

static void test_scan_without_tokens(void **state)
{
    (void)state;
    struct http1_msg m;
    struct token_ref out[4];
    assert_int_equal(scan("GET / HTTP/1.1\r\nHost: h\r\n\r\n", out, 4, &m), 0);
    assert_int_equal(scan("GET / HTTP/1.1\r\nAuthorization: Bearer\r\n\r\n", out, 4, &m), 0);
    assert_int_equal(scan("GET / HTTP/1.1\r\n\r\n", out, 4, &m), 0);
}

static void test_location_names(void **state)
{
    (void)state;
    assert_string_equal(token_location_name(TOKEN_LOC_AUTHORIZATION), "authorization");
    assert_string_equal(token_location_name(TOKEN_LOC_COOKIE), "cookie");
    assert_string_equal(token_location_name(TOKEN_LOC_QUERY), "query");
    assert_string_equal(token_location_name(TOKEN_LOC_BODY), "body");
    assert_string_equal(token_location_name(TOKEN_LOC_RESPONSE_BODY), "response_body");
    assert_string_equal(token_location_name(TOKEN_LOC_HEADER), "header");
    assert_string_equal(token_location_name(TOKEN_LOC__COUNT), "unknown");
    assert_string_equal(token_location_name((enum token_location)-1), "unknown");
}

/* The word-at-a-time scan must stop exactly where the byte rule says, for every byte value at
 * every position of a word and across word boundaries. */
static void test_bearer_every_byte(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        int ends = b <= 0x20 || b >= 0x7f || b == ',';
        for (size_t pos = 0; pos < 24; pos++) {
            uint8_t buf[7 + 24];
            memcpy(buf, "Bearer ", 7);
            memset(buf + 7, 'A', 24);
            buf[7 + pos] = (uint8_t)b;
            struct span tok;
            int r = token_bearer(span_make(buf, sizeof(buf)), &tok);
            if (!ends) {
                assert_int_equal(r, 1);
                assert_int_equal(tok.len, 24);
            } else if (pos == 0 && b != ' ' && b != '\t') {
                assert_int_equal(r, 0);
            } else if (pos == 0) {
                /* leading blank: skipped as separator */
                assert_int_equal(r, 1);
                assert_int_equal(tok.len, 23);
            } else {
                assert_int_equal(r, 1);
                assert_int_equal(tok.len, pos);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer_every_byte),
        cmocka_unit_test(test_bearer_accepts),
        cmocka_unit_test(test_bearer_rejects),
        cmocka_unit_test(test_scan_request),
        cmocka_unit_test(test_scan_without_tokens),
        cmocka_unit_test(test_location_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
