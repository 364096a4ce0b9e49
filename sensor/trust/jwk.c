/* jwk.c — one JSON Web Key to an OpenSSL public key plus the identifiers we match on.
 *
 * Pipeline: start-up/reload only (config ─► keystore ─► [jwk]); never per packet. Builds the
 * EVP_PKEY with OSSL_PARAM_BLD + EVP_PKEY_fromdata (no deprecated RSA_/EC_KEY APIs), reads the
 * first x5c certificate for its validity window, subject and thumbprints, and computes the
 * RFC 7638 thumbprint. Everything it returns is heap-owned by the struct ks_key it fills.
 * RFC 7517 §4 (members: kty, use, key_ops §4.3, alg, kid, x5c, x5t, x5t#S256), RFC 7518 §6.2.1
 * (EC x/y, full field length), §6.3.1 (RSA n/e, no leading zeros), RFC 8037 §2 (OKP Ed25519,
 * Ed448), RFC 7638 §3 (thumbprint), RFC 5280 §4.1.2.4 (subject), §4.1.2.5 (validity).
 */
#include "jwk.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "curve.h"
#include "hex.h"

/* Caps that keep a hostile JWKS (or the fuzzer) from making start-up slow; real keys are far
 * below them (RSA 2048-4096, certificates of 1-2 KiB). */
enum { MAX_RSA_BYTES = 1024, MAX_CERT_TEXT = 65536, MIN_RSA_BITS = 2048 };

static int skip(char *why, size_t whylen, const char *reason)
{
    snprintf(why, whylen, "%s", reason);
    return JWK_SKIPPED;
}

/* Optional string member: 1 present, 0 absent, -1 present but not a string (a broken JWK). */
static int opt_str(json_t *jwk, const char *name, const char **out)
{
    json_t *v = json_object_get(jwk, name);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 1;
}

/* Decodes a key-material member leniently (providers publish padded or standard-alphabet
 * base64). Returns a malloc'd buffer or NULL (absent, not a string, too long, bad base64). */
