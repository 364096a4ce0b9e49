/* urlredact.c — no credential in any logged string (see urlredact.h). RFC 3986 §2.1
 * (percent-encoding), §3.2.1 (userinfo), §3.3 (path parameters), §3.4 and §3.5 (query,
 * fragment; `;` also separates pairs, as HTML 4 servers split); RFC 6750 §2.1 (Bearer);
 * RFC 7515 §7.1, RFC 7516 §7.1 (JWS / JWE compact serialisation).
 *
 * One left-to-right pass over the bytes decides every replacement; it runs twice when something
 * is found, first to measure, then to write, so the copy is allocated at its exact size. Each
 * byte is looked at a bounded number of times (a parameter value once more to decide whether it
 * holds a JWT, a URL authority once more to find its '@'): linear time, no backtracking.
 */
#include "urlredact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hex.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MARK "[redacted]"
#define MARK_JWT "[jwt]"

/* Names whose values are credentials: OAuth 2.0 / OIDC (RFC 6749, 7636, 8628, 8693, OIDC
 * Core), OAuth 1.0a, SAML bindings, URL session ids (Java, PHP, ColdFusion, generic), API keys
 * and URL signatures (S3 / GCS presigned URLs, Azure SAS `sig`), CAS tickets. Not listed, since
 * they are no credential and analysts need them: state, nonce, RelayState, SAMLRequest,
 * client_id, redirect_uri, X-Amz-Credential (an access key id, not its secret). */
#define NAME(s) {s, sizeof(s) - 1}
static const struct secret_name {
    const char *s;
    size_t n; /* its length: only names of the decoded name's length are compared */
} secret_names[] = {
    NAME("access_token"), NAME("id_token"), NAME("refresh_token"), NAME("token"),
    NAME("id_token_hint"), NAME("client_secret"), NAME("client_assertion"), NAME("assertion"),
    NAME("code"), NAME("code_verifier"), NAME("device_code"), NAME("user_code"),
    NAME("subject_token"), NAME("actor_token"), NAME("password"), NAME("passwd"), NAME("pwd"),
    NAME("pass"), NAME("secret"), NAME("auth"), NAME("api_key"), NAME("apikey"), NAME("api-key"),
    NAME("key"), NAME("access_key"), NAME("private_token"), NAME("oauth_token"),
    NAME("oauth_signature"), NAME("oauth_verifier"), NAME("samlresponse"), NAME("samlart"),
    NAME("ticket"), NAME("jsessionid"), NAME("phpsessid"), NAME("sid"), NAME("session"),
    NAME("sessionid"), NAME("session_id"), NAME("cftoken"), NAME("sig"), NAME("signature"),
    NAME("x-amz-signature"), NAME("x-amz-security-token"), NAME("x-goog-signature"), {NULL, 0},
};
#undef NAME
#define NAME_MAX_DECODED 32

enum { ST_PATH, ST_QUERY, ST_FRAG };

/* Character classes. Plain functions rather than a table: a table filled at run time would be
 * shared state between worker threads. */
