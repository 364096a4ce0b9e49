/* test_curve.c — the one curve table: each JWK crv maps to the OpenSSL group and lengths RFC
 * 7518 §6.2.1.1 / RFC 8037 §2 give it, by name only within its key type, back from its NID, and
 * an OpenSSL key built on each group reports the same NID and size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <string.h>

#include "curve.h"

static void test_table(void **state)
{
    (void)state;
    static const struct {
        enum curve_id id;
        const char *name;
        enum curve_kty kty;
        int nid;
        size_t len;
    } want[] = {
        {CURVE_P256, "P-256", CURVE_KTY_EC, NID_X9_62_prime256v1, 32},
        {CURVE_P384, "P-384", CURVE_KTY_EC, NID_secp384r1, 48},
        {CURVE_P521, "P-521", CURVE_KTY_EC, NID_secp521r1, 66},
        {CURVE_ED25519, "Ed25519", CURVE_KTY_OKP, NID_ED25519, 32},
        {CURVE_ED448, "Ed448", CURVE_KTY_OKP, NID_ED448, 57},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct curve *c = curve_get(want[i].id);
        assert_non_null(c);
        assert_string_equal(c->name, want[i].name);
        assert_int_equal(c->kty, want[i].kty);
        assert_int_equal(c->nid, want[i].nid);
        assert_int_equal(c->len, want[i].len);
        if (c->kty == CURVE_KTY_EC)
            assert_int_equal(OBJ_sn2nid(c->ossl_group), c->nid);
        else
            assert_null(c->ossl_group);
        assert_ptr_equal(curve_by_name(want[i].kty, want[i].name), c);
        assert_ptr_equal(curve_by_nid(want[i].nid), c);
    }
    assert_null(curve_get(CURVE_NONE));
    assert_null(curve_get((enum curve_id)99));
}

static void test_lookups_refuse(void **state)
{
    (void)state;
    /* Names are exact and bound to their key type. */
    assert_null(curve_by_name(CURVE_KTY_EC, NULL));
    assert_null(curve_by_name(CURVE_KTY_EC, "p-256"));
    assert_null(curve_by_name(CURVE_KTY_EC, "P-256 "));
    assert_null(curve_by_name(CURVE_KTY_EC, "secp256k1"));
    assert_null(curve_by_name(CURVE_KTY_EC, "Ed25519"));
    assert_null(curve_by_name(CURVE_KTY_OKP, "P-256"));
    assert_null(curve_by_name(CURVE_KTY_OKP, "X25519"));
    assert_null(curve_by_name(CURVE_KTY_OKP, "X448"));
    assert_null(curve_by_name((enum curve_kty)0, "P-256"));
    /* RSA keys have curve_nid 0; key-agreement curves are not signers. */
    assert_null(curve_by_nid(0));
    assert_null(curve_by_nid(NID_X25519));
    assert_null(curve_by_nid(NID_secp256k1));
}

static void test_openssl_agrees(void **state)
{
    (void)state;
    for (int id = CURVE_P256; id <= CURVE_P521; id++) {
        const struct curve *c = curve_get((enum curve_id)id);
        EVP_PKEY *k = EVP_EC_gen(c->ossl_group);
        assert_non_null(k);
        assert_int_equal(((size_t)EVP_PKEY_get_bits(k) + 7) / 8, c->len);
        EVP_PKEY_free(k);
    }
    for (int id = CURVE_ED25519; id <= CURVE_ED448; id++) {
        const struct curve *c = curve_get((enum curve_id)id);
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, c->name);
        assert_non_null(k);
        assert_int_equal(EVP_PKEY_get_base_id(k), c->nid);
        uint8_t raw[64];
        size_t n = sizeof(raw);
        assert_int_equal(EVP_PKEY_get_raw_public_key(k, raw, &n), 1);
        assert_int_equal(n, c->len);
        EVP_PKEY_free(k);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_lookups_refuse),
        cmocka_unit_test(test_openssl_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
