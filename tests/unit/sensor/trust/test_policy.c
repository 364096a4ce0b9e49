/* test_policy.c — the verdict engine end to end below the packet layers: tokens signed here with
 * the committed TEST-ONLY demo keys (tests/gen/keys) are judged against the shipped demo key sets
 * (etc/demo/keys), one SPEC §4 finding at a time (algorithms, the Storm-0558 patterns, signature and
 * alg checks, issuer/tenant scope and time), token shapes, the verification cache and keys
 * observed on the wire. The shapes of issue 5 are in test_policy_shapes.c; the fixture both use
 * is policy_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "policy_fixture.h"
#include "verify.h"
#include "vcache.h"

static void test_valid_each_algorithm(void **state)
{
    struct fixture *fx = *state;
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    judge(fx, fx->org, "RS256", "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" ORG_KID "\"}", c,
          (struct expect){0, SIG_VALID}, "RS256 org");
    free(c);
    c = claims("https://idp.example.com", NULL, T0 - 60, T0 - 60, T0 + 3600);
    judge(fx, fx->es256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"idp-es256-2023\"}", c,
          (struct expect){0, SIG_VALID}, "ES256");
    judge(fx, fx->es384, "ES384", "{\"alg\":\"ES384\",\"kid\":\"idp-es384-2023\"}", c,
          (struct expect){0, SIG_VALID}, "ES384");
    judge(fx, fx->ed, "EdDSA", "{\"alg\":\"EdDSA\",\"kid\":\"idp-ed25519-2023\"}", c,
          (struct expect){0, SIG_VALID}, "EdDSA");
    judge(fx, fx->ps, "PS256", "{\"alg\":\"PS256\",\"kid\":\"idp-ps256-2023\"}", c,
          (struct expect){0, SIG_VALID}, "PS256");
    free(c);
}

static void test_storm_patterns(void **state)
{
    struct fixture *fx = *state;
    /* A consumer-tenant key signing an enterprise-tenant token: perfectly signed, out of scope. */
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    judge(fx, fx->consumer, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" CONSUMER_KID "\"}", c,
          (struct expect){B(F_KEY_ISSUER_MISMATCH), SIG_VALID}, "consumer key, enterprise iss");
    /* The real Storm-0558 kid: revoked, and no trusted key publishes it. */
    judge(fx, fx->attacker, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" STORM_KID "\"}", c,
          (struct expect){B(F_KEY_REVOKED) | B(F_KEY_UNKNOWN), SIG_NOT_CHECKED}, "storm kid");
    free(c);
    /* An organizations key signing for the consumer tenant, which consumers keys alone sign. */
    c = claims(CONSUMER_ISS, CONSUMER_TID, T0 - 60, T0 - 60, T0 + 3600);
    judge(fx, fx->org, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\"}", c,
          (struct expect){B(F_KEY_ISSUER_MISMATCH), SIG_VALID}, "org key, consumer iss");
    judge(fx, fx->consumer, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" CONSUMER_KID "\"}", c,
          (struct expect){0, SIG_VALID}, "consumer key, consumer iss");
    free(c);
}

