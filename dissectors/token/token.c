/* token.c — finds bearer tokens in a request head's fields, and recognises JWT-shaped text.
 *
 * Pipeline: applayer (http1/http2) ─► [token scan] ─► verdict. Input is the head's header fields
 * (struct token_field, whatever protocol parsed them); output is token spans pointing into the
 * same buffer the field spans point into, so they live exactly as long as that buffer. Owns nothing, allocates nothing (the head
 * scanners never decode: cookie quotes are stripped by narrowing the span). The body and query
 * scanners, which do decode, are in token_body.c; both files implement include/token.h.
 *
 * Where to look is data, not code: the place tables below are walked over every request header,
 * and a new place (a header, a scheme) is one more row.
 * RFC 6750 §2.1 (Authorization: Bearer), RFC 9110 §11.6.2 (credentials), §11.4 (auth-scheme is
 * case-insensitive), §11.7.2 (Proxy-Authorization), RFC 9449 §7.1 (DPoP scheme), RFC 6265
 * §4.2.1 (Cookie header syntax), RFC 7515 §7.1 / RFC 7516 §7.1 (compact serializations),
 * RFC 6455 §11.3.4 (Sec-WebSocket-Protocol list).
 */
#include "token.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "b64.h"

/* Adds the tokens found in one header value to out[n..max) (deduplicated per location);
 * returns the new count. A function per place, because some places (a Cookie header, a
 * WebSocket protocol list) hold more than one token. */
typedef size_t (*token_extract_fn)(struct span value, enum token_location loc,
                                   struct token_ref *out, size_t n, size_t max);

struct token_place {
    const char *header;      /* header name, matched case-insensitively */
    size_t len;              /* strlen(header): most names are told apart by length alone */
    token_extract_fn extract;
    enum token_location loc;
};

#define PLACE(name, fn, loc) {name, sizeof(name) - 1, fn, loc}

static const char *const location_names[TOKEN_LOC__COUNT] = {
    [TOKEN_LOC_AUTHORIZATION] = "authorization",
    [TOKEN_LOC_COOKIE] = "cookie",
    [TOKEN_LOC_QUERY] = "query",
    [TOKEN_LOC_BODY] = "body",
    [TOKEN_LOC_RESPONSE_BODY] = "response_body",
    [TOKEN_LOC_HEADER] = "header",
    [TOKEN_LOC_WEBSOCKET] = "websocket",
};

/* Returns the static SPEC §3 name, or "unknown" for a value outside the enum. */
const char *token_location_name(enum token_location loc)
{
    if ((unsigned)loc >= TOKEN_LOC__COUNT)
        return "unknown";
    return location_names[loc];
}

/* First match in message order, as a server reads a field it expects once. */
struct span token_field_get(const struct token_field *fields, size_t nfields, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < nfields; i++)
        if (span_ieq_len(fields[i].name, name, n))
            return fields[i].value;
    return span_make(NULL, 0);
}

/* Linear over out[0..n): n is bounded by the caller's `max` (a handful per transaction), and a
 * hash would cost more than it saves at that size. */
size_t token_ref_add(struct token_ref *out, size_t n, size_t max, struct span text,
                     enum token_location loc)
{
    if (n >= max || text.len == 0)
        return n;
    for (size_t i = 0; i < n; i++)
        if (out[i].loc == loc && out[i].text.len == text.len &&
            memcmp(out[i].text.p, text.p, text.len) == 0)
            return n;
    out[n].text = text;
    out[n].loc = loc;
    return n + 1;
}

static inline int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* Spaces, tabs and the CR/LF an obs-folded HTTP/1 value keeps raw (http1.h). */
static inline int is_lws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct span trim_lws(struct span s)
{
    while (s.len && is_lws(s.p[0])) {
        s.p++;
        s.len--;
    }
    while (s.len && is_lws(s.p[s.len - 1]))
        s.len--;
    return s;
}

/* One part of a compact serialization: base64url, with up to two '=' of padding tolerated at
 * its end (AWS ALB signs X-Amzn-Oidc-Data with padded parts; a sensor must still see it). */
static int part_ok(const uint8_t *p, size_t len, int may_be_empty)
{
    if (len == 0)
        return may_be_empty;
    size_t pad = 0;
    while (pad < 2 && pad < len && p[len - 1 - pad] == '=')
        pad++;
    return len > pad && b64url_valid((const char *)p, len - pad);
}

/* Runs on every candidate value, so the cheapest test ("eyJ", base64url of '{"', how every real
 * JOSE header begins) comes first and the dots are found with memchr. JWS: header and payload
 * non-empty, signature may be empty (alg "none", RFC 7519 §6.1). JWE: header, IV, ciphertext
 * and tag non-empty, encrypted key may be empty (alg "dir", RFC 7516 §5.1). */