static uint8_t *member_bytes(json_t *jwk, const char *name, size_t maxlen, size_t *len)
{
    const char *s;
    if (opt_str(jwk, name, &s) != 1)
        return NULL;
    size_t slen = strlen(s);
    if (slen > maxlen)
        return NULL;
    uint8_t *buf = malloc(b64_decoded_max(slen) + 1);
    if (!buf)
        return NULL;
    long n = b64_decode_lenient(s, slen, buf);
    if (n <= 0) {
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

/* Leading zero octets are not part of an RSA integer's canonical form (RFC 7518 §6.3.1.1),
 * and the thumbprint must not depend on whether a provider included them. */
static const uint8_t *strip_zeros(const uint8_t *p, size_t *len)
{
    while (*len > 1 && p[0] == 0) {
        p++;
        (*len)--;
    }
    return p;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *rsa_key(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen)
{
    EVP_PKEY *pkey = NULL;
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    /* An even modulus or an exponent below 3 or even cannot be a working RSA public key. We do
     * not call EVP_PKEY_public_check here: OpenSSL 3.0 applies the SP 800-56B rules there,
     * which refuse e = 3 keys that JOSE allows. */
    if (bn && be && bld && BN_is_odd(bn) && BN_is_odd(be) && !BN_is_one(be) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
        pkey = from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    return pkey;
}

static EVP_PKEY *ec_key(const struct curve *cv, const uint8_t *x, const uint8_t *y)
{
    uint8_t pt[1 + 2 * 66];
    size_t fl = cv->len;
    pt[0] = 0x04; /* SEC 1 §2.3.3 uncompressed point */
    memcpy(pt + 1, x, fl);
    memcpy(pt + 1 + fl, y, fl);
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, cv->ossl_group, 0) &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * fl))
        pkey = from_params("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    if (pkey) {
        /* Off-curve or small-order points would make every later verification meaningless. */
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        if (!ctx || EVP_PKEY_public_check(ctx) != 1) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
        EVP_PKEY_CTX_free(ctx);
    }
    return pkey;
}

static char *b64url_dup(const uint8_t *p, size_t len)
{
    char *s = malloc(4 * ((len + 2) / 3) + 1);
    if (s)
        b64url_encode(p, len, s);
    return s;
}

static char *hex_dup(const uint8_t *p, size_t len)
{
    char *s = malloc(2 * len + 1);
    if (s)
        hex_encode(p, len, s);
    return s;
}

static char *sha_b64url(const EVP_MD *md, const void *p, size_t len)
{
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (!EVP_Digest(p, len, d, &dlen, md, NULL))
        return NULL;
    return b64url_dup(d, dlen);
}

/* RFC 7638 §3.2: required members only, lexicographic order, no whitespace. The member texts
 * are re-encoded from the decoded bytes so a sloppily encoded JWK gets the thumbprint of its
 * canonical form. crv values come from our own tables and need no JSON escaping. */
static char *thumbprint(enum ks_kty kty, const char *crv, const uint8_t *a, size_t alen,
                        const uint8_t *b, size_t blen)
{
    char *ta = b64url_dup(a, alen), *tb = b ? b64url_dup(b, blen) : NULL;
    char *json = NULL, *out = NULL;
    if (!ta || (b && !tb))
        goto done;
    size_t cap = strlen(ta) + (tb ? strlen(tb) : 0) + 64;
    if (!(json = malloc(cap)))
        goto done;
    int n;
    if (kty == KS_KTY_RSA) /* a = n, b = e */
        n = snprintf(json, cap, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", tb, ta);
    else if (kty == KS_KTY_EC)
        n = snprintf(json, cap, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", crv,
                     ta, tb);
    else
        n = snprintf(json, cap, "{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}", crv, ta);
    if (n > 0 && (size_t)n < cap)
        out = sha_b64url(EVP_sha256(), json, (size_t)n);
done:
    free(ta);
    free(tb);
    free(json);
    return out;
}

/* RFC 4514 one-line form (XN_FLAG_RFC2253 escapes control and non-ASCII bytes, so the text is
 * safe to log). Returns 1 (k->subject set, or left NULL when the name cannot be printed) or 0 on
 * allocation failure. */
static int read_subject(X509 *cert, struct ks_key *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return 0;
    int ok = 1;
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        char *s = malloc(n > 0 ? (size_t)n + 1 : 1);
        if (!s) {
            ok = 0;
        } else {
            if (n > 0)
                memcpy(s, data, (size_t)n);
            s[n > 0 ? n : 0] = '\0';
            k->subject = s;
        }
    }
    BIO_free(bio);
    return ok;
}

static int asn1_to_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return 0;
    *out = (int64_t)timegm(&tm);
    return 1;
}

/* x5c[0] (RFC 7517 §4.7: standard base64 DER, not base64url). Fills validity and thumbprints;
 * x5t/x5t256 only when the JWK did not carry them. Returns JWK_LOADED, JWK_SKIPPED or JWK_NOMEM. */