static void test_signature_and_alg(void **state)
{
    struct fixture *fx = *state;
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    const char *h = "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\"}";
    judge(fx, fx->attacker, "RS256", h, c, (struct expect){B(F_SIGNATURE_INVALID), SIG_INVALID},
          "forged");
    judge(fx, NULL, "none", "{\"alg\":\"none\",\"kid\":\"" ORG_KID "\"}", c,
          (struct expect){B(F_ALG_NONE) | B(F_ALG_MISMATCH), SIG_NOT_CHECKED}, "alg none with kid");
    judge(fx, NULL, "none", "{\"alg\":\"NoNe\"}", c,
          (struct expect){B(F_ALG_NONE) | B(F_ALG_MISMATCH) | B(F_KEY_UNKNOWN), SIG_NOT_CHECKED},
          "alg none no kid");
    judge(fx, NULL, "HS256", "{\"alg\":\"HS256\",\"kid\":\"" ORG_KID "\"}", c,
          (struct expect){B(F_ALG_MISMATCH), SIG_NOT_CHECKED}, "HS256 against RSA");
    judge(fx, fx->org, "RS256", "{\"alg\":\"ES256\",\"kid\":\"" ORG_KID "\"}", c,
          (struct expect){B(F_ALG_MISMATCH), SIG_NOT_CHECKED}, "ES256 against RSA");
    judge(fx, fx->org, "RS256",
          "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\",\"jwk\":{\"kty\":\"RSA\"}}", c,
          (struct expect){B(F_EMBEDDED_KEY), SIG_VALID}, "embedded jwk");
    judge(fx, fx->org, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\",\"nonce\":\"abc\"}", c,
          (struct expect){0, SIG_UNVERIFIABLE}, "graph nonce");
    judge(fx, fx->org, "RS256",
          "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\",\"b64\":false,\"crit\":[\"b64\"]}", c,
          (struct expect){B(F_MALFORMED), SIG_VALID}, "crit b64"); /* see test_b64_false */
    free(c);
    /* ES384 key asked to do ES256 */
    c = claims("https://idp.example.com", NULL, T0 - 60, T0 - 60, T0 + 3600);
    judge(fx, fx->es384, "ES384", "{\"alg\":\"ES256\",\"kid\":\"idp-es384-2023\"}", c,
          (struct expect){B(F_ALG_MISMATCH), SIG_NOT_CHECKED}, "ES256 on P-384");
    free(c);
}

static void test_scope_and_time(void **state)
{
    struct fixture *fx = *state;
    const char *h = "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\"}";
    char *c = claims(TENANT_ISS, "11111111-2222-3333-4444-555555555555", T0 - 60, T0 - 60, T0 + 3600);
    judge(fx, fx->org, "RS256", h, c,
          (struct expect){B(F_KEY_ISSUER_MISMATCH) | B(F_TENANT_MISMATCH) | B(F_ISSUER_UNTRUSTED),
                          SIG_VALID},
          "tenant");
    free(c);
    c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    judge(fx, fx->expired, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" EXPIRED_KID "\"}", c,
          (struct expect){B(F_KEY_EXPIRED), SIG_VALID}, "expired key");
    judge(fx, fx->org, "RS256", "{\"alg\":\"RS256\",\"kid\":\"no-such-kid\"}", c,
          (struct expect){B(F_KEY_UNKNOWN), SIG_NOT_CHECKED}, "unknown kid");
    free(c);
    c = claims("https://evil.example.net", NULL, T0 - 60, T0 - 60, T0 + 3600);
    judge(fx, fx->attacker, "RS256", "{\"alg\":\"RS256\",\"kid\":\"x\"}", c,
          (struct expect){B(F_ISSUER_UNTRUSTED), SIG_NOT_CHECKED}, "untrusted iss");
    free(c);
    c = claims(TENANT_ISS, TENANT, T0 + 3600, T0 + 3600, T0 + 7200);
    judge(fx, fx->org, "RS256", h, c, (struct expect){B(F_TOKEN_NOT_YET_VALID), SIG_VALID}, "nbf");
    free(c);
    c = claims(TENANT_ISS, TENANT, T0 - 7200, T0 - 7200, T0 - 3600);
    judge(fx, fx->org, "RS256", h, c, (struct expect){B(F_TOKEN_EXPIRED), SIG_VALID}, "expired");
    free(c);
    /* within clock skew: no finding */
    c = claims(TENANT_ISS, TENANT, T0 + 200, T0 + 200, T0 + 3600);
    judge(fx, fx->org, "RS256", h, c, (struct expect){0, SIG_VALID}, "skew");
    free(c);
    c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 90 * 86400);
    judge(fx, fx->org, "RS256", h, c, (struct expect){B(F_LIFETIME_EXCESSIVE), SIG_VALID}, "life");
    free(c);
}

