/* token.c — finds bearer tokens in a parsed HTTP request.
 *
 * Pipeline: applayer (http1/http2) ─► [token scan] ─► verdict. Input is a parsed message head
 * (struct http1_msg); output is token spans pointing into the same buffer the head spans point
 * into, so they live exactly as long as that buffer. Owns nothing, allocates nothing.
 *
 * Where to look is data, not code: `places` below is walked over every request header, and a
 * new place (Proxy-Authorization, a cookie name, a custom header) is one more row.
 * RFC 6750 §2.1 (Authorization: Bearer), RFC 9110 §11.6.2 (credentials), §11.4 (auth-scheme is
 * case-insensitive).
 */
#include "token.h"

/* Pulls up to `max` token spans out of one header value; returns how many it wrote. Several,
 * because some places (a Cookie header) can hold more than one. */
typedef size_t (*token_extract_fn)(struct span value, struct span *out, size_t max);

struct token_place {
    const char *header;      /* header name, matched case-insensitively */
    token_extract_fn extract;
    enum token_location loc;
};

static size_t extract_bearer(struct span value, struct span *out, size_t max)
{
    return max && token_bearer(value, out) ? 1 : 0;
}

static const struct token_place places[] = {
    {"authorization", extract_bearer, TOKEN_LOC_AUTHORIZATION},
};

static const char *const location_names[TOKEN_LOC__COUNT] = {
    [TOKEN_LOC_AUTHORIZATION] = "authorization",
    [TOKEN_LOC_COOKIE] = "cookie",
    [TOKEN_LOC_QUERY] = "query",
    [TOKEN_LOC_BODY] = "body",
    [TOKEN_LOC_RESPONSE_BODY] = "response_body",
    [TOKEN_LOC_HEADER] = "header",
};

/* Returns the static SPEC §3 name, or "unknown" for a value outside the enum. */
const char *token_location_name(enum token_location loc)
{
    if ((unsigned)loc >= TOKEN_LOC__COUNT)
        return "unknown";
    return location_names[loc];
}

/* Headers are visited in message order, so repeated headers give tokens in the order sent.
 * Stops silently when `out` is full; the caller sizes it. */
size_t token_scan_request(const struct http1_msg *req, struct token_ref *out, size_t max)
{
    size_t n = 0;
    for (size_t h = 0; h < req->nheaders && n < max; h++) {
        const struct http1_header *hd = &req->headers[h];
        for (size_t r = 0; r < sizeof(places) / sizeof(places[0]) && n < max; r++) {
            if (!span_ieq(hd->name, places[r].header))
                continue;
            struct span toks[8];
            size_t room = max - n < 8 ? max - n : 8;
            size_t got = places[r].extract(hd->value, toks, room);
            for (size_t k = 0; k < got; k++) {
                out[n].text = toks[k];
                out[n].loc = places[r].loc;
                n++;
            }
        }
    }
    return n;
}

static inline int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* credentials = auth-scheme [ 1*SP token68 ]. The token runs to the first whitespace, comma or
 * non-printable byte: token68 in practice, but a sensor should also see malformed tokens. */
int token_bearer(struct span value, struct span *tok)
{
    struct span v = span_trim(value);
    if (v.len < 7 || !span_istarts(v, "bearer") || !is_ws(v.p[6]))
        return 0;
    size_t i = 7;
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
