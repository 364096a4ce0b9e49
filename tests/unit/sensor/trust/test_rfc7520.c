/* test_rfc7520.c — the RFC 7520 ("JOSE Cookbook") JWS examples end to end through our layers:
 * the example JWK loaded by keystore_add_jwks_json (private members ignored), the compact token
 * split by jwt_parse, the signature checked by verify_jws. §4.1 RS256, §4.2 PS384, §4.3 ES512.
 * The cookbook payload is prose, not JSON claims, so jwt_parse marks it malformed; header and
 * signature are still filled (see jwt.c) and that is what is verified here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "jwt.h"
#include "keystore.h"
#include "verify.h"

#define CB_DIR TW_SHARED_DIR "/corpora/rfc7520-jose-cookbook/jws"

static void run_example(const char *file, const char *want_alg)
{
    char path[512];
    snprintf(path, sizeof(path), CB_DIR "/%s", file);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root)
        fail_msg("%s: %s", path, e.text);
    json_t *set = json_pack("{s:[O]}", "keys", json_object_get(json_object_get(root, "input"),
                                                               "key"));
    char *doc = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    const char *tok = json_string_value(json_object_get(json_object_get(root, "output"),
                                                        "compact"));
    assert_non_null(doc);
    assert_non_null(tok);

    struct keystore *ks = keystore_new();
    char err[256];
    const char *any[] = {"*"};
    assert_int_equal(keystore_add_jwks_json(ks, "cookbook", doc, strlen(doc), any, 1, err,
                                            sizeof(err)),
                     0);
    assert_int_equal(ks->sets[0].nkeys, 1);

    struct arena a;
    struct jwt j;
    arena_init(&a, 1024, 0);
    assert_int_equal(jwt_parse((const uint8_t *)tok, strlen(tok), &a, &j), 0);
    assert_int_equal(j.type, JWT_TYPE_JWT);
    assert_true(j.malformed); /* prose payload */
    assert_string_equal(j.c.alg, want_alg);
    assert_non_null(j.signing_input);

    const struct ks_key *k[2];
    assert_int_equal(keystore_find(ks, j.c.kid, j.c.x5t, NULL, k, 2), 1);
    assert_int_equal(verify_jws(k[0]->pkey, k[0]->alg, j.c.alg, j.signing_input,
                                j.signing_input_len, j.sig, j.sig_len),
                     VERIFY_VALID);
    /* One flipped bit of the signing input must break it. */
    uint8_t *msg = malloc(j.signing_input_len);
    memcpy(msg, j.signing_input, j.signing_input_len);
    msg[j.signing_input_len - 1] ^= 1;
    assert_int_equal(verify_jws(k[0]->pkey, k[0]->alg, j.c.alg, msg, j.signing_input_len, j.sig,
                                j.sig_len),
                     VERIFY_INVALID);
    print_message("%s: %s verified with kid %s (jkt %s)\n", file, j.c.alg, k[0]->kid, k[0]->jkt);
    free(msg);
    arena_release(&a);
    keystore_free(ks);
    free(doc);
    json_decref(root);
}

static void test_rs256(void **state)
{
    (void)state;
    run_example("4_1.rsa_v15_signature.json", "RS256");
}

static void test_ps384(void **state)
{
    (void)state;
    run_example("4_2.rsa-pss_signature.json", "PS384");
}

static void test_es512(void **state)
{
    (void)state;
    run_example("4_3.ecdsa_signature.json", "ES512");
}

int main(void)
{
    if (access(CB_DIR, R_OK) != 0) {
        printf("skipped: %s not present\n", CB_DIR);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rs256),
        cmocka_unit_test(test_ps384),
        cmocka_unit_test(test_es512),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
