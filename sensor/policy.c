/* policy.c — the verdict on one token: SPEC §4 findings.
 *
 * Pipeline: vcache ─► [policy] ─► eve. Composes jwt (parse), keystore (key lookup, issuer scope,
 * revocation) and verify (signature) into a struct verdict that owns copies of everything EVE
 * prints, so it can outlive the packet and sit in the cache. The key decides the algorithm
 * (RFC 8725 §3.1); the issuer-scope check is Microsoft.IdentityModel's
 * EnableAadSigningKeyIssuerValidation (the check whose absence let Storm-0558 in).
 */
#include "policy.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "arena.h"
#include "config.h"
#include "verify.h"

#define CAT_PRIV "Attempted User Privilege Gain"
#define CAT_BAD "Potentially Bad Traffic"
#define CAT_MISC "Misc activity"

const struct finding_info policy_findings[F__COUNT] = {
    [F_KEY_REVOKED] = {"key_revoked", 9100001, 1, "TOKENWATCH token signed by a revoked key", CAT_PRIV},
    [F_KEY_ISSUER_MISMATCH] = {"key_issuer_mismatch", 9100002, 1,
                               "TOKENWATCH token signed by a key outside its issuer scope", CAT_PRIV},
    [F_SIGNATURE_INVALID] = {"signature_invalid", 9100003, 1,
                             "TOKENWATCH token signature does not verify (forged or tampered)", CAT_PRIV},
    [F_ALG_NONE] = {"alg_none", 9100004, 1, "TOKENWATCH unsigned token (alg none)", CAT_PRIV},
    [F_ALG_MISMATCH] = {"alg_mismatch", 9100005, 1,
                        "TOKENWATCH token algorithm does not fit its key or the policy", CAT_PRIV},
    [F_EMBEDDED_KEY] = {"embedded_key", 9100006, 1,
                        "TOKENWATCH token header carries its own key (jwk/jku/x5u/x5c)", CAT_PRIV},
    [F_TENANT_MISMATCH] = {"tenant_mismatch", 9100007, 1,
                           "TOKENWATCH token tenant differs from its issuer's tenant", CAT_PRIV},
    [F_KEY_EXPIRED] = {"key_expired", 9100008, 2,
                       "TOKENWATCH token signed by a key outside its validity window", CAT_BAD},
    [F_KEY_UNKNOWN] = {"key_unknown", 9100009, 2,
                       "TOKENWATCH token names a key its trusted issuer does not publish", CAT_BAD},
    [F_TOKEN_NOT_YET_VALID] = {"token_not_yet_valid", 9100010, 2, "TOKENWATCH token not yet valid",
                               CAT_BAD},
    [F_LIFETIME_EXCESSIVE] = {"lifetime_excessive", 9100011, 2,
                              "TOKENWATCH token lifetime exceeds policy", CAT_BAD},
    [F_TOKEN_REPLAY] = {"token_replay", 9100015, 2,
                        "TOKENWATCH token replayed from several client addresses", CAT_PRIV},
    [F_AUDIENCE_MISMATCH] = {"audience_mismatch", 9100016, 2,
                             "TOKENWATCH token audience outside its keyset's audiences", CAT_BAD},
    [F_TYPE_MISMATCH] = {"type_mismatch", 9100017, 2,
                         "TOKENWATCH token type (typ) outside its keyset's token types", CAT_BAD},
    [F_ISSUER_UNTRUSTED] = {"issuer_untrusted", 9100012, 3, "TOKENWATCH token from an untrusted issuer",
                            CAT_MISC},
    [F_TOKEN_EXPIRED] = {"token_expired", 9100013, 3, "TOKENWATCH expired token presented", CAT_MISC},
    [F_MALFORMED] = {"malformed", 9100014, 3, "TOKENWATCH malformed token", CAT_MISC},
};

const char *policy_sig_name(enum sig_state s)
{
    switch (s) {
    case SIG_VALID: return "valid";
    case SIG_INVALID: return "invalid";
    case SIG_UNVERIFIABLE: return "unverifiable";
    default: return "not_checked";
    }
}

