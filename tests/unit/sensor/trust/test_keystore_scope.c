/* test_keystore_scope.c — the issuer-scope rules (keystore.c): which issuers a keyset trusts
 * (templates with {tenantid}, literal issuers owning their tokens, "*"), which issuers a key may
 * sign for (its own issuer member confines it: the Storm-0558 consumer key in a "common" set),
 * v1/v2 issuer equivalence through the configured Entra clouds, and the real identity-provider
 * snapshots (TW_SHARED_DIR/keys/idp-snapshots: Entra consumer keys confined to the consumer
 * tenant). Loading itself is tested in test_keystore.c; keystore_fixture.h holds what both use.
 * Tests needing TW_SHARED_DIR skip when it is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keystore_fixture.h"

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
    /* nor does a v1 (sts.windows.net) enterprise issuer, the form Storm-0558 used for OWA; the
     * consumer v1 issuer is the key's own through the public cloud's v1/v2 pair */
    assert_int_equal(keystore_add_cloud(ks, PUBLIC_V1, PUBLIC_V2), 0);
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
    /* v1 tokens: the key's v2-form issuer is compared through the same tenant's v2 issuer, by
     * the public cloud's v1/v2 pair (no cloud configured: no equivalence, test_clouds) */
    assert_false(keystore_key_allows(ks, k, ENT_ISS_V1, ENT_TID));
    assert_int_equal(keystore_add_cloud(ks, PUBLIC_V1, PUBLIC_V2), 0);
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

/* Entra clouds: a v1 iss is compared through the v2 issuer of every cloud whose v1 prefix it
 * has; no cloud configured, no equivalence. Keysets trust "*" here so the key's own issuer
 * alone decides. */
static void test_clouds(void **state)
{
    (void)state;
    static const char gov_v1[] = PUBLIC_V1 "72f988bf-86f1-41af-91ab-2d7cd011db47/";
    static const char cn_v1[] = CHINA_V1 "72f988bf-86f1-41af-91ab-2d7cd011db47/";
    struct keystore *ks = keystore_new();
    const char *star[] = {"*"};
    char *gov = one_rsa_jwks("gov", USGOV_V2 "{tenantid}/v2.0");
    char *cn = one_rsa_jwks("cn", CHINA_V2 "{tenantid}/v2.0");
    char *pub = one_rsa_jwks("pub", V2_TMPL);
    assert_int_equal(add_json(ks, "gov", gov, star, 1), 0);
    assert_int_equal(add_json(ks, "cn", cn, star, 1), 0);
    assert_int_equal(add_json(ks, "pub", pub, star, 1), 0);
    free(gov);
    free(cn);
    free(pub);
    const struct ks_key *kg = &ks->sets[0].keys[0], *kc = &ks->sets[1].keys[0],
                        *kp = &ks->sets[2].keys[0];
    /* no cloud: v2 issuers match literally, v1 never */
    assert_true(keystore_key_allows(ks, kg, USGOV_V2 "72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
                                    ENT_TID));
    assert_false(keystore_key_allows(ks, kg, gov_v1, ENT_TID));
    assert_false(keystore_key_allows(ks, kc, cn_v1, ENT_TID));
    assert_false(keystore_key_allows(ks, kp, ENT_ISS_V1, ENT_TID));
    /* the public cloud alone covers neither sovereign key */
    assert_int_equal(keystore_add_cloud(ks, PUBLIC_V1, PUBLIC_V2), 0);
    assert_true(keystore_key_allows(ks, kp, ENT_ISS_V1, ENT_TID));
    assert_false(keystore_key_allows(ks, kg, gov_v1, ENT_TID));
    /* US Gov shares the v1 host: both pairs are tried */
    assert_int_equal(keystore_add_cloud(ks, PUBLIC_V1, USGOV_V2), 0);
    assert_int_equal(keystore_add_cloud(ks, CHINA_V1, CHINA_V2), 0);
    assert_int_equal(ks->nclouds, 3);
    assert_true(keystore_key_allows(ks, kg, gov_v1, ENT_TID));
    assert_true(keystore_key_allows(ks, kg, gov_v1, NULL));
    assert_false(keystore_key_allows(ks, kg, gov_v1, CONSUMER_TID));
    assert_true(keystore_key_allows(ks, kp, ENT_ISS_V1, ENT_TID));
    assert_true(keystore_key_allows(ks, kc, cn_v1, ENT_TID));
    assert_false(keystore_key_allows(ks, kc, cn_v1, CONSUMER_TID));
    /* a China key never signs for the public v1 host, nor a public key for the China one */
    assert_false(keystore_key_allows(ks, kc, ENT_ISS_V1, ENT_TID));
    assert_false(keystore_key_allows(ks, kp, cn_v1, ENT_TID));
    assert_false(keystore_key_allows(ks, kg, CHINA_V1 "72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
                                     ENT_TID));
    /* the tenant segment of a v1 iss must be a GUID */
    assert_false(keystore_key_allows(ks, kp, PUBLIC_V1 "common/", NULL));
    keystore_free(ks);
}