static void judge_text(struct fixture *fx, const char *tok, enum jwt_type type, uint32_t findings)
{
    struct verdict *v = policy_judge(fx->ks, &fx->pol, (const uint8_t *)tok, strlen(tok));
    assert_non_null(v);
    assert_int_equal(v->type, type);
    assert_int_equal(v->findings | policy_time_findings(v, &fx->pol, T0), findings);
    assert_int_equal(strlen(v->sha256), 64);
    verdict_unref(v);
}

static void test_shapes(void **state)
{
    struct fixture *fx = *state;
    judge_text(fx, "eyJhbGciOiJSUzI1NiJ9.eyJub3QganNvbg.c2ln", JWT_TYPE_JWT, B(F_MALFORMED));
    judge_text(fx, "eyJub3QganNvbg.eyJhIjoxfQ.c2ln", JWT_TYPE_JWT, B(F_MALFORMED));
    judge_text(fx, "eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn", JWT_TYPE_JWE, 0);
    judge_text(fx, "2YotnFZFEjr1zCsicMWpAA", JWT_TYPE_OPAQUE, 0);
    judge_text(fx, "a.b.c", JWT_TYPE_OPAQUE, 0);
}

static void test_vcache(void **state)
{
    struct fixture *fx = *state;
    uint8_t seed[16] = {1, 2, 3};
    struct vcache *vc = vcache_new(4, 0, seed);
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    char *tok = make_token(fx->org, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\"}", c);
    int hit = -1;
    struct verdict *v = vcache_get(vc, fx->ks, &fx->pol, (uint8_t *)tok, strlen(tok), &hit);
    assert_int_equal(hit, 0);
    assert_int_equal(v->sig, SIG_VALID);
    verdict_ref(v); /* kept by a pending transaction across evictions */
    struct verdict *w = vcache_get(vc, fx->ks, &fx->pol, (uint8_t *)tok, strlen(tok), &hit);
    assert_int_equal(hit, 1);
    assert_ptr_equal(v, w);
    /* A token differing in one byte is a different entry. */
    tok[strlen(tok) - 1] ^= 1;
    w = vcache_get(vc, fx->ks, &fx->pol, (uint8_t *)tok, strlen(tok), &hit);
    assert_int_equal(hit, 0);
    assert_ptr_not_equal(v, w);
    tok[strlen(tok) - 1] ^= 1;
    /* Fill past capacity: the least recently used goes, the referenced verdict survives. */
    for (int i = 0; i < 6; i++) {
        char opaque[32];
        snprintf(opaque, sizeof(opaque), "opaque-token-%d", i);
        vcache_get(vc, fx->ks, &fx->pol, (uint8_t *)opaque, strlen(opaque), &hit);
        assert_int_equal(hit, 0);
    }
    const struct vcache_stats *st = vcache_stats(vc);
    assert_int_equal(st->inserts, 8);
    assert_int_equal(st->evictions, 4);
    assert_int_equal(st->hits, 1);
    assert_int_equal(v->sig, SIG_VALID); /* still readable: our reference kept it */
    /* Segmented LRU (vcache.c): tok was hit once, so it sits in the protected segment and the
     * one-shot tokens evicted each other (and tok's one-byte twin) instead. */
    vcache_get(vc, fx->ks, &fx->pol, (uint8_t *)tok, strlen(tok), &hit);
    assert_int_equal(hit, 1);
    verdict_unref(v);
    vcache_free(vc);
    free(tok);
    free(c);
}

/* policy.verify-observed-keys: a key the issuer publishes on the wire (observed) verifies tokens
 * of a configured issuer whose key no configured set holds; without the switch: key_unknown. */
