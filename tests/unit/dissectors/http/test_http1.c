/* test_http1.c — unit tests for dissectors/http/http1.c: request and response heads, body framing,
 * and the chunked decoder. Every valid message is also fed at every split position, each prefix
 * copied into an exact-size heap buffer so ASan catches any read past `len`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http1.h"

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static const struct span no_method = {NULL, 0};

static struct parse_result parse(int response, const uint8_t *b, size_t n, struct http1_msg *m,
                                 const char *req_method)
{
    if (!response)
        return http1_parse_request(b, n, m);
    return http1_parse_response(b, n, m, req_method ? span_cstr(req_method) : no_method);
}

static void assert_span(struct span s, const char *want)
{
    assert_int_equal(s.len, strlen(want));
    if (s.len)
        assert_memory_equal(s.p, want, s.len);
}

/* Same span at the same offset from each message's own buffer. */
static void assert_same_span(struct span a, const uint8_t *ba, struct span b, const uint8_t *bb)
{
    assert_int_equal(a.len, b.len);
    if (a.len)
        assert_int_equal(a.p - ba, b.p - bb);
}

static void assert_same_msg(const struct http1_msg *a, const uint8_t *ba,
                            const struct http1_msg *b, const uint8_t *bb)
{
    assert_same_span(a->method, ba, b->method, bb);
    assert_same_span(a->uri, ba, b->uri, bb);
    assert_same_span(a->reason, ba, b->reason, bb);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->version_major, b->version_major);
    assert_int_equal(a->version_minor, b->version_minor);
    assert_int_equal(a->nheaders, b->nheaders);
    assert_int_equal(a->headers_dropped, b->headers_dropped);
    for (size_t i = 0; i < a->nheaders; i++) {
        assert_same_span(a->headers[i].name, ba, b->headers[i].name, bb);
        assert_same_span(a->headers[i].value, ba, b->headers[i].value, bb);
    }
    assert_int_equal(a->body_kind, b->body_kind);
    assert_int_equal(a->content_length, b->content_length);
    assert_int_equal(a->conn_close, b->conn_close);
    assert_int_equal(a->upgrade, b->upgrade);
    assert_true((a->anomaly == NULL) == (b->anomaly == NULL));
    if (a->anomaly)
        assert_string_equal(a->anomaly, b->anomaly);
}

/* Parses buf whole (must be OK with `head` bytes consumed), then every prefix: shorter than the
 * head must say NEED_MORE, longer must give the same message. */
static void check_splits(int response, const uint8_t *buf, size_t len, size_t head,
                         const char *req_method)
{
    struct http1_msg *full = malloc(sizeof(*full)), *m = malloc(sizeof(*m));
    struct parse_result r = parse(response, buf, len, full, req_method);
    assert_int_equal(r.status, PARSE_OK);
    assert_int_equal(r.consumed, head);
    for (size_t k = 0; k <= len; k++) {
        uint8_t *p = malloc(k ? k : 1);
        memcpy(p, buf, k);
        r = parse(response, p, k, m, req_method);
        if (k < head) {
            assert_int_equal(r.status, PARSE_NEED_MORE);
        } else {
            assert_int_equal(r.status, PARSE_OK);
            assert_int_equal(r.consumed, head);
            assert_same_msg(full, buf, m, p);
        }
        free(p);
    }
    free(full);
    free(m);
}

static struct http1_msg *req_ok(const uint8_t *b, size_t n, size_t head)
{
    static struct http1_msg m; /* test-only: one message inspected at a time */
    check_splits(0, b, n, head, NULL);
    assert_int_equal(http1_parse_request(b, n, &m).status, PARSE_OK);
    return &m;
}

static struct http1_msg *resp_ok(const uint8_t *b, size_t n, size_t head, const char *method)
{
    static struct http1_msg m;
    check_splits(1, b, n, head, method);
    assert_int_equal(http1_parse_response(b, n, &m, method ? span_cstr(method) : no_method)
                         .status,
                     PARSE_OK);
    return &m;
}

