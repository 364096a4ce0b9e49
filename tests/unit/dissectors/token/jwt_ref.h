/* jwt_ref.h — TEST ONLY: the jwt dissector as it was before json_scan, parsing the JOSE header
 * and the claims with jansson (json_loadb, flags 0) and a tree. Kept as the reference that
 * test_jwt_json.c and fuzz_jwt_json.c compare jwt_parse() with, field by field: the new reader
 * must give identical struct jwt results. Not built into anything but those two.
 */
#ifndef TW_TEST_JWT_REF_H
#define TW_TEST_JWT_REF_H

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "b64.h"
#include "jwt.h"

struct ref_part {
    const char *p;
    size_t len;
};

/* Decodes a base64url ref_part into a NUL-terminated arena buffer. Returns 1, 0 when the text is not
 * canonical base64url, -1 when the arena is exhausted. */
static int ref_decode_part(struct arena *a, struct ref_part in, uint8_t **out, size_t *outlen)
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
static const char *ref_dup_str(struct arena *a, json_t *obj, const char *key, int *oom)
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
static void ref_get_time(json_t *obj, const char *key, int64_t *out, uint8_t *has)
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

static json_t *ref_load_object(const uint8_t *buf, size_t len)
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

/* RFC 7515 §4.1.11 and RFC 7797 §6: crit must be a non-empty array of distinct strings, each
 * naming a parameter present in this header; the only extension we understand is "b64". b64
 * must be a boolean, and b64:false is honoured only when crit lists "b64" (a recipient that did
 * not understand it would read the payload differently). Sets crit_unknown when any of that
 * fails, b64_false whenever the header says false. */
static void ref_check_crit(json_t *h, struct jwt_claims *c)
{
    json_t *crit = json_object_get(h, "crit");
    json_t *b64 = json_object_get(h, "b64");
    int lists_b64 = 0;
    if (crit) {
        c->has_crit = 1;
        if (!json_is_array(crit) || json_array_size(crit) == 0)
            c->crit_unknown = 1;
        size_t i;
        json_t *v;
        json_array_foreach(crit, i, v) {
            if (!json_is_string(v) || strcmp(json_string_value(v), "b64") != 0 || lists_b64 ||
                !json_object_get(h, json_string_value(v)))
                c->crit_unknown = 1;
            else
                lists_b64 = 1;
        }
    }
    if (b64) {
        if (!json_is_boolean(b64))
            c->crit_unknown = 1;
        else if (json_is_false(b64)) {
            c->b64_false = 1;
            if (!lists_b64)
                c->crit_unknown = 1;
        }
    }
}

static int ref_parse_header(struct arena *a, json_t *h, struct jwt_claims *c)
{
    int oom = 0;
    c->alg = ref_dup_str(a, h, "alg", &oom);
    c->kid = ref_dup_str(a, h, "kid", &oom);
    c->x5t = ref_dup_str(a, h, "x5t", &oom);
    c->x5t256 = ref_dup_str(a, h, "x5t#S256", &oom);
    c->typ = ref_dup_str(a, h, "typ", &oom);
    c->cty = ref_dup_str(a, h, "cty", &oom);
    c->has_jwk = json_object_get(h, "jwk") != NULL;
    c->has_jku = json_object_get(h, "jku") != NULL;
    c->has_x5u = json_object_get(h, "x5u") != NULL;
    c->has_x5c = json_object_get(h, "x5c") != NULL;
    c->has_nonce = json_object_get(h, "nonce") != NULL;
    ref_check_crit(h, c);
    return oom ? -1 : 0;
}

#define REF_AUD_MAX 16

