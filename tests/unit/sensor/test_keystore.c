/* test_keystore.c — JWKS loading (jwk.c) and the issuer-scope rules (keystore.c).
 *
 * Synthetic keys come from the RFCs (RFC 7638 §3.1 RSA, RFC 8037 A.2 Ed25519) and Wycheproof's
 * P-256 JWK, with thumbprints computed independently (Python hashlib). The Storm-0558 JWK and the
 * identity-provider snapshots are read from TW_SHARED_DIR; those tests skip when it is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/obj_mac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keystore.h"

#define SNAP TW_SHARED_DIR "/keys/idp-snapshots/"
#define STORM_JWK TW_SHARED_DIR "/keys/indicators/storm-0558-msa-2016.jwk.json"

static const char CONSUMER_ISS[] =
    "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0";
static const char CONSUMER_TID[] = "9188040d-6c67-4c5b-b112-36a304b66dad";
static const char ENT_TID[] = "72f988bf-86f1-41af-91ab-2d7cd011db47";
static const char ENT_ISS[] =
    "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
static const char ENT_ISS_V1[] = "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/";
static const char V2_TMPL[] = "https://login.microsoftonline.com/{tenantid}/v2.0";

/* RFC 7638 §3.1 example key (2048-bit) and its thumbprint. */
#define RFC7638_N                                                                                  \
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP" \
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY" \
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f" \
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_JKT "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
/* The same modulus in standard base64, with a leading zero octet and padding. */
#define RFC7638_N_SLOPPY                                                                           \
    "ANL8e2oKHmxnEErrj4iyV2abTfZ53a0Jm1xKbNmogBW1oTO/C4VseHG23wALVU/Os8LtUSu2jxRcboQ0dS+rUqHPwSRA" \
    "j3m1ikV4wWQohVeJ96JJ44TLLZ+uLWf9lvuSbBmOB3OZ/cgVwK8Jfd5are/0TecOgn9IeEMkOb/uuWBo0EdPxQ1tkL86" \
    "mN+vEEDInALWkqs7PCiWYJ2G/XO3dM4HQGR87uqjEL0S+YWo659Z/dQmzqWyEg9PKjS8q3ZLfmxU1oQCOLzEBYelnmbt" \
    "HzOJRXdjXEcK91z5LCDR2kPhv8QZ4iKm8NC7NYxeOPnLBQrq/pBIFPGsGqScyp6gyoM="
#define RSA1024_N                                                                                  \
    "tFtDXqELyyW2QU5ZXHggKZC7J-839E2GbnR3M7_38kNvGt1VuoHGwuGXJ6EYGZOLPFXp6QLWvxp_Qrr8ldLK5TmWjHga" \
    "_tMWaomGS15iocxkG1pR6ISHIqX4zlLwejx7R5601RI3eajkE3r5ls7_hhAL-_nXQ5KwMLGjnlDAEX8"
#define P256_X "KSexBRK64-3c_kZ4KBKLrSkDJpkZ9whgacjE32xzKDg"
#define P256_Y "x3h5ZOqsAOWSH7FJimD0YGdms9loUAFVjRqXTnNBUT4"
#define P256_JKT "UB0bE6ogZhikgZQC5i4LIZIpUDDiJ6AnzpDOzOEwJiA"
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define ED_JKT "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

static int add_json(struct keystore *ks, const char *name, const char *json,
                    const char *const *iss, size_t niss)
{
    char err[256] = "";
    int rc = keystore_add_jwks_json(ks, name, json, strlen(json), iss, niss, err, sizeof(err));
    if (rc != 0)
        print_message("keystore_add_jwks_json: %s\n", err);
    return rc;
}

static int have(const char *path)
{
    if (access(path, R_OK) == 0)
        return 1;
    print_message("skipped: %s not readable\n", path);
    return 0;
}

/* The Storm-0558 JWK wrapped into a JWK Set, optionally with one member replaced. Caller frees. */
static char *storm_jwks(const char *member, const char *value)
{
    json_error_t e;
    json_t *jwk = json_load_file(STORM_JWK, 0, &e);
    assert_non_null(jwk);
    if (member)
        json_object_set_new(jwk, member, json_string(value));
    json_t *set = json_pack("{s:[o]}", "keys", jwk);
    char *s = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    return s;
}