static inline int is_alnum(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* base64url (RFC 4648 §5) or '.', the JOSE part separator */
static inline int is_run(uint8_t c)
{
    return is_alnum(c) || c == '-' || c == '_' || c == '.';
}

/* token68 (RFC 9110 §11.2), and '%': a token in a URL is percent-encoded */
static inline int is_t68(uint8_t c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' ||
           c == '=' || c == '%';
}

static inline int is_space_ctl(uint8_t c)
{
    return c <= ' ' || c == 0x7f;
}

/* ends a URL authority (browsers also end it at '\\') */
static inline int is_auth_end(uint8_t c)
{
    return is_space_ctl(c) || c == '/' || c == '?' || c == '#' || c == '\\' || c == '"' ||
           c == '<' || c == '>';
}

static inline int is_name_end(uint8_t c)
{
    return is_space_ctl(c) || c == '=' || c == '&' || c == ';' || c == '#' || c == '?' ||
           c == '/' || c == '"';
}

struct out {
    char *buf;   /* NULL: measure only */
    size_t len, cap, nred;
    /* The end of the last parameter value examined and kept. A separator inside it (a '?' in a
     * query value, a '#' in a fragment) starts a pair whose value ends there too and, being a
     * suffix of a value without a JWT, holds none: remembering this keeps "?a=?a=?a=…" linear. */
    size_t kept_end;
};

static void put(struct out *o, const uint8_t *p, size_t n)
{
    if (o->buf && o->len < o->cap)
        memcpy(o->buf + o->len, p, n < o->cap - o->len ? n : o->cap - o->len);
    o->len += n;
}

static void mark(struct out *o, const char *m)
{
    put(o, (const uint8_t *)m, strlen(m));
    o->nred++;
}

/* The byte at s[i] as a server decodes it (%XX: that byte) and in *w how many bytes it took:
 * a token whose letters or dots are percent-encoded is still a token. */
static uint8_t dec_at(const uint8_t *s, size_t n, size_t i, size_t *w)
{
    if (s[i] == '%' && n - i >= 3) {
        int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
        if (hi >= 0 && lo >= 0) {
            *w = 3;
            return (uint8_t)(hi << 4 | lo);
        }
    }
    *w = 1;
    return s[i];
}

/* Finds "eyJ" followed, to the end of its run, by at least two dots and 16 characters in all.
 * The first "eyJ" of a run is the only candidate that matters: any later one has fewer dots
 * and characters after it. Fed one character at a time; a run break resets it. */
struct jwt_find {
    size_t first, dots, chars, pos1, pos2, found;
    uint8_t p1, p2;
};

static void jf_reset(struct jwt_find *j, size_t none)
{
    j->first = none;
    j->dots = j->chars = j->pos1 = j->pos2 = 0;
    j->p1 = j->p2 = 0;
}

static void jf_feed(struct jwt_find *j, uint8_t c, size_t pos, size_t none)
{
    if (j->first == none && j->p2 == 'e' && j->p1 == 'y' && c == 'J') {
        j->first = j->pos2;
        j->chars = 2;
    }
    if (j->first != none) {
        j->chars++;
        j->dots += c == '.';
    }
    j->p2 = j->p1;
    j->pos2 = j->pos1;
    j->p1 = c;
    j->pos1 = pos;
}

/* at a run break: keeps the earliest qualifying start */
static void jf_end(struct jwt_find *j, size_t none)
{
    if (j->first != none && j->dots >= 2 && j->chars >= 16 && j->first < j->found)
        j->found = j->first;
    jf_reset(j, none);
}

/* The run of base64url characters, dots and '%' that starts at i; returns where it ends. *jwt
 * gets where a JWS/JWE inside it starts, or n: looked for twice, in the bytes as they are (what
 * a reader of the log sees) and percent-decoded (what the server saw: "%2E" dots, "%65yJ"),
 * where an escape that decodes to anything else breaks the run. */
static size_t scan_run(const uint8_t *s, size_t n, size_t i, size_t *jwt)
{
    size_t raw_found = n; /* where a JWT starts in the bytes as they are, n: none */
    size_t e = i, w;
    int pct = 0;
    for (; e < n && (is_run(s[e]) || s[e] == '%'); e++)
        pct |= s[e] == '%';
    /* As bytes: the first "eyJ" of the run, with what follows it to the run's end (jf_feed one
     * byte at a time finds the same; this is the hot path, every logged URL goes through it). */
    const uint8_t *f = e - i >= 3 ? memmem(s + i, e - i, "eyJ", 3) : NULL;
    if (f && e - (size_t)(f - s) >= 16) {
        size_t dots = 0;
        for (const uint8_t *d = f; dots < 2 && (d = memchr(d, '.', (size_t)(s + e - d))); d++)
            dots++;
        if (dots >= 2)
            raw_found = (size_t)(f - s);
    }
    if (!pct) { /* nothing percent-encoded: the decoded view is the same bytes */
        *jwt = raw_found;
        return e;
    }
    struct jwt_find dec;
    jf_reset(&dec, n);
    dec.found = n;
    for (size_t k = i; k < e; k += w) {
        uint8_t c = dec_at(s, e, k, &w);
        if (is_run(c))
            jf_feed(&dec, c, k, n);
        else
            jf_end(&dec, n);
    }
    jf_end(&dec, n);
    *jwt = raw_found < dec.found ? raw_found : dec.found;
    return e;
}

static int holds_jwt(const uint8_t *s, size_t n)
{
    size_t i = 0, jwt;
    while (i < n) {
        if (is_run(s[i]) || s[i] == '%') {
            i = scan_run(s, n, i, &jwt);
            if (jwt < n)
                return 1;
        } else {
            i++;
        }
    }
    return 0;
}

static int name_listed(const uint8_t *s, size_t n)
{
    char name[NAME_MAX_DECODED];
    size_t k = 0, w;
    for (size_t i = 0; i < n; i += w) {
        uint8_t c = dec_at(s, n, i, &w);
        if (k == sizeof(name))
            return 0;
        name[k++] = c == '+' ? ' ' : (char)c;
    }
    for (size_t i = 0; secret_names[i].s; i++)
        if (secret_names[i].n == k && !strncasecmp(name, secret_names[i].s, k))
            return 1;
    return 0;
}

static int value_end(uint8_t c, int state)
{
    switch (c) {
    case '&': case ';': return 1;
    case '#': return state != ST_FRAG;
    case '/': case '?': return state == ST_PATH; /* ;jsessionid=X/ or ;jsessionid=X?q */
    default: return is_space_ctl(c) || c == '"';
    }
}

/* The run at i (scan_run, ending by n): written as it is up to a JWT in it, which becomes
 * [jwt]. Returns where the run ends. */
static size_t put_run(struct out *o, const uint8_t *s, size_t n, size_t i)
{
    size_t jwt, e = scan_run(s, n, i, &jwt);
    if (jwt < n) {
        put(o, s + i, jwt - i);
        mark(o, MARK_JWT);
    } else {
        put(o, s + i, e - i);
    }
    return e;
}

/* The name s[i..e) of a parameter whose value is being replaced: written as it is, but for a
 * JWT in it (a token used as the name, "?<jwt>=1"), which is replaced as anywhere else. */
static void put_name(struct out *o, const uint8_t *s, size_t i, size_t e)
{
    while (i < e) {
        if (is_run(s[i]) || s[i] == '%') {
            i = put_run(o, s, e, i);
        } else {
            put(o, s + i, 1);
            i++;
        }
    }
}

/* At i, just after a ? & ; or #: NAME=value with a listed NAME or a value holding a JWT becomes
 * NAME=[redacted]. Returns where to go on (i when nothing was replaced). */
static size_t param(struct out *o, const uint8_t *s, size_t n, size_t i, int state)
{
    size_t e = i;
    while (e < n && e - i <= 3 * NAME_MAX_DECODED && !is_name_end(s[e]))
        e++;
    if (e == i || e >= n || s[e] != '=')
        return i;
    size_t v = e + 1, ve = v;
    int inside = v < o->kept_end;
    if (inside)
        ve = o->kept_end;
    while (ve < n && !value_end(s[ve], state))
        ve++;
    if (ve == v)
        return i;
    if (!name_listed(s + i, e - i) && (inside || !holds_jwt(s + v, ve - v))) {
        o->kept_end = ve;
        return i;
    }
    put_name(o, s, i, e);
    put(o, s + e, 1); /* '=' */
    mark(o, MARK);
    return ve;
}

/* At i, just after "://": userinfo (up to the authority's last '@', as browsers take it)
 * becomes [redacted]. */
static size_t userinfo(struct out *o, const uint8_t *s, size_t n, size_t i)
{
    size_t e = i, at = n;
    for (; e < n && !is_auth_end(s[e]); e++)
        if (s[e] == '@')
            at = e;
    if (at == n || at == i)
        return i;
    mark(o, MARK);
    return at;
}

/* At i, a word start: "Bearer" (any case), then spaces, tabs, '+' or %20, then a token68 run
 * keeps the scheme and hides the credentials. */
static size_t bearer(struct out *o, const uint8_t *s, size_t n, size_t i)
{
    if (n - i < 7 || strncasecmp((const char *)s + i, "bearer", 6) != 0)
        return i;
    size_t e = i + 6;
    for (;;) {
        if (e < n && (s[e] == ' ' || s[e] == '\t' || s[e] == '+'))
            e++;
        else if (n - e >= 3 && s[e] == '%' && s[e + 1] == '2' && s[e + 2] == '0')
            e += 3;
        else
            break;
    }
    size_t t = e;
    while (t < n && is_t68(s[t]))
        t++;
    if (e == i + 6 || t == e)
        return i;
    put(o, s + i, e - i);
    mark(o, MARK);
    return t;
}

/* The bytes at which needs_work() looks closer; every other byte costs one table load. */
static const uint8_t pre_byte[256] = {
    ['='] = 1, ['@'] = 1, ['%'] = 1, ['J'] = 1, ['b'] = 1, ['B'] = 1,
};

/* Whether the '=' at s[q] ends a listed NAME that param() can be handed: the name runs back
 * from q to the nearest byte that ends a name, which must be one of the separators after
 * which redact() calls param(). Called only while no '%' has been seen before q, so the name
 * is its own decoded form but for '+' (name_listed() decodes that). */
static int listed_param_at(const uint8_t *s, size_t q)
{
    size_t st = q;
    while (st > 0 && q - st <= NAME_MAX_DECODED && !is_name_end(s[st - 1]))
        st--;
    if (st == 0 || st == q || q - st > NAME_MAX_DECODED)
        return 0;
    uint8_t sep = s[st - 1];
    if (sep != '?' && sep != '&' && sep != ';' && sep != '#')
        return 0;
    return name_listed(s + st, q - st);
}

/* Whether the byte at s[i], one pre_byte[] marks, starts something redact() may replace. */
static int pre_hit(const uint8_t *s, size_t n, size_t i)
{
    switch (s[i]) {
    case '@': case '%':
        return 1;
    case 'J':
        return i >= 2 && s[i - 2] == 'e' && s[i - 1] == 'y';
    case '=':
        return listed_param_at(s, i);
    case 'b': case 'B':
        return n - i >= 6 && !strncasecmp((const char *)s + i, "bearer", 6);
    }
    return 0;
}

/* 0 when redact() cannot replace anything in s, so the bytes are kept as they are. Every
 * replacement needs one of: '@' (userinfo), '%' (a percent-encoded name or JWT), "eyJ" (a JWT),
 * "bearer", or a listed NAME before '=' (a parameter whose value holds no JWT is only replaced
 * for its name; one that holds a JWT has "eyJ" or '%'). A superset of what redact() replaces:
 * the differential test in test_urlredact holds it to that. */
static int needs_work(const uint8_t *s, size_t n)
{
    size_t i = 0;
#ifdef __SSE2__
    /* Sixteen bytes a step: a mask of the bytes pre_byte[] marks ('b' and 'B' as x | 0x20),
     * each looked at in order as below. */
    const __m128i eq = _mm_set1_epi8('='), at = _mm_set1_epi8('@'), pc = _mm_set1_epi8('%'),
                  jj = _mm_set1_epi8('J'), bb = _mm_set1_epi8('b'), lc = _mm_set1_epi8(0x20);
    for (; n - i >= 16; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, eq), _mm_cmpeq_epi8(x, at)),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, pc), _mm_cmpeq_epi8(x, jj)));
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_or_si128(x, lc), bb));
        for (unsigned m = (unsigned)_mm_movemask_epi8(hit); m; m &= m - 1)
            if (pre_hit(s, n, i + (size_t)__builtin_ctz(m)))
                return 1;
    }
