/* test_verify.c — verify_jws()/verify_alg_fits() against signatures made here with OpenSSL
 * (fresh keys each run), plus the refusals: none, HS*, alg/key mismatches, DER-encoded ECDSA,
 * wrong PSS salt, truncated RSA signatures; Ed448 and the RFC 9864 names. Every case also runs
 * through verify_jws_ctx() (pre-built contexts) and must give the same answer; the context
 * cache's bounds, clearing and key references; and every Wycheproof signature vector
 * (TW_SHARED_DIR, skipped when absent) through both functions under every alg. The Wycheproof
 * pass/fail expectations themselves live in test_wycheproof.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <dirent.h>
#include <jansson.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verify.h"

struct keys {
    EVP_PKEY *rsa, *p256, *p384, *p521, *ed, *ed448, *rsapss;
    struct verify_ctxs *vx; /* shared by every case: contexts are built once and re-used */
};

static struct verify_ctxs *g_vx; /* the fixture's, for vj() */

static int setup(void **state)
{
    static struct keys k; /* test fixture, lives for the whole run */
    k.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    k.p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k.p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    k.p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    k.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    k.ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
    /* EVP_PKEY_Q_keygen only knows "RSA"; an id-RSASSA-PSS key needs the long way. */
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
    if (pc && EVP_PKEY_keygen_init(pc) == 1 && EVP_PKEY_CTX_set_rsa_keygen_bits(pc, 2048) > 0)
        EVP_PKEY_generate(pc, &k.rsapss);
    EVP_PKEY_CTX_free(pc);
    k.vx = g_vx = verify_ctxs_new(64);
    *state = &k;
    return !(k.rsa && k.p256 && k.p384 && k.p521 && k.ed && k.ed448 && k.rsapss && k.vx);
}

static int teardown(void **state)
{
    struct keys *k = *state;
    EVP_PKEY_free(k->rsa);
    EVP_PKEY_free(k->p256);
    EVP_PKEY_free(k->p384);
    EVP_PKEY_free(k->p521);
    EVP_PKEY_free(k->ed);
    EVP_PKEY_free(k->ed448);
    EVP_PKEY_free(k->rsapss);
    verify_ctxs_free(k->vx);
    return 0;
}

enum pad { PAD_NONE, PAD_PKCS1, PAD_PSS };

/* Signs msg; for EC keys returns the DER signature (see to_raw). salt is for PSS. */
static size_t sign(EVP_PKEY *pkey, const EVP_MD *md, enum pad pad, int salt, const char *msg,
                   uint8_t *sig, size_t cap)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *p = NULL;
    size_t len = cap;
    assert_int_equal(EVP_DigestSignInit(m, &p, md, NULL, pkey), 1);
    if (pad == PAD_PSS) {
        assert_true(EVP_PKEY_CTX_set_rsa_padding(p, RSA_PKCS1_PSS_PADDING) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(p, md) > 0);
        assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(p, salt) > 0);
    }
    assert_int_equal(EVP_DigestSign(m, sig, &len, (const uint8_t *)msg, strlen(msg)), 1);
    EVP_MD_CTX_free(m);
    return len;
}

/* DER ECDSA-Sig-Value to JOSE r‖s of 2×half bytes. */
static size_t to_raw(const uint8_t *der, size_t derlen, size_t half, uint8_t *out)
{
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    assert_non_null(s);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(s), out, (int)half), (int)half);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(s), out + half, (int)half), (int)half);
    ECDSA_SIG_free(s);
    return 2 * half;
}

static const char MSG[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0";

static int vj(EVP_PKEY *k, const char *key_alg, const char *alg, const char *msg,
              const uint8_t *sig, size_t len)
{
    int rc = verify_jws(k, key_alg, alg, (const uint8_t *)msg, strlen(msg), sig, len);
    /* Failures must not leave errors behind for the next caller to trip over. */
    assert_int_equal(ERR_peek_error(), 0);
    /* The pre-built contexts answer the same, the first time (built here) and again (re-used). */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(verify_jws_ctx(g_vx, k, key_alg, alg, (const uint8_t *)msg, strlen(msg),
                                        sig, len),
                         rc);
        assert_int_equal(ERR_peek_error(), 0);
    }
    assert_int_equal(verify_jws_ctx(NULL, k, key_alg, alg, (const uint8_t *)msg, strlen(msg), sig,
                                    len),
                     rc);
    return rc;
}

