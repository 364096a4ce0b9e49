/* verify.c — JWS signature verification with OpenSSL 3 EVP, and each worker's cache of
 * pre-initialised verification contexts.
 *
 * Pipeline: verdict stage (keystore ─► [verify] ─► policy), once per distinct token.
 * verify_jws() is stateless: it borrows the EVP_PKEY and builds OpenSSL's contexts per call; it
 * is the reference. verify_jws_ctx() gives the same answer for every input through contexts
 * built once per (key, alg) and kept in a bounded per-worker table (struct verify_ctxs).
 * RFC 7518 §3.3 (RS*: RSASSA-PKCS1-v1_5), §3.4 (ES*: raw r‖s, each the field size), §3.5 (PS*:
 * RSASSA-PSS, MGF1 with the same hash, salt = hash size); RFC 8037 §3.1 (EdDSA over Ed25519 or
 * Ed448, pure, empty context); RFC 9864 §2 (the fully-specified "Ed25519" and "Ed448");
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

#include "curve.h"
#include "lru.h"

enum family { FAM_RS, FAM_PS, FAM_ES, FAM_ED };

struct alg_info {
    const char *name;
    enum family fam;
    int hash_bits; /* 0 for EdDSA: the curve's own hash (SHA-512, SHAKE256) is internal */
    enum curve_id curve; /* ES*: the key's group; Ed*: the key type; CURVE_NONE: either */
};

