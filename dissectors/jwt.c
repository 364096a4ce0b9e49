/* jwt.c — JWS/JWT compact serialization parser and JWE recogniser.
 *
 * Pipeline: token scan ─► [jwt] ─► verdict. Runs once per distinct token (the verification cache
 * sits in front). Owns nothing: decoded parts, copied claim strings and the decoded signature go
 * into the caller's arena; jansson's objects live only inside jwt_parse().
 * RFC 7515 §7.1 (JWS compact form: three base64url parts), §4.1 (header parameters);
 * RFC 7516 §7.1 (JWE compact form: five parts); RFC 7519 §4.1 (registered claims), §7.2
 * (validating a JWT: header and claims must be JSON objects).
 *
 *   eyJhbGciOi...  .  eyJpc3MiOi...  .  c2lnbmF0dXJl
 *   └─ header ─┘      └─ payload ──┘    └── sig ───┘
 *   └──────── signing_input ───────┘
 */
#include "jwt.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

#include "b64.h"

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

/* An arena copy of member `key` when it is a JSON string; NULL otherwise. Sets *oom on arena
 * exhaustion so callers can check once after a block of copies. */
static const char *dup_str(struct arena *a, json_t *obj, const char *key, int *oom)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return NULL;
    char *s = arena_strndup(a, json_string_value(v), json_string_length(v));
    if (!s)
        *oom = 1;
    return s;
}

/* NumericDate (RFC 7519 §2): seconds, possibly fractional. Reals are truncated; values that do
 * not fit in int64 are treated as absent rather than clamped, since a clamped exp would read as
 * a real (far-future) expiry. */
static void get_time(json_t *obj, const char *key, int64_t *out, uint8_t *has)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        *has = 1;
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (isfinite(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
            *out = (int64_t)d;
            *has = 1;
        }
    }
}

static json_t *load_object(const uint8_t *buf, size_t len)
{
    json_error_t jerr;
    /* Flags 0: jansson rejects invalid UTF-8 and \u0000, so every string we keep is printable
     * as JSON later without re-validation. */
    json_t *root = json_loadb((const char *)buf, len, 0, &jerr);
    if (root && !json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int parse_header(struct arena *a, json_t *h, struct jwt_claims *c)
{
    int oom = 0;
    c->alg = dup_str(a, h, "alg", &oom);
    c->kid = dup_str(a, h, "kid", &oom);
    c->x5t = dup_str(a, h, "x5t", &oom);
    c->typ = dup_str(a, h, "typ", &oom);
    c->has_jwk = json_object_get(h, "jwk") != NULL;
    c->has_jku = json_object_get(h, "jku") != NULL;
    c->has_x5u = json_object_get(h, "x5u") != NULL;
    c->has_x5c = json_object_get(h, "x5c") != NULL;
    c->has_nonce = json_object_get(h, "nonce") != NULL;
    c->has_crit = json_object_get(h, "crit") != NULL;
    return oom ? -1 : 0;
}

static int parse_claims(struct arena *a, json_t *p, struct jwt_claims *c)
{
    int oom = 0;
    c->iss = dup_str(a, p, "iss", &oom);
    c->tid = dup_str(a, p, "tid", &oom);
    c->sub = dup_str(a, p, "sub", &oom);
    c->appid = dup_str(a, p, "appid", &oom);
    c->azp = dup_str(a, p, "azp", &oom);
    json_t *aud = json_object_get(p, "aud");
    if (json_is_string(aud)) {
        c->aud = dup_str(a, p, "aud", &oom);
    } else if (json_is_array(aud)) {
        size_t i;
        json_t *v;
        json_array_foreach(aud, i, v) {
            if (json_is_string(v)) {
                c->aud = arena_strndup(a, json_string_value(v), json_string_length(v));
                if (!c->aud)
                    oom = 1;
                break;
            }
        }
    }
    get_time(p, "iat", &c->iat, &c->has_iat);
    get_time(p, "nbf", &c->nbf, &c->has_nbf);
    get_time(p, "exp", &c->exp, &c->has_exp);
    return oom ? -1 : 0;
}

/* The JWS-looking path. signing_input and the signature are filled as soon as the three parts
 * decode, and header fields as soon as the header parses, even when a later step marks the token
 * malformed: a JWS with a non-JSON payload (RFC 7520 §4) is still verifiable, and the header's
 * alg/kid help explain a malformed finding. */
static int parse_jws(const uint8_t *tok, struct part pt[3], struct arena *a, struct jwt *out)
{
    uint8_t *hdr, *pay;
    size_t hlen, plen;
    int r;

    out->type = JWT_TYPE_JWT;
    if ((r = decode_part(a, pt[0], &hdr, &hlen)) <= 0) {
        out->malformed = 1;
        out->error = "header is not valid base64url";
        return r;
    }
    if ((r = decode_part(a, pt[1], &pay, &plen)) <= 0) {
        out->malformed = 1;
        out->error = "payload is not valid base64url";
        return r;
    }
    if ((r = decode_part(a, pt[2], &out->sig, &out->sig_len)) <= 0) {
        out->sig = NULL;
        out->sig_len = 0;
        out->malformed = 1;
        out->error = "signature is not valid base64url";
        return r;
    }
    out->signing_input = tok;
    out->signing_input_len = pt[0].len + 1 + pt[1].len;

    json_t *h = load_object(hdr, hlen);
    if (!h) {
        out->malformed = 1;
        out->error = "header is not a JSON object";
        return 0;
    }
    r = parse_header(a, h, &out->c);
    json_decref(h);
    if (r < 0)
        return -1;

    json_t *p = load_object(pay, plen);
    if (!p) {
        out->malformed = 1;
        out->error = "payload is not a JSON object";
        return 0;
    }
    r = parse_claims(a, p, &out->c);
    json_decref(p);
    return r;
}

int jwt_parse(const uint8_t *tok, size_t len, struct arena *a, struct jwt *out)
{
    memset(out, 0, sizeof(*out));
    out->type = JWT_TYPE_OPAQUE;

    struct part pt[5];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || tok[i] == '.') {
            if (n == 5) { /* a sixth part: neither JWS nor JWE */
                n = 6;
                break;
            }
            pt[n].p = (const char *)tok + start;
            pt[n].len = i - start;
            n++;
            start = i + 1;
        }
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
    for (int k = 0; k < 3; k++)
        if (!b64url_valid(pt[k].p, pt[k].len))
            return 0;
    int r = parse_jws(tok, pt, a, out);
    if (r < 0) {
        /* Leave nothing that points at a half-filled arena state. */
        memset(out, 0, sizeof(*out));
        out->type = JWT_TYPE_OPAQUE;
        return -1;
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
