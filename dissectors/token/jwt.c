/* jwt.c — JWS/JWT compact serialization parser and JWE recogniser.
 *
 * Pipeline: token scan ─► [jwt] ─► verdict. Runs once per distinct token (the verification cache
 * sits in front). Owns nothing: decoded parts, copied claim strings and the decoded signature go
 * into the caller's arena. The header and claims are read with json_scan (no tree: only the
 * members below are kept, as spans, and copied once the document is known to be valid).
 * RFC 7515 §7.1 (JWS compact form: three base64url parts), §4.1 (header parameters), §4.1.11
 * (crit: every listed extension must be understood; we understand only "b64");
 * RFC 7797 §3, §6 (b64:false, honoured only when crit lists it: the payload part is the payload
 * bytes themselves, not base64url, and is not read as claims);
 * RFC 7516 §7.1 (JWE compact form: five parts); RFC 7519 §4.1 (registered claims), §5.2 and
 * RFC 7515 §4.1.10 (cty "JWT": a nested JWT, whose payload is itself a compact JWS or JWE),
 * §7.2 (validating a JWT: header and claims must be JSON objects).
 *
 *   eyJhbGciOi...  .  eyJpc3MiOi...  .  c2lnbmF0dXJl
 *   └─ header ─┘      └─ payload ──┘    └── sig ───┘
 *   └──────── signing_input ───────┘
 */
#include "jwt.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "json_scan.h"

struct part {
    const char *p;
    size_t len;
};

/* Decodes a base64url part into a NUL-terminated arena buffer. Returns 1, 0 when the text is not
 * canonical base64url, -1 when the arena is exhausted. */
static int decode_part(struct arena *a, struct part in, uint8_t **out, size_t *outlen)
{
    uint8_t *buf = arena_alloc(a, b64_decoded_max(in.len) + 1);
    if (!buf)
        return -1;
    long n = b64url_decode(in.p, in.len, buf);
    if (n < 0)
        return 0;
    buf[n] = '\0';
    *out = buf;
    *outlen = (size_t)n;
    return 1;
}

/* The members jwt reads, as json_scan hands them over: the last of a repeated name wins, as
 * it did with jansson (json_loadb without JSON_REJECT_DUPLICATES). p == NULL: absent. */
struct seen {
    /* header */
    struct json_val alg, kid, x5t, x5t256, typ, cty, crit, b64;
    uint8_t has_jwk, has_jku, has_x5u, has_x5c, has_nonce;
    /* claims */
    struct json_val iss, tid, aud, sub, appid, azp, iat, nbf, exp;
};

#define NAME_IS(k, klen, lit) ((klen) == sizeof(lit) - 1 && memcmp((k), (lit), sizeof(lit) - 1) == 0)

static void on_header(void *ctx, const char *k, size_t klen, const struct json_val *v)
{
    struct seen *h = ctx;
    if (!k)
        return;
    if (NAME_IS(k, klen, "alg"))
        h->alg = *v;
    else if (NAME_IS(k, klen, "kid"))
        h->kid = *v;
    else if (NAME_IS(k, klen, "x5t"))
        h->x5t = *v;
    else if (NAME_IS(k, klen, "x5t#S256"))
        h->x5t256 = *v;
    else if (NAME_IS(k, klen, "typ"))
        h->typ = *v;
    else if (NAME_IS(k, klen, "cty"))
        h->cty = *v;
    else if (NAME_IS(k, klen, "crit"))
        h->crit = *v;
    else if (NAME_IS(k, klen, "b64"))
        h->b64 = *v;
    else if (NAME_IS(k, klen, "jwk"))
        h->has_jwk = 1;
    else if (NAME_IS(k, klen, "jku"))
        h->has_jku = 1;
    else if (NAME_IS(k, klen, "x5u"))
        h->has_x5u = 1;
    else if (NAME_IS(k, klen, "x5c"))
        h->has_x5c = 1;
    else if (NAME_IS(k, klen, "nonce"))
        h->has_nonce = 1;
}