static void test_observed_keys(void **state)
{
    struct fixture *fx = *state;
    char err[512], path[512];
    struct keystore *trusted = keystore_new(), *obs = keystore_new();
    const char *org[] = {ORG_ISS};
    snprintf(path, sizeof(path), "%s/etc/demo/keys/demo-organizations.jwks.json", TW_SOURCE_DIR);
    if (keystore_add_jwks_file(trusted, "demo-organizations", path, org, 1, err, sizeof(err)))
        fail_msg("%s", err);
    snprintf(path, sizeof(path), "%s/etc/demo/keys/demo-idp.jwks.json", TW_SOURCE_DIR);
    if (keystore_add_jwks_file(obs, "observed:idp.example.com/jwks", path, NULL, 0, err,
                               sizeof(err)))
        fail_msg("%s", err);
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    char *tok = make_token(fx->es256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"idp-es256-2023\"}", c);
    struct policy_cfg pol = fx->pol;
    struct verdict *v = policy_judge(trusted, &pol, (uint8_t *)tok, strlen(tok));
    assert_int_equal(v->findings, B(F_KEY_UNKNOWN));
    verdict_unref(v);
    pol.observed = obs;
    v = policy_judge(trusted, &pol, (uint8_t *)tok, strlen(tok));
    assert_int_equal(v->findings, 0);
    assert_int_equal(v->sig, SIG_VALID);
    assert_string_equal(v->keyset, "observed:idp.example.com/jwks");
    verdict_unref(v);
    /* forged: another base64url character in the signature (ES256 signatures are randomised,
     * so flipping a bit could make an invalid character and an opaque token instead) */
    tok[strlen(tok) - 3] = tok[strlen(tok) - 3] == 'A' ? 'B' : 'A';
    v = policy_judge(trusted, &pol, (uint8_t *)tok, strlen(tok));
    assert_int_equal(v->findings, B(F_SIGNATURE_INVALID));
    verdict_unref(v);
    /* an untrusted issuer is not rescued by observed keys */
    free(c);
    c = claims("https://evil.example.net", NULL, T0 - 60, T0 - 60, T0 + 3600);
    free(tok);
    tok = make_token(fx->es256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"idp-es256-2023\"}", c);
    v = policy_judge(trusted, &pol, (uint8_t *)tok, strlen(tok));
    assert_int_equal(v->findings, B(F_ISSUER_UNTRUSTED));
    verdict_unref(v);
    /* the verdict keeps its own copy of an observed key set's name */
    free(c);
    c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    free(tok);
    tok = make_token(fx->es256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"idp-es256-2023\"}", c);
    v = policy_judge(trusted, &pol, (uint8_t *)tok, strlen(tok));
    keystore_free(obs);
    assert_string_equal(v->keyset, "observed:idp.example.com/jwks");
    verdict_unref(v);
    keystore_free(trusted);
    free(tok);
    free(c);
}

/* Tokens naming no key (no kid, x5t or x5t#S256): the keys of the keysets that may sign for
 * the issuer and fit alg are tried, at most pol.kidless_max of them. */