static void test_rsa(void **state)
{
    struct keys *k = *state;
    static const struct {
        const char *rs, *ps;
        const EVP_MD *(*md)(void);
    } v[] = {{"RS256", "PS256", EVP_sha256}, {"RS384", "PS384", EVP_sha384},
             {"RS512", "PS512", EVP_sha512}};
    uint8_t sig[512], pss[512], bad[512];
    for (size_t i = 0; i < 3; i++) {
        size_t n = sign(k->rsa, v[i].md(), PAD_PKCS1, 0, MSG, sig, sizeof(sig));
        assert_int_equal(n, 256);
        assert_int_equal(vj(k->rsa, NULL, v[i].rs, MSG, sig, n), VERIFY_VALID);
        assert_int_equal(vj(k->rsa, v[i].rs, v[i].rs, MSG, sig, n), VERIFY_VALID);
        assert_int_equal(vj(k->rsa, NULL, v[i].rs, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN1In0", sig,
                            n),
                         VERIFY_INVALID);
        /* PKCS#1 v1.5 signature presented as PSS, and the reverse */
        assert_int_equal(vj(k->rsa, NULL, v[i].ps, MSG, sig, n), VERIFY_INVALID);
        size_t pn = sign(k->rsa, v[i].md(), PAD_PSS, RSA_PSS_SALTLEN_DIGEST, MSG, pss, sizeof(pss));
        assert_int_equal(vj(k->rsa, NULL, v[i].ps, MSG, pss, pn), VERIFY_VALID);
        assert_int_equal(vj(k->rsa, NULL, v[i].rs, MSG, pss, pn), VERIFY_INVALID);
        /* RFC 7518 §3.5 fixes salt = hash size; a maximum-length salt is another scheme. */
        size_t mn = sign(k->rsa, v[i].md(), PAD_PSS, RSA_PSS_SALTLEN_MAX, MSG, bad, sizeof(bad));
        assert_int_equal(vj(k->rsa, NULL, v[i].ps, MSG, bad, mn), VERIFY_INVALID);
        memcpy(bad, sig, n);
        bad[n / 2] ^= 0x01;
        assert_int_equal(vj(k->rsa, NULL, v[i].rs, MSG, bad, n), VERIFY_INVALID);
        /* truncated, extended, empty */
        assert_int_equal(vj(k->rsa, NULL, v[i].rs, MSG, sig, n - 1), VERIFY_INVALID);
        memcpy(bad, sig, n);
        bad[n] = 0;
        assert_int_equal(vj(k->rsa, NULL, v[i].rs, MSG, bad, n + 1), VERIFY_INVALID);
        assert_int_equal(vj(k->rsa, NULL, v[i].rs, MSG, sig, 0), VERIFY_INVALID);
    }
    /* The JWK's alg pins the algorithm. */
    size_t n = sign(k->rsa, EVP_sha384(), PAD_PKCS1, 0, MSG, sig, sizeof(sig));
    assert_int_equal(vj(k->rsa, "RS256", "RS384", MSG, sig, n), VERIFY_ALG_MISMATCH);
}

static void test_ecdsa(void **state)
{
    struct keys *k = *state;
    struct {
        EVP_PKEY *key;
        const char *alg;
        const EVP_MD *md;
        size_t half;
    } v[] = {{k->p256, "ES256", EVP_sha256(), 32},
             {k->p384, "ES384", EVP_sha384(), 48},
             {k->p521, "ES512", EVP_sha512(), 66}};
    for (size_t i = 0; i < 3; i++) {
        uint8_t der[256], raw[140], bad[140];
        size_t dn = sign(v[i].key, v[i].md, PAD_NONE, 0, MSG, der, sizeof(der));
        size_t rn = to_raw(der, dn, v[i].half, raw);
        assert_int_equal(vj(v[i].key, NULL, v[i].alg, MSG, raw, rn), VERIFY_VALID);
        assert_int_equal(vj(v[i].key, NULL, v[i].alg, "other", raw, rn), VERIFY_INVALID);
        /* DER is what OpenSSL produces, but not what JOSE sends. */
        assert_int_equal(vj(v[i].key, NULL, v[i].alg, MSG, der, dn), VERIFY_INVALID);
        assert_int_equal(vj(v[i].key, NULL, v[i].alg, MSG, raw, rn - 1), VERIFY_INVALID);
        memcpy(bad, raw, rn);
        bad[rn - 1] ^= 0x80;
        assert_int_equal(vj(v[i].key, NULL, v[i].alg, MSG, bad, rn), VERIFY_INVALID);
        memset(bad, 0, rn); /* r = s = 0 */
        assert_int_equal(vj(v[i].key, NULL, v[i].alg, MSG, bad, rn), VERIFY_INVALID);
    }
    /* Curve and alg must agree: ES384 on a P-256 key is not even tried. */
    assert_false(verify_alg_fits(k->p256, NULL, "ES384"));
    assert_false(verify_alg_fits(k->p521, NULL, "ES256"));
    assert_false(verify_alg_fits(k->p384, NULL, "ES512"));
    assert_true(verify_alg_fits(k->p521, NULL, "ES512"));
}