static void on_claim(void *ctx, const char *k, size_t klen, const struct json_val *v)
{
    struct seen *c = ctx;
    if (!k)
        return;
    if (NAME_IS(k, klen, "iss"))
        c->iss = *v;
    else if (NAME_IS(k, klen, "tid"))
        c->tid = *v;
    else if (NAME_IS(k, klen, "aud"))
        c->aud = *v;
    else if (NAME_IS(k, klen, "sub"))
        c->sub = *v;
    else if (NAME_IS(k, klen, "appid"))
        c->appid = *v;
    else if (NAME_IS(k, klen, "azp"))
        c->azp = *v;
    else if (NAME_IS(k, klen, "iat"))
        c->iat = *v;
    else if (NAME_IS(k, klen, "nbf"))
        c->nbf = *v;
    else if (NAME_IS(k, klen, "exp"))
        c->exp = *v;
}

/* An arena copy of a string value, decoded; NULL when absent or not a string. Sets *oom on
 * arena exhaustion so callers can check once after a block of copies. */
static const char *dup_str(struct arena *a, const struct json_val *v, int *oom)
{
    if (!v->p || v->type != JSON_T_STRING)
        return NULL;
    char *s;
    if (!v->escaped) {
        s = arena_strndup(a, v->p, v->len);
    } else {
        s = arena_alloc(a, json_str_len(v) + 1);
        if (s)
            json_str_decode(v, s);
    }
    if (!s)
        *oom = 1;
    return s;
}

/* NumericDate (RFC 7519 §2): seconds, possibly fractional. Reals are truncated; values that do
 * not fit in int64 are treated as absent rather than clamped, since a clamped exp would read as
 * a real (far-future) expiry. (An integer outside int64 never gets here: the document is
 * refused, as jansson refused it.) */
