/* token_body.c — finds tokens in a request target's query, in form bodies, in JSON bodies and in
 * JSON messages that carry credentials (token_scan_json_auth: GraphQL over WebSocket).
 *
 * Pipeline: applayer (http1/http2, after body decoding) ─► [token scan] ─► verdict. The public
 * functions are declared in include/token.h next to the head scanners of token.c. Input is a
 * span the caller owns (the target, or a de-chunked, decompressed body); output refs point into
 * it, or into the caller's arena for values that had to be decoded (percent-encoding, JSON
 * escapes). Owns nothing; allocates only from that arena, and only for values that can be
 * tokens (a listed name, or a decoded value starting "eyJ"), so a big body costs no memory.
 *
 * Not parsers: lenient single passes that never fail, because the server decides what it
 * accepts and a sensor should see at least as much as the server does.
 * RFC 3986 §3.4 (query), WHATWG URL "application/x-www-form-urlencoded" parsing (pairs on '&',
 * '+' as space, invalid %-escapes kept), RFC 8259 §7 (JSON strings), RFC 6749 §5.1 (token
 * endpoint response members), RFC 6750 §2.2/§2.3 (form and query access_token), RFC 8693 §2.1
 * (subject_token, actor_token), RFC 7523 §2.1/§2.2 (assertion, client_assertion).
 */
#include "token.h"

#include "hex.h"

/* Decodes `in` into out[0..cap); returns the decoded length, or cap + 1 once the output would
 * pass cap (so a caller can decode just a prefix, or learn that a name is too long to match).
 * Decoding never lengthens: with cap >= in.len the whole value always fits. */
typedef size_t (*decode_fn)(struct span in, uint8_t *out, size_t cap);

/* Longest name worth decoding for comparison: every listed name is shorter. */
enum { NAME_MAX_DECODED = 24 };

static const char *const query_names[] = {"access_token", "id_token", "token", NULL};
static const char *const form_names[] = {"id_token",      "access_token",     "assertion",
                                         "client_assertion", "subject_token", "actor_token",
                                         "refresh_token", "token",            NULL};
static const char *const json_names[] = {"access_token", "id_token", "refresh_token", "token",
                                         NULL};
/* Credential members of JSON messages (token_scan_json_auth), compared in any letter case. */
static const char *const json_auth_names[] = {"access_token", "id_token",  "refresh_token",
                                              "token",        "accesstoken", "authtoken",
                                              "auth_token",   "authorization", "jwt",
                                              NULL};

/* '+' is a space; "%XX" a byte; a '%' not followed by two hex digits stays as it is, as
 * servers (and the WHATWG parser) keep it. */
size_t token_pct_decode(struct span in, uint8_t *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < in.len && o <= cap; i++, o++) {
        uint8_t c = in.p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && in.len - i >= 3) {
            int hi = hex_digit(in.p[i + 1]), lo = hex_digit(in.p[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = (uint8_t)(hi << 4 | lo);
                i += 2;
            }
        }
        if (o < cap)
            out[o] = c;
    }
    return o;
}

/* RFC 8259 §7 escapes. \uXXXX below 0x80 becomes its byte (so "\u0065yJ" cannot hide a token);
 * any other \uXXXX is kept as its six characters: tokens are ASCII, so such a value is no JWT
 * and an opaque named value is still recognisable (its text then differs from what a JSON
 * parser would produce, which only matters for non-ASCII secrets). An unknown escape keeps its
 * backslash. */
static size_t json_unescape(struct span in, uint8_t *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < in.len && o <= cap; i++, o++) {
        uint8_t c = in.p[i];
        if (c == '\\' && in.len - i >= 2) {
            uint8_t d = in.p[i + 1];
            int esc = 1;
            switch (d) {
            case '"': case '\\': case '/': c = d; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u':
                esc = 0;
                if (in.len - i >= 6 && in.p[i + 2] == '0' && in.p[i + 3] == '0') {
                    int hi = hex_digit(in.p[i + 4]), lo = hex_digit(in.p[i + 5]);
                    if (hi >= 0 && hi < 8 && lo >= 0) {
                        c = (uint8_t)(hi << 4 | lo);
                        i += 4;
                        esc = 1;
                    }
                }
                break;
            default:
                esc = 0;
            }
            i += (size_t)esc;
        }
        if (o < cap)
            out[o] = c;
    }
    return o;
}

