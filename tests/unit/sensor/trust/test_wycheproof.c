/* test_wycheproof.c — runs Wycheproof signature-verification vectors through verify_jws(), the
 * layer the sensor uses (raw r‖s conversion, PSS parameters, alg/key fitting), not OpenSSL
 * directly, twice per vector: with the group's DER public key (the primitive layer), and with
 * the key the JOSE layer builds from the group's JWK (publicKeyJwk / keyJwk, loaded by
 * keystore_add_jwks_json as {"keys":[jwk]}, verified with that JWK's own `alg`). The nine
 * special-point ECDSA groups per curve publish no JWK; theirs is written from publicKey's
 * uncompressed point (RFC 7518 §6.2.1 x, y). "valid" must verify, "invalid" must not,
 * "acceptable" is counted either way; both layers must give the same result on every vector.
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

#include "b64.h"
#include "keystore.h"
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
    {"ed25519_test.json", "Ed25519", NULL, 0},
    {"ed448_test.json", "EdDSA", NULL, 0},
    {"ed448_test.json", "Ed448", NULL, 0},
};

/* Outcomes of one layer over one file. */
struct tally {
    size_t valid, invalid, acceptable, acc_ok, bad;
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

/* The group's JWK as JSON text (malloc'd): its published member, or for an EC group without one,
 * an EC JWK from publicKey.uncompressed (04 || x || y, hex). *built is set in the latter case. */
static char *group_jwk(json_t *g, int *built)
{
    json_t *jwk = json_object_get(g, "publicKeyJwk");
    if (!jwk)
        jwk = json_object_get(g, "keyJwk");
    *built = 0;
    if (jwk) {
        json_incref(jwk);
    } else {
        json_t *pk = json_object_get(g, "publicKey");
        const char *curve = gstr(pk, "curve"), *crv = NULL;
        if (curve && strcmp(curve, "secp256r1") == 0)
            crv = "P-256";
        else if (curve && strcmp(curve, "secp384r1") == 0)
            crv = "P-384";
        else if (curve && strcmp(curve, "secp521r1") == 0)
            crv = "P-521";
        const char *hex = gstr(pk, "uncompressed");
        if (!crv || !hex)
            return NULL;
        size_t plen;
        uint8_t *pt = unhex(hex, &plen);
        assert_true(plen > 1 && plen % 2 == 1 && pt[0] == 0x04);
        size_t fl = (plen - 1) / 2;
        char x[128], y[128];
        assert_true(4 * ((fl + 2) / 3) + 1 <= sizeof(x));
        b64url_encode(pt + 1, fl, x);
        b64url_encode(pt + 1 + fl, fl, y);
        free(pt);
        jwk = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv", crv, "x", x, "y", y);
        *built = 1;
    }
    json_t *set = json_pack("{s:[o]}", "keys", jwk);
    char *txt = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    return txt;
}

static void count(struct tally *t, const struct wp_file *f, const char *layer, json_t *test,
                  int rc)
{
    const char *result = gstr(test, "result");
    long long id = (long long)json_integer_value(json_object_get(test, "tcId"));
    if (strcmp(result, "valid") == 0) {
        t->valid++;
        if (rc != VERIFY_VALID) {
            t->bad++;
            print_message("%s %s tcId %lld: valid vector gave %d (%s)\n", f->name, layer, id, rc,
                          gstr(test, "comment"));
        }
    } else if (strcmp(result, "invalid") == 0) {
        t->invalid++;
        if (rc == VERIFY_VALID) {
            t->bad++;
            print_message("%s %s tcId %lld: invalid vector verified (%s)\n", f->name, layer, id,
                          gstr(test, "comment"));
        }
    } else {
        t->acceptable++;
        t->acc_ok += rc == VERIFY_VALID;
    }
}

static void run_file(const struct wp_file *f, size_t *grand_total, size_t *jose_total)
{
    char path[512];
    snprintf(path, sizeof(path), WP_DIR "/%s", f->name);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root)
        fail_msg("%s: %s (line %d)", path, e.text, e.line);
    struct tally prim = {0}, jose = {0};
    size_t skipped_groups = 0, built_groups = 0, differ = 0;
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

