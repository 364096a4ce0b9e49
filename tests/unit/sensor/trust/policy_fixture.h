/* policy_fixture.h — what the verdict-engine tests (test_policy.c, test_policy_shapes.c) share:
 * the TEST-ONLY demo private keys (tests/gen/keys) loaded once per group (setup/teardown), the
 * shipped demo key sets (etc/demo/keys) as a keystore, tokens signed here with any algorithm (RFC 7797
 * b64:false too), claims, and judge_at(): all findings and the signature state, exactly. Test
 * code only, included after cmocka.h.
 */
#ifndef TW_TEST_POLICY_FIXTURE_H
#define TW_TEST_POLICY_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "b64.h"
#include "config.h"
#include "keystore.h"
#include "policy.h"
#include "siphash.h"

#define ORG_ISS "https://login.microsoftonline.com/{tenantid}/v2.0"
#define CONSUMER_TID "9188040d-6c67-4c5b-b112-36a304b66dad"
#define CONSUMER_ISS "https://login.microsoftonline.com/" CONSUMER_TID "/v2.0"
#define TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define TENANT_ISS "https://login.microsoftonline.com/" TENANT "/v2.0"
#define T0 1685620800 /* 2023-06-01T12:00:00Z */
#define PUBLIC_V1 "https://sts.windows.net/"
#define PUBLIC_V2 "https://login.microsoftonline.com/"

#define ORG_KID "IUrbLfDoSMUtofNmDGCh6woGrdM"
#define ORG2_KID "XD-DcW2xOWJJYrUYXcCec60hwvM"
#define CONSUMER_KID "vSRLoYKPVLuAAegn1sNEUe_eoBQ"
#define EXPIRED_KID "pi-oX1UKrKBDxeJdVnJxKIgkkk8"
#define STORM_KID "1LTMzakihiRla_8z2BEJVXeWMqo"

struct fixture {
    struct keystore *ks;
    struct policy_cfg pol;
    EVP_PKEY *org, *org2, *consumer, *expired, *es256, *es384, *ed, *ps, *attacker;
};

static inline EVP_PKEY *load_key(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/gen/keys/TEST-ONLY-%s.key.pem", TW_SOURCE_DIR, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

/* The shipped demo key sets, the public Entra cloud and the Storm-0558 indicator. */
static inline struct keystore *demo_store(void)
{
    char err[512], path[512];
    struct keystore *ks = keystore_new();
    const char *org[] = {ORG_ISS, "https://sts.windows.net/{tenantid}/"};
    const char *cons[] = {CONSUMER_ISS};
    const char *idp[] = {"https://idp.example.com"};
    snprintf(path, sizeof(path), "%s/etc/demo/keys/demo-organizations.jwks.json", TW_SOURCE_DIR);
    if (keystore_add_jwks_file(ks, "demo-organizations", path, org, 2, err, sizeof(err)))
        fail_msg("%s", err);
    snprintf(path, sizeof(path), "%s/etc/demo/keys/demo-consumers.jwks.json", TW_SOURCE_DIR);
    if (keystore_add_jwks_file(ks, "demo-consumers", path, cons, 1, err, sizeof(err)))
        fail_msg("%s", err);
    snprintf(path, sizeof(path), "%s/etc/demo/keys/demo-idp.jwks.json", TW_SOURCE_DIR);
    if (keystore_add_jwks_file(ks, "demo-idp", path, idp, 1, err, sizeof(err)))
        fail_msg("%s", err);
    keystore_add_revoked(ks, STORM_KID, NULL, "d4b4cccda9228624656bff33d8110955779632aa", NULL,
                         "Storm-0558");
    assert_int_equal(keystore_add_cloud(ks, PUBLIC_V1, PUBLIC_V2), 0);
    return ks;
}

/* Which demo key is the expired one is read from its x5c window, not assumed. */
static inline int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    fx->ks = demo_store();
    fx->pol.clock_skew = 300;
    fx->pol.max_lifetime = 86400;
    fx->pol.kidless_max = 8;
    fx->pol.alg_mask = (1u << POLICY_ALG_COUNT) - 1;
    fx->org = load_key("org-1");
    fx->org2 = load_key("org-2");
    fx->consumer = load_key("consumers-1");
    fx->expired = load_key("org-expired");
    fx->es256 = load_key("idp-es256");
    fx->es384 = load_key("idp-es384");
    fx->ed = load_key("idp-ed25519");
    fx->ps = load_key("idp-ps256");
    fx->attacker = load_key("attacker");
    assert_non_null(fx->org);
    assert_non_null(fx->org2);
    assert_non_null(fx->consumer);
    assert_non_null(fx->expired);
    assert_non_null(fx->es256);
    assert_non_null(fx->es384);
    assert_non_null(fx->ed);
    assert_non_null(fx->ps);
    assert_non_null(fx->attacker);
    *state = fx;
    return 0;
}

static inline int teardown(void **state)
{
    struct fixture *fx = *state;
    EVP_PKEY *keys[] = {fx->org,   fx->org2, fx->consumer, fx->expired, fx->es256,
                        fx->es384, fx->ed,   fx->ps,       fx->attacker};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        EVP_PKEY_free(keys[i]);
    keystore_free(fx->ks);
    free(fx);
    return 0;
}

static inline void b64(const char *s, size_t n, char *out)
{
    b64url_encode((const uint8_t *)s, n, out);
}