static void test_get_basic(void **state)
{
    (void)state;
    static const char raw[] = "GET /api/v1/me?x=1 HTTP/1.1\r\nHost: graph.example.com\r\n"
                              "User-Agent:  curl/8.0 \t\r\nAccept: */*\r\n\r\n";
    struct http1_msg *m = req_ok(S(raw), sizeof(raw) - 1);
    assert_span(m->method, "GET");
    assert_span(m->uri, "/api/v1/me?x=1");
    assert_int_equal(m->version_major, 1);
    assert_int_equal(m->version_minor, 1);
    assert_int_equal(m->nheaders, 3);
    assert_span(m->headers[0].name, "Host");
    assert_span(m->headers[0].value, "graph.example.com");
    assert_span(m->headers[1].value, "curl/8.0");
    assert_span(http1_header_get(m, "user-agent"), "curl/8.0");
    assert_null(http1_header_get(m, "cookie").p);
    assert_int_equal(m->body_kind, HTTP1_BODY_NONE);
    assert_int_equal(m->conn_close, 0);
    assert_int_equal(m->upgrade, 0);
    assert_null(m->anomaly);
}

static void test_post_length(void **state)
{
    (void)state;
    static const char raw[] = "POST /token HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n"
                              "hello world";
    struct http1_msg *m = req_ok(S(raw), sizeof(raw) - 1 - 11);
    assert_int_equal(m->body_kind, HTTP1_BODY_LENGTH);
    assert_int_equal(m->content_length, 11);
    assert_null(m->anomaly);
}