#endif
    for (; i < n; i++)
        if (pre_byte[s[i]] && pre_hit(s, n, i))
            return 1;
    return 0;
}

static void redact(struct out *o, const uint8_t *s, size_t n)
{
    int state = ST_PATH;
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == '?' || c == '#' || c == '&' || c == ';') {
            put(o, s + i, 1);
            if (c == '?' && state == ST_PATH)
                state = ST_QUERY;
            else if (c == '#')
                state = ST_FRAG;
            i = param(o, s, n, i + 1, state);
            continue;
        }
        if (c == ':' && n - i >= 3 && s[i + 1] == '/' && s[i + 2] == '/') {
            put(o, s + i, 3);
            i = userinfo(o, s, n, i + 3);
            continue;
        }
        if ((c | 0x20) == 'b' && (i == 0 || !is_alnum(s[i - 1]))) {
            size_t e = bearer(o, s, n, i);
            if (e != i) {
                i = e;
                continue;
            }
        }
        if (is_run(c) || c == '%') {
            i = put_run(o, s, n, i);
            continue;
        }
        put(o, s + i, 1);
        i++;
    }
}

static size_t redact_buf(const char *s, size_t n, char *out, size_t cap, size_t *nred,
                         int check)
{
    struct out o = {out, 0, out ? cap : 0, 0, 0};
    if (!check || needs_work((const uint8_t *)s, n)) {
        redact(&o, (const uint8_t *)s, n);
    } else {
        put(&o, (const uint8_t *)s, n);
    }
    if (nred)
        *nred = o.nred;
    return o.len;
}

