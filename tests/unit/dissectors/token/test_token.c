/* test_token.c — unit tests for dissectors/token/token.c: Bearer credentials parsing, the request
 * scan over parsed heads (repeated headers, other schemes, output bound, dedupe), location
 * names, JWT recognition (token_is_jwt), the header scan (Proxy-Authorization, DPoP/PoP,
 * cookies, configured headers, WebSocket protocol lists) and field lookup. Heads are written as
 * HTTP/1 text, parsed by http1 and handed to the scanners as the neutral field list the app
 * layer builds from them. The scanners are not incremental, so instead of splits every prefix
 * of every input runs from an exact-size heap buffer (ASan then catches any read past the
 * end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http1.h"
#include "token.h"

/* A parsed HTTP/1 head's fields as the app layer hands them to the scanners. */
struct fields {
    struct token_field f[HTTP1_MAX_HEADERS];
    size_t n;
};

static const struct fields *fields_of(const struct http1_msg *m)
{
    static struct fields fl;
    fl.n = m->nheaders;
    for (size_t i = 0; i < m->nheaders; i++) {
        fl.f[i].name = m->headers[i].name;
        fl.f[i].value = m->headers[i].value;
    }
    return &fl;
}

static size_t scan_request_msg(const struct http1_msg *m, struct token_ref *out, size_t max)
{
    const struct fields *fl = fields_of(m);
    return token_scan_request(fl->f, fl->n, out, max);
}

static size_t scan_headers_msg(const struct http1_msg *m, const char *const *headers,
                               size_t nheaders, struct arena *a, struct token_ref *out,
                               size_t max)
{
    const struct fields *fl = fields_of(m);
    return token_scan_headers(fl->f, fl->n, headers, nheaders, a, out, max);
}

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
    return scan_request_msg(m, out, max);
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
 * every position of a word and across word boundaries (16-byte blocks, 8-byte words, the tail). */
static void test_bearer_every_byte(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        int ends = b <= 0x20 || b >= 0x7f || b == ',';
        for (size_t pos = 0; pos < 40; pos++) {
            uint8_t buf[7 + 40];
            memcpy(buf, "Bearer ", 7);
            memset(buf + 7, 'A', 40);
            buf[7 + pos] = (uint8_t)b;
            struct span tok;
            int r = token_bearer(span_make(buf, sizeof(buf)), &tok);
            if (!ends) {
                assert_int_equal(r, 1);
                assert_int_equal(tok.len, 40);
            } else if (pos == 0 && b != ' ' && b != '\t') {
                assert_int_equal(r, 0);
            } else if (pos == 0) {
                /* leading blank: skipped as separator */
                assert_int_equal(r, 1);
                assert_int_equal(tok.len, 39);
            } else {
                assert_int_equal(r, 1);
                assert_int_equal(tok.len, pos);
            }
        }
    }
}

/* Realistic compact tokens: RS256 JWS, the same with another signature, an alg-none JWS, a
 * JWE (RFC 7516 A.1 shape), and an AWS ALB X-Amzn-Oidc-Data style token with padded parts. */
#define JH "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
#define JP "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
#define JWT1 JH "." JP ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
#define JWT2 JH "." JP ".c2lnbmF0dXJlLXR3by1mb3ItdGVzdHM"
#define JWT_NONE "eyJhbGciOiJub25lIn0." JP "."
#define JWE1                                                                                   \
    "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUm" \
    "KoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv0" \
    "4uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo" \
    "_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawV" \
    "CWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9" \
    "oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ"
#define JWE_DIR "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aXYtYnl0ZXM.Y2lwaGVy.dGFnLWJ5dGVz"
#define JWT_ALB "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxIn0=.c2lnbmF0dXJlXw=="

/* The span lies within [base, base+len). */
static int inside(struct span t, const void *base, size_t len)
{
    const uint8_t *b = base;
    return t.p >= b && t.p + t.len <= b + len;
}