static void test_storm_identity(void **state)
{
    (void)state;
    if (!have(STORM_JWK))
        skip();
    struct keystore *ks = keystore_new();
    char *doc = storm_jwks(NULL, NULL);
    const char *iss[] = {CONSUMER_ISS};
    assert_int_equal(add_json(ks, "msa", doc, iss, 1), 0);
    free(doc);
    assert_int_equal(ks->nsets, 1);
    assert_int_equal(ks->sets[0].nkeys, 1);
    const struct ks_key *k = &ks->sets[0].keys[0];
    assert_int_equal(k->kty, KS_KTY_RSA);
    assert_int_equal(k->bits, 2048);
    assert_string_equal(k->kid, "1LTMzakihiRla_8z2BEJVXeWMqo");
    assert_string_equal(k->x5t, "1LTMzakihiRla_8z2BEJVXeWMqo");
    assert_string_equal(k->jkt, "kP2ox0dPp3uuT6IhJARw5E8I9ZWku4tl9NRrgQ8W-LY");
    assert_string_equal(k->cert_sha1, "d4b4cccda9228624656bff33d8110955779632aa");
    assert_string_equal(k->x5t256, "Q-oCF945Bmo2Fk4hZV6O17LvqmfkFVAzg3raJt9rtZ4");
    assert_string_equal(k->issuer, CONSUMER_ISS);
    assert_true(k->has_validity);
    assert_int_equal(k->not_before, 1459867415); /* 2016-04-05T14:43:35Z */
    assert_int_equal(k->not_after, 1617547415);  /* 2021-04-04T14:43:35Z */
    assert_ptr_equal(k->set, &ks->sets[0]);
    keystore_free(ks);
}

/* x5t computed from the certificate when the JWK does not carry it. */
static void test_storm_x5t_from_cert(void **state)
{
    (void)state;
    if (!have(STORM_JWK))
        skip();
    json_error_t e;
    json_t *jwk = json_load_file(STORM_JWK, 0, &e);
    assert_non_null(jwk);
    json_object_del(jwk, "x5t");
    json_object_del(jwk, "kid");
    json_t *set = json_pack("{s:[o]}", "keys", jwk);
    char *doc = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    struct keystore *ks = keystore_new();
    assert_int_equal(add_json(ks, "x", doc, NULL, 0), 0);
    free(doc);
    assert_int_equal(ks->sets[0].nkeys, 1);
    assert_null(ks->sets[0].keys[0].kid);
    assert_string_equal(ks->sets[0].keys[0].x5t, "1LTMzakihiRla_8z2BEJVXeWMqo");
    keystore_free(ks);
}

/* A certificate for another key than n/e: refused and counted. */
static void test_x5c_mismatch_skipped(void **state)
{
    (void)state;
    if (!have(STORM_JWK))
        skip();
    char *doc = storm_jwks("n", RFC7638_N);
    struct keystore *ks = keystore_new();
    assert_int_equal(add_json(ks, "x", doc, NULL, 0), 0);
    free(doc);
    assert_int_equal(ks->sets[0].nkeys, 0);
    assert_int_equal(ks->sets[0].skipped, 1);
    doc = storm_jwks("x5c", "not a certificate"); /* x5c not an array at all */
    assert_int_equal(add_json(ks, "y", doc, NULL, 0), 0);
    free(doc);
    assert_int_equal(ks->sets[1].nkeys, 0);
    assert_int_equal(ks->sets[1].skipped, 1);
    keystore_free(ks);
}

/* The Storm-0558 case: the consumer key sits in a keyset whose template covers every tenant
 * (as in the "common" JWKS), yet its own issuer member confines it to the consumer tenant. */