int token_is_jwt(struct span s)
{
    if (s.len < 5 || memcmp(s.p, "eyJ", 3) != 0)
        return 0;
    size_t start[5], len[5], parts = 0, from = 0;
    for (;;) {
        if (parts == 5)
            return 0;
        const uint8_t *dot = memchr(s.p + from, '.', s.len - from);
        size_t end = dot ? (size_t)(dot - s.p) : s.len;
        start[parts] = from;
        len[parts] = end - from;
        parts++;
        if (!dot)
            break;
        from = end + 1;
    }
    static const uint8_t empty_ok3[3] = {0, 0, 1}, empty_ok5[5] = {0, 1, 0, 0, 0};
    const uint8_t *empty_ok = parts == 3 ? empty_ok3 : parts == 5 ? empty_ok5 : NULL;
    if (!empty_ok)
        return 0;
    for (size_t k = 0; k < parts; k++)
        if (!part_ok(s.p + start[k], len[k], empty_ok[k]))
            return 0;
    return 1;
}

/* credentials = auth-scheme [ 1*SP token68 ], for one lower-case `scheme`. The token runs to the
 * first whitespace, comma or non-printable byte: token68 in practice, but a sensor should also
 * see malformed tokens. */
static int scheme_token(struct span value, const char *scheme, struct span *tok)
{
    struct span v = span_trim(value);
    size_t k = strlen(scheme);
    if (v.len < k + 1 || !span_istarts(v, scheme) || !is_ws(v.p[k]))
        return 0;
    size_t i = k + 1;
    while (i < v.len && is_ws(v.p[i]))
        i++;
    size_t s = i;
    /* Token bytes: printable ASCII but ',' (a table: this loop runs over every token byte). */
    static const uint8_t tok_byte[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
        R16(0), R16(0),
        0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x20: space, ',' is 0x2c */
        R16(1), R16(1), R16(1), R16(1),
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x7f: DEL */
        R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0),
#undef R16
    };
    /* Eight bytes at a time while none of them can end the token: no byte below 0x21, none
     * above 0x7e, no ','. The word tests are exact for "some byte is"; the byte loop finds it. */
#ifdef __SSE2__
    /* Sixteen at a time where SSE2 is there (every x86-64): as signed bytes, everything
     * from 0x80 up is negative, so "below 0x21" also catches the bytes above 0x7f. */
    const __m128i lim = _mm_set1_epi8(0x21), del = _mm_set1_epi8(0x7f),
                  cm = _mm_set1_epi8(',');
    while (v.len - i >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(v.p + i));
        __m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, lim),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, del), _mm_cmpeq_epi8(x, cm)));
        if (_mm_movemask_epi8(bad))
            break;
        i += 16;
    }
#endif
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (v.len - i >= 8) {
        uint64_t w;
        memcpy(&w, v.p + i, 8);
        uint64_t low = (w - ones * 0x21) & ~w & highs;          /* a byte < 0x21 */
        uint64_t top = (((w & ~highs) + ones) | w) & highs;      /* a byte > 0x7e */
        uint64_t x = w ^ (ones * ',');
        uint64_t comma = (x - ones) & ~x & highs;                /* a ',' */
        if (low | top | comma)
            break;
        i += 8;
    }
    while (i < v.len && tok_byte[v.p[i]])
        i++;
    if (i == s)
        return 0;
    *tok = span_make(v.p + s, i - s);
    return 1;
}

int token_bearer(struct span value, struct span *tok)
{
    return scheme_token(value, "bearer", tok);
}

static size_t extract_bearer(struct span value, enum token_location loc, struct token_ref *out,
                             size_t n, size_t max)
{
    struct span t;
    return token_bearer(value, &t) ? token_ref_add(out, n, max, t, loc) : n;
}

/* Proof-of-possession schemes: the access token follows the scheme as with Bearer. Bearer itself
 * is token_scan_request's row, so it is not reported a second time from here. */
static size_t extract_pop(struct span value, enum token_location loc, struct token_ref *out,
                          size_t n, size_t max)
{
    struct span t;
    if (scheme_token(value, "dpop", &t) || scheme_token(value, "pop", &t))
        return token_ref_add(out, n, max, t, loc);
    return n;
}

/* cookie-string = cookie-pair *( ";" SP cookie-pair ), read leniently as servers do: any
 * whitespace around pairs, names and values, a pair without '=' taken as a nameless value
 * (what browsers send for a cookie set with an empty name), a DQUOTEd value unquoted. Only
 * values that are JWTs count: the name says nothing reliable (framework session cookies). */