static void test_eddsa(void **state)
{
    struct keys *k = *state;
    uint8_t sig[64], bad[64];
    size_t n = sign(k->ed, NULL, PAD_NONE, 0, MSG, sig, sizeof(sig));
    assert_int_equal(n, 64);
    assert_int_equal(vj(k->ed, NULL, "EdDSA", MSG, sig, n), VERIFY_VALID);
    assert_int_equal(vj(k->ed, NULL, "Ed25519", MSG, sig, n), VERIFY_VALID);
    assert_int_equal(vj(k->ed, "EdDSA", "Ed25519", MSG, sig, n), VERIFY_ALG_MISMATCH);
    assert_int_equal(vj(k->ed, NULL, "EdDSA", "x", sig, n), VERIFY_INVALID);
    assert_int_equal(vj(k->ed, NULL, "EdDSA", MSG, sig, n - 1), VERIFY_INVALID);
    memcpy(bad, sig, n);
    bad[0] ^= 1;
    assert_int_equal(vj(k->ed, NULL, "EdDSA", MSG, bad, n), VERIFY_INVALID);
}

/* RFC 8725 §3.1: the key decides. Every cross pairing is refused before OpenSSL is asked. */
static void test_alg_refusals(void **state)
{
    struct keys *k = *state;
    EVP_PKEY *all[] = {k->rsa, k->p256, k->p384, k->p521, k->ed};
    static const char *const never[] = {"none", "None", "NONE", "nOnE", "HS256", "HS384", "HS512",
                                        "rs256", "RS1", "ES256K", "Ed448", "", "RS256 "};
    uint8_t sig[512];
    memset(sig, 0x5a, sizeof(sig));
    for (size_t i = 0; i < 5; i++) {
        for (size_t j = 0; j < sizeof(never) / sizeof(never[0]); j++) {
            assert_false(verify_alg_fits(all[i], NULL, never[j]));
            assert_int_equal(vj(all[i], NULL, never[j], MSG, sig, 0), VERIFY_ALG_MISMATCH);
            assert_int_equal(vj(all[i], NULL, never[j], MSG, sig, 256), VERIFY_ALG_MISMATCH);
        }
        assert_int_equal(vj(all[i], NULL, NULL, MSG, sig, 64), VERIFY_ALG_MISMATCH);
    }
    static const char *const rsa_algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"};
    for (size_t j = 0; j < 6; j++) {
        assert_true(verify_alg_fits(k->rsa, NULL, rsa_algs[j]));
        assert_int_equal(vj(k->p256, NULL, rsa_algs[j], MSG, sig, 256), VERIFY_ALG_MISMATCH);
        assert_int_equal(vj(k->ed, NULL, rsa_algs[j], MSG, sig, 256), VERIFY_ALG_MISMATCH);
    }
    assert_int_equal(vj(k->rsa, NULL, "ES256", MSG, sig, 64), VERIFY_ALG_MISMATCH);
    assert_int_equal(vj(k->rsa, NULL, "EdDSA", MSG, sig, 64), VERIFY_ALG_MISMATCH);
    assert_int_equal(vj(k->ed, NULL, "ES256", MSG, sig, 64), VERIFY_ALG_MISMATCH);
    assert_int_equal(vj(k->p256, NULL, "EdDSA", MSG, sig, 64), VERIFY_ALG_MISMATCH);
    assert_false(verify_alg_fits(NULL, NULL, "RS256"));
    assert_false(verify_alg_fits(k->rsa, "PS256", "RS256"));
    assert_true(verify_alg_fits(k->rsa, "RS256", "RS256"));
}


