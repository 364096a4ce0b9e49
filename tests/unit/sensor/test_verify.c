/* test_verify.c — verify_jws()/verify_alg_fits() against signatures made here with OpenSSL
 * (fresh keys each run), plus the refusals: none, HS*, alg/key mismatches, DER-encoded ECDSA,
 * wrong PSS salt, truncated RSA signatures. Wycheproof vectors live in test_wycheproof.c.
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
#include <string.h>

#include "verify.h"

struct keys {
    EVP_PKEY *rsa, *p256, *p384, *p521, *ed;
};

static int setup(void **state)
{
    static struct keys k; /* test fixture, lives for the whole run */
    k.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    k.p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    k.p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    k.p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
    k.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    *state = &k;
    return !(k.rsa && k.p256 && k.p384 && k.p521 && k.ed);
}

static int teardown(void **state)
{
    struct keys *k = *state;
    EVP_PKEY_free(k->rsa);
    EVP_PKEY_free(k->p256);
    EVP_PKEY_free(k->p384);
    EVP_PKEY_free(k->p521);
    EVP_PKEY_free(k->ed);
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

static int vj(EVP_PKEY *k, const char *key_alg, const char *alg, const char *msg, const uint8_t *sig,
              size_t len)
{
    int rc = verify_jws(k, key_alg, alg, (const uint8_t *)msg, strlen(msg), sig, len);
    /* Failures must not leave errors behind for the next caller to trip over. */
    assert_int_equal(ERR_peek_error(), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa),
        cmocka_unit_test(test_ecdsa),
        cmocka_unit_test(test_eddsa),
        cmocka_unit_test(test_alg_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
