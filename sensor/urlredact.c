/* urlredact.c — no token text in http.url (see urlredact.h). RFC 3986 §2.1 (percent-encoding),
 * §3.4 (query); application/x-www-form-urlencoded decoding ('+' is a space) as servers apply it
 * to query strings.
 */
#include "urlredact.h"

#include <string.h>

#include "parse.h"
#include "token.h"

/* Overwrites every JWT-shaped run ("eyJ" + base64url, two dots) of a NUL-terminated copy with
 * "[jwt]", shifting the rest left: a token in a query string must not reach http.url raw (the
 * token itself is reported, hashed, through its own record when extracted). */
static void redact_jwts(char *u)
{
    static const char mark[] = "[jwt]";
    char *w = u;
    for (char *r = u; *r;) {
        if (r[0] == 'e' && r[1] == 'y' && r[2] == 'J') {
            char *e = r;
            int dots = 0;
            while ((*e >= 'A' && *e <= 'Z') || (*e >= 'a' && *e <= 'z') ||
                   (*e >= '0' && *e <= '9') || *e == '-' || *e == '_' || *e == '.')
                dots += *e++ == '.';
            if (dots >= 2 && e - r >= 16) {
                memcpy(w, mark, sizeof(mark) - 1);
                w += sizeof(mark) - 1;
                r = e;
                continue;
            }
        }
        *w++ = *r++;
    }
    *w = '\0';
}

/* The URL for EVE with the values of token-carrying query parameters replaced by "[redacted]":
 * the same rule as token_scan_query (access_token, id_token, token; any value that decodes to a
 * JWT), so no token the scanner reports, encoded or not, reaches http.url. Arena copy; the
 * input itself if there is nothing to redact; NULL when the arena is full. */
static const char *redact_query(struct arena *a, const char *url)
{
    const char *q = strchr(url, '?');
    if (!q)
        return url;
    size_t len = strlen(url), pairs = 1;
    for (const char *c = q; *c; c++)
        pairs += *c == '&' || *c == ';';
    char *out = arena_alloc(a, len + 10 * pairs + 1);
    uint8_t *tmp = arena_alloc(a, len + 1);
    if (!out || !tmp)
        return NULL;
    size_t o = (size_t)(q - url) + 1;
    memcpy(out, url, o);
    const char *p = q + 1, *end = strchr(p, '#');
    if (!end)
        end = url + len;
    while (p < end) {
        const char *amp = p;
        while (amp < end && *amp != '&' && *amp != ';')
            amp++;
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        int hide = 0;
        if (eq && eq + 1 < amp) {
            size_t nl = token_pct_decode(span_make(p, (size_t)(eq - p)), tmp, len + 1);
            struct span name = span_make(tmp, nl);
            hide = span_ieq(name, "access_token") || span_ieq(name, "id_token") ||
                   span_ieq(name, "token");
            if (!hide) {
                struct span v = span_make(eq + 1, (size_t)(amp - eq - 1));
                size_t vl = token_pct_decode(v, tmp, len + 1);
                hide = token_is_jwt(span_make(tmp, vl));
            }
        }
        size_t keep = hide ? (size_t)(eq + 1 - p) : (size_t)(amp - p);
        memcpy(out + o, p, keep);
        o += keep;
        if (hide) {
            memcpy(out + o, "[redacted]", 10);
            o += 10;
        }
        if (amp < end)
            out[o++] = *amp;
        p = amp + 1;
    }
    size_t rest = strlen(end);
    memcpy(out + o, end, rest);
    out[o + rest] = '\0';
    return out;
}

const char *url_redact(struct arena *a, const char *url)
{
    const char *u = redact_query(a, url);
    if (u && strstr(u, "eyJ")) {
        char *copy = arena_strndup(a, u, strlen(u));
        if (copy)
            redact_jwts(copy);
        u = copy;
    }
    return u;
}
