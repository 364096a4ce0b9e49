/* keystore_key.h — one trusted key as the key store holds it (struct ks_key), apart from the
 * store itself so that jwk.c, which builds one from a JWK, and keystore.c, which walks the JWKS
 * documents and calls jwk.c, do not depend on each other (tests/include_graph.py).
 * The strings and the EVP_PKEY belong to the key store that holds the key (keystore.h).
 */
#ifndef TW_KEYSTORE_KEY_H
#define TW_KEYSTORE_KEY_H

#include <stdint.h>
#include <openssl/evp.h>

enum ks_kty { KS_KTY_RSA = 1, KS_KTY_EC, KS_KTY_OKP };

struct ks_keyset;

struct ks_key {
    const char *kid;        /* JWK kid, or NULL */
    const char *x5t;        /* JWK x5t member, or computed from x5c (base64url SHA-1), or NULL */
    const char *x5t256;     /* x5t#S256 member or computed from x5c, or NULL */
    const char *cert_sha1;  /* lower-case hex SHA-1 of the x5c[0] DER, or NULL */
    const char *jkt;        /* RFC 7638 thumbprint, base64url SHA-256; always set */
    const char *issuer;     /* the JWK's own `issuer` member (may hold "{tenantid}"), or NULL */
    const char *alg;        /* the JWK's `alg` member, or NULL */
    const char *subject;    /* x5c[0] subject, RFC 2253 one-line form, or NULL */
    enum ks_kty kty;
    int curve_nid;          /* EC/OKP: the curve's NID (struct curve.nid, curve.h); 0 for RSA */
    int bits;               /* key size in bits */
    EVP_PKEY *pkey;
    int has_validity;       /* from x5c[0]: notBefore/notAfter, Unix seconds */
    int64_t not_before, not_after;
    /* History kept by `tokenwatch keys update` in the JWK's own "x-tokenwatch" member: when the
     * provider's document first and last listed the key (Unix seconds, 0 when unknown), and
     * whether it has left the document (retired: still trusted, for tokens issued while it was
     * live; `keys show` says "retired"). */
    int retired;
    int64_t first_seen, last_seen;
    const struct ks_keyset *set;
};

#endif