static size_t extract_cookies(struct span value, enum token_location loc, struct token_ref *out,
                              size_t n, size_t max)
{
    size_t i = 0;
    while (i < value.len && n < max) {
        const uint8_t *semi = memchr(value.p + i, ';', value.len - i);
        size_t end = semi ? (size_t)(semi - value.p) : value.len;
        struct span pair = trim_lws(span_make(value.p + i, end - i));
        const uint8_t *eq = pair.len ? memchr(pair.p, '=', pair.len) : NULL;
        struct span v = pair;
        if (eq)
            v = trim_lws(span_make(eq + 1, (size_t)(pair.p + pair.len - eq - 1)));
        if (v.len >= 2 && v.p[0] == '"' && v.p[v.len - 1] == '"')
            v = span_make(v.p + 1, v.len - 2);
        if (token_is_jwt(v))
            n = token_ref_add(out, n, max, v, loc);
        i = end + 1;
    }
    return n;
}

/* A configured header: the whole value a JWT, "Bearer <jwt>", or a comma list whose elements are
 * JWTs or "authorization.bearer.<jwt>" (the WebSocket subprotocol trick browsers force on
 * clients that cannot set Authorization). Opaque values are not reported: these headers also
 * carry non-token data (subprotocol names, user info). */
static size_t extract_listed(struct span value, enum token_location loc, struct token_ref *out,
                             size_t n, size_t max)
{
    static const char prefix[] = "authorization.bearer.";
    struct span t;
    if (token_bearer(value, &t))
        return token_is_jwt(t) ? token_ref_add(out, n, max, t, loc) : n;
    size_t i = 0;
    while (i < value.len && n < max) {
        const uint8_t *comma = memchr(value.p + i, ',', value.len - i);
        size_t end = comma ? (size_t)(comma - value.p) : value.len;
        struct span e = trim_lws(span_make(value.p + i, end - i));
        if (span_istarts(e, prefix))
            e = span_make(e.p + sizeof(prefix) - 1, e.len - (sizeof(prefix) - 1));
        if (token_is_jwt(e))
            n = token_ref_add(out, n, max, e, loc);
        i = end + 1;
    }
    return n;
}

/* token_scan_request's places. */
static const struct token_place request_places[] = {
    PLACE("authorization", extract_bearer, TOKEN_LOC_AUTHORIZATION),
};

/* token_scan_headers' fixed places; the configured names come from the caller. */
static const struct token_place header_places[] = {
    PLACE("proxy-authorization", extract_bearer, TOKEN_LOC_AUTHORIZATION),
    PLACE("authorization", extract_pop, TOKEN_LOC_AUTHORIZATION),
    PLACE("cookie", extract_cookies, TOKEN_LOC_COOKIE),
};

static size_t scan_places(const struct token_field *hd, const struct token_place *rows,
                          size_t nrows, struct token_ref *out, size_t n, size_t max)
{
    for (size_t r = 0; r < nrows && n < max; r++)
        if (hd->name.len == rows[r].len && span_ieq(hd->name, rows[r].header))
            n = rows[r].extract(hd->value, rows[r].loc, out, n, max);
    return n;
}

/* Headers are visited in message order, so repeated headers give tokens in the order sent. A
 * token repeated in several Authorization headers is reported once. Stops when `out` is full. */
size_t token_scan_request(const struct token_field *fields, size_t nfields, struct token_ref *out,
                          size_t max)
{
    size_t n = 0;
    for (size_t h = 0; h < nfields && n < max; h++)
        n = scan_places(&fields[h], request_places,
                        sizeof(request_places) / sizeof(request_places[0]), out, n, max);
    return n;
}

/* Nothing here decodes, so `a` is not used: every ref points into the request buffer. A NULL
 * entry in `headers` is skipped; a name listed twice is scanned once. */
size_t token_scan_headers(const struct token_field *fields, size_t nfields,
                          const char *const *headers, size_t nheaders, struct arena *a,
                          struct token_ref *out, size_t max)
{
    (void)a;
    size_t n = 0;
    /* Lengths once per call, so each header is compared with the names of its own length only. */
    size_t lens[64];
    size_t nl = nheaders < 64 ? nheaders : 64;
    for (size_t c = 0; c < nl; c++)
        lens[c] = headers[c] ? strlen(headers[c]) : 0;
    for (size_t h = 0; h < nfields && n < max; h++) {
        const struct token_field *hd = &fields[h];
        n = scan_places(hd, header_places, sizeof(header_places) / sizeof(header_places[0]),
                        out, n, max);
        for (size_t c = 0; c < nl && n < max; c++) {
            if (headers[c] && hd->name.len == lens[c] && span_ieq(hd->name, headers[c])) {
                n = extract_listed(hd->value, TOKEN_LOC_HEADER, out, n, max);
                break;
            }
        }
    }
    return n;
}
