/* test_policy_shapes.c — the verdict engine on the shapes of issue 5, beyond a plain JWT:
 * x5t#S256 lookup, crit/b64:false (RFC 7797), nested JWTs (RFC 7519 §5.2), keyset audiences and
 * token types, Entra tenant rules, and Microsoft Graph-shaped tokens judged against the real
 * Entra key set (../shared/keys/idp-snapshots; skipped when absent). Tokens are signed here with
 * the committed TEST-ONLY demo keys and judged against the shipped demo key sets
 * (policy_fixture.h, shared with test_policy.c). */
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

#define E(f, s) ((struct expect){(f), (s)})
#define VALID_TIMES T0 - 60, T0 - 60, T0 + 3600
/* RS256 header naming kid, with more members */
#define HDR(kid, more) "{\"alg\":\"RS256\",\"kid\":\"" kid "\"" more "}"
#define B64F ",\"b64\":false,\"crit\":[\"b64\"]"

static const char *x5t256_of(struct fixture *fx, const char *kid)
{
    const struct ks_key *k = NULL;
    assert_int_equal(keystore_find(fx->ks, kid, NULL, NULL, &k, 1), 1);
    assert_non_null(k->x5t256);
    return k->x5t256;
}

/* A key named by x5t#S256 alone is found (after kid and x5t find nothing). */
static void test_x5t256(void **state)
{
    struct fixture *fx = *state;
    char *c = claims(TENANT_ISS, TENANT, VALID_TIMES), hdr[256], *tok;
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"x5t#S256\":\"%s\"}", x5t256_of(fx, ORG_KID));
    tok = make_token(fx->org, "RS256", hdr, c);
    judge_tok(fx, tok, E(0, SIG_VALID), ORG_KID, "x5t#S256 only");
    free(tok);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"nope\",\"x5t#S256\":\"%s\"}",
             x5t256_of(fx, CONSUMER_KID));
    tok = make_token(fx->org, "RS256", hdr, c);
    judge_tok(fx, tok, E(B(F_KEY_ISSUER_MISMATCH) | B(F_SIGNATURE_INVALID), SIG_INVALID),
              CONSUMER_KID, "x5t#S256 of the consumer key");
    free(tok);
    tok = make_token(fx->org, "RS256", "{\"alg\":\"RS256\",\"x5t#S256\":\"AAAA\"}", c);
    judge_tok(fx, tok, E(B(F_KEY_UNKNOWN), SIG_NOT_CHECKED), "", "unknown x5t#S256");
    free(tok);
    free(c);
}

/* RFC 7797 b64:false with crit ["b64"]: key, revocation, alg and signature over the text as
 * sent are judged; no claims; always malformed too (not a JWT claims set). */
static void test_b64_false(void **state)
{
    struct fixture *fx = *state;
    const char *h = HDR(ORG_KID, B64F);
    char *tok = make_token_ex(fx->org, "RS256", h, "payload-as-sent_not-claims", 1);
    struct verdict *v = judge_at(fx->ks, &fx->pol, tok, T0, E(B(F_MALFORMED), SIG_VALID), ORG_KID,
                                 "b64 false");
    assert_string_equal(v->c.kid, ORG_KID);
    assert_true(v->c.b64_false);
    assert_null(v->c.iss);
    assert_string_equal(v->keyset, "demo-organizations");
    verdict_unref(v);
    tok[strlen(h) * 4 / 3 + 3] ^= 1; /* a payload byte: the text as sent is what is signed */
    judge_tok(fx, tok, E(B(F_MALFORMED) | B(F_SIGNATURE_INVALID), SIG_INVALID), ORG_KID,
              "b64 false tampered");
    free(tok);
    tok = make_token_ex(fx->org, "RS256", h, "not base64url: {\"sub\":1}", 1);
    judge_tok(fx, tok, E(B(F_MALFORMED), SIG_VALID), ORG_KID, "b64 false, raw bytes");
    free(tok);
    tok = make_token_ex(fx->attacker, "RS256", HDR(STORM_KID, B64F), "x", 1);
    judge_tok(fx, tok, E(B(F_KEY_REVOKED) | B(F_MALFORMED), SIG_NOT_CHECKED), "", "b64 storm");
    free(tok);
    tok = make_token_ex(NULL, "none", "{\"alg\":\"none\",\"kid\":\"" ORG_KID "\"" B64F "}", "x", 1);
    judge_tok(fx, tok, E(B(F_ALG_NONE) | B(F_ALG_MISMATCH) | B(F_MALFORMED), SIG_NOT_CHECKED), ORG_KID,
              "b64 none");
    free(tok);
    tok = make_token_ex(fx->org, "RS256", HDR(ORG_KID, B64F ",\"jku\":\"https://evil.example/k\""),
                        "x", 1);
    judge_tok(fx, tok, E(B(F_EMBEDDED_KEY) | B(F_MALFORMED), SIG_VALID), ORG_KID, "b64 jku");
    free(tok);
}

