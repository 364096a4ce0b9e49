/* test_policy_shed.c — shedding verification (engine.verify-shed, finding verification_shed):
 * with the signature check shed, every cheap check still gives its finding (the Storm-0558
 * patterns key_revoked and key_issuer_mismatch, tenant, issuer, algorithm, lifetime, time), the
 * signature stays not_checked and verification_shed is added only where a verification would
 * have run; policy_shed_due() reads the lag of the packet in hand against the wall clock; and
 * the verification cache keeps a shed verdict only until the worker has caught up: the next
 * lookup then verifies the token for real. Tokens are signed here with the committed TEST-ONLY
 * demo keys (policy_fixture.h) and judged against the shipped demo key sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "policy_fixture.h"
#include "vcache.h"

#define SHED B(F_VERIFICATION_SHED)

/* Judges tok at T0 with the signature checks shed (shed = 1) or not: findings and signature
 * state must be e's exactly. */
static void judge_shed(struct fixture *fx, const char *tok, int shed, struct expect e,
                       const char *what)
{
    struct verdict *v = policy_judge_shed(fx->ks, &fx->pol, (const uint8_t *)tok, strlen(tok), shed);
    assert_non_null(v);
    uint32_t all = v->findings | policy_time_findings(v, &fx->pol, T0);
    if (all != e.findings || v->sig != e.sig) {
        char got[256], want[256];
        mask_names(all, got, sizeof(got));
        mask_names(e.findings, want, sizeof(want));
        fail_msg("%s (shed %d): findings [%s] sig %s, want [%s] sig %s", what, shed, got,
                 policy_sig_name(v->sig), want, policy_sig_name(e.sig));
    }
    verdict_unref(v);
}

/* The same token judged shed and not: `cheap` are the findings that need no verification, `sig`
 * the not-shed signature state and `sigf` its finding (signature_invalid or 0). verifies: a
 * verification runs when not shed (then shedding adds verification_shed). */
static void both(struct fixture *fx, EVP_PKEY *key, const char *alg, const char *header,
                 const char *payload, uint32_t cheap, enum sig_state sig, uint32_t sigf,
                 int verifies, const char *what)
{
    char *tok = make_token(key, alg, header, payload);
    judge_shed(fx, tok, 0, (struct expect){cheap | sigf, sig}, what);
    judge_shed(fx, tok, 1,
               (struct expect){cheap | (verifies ? SHED : sigf), verifies ? SIG_NOT_CHECKED : sig},
               what);
    free(tok);
}

