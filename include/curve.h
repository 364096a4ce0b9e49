/* curve.h — the signature curves a key may be on, in one table: the JWK loader reads a `crv`
 * through it (OpenSSL group, field and key lengths), the verifier names the curve each ES* and
 * Ed* algorithm wants, and check-token prints a key's `crv` from it.
 *
 * RFC 7518 §6.2.1.1 (P-256, P-384, P-521: EC x/y and JWS r/s are each the field length),
 * RFC 8037 §2 (Ed25519, Ed448: OKP x is the raw public key). X25519/X448 are key-agreement
 * curves (RFC 8037 §3.2), never signers, and are not here.
 */
#ifndef TW_CURVE_H
#define TW_CURVE_H

#include <stddef.h>

#include "keystore.h"

enum curve_id { CURVE_NONE = 0, CURVE_P256, CURVE_P384, CURVE_P521, CURVE_ED25519, CURVE_ED448 };

struct curve {
    const char *name;       /* the JWK crv value, as printed */
    enum ks_kty kty;        /* KS_KTY_EC or KS_KTY_OKP */
    const char *ossl_group; /* EC: OpenSSL's group name; OKP: NULL */
    int nid;                /* EC: the group's NID; OKP: the key type (NID == EVP_PKEY id) */
    size_t len;             /* EC: field length in bytes; OKP: raw public key length */
};

/* The curve with that id; NULL for CURVE_NONE or anything out of range. Static storage. */
const struct curve *curve_get(enum curve_id id);

/* The curve a JWK of type kty names by crv (exact, case-sensitive, as RFC 7518 §6.2.1.1 has
 * it), or NULL: crv NULL, unknown, or a curve of the other key type. */
const struct curve *curve_by_name(enum ks_kty kty, const char *crv);

/* The curve with that NID (struct ks_key.curve_nid), or NULL (0 for RSA keys, or unknown). */
const struct curve *curve_by_nid(int nid);

#endif
