/* verify.c — JWS signature verification with OpenSSL 3 EVP.
 *
 * Pipeline: verdict stage (keystore ─► [verify] ─► policy), once per distinct token. Stateless;
 * borrows the EVP_PKEY from the key store and allocates only OpenSSL's per-call contexts.
 * RFC 7518 §3.3 (RS*: RSASSA-PKCS1-v1_5), §3.4 (ES*: raw r‖s, each the field size), §3.5 (PS*:
 * RSASSA-PSS, MGF1 with the same hash, salt = hash size); RFC 8037 §3.1 (EdDSA over Ed25519);
 * RFC 8725 §3.1-3.2 (the key decides the algorithm; none never verifies).
 */
#include "verify.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

enum family { FAM_RS, FAM_PS, FAM_ES, FAM_ED };

struct alg_info {
    const char *name;
    enum family fam;
    int hash_bits; /* 0 for EdDSA: Ed25519 hashes internally */
    int curve_nid; /* ES* only */
};

static const struct alg_info algs[] = {
    {"RS256", FAM_RS, 256, 0},
    {"RS384", FAM_RS, 384, 0},
    {"RS512", FAM_RS, 512, 0},
    {"PS256", FAM_PS, 256, 0},
    {"PS384", FAM_PS, 384, 0},
    {"PS512", FAM_PS, 512, 0},
    {"ES256", FAM_ES, 256, NID_X9_62_prime256v1},
    {"ES384", FAM_ES, 384, NID_secp384r1},
    {"ES512", FAM_ES, 512, NID_secp521r1},
    {"EdDSA", FAM_ED, 0, 0},
    {"Ed25519", FAM_ED, 0, 0},
};

/* Exact, case-sensitive lookup (RFC 7515 §4.1.1: alg values are case-sensitive), so "none",
 * "HS256" and "rs256" all come back NULL and never reach OpenSSL. */
static const struct alg_info *lookup(const char *alg)
{
    if (!alg)
        return NULL;
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (strcmp(alg, algs[i].name) == 0)
            return &algs[i];
    return NULL;
}

static const EVP_MD *md_for(int bits)
{
    switch (bits) {
    case 256:
        return EVP_sha256();
    case 384:
        return EVP_sha384();
    case 512:
        return EVP_sha512();
    }
    return NULL;
}

static int ec_curve_nid(EVP_PKEY *pkey)
{
    char name[64];
    size_t len = 0;
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                        &len))
        return 0;
    int nid = OBJ_sn2nid(name);
    return nid != NID_undef ? nid : EC_curve_nist2nid(name);
}

static int fits(EVP_PKEY *pkey, const char *key_alg, const char *alg, const struct alg_info *ai)
{
    if (!ai || !pkey)
        return 0;
    if (key_alg && strcmp(key_alg, alg) != 0)
        return 0;
    switch (ai->fam) {
    case FAM_RS:
        return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA;
    case FAM_PS:
        /* An RSA-PSS-only key (id-RSASSA-PSS SPKI) may sign PS* but never PKCS#1 v1.5. */
        return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ||
               EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA_PSS;
    case FAM_ES:
        return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC && ec_curve_nid(pkey) == ai->curve_nid;
    case FAM_ED:
        return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519;
    }
    return 0;
}

int verify_alg_fits(EVP_PKEY *pkey, const char *key_alg, const char *alg)
{
    int ok = fits(pkey, key_alg, alg, lookup(alg));
    ERR_clear_error();
    return ok;
}

/* JOSE's r‖s (fixed width) to the DER ECDSA-Sig-Value OpenSSL verifies. Returns a buffer from
 * OPENSSL_malloc (free with OPENSSL_free) or NULL. */
static unsigned char *raw_to_der(const uint8_t *sig, size_t half, int *derlen)
{
    unsigned char *der = NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL), *s = BN_bin2bn(sig + half, (int)half, NULL);
    if (es && r && s && ECDSA_SIG_set0(es, r, s)) {
        r = s = NULL; /* owned by es now */
        *derlen = i2d_ECDSA_SIG(es, &der);
        if (*derlen <= 0)
            der = NULL;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return der;
}

int verify_jws(EVP_PKEY *pkey, const char *key_alg, const char *alg, const uint8_t *msg,
               size_t msglen, const uint8_t *sig, size_t siglen)
{
    const struct alg_info *ai = lookup(alg);
    if (!fits(pkey, key_alg, alg, ai)) {
        ERR_clear_error();
        return VERIFY_ALG_MISMATCH;
    }
    const EVP_MD *md = ai->hash_bits ? md_for(ai->hash_bits) : NULL;
    const uint8_t *s = sig;
    size_t slen = siglen;
    unsigned char *der = NULL;

    if (ai->fam == FAM_ES) {
        size_t half = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
        /* RFC 7518 §3.4: exactly two field-size integers. A DER signature (what many libraries
         * produce by mistake) or a shortened r/s is a different encoding, not ours to repair. */
        if (siglen != 2 * half)
            return VERIFY_INVALID;
        int dlen = 0;
        if (!(der = raw_to_der(sig, half, &dlen))) {
            ERR_clear_error();
            return VERIFY_INVALID;
        }
        s = der;
        slen = (size_t)dlen;
    } else if (ai->fam != FAM_ED && siglen != (size_t)EVP_PKEY_get_size(pkey)) {
        /* RFC 8017 §8.2.2 step 1 / §8.1.2 step 1: an RSA signature is exactly k octets. */
        return VERIFY_INVALID;
    }

    int rc = VERIFY_INVALID;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (mctx && EVP_DigestVerifyInit(mctx, &pctx, md, NULL, pkey) == 1) {
        int ok = 1;
        if (ai->fam == FAM_PS)
            ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
                 EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0 &&
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
        else if (ai->fam == FAM_RS)
            ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
        if (ok && EVP_DigestVerify(mctx, s, slen, msg, msglen) == 1)
            rc = VERIFY_VALID;
    }
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(der);
    if (rc != VERIFY_VALID)
        ERR_clear_error();
    return rc;
}

/* TEMPORARY (interface commit): replaced by the context cache. */
struct verify_ctxs {
    int unused;
};

struct verify_ctxs *verify_ctxs_new(size_t max)
{
    (void)max;
    return calloc(1, sizeof(struct verify_ctxs));
}

void verify_ctxs_clear(struct verify_ctxs *vx)
{
    (void)vx;
}

void verify_ctxs_free(struct verify_ctxs *vx)
{
    free(vx);
}

int verify_jws_ctx(struct verify_ctxs *vx, EVP_PKEY *pkey, const char *key_alg, const char *alg,
                   const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen)
{
    (void)vx;
    return verify_jws(pkey, key_alg, alg, msg, msglen, sig, siglen);
}