/* Signs header.payload with key under alg; key NULL leaves the signature empty. raw: the
 * payload goes on the wire as is (RFC 7797 b64:false), not base64url-encoded. */
static inline char *make_token_ex(EVP_PKEY *key, const char *alg, const char *header,
                                  const char *payload, int raw)
{
    size_t hl = strlen(header), pl = strlen(payload);
    char *tok = malloc(4 * (hl + pl) / 3 + 2048);
    b64(header, hl, tok);
    size_t n = strlen(tok);
    tok[n++] = '.';
    if (raw)
        memcpy(tok + n, payload, pl + 1);
    else
        b64(payload, pl, tok + n);
    n = strlen(tok);
    size_t input_len = n;
    tok[n++] = '.';
    tok[n] = '\0';
    if (!key)
        return tok;
    const EVP_MD *md = NULL;
    if (strstr(alg, "256"))
        md = EVP_sha256();
    else if (strstr(alg, "384"))
        md = EVP_sha384();
    else if (strstr(alg, "512"))
        md = EVP_sha512();
    if (strcmp(alg, "EdDSA") == 0)
        md = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    assert_int_equal(EVP_DigestSignInit(ctx, &pctx, md, NULL, key), 1);
    if (alg[0] == 'P') {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)tok, input_len), 1);
    EVP_MD_CTX_free(ctx);
    if (alg[0] == 'E' && alg[1] == 'S') {
        /* DER → raw r‖s (RFC 7518 §3.4) */
        size_t half = strstr(alg, "256") ? 32 : strstr(alg, "384") ? 48 : 66;
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
        unsigned char raw[132] = {0};
        BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)half);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, (int)half);
        ECDSA_SIG_free(es);
        memcpy(sig, raw, 2 * half);
        siglen = 2 * half;
    }
    b64url_encode(sig, siglen, tok + n);
    return tok;
}

static inline char *make_token(EVP_PKEY *key, const char *alg, const char *header,
                               const char *payload)
{
    return make_token_ex(key, alg, header, payload, 0);
}

static inline char *claims(const char *iss, const char *tid, int64_t iat, int64_t nbf, int64_t exp)
{
    char *p = malloc(1024);
    int n = snprintf(p, 1024, "{\"aud\":\"https://graph.example.com\",\"iss\":\"%s\"", iss);
    if (tid)
        n += snprintf(p + n, 1024 - (size_t)n, ",\"tid\":\"%s\"", tid);
    snprintf(p + n, 1024 - (size_t)n,
             ",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld,\"sub\":\"user-1\",\"appid\":\"app-1\"}",
             (long long)iat, (long long)nbf, (long long)exp);
    return p;
}

struct expect {
    uint32_t findings; /* all findings at T0 */
    enum sig_state sig;
};

#define B(f) (1u << (f))

static inline void mask_names(uint32_t m, char *out, size_t n)
{
    out[0] = '\0';
    for (int i = 0; i < F__COUNT; i++)
        if (m & B(i))
            snprintf(out + strlen(out), n - strlen(out), "%s ", policy_findings[i].code);
}

/* Judges tok against ks at time now: all findings and the signature state must be e's exactly;
 * kid, when not NULL, is the kid of the key policy_judge_key() must return ("" = none). Returns
 * the verdict for further checks (caller unrefs). */
static inline struct verdict *judge_at(const struct keystore *ks, const struct policy_cfg *pol,
                                       const char *tok, int64_t now, struct expect e,
                                       const char *kid, const char *what)
{
    const struct ks_key *key = NULL;
    struct verdict *v = policy_judge_key(ks, pol, (const uint8_t *)tok, strlen(tok), &key);
    assert_non_null(v);
    uint32_t all = v->findings | policy_time_findings(v, pol, now);
    if (all != e.findings || v->sig != e.sig) {
        char got[256], want[256];
        mask_names(all, got, sizeof(got));
        mask_names(e.findings, want, sizeof(want));
        fail_msg("%s: findings [%s] sig %s, want [%s] sig %s", what, got, policy_sig_name(v->sig),
                 want, policy_sig_name(e.sig));
    }
    if (kid && !(*kid ? key && key->kid && strcmp(key->kid, kid) == 0 : key == NULL))
        fail_msg("%s: chosen key %s, want %s", what, key ? key->kid : "(none)",
                 *kid ? kid : "none");
    return v;
}

static inline void judge_tok(struct fixture *fx, const char *tok, struct expect e, const char *kid,
                             const char *what)
{
    verdict_unref(judge_at(fx->ks, &fx->pol, tok, T0, e, kid, what));
}

static inline void judge(struct fixture *fx, EVP_PKEY *key, const char *alg, const char *header,
                         const char *payload, struct expect e, const char *what)
{
    char *tok = make_token(key, alg, header, payload);
    judge_tok(fx, tok, e, NULL, what);
    free(tok);
}

/* The demo private keys are test material generated by tests/gen/make_keys.py; without them the
 * whole group is skipped (ctest's SKIP_RETURN_CODE 77). */
static inline int demo_keys_present(void)
{
    char probe[512];
    snprintf(probe, sizeof(probe), "%s/tests/gen/keys/TEST-ONLY-org-1.key.pem", TW_SOURCE_DIR);
    FILE *f = fopen(probe, "r");
    if (!f) {
        printf("skip: demo keys not found under %s/tests/gen/keys\n", TW_SOURCE_DIR);
        return 0;
    }
    fclose(f);
    return 1;
}

#endif