/* crit we do not understand, or b64 without crit: malformed alone, signature not checked. */
static void test_crit_unknown(void **state)
{
    struct fixture *fx = *state;
    char *c = claims(TENANT_ISS, TENANT, VALID_TIMES);
    const char *hdrs[] = {
        HDR(ORG_KID, ",\"exp\":1,\"crit\":[\"exp\"]"),
        HDR(ORG_KID, ",\"crit\":[\"b64\"]"),
        HDR(ORG_KID, ",\"b64\":false"),
        HDR(ORG_KID, ",\"crit\":[]"),
        HDR(ORG_KID, ",\"b64\":false,\"crit\":[\"b64\",\"zip\"],\"zip\":\"DEF\""),
    };
    for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
        char *tok = make_token(fx->org, "RS256", hdrs[i], c);
        struct verdict *v = judge_at(fx->ks, &fx->pol, tok, T0, E(B(F_MALFORMED), SIG_NOT_CHECKED),
                                     "", hdrs[i]);
        assert_string_equal(v->c.kid, ORG_KID); /* the header still explains the finding */
        verdict_unref(v);
        free(tok);
    }
    free(c);
}

/* An outer JWS (cty JWT) around an inner token, both judged; claims, key and keyset are the
 * inner's. */
static char *nest(EVP_PKEY *key, const char *kid, const char *inner)
{
    char h[160];
    snprintf(h, sizeof(h), "{\"alg\":\"RS256\",\"kid\":\"%s\",\"cty\":\"JWT\"}", kid);
    return make_token(key, "RS256", h, inner);
}

static void nested_case(struct fixture *fx, EVP_PKEY *okey, const char *okid, EVP_PKEY *ikey,
                        const char *ihdr, const char *ipay, struct expect e, const char *kid,
                        const char *what)
{
    char *inner = make_token(ikey, ikey ? "RS256" : "none", ihdr, ipay);
    char *tok = nest(okey, okid, inner);
    judge_tok(fx, tok, e, kid, what);
    free(tok);
    free(inner);
}