static void test_storm_scope(void **state)
{
    (void)state;
    if (!have(STORM_JWK))
        skip();
    struct keystore *ks = keystore_new();
    char *doc = storm_jwks(NULL, NULL);
    const char *common[] = {V2_TMPL};
    assert_int_equal(add_json(ks, "entra-common", doc, common, 1), 0);
    free(doc);
    const struct ks_key *k = &ks->sets[0].keys[0];
    assert_true(keystore_set_trusts(ks, k->set, ENT_ISS, ENT_TID));
    assert_false(keystore_key_allows(ks, k, ENT_ISS, ENT_TID));
    assert_false(keystore_key_allows(ks, k, ENT_ISS, NULL));
    /* Claiming the consumer tid on an enterprise iss does not help either. */
    assert_false(keystore_key_allows(ks, k, ENT_ISS, CONSUMER_TID));
    assert_true(keystore_key_allows(ks, k, CONSUMER_ISS, CONSUMER_TID));
    /* nor does a v1 (sts.windows.net) enterprise issuer, the form Storm-0558 used for OWA */
    const char *v1[] = {"https://sts.windows.net/{tenantid}/"};
    doc = storm_jwks(NULL, NULL);
    assert_int_equal(add_json(ks, "entra-v1", doc, v1, 1), 0);
    free(doc);
    k = &ks->sets[0].keys[0];
    const struct ks_key *k1 = &ks->sets[1].keys[0];
    assert_false(keystore_key_allows(ks, k1, ENT_ISS_V1, ENT_TID));
    assert_false(keystore_key_allows(ks, k1, ENT_ISS_V1, NULL));
    assert_true(keystore_key_allows(
        ks, k1, "https://sts.windows.net/9188040d-6c67-4c5b-b112-36a304b66dad/", CONSUMER_TID));
    char buf[128];
    assert_int_equal(keystore_key_issuer(k, ENT_TID, buf, sizeof(buf)), 0);
    assert_string_equal(buf, CONSUMER_ISS);
    keystore_free(ks);
}

static void test_issuer_match(void **state)
{
    (void)state;
    assert_true(keystore_issuer_match(V2_TMPL, ENT_ISS, ENT_TID));
    assert_true(keystore_issuer_match(V2_TMPL, ENT_ISS, NULL));
    assert_false(keystore_issuer_match(V2_TMPL, ENT_ISS, CONSUMER_TID));
    assert_false(keystore_issuer_match(V2_TMPL, ENT_ISS, "72f988bf-86f1-41af-91ab-2d7cd011db4"));
    assert_false(keystore_issuer_match(V2_TMPL, ENT_ISS, "72f988bf-86f1-41af-91ab-2d7cd011db477"));
    assert_false(keystore_issuer_match(V2_TMPL, "https://login.microsoftonline.com/common/v2.0",
                                       NULL));
    assert_false(keystore_issuer_match(V2_TMPL, "https://login.microsoftonline.com/"
                                                "72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/x",
                                       NULL));
    assert_false(keystore_issuer_match(V2_TMPL, "https://login.microsoftonline.com/"
                                                "72f988bf/86f1-41af-91ab-2d7cd011db47/v2.0",
                                       NULL));
    assert_false(keystore_issuer_match(V2_TMPL, "https://evil.example/"
                                                "72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
                                       NULL));
    assert_true(keystore_issuer_match("https://sts.windows.net/{tenantid}/",
                                      "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
                                      ENT_TID));
    assert_true(keystore_issuer_match(CONSUMER_ISS, CONSUMER_ISS, ENT_TID));
    assert_false(keystore_issuer_match(CONSUMER_ISS, ENT_ISS, ENT_TID));
    assert_true(keystore_issuer_match("*", "anything", NULL));
    assert_true(keystore_issuer_match("*", NULL, NULL));
    assert_false(keystore_issuer_match(V2_TMPL, NULL, NULL));
    assert_false(keystore_issuer_match(NULL, ENT_ISS, NULL));
}

static char *one_rsa_jwks(const char *kid, const char *issuer)
{
    json_t *jwk = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "RSA", "use", "sig", "kid", kid, "n",
                            RFC7638_N, "e", "AQAB");
    if (issuer)
        json_object_set_new(jwk, "issuer", json_string(issuer));
    json_t *set = json_pack("{s:[o]}", "keys", jwk);
    char *s = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    return s;
}