static void test_kidless(void **state)
{
    struct fixture *fx = *state;
    const char *rs = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
    /* one key: the consumer keyset's only key */
    char *c = claims(CONSUMER_ISS, CONSUMER_TID, T0 - 60, T0 - 60, T0 + 3600);
    char *tok = make_token(fx->consumer, "RS256", rs, c);
    struct verdict *v = judge_at(fx->ks, &fx->pol, tok, T0, (struct expect){0, SIG_VALID},
                                 CONSUMER_KID, "kidless, one key");
    assert_string_equal(v->keyset, "demo-consumers");
    assert_string_equal(v->key_issuer, CONSUMER_ISS);
    assert_null(v->c.kid);
    verdict_unref(v);
    free(tok);
    /* the organizations key is not the consumer tenant's: only the consumer key is tried */
    tok = make_token(fx->org, "RS256", rs, c);
    verdict_unref(judge_at(fx->ks, &fx->pol, tok, T0,
                           (struct expect){B(F_SIGNATURE_INVALID), SIG_INVALID}, "",
                           "kidless, org key for the consumer tenant"));
    free(tok);
    free(c);

    /* several keys, the right one last (organizations: org-1, org-2, org-expired) */
    c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    tok = make_token(fx->expired, "RS256", rs, c);
    v = judge_at(fx->ks, &fx->pol, tok, T0, (struct expect){B(F_KEY_EXPIRED), SIG_VALID},
                 EXPIRED_KID, "kidless, third of three");
    assert_string_equal(v->keyset, "demo-organizations");
    verdict_unref(v);
    /* the bound: two keys tried, the third not: key_unknown, signature not checked */
    struct policy_cfg pol = fx->pol;
    pol.kidless_max = 2;
    verdict_unref(judge_at(fx->ks, &pol, tok, T0,
                           (struct expect){B(F_KEY_UNKNOWN), SIG_NOT_CHECKED}, "",
                           "kidless, over the bound"));
    pol.kidless_max = 3;
    verdict_unref(judge_at(fx->ks, &pol, tok, T0, (struct expect){B(F_KEY_EXPIRED), SIG_VALID},
                           EXPIRED_KID, "kidless, at the bound"));
    pol.kidless_max = 0; /* off: as before kid-less lookup existed */
    verdict_unref(judge_at(fx->ks, &pol, tok, T0,
                           (struct expect){B(F_KEY_UNKNOWN), SIG_NOT_CHECKED}, "",
                           "kidless, switched off"));
    free(tok);
    /* none fitting: forged with a key the issuer does not publish */
    tok = make_token(fx->attacker, "RS256", rs, c);
    verdict_unref(judge_at(fx->ks, &fx->pol, tok, T0,
                           (struct expect){B(F_SIGNATURE_INVALID), SIG_INVALID}, "",
                           "kidless, forged"));
    pol.kidless_max = 2; /* forged and more candidates than the bound: undecided */
    verdict_unref(judge_at(fx->ks, &pol, tok, T0,
                           (struct expect){B(F_KEY_UNKNOWN), SIG_NOT_CHECKED}, "",
                           "kidless, forged, over the bound"));
    free(tok);
    /* no key of the alg's type (ES256 for an RSA-only issuer): nothing to try */
    tok = make_token(fx->es256, "ES256", "{\"alg\":\"ES256\"}", c);
    verdict_unref(judge_at(fx->ks, &fx->pol, tok, T0,
                           (struct expect){B(F_KEY_UNKNOWN), SIG_NOT_CHECKED}, "",
                           "kidless, no key of the type"));
    free(tok);
    /* alg none and HS256 are never tried */
    tok = make_token(NULL, "none", "{\"alg\":\"none\"}", c);
    verdict_unref(judge_at(fx->ks, &fx->pol, tok, T0,
                           (struct expect){B(F_ALG_NONE) | B(F_ALG_MISMATCH) | B(F_KEY_UNKNOWN),
                                           SIG_NOT_CHECKED},
                           "", "kidless, none"));
    free(tok);
    free(c);

    /* among keys of several types, the one that fits alg (idp: ES256, ES384, Ed25519, PS256) */
    c = claims("https://idp.example.com", NULL, T0 - 60, T0 - 60, T0 + 3600);
    tok = make_token(fx->ed, "EdDSA", "{\"alg\":\"EdDSA\"}", c);
    verdict_unref(judge_at(fx->ks, &fx->pol, tok, T0, (struct expect){0, SIG_VALID},
                           "idp-ed25519-2023", "kidless, EdDSA among types"));
    free(tok);
    free(c);
    /* an issuer no keyset covers stays issuer_untrusted */
    c = claims("https://evil.example.net", NULL, T0 - 60, T0 - 60, T0 + 3600);
    tok = make_token(fx->attacker, "RS256", rs, c);
    verdict_unref(judge_at(fx->ks, &fx->pol, tok, T0,
                           (struct expect){B(F_ISSUER_UNTRUSTED), SIG_NOT_CHECKED}, "",
                           "kidless, untrusted issuer"));
    free(tok);
    free(c);
}