/* Ed448 (RFC 8037 §3.1, RFC 8032 §5.2, pure, empty context): 114-byte signatures under "EdDSA"
 * and RFC 9864's "Ed448"; "Ed25519" names the other curve. */
static void test_ed448(void **state)
{
    struct keys *k = *state;
    uint8_t sig[128], bad[128];
    size_t n = sign(k->ed448, NULL, PAD_NONE, 0, MSG, sig, sizeof(sig));
    assert_int_equal(n, 114);
    assert_int_equal(vj(k->ed448, NULL, "EdDSA", MSG, sig, n), VERIFY_VALID);
    assert_int_equal(vj(k->ed448, NULL, "Ed448", MSG, sig, n), VERIFY_VALID);
    assert_int_equal(vj(k->ed448, "Ed448", "Ed448", MSG, sig, n), VERIFY_VALID);
    assert_int_equal(vj(k->ed448, "EdDSA", "EdDSA", MSG, sig, n), VERIFY_VALID);
    assert_int_equal(vj(k->ed448, NULL, "Ed25519", MSG, sig, n), VERIFY_ALG_MISMATCH);
    assert_int_equal(vj(k->ed448, "EdDSA", "Ed448", MSG, sig, n), VERIFY_ALG_MISMATCH);
    assert_int_equal(vj(k->ed448, "Ed448", "EdDSA", MSG, sig, n), VERIFY_ALG_MISMATCH);
    assert_int_equal(vj(k->ed448, NULL, "EdDSA", "x", sig, n), VERIFY_INVALID);
    assert_int_equal(vj(k->ed448, NULL, "Ed448", MSG, sig, n - 1), VERIFY_INVALID);
    assert_int_equal(vj(k->ed448, NULL, "Ed448", MSG, sig, 64), VERIFY_INVALID);
    memcpy(bad, sig, n);
    bad[n] = 0;
    assert_int_equal(vj(k->ed448, NULL, "Ed448", MSG, bad, n + 1), VERIFY_INVALID);
    bad[10] ^= 0x40;
    assert_int_equal(vj(k->ed448, NULL, "EdDSA", MSG, bad, n), VERIFY_INVALID);
    /* An Ed25519 signature is not an Ed448 one, and "Ed448" never fits an Ed25519 key. */
    uint8_t sig25[64];
    size_t n25 = sign(k->ed, NULL, PAD_NONE, 0, MSG, sig25, sizeof(sig25));
    assert_int_equal(vj(k->ed448, NULL, "EdDSA", MSG, sig25, n25), VERIFY_INVALID);
    assert_int_equal(vj(k->ed, NULL, "Ed448", MSG, sig25, n25), VERIFY_ALG_MISMATCH);
    assert_int_equal(vj(k->ed, NULL, "EdDSA", MSG, sig, n), VERIFY_INVALID);
    assert_true(verify_alg_fits(k->ed448, NULL, "EdDSA"));
    assert_true(verify_alg_fits(k->ed448, NULL, "Ed448"));
    assert_false(verify_alg_fits(k->ed448, NULL, "Ed25519"));
    assert_true(verify_alg_fits(k->ed, NULL, "Ed25519"));
    assert_false(verify_alg_fits(k->ed, NULL, "Ed448"));
    static const char *const other[] = {"RS256", "PS256", "ES256", "ES512", "HS256", "none"};
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
        assert_false(verify_alg_fits(k->ed448, NULL, other[i]));
        assert_int_equal(vj(k->ed448, NULL, other[i], MSG, sig, n), VERIFY_ALG_MISMATCH);
    }
    assert_int_equal(vj(k->rsa, NULL, "Ed448", MSG, sig, n), VERIFY_ALG_MISMATCH);
    assert_int_equal(vj(k->p256, NULL, "Ed448", MSG, sig, n), VERIFY_ALG_MISMATCH);
}

/* An id-RSASSA-PSS key signs PS* only; PKCS#1 v1.5 is refused before OpenSSL is asked. */
static void test_rsa_pss_key(void **state)
{
    struct keys *k = *state;
    uint8_t sig[512];
    size_t n = sign(k->rsapss, EVP_sha256(), PAD_PSS, RSA_PSS_SALTLEN_DIGEST, MSG, sig,
                    sizeof(sig));
    assert_int_equal(vj(k->rsapss, NULL, "PS256", MSG, sig, n), VERIFY_VALID);
    assert_int_equal(vj(k->rsapss, NULL, "PS384", MSG, sig, n), VERIFY_INVALID);
    assert_int_equal(vj(k->rsapss, NULL, "RS256", MSG, sig, n), VERIFY_ALG_MISMATCH);
    assert_int_equal(vj(k->rsa, NULL, "PS256", MSG, sig, n), VERIFY_INVALID);
}