static int is_jwt(const char *s)
{
    return token_is_jwt(span_cstr(s));
}

static void test_is_jwt_accepts(void **state)
{
    (void)state;
    assert_true(is_jwt(JWT1));
    assert_true(is_jwt(JWT2));
    assert_true(is_jwt(JWT_NONE));           /* empty signature: alg none */
    assert_true(is_jwt(JWE1));               /* five parts */
    assert_true(is_jwt(JWE_DIR));            /* empty encrypted key: alg dir */
    assert_true(is_jwt(JWT_ALB));            /* '=' padding at part ends */
    assert_true(is_jwt("eyJ.a.b"));
    assert_true(is_jwt("eyJ-_.-_.-_"));
}

static void test_is_jwt_rejects(void **state)
{
    (void)state;
    static const char *const no[] = {
        "",
        "eyJ",
        "eyJ.",
        "eyJ..",
        JH "." JP,                                 /* two parts */
        JH "." JP ".c2ln.ZXh0cmE",                 /* four parts */
        JH "." JP ".c2ln.",                        /* four parts, last empty */
        JWE1 ".ZXh0cmE",                           /* six parts */
        "abc." JP ".c2ln",                         /* header not "eyJ" */
        "eyj" "hbGciOiJSUzI1NiJ9." JP ".c2ln",     /* case matters */
        "." JH "." JP,                             /* leading dot */
        JH ".." "c2ln",                            /* empty payload */
        JH "." JP ".c2ln+",                        /* standard-alphabet '+' */
        JH "." JP ".c2/ln",                        /* '/' */
        JH "." JP ".c2 ln",                        /* space */
        JH "." JP ".c2ln\"",                       /* quote */
        JH "." JP ".c2ln===",                      /* three '=' */
        JH ".eyJ=zdWIi.c2ln",                      /* '=' inside a part */
        JH ".==.c2ln",                             /* a part of padding only */
    };
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (is_jwt(no[i]))
            fail_msg("accepted as a JWT: %s", no[i]);
    /* JWE: header, IV, ciphertext and tag must be present */
    assert_false(is_jwt("eyJhbGciOiJkaXIifQ..aXY..dGFn"));
    assert_false(is_jwt("eyJhbGciOiJkaXIifQ...Y2lwaGVy.dGFn"));
    assert_false(is_jwt("eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVy."));
    assert_false(is_jwt("abcdefghi.a.aXY.Y2lwaGVy.dGFn"));
    /* an embedded NUL is not base64url */
    static const char nul[] = "eyJ.a\0b.c";
    assert_false(token_is_jwt(span_make(nul, sizeof(nul) - 1)));
}

/* Runs f over every prefix of s from an exact-size heap copy. */
static void every_prefix(const char *s, void (*f)(const uint8_t *p, size_t len, const void *ctx),
                         const void *ctx)
{
    size_t len = strlen(s);
    for (size_t k = 0; k <= len; k++) {
        uint8_t *buf = malloc(k ? k : 1);
        assert_non_null(buf);
        memcpy(buf, s, k);
        f(buf, k, ctx);
        free(buf);
    }
}

static void jwt_prefix(const uint8_t *p, size_t len, const void *ctx)
{
    (void)ctx;
    (void)token_is_jwt(span_make(p, len));
    struct span t;
    if (token_bearer(span_make(p, len), &t))
        assert_true(inside(t, p, len));
}

static void test_is_jwt_prefixes(void **state)
{
    (void)state;
    static const char *const in[] = {JWT1, JWT_NONE, JWE1, JWE_DIR, JWT_ALB, "Bearer " JWT1,
                                     "DPoP " JWT2};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
        every_prefix(in[i], jwt_prefix, NULL);
    /* a prefix of a JWT is a JWT only from the second dot on */
    const char *j = JWT1;
    size_t second = strlen(JH) + 1 + strlen(JP);
    for (size_t k = 0; k <= strlen(j); k++)
        assert_int_equal(token_is_jwt(span_make(j, k)), k > second);
}