static int ref_parse_claims(struct arena *a, json_t *p, struct jwt_claims *c)
{
    int oom = 0;
    c->iss = ref_dup_str(a, p, "iss", &oom);
    c->tid = ref_dup_str(a, p, "tid", &oom);
    c->sub = ref_dup_str(a, p, "sub", &oom);
    c->appid = ref_dup_str(a, p, "appid", &oom);
    c->azp = ref_dup_str(a, p, "azp", &oom);
    /* aud (RFC 7519 §4.1.3): a string or an array of strings; non-string elements are skipped,
     * at most REF_AUD_MAX values kept (a token is not a place to store an unbounded list). */
    json_t *aud = json_object_get(p, "aud");
    size_t n = json_is_string(aud) ? 1 : json_is_array(aud) ? json_array_size(aud) : 0;
    size_t cap = n < REF_AUD_MAX ? n : REF_AUD_MAX;
    const char **auds = cap ? arena_alloc(a, cap * sizeof(*auds)) : NULL;
    if (cap && !auds)
        oom = 1;
    for (size_t i = 0; auds && i < n && c->naud < cap; i++) {
        json_t *v = json_is_string(aud) ? aud : json_array_get(aud, i);
        if (!json_is_string(v))
            continue;
        const char *s = arena_strndup(a, json_string_value(v), json_string_length(v));
        if (!s) {
            oom = 1;
            break;
        }
        auds[c->naud++] = s;
    }
    if (c->naud) {
        c->auds = auds;
        c->aud = auds[0];
    }
    ref_get_time(p, "iat", &c->iat, &c->has_iat);
    ref_get_time(p, "nbf", &c->nbf, &c->has_nbf);
    ref_get_time(p, "exp", &c->exp, &c->has_exp);
    return oom ? -1 : 0;
}

/* RFC 7515 §4.1.10: a media type without '/' stands for "application/" + it, and media types
 * compare case-insensitively; RFC 7519 §5.2 asks for "JWT" in a nested JWT. */
static int ref_cty_is_jwt(const char *cty)
{
    if (!cty)
        return 0;
    if (strncasecmp(cty, "application/", 12) == 0)
        cty += 12;
    return strcasecmp(cty, "jwt") == 0;
}

/* Is p[0..n) a compact JWS (3 parts) or JWE (5 parts): header starting "eyJ", every ref_part in
 * the base64url alphabet? */
static int ref_compact_token(const uint8_t *p, size_t n)
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

enum { REF_OOM = -1, REF_NOT_OURS = 0, REF_DONE = 1 };

/* The JWS-looking path. pay_b64: the payload ref_part is in the base64url alphabet; when it is not,
 * only a header that says b64:false (RFC 7797) makes the text a JWS, anything else is not ours.
 * Header fields are filled as soon as the header parses, signing_input and the signature once
 * header and signature decode, even when a later step marks the token malformed: a JWS with a
 * non-JSON payload (RFC 7520 §4) is still verifiable, and alg/kid help explain a malformed
 * finding. With b64:false, signing_input is still the text as sent (RFC 7797 §3): header "."
 * payload bytes. */
static int ref_parse_jws(const uint8_t *tok, struct ref_part pt[3], int pay_b64, struct arena *a,
                     struct jwt *out)
{
    uint8_t *hdr, *pay, *sig;
    size_t hlen, plen, slen;
    int r;

    out->type = JWT_TYPE_JWT;
    if ((r = ref_decode_part(a, pt[0], &hdr, &hlen)) <= 0) {
        out->malformed = 1;
        out->error = "header is not valid base64url";
        return r < 0 ? REF_OOM : pay_b64 ? REF_DONE : REF_NOT_OURS;
    }
    json_t *h = ref_load_object(hdr, hlen);
    if (!h) {
        out->malformed = 1;
        out->error = "header is not a JSON object";
        return pay_b64 ? REF_DONE : REF_NOT_OURS;
    }
    r = ref_parse_header(a, h, &out->c);
    json_decref(h);
    if (r < 0)
        return REF_OOM;
    if (!pay_b64 && !out->c.b64_false)
        return REF_NOT_OURS;
    if ((r = ref_decode_part(a, pt[2], &sig, &slen)) <= 0) {
        out->malformed = 1;
        out->error = "signature is not valid base64url";
        return r < 0 ? REF_OOM : REF_DONE;
    }
    out->sig = sig;
    out->sig_len = slen;
    out->signing_input = tok;
    out->signing_input_len = pt[0].len + 1 + pt[1].len;

    int nested = ref_cty_is_jwt(out->c.cty);
    if (out->c.b64_false) {
        /* The payload bytes are what was sent: nothing to decode and no claims set. A compact
         * JWS cannot carry a token (it would contain '.') unencoded. */
        if (nested) {
            out->malformed = 1;
            out->error = "nested JWT with an unencoded payload";
        }
        return REF_DONE;
    }
    if ((r = ref_decode_part(a, pt[1], &pay, &plen)) <= 0) {
        out->malformed = 1;
        out->error = "payload is not valid base64url";
        return r < 0 ? REF_OOM : REF_DONE;
    }
    if (nested) {
        /* The decoded payload is the inner token (already an arena copy); the caller judges
         * it, here it only has to have the shape of one. */
        if (!ref_compact_token(pay, plen)) {
            out->malformed = 1;
            out->error = "nested JWT payload is not a compact JWS or JWE";
            return REF_DONE;
        }
        out->inner = pay;
        out->inner_len = plen;
        return REF_DONE;
    }
    json_t *p = ref_load_object(pay, plen);
    if (!p) {
        out->malformed = 1;
        out->error = "payload is not a JSON object";
        return REF_DONE;
    }
    r = ref_parse_claims(a, p, &out->c);
    json_decref(p);
    return r < 0 ? REF_OOM : REF_DONE;
}

