/* fuzz_token.c — libFuzzer target for dissectors/token/token.c and dissectors/token/token_body.c.
 *
 * Parses the input as an HTTP request head and runs the head scanners over its fields, as the
 * app layer hands them over (Authorization,
 * the other headers with a couple of configured names, the target's query); then runs the form,
 * JSON and JSON-message (token_scan_json_auth) scanners over the whole input, and token_is_jwt against a slow reference. abort() on
 * a broken invariant: a ref out of bounds, empty, duplicated within a call, a header/cookie ref
 * that is no JWT, more refs than `max`, or a smaller `max` giving other than a prefix. */
#include <stdint.h>
#include <stdlib.h>

#include "http1.h"
#include "token.h"

enum { MAX_REFS = 16 };

static const char *const configured[] = {"X-Amzn-Oidc-Data", "Sec-WebSocket-Protocol"};

static int inside(struct span t, const uint8_t *data, size_t size)
{
    return t.p >= data && t.p + t.len <= data + size;
}

static void check_token(struct span t, const uint8_t *data, size_t size)
{
    if (!t.len || !inside(t, data, size))
        abort();
    for (size_t i = 0; i < t.len; i++)
        if (t.p[i] <= ' ' || t.p[i] >= 0x7f || t.p[i] == ',')
            abort();
}

/* Common to every scanner: bound, non-empty, valid location, once per text and place, and a
 * decoded copy (outside the input) readable in full and never longer than the input. */
static void check_refs(const struct token_ref *out, size_t n, const uint8_t *data, size_t size)
{
    if (n > MAX_REFS)
        abort();
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++) {
        if (!out[i].text.len || (unsigned)out[i].loc >= TOKEN_LOC__COUNT)
            abort();
        if (!inside(out[i].text, data, size)) {
            if (out[i].text.len > size)
                abort();
            for (size_t k = 0; k < out[i].text.len; k++)
                sink ^= out[i].text.p[k];
        }
        for (size_t j = 0; j < i; j++)
            if (out[j].loc == out[i].loc && out[j].text.len == out[i].text.len &&
                memcmp(out[j].text.p, out[i].text.p, out[i].text.len) == 0)
                abort();
    }
    (void)sink;
}

/* The same scan with max 2 must give the first two refs of the full scan. */
static void check_prefix(const struct token_ref *full, size_t n, const struct token_ref *two,
                         size_t n2)
{
    if (n2 != (n < 2 ? n : 2))
        abort();
    for (size_t i = 0; i < n2; i++)
        if (two[i].loc != full[i].loc || two[i].text.len != full[i].text.len ||
            memcmp(two[i].text.p, full[i].text.p, full[i].text.len) != 0)
            abort();
}

/* token_is_jwt spelled out the slow way: 3 or 5 parts, "eyJ" first, base64url with at most two
 * '=' at a part's end, and only the parts the RFCs let be empty empty. */
static int ref_is_jwt(const uint8_t *p, size_t len)
{
    size_t parts = 1;
    for (size_t i = 0; i < len; i++)
        parts += p[i] == '.';
    if ((parts != 3 && parts != 5) || len < 3 || memcmp(p, "eyJ", 3) != 0)
        return 0;
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '.')
            continue;
        size_t plen = i - start, pad = 0;
        while (pad < plen && pad < 2 && p[i - 1 - pad] == '=')
            pad++;
        int may_be_empty = parts == 3 ? k == 2 : k == 1;
        if (plen == 0 && !may_be_empty)
            return 0;
        if (plen && plen == pad)
            return 0;
        for (size_t j = start; j < i - pad; j++) {
            uint8_t c = p[j];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_'))
                return 0;
        }
        k++;
        start = i + 1;
    }
    return 1;
}

/* kind 0: form, 1: JSON, 2: a JSON message with credential members (token_scan_json_auth) */
static size_t scan_kind(int kind, struct span body, struct arena *a, struct token_ref *out,
                        size_t max)
{
    if (kind == 2)
        return token_scan_json_auth(body, TOKEN_LOC_WEBSOCKET, a, out, max);
    return kind ? token_scan_json(body, TOKEN_LOC_BODY, a, out, max)
                : token_scan_form(body, TOKEN_LOC_BODY, a, out, max);
}

static void scan_body(int kind, const uint8_t *data, size_t size, struct arena *a)
{
    struct token_ref out[MAX_REFS], two[2];
    struct span body = span_make(data, size);
    size_t n = scan_kind(kind, body, a, out, MAX_REFS);
    check_refs(out, n, data, size);
    check_prefix(out, n, two, scan_kind(kind, body, a, two, 2));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    arena_init(&a, 4096, 1 << 20);
    struct http1_msg *m = malloc(sizeof(*m));
    struct token_field *fl = malloc(HTTP1_MAX_HEADERS * sizeof(*fl));
    if (m && fl && http1_parse_request(data, size, m).status == PARSE_OK) {
        size_t nf = m->nheaders;
        for (size_t i = 0; i < nf; i++) {
            fl[i].name = m->headers[i].name;
            fl[i].value = m->headers[i].value;
        }
        struct token_ref out[MAX_REFS], two[2];
        size_t n = token_scan_request(fl, nf, out, MAX_REFS);
        check_refs(out, n, data, size);
        for (size_t i = 0; i < n; i++)
            check_token(out[i].text, data, size);

        n = token_scan_headers(fl, nf, configured, 2, &a, out, MAX_REFS);
        check_refs(out, n, data, size);
        for (size_t i = 0; i < n; i++) {
            if (!inside(out[i].text, data, size))
                abort(); /* nothing in a head is decoded */
            if (out[i].loc != TOKEN_LOC_AUTHORIZATION && !token_is_jwt(out[i].text))
                abort();
        }
        check_prefix(out, n, two, token_scan_headers(fl, nf, configured, 2, &a, two, 2));

        n = token_scan_query(m->uri, &a, out, MAX_REFS);
        check_refs(out, n, data, size);
        check_prefix(out, n, two, token_scan_query(m->uri, &a, two, 2));
    }
    free(fl);
    free(m);
    scan_body(0, data, size, &a);
    scan_body(1, data, size, &a);
    scan_body(2, data, size, &a);
    arena_release(&a);

    struct span tok;
    if (token_bearer(span_make(data, size), &tok))
        check_token(tok, data, size);
    if (token_is_jwt(span_make(data, size)) != ref_is_jwt(data, size))
        abort();
    return 0;
}