static const char *const default_headers[] = {
    "X-MS-Token-AAD-Access-Token", "X-MS-Token-AAD-Id-Token", "X-Amzn-Oidc-Data",
    "X-Amzn-Oidc-Accesstoken",     "X-Forwarded-Access-Token", "X-Goog-Iap-Jwt-Assertion",
    "X-Auth-Request-Access-Token", "Sec-WebSocket-Protocol",
};
#define NDEFAULT (sizeof(default_headers) / sizeof(default_headers[0]))

static size_t scan_hdrs(const char *raw, struct token_ref *out, size_t max, struct http1_msg *m)
{
    struct parse_result r = http1_parse_request((const uint8_t *)raw, strlen(raw), m);
    assert_int_equal(r.status, PARSE_OK);
    struct arena a;
    arena_init(&a, 0, 0);
    size_t n = scan_headers_msg(m, default_headers, NDEFAULT, &a, out, max);
    /* nothing in a head needs decoding: the arena stays untouched */
    assert_null(a.head);
    for (size_t i = 0; i < n; i++)
        assert_true(inside(out[i].text, raw, strlen(raw)));
    return n;
}

static void assert_tok(struct token_ref r, enum token_location loc, const char *want)
{
    assert_int_equal(r.loc, loc);
    assert_int_equal(r.text.len, strlen(want));
    assert_memory_equal(r.text.p, want, r.text.len);
}

static void test_headers_authorization(void **state)
{
    (void)state;
    static const char raw[] = "GET / HTTP/1.1\r\nHost: h\r\n"
                              "Authorization: Bearer plain-is-scan-request\r\n"
                              "Proxy-Authorization: Bearer proxy-opaque\r\n"
                              "Authorization: DPoP " JWT1 "\r\n"
                              "authorization: pop\t" JWT2 "\r\n"
                              "Authorization: Basic dXNlcjpwdw==\r\n"
                              "Authorization: DPoPx nope\r\n"
                              "Proxy-Authorization: Basic cHJveHk6cHc=\r\n"
                              "Authorization: dpop " JWT1 "\r\n"
                              "\r\n";
    struct http1_msg m;
    struct token_ref out[8];
    size_t n = scan_hdrs(raw, out, 8, &m);
    assert_int_equal(n, 3);
    assert_tok(out[0], TOKEN_LOC_AUTHORIZATION, "proxy-opaque");
    assert_tok(out[1], TOKEN_LOC_AUTHORIZATION, JWT1);
    assert_tok(out[2], TOKEN_LOC_AUTHORIZATION, JWT2);
    /* and plain Bearer stays token_scan_request's, once */
    struct token_ref req[8];
    assert_int_equal(scan_request_msg(&m, req, 8), 1);
    assert_tok(req[0], TOKEN_LOC_AUTHORIZATION, "plain-is-scan-request");
}

static void test_headers_cookies(void **state)
{
    (void)state;
    static const char raw[] = "GET / HTTP/1.1\r\nHost: h\r\n"
                              "Cookie: a=1; session=\"" JWT1 "\"; b=2\r\n"
                              "Cookie:id_token=" JWT2 ";access_token=" JWT1 "\r\n"
                              "cookie: x = " JWE1 " ; " JWT_NONE "; y=\"\"; z=\"; ;=;\r\n"
                              "Cookie: c=eyJhbGciOiJIUzI1NiJ9.e30; d=notajwt.a.b\r\n"
                              "\r\n";
    struct http1_msg m;
    struct token_ref out[8];
    size_t n = scan_hdrs(raw, out, 8, &m);
    assert_int_equal(n, 4);
    assert_tok(out[0], TOKEN_LOC_COOKIE, JWT1); /* unquoted, and reported once */
    assert_tok(out[1], TOKEN_LOC_COOKIE, JWT2);
    assert_tok(out[2], TOKEN_LOC_COOKIE, JWE1);
    assert_tok(out[3], TOKEN_LOC_COOKIE, JWT_NONE); /* a nameless cookie */
    /* the bound holds and keeps the order */
    assert_int_equal(scan_hdrs(raw, out, 2, &m), 2);
    assert_tok(out[1], TOKEN_LOC_COOKIE, JWT2);
    assert_int_equal(scan_hdrs(raw, out, 0, &m), 0);
}

