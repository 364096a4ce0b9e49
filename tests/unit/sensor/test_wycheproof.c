/* test_wycheproof.c — runs Wycheproof signature-verification vectors through verify_jws(), the
 * layer the sensor uses (raw r‖s conversion, PSS parameters, alg/key fitting), not OpenSSL
 * directly. "valid" must verify, "invalid" must not, "acceptable" is counted either way.
 * Reads TW_SHARED_DIR/corpora/wycheproof/testvectors_v1; exits 77 when it is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verify.h"

#define WP_DIR TW_SHARED_DIR "/corpora/wycheproof/testvectors_v1"

struct wp_file {
    const char *name, *alg;
    const char *hash;  /* Wycheproof "sha" value the JOSE alg implies */
    int pss_salt;      /* PSS: the sLen JOSE uses (hash size); 0 otherwise */
};

static const struct wp_file files[] = {
    {"ecdsa_secp256r1_sha256_p1363_test.json", "ES256", "SHA-256", 0},
    {"ecdsa_secp384r1_sha384_p1363_test.json", "ES384", "SHA-384", 0},
    {"ecdsa_secp521r1_sha512_p1363_test.json", "ES512", "SHA-512", 0},
    {"rsa_signature_2048_sha256_test.json", "RS256", "SHA-256", 0},
    {"rsa_signature_2048_sha384_test.json", "RS384", "SHA-384", 0},
    {"rsa_signature_2048_sha512_test.json", "RS512", "SHA-512", 0},
    {"rsa_signature_3072_sha256_test.json", "RS256", "SHA-256", 0},
    {"rsa_signature_4096_sha512_test.json", "RS512", "SHA-512", 0},
    {"rsa_pss_2048_sha256_mgf1_32_test.json", "PS256", "SHA-256", 32},
    {"rsa_pss_4096_sha384_mgf1_48_test.json", "PS384", "SHA-384", 48},
    {"rsa_pss_4096_sha512_mgf1_64_test.json", "PS512", "SHA-512", 64},
    {"ed25519_test.json", "EdDSA", NULL, 0},
};

/* Hex to a malloc'd buffer (at least 1 byte so empty messages have a valid pointer). */
static uint8_t *unhex(const char *s, size_t *len)
{
    size_t n = strlen(s) / 2;
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

static const char *gstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Groups whose parameters are not what the file's JOSE alg means are skipped, not run under
 * the wrong algorithm (where "valid" would rightly fail). */
static int group_fits(const struct wp_file *f, json_t *g)
{
    if (f->hash && (!gstr(g, "sha") || strcmp(gstr(g, "sha"), f->hash) != 0))
        return 0;
    if (f->pss_salt) {
        const char *mgf = gstr(g, "mgf"), *mgfsha = gstr(g, "mgfSha");
        if (!mgf || strcmp(mgf, "MGF1") != 0 || !mgfsha || strcmp(mgfsha, f->hash) != 0 ||
            json_integer_value(json_object_get(g, "sLen")) != f->pss_salt)
            return 0;
    }
    return 1;
}

static void run_file(const struct wp_file *f, size_t *grand_total)
{
    char path[512];
    snprintf(path, sizeof(path), WP_DIR "/%s", f->name);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root)
        fail_msg("%s: %s (line %d)", path, e.text, e.line);
    size_t valid = 0, invalid = 0, acceptable = 0, acc_ok = 0, skipped_groups = 0, bad = 0;
    size_t gi;
    json_t *g;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g) {
        if (!group_fits(f, g)) {
            skipped_groups++;
            continue;
        }
        size_t dlen;
        uint8_t *der = unhex(gstr(g, "publicKeyDer"), &dlen);
        const unsigned char *p = der;
        EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)dlen);
        free(der);
        assert_non_null(pkey);
        size_t ti;
        json_t *t;
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            size_t mlen, slen;
            uint8_t *msg = unhex(gstr(t, "msg"), &mlen), *sig = unhex(gstr(t, "sig"), &slen);
            const char *result = gstr(t, "result");
            int rc = verify_jws(pkey, NULL, f->alg, msg, mlen, sig, slen);
            if (strcmp(result, "valid") == 0) {
                valid++;
                if (rc != VERIFY_VALID) {
                    bad++;
                    print_message("%s tcId %lld: valid vector gave %d (%s)\n", f->name,
                                  (long long)json_integer_value(json_object_get(t, "tcId")), rc,
                                  gstr(t, "comment"));
                }
            } else if (strcmp(result, "invalid") == 0) {
                invalid++;
                if (rc == VERIFY_VALID) {
                    bad++;
                    print_message("%s tcId %lld: invalid vector verified (%s)\n", f->name,
                                  (long long)json_integer_value(json_object_get(t, "tcId")),
                                  gstr(t, "comment"));
                }
            } else {
                acceptable++;
                acc_ok += rc == VERIFY_VALID;
            }
            assert_int_equal(ERR_peek_error(), 0);
            free(msg);
            free(sig);
        }
        EVP_PKEY_free(pkey);
    }
    json_decref(root);
    print_message("%-42s %-5s valid %3zu invalid %3zu acceptable %2zu (%zu accepted) "
                  "groups skipped %zu mismatches %zu\n",
                  f->name, f->alg, valid, invalid, acceptable, acc_ok, skipped_groups, bad);
    /* A file whose every group was skipped tests nothing: treat that as a failure too. */
    assert_true(valid > 0 && invalid > 0);
    assert_int_equal(bad, 0);
    *grand_total += valid + invalid + acceptable;
}

static void test_wycheproof(void **state)
{
    (void)state;
    size_t total = 0;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        run_file(&files[i], &total);
    print_message("%zu vectors in %zu files\n", total, sizeof(files) / sizeof(files[0]));
}

int main(void)
{
    if (access(WP_DIR, R_OK) != 0) {
        printf("skipped: %s not present\n", WP_DIR);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wycheproof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