enum finding policy_top_finding(uint32_t mask)
{
    for (int i = 0; i < F__COUNT; i++)
        if (mask & (1u << i))
            return (enum finding)i;
    return F_MALFORMED;
}

#define BIT(f) (1u << (f))

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* 8-4-4-4-12 hex digits, exactly n == 36 characters. */
static int is_guid(const char *s, size_t n)
{
    if (n != 36)
        return 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!is_hex(s[i])) {
            return 0;
        }
    }
    return 1;
}

/* The tenant segment of an issuer URL: the first path segment that is a GUID
 * (https://login.microsoftonline.com/<tid>/v2.0, https://sts.windows.net/<tid>/). */
static int issuer_tenant(const char *iss, const char **seg)
{
    const char *p = strstr(iss, "://");
    if (!p)
        return 0;
    p = strchr(p + 3, '/');
    while (p && *p == '/') {
        const char *s = p + 1;
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (is_guid(s, n)) {
            *seg = s;
            return 1;
        }
        p = e;
    }
    return 0;
}

static int alg_index(const char *alg)
{
    static const char *const names[POLICY_ALG_COUNT] = POLICY_ALG_NAMES;
    for (int i = 0; i < POLICY_ALG_COUNT; i++)
        if (strcmp(names[i], alg) == 0)
            return i;
    return -1;
}

/* The signature under `key`, and what the verdict notes of the key (its set, the issuer it is
 * scoped to, its validity window). Returns the findings it adds. */
static uint32_t judge_key(const struct ks_key *key, const struct jwt *t, int alg_allowed,
                          struct verdict *v, char *key_issuer, size_t kilen)
{
    const struct jwt_claims *c = &t->c;
    const char *alg = c->alg ? c->alg : "";
    uint32_t f = 0;
    if (strcasecmp(alg, "none") == 0) {
        v->sig = SIG_INVALID; /* `none` never verifies */
    } else if (!alg_allowed || !verify_alg_fits(key->pkey, key->alg, alg)) {
        f |= BIT(F_ALG_MISMATCH);
        v->sig = SIG_INVALID;
    } else if (c->has_nonce) {
        /* Graph-style tokens: the signature covers a hashed nonce, not what was sent. */
        v->sig = SIG_UNVERIFIABLE;
    } else if (verify_jws(key->pkey, key->alg, alg, t->signing_input, t->signing_input_len,
                          t->sig, t->sig_len) == VERIFY_VALID) {
        v->sig = SIG_VALID;
    } else {
        v->sig = SIG_INVALID;
        f |= BIT(F_SIGNATURE_INVALID);
    }
    v->keyset = key->set ? key->set->name : NULL;
    if (keystore_key_issuer(key, c->tid, key_issuer, kilen) != 0)
        key_issuer[0] = '\0';
    v->key_has_validity = (uint8_t)key->has_validity;
    v->key_not_before = key->not_before;
    v->key_not_after = key->not_after;
    return f;
}

/* policy.verify-observed-keys: the token's key among the key sets learned from the wire (the
 * caller has checked that a configured key set trusts the issuer). The key's own `issuer`
 * member, when it has one, must still cover iss. 0 when no observed key matches. */
static int observed_key(const struct keystore *obs, const struct jwt *t, int alg_allowed,
                        struct verdict *v, char *key_issuer, size_t kilen, uint32_t *f)
{
    const struct jwt_claims *c = &t->c;
    const struct ks_key *keys[4];
    if (!(c->kid || c->x5t || c->x5t256) || keystore_find(obs, c->kid, c->x5t, c->x5t256, keys, 4) == 0)
        return 0;
    if (keys[0]->issuer && !(c->iss && keystore_issuer_match(keys[0]->issuer, c->iss, c->tid)))
        *f |= BIT(F_KEY_ISSUER_MISMATCH);
    *f |= judge_key(keys[0], t, alg_allowed, v, key_issuer, kilen);
    return 1;
}