static int read_x5c(json_t *jwk, struct ks_key *k, char *why, size_t whylen)
{
    json_t *arr = json_object_get(jwk, "x5c");
    if (!arr)
        return JWK_LOADED;
    json_t *first = json_array_get(arr, 0);
    if (!json_is_string(first) || json_string_length(first) > MAX_CERT_TEXT)
        return skip(why, whylen, "x5c is not an array of base64 strings");
    const char *txt = json_string_value(first);
    size_t tlen = json_string_length(first);
    uint8_t *der = malloc(b64_decoded_max(tlen) + 1);
    if (!der)
        return JWK_NOMEM;
    long dlen = b64_decode_lenient(txt, tlen, der);
    const unsigned char *p = der;
    X509 *cert = dlen > 0 ? d2i_X509(NULL, &p, dlen) : NULL;
    int rc = JWK_LOADED;
    if (!cert) {
        rc = skip(why, whylen, "x5c[0] is not a DER certificate");
        goto done;
    }
    /* A certificate for a different key than n/e (or x/y) leaves the key's identity ambiguous:
     * revocation by certificate SHA-1 and the validity window would describe one key while
     * signatures are checked with another, so an attacker could pair a revoked key with an
     * innocent certificate. Such a JWK is refused rather than half-trusted. */
    EVP_PKEY *cpub = X509_get0_pubkey(cert);
    if (!cpub || EVP_PKEY_eq(cpub, k->pkey) != 1) {
        rc = skip(why, whylen, "x5c[0] certifies a different key than the JWK");
        goto done;
    }
    k->has_validity = asn1_to_unix(X509_get0_notBefore(cert), &k->not_before) &&
                      asn1_to_unix(X509_get0_notAfter(cert), &k->not_after);
    uint8_t sha1[20];
    unsigned int mdlen;
    if (!read_subject(cert, k) ||
        !EVP_Digest(der, (size_t)dlen, sha1, &mdlen, EVP_sha1(), NULL) ||
        !(k->cert_sha1 = hex_dup(sha1, sizeof(sha1))) ||
        (!k->x5t && !(k->x5t = b64url_dup(sha1, sizeof(sha1)))) ||
        (!k->x5t256 && !(k->x5t256 = sha_b64url(EVP_sha256(), der, (size_t)dlen))))
        rc = JWK_NOMEM;
done:
    X509_free(cert);
    free(der);
    ERR_clear_error();
    return rc;
}

/* The key material by kty; fills pkey, bits, curve_nid and jkt. */
static int read_material(json_t *jwk, const char *kty, struct ks_key *k, char *why, size_t whylen)
{
    const char *crv = NULL;
    uint8_t *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    int rc = JWK_SKIPPED;

    if (strcmp(kty, "RSA") == 0) {
        k->kty = KS_KTY_RSA;
        a = member_bytes(jwk, "n", 2 * MAX_RSA_BYTES, &alen);
        b = member_bytes(jwk, "e", 64, &blen);
        if (!a || !b) {
            skip(why, whylen, "RSA key without usable n/e");
            goto done;
        }
        const uint8_t *n = strip_zeros(a, &alen), *e = strip_zeros(b, &blen);
        if (alen > MAX_RSA_BYTES || !(k->pkey = rsa_key(n, alen, e, blen))) {
            skip(why, whylen, "RSA n/e do not form a public key");
            goto done;
        }
        k->bits = EVP_PKEY_get_bits(k->pkey);
        if (k->bits < MIN_RSA_BITS) {
            snprintf(why, whylen, "RSA key shorter than %d bits (%d)", MIN_RSA_BITS, k->bits);
            goto done;
        }
        k->jkt = thumbprint(KS_KTY_RSA, NULL, n, alen, e, blen);
    } else if (strcmp(kty, "EC") == 0) {
        k->kty = KS_KTY_EC;
        const struct curve *cv =
            opt_str(jwk, "crv", &crv) == 1 ? curve_by_name(CURVE_KTY_EC, crv) : NULL;
        if (!cv) {
            skip(why, whylen, "EC key on an unsupported curve");
            goto done;
        }
        a = member_bytes(jwk, "x", 256, &alen);
        b = member_bytes(jwk, "y", 256, &blen);
        if (!a || !b || alen != cv->len || blen != cv->len) {
            skip(why, whylen, "EC x/y missing or not the curve's field length");
            goto done;
        }
        if (!(k->pkey = ec_key(cv, a, b))) {
            skip(why, whylen, "EC point is not on the curve");
            goto done;
        }
        k->curve_nid = cv->nid;
        k->bits = EVP_PKEY_get_bits(k->pkey);
        k->jkt = thumbprint(KS_KTY_EC, cv->name, a, alen, b, blen);
    } else if (strcmp(kty, "OKP") == 0) {
        k->kty = KS_KTY_OKP;
        const struct curve *cv =
            opt_str(jwk, "crv", &crv) == 1 ? curve_by_name(CURVE_KTY_OKP, crv) : NULL;
        if (!cv) { /* X25519/X448 are key-agreement curves (RFC 8037 §3.2), never signers */
            skip(why, whylen, "OKP key on a curve other than Ed25519/Ed448");
            goto done;
        }
        a = member_bytes(jwk, "x", 128, &alen);
        if (!a || alen != cv->len ||
            !(k->pkey = EVP_PKEY_new_raw_public_key(cv->nid, NULL, a, alen))) {
            snprintf(why, whylen, "%s x is not %zu bytes", cv->name, cv->len);
            goto done;
        }
        k->curve_nid = cv->nid;
        k->bits = EVP_PKEY_get_bits(k->pkey);
        k->jkt = thumbprint(KS_KTY_OKP, cv->name, a, alen, NULL, 0);
    } else {
        skip(why, whylen, strcmp(kty, "oct") == 0 ? "symmetric (oct) key" : "unsupported kty");
        goto done;
    }
    rc = k->jkt ? JWK_LOADED : JWK_NOMEM;
done:
    free(a);
    free(b);
    ERR_clear_error();
    return rc;
}