static void test_headers_configured(void **state)
{
    (void)state;
    static const char raw[] =
        "GET /ws HTTP/1.1\r\nHost: h\r\n"
        "Sec-WebSocket-Protocol: authorization.bearer." JWT1 ", v1\r\n"
        "x-ms-token-aad-id-token: " JWT2 "\r\n"
        "X-Amzn-Oidc-Data: " JWT_ALB "\r\n"
        "X-Forwarded-Access-Token: Bearer " JWE_DIR "\r\n"
        "X-Forwarded-Access-Token: gho_opaqueGitHubToken\r\n"
        "X-Goog-Iap-Jwt-Assertion: " JWT1 "\r\n"     /* other place: reported again */
        "X-Auth-Request-Access-Token: " JWT2 "\r\n"  /* same place: not again */
        "X-Unlisted: " JWE1 "\r\n"
        "Sec-WebSocket-Protocol: chat, Authorization.Bearer.notajwt, " JWE1 "\r\n"
        "\r\n";
    struct http1_msg m;
    struct token_ref out[8];
    size_t n = scan_hdrs(raw, out, 8, &m);
    assert_int_equal(n, 5);
    assert_tok(out[0], TOKEN_LOC_HEADER, JWT1);
    assert_tok(out[1], TOKEN_LOC_HEADER, JWT2);
    assert_tok(out[2], TOKEN_LOC_HEADER, JWT_ALB);
    assert_tok(out[3], TOKEN_LOC_HEADER, JWE_DIR);
    assert_tok(out[4], TOKEN_LOC_HEADER, JWE1);
    /* without configured names, none of these is looked at */
    struct arena a;
    arena_init(&a, 0, 0);
    assert_int_equal(scan_headers_msg(&m, NULL, 0, &a, out, 8), 0);
    /* a NULL entry is skipped, not dereferenced */
    const char *const some[] = {NULL, "x-unlisted"};
    assert_int_equal(scan_headers_msg(&m, some, 2, &a, out, 8), 1);
    assert_tok(out[0], TOKEN_LOC_HEADER, JWE1);
}

static void test_headers_one_token_many_places(void **state)
{
    (void)state;
    static const char raw[] = "GET / HTTP/1.1\r\n"
                              "Cookie: t=" JWT1 "\r\n"
                              "Proxy-Authorization: Bearer " JWT1 "\r\n"
                              "X-MS-Token-AAD-Access-Token: " JWT1 "\r\n"
                              "Cookie: u=" JWT1 "\r\n"
                              "\r\n";
    struct http1_msg m;
    struct token_ref out[8];
    assert_int_equal(scan_hdrs(raw, out, 8, &m), 3);
    assert_tok(out[0], TOKEN_LOC_COOKIE, JWT1);
    assert_tok(out[1], TOKEN_LOC_AUTHORIZATION, JWT1);
    assert_tok(out[2], TOKEN_LOC_HEADER, JWT1);
}

static void test_scan_request_dedupe(void **state)
{
    (void)state;
    struct http1_msg m;
    struct token_ref out[8];
    size_t n = scan("GET / HTTP/1.1\r\nAuthorization: Bearer same\r\n"
                    "Authorization: Bearer same\r\nAuthorization: Bearer other\r\n\r\n",
                    out, 8, &m);
    assert_int_equal(n, 2);
    assert_ref(out[0], "same");
    assert_ref(out[1], "other");
}