static void test_nested(void **state)
{
    struct fixture *fx = *state;
    char *c = claims(TENANT_ISS, TENANT, VALID_TIMES);
    const char *org_h = HDR(ORG_KID, ",\"typ\":\"at+jwt\"");
    char *inner = make_token(fx->org, "RS256", org_h, c);
    char *tok = make_token(fx->org2, "RS256", HDR(ORG2_KID, ",\"cty\":\"application/jwt\""), inner);
    struct verdict *v = judge_at(fx->ks, &fx->pol, tok, T0, E(0, SIG_VALID), ORG_KID, "nested");
    assert_string_equal(v->c.kid, ORG_KID);
    assert_string_equal(v->c.typ, "at+jwt");
    assert_string_equal(v->c.iss, TENANT_ISS);
    assert_string_equal(v->keyset, "demo-organizations");
    assert_string_equal(v->key_issuer, TENANT_ISS);
    verdict_unref(v);
    free(tok);

    nested_case(fx, fx->org2, ORG2_KID, fx->attacker, org_h, c,
                E(B(F_SIGNATURE_INVALID), SIG_INVALID), ORG_KID, "forged inner");
    nested_case(fx, fx->attacker, ORG2_KID, fx->org, org_h, c,
                E(B(F_SIGNATURE_INVALID), SIG_INVALID), ORG_KID, "forged outer");
    nested_case(fx, fx->org2, ORG2_KID, fx->consumer, HDR(CONSUMER_KID, ""), c,
                E(B(F_KEY_ISSUER_MISMATCH), SIG_VALID), CONSUMER_KID, "inner consumer key");
    nested_case(fx, fx->org2, ORG2_KID, fx->attacker, HDR(STORM_KID, ""), c,
                E(B(F_KEY_REVOKED) | B(F_KEY_UNKNOWN), SIG_NOT_CHECKED), ORG2_KID,
                "inner storm kid");
    /* the outer key is scoped against the inner claims too */
    nested_case(fx, fx->consumer, CONSUMER_KID, fx->org, org_h, c,
                E(B(F_KEY_ISSUER_MISMATCH), SIG_VALID), ORG_KID, "outer consumer key");
    nested_case(fx, fx->org2, ORG2_KID, fx->org, HDR(ORG_KID, ",\"nonce\":\"n\""), c,
                E(0, SIG_UNVERIFIABLE), ORG_KID, "inner nonce");
    /* worse-of order: not_checked (outer key unknown) beats unverifiable */
    nested_case(fx, fx->org2, "no-such-kid", fx->org, HDR(ORG_KID, ",\"nonce\":\"n\""), c,
                E(B(F_KEY_UNKNOWN), SIG_NOT_CHECKED), ORG_KID, "outer unknown, inner nonce");
    /* both keys' windows must cover the token */
    nested_case(fx, fx->expired, EXPIRED_KID, fx->org, org_h, c, E(B(F_KEY_EXPIRED), SIG_VALID),
                ORG_KID, "outer key expired");
    free(c);
    c = claims(TENANT_ISS, TENANT, T0 - 7200, T0 - 7200, T0 - 3600);
    nested_case(fx, fx->org2, ORG2_KID, fx->org, org_h, c, E(B(F_TOKEN_EXPIRED), SIG_VALID),
                ORG_KID, "inner claims expired");
    free(c);
    free(inner);
}

/* Nested shapes we cannot or need not judge fully. */
static void test_nested_shapes(void **state)
{
    struct fixture *fx = *state;
    char *c = claims(TENANT_ISS, TENANT, VALID_TIMES);
    char *inner = make_token(fx->org, "RS256", HDR(ORG_KID, ""), c);
    /* depth 3: outer(outer(inner)) */
    char *mid = nest(fx->org, ORG_KID, inner), *tok = nest(fx->org2, ORG2_KID, mid);
    judge_tok(fx, tok, E(B(F_MALFORMED), SIG_NOT_CHECKED), "", "depth 3");
    free(tok);
    free(mid);
    /* an inner JWE: the outer is judged as a token without claims */
    tok = nest(fx->org2, ORG2_KID, "eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn");
    struct verdict *v = judge_at(fx->ks, &fx->pol, tok, T0, E(0, SIG_VALID), ORG2_KID, "inner JWE");
    assert_null(v->c.iss);
    assert_string_equal(v->c.cty, "JWT");
    verdict_unref(v);
    free(tok);
    /* an inner token that does not parse, or with crit we do not understand */
    tok = nest(fx->org2, ORG2_KID, "eyJub3QganNvbg.e30.c2ln");
    judge_tok(fx, tok, E(B(F_MALFORMED), SIG_NOT_CHECKED), "", "inner not JSON");
    free(tok);
    char *bad = make_token(fx->org, "RS256", HDR(ORG_KID, ",\"crit\":[\"exp\"],\"exp\":1"), c);
    tok = nest(fx->org2, ORG2_KID, bad);
    judge_tok(fx, tok, E(B(F_MALFORMED), SIG_NOT_CHECKED), "", "inner crit");
    free(tok);
    free(bad);
    /* an inner b64:false JWS: both signatures checked, no claims, malformed */
    bad = make_token_ex(fx->org, "RS256", HDR(ORG_KID, B64F), "raw", 1);
    tok = nest(fx->org2, ORG2_KID, bad);
    judge_tok(fx, tok, E(B(F_MALFORMED), SIG_VALID), ORG_KID, "inner b64 false");
    free(tok);
    free(bad);
    /* the outer's own header checks still apply */
    tok = make_token(NULL, "none", "{\"alg\":\"none\",\"kid\":\"" ORG2_KID "\",\"cty\":\"JWT\"}",
                     inner);
    judge_tok(fx, tok, E(B(F_ALG_NONE) | B(F_ALG_MISMATCH), SIG_NOT_CHECKED), ORG_KID, "outer none");
    free(tok);
    /* an outer layer naming no key, for the inner's trusted issuer */
    tok = make_token(NULL, "none", "{\"alg\":\"none\",\"cty\":\"JWT\"}", inner);
    judge_tok(fx, tok, E(B(F_ALG_NONE) | B(F_ALG_MISMATCH) | B(F_KEY_UNKNOWN), SIG_NOT_CHECKED),
              ORG_KID, "outer none, no kid");
    free(tok);
    tok = make_token(fx->org2, "RS256", HDR(ORG2_KID, ",\"cty\":\"JWT\",\"jwk\":{\"kty\":\"RSA\"}"),
                     inner);
    judge_tok(fx, tok, E(B(F_EMBEDDED_KEY), SIG_VALID), ORG_KID, "outer jwk");
    free(tok);
    free(inner);
    free(c);
}