/* Time-independent findings and signature state for a parsed JWS. */
static void judge_jws(const struct keystore *ks, const struct policy_cfg *cfg, const struct jwt *t,
                      struct verdict *v, char *key_issuer, size_t kilen,
                      const struct ks_key **chosen)
{
    const struct jwt_claims *c = &t->c;
    uint32_t f = 0;
    const char *alg = c->alg ? c->alg : "";
    int alg_none = strcasecmp(alg, "none") == 0;

    if (alg_none)
        f |= BIT(F_ALG_NONE);
    /* Outside policy.algorithms (`none` and HS* included) is a mismatch whatever the key. */
    int ai = alg_index(alg);
    int alg_allowed = ai >= 0 && (cfg->alg_mask & (1u << ai));
    if (!alg_allowed)
        f |= BIT(F_ALG_MISMATCH);
    if (c->has_jwk || c->has_jku || c->has_x5u || c->has_x5c)
        f |= BIT(F_EMBEDDED_KEY);
    /* RFC 7515 §4.1.11: a recipient must reject a JWS whose `crit` names an extension it does
     * not understand; we understand none (b64:false, RFC 7797, included): malformed, and its
     * signature is not checked (its signing input may not be what we would verify). */
    if (c->has_crit) {
        v->sig = SIG_NOT_CHECKED;
        v->findings = BIT(F_MALFORMED);
        return;
    }

    const char *seg;
    if (c->tid && c->iss && issuer_tenant(c->iss, &seg) &&
        (strlen(c->tid) != 36 || strncasecmp(seg, c->tid, 36) != 0))
        f |= BIT(F_TENANT_MISMATCH);

    if (c->has_exp && (c->has_iat || c->has_nbf)) {
        int64_t start = c->has_iat ? c->iat : c->nbf;
        if (c->exp - start > cfg->max_lifetime)
            f |= BIT(F_LIFETIME_EXCESSIVE);
    }

    const char *iss = c->iss ? c->iss : "";
    /* SPEC §2: {tenantid} is any GUID that equals tid, so a tid that contradicts iss leaves iss
     * matching no keyset. */
    int trusted = c->iss && keystore_issuer_trusted(ks, iss, c->tid);

    const struct ks_key *keys[16];
    size_t nkeys = (c->kid || c->x5t || c->x5t256) ? keystore_find(ks, c->kid, c->x5t, c->x5t256, keys, 16) : 0;
    const struct ks_key *key = NULL;
    for (size_t i = 0; i < nkeys && !key; i++)
        if (c->iss && keystore_key_allows(ks, keys[i], iss, c->tid))
            key = keys[i];
    if (!key && nkeys)
        key = keys[0];
    *chosen = key;

    if (keystore_revoked(ks, key, c->kid, c->x5t))
        f |= BIT(F_KEY_REVOKED);

    v->sig = SIG_NOT_CHECKED;
    if (key) {
        if (!c->iss || !keystore_key_allows(ks, key, iss, c->tid))
            f |= BIT(F_KEY_ISSUER_MISMATCH);
        f |= judge_key(key, t, alg_allowed, v, key_issuer, kilen);
    } else if (trusted && cfg->observed &&
               observed_key(cfg->observed, t, alg_allowed, v, key_issuer, kilen, &f)) {
        /* signed by a key the issuer publishes on the wire but no configured set holds */
    } else if (trusted) {
        f |= BIT(F_KEY_UNKNOWN);
    } else {
        f |= BIT(F_ISSUER_UNTRUSTED);
    }
    if (key && !trusted)
        f |= BIT(F_ISSUER_UNTRUSTED);
    v->findings = f;
}

static size_t slen(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static const char *scopy(char **dst, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*dst, s, n);
    const char *r = *dst;
    *dst += n;
    return r;
}

struct verdict *policy_judge(const struct keystore *ks, const struct policy_cfg *cfg,
                             const uint8_t *tok, size_t len)
{
    const struct ks_key *key;
    return policy_judge_key(ks, cfg, tok, len, &key);
}