/* The context path re-encodes r‖s to DER itself (no BIGNUMs): many fresh signatures, so that
 * r and s with leading zero bytes and with the top bit set (DER's 0x00 pad) all occur. */
static void test_ecdsa_encodings(void **state)
{
    struct keys *k = *state;
    struct {
        EVP_PKEY *key;
        const char *alg;
        const EVP_MD *md;
        size_t half;
    } v[] = {{k->p256, "ES256", EVP_sha256(), 32},
             {k->p384, "ES384", EVP_sha384(), 48},
             {k->p521, "ES512", EVP_sha512(), 66}};
    for (size_t i = 0; i < 3; i++) {
        int lead_zero = 0, top_bit = 0;
        /* A leading zero byte in r or s comes once in ~128 signatures: up to 6000 tries make
         * missing one (the loop stops early once both kinds were seen twice) a e^-46 event. */
        for (int j = 0; j < 6000 && !(lead_zero >= 2 && top_bit >= 2); j++) {
            char msg[64];
            snprintf(msg, sizeof(msg), "eyJhbGciOiJFUzI1NiJ9.%d", j);
            uint8_t der[256], raw[140];
            size_t dn = sign(v[i].key, v[i].md, PAD_NONE, 0, msg, der, sizeof(der));
            size_t rn = to_raw(der, dn, v[i].half, raw);
            lead_zero += raw[0] == 0 || raw[v[i].half] == 0;
            top_bit += (raw[0] & 0x80) || (raw[v[i].half] & 0x80);
            assert_int_equal(vj(v[i].key, NULL, v[i].alg, msg, raw, rn), VERIFY_VALID);
        }
        /* P-521's top byte is at most 0x01 (521 bits in 66 bytes): always a leading zero. */
        assert_true(lead_zero >= 1);
        if (v[i].half != 66)
            assert_true(top_bit >= 1);
    }
    /* Hand-made extremes: all-zero, all-0xff, r = 1, a single high bit. */
    for (size_t i = 0; i < 3; i++) {
        uint8_t raw[140];
        size_t rn = 2 * v[i].half;
        static const int fills[] = {0x00, 0xff, 0x80, 0x01};
        for (size_t f = 0; f < 4; f++) {
            memset(raw, fills[f], rn);
            assert_int_equal(vj(v[i].key, NULL, v[i].alg, MSG, raw, rn), VERIFY_INVALID);
        }
        memset(raw, 0, rn);
        raw[v[i].half - 1] = 1;
        raw[rn - 1] = 1;
        assert_int_equal(vj(v[i].key, NULL, v[i].alg, MSG, raw, rn), VERIFY_INVALID);
    }
}