/* RFC 7517 §4.3: key_ops, when present, is an array of strings; the key verifies signatures
 * only if it lists "verify". Returns 1 usable, 0 skipped (why set). */
static int key_ops_allow(json_t *jwk, char *why, size_t whylen)
{
    json_t *ops = json_object_get(jwk, "key_ops");
    if (!ops)
        return 1;
    if (!json_is_array(ops)) {
        skip(why, whylen, "key_ops is not an array");
        return 0;
    }
    int verify = 0;
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op) {
        if (!json_is_string(op)) {
            skip(why, whylen, "key_ops holds a non-string");
            return 0;
        }
        verify |= strcmp(json_string_value(op), "verify") == 0;
    }
    if (!verify)
        skip(why, whylen, "key_ops does not include \"verify\"");
    return verify;
}

static int copy_str(json_t *jwk, const char *name, const char **dst)
{
    const char *s;
    if (opt_str(jwk, name, &s) != 1)
        return 1;
    return (*dst = strdup(s)) != NULL;
}

/* A member value as it may appear in a log line: itself when short and plain, else "...". */
static const char *shown(const char *v)
{
    int plain = strlen(v) <= 16;
    for (const char *c = v; plain && *c; c++)
        plain = *c >= 0x21 && *c <= 0x7e && *c != '"' && *c != '\\';
    return plain ? v : "...";
}

/* The IANA "JSON Web Signature and Encryption Algorithms" registry (RFC 7518 §7.1, RFC 8037,
 * RFC 8812, RFC 9864): a JWK `alg` naming one of them is kept (a key-management or encryption
 * algorithm then fits no token alg, as it should); anything else is not an algorithm at all. */
static int registered_alg(const char *a)
{
    static const char *const names[] = {
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
        "PS256", "PS384", "PS512", "none", "EdDSA", "Ed25519", "Ed448", "ES256K",
        "RSA1_5", "RSA-OAEP", "RSA-OAEP-256", "RSA-OAEP-384", "RSA-OAEP-512", "A128KW",
        "A192KW", "A256KW", "dir", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW",
        "ECDH-ES+A256KW", "A128GCMKW", "A192GCMKW", "A256GCMKW", "PBES2-HS256+A128KW",
        "PBES2-HS384+A192KW", "PBES2-HS512+A256KW", "A128CBC-HS256", "A192CBC-HS384",
        "A256CBC-HS512", "A128GCM", "A192GCM", "A256GCM"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i], a) == 0)
            return 1;
    return 0;
}

/* Appends "; "-separated note text to why (truncated to whylen). */
static void add_note(char *why, size_t whylen, const char *text)
{
    size_t n = strlen(why);
    if (n + 3 < whylen)
        snprintf(why + n, whylen - n, "%s%s", n ? "; " : "", text);
}

/* Notes on a loaded key (why is "" on entry): an unregistered `alg` (dropped, so the key
 * serves every algorithm its type fits: a 2014 Azure AD key set says "SHA256"), and key
 * material in standard base64 or padded where RFC 7518 asks for base64url (accepted). */