struct verdict *policy_judge_key(const struct keystore *ks, const struct policy_cfg *cfg,
                                 const uint8_t *tok, size_t len, const struct ks_key **chosen)
{
    *chosen = NULL;
    struct verdict *v = calloc(1, sizeof(*v) + len);
    if (!v)
        return NULL;
    v->refs = 1;
    v->token_len = (uint32_t)len;
    memcpy(v->token, tok, len);

    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(tok, len, md, &mdlen, EVP_sha256(), NULL);
    memcpy(v->digest, md, sizeof(v->digest));
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        v->sha256[2 * i] = hex[md[i] >> 4];
        v->sha256[2 * i + 1] = hex[md[i] & 15];
    }
    v->sha256[64] = '\0';

    struct arena a;
    arena_init(&a, 4096, 1u << 20);
    struct jwt t;
    char key_issuer[512] = "";
    if (jwt_parse(tok, len, &a, &t) != 0) {
        /* Out of arena: treat as an unparseable token rather than dropping it. */
        memset(&t, 0, sizeof(t));
        t.type = JWT_TYPE_JWT;
        t.malformed = 1;
    }
    v->type = t.type;
    v->sig = SIG_NOT_CHECKED;
    if (t.type == JWT_TYPE_JWT && t.malformed) {
        v->findings = BIT(F_MALFORMED);
    } else if (t.type == JWT_TYPE_JWT) {
        judge_jws(ks, cfg, &t, v, key_issuer, sizeof(key_issuer), chosen);
    }

    if (t.type == JWT_TYPE_JWT && !t.malformed) {
        const struct jwt_claims *c = &t.c;
        size_t need = slen(c->alg) + slen(c->kid) + slen(c->x5t) + slen(c->typ) + slen(c->iss) +
                      slen(c->tid) + slen(c->aud) + slen(c->sub) + slen(c->appid) + slen(c->azp) +
                      slen(v->keyset) +
                      (key_issuer[0] ? strlen(key_issuer) + 1 : 0);
        v->strings = malloc(need ? need : 1);
        if (!v->strings) {
            arena_release(&a);
            free(v);
            return NULL;
        }
        char *p = v->strings;
        v->c = *c;
        v->c.alg = scopy(&p, c->alg);
        v->c.kid = scopy(&p, c->kid);
        v->c.x5t = scopy(&p, c->x5t);
        v->c.typ = scopy(&p, c->typ);
        v->c.iss = scopy(&p, c->iss);
        v->c.tid = scopy(&p, c->tid);
        v->c.aud = scopy(&p, c->aud);
        v->c.sub = scopy(&p, c->sub);
        v->c.appid = scopy(&p, c->appid);
        v->c.azp = scopy(&p, c->azp);
        v->key_issuer = key_issuer[0] ? scopy(&p, key_issuer) : NULL;
        /* a copy: an observed key set can be forgotten while the verdict is cached */
        v->keyset = scopy(&p, v->keyset);
    }
    arena_release(&a);
    return v;
}

void verdict_ref(struct verdict *v)
{
    v->refs++;
}

void verdict_unref(struct verdict *v)
{
    if (!v || --v->refs)
        return;
    free(v->strings);
    free(v->json);
    free(v);
}

uint32_t policy_time_findings(const struct verdict *v, const struct policy_cfg *cfg, int64_t now)
{
    uint32_t f = 0;
    if (v->type != JWT_TYPE_JWT || (v->findings & BIT(F_MALFORMED)))
        return 0;
    const struct jwt_claims *c = &v->c;
    if ((c->has_nbf && c->nbf > now + cfg->clock_skew) ||
        (c->has_iat && c->iat > now + cfg->clock_skew))
        f |= BIT(F_TOKEN_NOT_YET_VALID);
    if (c->has_exp && c->exp < now - cfg->clock_skew)
        f |= BIT(F_TOKEN_EXPIRED);
    if (v->key_has_validity) {
        int outside_now = now < v->key_not_before || now > v->key_not_after;
        int outside_iat = c->has_iat && (c->iat < v->key_not_before || c->iat > v->key_not_after);
        if (outside_now || outside_iat)
            f |= BIT(F_KEY_EXPIRED);
    }
    return f;
}