size_t url_redact_buf(const char *s, size_t n, char *out, size_t cap, size_t *nred)
{
    return redact_buf(s, n, out, cap, nred, 1);
}

size_t url_redact_buf_unchecked(const char *s, size_t n, char *out, size_t cap, size_t *nred)
{
    return redact_buf(s, n, out, cap, nred, 0);
}

const char *url_redact(struct arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s), nred;
    size_t len = url_redact_buf(s, n, NULL, 0, &nred);
    if (!nred)
        return s;
    char *copy = arena_alloc(a, len + 1);
    if (!copy)
        return NULL;
    url_redact_buf(s, n, copy, len, NULL);
    copy[len] = '\0';
    return copy;
}

const char *url_redact_host(struct arena *a, struct span h)
{
    for (size_t i = h.len; i > 0; i--)
        if (h.p[i - 1] == '@') {
            h = span_make(h.p + i, h.len - i);
            break;
        }
    if (h.len && h.p[0] == '[') { /* [v6]:port */
        const uint8_t *e = memchr(h.p, ']', h.len);
        if (e)
            h = span_make(h.p + 1, (size_t)(e - h.p - 1));
    } else {
        const uint8_t *c = memchr(h.p, ':', h.len);
        if (c)
            h.len = (size_t)(c - h.p);
    }
    const char *host = arena_strndup(a, h.p, h.len);
    return host ? url_redact(a, host) : NULL;
}

void url_redact_jb(struct jb *j, const char *key, const char *s)
{
    size_t n = strlen(s), nred;
    size_t len = url_redact_buf(s, n, NULL, 0, &nred);
    if (!nred) {
        jb_strn(j, key, s, n);
        return;
    }
    char small[256];
    char *buf = len <= sizeof(small) ? small : malloc(len);
    if (!buf) {
        jb_str(j, key, MARK);
        return;
    }
    url_redact_buf(s, n, buf, len, NULL);
    jb_strn(j, key, buf, len);
    if (buf != small)
        free(buf);
}