static void test_entra_issuer(void **state)
{
    (void)state;
    struct keystore *ks = keystore_new();
    const char *seg = NULL;
    size_t seglen = 0;
    assert_false(keystore_entra_issuer(ks, ENT_ISS, &seg, &seglen)); /* no cloud configured */
    assert_int_equal(keystore_add_cloud(ks, PUBLIC_V1, PUBLIC_V2), 0);
    assert_int_equal(keystore_add_cloud(ks, PUBLIC_V1, USGOV_V2), 0);
    assert_int_equal(keystore_add_cloud(ks, CHINA_V1, CHINA_V2), 0);
    static const struct {
        const char *iss, *seg;
    } cases[] = {
        {ENT_ISS, ENT_TID},
        {ENT_ISS_V1, ENT_TID},
        {CONSUMER_ISS, CONSUMER_TID},
        {PUBLIC_V2 "common/v2.0", "common"},
        {USGOV_V2 "72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", ENT_TID},
        {CHINA_V1 "x/", "x"},
        {CHINA_V2 "organizations/v2.0", "organizations"},
        {PUBLIC_V2 "72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/", NULL},
        {PUBLIC_V2 "a/b/v2.0", NULL},
        {PUBLIC_V2 "/v2.0", NULL},
        {PUBLIC_V1 "/", NULL},
        {PUBLIC_V1, NULL},
        {PUBLIC_V2 "72f988bf-86f1-41af-91ab-2d7cd011db47/", NULL}, /* v1 form on the v2 host */
        {"https://accounts.google.com", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        seg = NULL;
        seglen = 0;
        int r = keystore_entra_issuer(ks, cases[i].iss, &seg, &seglen);
        if (!cases[i].seg) {
            if (r)
                fail_msg("%s: taken for an Entra issuer", cases[i].iss);
            continue;
        }
        if (!r)
            fail_msg("%s: not taken for an Entra issuer", cases[i].iss);
        assert_int_equal(seglen, strlen(cases[i].seg));
        assert_memory_equal(seg, cases[i].seg, seglen);
    }
    assert_false(keystore_entra_issuer(ks, NULL, &seg, &seglen));
    assert_true(keystore_entra_issuer(ks, ENT_ISS, NULL, NULL));
    keystore_free(ks);
}

struct snapshot {
    const char *file;
    size_t nkeys;
    int entra;
    size_t consumer; /* keys whose issuer is the consumer tenant's */
};

/* A real Entra key's scope: consumer-tenant keys are confined to the consumer issuer (v2 and,
 * through the public cloud, v1); template keys serve any tenant but only as itself. */
static void check_entra_scope(const struct keystore *ks, const struct ks_key *k, size_t *consumer)
{
    static const char consumer_v1[] = PUBLIC_V1 "9188040d-6c67-4c5b-b112-36a304b66dad/";
    assert_non_null(k->issuer);
    assert_non_null(k->subject);
    assert_non_null(k->cert_sha1);
    assert_non_null(k->x5t256);
    assert_true(k->has_validity);
    if (strcmp(k->issuer, CONSUMER_ISS) == 0) {
        (*consumer)++;
        assert_false(keystore_key_allows(ks, k, ENT_ISS, ENT_TID));
        assert_false(keystore_key_allows(ks, k, ENT_ISS, CONSUMER_TID));
        assert_false(keystore_key_allows(ks, k, ENT_ISS_V1, ENT_TID));
        assert_true(keystore_key_allows(ks, k, CONSUMER_ISS, CONSUMER_TID));
        assert_true(keystore_key_allows(ks, k, consumer_v1, CONSUMER_TID));
    } else {
        assert_string_equal(k->issuer, V2_TMPL);
        assert_true(keystore_key_allows(ks, k, ENT_ISS, ENT_TID));
        assert_true(keystore_key_allows(ks, k, ENT_ISS_V1, ENT_TID));
        assert_false(keystore_key_allows(ks, k, ENT_ISS, CONSUMER_TID));
    }
}

static void test_idp_snapshots(void **state)
{
    (void)state;
    /* Counts checked against the files with jq: every key there is RSA-2048 "sig" (or no use). */
    static const struct snapshot snaps[] = {
        {"entra-common.jwks.json", 7, 1, 2},
        {"entra-organizations.jwks.json", 6, 1, 0},
        {"entra-common.all-historical-keys.json", 42, 1, 12},
        {"google.jwks.json", 2, 0, 0},
        {"apple.jwks.json", 3, 0, 0},
        {"slack.jwks.json", 1, 0, 0},
    };
    if (!have(SNAP "entra-common.jwks.json"))
        skip();
    struct keystore *ks = keystore_new();
    assert_int_equal(keystore_add_cloud(ks, PUBLIC_V1, PUBLIC_V2), 0);
    for (size_t i = 0; i < sizeof(snaps) / sizeof(snaps[0]); i++) {
        char path[512], err[256];
        snprintf(path, sizeof(path), SNAP "%s", snaps[i].file);
        const char *iss[] = {V2_TMPL, "https://sts.windows.net/{tenantid}/"};
        assert_int_equal(keystore_add_jwks_file(ks, snaps[i].file, path, iss, 2, err, sizeof(err)),
                         0);
        const struct ks_keyset *s = &ks->sets[ks->nsets - 1];
        print_message("%s: %zu keys, %zu skipped\n", snaps[i].file, s->nkeys, s->nskips);
        for (size_t j = 0; j < s->nskips; j++)
            print_message("  refused %s: %s\n", s->skips[j].kid, s->skips[j].why);
        assert_int_equal(s->nkeys, snaps[i].nkeys);
        assert_int_equal(s->skipped, 0);
        assert_int_equal(s->nskips, 0);
    }
    for (size_t i = 0; i < sizeof(snaps) / sizeof(snaps[0]); i++) {
        const struct ks_keyset *s = &ks->sets[i];
        size_t consumer = 0;
        for (size_t j = 0; j < s->nkeys; j++) {
            const struct ks_key *k = &s->keys[j];
            assert_non_null(k->jkt);
            assert_int_equal(k->kty, KS_KTY_RSA);
            assert_true(k->bits >= 2048);
            if (snaps[i].entra)
                check_entra_scope(ks, k, &consumer);
            else
                assert_null(k->issuer);
        }
        assert_int_equal(consumer, snaps[i].consumer);
    }
    keystore_free(ks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storm_scope),
        cmocka_unit_test(test_issuer_match),
        cmocka_unit_test(test_template_key_scope),
        cmocka_unit_test(test_literal_precedence),
        cmocka_unit_test(test_clouds),
        cmocka_unit_test(test_entra_issuer),
        cmocka_unit_test(test_idp_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