/* A kid-less verdict is cached like any: the second lookup is a hit, no judging. */
static void test_kidless_cached(void **state)
{
    struct fixture *fx = *state;
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    char *tok = make_token(fx->org2, "RS256", "{\"alg\":\"RS256\"}", c);
    uint8_t seed[16] = {4, 5, 6};
    struct vcache *vc = vcache_new(16, 0, seed);
    assert_non_null(vc);
    int hit = -1;
    struct verdict *a = vcache_get(vc, fx->ks, &fx->pol, (const uint8_t *)tok, strlen(tok), &hit);
    assert_non_null(a);
    assert_int_equal(hit, 0);
    assert_int_equal(a->sig, SIG_VALID);
    assert_string_equal(a->keyset, "demo-organizations");
    struct verdict *b = vcache_get(vc, fx->ks, &fx->pol, (const uint8_t *)tok, strlen(tok), &hit);
    assert_int_equal(hit, 1);
    assert_ptr_equal(a, b);
    assert_int_equal(vcache_stats(vc)->kidless_bound, 0);
    /* the bound bites: counted once per distinct token, not per occurrence */
    struct policy_cfg pol = fx->pol;
    pol.kidless_max = 1;
    free(tok);
    tok = make_token(fx->expired, "RS256", "{\"alg\":\"RS256\"}", c);
    for (int i = 0; i < 3; i++) {
        a = vcache_get(vc, fx->ks, &pol, (const uint8_t *)tok, strlen(tok), &hit);
        assert_non_null(a);
        assert_int_equal(a->findings, B(F_KEY_UNKNOWN));
        assert_int_equal(a->kidless_bound, 1);
    }
    assert_int_equal(vcache_stats(vc)->kidless_bound, 1);
    vcache_free(vc);
    free(tok);
    free(c);
}

/* A JWK whose alg is not a JOSE algorithm ("SHA256", a 2014 Azure AD key set): the member is
 * ignored at load, so a genuine token verifies instead of alg_mismatch. */