static int name_listed_case(struct span name, int encoded, decode_fn dec,
                            const char *const *names, int icase)
{
    uint8_t buf[NAME_MAX_DECODED];
    if (encoded) {
        size_t len = dec(name, buf, sizeof(buf));
        if (len > sizeof(buf))
            return 0;
        name = span_make(buf, len);
    }
    for (size_t i = 0; names[i]; i++)
        if (icase ? span_ieq(name, names[i]) : span_eq(name, names[i]))
            return 1;
    return 0;
}

static int name_listed(struct span name, int encoded, decode_fn dec, const char *const *names)
{
    return name_listed_case(name, encoded, dec, names, 0);
}

/* Reports one value: a listed name's value when non-empty, any other value when it is a JWT.
 * An encoded value is decoded into the arena, but an unnamed one only after its first three
 * decoded bytes are "eyJ" (every other value would be decoded for nothing). An arena at its
 * limit drops the value, like any memcap. */
static size_t consider(struct span raw, int encoded, int named, decode_fn dec,
                       enum token_location loc, struct arena *a, struct token_ref *out, size_t n,
                       size_t max)
{
    if (raw.len == 0)
        return n;
    struct span v = raw;
    if (encoded) {
        uint8_t pre[3];
        if (!named && (dec(raw, pre, 3) < 3 || memcmp(pre, "eyJ", 3) != 0))
            return n;
        uint8_t *buf = a ? arena_alloc(a, raw.len) : NULL;
        if (!buf)
            return n;
        v = span_make(buf, dec(raw, buf, raw.len));
    }
    if (named ? v.len > 0 : token_is_jwt(v))
        n = token_ref_add(out, n, max, v, loc);
    return n;
}

static inline int has_pct(struct span s)
{
    return s.len && (memchr(s.p, '%', s.len) || memchr(s.p, '+', s.len));
}

/* name=value pairs separated by '&' or ';' (the HTML 4 alternative some servers still split
 * on). A pair without '=' has no value and cannot carry a token. */
static size_t scan_pairs(struct span s, const char *const *names, enum token_location loc,
                         struct arena *a, struct token_ref *out, size_t max)
{
    size_t n = 0, i = 0;
    while (i < s.len && n < max) {
        size_t end = i;
        while (end < s.len && s.p[end] != '&' && s.p[end] != ';')
            end++;
        const uint8_t *eq = memchr(s.p + i, '=', end - i);
        if (eq) {
            struct span name = span_make(s.p + i, (size_t)(eq - (s.p + i)));
            struct span val = span_make(eq + 1, (size_t)(s.p + end - eq - 1));
            int named = name_listed(name, has_pct(name), token_pct_decode, names);
            n = consider(val, has_pct(val), named, token_pct_decode, loc, a, out, n, max);
        }
        i = end + 1;
    }
    return n;
}

/* The query is what follows the first '?' up to a '#' (RFC 3986 §3.4, §3.5: a '#' before any
 * '?' starts a fragment, and a '?' inside a fragment opens no query). A request target normally
 * has no fragment, but some clients send one. Returns 0 without a query. */
size_t token_scan_query(struct span target, struct arena *a, struct token_ref *out, size_t max)
{
    if (!target.len)
        return 0;
    const uint8_t *hash = memchr(target.p, '#', target.len);
    if (hash)
        target.len = (size_t)(hash - target.p);
    const uint8_t *q = target.len ? memchr(target.p, '?', target.len) : NULL;
    if (!q)
        return 0;
    struct span query = span_make(q + 1, (size_t)(target.p + target.len - q - 1));
    return scan_pairs(query, query_names, TOKEN_LOC_QUERY, a, out, max);
}

/* Trailing whitespace is dropped first: clients that end a form body with CRLF would otherwise
 * glue it to the last value. */
size_t token_scan_form(struct span body, enum token_location loc, struct arena *a,
                       struct token_ref *out, size_t max)
{
    while (body.len && (body.p[body.len - 1] == '\r' || body.p[body.len - 1] == '\n' ||
                        body.p[body.len - 1] == ' ' || body.p[body.len - 1] == '\t'))
        body.len--;
    return scan_pairs(body, form_names, loc, a, out, max);
}

/* Index of the quote that closes a string whose contents start at `from`, or 0 when the string
 * is not closed within b (0 cannot be a closing quote: an opening one precedes `from`). A quote
 * ends the string when an even number of backslashes precede it; each backslash run is counted
 * once, for the quote right after it, so the search stays linear. */