static void test_request_chunked(void **state)
{
    (void)state;
    static const char a[] = "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n";
    struct http1_msg *m = req_ok(S(a), sizeof(a) - 1);
    assert_int_equal(m->body_kind, HTTP1_BODY_CHUNKED);
    /* chunked wins over Content-Length, with an anomaly (smuggling shape) */
    static const char b[] = "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
                            "\r\n\r\n";
    m = req_ok(S(b), sizeof(b) - 1);
    assert_int_equal(m->body_kind, HTTP1_BODY_CHUNKED);
    assert_string_equal(m->anomaly, "Transfer-Encoding with Content-Length");
    /* the last of several Transfer-Encoding headers decides */
    static const char c[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                            "Transfer-Encoding: gzip\r\n\r\n";
    m = req_ok(S(c), sizeof(c) - 1);
    assert_int_equal(m->body_kind, HTTP1_BODY_NONE);
    assert_int_equal(m->conn_close, 1);
    assert_non_null(m->anomaly);
}

static void test_pipelined(void **state)
{
    (void)state;
    static const char raw[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                              "POST /b HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"
                              "\r\nGET /c HTTP/1.1\r\n\r\n";
    const char *uris[] = {"/a", "/b", "/c"};
    const uint8_t *p = (const uint8_t *)raw;
    size_t left = sizeof(raw) - 1, n = 0;
    struct http1_msg m;
    while (left) {
        struct parse_result r = http1_parse_request(p, left, &m);
        assert_int_equal(r.status, PARSE_OK);
        assert_true(n < 3);
        assert_span(m.uri, uris[n++]);
        p += r.consumed;
        left -= r.consumed;
        if (m.body_kind == HTTP1_BODY_LENGTH) {
            assert_span(span_make(p, m.content_length), "body");
            p += m.content_length;
            left -= m.content_length;
        }
    }
    assert_int_equal(n, 3);
    /* the stray CRLF after the body counted in the third request's consumed */
    assert_string_equal(m.anomaly, "empty lines before request line");
}

static void test_versions_and_connection(void **state)
{
    (void)state;
    static const char a[] = "GET / HTTP/1.0\r\n\r\n";
    struct http1_msg *m = req_ok(S(a), sizeof(a) - 1);
    assert_int_equal(m->version_minor, 0);
    assert_int_equal(m->conn_close, 1);
    static const char b[] = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
    m = req_ok(S(b), sizeof(b) - 1);
    assert_int_equal(m->conn_close, 0);
    static const char c[] = "GET / HTTP/1.1\r\nConnection: upgrade , CLOSE\r\n\r\n";
    m = req_ok(S(c), sizeof(c) - 1);
    assert_int_equal(m->conn_close, 1);
    static const char d[] = "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n";
    m = req_ok(S(d), sizeof(d) - 1);
    assert_int_equal(m->conn_close, 0);
}

static void test_lf_only_and_spaces(void **state)
{
    (void)state;
    static const char a[] = "\n\r\nGET   /x \t HTTP/1.1  \nHost: h\nX:\n\n";
    struct http1_msg *m = req_ok(S(a), sizeof(a) - 1);
    assert_span(m->uri, "/x");
    assert_int_equal(m->nheaders, 2);
    assert_span(m->headers[1].name, "X");
    assert_int_equal(m->headers[1].value.len, 0);
    assert_string_equal(m->anomaly, "empty lines before request line");
}

static void test_obs_fold(void **state)
{
    (void)state;
    static const char a[] = "GET / HTTP/1.1\r\nX-Long: one\r\n  two\r\n\tthree \r\nHost: h\r\n\r\n";
    struct http1_msg *m = req_ok(S(a), sizeof(a) - 1);
    assert_int_equal(m->nheaders, 2);
    assert_span(m->headers[0].value, "one\r\n  two\r\n\tthree");
    assert_span(m->headers[1].value, "h");
    assert_string_equal(m->anomaly, "obs-fold");
    /* a fold after an empty value starts the value at the continuation */
    static const char b[] = "GET / HTTP/1.1\r\nX:\r\n v\r\n\r\n";
    m = req_ok(S(b), sizeof(b) - 1);
    assert_span(m->headers[0].value, "v");
    /* a folded Transfer-Encoding is seen with its folded value */
    static const char c[] = "POST / HTTP/1.1\nTransfer-Encoding: gzip,\n chunked\n\n";
    m = req_ok(S(c), sizeof(c) - 1);
    assert_int_equal(m->body_kind, HTTP1_BODY_CHUNKED);
    /* a fold right after the start line has nothing to continue: ignored */
    static const char d[] = "GET / HTTP/1.1\r\n x\r\nHost: h\r\n\r\n";
    m = req_ok(S(d), sizeof(d) - 1);
    assert_int_equal(m->nheaders, 1);
}

static void test_repeated_and_odd_headers(void **state)
{
    (void)state;
    static const char a[] = "GET / HTTP/1.1\r\nX-A: 1\r\nx-a: 2\r\nno colon here\r\n"
                            "Bad Name: 3\r\nName \t: 4\r\n: 5\r\nX-A: 6\r\n\r\n";
    struct http1_msg *m = req_ok(S(a), sizeof(a) - 1);
    assert_int_equal(m->nheaders, 4);
    assert_span(http1_header_get(m, "X-a"), "1");
    assert_span(m->headers[1].value, "2");
    assert_span(m->headers[2].name, "Name");
    assert_span(m->headers[2].value, "4");
    assert_span(m->headers[3].value, "6");
    assert_string_equal(m->anomaly, "header line without colon");
}

static void test_many_headers(void **state)
{
    (void)state;
    char raw[4096];
    size_t n = (size_t)snprintf(raw, sizeof(raw), "POST / HTTP/1.1\r\n");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(raw + n, sizeof(raw) - n, "X-%d: v%d\r\n", i, i);
    /* framing must still see a header that did not fit */
    n += (size_t)snprintf(raw + n, sizeof(raw) - n, "Transfer-Encoding: chunked\r\n\r\n");
    struct http1_msg *m = req_ok((const uint8_t *)raw, n, n);
    assert_int_equal(m->nheaders, HTTP1_MAX_HEADERS);
    assert_int_equal(m->headers_dropped, 71 - HTTP1_MAX_HEADERS);
    assert_span(m->headers[63].value, "v63");
    assert_int_equal(m->body_kind, HTTP1_BODY_CHUNKED);
}

static void test_content_length_variants(void **state)
{
    (void)state;
    static const char a[] = "POST / HTTP/1.1\r\nContent-Length: 7 , 7\r\nContent-Length: 7\r\n\r\n";
    struct http1_msg *m = req_ok(S(a), sizeof(a) - 1);
    assert_int_equal(m->body_kind, HTTP1_BODY_LENGTH);
    assert_int_equal(m->content_length, 7);
    assert_null(m->anomaly);
    static const char b[] = "POST / HTTP/1.1\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n";
    m = req_ok(S(b), sizeof(b) - 1);
    assert_int_equal(m->content_length, 7);
    assert_string_equal(m->anomaly, "conflicting Content-Length values");
    static const char c[] = "POST / HTTP/1.1\r\nContent-Length: 7, 8\r\n\r\n";
    m = req_ok(S(c), sizeof(c) - 1);
    assert_int_equal(m->content_length, 7);
    assert_string_equal(m->anomaly, "conflicting Content-Length values");
    const char *bad[] = {"-1", "", "1a", "+5", "0x10", "5,", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char raw[128];
        int n = snprintf(raw, sizeof(raw), "POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\n", bad[i]);
        m = req_ok((const uint8_t *)raw, (size_t)n, (size_t)n);
        assert_int_equal(m->body_kind, HTTP1_BODY_NONE);
        assert_string_equal(m->anomaly, "invalid Content-Length");
        n = snprintf(raw, sizeof(raw), "HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\n", bad[i]);
        m = resp_ok((const uint8_t *)raw, (size_t)n, (size_t)n, "GET");
        assert_int_equal(m->body_kind, HTTP1_BODY_CLOSE);
    }
    static const char big[] = "POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n";
    m = req_ok(S(big), sizeof(big) - 1);
    assert_int_equal(m->content_length, UINT64_C(9223372036854775807));
}

static void test_responses(void **state)
{
    (void)state;
    static const char a[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    struct http1_msg *m = resp_ok(S(a), sizeof(a) - 3, "GET");
    assert_int_equal(m->status, 200);
    assert_span(m->reason, "OK");
    assert_int_equal(m->body_kind, HTTP1_BODY_LENGTH);
    assert_int_equal(m->content_length, 2);
    static const char b[] = "HTTP/1.1 404\r\n\r\n";
    m = resp_ok(S(b), sizeof(b) - 1, NULL);
    assert_int_equal(m->status, 404);
    assert_int_equal(m->reason.len, 0);
    assert_int_equal(m->body_kind, HTTP1_BODY_CLOSE);
    static const char c[] = "HTTP/1.1  500  Internal Server Error\nTransfer-Encoding: chunked\n\n";
    m = resp_ok(S(c), sizeof(c) - 1, "POST");
    assert_span(m->reason, "Internal Server Error");
    assert_int_equal(m->body_kind, HTTP1_BODY_CHUNKED);
    static const char d[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n";
    m = resp_ok(S(d), sizeof(d) - 1, "GET");
    assert_int_equal(m->body_kind, HTTP1_BODY_CLOSE);
    static const char e[] = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n";
    m = resp_ok(S(e), sizeof(e) - 1, "GET");
    assert_int_equal(m->conn_close, 1);
    assert_int_equal(m->body_kind, HTTP1_BODY_LENGTH);
}

static void test_responses_without_body(void **state)
{
    (void)state;
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    struct http1_msg *m = resp_ok(S(head), sizeof(head) - 1, "HEAD");
    assert_int_equal(m->body_kind, HTTP1_BODY_NONE);
    m = resp_ok(S(head), sizeof(head) - 1, "GET");
    assert_int_equal(m->body_kind, HTTP1_BODY_LENGTH);
    const char *codes[] = {"100", "102", "204", "304"};
    for (size_t i = 0; i < 4; i++) {
        char raw[96];
        int n = snprintf(raw, sizeof(raw), "HTTP/1.1 %s X\r\nContent-Length: 9\r\n\r\n", codes[i]);
        m = resp_ok((const uint8_t *)raw, (size_t)n, (size_t)n, "GET");
        assert_int_equal(m->body_kind, HTTP1_BODY_NONE);
        assert_int_equal(m->upgrade, 0);
    }
    static const char sw[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    m = resp_ok(S(sw), sizeof(sw) - 1, "GET");
    assert_int_equal(m->body_kind, HTTP1_BODY_NONE);
    assert_int_equal(m->upgrade, 1);
}

static void test_connect(void **state)
{
    (void)state;
    static const char req[] = "CONNECT login.example.com:443 HTTP/1.1\r\n"
                              "Host: login.example.com:443\r\n\r\n";
    struct http1_msg *m = req_ok(S(req), sizeof(req) - 1);
    assert_span(m->method, "CONNECT");
    assert_span(m->uri, "login.example.com:443");
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01";
    m = resp_ok(S(ok), sizeof(ok) - 4, "CONNECT");
    assert_int_equal(m->body_kind, HTTP1_BODY_NONE);
    assert_int_equal(m->upgrade, 1);
    static const char no[] = "HTTP/1.1 407 Proxy Auth\r\nContent-Length: 0\r\n\r\n";
    m = resp_ok(S(no), sizeof(no) - 1, "CONNECT");
    assert_int_equal(m->body_kind, HTTP1_BODY_LENGTH);
    assert_int_equal(m->upgrade, 0);
}

static void test_invalid(void **state)
{
    (void)state;
    static const char *const reqs[] = {
        "GET /\r\n\r\n",                     /* HTTP/0.9 */
        "GET / HTTP/2.0\r\n\r\n",            /* not HTTP/1 */
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", /* the h2 preface */
        "GET / HTTP/1.1x\r\n\r\n",
        "GET / HTTP/1\r\n\r\n",
        "G(T / HTTP/1.1\r\n\r\n",
        " GET / HTTP/1.1\r\n\r\n",
        "GET\r/ HTTP/1.1\r\n\r\n",
        "\r\rGET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* TLS, no line end yet */
        "\r\n{\"json\": 1}",
    };
    struct http1_msg m;
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
        assert_int_equal(http1_parse_request((const uint8_t *)reqs[i], strlen(reqs[i]), &m).status,
                         PARSE_ERROR);
    static const char *const resps[] = {
        "HTTP/1.1 20 OK\r\n\r\n",   "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n",
        "HTTP/1.1200 OK\r\n\r\n",   "XTTP/1.1 200 OK\r\n\r\n",  "HTTP/1.1\r\n\r\n",
        "\r\nHTTP/1.1 200 OK\r\n\r\n", "<html>",
    };
    for (size_t i = 0; i < sizeof(resps) / sizeof(resps[0]); i++)
        assert_int_equal(
            http1_parse_response((const uint8_t *)resps[i], strlen(resps[i]), &m, no_method).status,
            PARSE_ERROR);
}

static void test_nul_byte(void **state)
{
    (void)state;
    static const char a[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
    static const char b[] = "GET /\0 HTTP/1.1\r\n\r\n";
    static const char c[] = "HTTP/1.1 200 OK\r\nX\0: 1\r\n\r\n";
    struct http1_msg m;
    assert_int_equal(http1_parse_request(S(a), &m).status, PARSE_ERROR);
    assert_int_equal(http1_parse_request(S(b), &m).status, PARSE_ERROR);
    assert_int_equal(http1_parse_response(S(c), &m, no_method).status, PARSE_ERROR);
    /* before the head is complete we cannot know yet */
    assert_int_equal(http1_parse_request(S("GET / HTTP/1.1\r\nHost: a\0b\r\n"), &m).status,
                     PARSE_NEED_MORE);
}

/* ---- chunked ---- */

/* Feeds `in` in pieces cut at `cuts` (ascending offsets) the way the stream layer would: a piece
 * is fed until NEED_MORE (all consumed) or done. Returns PARSE_OK with the decoded body in `out`
 * and the bytes left after the end in *rest, or PARSE_ERROR, or PARSE_NEED_MORE if it never
 * finished. */
static int decode(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts, uint8_t *out,
                  size_t *outlen, size_t *rest)
{
    struct http1_chunked c;
    http1_chunked_init(&c);
    *outlen = 0;
    size_t start = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        uint8_t *piece = malloc(end - start ? end - start : 1);
        memcpy(piece, in + start, end - start);
        size_t off = 0;
        for (;;) {
            struct span d;
            int done;
            struct parse_result r = http1_chunked_feed(&c, piece + off, end - start - off, &d,
                                                       &done);
            if (r.status == PARSE_ERROR) {
                free(piece);
                return PARSE_ERROR;
            }
            assert_true(r.consumed <= end - start - off);
            if (d.len) {
                assert_int_equal(r.status, PARSE_OK);
                assert_true(d.p >= piece + off && d.p + d.len <= piece + end - start);
                memcpy(out + *outlen, d.p, d.len);
                *outlen += d.len;
            }
            off += r.consumed;
            if (r.status == PARSE_OK && done) {
                *rest = len - (start + off);
                free(piece);
                return PARSE_OK;
            }
            if (r.status == PARSE_NEED_MORE) {
                assert_int_equal(off, end - start);
                break;
            }
            assert_true(d.len > 0); /* OK without data must be done */
        }
        free(piece);
        start = end;
    }
    return PARSE_NEED_MORE;
}

/* Decodes whole, at every single cut, at every pair of cuts, and byte by byte. */
static void check_chunked(const char *in, size_t len, const char *want, size_t rest_want)
{
    uint8_t out[4096];
    size_t outlen, rest, cuts[2];
    const uint8_t *p = (const uint8_t *)in;
    assert_int_equal(decode(p, len, NULL, 0, out, &outlen, &rest), PARSE_OK);
    assert_int_equal(outlen, strlen(want));
    assert_memory_equal(out, want, outlen);
    assert_int_equal(rest, rest_want);
    for (size_t i = 0; i <= len; i++) {
        for (size_t j = i; j <= len; j++) {
            cuts[0] = i;
            cuts[1] = j;
            assert_int_equal(decode(p, len, cuts, 2, out, &outlen, &rest), PARSE_OK);
            assert_int_equal(outlen, strlen(want));
            assert_memory_equal(out, want, outlen);
            assert_int_equal(rest, rest_want);
        }
    }
    size_t *all = malloc(len * sizeof(*all));
    for (size_t i = 0; i < len; i++)
        all[i] = i;
    assert_int_equal(decode(p, len, all, len, out, &outlen, &rest), PARSE_OK);
    assert_memory_equal(out, want, outlen);
    free(all);
}

/* Every split must fail (never succeed nor hang at NEED_MORE). */
static void check_chunked_bad(const char *in, size_t len)
{
    uint8_t *out = malloc(len + 1);
    size_t outlen, rest, cut;
    assert_int_equal(decode((const uint8_t *)in, len, NULL, 0, out, &outlen, &rest),
                     PARSE_ERROR);
    for (cut = 0; cut <= len; cut++)
        assert_int_equal(decode((const uint8_t *)in, len, &cut, 1, out, &outlen, &rest),
                         PARSE_ERROR);
    free(out);
}

#define CHUNKED(lit, want, rest) check_chunked(lit, sizeof(lit) - 1, want, rest)
#define CHUNKED_BAD(lit) check_chunked_bad(lit, sizeof(lit) - 1)

static void test_chunked_valid(void **state)
{
    (void)state;
    CHUNKED("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 0);
    CHUNKED("0\r\n\r\n", "", 0);
    CHUNKED("A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij", 0);
    CHUNKED("1;name=value;x=\"q;\\\"\"\r\nX\r\n0;last\r\n\r\n", "X", 0);
    CHUNKED("3  \r\nabc\r\n0 \t\r\n\r\n", "abc", 0);
    CHUNKED("3\nabc\n0\n\n", "abc", 0);
    CHUNKED("3\r\nabc\r\n0\r\nX-Trailer: 1\r\nY: two\n\r\n", "abc", 0);
    CHUNKED("2\r\n\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "\r\n", 16);
    CHUNKED("000000000000000F\r\n0123456789abcde\r\n00\r\n\r\n", "0123456789abcde", 0);
}

static void test_chunked_invalid(void **state)
{
    (void)state;
    CHUNKED_BAD("x\r\n");
    CHUNKED_BAD("\r\n");
    CHUNKED_BAD(";ext\r\n");
    CHUNKED_BAD("5x\r\nhello\r\n");
    CHUNKED_BAD("5 x\r\nhello\r\n");
    CHUNKED_BAD("5\rhello\r\n");
    CHUNKED_BAD("5\r\nhelloX\r\n0\r\n\r\n");
    CHUNKED_BAD("5\r\nhello\rX0\r\n\r\n");
    CHUNKED_BAD("-5\r\nhello\r\n");
    CHUNKED_BAD("0\r\n\rX");
    CHUNKED_BAD("00000000000000001\r\n"); /* 17 digits */
    CHUNKED_BAD("FFFFFFFFFFFFFFFF\r\n");
    CHUNKED_BAD("8000000000000001\r\n");
    char *big = malloc(10000);
    memset(big, 'a', 10000);
    memcpy(big, "1;", 2); /* endless extension */
    check_chunked_bad(big, 2000);
    memcpy(big, "0\r\nX: ", 6); /* endless trailers, in many short lines */
    for (size_t i = 10; i < 10000; i += 10)
        memcpy(big + i - 2, "\r\n", 2);
    check_chunked_bad(big, 10000);
    free(big);
    /* the largest size accepted is 2^63: it then waits for data */
    uint8_t out[8];
    size_t outlen, rest;
    assert_int_equal(decode(S("8000000000000000\r\nab"), NULL, 0, out, &outlen, &rest),
                     PARSE_NEED_MORE);
    assert_int_equal(outlen, 2);
}

static void test_chunked_done_is_sticky(void **state)
{
    (void)state;
    struct http1_chunked c;
    struct span d;
    int done;
    http1_chunked_init(&c);
    struct parse_result r = http1_chunked_feed(&c, S("0\r\n\r\nmore"), &d, &done);
    assert_int_equal(r.status, PARSE_OK);
    assert_int_equal(r.consumed, 5);
    assert_int_equal(done, 1);
    r = http1_chunked_feed(&c, S("more"), &d, &done);
    assert_int_equal(r.status, PARSE_OK);
    assert_int_equal(r.consumed, 0);
    assert_int_equal(done, 1);
    assert_int_equal(d.len, 0);
    http1_chunked_init(&c);
    r = http1_chunked_feed(&c, (const uint8_t *)"", 0, &d, &done);
    assert_int_equal(r.status, PARSE_NEED_MORE);
    assert_int_equal(r.consumed, 0);
}

/* Leniencies servers and Zeek share: the version name in any case, a missing request target. */
static void test_lenient_lines(void **state)
{
    (void)state;
    struct http1_msg m;
    const char *a = "GET / http/1.1\r\n\r\n";
    struct parse_result r = http1_parse_request((const uint8_t *)a, strlen(a), &m);
    assert_int_equal(r.status, PARSE_OK);
    assert_int_equal(m.version_minor, 1);
    const char *b = "GET  HTTP/1.1\r\nHost: bro.org\r\n\r\n";
    r = http1_parse_request((const uint8_t *)b, strlen(b), &m);
    assert_int_equal(r.status, PARSE_OK);
    assert_int_equal(r.consumed, strlen(b));
    assert_int_equal(m.uri.len, 0);
    assert_non_null(m.anomaly);
    const char *c = "http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    r = http1_parse_response((const uint8_t *)c, strlen(c), &m, span_cstr("GET"));
    assert_int_equal(r.status, PARSE_OK);
    assert_int_equal(m.status, 200);
    const char *d = "GET HTTP/1.1\r\n\r\n"; /* one space: HTTP/1.1 is the target, no version */
    r = http1_parse_request((const uint8_t *)d, strlen(d), &m);
    assert_int_equal(r.status, PARSE_ERROR);
}

/* Field lines against a model of the rules (the first ':' ends the name; whitespace before it
 * is trimmed with an anomaly; an empty or non-token name, or no colon, drops the line with one),
 * over 20,000 random lines mixing token characters with SP, HTAB, ':', '@', '"', 0x01 and 0x80:
 * the one-pass path for plain names and the general one must agree with it. */
static int model_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void test_field_lines_model(void **state)
{
    (void)state;
    static const char alpha[] = "aZ0-_~!. \t:@\"\x01\x80";
    uint32_t x = 777;
    for (int round = 0; round < 20000; round++) {
        char line[24], raw[96];
        x = x * 1103515245u + 12345u;
        size_t n = 1 + (x >> 16) % 12;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            line[i] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
        }
        if (line[0] == ' ' || line[0] == '\t')
            line[0] = 'q'; /* not an obs-fold here */
        line[n] = '\0';
        int len = snprintf(raw, sizeof(raw), "GET / HTTP/1.1\r\n%s\r\nHost: h\r\n\r\n", line);
        struct http1_msg m;
        struct parse_result r = http1_parse_request((const uint8_t *)raw, (size_t)len, &m);
        assert_int_equal(r.status, PARSE_OK);

        /* the model */
        const char *want_anomaly = NULL;
        size_t want_headers = 1, ns = 0, ne;
        const char *colon = memchr(line, ':', n);
        if (!colon) {
            want_anomaly = "header line without colon";
        } else {
            ne = (size_t)(colon - line);
            while (ns < ne && (line[ns] == ' ' || line[ns] == '\t'))
                ns++;
            while (ne > ns && (line[ne - 1] == ' ' || line[ne - 1] == '\t'))
                ne--;
            if (ne - ns != (size_t)(colon - line))
                want_anomaly = "whitespace before colon";
            int ok = ne > ns;
            for (size_t i = ns; i < ne; i++)
                ok = ok && model_tchar((unsigned char)line[i]);
            if (!ok) {
                if (!want_anomaly)
                    want_anomaly = "invalid header name";
            } else {
                want_headers = 2;
            }
        }
        assert_int_equal(m.nheaders, want_headers);
        if (want_anomaly)
            assert_string_equal(m.anomaly, want_anomaly);
        else
            assert_null(m.anomaly);
        if (want_headers == 2) {
            assert_int_equal(m.headers[0].name.len, ne - ns);
            assert_memory_equal(m.headers[0].name.p, line + ns, ne - ns);
            size_t vs = (size_t)(colon - line) + 1, ve = n;
            while (vs < ve && (line[vs] == ' ' || line[vs] == '\t'))
                vs++;
            while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
                ve--;
            assert_int_equal(m.headers[0].value.len, ve - vs);
            if (ve > vs)
                assert_memory_equal(m.headers[0].value.p, line + vs, ve - vs);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_basic),
        cmocka_unit_test(test_post_length),
        cmocka_unit_test(test_request_chunked),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_versions_and_connection),
        cmocka_unit_test(test_lf_only_and_spaces),
        cmocka_unit_test(test_obs_fold),
        cmocka_unit_test(test_repeated_and_odd_headers),
        cmocka_unit_test(test_many_headers),
        cmocka_unit_test(test_content_length_variants),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_responses_without_body),
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_lenient_lines),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_chunked_valid),
        cmocka_unit_test(test_chunked_invalid),
        cmocka_unit_test(test_chunked_done_is_sticky),
        cmocka_unit_test(test_field_lines_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