static void get_time(const struct json_val *v, int64_t *out, uint8_t *has)
{
    if (!v->p)
        return;
    if (v->type == JSON_T_INT) {
        *out = v->i;
        *has = 1;
    } else if (v->type == JSON_T_REAL) {
        double d = v->d;
        if (isfinite(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
            *out = (int64_t)d;
            *has = 1;
        }
    }
}

/* RFC 7515 §4.1.11 and RFC 7797 §6: crit must be a non-empty array of distinct strings, each
 * naming a parameter present in this header; the only extension we understand is "b64". b64
 * must be a boolean, and b64:false is honoured only when crit lists "b64" (a recipient that did
 * not understand it would read the payload differently). Sets crit_unknown when any of that
 * fails, b64_false whenever the header says false. */
static void check_crit(const struct seen *h, struct jwt_claims *c)
{
    int lists_b64 = 0;
    if (h->crit.p) {
        c->has_crit = 1;
        size_t pos = 0, n = 0;
        struct json_val v;
        while (json_array_next(&h->crit, &pos, &v)) {
            n++;
            if (!json_str_eq(&v, "b64") || lists_b64 || !h->b64.p)
                c->crit_unknown = 1;
            else
                lists_b64 = 1;
        }
        if (h->crit.type != JSON_T_ARRAY || n == 0)
            c->crit_unknown = 1;
    }
    if (h->b64.p) {
        if (h->b64.type != JSON_T_TRUE && h->b64.type != JSON_T_FALSE)
            c->crit_unknown = 1;
        else if (h->b64.type == JSON_T_FALSE) {
            c->b64_false = 1;
            if (!lists_b64)
                c->crit_unknown = 1;
        }
    }
}

/* The header object's members into c; 1 when it is a JSON object, 0 when not, -1 when the
 * arena is exhausted. */
static int parse_header(struct arena *a, const uint8_t *buf, size_t len, struct jwt_claims *c)
{
    struct seen h;
    memset(&h, 0, sizeof(h));
    if (json_scan_object(buf, len, on_header, &h) != 0)
        return 0;
    int oom = 0;
    c->alg = dup_str(a, &h.alg, &oom);
    c->kid = dup_str(a, &h.kid, &oom);
    c->x5t = dup_str(a, &h.x5t, &oom);
    c->x5t256 = dup_str(a, &h.x5t256, &oom);
    c->typ = dup_str(a, &h.typ, &oom);
    c->cty = dup_str(a, &h.cty, &oom);
    c->has_jwk = h.has_jwk;
    c->has_jku = h.has_jku;
    c->has_x5u = h.has_x5u;
    c->has_x5c = h.has_x5c;
    c->has_nonce = h.has_nonce;
    check_crit(&h, c);
    return oom ? -1 : 1;
}

#define AUD_MAX 16

/* The claims object's members into c; 1, 0 when it is not a JSON object, -1 on arena
 * exhaustion. */
static int parse_claims(struct arena *a, const uint8_t *buf, size_t len, struct jwt_claims *c)
{
    struct seen p;
    memset(&p, 0, sizeof(p));
    if (json_scan_object(buf, len, on_claim, &p) != 0)
        return 0;
    int oom = 0;
    c->iss = dup_str(a, &p.iss, &oom);
    c->tid = dup_str(a, &p.tid, &oom);
    c->sub = dup_str(a, &p.sub, &oom);
    c->appid = dup_str(a, &p.appid, &oom);
    c->azp = dup_str(a, &p.azp, &oom);
    /* aud (RFC 7519 §4.1.3): a string or an array of strings; non-string elements are skipped,
     * at most AUD_MAX values kept (a token is not a place to store an unbounded list): the
     * first strings among the first... elements, as many as min(elements, AUD_MAX). */
    const struct json_val *aud = &p.aud;
    size_t n = 0, pos = 0;
    struct json_val v;
    if (aud->p && aud->type == JSON_T_STRING)
        n = 1;
    else if (aud->p && aud->type == JSON_T_ARRAY)
        while (json_array_next(aud, &pos, &v))
            n++;
    size_t cap = n < AUD_MAX ? n : AUD_MAX;
    const char **auds = cap ? arena_alloc(a, cap * sizeof(*auds)) : NULL;
    if (cap && !auds)
        oom = 1;
    pos = 0;
    for (size_t i = 0; auds && i < n && c->naud < cap; i++) {
        if (aud->type == JSON_T_STRING)
            v = *aud;
        else if (!json_array_next(aud, &pos, &v))
            break;
        if (v.type != JSON_T_STRING)
            continue;
        int o = 0;
        const char *s = dup_str(a, &v, &o);
        if (o) {
            oom = 1;
            break;
        }
        auds[c->naud++] = s;
    }
    if (c->naud) {
        c->auds = auds;
        c->aud = auds[0];
    }
    get_time(&p.iat, &c->iat, &c->has_iat);
    get_time(&p.nbf, &c->nbf, &c->has_nbf);
    get_time(&p.exp, &c->exp, &c->has_exp);
    return oom ? -1 : 1;
}

/* RFC 7515 §4.1.10: a media type without '/' stands for "application/" + it, and media types
 * compare case-insensitively; RFC 7519 §5.2 asks for "JWT" in a nested JWT. */
static int cty_is_jwt(const char *cty)
{
    if (!cty)
        return 0;
    if (strncasecmp(cty, "application/", 12) == 0)
        cty += 12;
    return strcasecmp(cty, "jwt") == 0;
}

/* Is p[0..n) a compact JWS (3 parts) or JWE (5 parts): header starting "eyJ", every part in
 * the base64url alphabet? */
static int compact_token(const uint8_t *p, size_t n)
{
    size_t parts = 1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.')
            parts++;
        else if (!b64url_valid((const char *)p + i, 1))
            return 0;
    }
    return (parts == 3 || parts == 5) && n >= 3 && memcmp(p, "eyJ", 3) == 0;
}

enum { JWS_OOM = -1, JWS_NOT_OURS = 0, JWS_DONE = 1 };

/* The JWS-looking path. pay_b64: the payload part is in the base64url alphabet; when it is not,
 * only a header that says b64:false (RFC 7797) makes the text a JWS, anything else is not ours.
 * Header fields are filled as soon as the header parses, signing_input and the signature once
 * header and signature decode, even when a later step marks the token malformed: a JWS with a
 * non-JSON payload (RFC 7520 §4) is still verifiable, and alg/kid help explain a malformed
 * finding. With b64:false, signing_input is still the text as sent (RFC 7797 §3): header "."
 * payload bytes. */
static int parse_jws(const uint8_t *tok, struct part pt[3], int pay_b64, struct arena *a,
                     struct jwt *out)
{
    uint8_t *hdr, *pay, *sig;
    size_t hlen, plen, slen;
    int r;