static void test_cheap_checks_still_run(void **state)
{
    struct fixture *fx = *state;
    const char *h = "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\"}";
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    both(fx, fx->org, "RS256", h, c, 0, SIG_VALID, 0, 1, "genuine");
    both(fx, fx->attacker, "RS256", h, c, 0, SIG_INVALID, B(F_SIGNATURE_INVALID), 1, "forged");
    /* Storm-0558, both shapes: a consumer key signing an enterprise token (out of scope), and
     * the revoked kid no trusted key publishes: neither needs the signature. */
    both(fx, fx->consumer, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" CONSUMER_KID "\"}", c,
         B(F_KEY_ISSUER_MISMATCH), SIG_VALID, 0, 1, "consumer key, enterprise iss");
    both(fx, fx->attacker, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" STORM_KID "\"}", c,
         B(F_KEY_REVOKED) | B(F_KEY_UNKNOWN), SIG_NOT_CHECKED, 0, 0, "storm kid");
    /* alg none, an algorithm the key refuses, an unknown kid: no verification to shed */
    both(fx, NULL, "none", "{\"alg\":\"none\",\"kid\":\"" ORG_KID "\"}", c,
         B(F_ALG_NONE) | B(F_ALG_MISMATCH), SIG_NOT_CHECKED, 0, 0, "alg none");
    both(fx, fx->es256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"" ORG_KID "\"}", c,
         B(F_ALG_MISMATCH), SIG_NOT_CHECKED, 0, 0, "ES256 on an RSA key");
    both(fx, fx->org, "RS256", "{\"alg\":\"RS256\",\"kid\":\"nope\"}", c, B(F_KEY_UNKNOWN),
         SIG_NOT_CHECKED, 0, 0, "unknown kid");
    both(fx, fx->org, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\",\"jku\":\"https://x\"}",
         c, B(F_EMBEDDED_KEY), SIG_VALID, 0, 1, "embedded jku");
    /* a token naming no key: its issuer's keys would be tried */
    both(fx, fx->org, "RS256", "{\"alg\":\"RS256\"}", c, 0, SIG_VALID, 0, 1, "kid-less");
    free(c);

    /* tenant, issuer, lifetime and time findings */
    c = claims(TENANT_ISS, "11111111-2222-3333-4444-555555555555", T0 - 60, T0 - 60, T0 + 3600);
    both(fx, fx->org, "RS256", h, c,
         B(F_KEY_ISSUER_MISMATCH) | B(F_TENANT_MISMATCH) | B(F_ISSUER_UNTRUSTED), SIG_VALID, 0, 1,
         "tenant");
    free(c);
    c = claims("https://evil.example.net", NULL, T0 - 60, T0 - 60, T0 + 3600);
    both(fx, fx->org, "RS256", h, c, B(F_KEY_ISSUER_MISMATCH) | B(F_ISSUER_UNTRUSTED), SIG_VALID,
         0, 1, "untrusted issuer, known key");
    both(fx, fx->attacker, "RS256", "{\"alg\":\"RS256\",\"kid\":\"x\"}", c, B(F_ISSUER_UNTRUSTED),
         SIG_NOT_CHECKED, 0, 0, "untrusted issuer, no key");
    free(c);
    c = claims(TENANT_ISS, TENANT, T0 - 7200, T0 - 7200, T0 - 3600);
    both(fx, fx->attacker, "RS256", h, c, B(F_TOKEN_EXPIRED), SIG_INVALID,
         B(F_SIGNATURE_INVALID), 1, "expired forgery");
    free(c);
    c = claims(TENANT_ISS, TENANT, T0 + 3600, T0 + 3600, T0 + 7200);
    both(fx, fx->org, "RS256", h, c, B(F_TOKEN_NOT_YET_VALID), SIG_VALID, 0, 1, "not yet valid");
    free(c);
    c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 90 * 86400);
    both(fx, fx->org, "RS256", h, c, B(F_LIFETIME_EXCESSIVE), SIG_VALID, 0, 1, "lifetime");
    free(c);
    c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    both(fx, fx->expired, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" EXPIRED_KID "\"}", c,
         B(F_KEY_EXPIRED), SIG_VALID, 0, 1, "expired key");
    free(c);
}

/* A trusted key that is itself on the revocation list (matched by kid): key_revoked without
 * the signature. */
static void test_revoked_trusted_key(void **state)
{
    struct fixture *fx = *state;
    struct keystore *ks = fx->ks;
    fx->ks = demo_store();
    keystore_add_revoked(fx->ks, ORG2_KID, NULL, NULL, NULL, "leaked");
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    both(fx, fx->org2, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" ORG2_KID "\"}", c,
         B(F_KEY_REVOKED), SIG_VALID, 0, 1, "revoked trusted key");
    both(fx, fx->attacker, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" ORG2_KID "\"}", c,
         B(F_KEY_REVOKED), SIG_INVALID, B(F_SIGNATURE_INVALID), 1, "revoked trusted key, forged");
    free(c);
    keystore_free(fx->ks);
    fx->ks = ks;
}

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void test_shed_due(void **state)
{
    struct fixture *fx = *state;
    struct policy_cfg pol = fx->pol;
    uint64_t pkt = wall_us();
    assert_int_equal(policy_shed_due(&pol), 0); /* files: never (no lag, no packet) */
    pol.pkt_us = &pkt;
    assert_int_equal(policy_shed_due(&pol), 0); /* engine.verify-shed: no */
    pol.shed_lag_us = 50000;
    assert_int_equal(policy_shed_due(&pol), 0); /* the packet is fresh */
    pkt = wall_us() - 2000000;
    assert_int_equal(policy_shed_due(&pol), 1); /* two seconds behind */
    pkt = wall_us() + 2000000;
    assert_int_equal(policy_shed_due(&pol), 0); /* a packet stamped ahead of the clock */
    pkt = 0;
    assert_int_equal(policy_shed_due(&pol), 0); /* no packet in hand: a flow expired on idle */
}