static void test_unregistered_key_alg(void **state)
{
    struct fixture *fx = *state;
    char path[512], err[256];
    snprintf(path, sizeof(path), "%s/etc/demo/keys/demo-consumers.jwks.json", TW_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char doc[16384];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    char *kty = strstr(doc, "\"kty\"");
    assert_non_null(kty);
    char edited[16500];
    snprintf(edited, sizeof(edited), "%.*s\"alg\": \"SHA256\", %s", (int)(kty - doc), doc, kty);
    struct keystore *ks = keystore_new();
    const char *iss[] = {CONSUMER_ISS};
    assert_int_equal(keystore_add_jwks_json(ks, "sha", edited, strlen(edited), iss, 1, err,
                                            sizeof(err)), 0);
    assert_int_equal(ks->sets[0].nnotes, 1);
    char *c = claims(CONSUMER_ISS, CONSUMER_TID, T0 - 60, T0 - 60, T0 + 3600);
    char *tok = make_token(fx->consumer, "RS256",
                           "{\"alg\":\"RS256\",\"kid\":\"" CONSUMER_KID "\"}", c);
    verdict_unref(judge_at(ks, &fx->pol, tok, T0, (struct expect){0, SIG_VALID}, CONSUMER_KID,
                           "key alg SHA256"));
    free(tok);
    free(c);
    keystore_free(ks);
}

/* `signature` is invalid only when a verification ran and failed: each finding path. */
static void test_signature_truth(void **state)
{
    struct fixture *fx = *state;
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    const char *h = "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\"}";
    struct {
        EVP_PKEY *key;
        const char *alg, *header;
        struct expect e;
        const char *what;
    } cases[] = {
        {fx->org, "RS256", h, {0, SIG_VALID}, "verified"},
        {fx->attacker, "RS256", h, {B(F_SIGNATURE_INVALID), SIG_INVALID}, "ran and failed"},
        {NULL, "none", "{\"alg\":\"none\",\"kid\":\"" ORG_KID "\"}",
         {B(F_ALG_NONE) | B(F_ALG_MISMATCH), SIG_NOT_CHECKED}, "alg none: never run"},
        {fx->org, "RS256", "{\"alg\":\"PS512\",\"kid\":\"" ORG_KID "\"}",
         {B(F_SIGNATURE_INVALID), SIG_INVALID}, "PS512 with an RSA key: ran"},
        {fx->es256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"" ORG_KID "\"}",
         {B(F_ALG_MISMATCH), SIG_NOT_CHECKED}, "alg_mismatch: not run"},
        {NULL, "HS256", "{\"alg\":\"HS256\",\"kid\":\"" ORG_KID "\"}",
         {B(F_ALG_MISMATCH), SIG_NOT_CHECKED}, "HS256 outside the policy: not run"},
        {fx->org, "RS256", "{\"alg\":\"RS256\",\"kid\":\"nope\"}",
         {B(F_KEY_UNKNOWN), SIG_NOT_CHECKED}, "key_unknown: not run"},
        {fx->org, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\",\"nonce\":\"n\"}",
         {0, SIG_UNVERIFIABLE}, "nonce: unverifiable"},
        {fx->attacker, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" STORM_KID "\"}",
         {B(F_KEY_REVOKED) | B(F_KEY_UNKNOWN), SIG_NOT_CHECKED}, "revoked kid, no key: not run"},
        {fx->consumer, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" CONSUMER_KID "\"}",
         {B(F_KEY_ISSUER_MISMATCH), SIG_VALID}, "out of scope but verified"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        judge(fx, cases[i].key, cases[i].alg, cases[i].header, c, cases[i].e, cases[i].what);
    free(c);
    c = claims("https://evil.example.net", NULL, T0 - 60, T0 - 60, T0 + 3600);
    judge(fx, fx->org, "RS256", h, c, (struct expect){B(F_KEY_ISSUER_MISMATCH) | B(F_ISSUER_UNTRUSTED), SIG_VALID},
          "untrusted issuer, known key: verified");
    judge(fx, fx->attacker, "RS256", "{\"alg\":\"RS256\",\"kid\":\"x\"}", c,
          (struct expect){B(F_ISSUER_UNTRUSTED), SIG_NOT_CHECKED}, "untrusted issuer: not run");
    free(c);
}

/* keysets[].max-lifetime replaces policy.max-lifetime for the keyset's tokens. */
/* Two keys under one kid (keys update keeps a changed kid's old material as retired): a token
 * signed by either verifies, the one that verified being the token's key; a forgery is
 * signature_invalid against the first. */
static void test_shared_kid(void **state)
{
    struct fixture *fx = *state;
    char path[512], err[512];
    snprintf(path, sizeof(path), "%s/etc/demo/keys/demo-organizations.jwks.json", TW_SOURCE_DIR);
    json_t *doc = json_load_file(path, 0, NULL), *live = NULL, *old = NULL;
    assert_non_null(doc);
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(doc, "keys"), i, k) {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        if (kid && strcmp(kid, ORG_KID) == 0)
            live = json_deep_copy(k);
        if (kid && strcmp(kid, ORG2_KID) == 0)
            old = json_deep_copy(k);
    }
    assert_non_null(live);
    assert_non_null(old);
    /* org-2's material under org-1's kid, as keys update writes a replaced one */
    json_object_set_new(old, "kid", json_string(ORG_KID));
    json_object_del(old, "x5t");
    json_object_del(old, "x5c");
    json_object_set_new(old, "x-tokenwatch", json_pack("{s:b}", "retired", 1));
    json_t *set = json_pack("{s:[o,o]}", "keys", live, old);
    char *text = json_dumps(set, JSON_COMPACT);
    json_decref(set);
    json_decref(doc);
    struct keystore *ks = keystore_new();
    const char *iss[] = {ORG_ISS};
    assert_int_equal(keystore_add_jwks_json(ks, "rotated", text, strlen(text), iss, 1, err,
                                            sizeof(err)), 0);
    free(text);
    assert_int_equal(ks->sets[0].nkeys, 2);
    assert_int_equal(ks->sets[0].keys[1].retired, 1);

    char hdr[128];
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", ORG_KID);
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    const struct {
        EVP_PKEY *key;
        struct expect e;
        size_t chosen;
        const char *what;
    } cases[] = {
        {fx->org, {0, SIG_VALID}, 0, "shared kid, the live material"},
        {fx->org2, {0, SIG_VALID}, 1, "shared kid, the retired material"},
        {fx->attacker, {B(F_SIGNATURE_INVALID), SIG_INVALID}, 0, "shared kid, forged"},
    };
    for (size_t n = 0; n < sizeof(cases) / sizeof(cases[0]); n++) {
        char *tok = make_token(cases[n].key, "RS256", hdr, c);
        const struct ks_key *key = NULL;
        struct verdict *v = judge_at(ks, &fx->pol, tok, T0, cases[n].e, ORG_KID, cases[n].what);
        verdict_unref(v);
        v = policy_judge_key(ks, &fx->pol, (const uint8_t *)tok, strlen(tok), &key);
        if (key != &ks->sets[0].keys[cases[n].chosen])
            fail_msg("%s: not key #%zu", cases[n].what, cases[n].chosen);
        verdict_unref(v);
        free(tok);
    }
    free(c);
    keystore_free(ks);
}

static void test_keyset_max_lifetime(void **state)
{
    struct fixture *fx = *state;
    const char *h = "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\"}";
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 - 60 + 86700);
    judge(fx, fx->org, "RS256", h, c, (struct expect){B(F_LIFETIME_EXCESSIVE), SIG_VALID},
          "86,700 s over a policy of 86,400");
    struct ks_keyset *org = &fx->ks->sets[0];
    assert_string_equal(org->name, "demo-organizations");
    org->max_lifetime = 90000;
    judge(fx, fx->org, "RS256", h, c, (struct expect){0, SIG_VALID}, "keyset allows 90,000 s");
    org->max_lifetime = 3600;
    free(c);
    c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 - 60 + 3601);
    judge(fx, fx->org, "RS256", h, c, (struct expect){B(F_LIFETIME_EXCESSIVE), SIG_VALID},
          "keyset allows 3,600 s only");
    /* a kid-less token is judged by its matching key's keyset too */
    char *tok = make_token(fx->org, "RS256", "{\"alg\":\"RS256\"}", c);
    judge_tok(fx, tok, (struct expect){B(F_LIFETIME_EXCESSIVE), SIG_VALID}, ORG_KID,
              "kid-less, keyset bound");
    free(tok);
    org->max_lifetime = 0;
    free(c);
}