/* The cache itself: bounded, LRU, cleared, holding its own key references. */
static void test_ctx_cache(void **state)
{
    struct keys *k = *state;
    struct verify_ctxs *vx = verify_ctxs_new(2);
    assert_non_null(vx);
    const uint8_t *m = (const uint8_t *)MSG;
    size_t ml = strlen(MSG);
    uint8_t rs[512], ps[512], ed[64], der[256], es[64];
    size_t rn = sign(k->rsa, EVP_sha256(), PAD_PKCS1, 0, MSG, rs, sizeof(rs));
    size_t pn = sign(k->rsa, EVP_sha256(), PAD_PSS, RSA_PSS_SALTLEN_DIGEST, MSG, ps, sizeof(ps));
    size_t en = sign(k->ed, NULL, PAD_NONE, 0, MSG, ed, sizeof(ed));
    size_t dn = sign(k->p256, EVP_sha256(), PAD_NONE, 0, MSG, der, sizeof(der));
    size_t sn = to_raw(der, dn, 32, es);
    /* Mismatches build nothing. */
    assert_int_equal(verify_jws_ctx(vx, k->rsa, NULL, "ES256", m, ml, es, sn), VERIFY_ALG_MISMATCH);
    assert_int_equal(verify_jws_ctx(vx, k->rsa, NULL, "HS256", m, ml, rs, rn), VERIFY_ALG_MISMATCH);
    assert_int_equal(verify_jws_ctx(vx, k->rsa, "PS256", "RS256", m, ml, rs, rn),
                     VERIFY_ALG_MISMATCH);
    assert_int_equal(verify_ctxs_count(vx), 0);
    /* One context per (key, alg): RS256 and PS256 on one key are two. */
    assert_int_equal(verify_jws_ctx(vx, k->rsa, NULL, "RS256", m, ml, rs, rn), VERIFY_VALID);
    assert_int_equal(verify_jws_ctx(vx, k->rsa, NULL, "PS256", m, ml, ps, pn), VERIFY_VALID);
    assert_int_equal(verify_ctxs_count(vx), 2);
    assert_int_equal(verify_jws_ctx(vx, k->rsa, NULL, "RS256", m, ml, rs, rn), VERIFY_VALID);
    assert_int_equal(verify_ctxs_count(vx), 2);
    /* Full: a third drops the least recently used (PS256), which is rebuilt when next used. */
    assert_int_equal(verify_jws_ctx(vx, k->ed, NULL, "EdDSA", m, ml, ed, en), VERIFY_VALID);
    assert_int_equal(verify_ctxs_count(vx), 2);
    assert_int_equal(verify_jws_ctx(vx, k->rsa, NULL, "PS256", m, ml, ps, pn), VERIFY_VALID);
    assert_int_equal(verify_jws_ctx(vx, k->rsa, NULL, "PS256", m, ml, rs, rn), VERIFY_INVALID);
    assert_int_equal(verify_jws_ctx(vx, k->p256, NULL, "ES256", m, ml, es, sn), VERIFY_VALID);
    assert_int_equal(verify_ctxs_count(vx), 2);
    assert_int_equal(ERR_peek_error(), 0);
    verify_ctxs_clear(vx);
    assert_int_equal(verify_ctxs_count(vx), 0);
    assert_int_equal(verify_jws_ctx(vx, k->p256, NULL, "ES256", m, ml, es, sn), VERIFY_VALID);

    /* A key freed by its store while cached: the context's reference keeps it whole (ASan
     * would see otherwise), and a new key is never mistaken for it. */
    EVP_PKEY *a = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    uint8_t asig[64], bsig[64];
    size_t an = sign(a, NULL, PAD_NONE, 0, MSG, asig, sizeof(asig));
    assert_int_equal(verify_jws_ctx(vx, a, NULL, "EdDSA", m, ml, asig, an), VERIFY_VALID);
    EVP_PKEY_free(a);
    assert_int_equal(verify_jws_ctx(vx, a, NULL, "EdDSA", m, ml, asig, an), VERIFY_VALID);
    EVP_PKEY *b = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    size_t bn = sign(b, NULL, PAD_NONE, 0, MSG, bsig, sizeof(bsig));
    assert_ptr_not_equal(a, b);
    assert_int_equal(verify_jws_ctx(vx, b, NULL, "EdDSA", m, ml, bsig, bn), VERIFY_VALID);
    assert_int_equal(verify_jws_ctx(vx, b, NULL, "EdDSA", m, ml, asig, an), VERIFY_INVALID);
    EVP_PKEY_free(b);
    verify_ctxs_clear(vx); /* releases a and b for good */
    assert_int_equal(verify_ctxs_count(vx), 0);
    verify_ctxs_free(vx);
    verify_ctxs_free(NULL);
    /* vx NULL: exactly verify_jws */
    assert_int_equal(verify_jws_ctx(NULL, k->rsa, NULL, "RS256", m, ml, rs, rn), VERIFY_VALID);
}

/* ---- Wycheproof: verify_jws_ctx() == verify_jws() for every vector under every alg ---- */

#define WP_DIR TW_SHARED_DIR "/corpora/wycheproof/testvectors_v1"

static const char *const all_algs[] = {"RS256", "RS384", "RS512", "PS256",   "PS384",
                                       "PS512", "ES256", "ES384", "ES512",   "EdDSA",
                                       "Ed25519", "Ed448", "none", "HS256"};
#define NALL (sizeof(all_algs) / sizeof(all_algs[0]))

static uint8_t *unhex(const char *s, size_t *len)
{
    size_t n = s ? strlen(s) / 2 : 0;
    uint8_t *b = malloc(n ? n : 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
        b[i] = (uint8_t)v;
    }
    *len = n;
    return b;
}