/* The cache: a token judged while behind is shed and cached as such; seen again while still
 * behind it is a plain hit; seen once caught up it is verified and the entry replaced, the
 * shed verdict living on for whoever still holds it. */
static void test_vcache_reverifies(void **state)
{
    struct fixture *fx = *state;
    struct policy_cfg pol = fx->pol;
    uint64_t pkt = wall_us() - 5000000; /* five seconds behind */
    pol.shed_lag_us = 50000;
    pol.pkt_us = &pkt;
    static const uint8_t seed[16] = {3};
    struct vcache *vc = vcache_new(64, 0, seed);
    assert_non_null(vc);
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    char *forged = make_token(fx->attacker, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" ORG_KID "\"}", c);
    char *storm = make_token(fx->consumer, "RS256", "{\"alg\":\"RS256\",\"kid\":\"" CONSUMER_KID "\"}", c);
    size_t fl = strlen(forged), sl = strlen(storm);
    int hit = -1;

    struct verdict *v = vcache_get(vc, fx->ks, &pol, (const uint8_t *)forged, fl, &hit);
    assert_int_equal(hit, 0);
    assert_int_equal(v->findings, SHED);
    assert_int_equal(v->sig, SIG_NOT_CHECKED);
    struct verdict *held = v; /* a pending transaction's reference */
    verdict_ref(held);
    v = vcache_get(vc, fx->ks, &pol, (const uint8_t *)storm, sl, &hit);
    assert_int_equal(hit, 0);
    assert_int_equal(v->findings, B(F_KEY_ISSUER_MISMATCH) | SHED);
    assert_int_equal(vcache_stats(vc)->shed, 2);

    /* still behind: the shed verdict is found, not judged again */
    v = vcache_get(vc, fx->ks, &pol, (const uint8_t *)forged, fl, &hit);
    assert_int_equal(hit, 1);
    assert_ptr_equal(v, held);
    assert_int_equal(vcache_stats(vc)->misses, 2);

    /* caught up: verified now, in the entry's place */
    pkt = wall_us();
    v = vcache_get(vc, fx->ks, &pol, (const uint8_t *)forged, fl, &hit);
    assert_int_equal(hit, 0);
    assert_ptr_not_equal(v, held);
    assert_int_equal(v->findings, B(F_SIGNATURE_INVALID));
    assert_int_equal(v->sig, SIG_INVALID);
    assert_int_equal(held->findings, SHED); /* the old verdict is intact for its holder */
    verdict_unref(held);
    v = vcache_get(vc, fx->ks, &pol, (const uint8_t *)forged, fl, &hit);
    assert_int_equal(hit, 1);
    assert_int_equal(v->sig, SIG_INVALID);
    v = vcache_get(vc, fx->ks, &pol, (const uint8_t *)storm, sl, &hit);
    assert_int_equal(hit, 0);
    assert_int_equal(v->findings, B(F_KEY_ISSUER_MISMATCH));
    assert_int_equal(v->sig, SIG_VALID);
    const struct vcache_stats *st = vcache_stats(vc);
    assert_int_equal(st->shed, 2);
    assert_int_equal(st->misses, 4);
    assert_int_equal(st->hits, 2);
    assert_int_equal(st->lookups, st->hits + st->misses);
    assert_int_equal(vcache_count(vc), 2);

    /* a verified verdict is final: falling behind again does not touch it */
    pkt = wall_us() - 5000000;
    v = vcache_get(vc, fx->ks, &pol, (const uint8_t *)forged, fl, &hit);
    assert_int_equal(hit, 1);
    assert_int_equal(v->sig, SIG_INVALID);
    vcache_free(vc);
    free(forged);
    free(storm);
    free(c);
}

int main(void)
{
    if (!demo_keys_present())
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cheap_checks_still_run),
        cmocka_unit_test(test_revoked_trusted_key),
        cmocka_unit_test(test_shed_due),
        cmocka_unit_test(test_vcache_reverifies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