/* An Entra organizations key: issuer template, tid must match. */
static void test_template_key_scope(void **state)
{
    (void)state;
    struct keystore *ks = keystore_new();
    char *doc = one_rsa_jwks("org1", V2_TMPL);
    const char *iss[] = {V2_TMPL, "https://sts.windows.net/{tenantid}/"};
    assert_int_equal(add_json(ks, "entra-organizations", doc, iss, 2), 0);
    free(doc);
    const struct ks_key *k = &ks->sets[0].keys[0];
    assert_true(keystore_key_allows(ks, k, ENT_ISS, ENT_TID));
    assert_false(keystore_key_allows(ks, k, ENT_ISS, "00000000-0000-0000-0000-000000000001"));
    /* v1 tokens: the key's v2-form issuer is compared through the same tenant's v2 issuer */
    assert_true(keystore_key_allows(ks, k, ENT_ISS_V1, ENT_TID));
    assert_true(keystore_key_allows(ks, k, ENT_ISS_V1, NULL));
    assert_false(keystore_key_allows(ks, k, ENT_ISS_V1, CONSUMER_TID));
    assert_false(keystore_key_allows(
        ks, k, "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/x", ENT_TID));
    assert_false(keystore_key_allows(ks, k, "https://sts.windows.net/72f988bf/", NULL));
    assert_false(keystore_key_allows(ks, k, "https://accounts.google.com", ENT_TID));
    char buf[128];
    assert_int_equal(keystore_key_issuer(k, ENT_TID, buf, sizeof(buf)), 0);
    assert_string_equal(buf, ENT_ISS);
    assert_int_equal(keystore_key_issuer(k, NULL, buf, sizeof(buf)), 0);
    assert_string_equal(buf, V2_TMPL);
    assert_int_equal(keystore_key_issuer(k, ENT_TID, buf, 10), 0); /* truncated, terminated */
    assert_string_equal(buf, "https://l");
    keystore_free(ks);
}

/* SPEC §2: an issuer listed literally belongs to the keysets listing it, whatever other keysets'
 * templates would match. */
static void test_literal_precedence(void **state)
{
    (void)state;
    struct keystore *ks = keystore_new();
    char *org = one_rsa_jwks("org1", NULL), *msa = one_rsa_jwks("msa1", NULL);
    const char *org_iss[] = {V2_TMPL};
    const char *msa_iss[] = {CONSUMER_ISS};
    assert_int_equal(add_json(ks, "organizations", org, org_iss, 1), 0);
    assert_int_equal(add_json(ks, "consumers", msa, msa_iss, 1), 0);
    free(org);
    free(msa);
    const struct ks_keyset *so = &ks->sets[0], *sm = &ks->sets[1];
    assert_false(keystore_set_trusts(ks, so, CONSUMER_ISS, CONSUMER_TID));
    assert_true(keystore_set_trusts(ks, sm, CONSUMER_ISS, CONSUMER_TID));
    assert_true(keystore_set_trusts(ks, so, ENT_ISS, ENT_TID));
    assert_false(keystore_set_trusts(ks, sm, ENT_ISS, ENT_TID));
    assert_false(keystore_key_allows(ks, &so->keys[0], CONSUMER_ISS, CONSUMER_TID));
    assert_true(keystore_key_allows(ks, &sm->keys[0], CONSUMER_ISS, CONSUMER_TID));
    assert_false(keystore_key_allows(ks, &sm->keys[0], ENT_ISS, ENT_TID));
    assert_true(keystore_issuer_trusted(ks, CONSUMER_ISS, CONSUMER_TID));
    assert_true(keystore_issuer_trusted(ks, ENT_ISS, ENT_TID));
    assert_false(keystore_issuer_trusted(ks, "https://evil.example/", NULL));
    char buf[128];
    assert_int_equal(keystore_key_issuer(&sm->keys[0], NULL, buf, sizeof(buf)), 0);
    assert_string_equal(buf, CONSUMER_ISS);

    /* A "*" keyset (check-token --jwks) trusts everything but what others own literally. */
    char *any = one_rsa_jwks("any1", NULL);
    const char *star[] = {"*"};
    assert_int_equal(add_json(ks, "cli", any, star, 1), 0);
    free(any);
    const struct ks_keyset *sa = &ks->sets[2];
    assert_true(keystore_set_trusts(ks, sa, "https://evil.example/", NULL));
    assert_true(keystore_set_trusts(ks, sa, ENT_ISS, ENT_TID));
    assert_false(keystore_set_trusts(ks, sa, CONSUMER_ISS, CONSUMER_TID));
    assert_int_equal(keystore_key_issuer(&sa->keys[0], NULL, buf, sizeof(buf)), -1);
    keystore_free(ks);
}