    out->type = JWT_TYPE_JWT;
    if ((r = decode_part(a, pt[0], &hdr, &hlen)) <= 0) {
        out->malformed = 1;
        out->error = "header is not valid base64url";
        return r < 0 ? JWS_OOM : pay_b64 ? JWS_DONE : JWS_NOT_OURS;
    }
    r = parse_header(a, hdr, hlen, &out->c);
    if (r < 0)
        return JWS_OOM;
    if (r == 0) {
        out->malformed = 1;
        out->error = "header is not a JSON object";
        return pay_b64 ? JWS_DONE : JWS_NOT_OURS;
    }
    if (!pay_b64 && !out->c.b64_false)
        return JWS_NOT_OURS;
    if ((r = decode_part(a, pt[2], &sig, &slen)) <= 0) {
        out->malformed = 1;
        out->error = "signature is not valid base64url";
        return r < 0 ? JWS_OOM : JWS_DONE;
    }
    out->sig = sig;
    out->sig_len = slen;
    out->signing_input = tok;
    out->signing_input_len = pt[0].len + 1 + pt[1].len;

    int nested = cty_is_jwt(out->c.cty);
    if (out->c.b64_false) {
        /* The payload bytes are what was sent: nothing to decode and no claims set. A compact
         * JWS cannot carry a token (it would contain '.') unencoded. */
        if (nested) {
            out->malformed = 1;
            out->error = "nested JWT with an unencoded payload";
        }
        return JWS_DONE;
    }
    if ((r = decode_part(a, pt[1], &pay, &plen)) <= 0) {
        out->malformed = 1;
        out->error = "payload is not valid base64url";
        return r < 0 ? JWS_OOM : JWS_DONE;
    }
    if (nested) {
        /* The decoded payload is the inner token (already an arena copy); the caller judges
         * it, here it only has to have the shape of one. */
        if (!compact_token(pay, plen)) {
            out->malformed = 1;
            out->error = "nested JWT payload is not a compact JWS or JWE";
            return JWS_DONE;
        }
        out->inner = pay;
        out->inner_len = plen;
        return JWS_DONE;
    }
    r = parse_claims(a, pay, plen, &out->c);
    if (r == 0) {
        out->malformed = 1;
        out->error = "payload is not a JSON object";
    }
    return r < 0 ? JWS_OOM : JWS_DONE;
}

int jwt_parse(const uint8_t *tok, size_t len, struct arena *a, struct jwt *out)
{
    memset(out, 0, sizeof(*out));
    out->type = JWT_TYPE_OPAQUE;

    struct part pt[5];
    size_t n = 0, start = 0;
    for (;;) {
        const uint8_t *dot = start < len ? memchr(tok + start, '.', len - start) : NULL;
        size_t i = dot ? (size_t)(dot - tok) : len;
        if (n == 5) { /* a sixth part: neither JWS nor JWE */
            n = 6;
            break;
        }
        pt[n].p = (const char *)tok + start;
        pt[n].len = i - start;
        n++;
        if (!dot)
            break;
        start = i + 1;
    }
    if (n == 5) {
        out->type = JWT_TYPE_JWE;
        return 0;
    }
    if (n != 3)
        return 0;
    /* "eyJ" is base64url of '{"', how every real JOSE header begins; anything else with two
     * dots (hostnames, version strings) is not ours to call malformed. */
    if (pt[0].len < 3 || memcmp(pt[0].p, "eyJ", 3) != 0)
        return 0;
    if (!b64url_valid(pt[0].p, pt[0].len) || !b64url_valid(pt[2].p, pt[2].len))
        return 0;
    int r = parse_jws(tok, pt, b64url_valid(pt[1].p, pt[1].len), a, out);
    if (r != JWS_DONE) {
        /* Not a JWS after all, or out of arena: leave nothing that points at a half-filled
         * arena state. */
        memset(out, 0, sizeof(*out));
        out->type = JWT_TYPE_OPAQUE;
        return r == JWS_OOM ? -1 : 0;
    }
    return 0;
}

const char *jwt_type_name(enum jwt_type t)
{
    switch (t) {
    case JWT_TYPE_JWT:
        return "jwt";
    case JWT_TYPE_JWE:
        return "jwe";
    case JWT_TYPE_OPAQUE:
        return "opaque";
    }
    return "opaque";
}