        /* The JOSE layer's key: every Wycheproof key is a legitimate one, so it must load. */
        int built;
        char *jwks = group_jwk(g, &built);
        if (!jwks)
            fail_msg("%s group %zu: no JWK", f->name, gi);
        built_groups += built;
        struct keystore *ks = keystore_new();
        char err[256];
        assert_non_null(ks);
        if (keystore_add_jwks_json(ks, "wycheproof", jwks, strlen(jwks), NULL, 0, err,
                                   sizeof(err)) != 0)
            fail_msg("%s group %zu: %s", f->name, gi, err);
        if (ks->sets[0].nkeys != 1)
            fail_msg("%s group %zu: JWK refused: %s", f->name, gi,
                     ks->sets[0].nskips ? ks->sets[0].skips[0].why : "?");
        free(jwks);
        const struct ks_key *key = &ks->sets[0].keys[0];
        assert_int_equal(EVP_PKEY_eq(key->pkey, pkey), 1);

        size_t ti;
        json_t *t;
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            size_t mlen, slen;
            uint8_t *msg = unhex(gstr(t, "msg"), &mlen), *sig = unhex(gstr(t, "sig"), &slen);
            int rc = verify_jws(pkey, NULL, f->alg, msg, mlen, sig, slen);
            /* the JWK's own alg (RS256, PS384, ...) where it has one, as the sensor passes it */
            int rj = verify_jws(key->pkey, key->alg, f->alg, msg, mlen, sig, slen);
            count(&prim, f, "primitive", t, rc);
            count(&jose, f, "jwk", t, rj);
            if (rc != rj) {
                differ++;
                print_message("%s tcId %lld: primitive %d, JWK layer %d\n", f->name,
                              (long long)json_integer_value(json_object_get(t, "tcId")), rc, rj);
            }
            assert_int_equal(ERR_peek_error(), 0);
            free(msg);
            free(sig);
        }
        keystore_free(ks);
        EVP_PKEY_free(pkey);
    }
    json_decref(root);
    const struct tally *ts[2] = {&prim, &jose};
    for (int l = 0; l < 2; l++)
        print_message("%-42s %-7s %-9s valid %3zu invalid %3zu acceptable %2zu (%zu accepted) "
                      "groups skipped %zu mismatches %zu\n",
                      f->name, f->alg, l ? "jwk" : "primitive", ts[l]->valid, ts[l]->invalid,
                      ts[l]->acceptable, ts[l]->acc_ok, skipped_groups, ts[l]->bad);
    if (built_groups)
        print_message("%-42s %zu groups without a JWK: built from publicKey\n", f->name,
                      built_groups);
    /* A file whose every group was skipped tests nothing: treat that as a failure too. */
    assert_true(prim.valid > 0 && prim.invalid > 0);
    assert_int_equal(prim.bad, 0);
    assert_int_equal(jose.bad, 0);
    assert_int_equal(differ, 0);
    assert_int_equal(jose.valid + jose.invalid + jose.acceptable,
                     prim.valid + prim.invalid + prim.acceptable);
    assert_int_equal(jose.acc_ok, prim.acc_ok);
    *grand_total += prim.valid + prim.invalid + prim.acceptable;
    *jose_total += jose.valid + jose.invalid + jose.acceptable;
}

static void test_wycheproof(void **state)
{
    (void)state;
    size_t total = 0, jose = 0;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        run_file(&files[i], &total, &jose);
    print_message("%zu vectors in %zu file/alg runs (primitive layer), %zu through the JWK layer\n",
                  total, sizeof(files) / sizeof(files[0]), jose);
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