/* The same judgements through a worker's verification contexts (pol.vx), as the sensor judges:
 * the token's SHA-256 then also gives its signing input's, which every key tried reuses
 * (verify_token_digest): valid tokens of each SHA-256 algorithm, forgeries, the kidless path
 * trying several keys on one digest, and a kid shared by two keys must answer as without. */
static void test_with_contexts(void **state)
{
    struct fixture *fx = *state;
    struct verify_ctxs *vx = verify_ctxs_new(16);
    assert_non_null(vx);
    fx->pol.vx = vx;
    test_valid_each_algorithm(state);
    test_signature_truth(state);
    test_kidless(state);
    test_shared_kid(state);
    test_storm_patterns(state);
    fx->pol.vx = NULL;
    verify_ctxs_free(vx);
}

int main(void)
{
    if (!demo_keys_present())
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_each_algorithm),
        cmocka_unit_test(test_storm_patterns),
        cmocka_unit_test(test_signature_and_alg),
        cmocka_unit_test(test_scope_and_time),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_vcache),
        cmocka_unit_test(test_observed_keys),
        cmocka_unit_test(test_kidless),
        cmocka_unit_test(test_kidless_cached),
        cmocka_unit_test(test_unregistered_key_alg),
        cmocka_unit_test(test_signature_truth),
        cmocka_unit_test(test_shared_kid),
        cmocka_unit_test(test_keyset_max_lifetime),
        cmocka_unit_test(test_with_contexts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