static void test_ref_add(void **state)
{
    (void)state;
    struct token_ref out[3];
    size_t n = 0;
    n = token_ref_add(out, n, 3, span_cstr("a"), TOKEN_LOC_QUERY);
    n = token_ref_add(out, n, 3, span_cstr("a"), TOKEN_LOC_QUERY);
    assert_int_equal(n, 1);
    n = token_ref_add(out, n, 3, span_cstr("a"), TOKEN_LOC_BODY);
    n = token_ref_add(out, n, 3, span_cstr(""), TOKEN_LOC_BODY);
    assert_int_equal(n, 2);
    n = token_ref_add(out, n, 3, span_cstr("ab"), TOKEN_LOC_QUERY);
    n = token_ref_add(out, n, 3, span_cstr("c"), TOKEN_LOC_QUERY);
    assert_int_equal(n, 3);
    assert_int_equal(out[2].text.len, 2);
}

/* One header (named by ctx) at a time, its value from an exact-size heap buffer cut at every
 * length. */
static void header_prefix(const uint8_t *p, size_t len, const void *ctx)
{
    struct token_field f = {span_cstr(ctx), span_make(p, len)};
    struct arena a;
    arena_init(&a, 0, 0);
    struct token_ref out[8];
    size_t n = token_scan_headers(&f, 1, default_headers, NDEFAULT, &a, out, 8);
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        assert_true(inside(out[i].text, p, len));
    n = token_scan_request(&f, 1, out, 8);
    for (size_t i = 0; i < n; i++)
        assert_true(inside(out[i].text, p, len));
}

static void test_headers_prefixes(void **state)
{
    (void)state;
    static const struct {
        const char *name, *value;
    } in[] = {
        {"Cookie", "a=1; session=\"" JWT1 "\"; b=2"},
        {"Cookie", " x = " JWE1 " ; " JWT_NONE "; y=\"\"; z=\"; ;=;"},
        {"Authorization", "DPoP " JWT1},
        {"Authorization", "Bearer " JWT1},
        {"Proxy-Authorization", "Bearer " JWT2},
        {"Sec-WebSocket-Protocol", "authorization.bearer." JWT1 ", v1"},
        {"X-Amzn-Oidc-Data", JWT_ALB},
        {"X-Forwarded-Access-Token", "Bearer " JWE_DIR},
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        every_prefix(in[i].value, header_prefix, in[i].name);
    }
}

/* The first field of a name, in any letter case; absent: an empty span with a NULL pointer. */
static void test_field_get(void **state)
{
    (void)state;
    static const char raw[] = "GET / HTTP/1.1\r\nHost: a\r\ncontent-type: x/y\r\n"
                              "Content-Type: second\r\nX-Empty:\r\n\r\n";
    struct http1_msg m;
    assert_int_equal(http1_parse_request((const uint8_t *)raw, strlen(raw), &m).status, PARSE_OK);
    const struct fields *fl = fields_of(&m);
    assert_true(span_eq(token_field_get(fl->f, fl->n, "Content-Type"), "x/y"));
    assert_true(span_eq(token_field_get(fl->f, fl->n, "HOST"), "a"));
    struct span e = token_field_get(fl->f, fl->n, "X-Empty");
    assert_non_null(e.p);
    assert_int_equal(e.len, 0);
    e = token_field_get(fl->f, fl->n, "Content-Length");
    assert_null(e.p);
    assert_int_equal(e.len, 0);
    assert_null(token_field_get(NULL, 0, "Host").p);
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
        cmocka_unit_test(test_scan_request_dedupe),
        cmocka_unit_test(test_ref_add),
        cmocka_unit_test(test_is_jwt_accepts),
        cmocka_unit_test(test_is_jwt_rejects),
        cmocka_unit_test(test_is_jwt_prefixes),
        cmocka_unit_test(test_headers_authorization),
        cmocka_unit_test(test_headers_cookies),
        cmocka_unit_test(test_headers_configured),
        cmocka_unit_test(test_headers_one_token_many_places),
        cmocka_unit_test(test_headers_prefixes),
        cmocka_unit_test(test_field_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
