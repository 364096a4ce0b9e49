/* test_span.c — the span helpers of parse.h. span_ieq / span_ieq_len, the header-name matcher
 * of every lookup, against the plain comparison they replaced: every header name seen in the
 * e2e captures against every other and against its case and one-byte variants, then random
 * names over an alphabet whose bytes differ by 0x20 where case folding must not apply
 * ('-' / CR, '@' / '`', '[' / '{'), both through a literal (constant length) and through a
 * pointer. span_trim and span_istarts against plain versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse.h"

/* The comparison before: lower-case both, lengths equal, every byte equal. */
static int ref_ieq(struct span a, const char *s)
{
    size_t n = strlen(s);
    if (a.len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = a.p[i], y = (unsigned char)s[i];
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return 0;
    }
    return 1;
}

static const char *const seen[] = {
    "AUTHORIZATION", "Accept", "Accept-Encoding", "Authorization", "Cache-Control", "Connection",
    "Content-Encoding", "Content-Length", "Content-Type", "Cookie", "DPoP", "Date",
    "HTTP2-Settings", "Host", "Location", "Origin", "Pragma", "Proxy-Authenticate",
    "Proxy-Authorization", "Proxy-Connection", "Proxy-agent", "Referer", "Sec-WebSocket-Accept",
    "Sec-WebSocket-Extensions", "Sec-WebSocket-Key", "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Version", "Server", "Set-Cookie", "Transfer-Encoding", "Upgrade",
    "User-Agent", "WWW-Authenticate", "X-ARR-LOG-ID", "X-Debug", "X-Filler", "X-Huge",
    "X-MS-CLIENT-PRINCIPAL-IDP", "X-MS-CLIENT-PRINCIPAL-NAME", "X-MS-TOKEN-AAD-ACCESS-TOKEN",
    "X-MS-TOKEN-AAD-ID-TOKEN", "X-Padding", "authorization", "client-request-id",
    "x-client-sku", "x-client-ver", "X-Field-00001", "X-Request-Id", "", "a", "A", "-",
};
#define NSEEN (sizeof(seen) / sizeof(seen[0]))

/* Calls through a pointer the compiler cannot see through: the non-constant path. */
static const char *volatile hide;
static int ieq_runtime(struct span a, const char *s)
{
    hide = s;
    return span_ieq(a, hide);
}

static void check(struct span a, const char *s)
{
    int want = ref_ieq(a, s);
    assert_int_equal(ieq_runtime(a, s), want);
    assert_int_equal(span_ieq_len(a, s, strlen(s)), want);
}

static void test_seen_names(void **state)
{
    (void)state;
    char buf[64];
    for (size_t i = 0; i < NSEEN; i++) {
        for (size_t j = 0; j < NSEEN; j++)
            check(span_cstr(seen[i]), seen[j]);
        size_t n = strlen(seen[i]);
        for (size_t k = 0; k < n; k++) { /* every byte flipped by 0x20, and by 1 */
            memcpy(buf, seen[i], n + 1);
            buf[k] ^= 0x20;
            check(span_make(buf, n), seen[i]);
            buf[k] ^= 0x21;
            check(span_make(buf, n), seen[i]);
        }
        memcpy(buf, seen[i], n + 1); /* one byte shorter and longer */
        if (n)
            check(span_make(buf, n - 1), seen[i]);
        buf[n] = 'x';
        check(span_make(buf, n + 1), seen[i]);
    }
    /* The literals the lookups use, through the constant-length path. */
    struct span cl = span_cstr("CONTENT-length"), cr = span_cstr("content\rlength");
    assert_true(span_ieq(cl, "content-length"));
    assert_false(span_ieq(cr, "content-length"));
    assert_false(span_ieq(cl, "content-lengths"));
    assert_false(span_ieq(span_make(NULL, 0), "host"));
    assert_true(span_ieq(span_make(NULL, 0), ""));
}

static void test_random_names(void **state)
{
    (void)state;
    static const char alpha[] = "aAzZ-\r@`[{_~0pP";
    uint32_t x = 12345;
    char a[12], b[12];
    int equal = 0;
    for (int round = 0; round < 200000; round++) {
        x = x * 1103515245u + 12345u;
        size_t na = (x >> 16) % 5, nb = na;
        x = x * 1103515245u + 12345u;
        if ((x >> 16) % 8 == 0)
            nb = (x >> 20) % 5;
        for (size_t i = 0; i < na || i < nb; i++) {
            x = x * 1103515245u + 12345u;
            a[i] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
            b[i] = (x >> 28) & 1 ? a[i] : alpha[(x >> 20) % (sizeof(alpha) - 1)];
            if (((x >> 24) & 3) == 0 && ((a[i] | 0x20) >= 'a' && (a[i] | 0x20) <= 'z'))
                b[i] = (char)(a[i] ^ 0x20);
        }
        b[nb] = '\0';
        struct span sa = span_make(a, na);
        equal += ref_ieq(sa, b);
        check(sa, b);
    }
    assert_true(equal > 1000); /* the generator does reach equal names */
}

/* span_trim and span_istarts (inline in parse.h) against plain versions over random strings
 * of spaces, tabs, CR, letters of both cases and '-' / CR (which differ by 0x20). */
static void test_trim_istarts(void **state)
{
    (void)state;
    static const char alpha[] = " \t\raAbB-\r";
    uint32_t x = 99;
    char a[10], b[10];
    for (int round = 0; round < 100000; round++) {
        x = x * 1103515245u + 12345u;
        size_t na = (x >> 16) % 10, nb = (x >> 24) % 5;
        for (size_t i = 0; i < na || i < nb; i++) {
            x = x * 1103515245u + 12345u;
            a[i] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
            b[i] = alpha[(x >> 20) % (sizeof(alpha) - 1)];
        }
        b[nb] = '\0';
        struct span sa = span_make(a, na);
        size_t s = 0, e = na;
        while (s < e && (a[s] == ' ' || a[s] == '\t'))
            s++;
        while (e > s && (a[e - 1] == ' ' || a[e - 1] == '\t'))
            e--;
        struct span t = span_trim(sa);
        assert_int_equal(t.len, e - s);
        if (t.len)
            assert_ptr_equal(t.p, (const uint8_t *)a + s);
        hide = b;
        int want = na >= nb;
        for (size_t i = 0; want && i < nb; i++) {
            unsigned char p = (unsigned char)a[i], q = (unsigned char)b[i];
            want = (p >= 'A' && p <= 'Z' ? p + 32 : p) == (q >= 'A' && q <= 'Z' ? q + 32 : q);
        }
        assert_int_equal(span_istarts(sa, hide), want);
    }
    assert_true(span_istarts(span_cstr("Bearer abc"), "bearer "));
    assert_false(span_istarts(span_cstr("Bearer"), "bearer "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seen_names),
        cmocka_unit_test(test_random_names),
        cmocka_unit_test(test_trim_istarts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