static size_t string_end(struct span b, size_t from)
{
    size_t i = from;
    while (i < b.len) {
        const uint8_t *q = memchr(b.p + i, '"', b.len - i);
        if (!q)
            return 0;
        size_t k = (size_t)(q - b.p), bs = 0;
        while (k - bs > from && b.p[k - bs - 1] == '\\')
            bs++;
        if (bs % 2 == 0)
            return k;
        i = k + 1;
    }
    return 0;
}

static size_t skip_ws(struct span b, size_t i)
{
    while (i < b.len && (b.p[i] == ' ' || b.p[i] == '\t' || b.p[i] == '\r' || b.p[i] == '\n'))
        i++;
    return i;
}

/* A JSON string value of a credential-carrying message (token_scan_json_auth): decoded like
 * consider() does (an unnamed escaped value only when it starts "eyJ" or "Bearer"), then a
 * "Bearer <token>" value gives <token>, and any other "<scheme> <credentials>" counts only when
 * the credentials are a JWT. */
static size_t consider_auth(struct span raw, int escaped, int named, enum token_location loc,
                            struct arena *a, struct token_ref *out, size_t n, size_t max)
{
    if (raw.len == 0)
        return n;
    struct span v = raw;
    if (escaped) {
        uint8_t pre[6];
        size_t k = json_unescape(raw, pre, sizeof(pre));
        struct span ps = span_make(pre, k < sizeof(pre) ? k : sizeof(pre));
        if (!named && !(ps.len >= 3 && memcmp(pre, "eyJ", 3) == 0) &&
            !span_istarts(ps, "bearer"))
            return n;
        uint8_t *buf = a ? arena_alloc(a, raw.len) : NULL;
        if (!buf)
            return n;
        v = span_make(buf, json_unescape(raw, buf, raw.len));
    }
    struct span tok;
    if (span_ieq(v, "bearer"))
        return n; /* the scheme without its credentials */
    if (token_bearer(v, &tok)) {
        v = tok;
    } else {
        size_t sp = v.len;
        while (sp && v.p[sp - 1] != ' ' && v.p[sp - 1] != '\t')
            sp--;
        if (sp) { /* another scheme: only a JWT after it */
            v = span_make(v.p + sp, v.len - sp);
            named = 0;
        }
    }
    if (named ? v.len > 0 : token_is_jwt(v))
        n = token_ref_add(out, n, max, v, loc);
    return n;
}

/* One pass from string literal to string literal (memchr between them). A string followed by
 * ':' is a member name; it names the value only when a string comes right after the ':' (any
 * other value — number, object, array — ends its claim, so no depth stack is needed: nested
 * members are named by their own names). An unterminated string ends the scan: a token cut by
 * a body limit is not the token that was sent. Every byte is looked at a bounded number of
 * times, so the work is O(body.len) for any input. */
static size_t scan_json(struct span body, enum token_location loc, int auth, struct arena *a,
                        struct token_ref *out, size_t max)
{
    size_t n = 0, i = 0;
    int named = 0; /* the next string is the value of a listed member */
    while (i < body.len && n < max) {
        const uint8_t *q = memchr(body.p + i, '"', body.len - i);
        if (!q)
            break;
        size_t from = (size_t)(q - body.p) + 1, end = string_end(body, from);
        if (!end)
            break;
        struct span raw = span_make(body.p + from, end - from);
        int escaped = raw.len && memchr(raw.p, '\\', raw.len) != NULL;
        i = skip_ws(body, end + 1);
        if (i < body.len && body.p[i] == ':') {
            i = skip_ws(body, i + 1);
            named = i < body.len && body.p[i] == '"' &&
                    name_listed_case(raw, escaped, json_unescape,
                                     auth ? json_auth_names : json_names, auth);
            continue;
        }
        if (auth)
            n = consider_auth(raw, escaped, named, loc, a, out, n, max);
        else
            n = consider(raw, escaped, named, json_unescape, loc, a, out, n, max);
        named = 0;
    }
    return n;
}

size_t token_scan_json(struct span body, enum token_location loc, struct arena *a,
                       struct token_ref *out, size_t max)
{
    return scan_json(body, loc, 0, a, out, max);
}

size_t token_scan_json_auth(struct span msg, enum token_location loc, struct arena *a,
                            struct token_ref *out, size_t max)
{
    return scan_json(msg, loc, 1, a, out, max);
}