static const struct alg_info algs[] = {
    {"RS256", FAM_RS, 256, 0},
    {"RS384", FAM_RS, 384, 0},
    {"RS512", FAM_RS, 512, 0},
    {"PS256", FAM_PS, 256, 0},
    {"PS384", FAM_PS, 384, 0},
    {"PS512", FAM_PS, 512, 0},
    {"ES256", FAM_ES, 256, CURVE_P256},
    {"ES384", FAM_ES, 384, CURVE_P384},
    {"ES512", FAM_ES, 512, CURVE_P521},
    {"EdDSA", FAM_ED, 0, CURVE_NONE},
    {"Ed25519", FAM_ED, 0, CURVE_ED25519},
    {"Ed448", FAM_ED, 0, CURVE_ED448},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* Exact, case-sensitive lookup (RFC 7515 §4.1.1: alg values are case-sensitive), so "none",
 * "HS256" and "rs256" all come back NULL and never reach OpenSSL. */
static const struct alg_info *lookup(const char *alg)
{
    if (!alg)
        return NULL;
    for (size_t i = 0; i < NALGS; i++)
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

/* Does the key's type (and curve) fit the algorithm? The JWK's own alg is checked apart. */
static int type_fits(EVP_PKEY *pkey, const struct alg_info *ai)
{
    int id = EVP_PKEY_get_base_id(pkey);
    switch (ai->fam) {
    case FAM_RS:
        return id == EVP_PKEY_RSA;
    case FAM_PS:
        /* An RSA-PSS-only key (id-RSASSA-PSS SPKI) may sign PS* but never PKCS#1 v1.5. */
        return id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS;
    case FAM_ES:
        return id == EVP_PKEY_EC && ec_curve_nid(pkey) == curve_get(ai->curve)->nid;
    case FAM_ED:
        /* "EdDSA" (RFC 8037) names either curve; "Ed25519"/"Ed448" (RFC 9864) only its own. */
        if (id != EVP_PKEY_ED25519 && id != EVP_PKEY_ED448)
            return 0;
        return ai->curve == CURVE_NONE || id == curve_get(ai->curve)->nid;
    }
    return 0;
}

static int fits(EVP_PKEY *pkey, const char *key_alg, const char *alg, const struct alg_info *ai)
{
    if (!ai || !pkey)
        return 0;
    if (key_alg && strcmp(key_alg, alg) != 0)
        return 0;
    return type_fits(pkey, ai);
}

int verify_alg_fits(EVP_PKEY *pkey, const char *key_alg, const char *alg)
{
    int ok = fits(pkey, key_alg, alg, lookup(alg));
    ERR_clear_error();
    return ok;
}

/* One DER INTEGER for a big-endian unsigned value: minimal (leading zeros stripped, zero as a
 * single 0x00), with a 0x00 prefix when the top bit is set — what i2d_ECDSA_SIG writes. */
static size_t der_int(uint8_t *out, const uint8_t *v, size_t n)
{
    while (n > 1 && v[0] == 0) {
        v++;
        n--;
    }
    size_t pad = v[0] & 0x80 ? 1 : 0;
    out[0] = 0x02;
    out[1] = (uint8_t)(n + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, v, n);
    return 2 + pad + n;
}

/* Raw r‖s (each `half` ≤ 66 bytes) to DER ECDSA-Sig-Value in out (≥ 144 bytes). */
static size_t fast_der(uint8_t *out, const uint8_t *sig, size_t half)
{
    uint8_t body[2 * 69];
    size_t blen = der_int(body, sig, half);
    blen += der_int(body + blen, sig + half, half);
    size_t o = 0;
    out[o++] = 0x30;
    if (blen >= 0x80)
        out[o++] = 0x81;
    out[o++] = (uint8_t)blen;
    memcpy(out + o, body, blen);
    return o + blen;
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
    uint8_t der[160];

    if (ai->fam == FAM_ES) {
        size_t half = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
        /* RFC 7518 §3.4: exactly two field-size integers. A DER signature (what many libraries
         * produce by mistake) or a shortened r/s is a different encoding, not ours to repair. */
        if (siglen != 2 * half || half > 66)
            return VERIFY_INVALID;
        slen = fast_der(der, sig, half);
        s = der;
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
    if (rc != VERIFY_VALID)
        ERR_clear_error();
    return rc;
}

/* ---- pre-initialised contexts ----
 *
 * What verify_jws() redoes per call and the cache does once per (key, alg): fetching the
 * signature and digest implementations, exporting the key to the provider, verify-init, the
 * padding/MGF1/salt/digest parameters, EVP_PKEY_get_size/get_bits and the curve-name lookup.
 * Per call remain: hashing the signing input (RS/PS/ES, into a kept EVP_MD_CTX with an EVP_MD
 * fetched once; for SHA-256 algorithms not even that when verify_token_digest() has the
 * digest from hashing the whole token), the raw r‖s to DER re-encoding (fast_der, on the stack, as in verify_jws), and the public-key
 * operation itself (EVP_PKEY_verify on the digest; EVP_DigestVerify for EdDSA, which has no
 * separate hash step). OpenSSL 3.0's EdDSA provider allows EVP_DigestVerify again on the same
 * context (its own `speed` relies on that); later releases refuse with EVP_R_FINAL_ERROR, and
 * then the entry re-initialises before each verification (still without the fetches).
 *
 * The table is keyed on the EVP_PKEY's address and the alg. Each entry holds a reference to its
 * key (EVP_PKEY_up_ref), so while the entry lives the address cannot be reused by another key:
 * a stale entry after a key-store swap is harmless, only memory until verify_ctxs_clear() or
 * eviction. The hash is not keyed: addresses are not chosen by traffic, and the table is bounded
 * by `max` entries (LRU eviction).
 */

struct vx_entry {
    struct vx_entry *hnext;
    struct vx_entry *older, *newer;
    EVP_PKEY *pkey;            /* one reference */
    const struct alg_info *ai;
    EVP_PKEY_CTX *pctx;        /* RS/PS/ES: EVP_PKEY_verify_init done, parameters set */
    EVP_MD_CTX *ed;            /* EdDSA: EVP_DigestVerifyInit done */
    int ed_reinit;             /* EdDSA: OpenSSL refuses re-use; re-init before each verify */
    size_t siglen;             /* RS/PS: k octets; ES: 2 × field size; EdDSA: unused */
};

struct verify_ctxs {
    size_t max, n;
    unsigned shift;            /* 64 - log2(nbuckets) */
    struct vx_entry **buckets;
    struct vx_entry *oldest, *newest;
    EVP_MD *md[3];             /* SHA-256, SHA-384, SHA-512, fetched once (NULL: fetch failed) */
    EVP_MD_CTX *hctx;          /* hashes the signing input */
    EVP_MD_CTX *tctx;          /* hashes a whole token (verify_token_digest) */
    /* The SHA-256 of one signing input, remembered by verify_token_digest() until
     * verify_forget_digest(): memo_msg NULL when none. */
    const uint8_t *memo_msg;
    size_t memo_len;
    uint8_t memo[32];
};

struct verify_ctxs *verify_ctxs_new(size_t max)
{
    if (max == 0)
        max = 1;
    struct verify_ctxs *vx = calloc(1, sizeof(*vx));
    if (!vx)
        return NULL;
    size_t nb = 2;
    unsigned bits = 1;
    while (nb < 2 * max) {
        nb <<= 1;
        bits++;
    }
    vx->max = max;
    vx->shift = 64 - bits;
    vx->buckets = calloc(nb, sizeof(*vx->buckets));
    vx->hctx = EVP_MD_CTX_new();
    vx->tctx = EVP_MD_CTX_new();
    static const char *const names[3] = {"SHA256", "SHA384", "SHA512"};
    for (int i = 0; i < 3; i++)
        vx->md[i] = EVP_MD_fetch(NULL, names[i], NULL);
    ERR_clear_error();
    if (!vx->buckets || !vx->hctx || !vx->tctx) {
        verify_ctxs_free(vx);
        return NULL;
    }
    return vx;
}

static size_t slot(const struct verify_ctxs *vx, const EVP_PKEY *pkey, const struct alg_info *ai)
{
    uint64_t h = (uint64_t)(uintptr_t)pkey ^ ((uint64_t)(ai - algs) << 59);
    return (size_t)((h * 0x9e3779b97f4a7c15ULL) >> vx->shift);
}

static void entry_free(struct vx_entry *e)
{
    EVP_PKEY_CTX_free(e->pctx);
    EVP_MD_CTX_free(e->ed);
    EVP_PKEY_free(e->pkey);
    free(e);
}

static void drop(struct verify_ctxs *vx, struct vx_entry *e)
{
    struct vx_entry **pp = &vx->buckets[slot(vx, e->pkey, e->ai)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    LRU_UNLINK(vx, e);
    entry_free(e);
    vx->n--;
}

void verify_ctxs_clear(struct verify_ctxs *vx)
{
    if (!vx)
        return;
    while (vx->oldest)
        drop(vx, vx->oldest);
}

void verify_ctxs_free(struct verify_ctxs *vx)
{
    if (!vx)
        return;
    verify_ctxs_clear(vx);
    for (int i = 0; i < 3; i++)
        EVP_MD_free(vx->md[i]);
    EVP_MD_CTX_free(vx->hctx);
    EVP_MD_CTX_free(vx->tctx);
    free(vx->buckets);
    free(vx);
}

/* The verify-initialised EVP_PKEY_CTX for an RS/PS/ES entry: the same parameters verify_jws()
 * gives EVP_DigestVerifyInit, with the digest named as the signature's md instead. */
static EVP_PKEY_CTX *build_pctx(EVP_PKEY *pkey, const struct alg_info *ai, const EVP_MD *md)
{
    EVP_PKEY_CTX *p = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok = p && EVP_PKEY_verify_init(p) == 1;
    if (ok && ai->fam == FAM_PS)
        ok = EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(p, md) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(p, md) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(p, RSA_PSS_SALTLEN_DIGEST) > 0;
    else if (ok && ai->fam == FAM_RS)
        ok = EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PADDING) > 0 &&
             EVP_PKEY_CTX_set_signature_md(p, md) > 0;
    else if (ok)
        ok = EVP_PKEY_CTX_set_signature_md(p, md) > 0;
    if (!ok) {
        EVP_PKEY_CTX_free(p);
        return NULL;
    }
    return p;
}

/* A new entry for a key whose type fits ai, or NULL (no memory, or OpenSSL would not set the
 * context up: the caller then takes verify_jws()'s path, which decides the same way). */
static struct vx_entry *entry_new(struct verify_ctxs *vx, EVP_PKEY *pkey,
                                  const struct alg_info *ai)
{
    struct vx_entry *e = calloc(1, sizeof(*e));
    if (!e || !EVP_PKEY_up_ref(pkey)) {
        free(e);
        return NULL;
    }
    e->pkey = pkey;
    e->ai = ai;
    int ok;
    if (ai->fam == FAM_ED) {
        ok = (e->ed = EVP_MD_CTX_new()) != NULL &&
             EVP_DigestVerifyInit(e->ed, NULL, NULL, NULL, pkey) == 1;
    } else {
        const EVP_MD *md = vx->md[ai->hash_bits == 256 ? 0 : ai->hash_bits == 384 ? 1 : 2];
        if (ai->fam == FAM_ES)
            e->siglen = 2 * (((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8);
        else
            e->siglen = (size_t)EVP_PKEY_get_size(pkey);
        ok = md && (e->pctx = build_pctx(pkey, ai, md)) != NULL;
    }
    if (!ok) {
        entry_free(e);
        return NULL;
    }
    return e;
}

/* The entry for (pkey, ai) in bucket b, made the newest; NULL when there is none. */
static struct vx_entry *find(struct verify_ctxs *vx, size_t b, EVP_PKEY *pkey,
                             const struct alg_info *ai)
{
    for (struct vx_entry *e = vx->buckets[b]; e; e = e->hnext)
        if (e->pkey == pkey && e->ai == ai) {
            if (vx->newest != e) {
                LRU_UNLINK(vx, e);
                LRU_PUSH_NEWEST(vx, e);
            }
            return e;
        }
    return NULL;
}

/* Adds e to bucket b as the newest, dropping the oldest entry when the table is full. */
static void insert(struct verify_ctxs *vx, size_t b, struct vx_entry *e)
{
    if (vx->n == vx->max)
        drop(vx, vx->oldest);
    e->hnext = vx->buckets[b];
    vx->buckets[b] = e;
    LRU_PUSH_NEWEST(vx, e);
    vx->n++;
}

static int verify_with(struct verify_ctxs *vx, struct vx_entry *e, const uint8_t *msg,
                       size_t msglen, const uint8_t *sig, size_t siglen)
{
    const struct alg_info *ai = e->ai;
    if (ai->fam == FAM_ED) {
        if (e->ed_reinit && EVP_DigestVerifyInit(e->ed, NULL, NULL, NULL, e->pkey) != 1)
            return VERIFY_INVALID;
        int r = EVP_DigestVerify(e->ed, sig, siglen, msg, msglen);
        if (r != 1 && !e->ed_reinit) {
            unsigned long err = ERR_peek_last_error();
            if (ERR_GET_LIB(err) == ERR_LIB_EVP && ERR_GET_REASON(err) == EVP_R_FINAL_ERROR) {
                /* This OpenSSL does not re-use a finished context: re-initialise from now on. */
                ERR_clear_error();
                e->ed_reinit = 1;
                return verify_with(vx, e, msg, msglen, sig, siglen);
            }
        }
        return r == 1 ? VERIFY_VALID : VERIFY_INVALID;
    }
    /* RS/PS: RFC 8017 §8.2.2 step 1 (k octets); ES: RFC 7518 §3.4 (2 × field size, raw). */
    if (siglen != e->siglen)
        return VERIFY_INVALID;
    uint8_t der[160];
    if (ai->fam == FAM_ES) {
        if (siglen > 2 * 66) /* P-521 is the largest curve that fits ES* */
            return VERIFY_INVALID;
        siglen = fast_der(der, sig, siglen / 2);
        sig = der;
    }
    const EVP_MD *md = vx->md[ai->hash_bits == 256 ? 0 : ai->hash_bits == 384 ? 1 : 2];
    uint8_t dgst[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    if (ai->hash_bits == 256 && vx->memo_msg && msg == vx->memo_msg && msglen == vx->memo_len) {
        /* hashed already, as the token's prefix (verify_token_digest) */
        memcpy(dgst, vx->memo, sizeof(vx->memo));
        dlen = sizeof(vx->memo);
    } else if (EVP_DigestInit_ex2(vx->hctx, md, NULL) != 1 ||
        EVP_DigestUpdate(vx->hctx, msg, msglen) != 1 ||
        EVP_DigestFinal_ex(vx->hctx, dgst, &dlen) != 1)
        return VERIFY_INVALID;
    return EVP_PKEY_verify(e->pctx, sig, siglen, dgst, dlen) == 1 ? VERIFY_VALID
                                                                   : VERIFY_INVALID;
}

int verify_jws_ctx(struct verify_ctxs *vx, EVP_PKEY *pkey, const char *key_alg, const char *alg,
                   const uint8_t *msg, size_t msglen, const uint8_t *sig, size_t siglen)
{
    if (!vx)
        return verify_jws(pkey, key_alg, alg, msg, msglen, sig, siglen);
    const struct alg_info *ai = lookup(alg);
    if (!ai || !pkey || (key_alg && strcmp(key_alg, alg) != 0))
        return VERIFY_ALG_MISMATCH;
    size_t b = slot(vx, pkey, ai);
    struct vx_entry *e = find(vx, b, pkey, ai);
    if (!e) {
        /* Only keys that fit get an entry, so a stream of mismatches costs no memory. */
        int ok = type_fits(pkey, ai);
        ERR_clear_error();
        if (!ok)
            return VERIFY_ALG_MISMATCH;
        if (!(e = entry_new(vx, pkey, ai))) {
            ERR_clear_error();
            return verify_jws(pkey, key_alg, alg, msg, msglen, sig, siglen);
        }
        insert(vx, b, e);
    }
    int rc = verify_with(vx, e, msg, msglen, sig, siglen);
    if (rc != VERIFY_VALID)
        ERR_clear_error();
    return rc;
}

size_t verify_ctxs_count(const struct verify_ctxs *vx)
{
    return vx ? vx->n : 0;
}

int verify_token_digest(struct verify_ctxs *vx, const uint8_t *tok, size_t len, size_t prefix,
                        uint8_t md[32])
{
    unsigned dlen = 0;
    if (vx)
        vx->memo_msg = NULL;
    if (!vx || !vx->md[0] || prefix > len)
        goto plain;
    if (EVP_DigestInit_ex2(vx->tctx, vx->md[0], NULL) != 1 ||
        EVP_DigestUpdate(vx->tctx, tok, prefix) != 1)
        goto plain;
    /* The prefix's state is copied (OpenSSL 3.0 duplicates the provider context: one small
     * allocation, instead of hashing the prefix a second time) and finished on its own. */
    if (prefix && EVP_MD_CTX_copy_ex(vx->hctx, vx->tctx) == 1 &&
        EVP_DigestFinal_ex(vx->hctx, vx->memo, &dlen) == 1 && dlen == sizeof(vx->memo)) {
        vx->memo_msg = tok;
        vx->memo_len = prefix;
    }
    if (EVP_DigestUpdate(vx->tctx, tok + prefix, len - prefix) != 1 ||
        EVP_DigestFinal_ex(vx->tctx, md, &dlen) != 1 || dlen != 32) {
        vx->memo_msg = NULL;
        goto plain;
    }
    return 0;
plain:
    ERR_clear_error();
    return EVP_Digest(tok, len, md, &dlen, EVP_sha256(), NULL) == 1 && dlen == 32 ? 0 : -1;
}

void verify_forget_digest(struct verify_ctxs *vx)
{
    if (vx)
        vx->memo_msg = NULL;
}