static void notes(json_t *jwk, struct ks_key *k, char *why, size_t whylen)
{
    char text[96];
    if (k->alg && !registered_alg(k->alg)) {
        snprintf(text, sizeof(text), "alg \"%s\" is not a JOSE algorithm: ignored",
                 shown(k->alg));
        add_note(why, whylen, text);
        free((char *)k->alg);
        k->alg = NULL;
    }
    static const char *const material[] = {"n", "e", "x", "y"};
    for (size_t i = 0; i < sizeof(material) / sizeof(material[0]); i++) {
        const char *v;
        if (opt_str(jwk, material[i], &v) == 1 && strpbrk(v, "+/= \t\r\n")) {
            snprintf(text, sizeof(text), "%s is standard or padded base64, not base64url: accepted",
                     material[i]);
            add_note(why, whylen, text);
        }
    }
}

/* "2026-12-03T09:40:00Z" -> Unix seconds; 0 when absent or not in that form. */
static int64_t history_time(json_t *hist, const char *name)
{
    const char *v = json_string_value(json_object_get(hist, name));
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    char z = 0;
    if (!v || sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 || z != 'Z')
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

/* "x-tokenwatch": {"first_seen": T, "last_seen": T, "retired": true}, tokenwatch's own member
 * (RFC 7517 §4: unknown members are ignored by others), written by `keys update`. */
static void read_history(json_t *jwk, struct ks_key *out)
{
    json_t *hist = json_object_get(jwk, "x-tokenwatch");
    if (!json_is_object(hist))
        return;
    out->retired = json_is_true(json_object_get(hist, "retired"));
    out->first_seen = history_time(hist, "first_seen");
    out->last_seen = history_time(hist, "last_seen");
}

int jwk_to_key(json_t *jwk, struct ks_key *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    if (why && whylen)
        why[0] = '\0';
    if (!json_is_object(jwk))
        return skip(why, whylen, "key is not a JSON object");

    const char *kty, *use, *s;
    if (opt_str(jwk, "kty", &kty) != 1)
        return skip(why, whylen, "missing or non-string kty");
    if (opt_str(jwk, "use", &use) < 0)
        return skip(why, whylen, "use is not a string");
    if (use && strcmp(use, "sig") != 0) {
        /* the value is shown only when it is short and plain (it ends up in start-up logs) */
        snprintf(why, whylen, "use is \"%s\", not \"sig\"", shown(use));
        return JWK_SKIPPED;
    }
    if (!key_ops_allow(jwk, why, whylen))
        return JWK_SKIPPED;
    static const char *const str_members[] = {"kid", "x5t", "x5t#S256", "alg", "issuer"};
    for (size_t i = 0; i < sizeof(str_members) / sizeof(str_members[0]); i++)
        if (opt_str(jwk, str_members[i], &s) < 0)
            return skip(why, whylen, "a kid/x5t/x5t#S256/alg/issuer member is not a string");

    int rc = read_material(jwk, kty, out, why, whylen);
    if (rc == JWK_LOADED &&
        !(copy_str(jwk, "kid", &out->kid) && copy_str(jwk, "x5t", &out->x5t) &&
          copy_str(jwk, "x5t#S256", &out->x5t256) && copy_str(jwk, "alg", &out->alg) &&
          copy_str(jwk, "issuer", &out->issuer)))
        rc = JWK_NOMEM;
    if (rc == JWK_LOADED)
        rc = read_x5c(jwk, out, why, whylen);
    if (rc != JWK_LOADED)
        jwk_key_clear(out);
    else
        read_history(jwk, out);
    if (rc == JWK_LOADED && why && whylen)
        notes(jwk, out, why, whylen);
    return rc;
}

void jwk_key_clear(struct ks_key *k)
{
    free((char *)k->kid);
    free((char *)k->x5t);
    free((char *)k->x5t256);
    free((char *)k->cert_sha1);
    free((char *)k->jkt);
    free((char *)k->issuer);
    free((char *)k->alg);
    free((char *)k->subject);
    EVP_PKEY_free(k->pkey);
    memset(k, 0, sizeof(*k));
}