/* Is JOSE alg the group's scheme: its family (group type) and hash (`sha`, "SHA-256"...;
 * none for EdDSA)? Other schemes may rightly verify an "invalid" vector: a PSS signature in
 * the PKCS#1 file, one made with SHA-384 in the SHA-256 file. */
static int same_scheme(const char *alg, json_t *g)
{
    static const struct {
        const char *type, *prefix;
    } fam[] = {{"RsassaPkcs1Verify", "RS"},
               {"RsassaPssVerify", "PS"},
               {"EcdsaP1363Verify", "ES"},
               {"EddsaVerify", "Ed"}};
    const char *type = json_string_value(json_object_get(g, "type"));
    const char *sha = json_string_value(json_object_get(g, "sha"));
    int ok = 0;
    for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
        ok |= type && strcmp(type, fam[i].type) == 0 && strncmp(alg, fam[i].prefix, 2) == 0;
    size_t n = strlen(alg);
    return ok && (!sha || (strncmp(sha, "SHA-", 4) == 0 && strcmp(sha + 4, alg + n - 3) == 0));
}

/* Returns the number of (vector, alg) pairs that verified; fails on any disagreement. */
static size_t wp_file(struct verify_ctxs *vx, const char *path, size_t *pairs)
{
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root)
        fail_msg("%s: %s (line %d)", path, e.text, e.line);
    size_t valid = 0, gi;
    json_t *g;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        const char *pkhex = json_string_value(json_object_get(g, "publicKeyDer"));
        if (!pkhex)
            continue; /* not a signature file (MAC tests) */
        size_t dlen;
        uint8_t *der = unhex(pkhex, &dlen);
        const unsigned char *p = der;
        EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)dlen);
        free(der);
        assert_non_null(pkey);
        size_t ti;
        json_t *t;
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            size_t mlen, slen;
            uint8_t *msg = unhex(json_string_value(json_object_get(t, "msg")), &mlen);
            uint8_t *sig = unhex(json_string_value(json_object_get(t, "sig")), &slen);
            const char *result = json_string_value(json_object_get(t, "result"));
            int own = 0; /* verified under the group's own scheme */
            for (size_t a = 0; a < NALL; a++) {
                int ref = verify_jws(pkey, NULL, all_algs[a], msg, mlen, sig, slen);
                int ctx = verify_jws_ctx(vx, pkey, NULL, all_algs[a], msg, mlen, sig, slen);
                if (ref != ctx)
                    fail_msg("%s tcId %lld alg %s: verify_jws %d, verify_jws_ctx %d", path,
                             (long long)json_integer_value(json_object_get(t, "tcId")),
                             all_algs[a], ref, ctx);
                /* An invalid vector must not verify under the group's own scheme. */
                if (ref == VERIFY_VALID && strcmp(result, "invalid") == 0 &&
                    same_scheme(all_algs[a], g))
                    fail_msg("%s tcId %lld verified under %s", path,
                             (long long)json_integer_value(json_object_get(t, "tcId")),
                             all_algs[a]);
                valid += ref == VERIFY_VALID;
                own += ref == VERIFY_VALID && same_scheme(all_algs[a], g);
                (*pairs)++;
            }
            /* ... and a valid one must (EdDSA: under "EdDSA" and its curve's own name). */
            if (strcmp(result, "valid") == 0 && own == 0)
                fail_msg("%s tcId %lld: valid vector did not verify", path,
                         (long long)json_integer_value(json_object_get(t, "tcId")));
            assert_int_equal(ERR_peek_error(), 0);
            free(msg);
            free(sig);
        }
        EVP_PKEY_free(pkey);
    }
    json_decref(root);
    return valid;
}

static void test_ctx_wycheproof(void **state)
{
    (void)state;
    DIR *d = opendir(WP_DIR);
    if (!d) {
        print_message("skipped: %s not present\n", WP_DIR);
        skip();
    }
    /* A small table, so that eviction and rebuilding happen along the way too. */
    struct verify_ctxs *vx = verify_ctxs_new(8);
    size_t files = 0, pairs = 0, verified = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 10 || strcmp(de->d_name + n - 10, "_test.json") != 0 ||
            strncmp(de->d_name, "hmac", 4) == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", WP_DIR, de->d_name);
        size_t v = wp_file(vx, path, &pairs);
        print_message("%-42s %4zu (vector, alg) pairs verified\n", de->d_name, v);
        assert_true(v > 0); /* every signature file exercises real verification */
        files++;
        verified += v;
    }
    closedir(d);
    verify_ctxs_free(vx);
    print_message("%zu files, %zu (vector, alg) pairs, %zu verified, all identical\n", files,
                  pairs, verified);
    assert_true(files >= 13);
}