static void test_key_types_and_skips(void **state)
{
    (void)state;
    /* y of the P-256 key with its last character changed: a point off the curve */
    const char *doc =
        "{\"keys\":["
        "{\"kty\":\"RSA\",\"kid\":\"canon\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"sloppy\",\"alg\":\"RS256\",\"n\":\"" RFC7638_N_SLOPPY
        "\",\"e\":\"AAEAAQ==\"},"
        "{\"kty\":\"EC\",\"kid\":\"p256\",\"crv\":\"P-256\",\"x\":\"" P256_X "\",\"y\":\"" P256_Y
        "\"},"
        "{\"kty\":\"OKP\",\"kid\":\"ed\",\"crv\":\"Ed25519\",\"x\":\"" ED_X "\"},"
        /* skipped from here on: */
        "{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"},"
        "{\"kty\":\"RSA\",\"kid\":\"small\",\"n\":\"" RSA1024_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":5,\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\"},"
        "{\"kty\":\"RSA\",\"kid\":\"noe\",\"n\":\"" RFC7638_N "\"},"
        "{\"kty\":\"RSA\",\"kid\":\"e1\",\"n\":\"" RFC7638_N "\",\"e\":\"AQ\"},"
        "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" P256_X "\",\"y\":\"" P256_Y "\"},"
        "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" P256_X "\",\"y\":\"x3h5ZOqsAOWSH7FJimD0YGdms9loUAFVjRqXTnNBUT8\"},"
        "{\"kty\":\"EC\",\"crv\":\"secp256k1\",\"x\":\"" P256_X "\",\"y\":\"" P256_Y "\"},"
        "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" ED_X "\"},"
        "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUR\"},"
        "{\"kty\":\"XYZ\"},{},[],\"key\",null"
        "]}";
    struct keystore *ks = keystore_new();
    assert_int_equal(add_json(ks, "mixed", doc, NULL, 0), 0);
    const struct ks_keyset *s = &ks->sets[0];
    assert_int_equal(s->nkeys, 4);
    assert_int_equal(s->skipped, 16);
    assert_string_equal(s->keys[0].jkt, RFC7638_JKT);
    assert_string_equal(s->keys[1].jkt, RFC7638_JKT); /* lenient input, canonical thumbprint */
    assert_string_equal(s->keys[1].alg, "RS256");
    assert_int_equal(s->keys[1].bits, 2048);
    assert_int_equal(s->keys[2].kty, KS_KTY_EC);
    assert_int_equal(s->keys[2].curve_nid, NID_X9_62_prime256v1);
    assert_int_equal(s->keys[2].bits, 256);
    assert_string_equal(s->keys[2].jkt, P256_JKT);
    assert_int_equal(s->keys[3].kty, KS_KTY_OKP);
    assert_int_equal(s->keys[3].curve_nid, NID_ED25519);
    assert_string_equal(s->keys[3].jkt, ED_JKT);
    assert_null(s->keys[3].cert_sha1);
    assert_false(s->keys[3].has_validity);
    keystore_free(ks);
}