static int ref_jwt_parse(const uint8_t *tok, size_t len, struct arena *a, struct jwt *out)
{
    memset(out, 0, sizeof(*out));
    out->type = JWT_TYPE_OPAQUE;

    struct ref_part pt[5];
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || tok[i] == '.') {
            if (n == 5) { /* a sixth ref_part: neither JWS nor JWE */
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
    if (!b64url_valid(pt[0].p, pt[0].len) || !b64url_valid(pt[2].p, pt[2].len))
        return 0;
    int r = ref_parse_jws(tok, pt, b64url_valid(pt[1].p, pt[1].len), a, out);
    if (r != REF_DONE) {
        /* Not a JWS after all, or out of arena: leave nothing that points at a half-filled
         * arena state. */
        memset(out, 0, sizeof(*out));
        out->type = JWT_TYPE_OPAQUE;
        return r == REF_OOM ? -1 : 0;
    }
    return 0;
}


static int ref_streq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* 0 when the two results are identical (strings by value, spans by position); otherwise
 * prints the first difference to stderr (with `what` naming the input) and returns 1. */
static int jwt_ref_compare(const struct jwt *x, const struct jwt *y, const char *what)
{
    const struct jwt_claims *a = &x->c, *b = &y->c;
    const char *d = NULL;
    if (x->type != y->type) d = "type";
    else if (x->malformed != y->malformed) d = "malformed";
    else if (!ref_streq(x->error, y->error)) d = "error";
    else if (!ref_streq(a->alg, b->alg)) d = "alg";
    else if (!ref_streq(a->kid, b->kid)) d = "kid";
    else if (!ref_streq(a->x5t, b->x5t)) d = "x5t";
    else if (!ref_streq(a->typ, b->typ)) d = "typ";
    else if (!ref_streq(a->x5t256, b->x5t256)) d = "x5t#S256";
    else if (!ref_streq(a->cty, b->cty)) d = "cty";
    else if (a->has_jwk != b->has_jwk || a->has_jku != b->has_jku || a->has_x5u != b->has_x5u ||
             a->has_x5c != b->has_x5c || a->has_nonce != b->has_nonce) d = "header presence";
    else if (a->has_crit != b->has_crit || a->crit_unknown != b->crit_unknown ||
             a->b64_false != b->b64_false) d = "crit/b64";
    else if (!ref_streq(a->iss, b->iss)) d = "iss";
    else if (!ref_streq(a->tid, b->tid)) d = "tid";
    else if (!ref_streq(a->aud, b->aud)) d = "aud";
    else if (!ref_streq(a->sub, b->sub)) d = "sub";
    else if (!ref_streq(a->appid, b->appid)) d = "appid";
    else if (!ref_streq(a->azp, b->azp)) d = "azp";
    else if (a->naud != b->naud || (a->auds == NULL) != (b->auds == NULL)) d = "naud";
    else if (a->has_iat != b->has_iat || a->iat != b->iat) d = "iat";
    else if (a->has_nbf != b->has_nbf || a->nbf != b->nbf) d = "nbf";
    else if (a->has_exp != b->has_exp || a->exp != b->exp) d = "exp";
    else if (x->signing_input != y->signing_input || x->signing_input_len != y->signing_input_len)
        d = "signing_input";
    else if (x->sig_len != y->sig_len || (x->sig_len && memcmp(x->sig, y->sig, x->sig_len) != 0))
        d = "sig";
    else if (x->inner_len != y->inner_len || (x->inner == NULL) != (y->inner == NULL) ||
             (x->inner_len && memcmp(x->inner, y->inner, x->inner_len) != 0))
        d = "inner";
    for (size_t i = 0; !d && i < a->naud; i++)
        if (!ref_streq(a->auds[i], b->auds[i]))
            d = "auds[i]";
    if (d)
        fprintf(stderr, "jwt_ref: %s differs for %s\n", d, what);
    return d != NULL;
}

#endif