static char *claims_aud(const char *aud_json)
{
    char *p = malloc(1024);
    snprintf(p, 1024, "{%s%s%s\"iss\":\"" TENANT_ISS "\",\"tid\":\"" TENANT "\",\"iat\":%lld,"
             "\"exp\":%lld}", aud_json ? "\"aud\":" : "", aud_json ? aud_json : "",
             aud_json ? "," : "", (long long)T0 - 60, (long long)T0 + 3600);
    return p;
}

static void aud_typ_case(struct fixture *fx, struct keystore *ks, const char *kid, EVP_PKEY *key,
                         const char *typ, const char *aud_json, struct expect e, const char *what)
{
    char h[160], *c = claims_aud(aud_json);
    if (typ)
        snprintf(h, sizeof(h), "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"%s\"}", kid, typ);
    else
        snprintf(h, sizeof(h), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
    char *tok = make_token(key, "RS256", h, c);
    verdict_unref(judge_at(ks, &fx->pol, tok, T0, e, NULL, what));
    free(tok);
    free(c);
}

/* keysets[].audiences and token-types: any aud value may match; typ compares case-insensitively
 * with "application/" ignored; the keyset is the signing key's, or the first trusting iss. */
static void test_audience_type(void **state)
{
    struct fixture *fx = *state;
    struct keystore *ks = demo_store();
    const char *auds[] = {"api://expected", "api://also"};
    assert_int_equal(keystore_set_expectations(ks, "demo-organizations", auds, 2, NULL, 0), 0);
    struct {
        const char *kid, *aud;
        uint32_t f;
    } a[] = {
        {ORG_KID, "[\"api://other\",\"api://expected\"]", 0},
        {ORG_KID, "\"api://also\"", 0},
        {ORG_KID, "[\"api://other\",\"API://EXPECTED\"]", B(F_AUDIENCE_MISMATCH)},
        {ORG_KID, "[]", B(F_AUDIENCE_MISMATCH)},
        {ORG_KID, NULL, B(F_AUDIENCE_MISMATCH)},
        {"no-such-kid", "\"api://other\"", B(F_KEY_UNKNOWN) | B(F_AUDIENCE_MISMATCH)},
    };
    for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++)
        aud_typ_case(fx, ks, a[i].kid, fx->org, NULL, a[i].aud,
                     E(a[i].f, strcmp(a[i].kid, ORG_KID) ? SIG_NOT_CHECKED : SIG_VALID),
                     a[i].aud ? a[i].aud : "(no aud)");
    /* another keyset's key: its (absent) expectations apply */
    aud_typ_case(fx, ks, CONSUMER_KID, fx->consumer, NULL, "\"api://other\"",
                 E(B(F_KEY_ISSUER_MISMATCH), SIG_VALID), "consumer key");

    const char *types[] = {"at+jwt"};
    assert_int_equal(keystore_set_expectations(ks, "demo-organizations", NULL, 0, types, 1), 0);
    struct {
        const char *typ;
        uint32_t f;
    } t[] = {{"at+jwt", 0}, {"application/at+jwt", 0}, {"AT+JWT", 0}, {"Application/At+Jwt", 0},
             {"JWT", B(F_TYPE_MISMATCH)}, {"application/jwt", B(F_TYPE_MISMATCH)},
             {"at+jwt ", B(F_TYPE_MISMATCH)}, {NULL, B(F_TYPE_MISMATCH)}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        aud_typ_case(fx, ks, ORG_KID, fx->org, t[i].typ, "\"x\"", E(t[i].f, SIG_VALID),
                     t[i].typ ? t[i].typ : "(no typ)");
    const char *mtypes[] = {"application/at+jwt"};
    assert_int_equal(keystore_set_expectations(ks, "demo-organizations", NULL, 0, mtypes, 1), 0);
    aud_typ_case(fx, ks, ORG_KID, fx->org, "at+jwt", "\"x\"", E(0, SIG_VALID), "media type form");
    /* nested: the inner token's typ is the claims' type */
    char *c = claims_aud("\"x\"");
    char *inner = make_token(fx->org, "RS256", HDR(ORG_KID, ",\"typ\":\"at+jwt\""), c);
    char *tok = nest(fx->org2, ORG2_KID, inner);
    verdict_unref(judge_at(ks, &fx->pol, tok, T0, E(0, SIG_VALID), ORG_KID, "nested typ"));
    free(tok);
    free(inner);
    inner = make_token(fx->org, "RS256", HDR(ORG_KID, ""), c);
    tok = make_token(fx->org2, "RS256", HDR(ORG2_KID, ",\"cty\":\"JWT\",\"typ\":\"at+jwt\""),
                     inner);
    verdict_unref(judge_at(ks, &fx->pol, tok, T0, E(B(F_TYPE_MISMATCH), SIG_VALID), ORG_KID,
                           "nested, typ on the outer only"));
    free(tok);
    free(inner);
    free(c);
    keystore_free(ks);
}

/* Entra issuers of a configured cloud (v1 and v2): a tid, when present, must be a GUID equal
 * (any case) to the issuer's tenant segment, whatever that is; other issuers: GUID segment. */
static void test_tenant_rules(void **state)
{
    struct fixture *fx = *state;
    const uint32_t scope = B(F_KEY_ISSUER_MISMATCH) | B(F_ISSUER_UNTRUSTED);
    struct {
        const char *iss, *tid;
        uint32_t f;
    } v[] = {
        {"https://sts.windows.net/" TENANT "/", TENANT, 0},
        {TENANT_ISS, NULL, 0},
        {"https://sts.windows.net/" TENANT "/", "a6c1e0d2-4b3f-4e5a-8c7d-9e0f1a2b3c4d",
         scope | B(F_TENANT_MISMATCH)},
        {TENANT_ISS, "contoso.onmicrosoft.com", scope | B(F_TENANT_MISMATCH)},
        {"https://sts.windows.net/" TENANT "/", "72f988bf86f141af91ab2d7cd011db47",
         scope | B(F_TENANT_MISMATCH)},
        {"https://login.microsoftonline.com/common/v2.0", TENANT, scope | B(F_TENANT_MISMATCH)},
        {"https://sts.windows.net/contoso.onmicrosoft.com/", TENANT, scope | B(F_TENANT_MISMATCH)},
        /* tenant compared in any case; issuer scope stays byte for byte */
        {TENANT_ISS, "72F988BF-86F1-41AF-91AB-2D7CD011DB47", scope},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *c = claims(v[i].iss, v[i].tid, VALID_TIMES);
        judge(fx, fx->org, "RS256", HDR(ORG_KID, ""), c,
              E(v[i].f, SIG_VALID), v[i].iss);
        free(c);
    }
    /* not an Entra issuer and no GUID in it: tid is not compared */
    char *c = claims("https://idp.example.com", "not-a-guid", VALID_TIMES);
    judge(fx, fx->es256, "ES256", "{\"alg\":\"ES256\",\"kid\":\"idp-es256-2023\"}", c,
          E(0, SIG_VALID), "idp tid");
    free(c);
}

/* ---- real Entra keys: a Microsoft Graph-shaped access token ---------------------------------- */

#define REAL_NOW 1740830400 /* 2025-03-01T12:00:00Z, inside the snapshot keys' certificates */
#define GRAPH_TID "3f5a1b2c-8d4e-4f6a-9b7c-0d1e2f3a4b5c"

/* The first key of the snapshot whose JWK issuer contains `want`. */
static const struct ks_key *snapshot_key(const struct keystore *ks, const char *want)
{
    for (size_t i = 0; i < ks->sets[0].nkeys; i++) {
        const struct ks_key *k = &ks->sets[0].keys[i];
        if (k->issuer && strstr(k->issuer, want) && k->kid && k->has_validity)
            return k;
    }
    fail_msg("no snapshot key with issuer %s", want);
    return NULL;
}

/* Header and claims as Graph access tokens have them (v1 issuer, nonce header); the signature
 * bytes are arbitrary: with nonce nobody but Graph can check them. */
static char *graph_token(struct fixture *fx, const char *kid, const char *iss, const char *tid,
                         int64_t now)
{
    char h[256], c[2048];
    snprintf(h, sizeof(h), "{\"typ\":\"JWT\",\"nonce\":\"Yk2mGqvTq4r7Fh0x3Pi8CJ1U8zF0oQ2nDkE7b"
             "WcT5aA\",\"alg\":\"RS256\",\"x5t\":\"%s\",\"kid\":\"%s\"}", kid, kid);
    snprintf(c, sizeof(c),
             "{\"aud\":\"00000003-0000-0000-c000-000000000000\",\"iss\":\"%s\",\"iat\":%lld,"
             "\"nbf\":%lld,\"exp\":%lld,\"acct\":0,\"acr\":\"1\",\"aio\":\"E2RgYJj8mW\","
             "\"amr\":[\"pwd\",\"mfa\"],\"app_displayname\":\"Graph Explorer\","
             "\"appid\":\"de8bc8b5-d9f9-48b1-a8ad-b748da725064\",\"appidacr\":\"0\","
             "\"family_name\":\"Bowen\",\"given_name\":\"Megan\",\"idtyp\":\"user\","
             "\"ipaddr\":\"203.0.113.5\",\"name\":\"Megan Bowen\","
             "\"oid\":\"6e4f1b8e-3f1d-4a0e-9c53-2b7b6d3c9f10\",\"platf\":\"3\","
             "\"puid\":\"10032001E0A1B2C3\",\"rh\":\"0.AXoA\",\"scp\":\"openid profile User.Read "
             "email\",\"signin_state\":[\"kmsi\"],\"sub\":\"mP5hT0w1-0Xk9\","
             "\"tenant_region_scope\":\"EU\",\"tid\":\"%s\","
             "\"unique_name\":\"meganb@contoso.example\",\"upn\":\"meganb@contoso.example\","
             "\"uti\":\"c2hvcnQtdXRp\",\"ver\":\"1.0\","
             "\"wids\":[\"b79fbf4d-3ef9-4689-8143-76b194e85509\"],\"xms_st\":{\"sub\":\"x\"},"
             "\"xms_tcdt\":1600000000}",
             iss, (long long)now - 300, (long long)now - 300, (long long)now - 300 + 4788, tid);
    return make_token(fx->attacker, "RS256", h, c);
}

static void test_real_entra(void **state)
{
    struct fixture *fx = *state;
    char path[512], err[512];
    snprintf(path, sizeof(path), "%s/keys/idp-snapshots/entra-common.jwks.json", TW_SHARED_DIR);
    FILE *probe = fopen(path, "r");
    if (!probe)
        skip();
    fclose(probe);
    struct keystore *ks = keystore_new();
    const char *iss[] = {"https://login.microsoftonline.com/{tenantid}/v2.0",
                         "https://sts.windows.net/{tenantid}/"};
    if (keystore_add_jwks_file(ks, "entra-common", path, iss, 2, err, sizeof(err)))
        fail_msg("%s", err);
    assert_int_equal(keystore_add_cloud(ks, PUBLIC_V1, PUBLIC_V2), 0);
    /* the shipped revoked-keys entry, kid and x5t as the indicator publishes them */
    snprintf(path, sizeof(path), "%s/keys/indicators/storm-0558-msa-2016.jwk.json", TW_SHARED_DIR);
    json_t *storm = json_load_file(path, 0, NULL);
    assert_non_null(storm);
    const char *storm_kid = json_string_value(json_object_get(storm, "kid"));
    assert_non_null(storm_kid);
    assert_int_equal(keystore_add_revoked(ks, storm_kid,
                                          json_string_value(json_object_get(storm, "x5t")),
                                          "d4b4cccda9228624656bff33d8110955779632aa",
                                          "kP2ox0dPp3uuT6IhJARw5E8I9ZWku4tl9NRrgQ8W-LY",
                                          "Storm-0558"), 0);

    const struct ks_key *org = snapshot_key(ks, "{tenantid}");
    const struct ks_key *cons = snapshot_key(ks, CONSUMER_TID);
    assert_true(org->not_before < REAL_NOW - 600 && org->not_after > REAL_NOW + 7200);
    const char *v1 = "https://sts.windows.net/" GRAPH_TID "/";
    char *tok = graph_token(fx, org->kid, v1, GRAPH_TID, REAL_NOW);
    struct verdict *v = judge_at(ks, &fx->pol, tok, REAL_NOW, E(0, SIG_UNVERIFIABLE), org->kid,
                                 "genuine-looking Graph token");
    assert_string_equal(v->keyset, "entra-common");
    assert_string_equal(v->key_issuer, "https://login.microsoftonline.com/" GRAPH_TID "/v2.0");
    assert_string_equal(v->c.aud, "00000003-0000-0000-c000-000000000000");
    verdict_unref(v);
    free(tok);
    /* the v2 form of the same */
    tok = graph_token(fx, org->kid, "https://login.microsoftonline.com/" GRAPH_TID "/v2.0",
                      GRAPH_TID, REAL_NOW);
    verdict_unref(judge_at(ks, &fx->pol, tok, REAL_NOW, E(0, SIG_UNVERIFIABLE), org->kid, "v2"));
    free(tok);
    /* the Storm-0558 pattern with real keys: a consumer-tenant key, an enterprise tenant */
    tok = graph_token(fx, cons->kid, v1, GRAPH_TID, REAL_NOW);
    verdict_unref(judge_at(ks, &fx->pol, tok, REAL_NOW,
                           E(B(F_KEY_ISSUER_MISMATCH), SIG_UNVERIFIABLE), cons->kid,
                           "consumer key, enterprise tid"));
    free(tok);
    /* the key's certificate did not cover 2023 */
    tok = graph_token(fx, org->kid, v1, GRAPH_TID, T0);
    verdict_unref(judge_at(ks, &fx->pol, tok, T0, E(B(F_KEY_EXPIRED), SIG_UNVERIFIABLE), org->kid,
                           "before the key"));
    free(tok);
    /* the Storm-0558 kid, as in the 2023 forgeries (no nonce) */
    char h[160];
    snprintf(h, sizeof(h), "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"x5t\":\"%s\",\"kid\":\"%s\"}",
             storm_kid, storm_kid);
    char *c = claims("https://login.microsoftonline.com/" GRAPH_TID "/v2.0", GRAPH_TID, T0 - 60,
                     T0 - 60, T0 + 3600);
    tok = make_token(fx->attacker, "RS256", h, c);
    verdict_unref(judge_at(ks, &fx->pol, tok, T0, E(B(F_KEY_REVOKED) | B(F_KEY_UNKNOWN),
                                                      SIG_NOT_CHECKED), "", "storm kid"));
    free(tok);
    free(c);
    json_decref(storm);
    keystore_free(ks);
}

int main(void)
{
    if (!demo_keys_present())
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x5t256),
        cmocka_unit_test(test_b64_false),
        cmocka_unit_test(test_crit_unknown),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_nested_shapes),
        cmocka_unit_test(test_audience_type),
        cmocka_unit_test(test_tenant_rules),
        cmocka_unit_test(test_real_entra),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
