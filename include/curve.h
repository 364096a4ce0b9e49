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

enum curve_id { CURVE_NONE = 0, CURVE_P256, CURVE_P384, CURVE_P521, CURVE_ED25519, CURVE_ED448 };

/* The JWK key type a curve belongs to (RFC 7518 §6.2 "EC", RFC 8037 §2 "OKP"). Its own enum,
 * not keystore.h's, so that the key store's modules can include this header and not the other
 * way round. */
enum curve_kty { CURVE_KTY_EC = 1, CURVE_KTY_OKP };

struct curve {
    const char *name;       /* the JWK crv value, as printed */
    enum curve_kty kty;
    const char *ossl_group; /* EC: OpenSSL's group name; OKP: NULL */
    int nid;                /* EC: the group's NID; OKP: the key type (NID == EVP_PKEY id) */
    size_t len;             /* EC: field length in bytes; OKP: raw public key length */
};

/* The curve with that id; NULL for CURVE_NONE or anything out of range. Static storage. */
const struct curve *curve_get(enum curve_id id);

/* The curve a JWK of type kty names by crv (exact, case-sensitive, as RFC 7518 §6.2.1.1 has
 * it), or NULL: crv NULL, unknown, or a curve of the other key type. */
const struct curve *curve_by_name(enum curve_kty kty, const char *crv);

/* The curve with that NID (the key store's curve_nid), or NULL (0 for RSA keys, or unknown). */
const struct curve *curve_by_nid(int nid);

#endif