/* verify_token_digest: the token's SHA-256 as EVP_Digest gives it, and its signing input's,
 * remembered for verify_jws_ctx() on exactly that prefix until verify_forget_digest(): a
 * remembered digest is used (a changed prefix still verifies while remembered, which shows the
 * memo is what answered) and never after it is forgotten. */
static void test_token_digest(void **state)
{
    struct keys *k = *state;
    char tok[512];
    uint8_t rs[512], es[64], der[256], ps[512];
    size_t rn = sign(k->rsa, EVP_sha256(), PAD_PKCS1, 0, MSG, rs, sizeof(rs));
    size_t pn = sign(k->rsa, EVP_sha384(), PAD_PKCS1, 0, MSG, ps, sizeof(ps));
    size_t sn = to_raw(der, sign(k->p256, EVP_sha256(), PAD_NONE, 0, MSG, der, sizeof(der)), 32, es);
    size_t ml = strlen(MSG);
    snprintf(tok, sizeof(tok), "%s.c2lnbmF0dXJl", MSG);
    size_t tl = strlen(tok);
    uint8_t want[32], got[32], pre[32];
    unsigned dl = 0;
    assert_int_equal(EVP_Digest(tok, tl, want, &dl, EVP_sha256(), NULL), 1);
    for (size_t prefix = 0; prefix <= tl; prefix += prefix < 40 ? 1 : 7) {
        assert_int_equal(verify_token_digest(g_vx, (const uint8_t *)tok, tl, prefix, got), 0);
        assert_memory_equal(got, want, 32);
        verify_forget_digest(g_vx);
    }
    assert_int_equal(verify_token_digest(NULL, (const uint8_t *)tok, tl, ml, got), 0);
    assert_memory_equal(got, want, 32);
    assert_int_equal(verify_token_digest(g_vx, (const uint8_t *)tok, tl, tl + 1, got), 0);
    assert_memory_equal(got, want, 32);

    assert_int_equal(verify_token_digest(g_vx, (const uint8_t *)tok, tl, ml, got), 0);
    assert_int_equal(EVP_Digest(MSG, ml, pre, &dl, EVP_sha256(), NULL), 1);
    const uint8_t *m = (const uint8_t *)tok;
    assert_int_equal(verify_jws_ctx(g_vx, k->rsa, NULL, "RS256", m, ml, rs, rn), VERIFY_VALID);
    assert_int_equal(verify_jws_ctx(g_vx, k->p256, NULL, "ES256", m, ml, es, sn), VERIFY_VALID);
    /* not SHA-256, another length, another address: hashed as before */
    assert_int_equal(verify_jws_ctx(g_vx, k->rsa, NULL, "RS384", m, ml, ps, pn), VERIFY_VALID);
    assert_int_equal(verify_jws_ctx(g_vx, k->rsa, NULL, "RS256", m, ml - 1, rs, rn), VERIFY_INVALID);
    tok[0] ^= 1; /* while remembered, the memo answers for (tok, ml) */
    assert_int_equal(verify_jws_ctx(g_vx, k->rsa, NULL, "RS256", m, ml, rs, rn), VERIFY_VALID);
    verify_forget_digest(g_vx);
    assert_int_equal(verify_jws_ctx(g_vx, k->rsa, NULL, "RS256", m, ml, rs, rn), VERIFY_INVALID);
    tok[0] ^= 1;
    assert_int_equal(verify_jws_ctx(g_vx, k->rsa, NULL, "RS256", m, ml, rs, rn), VERIFY_VALID);
    verify_forget_digest(NULL);
    assert_int_equal(ERR_peek_error(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa),
        cmocka_unit_test(test_ecdsa),
        cmocka_unit_test(test_eddsa),
        cmocka_unit_test(test_alg_refusals),
        cmocka_unit_test(test_ed448),
        cmocka_unit_test(test_rsa_pss_key),
        cmocka_unit_test(test_ecdsa_encodings),
        cmocka_unit_test(test_ctx_cache),
        cmocka_unit_test(test_token_digest),
        cmocka_unit_test(test_ctx_wycheproof),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