static void test_document_errors(void **state)
{
    (void)state;
    struct keystore *ks = keystore_new();
    char err[256];
    const char *bad = "{\"keys\": [\n  {\"kty\": \"RSA\",}\n]}";
    assert_int_equal(keystore_add_jwks_json(ks, "b", bad, strlen(bad), NULL, 0, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "line 2"));
    const char *nokeys = "{\"key\": []}";
    assert_int_equal(
        keystore_add_jwks_json(ks, "b", nokeys, strlen(nokeys), NULL, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "\"keys\""));
    const char *notarr = "{\"keys\": {}}";
    assert_int_equal(
        keystore_add_jwks_json(ks, "b", notarr, strlen(notarr), NULL, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not an array"));
    assert_int_equal(keystore_add_jwks_file(ks, "f", "/nonexistent/x.jwks.json", NULL, 0, err,
                                            sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "/nonexistent/x.jwks.json"));
    assert_int_equal(ks->nsets, 0);
    /* An empty set is a valid (if useless) document. */
    assert_int_equal(add_json(ks, "empty", "{\"keys\":[]}", NULL, 0), 0);
    assert_int_equal(ks->sets[0].nkeys, 0);
    keystore_free(ks);
}

static void test_revoked(void **state)
{
    (void)state;
    if (!have(STORM_JWK))
        skip();
    struct keystore *ks = keystore_new();
    char *doc = storm_jwks(NULL, NULL);
    assert_int_equal(add_json(ks, "msa", doc, NULL, 0), 0);
    free(doc);
    const struct ks_key *k = &ks->sets[0].keys[0];
    assert_null(keystore_revoked(ks, k, k->kid, k->x5t));
    assert_int_equal(keystore_add_revoked(ks, NULL, NULL, NULL, NULL, "x"), -1);
    assert_int_equal(keystore_add_revoked(ks, NULL, NULL, "d4b4", NULL, "short"), -1);
    assert_int_equal(keystore_add_revoked(ks, NULL, NULL,
                                          "D4:B4:CC:CD:A9:22:86:24:65:6B:FF:33:D8:11:09:55:77:96:32:AA",
                                          NULL, "storm"),
                     0);
    const struct ks_revoked *r = keystore_revoked(ks, k, NULL, NULL);
    assert_non_null(r);
    assert_string_equal(r->sha1, "d4b4cccda9228624656bff33d8110955779632aa");
    assert_string_equal(r->reason, "storm");
    /* Header alone: its x5t is the base64url of that SHA-1. */
    assert_ptr_equal(keystore_revoked(ks, NULL, NULL, "1LTMzakihiRla_8z2BEJVXeWMqo"), r);
    assert_null(keystore_revoked(ks, NULL, "other", "NzbLsXh8uDCcd-6MNwXF4W_7no"));
    keystore_free(ks);

    ks = keystore_new();
    doc = one_rsa_jwks("k1", NULL);
    assert_int_equal(add_json(ks, "s", doc, NULL, 0), 0);
    free(doc);
    k = &ks->sets[0].keys[0];
    assert_int_equal(keystore_add_revoked(ks, "someone-else", NULL, NULL, NULL, "a"), 0);
    assert_null(keystore_revoked(ks, k, "k1", NULL));
    assert_int_equal(keystore_add_revoked(ks, NULL, NULL, NULL, RFC7638_JKT, "by jkt"), 0);
    r = keystore_revoked(ks, k, "k1", NULL);
    assert_non_null(r);
    assert_string_equal(r->reason, "by jkt");
    assert_null(keystore_revoked(ks, NULL, "k1", NULL)); /* jkt needs the key */
    assert_int_equal(keystore_add_revoked(ks, "k1", NULL, NULL, NULL, "by kid"), 0);
    assert_string_equal(keystore_revoked(ks, NULL, "k1", NULL)->reason, "by kid");
    assert_int_equal(keystore_add_revoked(ks, NULL, "hdr-x5t", NULL, NULL, "by x5t"), 0);
    assert_string_equal(keystore_revoked(ks, NULL, NULL, "hdr-x5t")->reason, "by x5t");
    keystore_free(ks);
}

static void test_find_and_many_sets(void **state)
{
    (void)state;
    struct keystore *ks = keystore_new();
    char name[16];
    /* Enough keysets to force the set array to move; keys must follow their set. */
    for (int i = 0; i < 40; i++) {
        char kid[16];
        snprintf(kid, sizeof(kid), "kid%d", i % 20);
        snprintf(name, sizeof(name), "set%d", i);
        char *doc = one_rsa_jwks(kid, NULL);
        assert_int_equal(add_json(ks, name, doc, NULL, 0), 0);
        free(doc);
    }
    for (size_t i = 0; i < ks->nsets; i++)
        assert_ptr_equal(ks->sets[i].keys[0].set, &ks->sets[i]);
    const struct ks_key *out[4];
    assert_int_equal(keystore_find(ks, "kid3", NULL, NULL, out, 4), 2);
    assert_string_equal(out[0]->set->name, "set3");
    assert_string_equal(out[1]->set->name, "set23");
    assert_int_equal(keystore_find(ks, "kid3", NULL, NULL, out, 1), 1);
    assert_int_equal(keystore_find(ks, "nope", NULL, NULL, out, 4), 0);
    assert_int_equal(keystore_find(ks, NULL, NULL, NULL, out, 4), 0);
    keystore_free(ks);

    /* x5t is the fallback when kid is absent or matches nothing. */
    ks = keystore_new();
    const char *doc = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"x5t\":\"T1\",\"n\":\"" RFC7638_N
                      "\",\"e\":\"AQAB\"}]}";
    assert_int_equal(add_json(ks, "s", doc, NULL, 0), 0);
    assert_int_equal(keystore_find(ks, "zzz", "T1", NULL, out, 4), 1);
    assert_int_equal(keystore_find(ks, NULL, "T1", NULL, out, 4), 1);
    assert_int_equal(keystore_find(ks, "a", "other", NULL, out, 4), 1);
    assert_int_equal(keystore_find(ks, "zzz", "T2", NULL, out, 4), 0);
    keystore_free(ks);
}

struct snapshot {
    const char *file;
    size_t nkeys;
    int entra;
};

static void test_idp_snapshots(void **state)
{
    (void)state;
    /* Counts checked against the files with jq: every key there is RSA-2048 "sig" (or no use). */
    static const struct snapshot snaps[] = {
        {"entra-common.jwks.json", 7, 1},
        {"entra-organizations.jwks.json", 6, 1},
        {"entra-common.all-historical-keys.json", 42, 1},
        {"google.jwks.json", 2, 0},
        {"apple.jwks.json", 3, 0},
        {"slack.jwks.json", 1, 0},
    };
    if (!have(SNAP "entra-common.jwks.json"))
        skip();
    struct keystore *ks = keystore_new();
    for (size_t i = 0; i < sizeof(snaps) / sizeof(snaps[0]); i++) {
        char path[512], err[256];
        snprintf(path, sizeof(path), SNAP "%s", snaps[i].file);
        const char *iss[] = {V2_TMPL};
        assert_int_equal(keystore_add_jwks_file(ks, snaps[i].file, path, iss, 1, err, sizeof(err)),
                         0);
        const struct ks_keyset *s = &ks->sets[ks->nsets - 1];
        print_message("%s: %zu keys, %zu skipped\n", snaps[i].file, s->nkeys, s->skipped);
        assert_int_equal(s->nkeys, snaps[i].nkeys);
        assert_int_equal(s->skipped, 0);
        for (size_t j = 0; j < s->nkeys; j++) {
            assert_non_null(s->keys[j].jkt);
            if (snaps[i].entra) {
                assert_non_null(s->keys[j].issuer);
                assert_non_null(s->keys[j].cert_sha1);
                assert_true(s->keys[j].has_validity);
            }
        }
    }
    /* The live common JWKS mixes template keys with consumer-tenant keys. */
    const struct ks_keyset *common = &ks->sets[0];
    size_t consumer = 0, tmpl = 0;
    for (size_t j = 0; j < common->nkeys; j++) {
        const struct ks_key *k = &common->keys[j];
        if (strcmp(k->issuer, CONSUMER_ISS) == 0) {
            consumer++;
            assert_false(keystore_key_allows(ks, k, ENT_ISS, ENT_TID));
        } else if (strcmp(k->issuer, V2_TMPL) == 0) {
            tmpl++;
            assert_true(keystore_key_allows(ks, k, ENT_ISS, ENT_TID));
            assert_false(keystore_key_allows(ks, k, ENT_ISS, CONSUMER_TID));
        }
    }
    assert_int_equal(consumer, 2);
    assert_int_equal(tmpl, 5);
    keystore_free(ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storm_identity),
        cmocka_unit_test(test_storm_x5t_from_cert),
        cmocka_unit_test(test_x5c_mismatch_skipped),
        cmocka_unit_test(test_storm_scope),
        cmocka_unit_test(test_issuer_match),
        cmocka_unit_test(test_template_key_scope),
        cmocka_unit_test(test_literal_precedence),
        cmocka_unit_test(test_key_types_and_skips),
        cmocka_unit_test(test_document_errors),
        cmocka_unit_test(test_revoked),
        cmocka_unit_test(test_find_and_many_sets),
        cmocka_unit_test(test_idp_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
