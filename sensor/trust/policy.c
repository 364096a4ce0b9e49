/* policy.c — the verdict on one token: SPEC §4 findings.
 *
 * Pipeline: vcache ─► [policy] ─► eve. Composes jwt (parse), keystore (key lookup, issuer scope,
 * revocation) and verify (signature) into a struct verdict that owns copies of everything EVE
 * prints, so it can outlive the packet and sit in the cache. The key decides the algorithm
 * (RFC 8725 §3.1); the issuer-scope check is Microsoft.IdentityModel's
 * EnableAadSigningKeyIssuerValidation (the check whose absence let Storm-0558 in). Keys are
 * found by kid, then x5t, then x5t#S256 (RFC 7515 §4.1.7, §4.1.8); a token naming none is tried
 * against its issuer's keys, a bounded number (kidless_key). `signature` is invalid only when a
 * verification ran and failed.
 *
 * Shapes beyond a plain JWT:
 * - crit naming anything but a present "b64" (RFC 7515 §4.1.11), b64 without crit, a nested
 *   JWT deeper than outer + inner, or an inner token that does not parse: malformed alone,
 *   signature not checked.
 * - b64:false (RFC 7797) with crit ["b64"]: judged as any JWS — key lookup, revocation,
 *   alg/none/embedded checks, the signature over the text as sent — but there are no claims
 *   (so no issuer-scope, key_unknown or time findings), and the verdict also gets malformed:
 *   a JWT's payload must be base64url JSON (RFC 7519 §7.2 step 10).
 * - Nested JWT (cty "JWT", RFC 7519 §5.2, RFC 8725 §2.8): the outer JWS and the inner token are
 *   both judged; the claims (iss, tid, aud, times) are the inner JWS's and each layer's key is
 *   scoped against them; findings are the union of both layers'; the signature is the worse
 *   of the two in the order invalid > not_checked > unverifiable > valid; keyset, key_issuer
 *   and the key policy_judge_key() returns are the inner layer's (the claims' issuer is what
 *   scope is about), the outer's when the inner has no key; key_expired needs both keys valid
 *   (the intersection of their windows). The header fields EVE prints (alg, kid, typ, ...) are
 *   the inner JWS's. An inner JWE: the outer is judged as a token without claims.
 * - A JOSE `nonce` header (Microsoft Graph): signature unverifiable, every other check runs.
 * - Per-keyset audiences / token-types (keysets[].audiences, token-types), see expectations().
 *
 * Shedding (policy_judge_shed, engine.verify-shed): every place that would call the verifier
 * (check_signature, kidless_key's candidates) instead leaves the signature not_checked and adds
 * verification_shed; everything else runs as usual, so revocation, issuer scope (Storm-0558),
 * tenant, algorithm, embedded keys and the time findings never depend on a verification.
 */
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/evp.h>

#include "arena.h"
#include "config.h"
#include "hex.h"
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
    [F_VERIFICATION_SHED] = {"verification_shed", 9100018, 3,
                             "TOKENWATCH token signature not checked: verification shed under load",
                             CAT_MISC},
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
        if (keystore_is_guid(s, n)) {
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

/* What one JWS layer's header, key and signature give. */
struct layer {
    uint32_t f;
    enum sig_state sig;
    const struct ks_key *key;  /* the configured key chosen for this layer, or NULL */
    const struct ks_key *used; /* the key the signature was judged with: `key`, an observed key
                                  (policy.verify-observed-keys), or NULL */
    int kidless_bound;         /* named no key, and more candidates than kidless_max */
    char key_issuer[512];      /* the issuer `used` is scoped to, or "" */
};

/* A nested token's signature is the worse of its layers', in this order (documented in the
 * file comment): invalid > not_checked > unverifiable > valid. not_checked (no trusted key even
 * found) is a weaker assurance than unverifiable (a trusted key found, only the scheme prevents
 * checking), and only two valid signatures make a valid nested token. */
static int sig_rank(enum sig_state s)
{
    switch (s) {
    case SIG_VALID: return 0;
    case SIG_UNVERIFIABLE: return 1;
    case SIG_NOT_CHECKED: return 2;
    default: return 3;
    }
}

/* The signature of layer t under `key`; tid (may be NULL) names the issuer the key is scoped
 * to. Returns the findings it adds. */
static uint32_t check_signature(const struct policy_cfg *cfg, const struct ks_key *key,
                                const struct jwt *t, int alg_allowed, const char *tid,
                                struct layer *l)
{
    const char *alg = t->c.alg ? t->c.alg : "";
    uint32_t f = 0;
    /* `signature` says invalid only when a verification ran and failed: `none` (never
     * verifies) and an algorithm the key or the policy refuses leave it not_checked. */
    if (strcasecmp(alg, "none") == 0) {
        l->sig = SIG_NOT_CHECKED;
    } else if (!alg_allowed || !verify_alg_fits(key->pkey, key->alg, alg)) {
        f |= BIT(F_ALG_MISMATCH);
        l->sig = SIG_NOT_CHECKED;
    } else if (t->c.has_nonce) {
        /* Graph-style tokens: the signature covers a hashed nonce, not what was sent. */
        l->sig = SIG_UNVERIFIABLE;
    } else if (cfg->shedding) {
        l->sig = SIG_NOT_CHECKED;
        f |= BIT(F_VERIFICATION_SHED);
    } else if (verify_jws_ctx(cfg->vx, key->pkey, key->alg, alg, t->signing_input,
                              t->signing_input_len, t->sig, t->sig_len) == VERIFY_VALID) {
        l->sig = SIG_VALID;
    } else {
        l->sig = SIG_INVALID;
        f |= BIT(F_SIGNATURE_INVALID);
    }
    l->used = key;
    if (keystore_key_issuer(key, tid, l->key_issuer, sizeof(l->key_issuer)) != 0)
        l->key_issuer[0] = '\0';
    return f;
}

/* policy.verify-observed-keys: the layer's key among the key sets learned from the wire (the
 * caller has checked that a configured key set trusts the issuer). The key's own `issuer`
 * member, when it has one, must still cover iss. 0 when no observed key matches. */
static int observed_key(const struct policy_cfg *cfg, const struct jwt *t,
                        const struct jwt_claims *cl, int alg_allowed, struct layer *l)
{
    const struct jwt_claims *h = &t->c;
    const struct ks_key *keys[4];
    if (!(h->kid || h->x5t || h->x5t256) ||
        keystore_find(cfg->observed, h->kid, h->x5t, h->x5t256, keys, 4) == 0)
        return 0;
    if (keys[0]->issuer && !(cl->iss && keystore_issuer_match(keys[0]->issuer, cl->iss, cl->tid)))
        l->f |= BIT(F_KEY_ISSUER_MISMATCH);
    l->f |= check_signature(cfg, keys[0], t, alg_allowed, cl->tid, l);
    return 1;
}

/* A token naming no key (no kid, x5t or x5t#S256; common for single-key issuers): the keys that
 * may sign for its issuer (their keyset trusts iss, their own `issuer` member allows it) and
 * whose type and `alg` fit the token's alg are tried in configuration order (keysets as
 * configured, keys in JWKS order), at most cfg->kidless_max of them. A key that verifies is the
 * layer's key, as a kid match would be. None among all candidates: signature_invalid. None among
 * the first kidless_max when there are more: key_unknown, signature not_checked (an untried
 * key might have verified; policy.kidless-max-keys raises the bound). No candidate at all
 * (no key of the alg's type): key_unknown. Returns 1 when it settled the layer, 0 when the
 * caller's usual key_unknown applies. */
static int kidless_key(const struct keystore *ks, const struct policy_cfg *cfg,
                       const struct jwt *t, const struct jwt_claims *cl, int alg_allowed,
                       struct layer *l)
{
    const char *alg = t->c.alg ? t->c.alg : "";
    if (!cfg->kidless_max || !alg_allowed || t->c.has_nonce)
        return 0;
    size_t tried = 0;
    int more = 0;
    for (size_t i = 0; i < ks->nsets && !more; i++) {
        const struct ks_keyset *set = &ks->sets[i];
        if (!keystore_set_trusts(ks, set, cl->iss, cl->tid))
            continue;
        for (size_t j = 0; j < set->nkeys; j++) {
            const struct ks_key *k = &set->keys[j];
            if (!keystore_key_allows(ks, k, cl->iss, cl->tid) ||
                !verify_alg_fits(k->pkey, k->alg, alg))
                continue;
            if (tried == cfg->kidless_max) {
                more = 1;
                break;
            }
            if (cfg->shedding) { /* a candidate would be verified: shed, settled */
                l->f |= BIT(F_VERIFICATION_SHED);
                return 1;
            }
            tried++;
            if (verify_jws_ctx(cfg->vx, k->pkey, k->alg, alg, t->signing_input,
                               t->signing_input_len, t->sig, t->sig_len) == VERIFY_VALID) {
                l->key = k;
                l->used = k;
                l->sig = SIG_VALID;
                if (keystore_key_issuer(k, cl->tid, l->key_issuer, sizeof(l->key_issuer)) != 0)
                    l->key_issuer[0] = '\0';
                return 1;
            }
        }
    }
    l->kidless_bound = more;
    if (tried == 0 || more)
        return 0;
    l->sig = SIG_INVALID;
    l->f |= BIT(F_SIGNATURE_INVALID);
    return 1;
}

/* Header, key and signature findings of one JWS layer. cl: the claims the token asserts (of
 * this layer, or of the inner token of a nested JWT), NULL when it has none (b64:false, an
 * inner JWE): the key is then still looked up, checked for revocation and used to verify,
 * but there is no issuer to scope it to, so no issuer-scope or key_unknown finding. */
static void judge_layer(const struct keystore *ks, const struct policy_cfg *cfg,
                        const struct jwt *t, const struct jwt_claims *cl, struct layer *l)
{
    const struct jwt_claims *h = &t->c;
    const char *alg = h->alg ? h->alg : "";
    memset(l, 0, sizeof(*l));
    l->sig = SIG_NOT_CHECKED;

    if (strcasecmp(alg, "none") == 0)
        l->f |= BIT(F_ALG_NONE);
    /* Outside policy.algorithms (`none` and HS* included) is a mismatch whatever the key. */
    int ai = alg_index(alg);
    int alg_allowed = ai >= 0 && (cfg->alg_mask & (1u << ai));
    if (!alg_allowed)
        l->f |= BIT(F_ALG_MISMATCH);
    if (h->has_jwk || h->has_jku || h->has_x5u || h->has_x5c)
        l->f |= BIT(F_EMBEDDED_KEY);

    const char *iss = cl ? cl->iss : NULL, *tid = cl ? cl->tid : NULL;
    /* SPEC §2: {tenantid} is any GUID that equals tid, so a tid that contradicts iss leaves iss
     * matching no keyset. */
    int trusted = iss && keystore_issuer_trusted(ks, iss, tid);

    const struct ks_key *keys[16];
    size_t nkeys = (h->kid || h->x5t || h->x5t256)
                       ? keystore_find(ks, h->kid, h->x5t, h->x5t256, keys, 16) : 0;
    const struct ks_key *key = NULL;
    for (size_t i = 0; i < nkeys && !key && iss; i++)
        if (keystore_key_allows(ks, keys[i], iss, tid))
            key = keys[i];
    if (!key && nkeys)
        key = keys[0];
    l->key = key;

    if (keystore_revoked(ks, key, h->kid, h->x5t))
        l->f |= BIT(F_KEY_REVOKED);

    if (key) {
        int allowed = cl && iss && keystore_key_allows(ks, key, iss, tid);
        if (cl && !allowed)
            l->f |= BIT(F_KEY_ISSUER_MISMATCH);
        uint32_t sf = check_signature(cfg, key, t, alg_allowed, tid, l);
        /* Several keys under one identifier (keys update keeps a kid's replaced material as
         * retired): when the first fails, the others the issuer may use are tried, at most the
         * 16 found; the first that verifies is the token's key. */
        int tried = 0;
        for (size_t i = 0; allowed && (sf & BIT(F_SIGNATURE_INVALID)) && i < nkeys; i++) {
            if (keys[i] == key || !keystore_key_allows(ks, keys[i], iss, tid))
                continue;
            tried = 1;
            uint32_t af = check_signature(cfg, keys[i], t, alg_allowed, tid, l);
            if (l->sig == SIG_VALID) {
                key = l->key = keys[i];
                sf = af;
                tried = 0;
                if (keystore_revoked(ks, key, NULL, NULL))
                    l->f |= BIT(F_KEY_REVOKED);
            }
        }
        if (tried) /* none verified: report the first key, as before */
            sf = check_signature(cfg, key, t, alg_allowed, tid, l);
        l->f |= sf;
        if (cl && !trusted)
            l->f |= BIT(F_ISSUER_UNTRUSTED);
    } else if (!cl) {
        /* nothing asserts an issuer: a key we do not know is not a finding */
    } else if (trusted && !(h->kid || h->x5t || h->x5t256) &&
               kidless_key(ks, cfg, t, cl, alg_allowed, l)) {
        /* named no key: a key of the issuer's verified it, or none of them did */
        if (l->key && keystore_revoked(ks, l->key, NULL, NULL))
            l->f |= BIT(F_KEY_REVOKED);
    } else if (trusted && cfg->observed && observed_key(cfg, t, cl, alg_allowed, l)) {
        /* signed by a key the issuer publishes on the wire but no configured set holds */
    } else if (trusted) {
        l->f |= BIT(F_KEY_UNKNOWN);
    } else {
        l->f |= BIT(F_ISSUER_UNTRUSTED);
    }
}

/* tenant_mismatch. For an Entra issuer of a configured cloud (v1 or v2 form), as
 * Microsoft.IdentityModel's EnableAadSigningKeyIssuerValidation: a tid, when present, must be
 * a GUID equal (any case) to the issuer's tenant segment, whatever that segment is. For other
 * issuers: a tid must equal the first GUID path segment of iss, when iss has one. */
static int tenant_mismatch(const struct keystore *ks, const struct jwt_claims *cl)
{
    const char *seg;
    size_t seglen;
    if (!cl->tid || !cl->iss)
        return 0;
    size_t tlen = strlen(cl->tid);
    if (keystore_entra_issuer(ks, cl->iss, &seg, &seglen))
        return !(keystore_is_guid(cl->tid, tlen) && seglen == tlen && strncasecmp(seg, cl->tid, tlen) == 0);
    return issuer_tenant(cl->iss, &seg) && (tlen != 36 || strncasecmp(seg, cl->tid, 36) != 0);
}

/* RFC 7515 §4.1.9: typ values compare case-insensitively, an "application/" prefix omitted. */
static int typ_equal(const char *a, const char *b)
{
    if (strncasecmp(a, "application/", 12) == 0)
        a += 12;
    if (strncasecmp(b, "application/", 12) == 0)
        b += 12;
    return strcasecmp(a, b) == 0;
}

/* The keyset whose key signed or, when no configured key matched, the first keyset trusting
 * iss; NULL when none. Its per-keyset settings (audiences, token-types, max-lifetime) apply. */
static const struct ks_keyset *judging_set(const struct keystore *ks, const struct ks_key *key,
                                           const struct jwt_claims *cl)
{
    const struct ks_keyset *set = key ? key->set : NULL;
    for (size_t i = 0; !set && cl && cl->iss && i < ks->nsets; i++)
        if (keystore_set_trusts(ks, &ks->sets[i], cl->iss, cl->tid))
            set = &ks->sets[i];
    return set;
}

/* keysets[].audiences / token-types of judging_set(). A token without aud, or without typ,
 * fails an expectation that is set. */
static uint32_t expectations(const struct ks_keyset *set, const struct jwt_claims *cl,
                             const char *typ)
{
    if (!set)
        return 0;
    uint32_t f = 0;
    if (set->naudiences) {
        int hit = 0;
        for (size_t i = 0; cl && i < cl->naud && !hit; i++)
            for (size_t j = 0; j < set->naudiences && !hit; j++)
                hit = strcmp(cl->auds[i], set->audiences[j]) == 0;
        if (!hit)
            f |= BIT(F_AUDIENCE_MISMATCH);
    }
    if (set->ntypes) {
        int hit = 0;
        for (size_t j = 0; typ && j < set->ntypes && !hit; j++)
            hit = typ_equal(typ, set->types[j]);
        if (!hit)
            f |= BIT(F_TYPE_MISMATCH);
    }
    return f;
}

#define MAX_DEPTH 2 /* an outer JWS and its inner token; one more level is malformed */

/* The outer token and, for a nested JWT, its inner token: t[0..n). An arena failure makes the
 * layer an unparseable JWS rather than dropping the token. */
static int parse_layers(const uint8_t *tok, size_t len, struct arena *a, struct jwt t[MAX_DEPTH])
{
    int n = 0;
    do {
        const uint8_t *p = n ? t[n - 1].inner : tok;
        size_t plen = n ? t[n - 1].inner_len : len;
        if (jwt_parse(p, plen, a, &t[n]) != 0) {
            memset(&t[n], 0, sizeof(t[n]));
            t[n].type = JWT_TYPE_JWT;
            t[n].malformed = 1;
        }
        n++;
    } while (n < MAX_DEPTH && t[n - 1].type == JWT_TYPE_JWT && t[n - 1].inner);
    return n;
}

/* Findings, signature, key and its scope for the layers t[0..n) into v. Returns the layer whose
 * header and claims the verdict reports (the innermost JWS that parsed), NULL when none. */
static const struct jwt *judge_layers(const struct keystore *ks, const struct policy_cfg *cfg,
                                      const struct jwt *t, int n, struct verdict *v,
                                      char *key_issuer, size_t kilen,
                                      const struct ks_key **chosen)
{
    v->type = t[0].type;
    v->sig = SIG_NOT_CHECKED;
    if (t[0].type != JWT_TYPE_JWT)
        return NULL;
    if (t[0].malformed) {
        v->findings = BIT(F_MALFORMED);
        return NULL;
    }
    const struct jwt *rep = &t[0], *last = &t[n - 1];
    /* Structure we cannot judge: MALFORMED alone, signature not checked. RFC 7515 §4.1.11: a
     * crit extension we do not understand means the JWS must be rejected (its signing input may
     * not be what we would verify); a nested JWT deeper than MAX_DEPTH; an inner token that
     * does not parse. */
    int broken = last->type == JWT_TYPE_JWT && last->inner != NULL;
    for (int i = 0; i < n; i++) {
        if (t[i].type == JWT_TYPE_JWT && !t[i].malformed)
            rep = &t[i];
        if (t[i].type == JWT_TYPE_OPAQUE ||
            (t[i].type == JWT_TYPE_JWT && (t[i].malformed || t[i].c.crit_unknown)))
            broken = 1;
    }
    if (broken) {
        v->findings = BIT(F_MALFORMED);
        return rep;
    }
    /* The claims the token asserts: the innermost JWS's, none for b64:false or an inner JWE. */
    const struct jwt_claims *cl =
        last->type == JWT_TYPE_JWT && !last->c.b64_false ? &last->c : NULL;

    struct layer lay[MAX_DEPTH];
    const struct layer *rl = NULL;
    uint32_t f = 0;
    enum sig_state sig = SIG_VALID;
    int64_t nb = INT64_MIN, na = INT64_MAX;
    int has_validity = 0;
    for (int i = 0; i < n; i++) {
        if (t[i].type != JWT_TYPE_JWT)
            continue;
        judge_layer(ks, cfg, &t[i], cl, &lay[i]);
        f |= lay[i].f;
        v->kidless_bound |= (uint8_t)lay[i].kidless_bound;
        if (sig_rank(lay[i].sig) >= sig_rank(sig))
            sig = lay[i].sig;
        /* RFC 7519 §7.2 step 10: a JWT's payload is base64url JSON; an unencoded payload is a
         * valid JWS but not a JWT claims set. */
        if (t[i].c.b64_false)
            f |= BIT(F_MALFORMED);
        const struct ks_key *k = lay[i].used;
        if (!k)
            continue;
        rl = &lay[i]; /* the innermost layer with a key names it */
        /* key_expired must hold for every signing key: keep the windows' intersection */
        if (k->has_validity) {
            has_validity = 1;
            nb = k->not_before > nb ? k->not_before : nb;
            na = k->not_after < na ? k->not_after : na;
        }
    }
    v->sig = sig;

    const struct ks_keyset *set = judging_set(ks, rl ? rl->key : NULL, cl);
    if (cl) {
        if (tenant_mismatch(ks, cl))
            f |= BIT(F_TENANT_MISMATCH);
        /* keysets[].max-lifetime, when set, replaces policy.max-lifetime for its tokens */
        int64_t bound = set && set->max_lifetime ? set->max_lifetime : cfg->max_lifetime;
        if (cl->has_exp && (cl->has_iat || cl->has_nbf)) {
            int64_t start = cl->has_iat ? cl->iat : cl->nbf;
            if (cl->exp - start > bound)
                f |= BIT(F_LIFETIME_EXCESSIVE);
        }
    }
    f |= expectations(set, cl, rep->c.typ);
    v->findings = f;
    if (rl) {
        *chosen = rl->key;
        v->keyset = rl->used->set ? rl->used->set->name : NULL;
        snprintf(key_issuer, kilen, "%s", rl->key_issuer);
    }
    v->key_has_validity = (uint8_t)has_validity;
    v->key_not_before = has_validity ? nb : 0;
    v->key_not_after = has_validity ? na : 0;
    return rep;
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

/* Copies the reported layer's header and claims, the keyset name and key issuer into one heap
 * block (v->strings): the aud pointer array first (malloc alignment), then the strings. */
static int copy_claims(struct verdict *v, const struct jwt_claims *c, const char *key_issuer)
{
    size_t need = c->naud * sizeof(char *) + slen(c->alg) + slen(c->kid) + slen(c->x5t) +
                  slen(c->x5t256) + slen(c->typ) + slen(c->cty) + slen(c->iss) + slen(c->tid) +
                  slen(c->sub) + slen(c->appid) + slen(c->azp) + slen(v->keyset) +
                  (key_issuer[0] ? strlen(key_issuer) + 1 : 0);
    for (size_t i = 0; i < c->naud; i++)
        need += slen(c->auds[i]);
    v->strings = malloc(need ? need : 1);
    if (!v->strings)
        return -1;
    v->strings_len = need;
    const char **auds = (const char **)(void *)v->strings;
    char *p = v->strings + c->naud * sizeof(char *);
    v->c = *c;
    v->c.alg = scopy(&p, c->alg);
    v->c.kid = scopy(&p, c->kid);
    v->c.x5t = scopy(&p, c->x5t);
    v->c.x5t256 = scopy(&p, c->x5t256);
    v->c.typ = scopy(&p, c->typ);
    v->c.cty = scopy(&p, c->cty);
    v->c.iss = scopy(&p, c->iss);
    v->c.tid = scopy(&p, c->tid);
    v->c.sub = scopy(&p, c->sub);
    v->c.appid = scopy(&p, c->appid);
    v->c.azp = scopy(&p, c->azp);
    for (size_t i = 0; i < c->naud; i++)
        auds[i] = scopy(&p, c->auds[i]);
    v->c.auds = c->naud ? auds : NULL;
    v->c.aud = c->naud ? auds[0] : NULL;
    v->key_issuer = key_issuer[0] ? scopy(&p, key_issuer) : NULL;
    /* a copy: an observed key set can be forgotten while the verdict is cached */
    v->keyset = scopy(&p, v->keyset);
    return 0;
}

struct verdict *policy_judge(const struct keystore *ks, const struct policy_cfg *cfg,
                             const uint8_t *tok, size_t len)
{
    const struct ks_key *key;
    return policy_judge_key(ks, cfg, tok, len, &key);
}

struct verdict *policy_judge_shed(const struct keystore *ks, const struct policy_cfg *cfg,
                                  const uint8_t *tok, size_t len, int shed)
{
    struct policy_cfg c = *cfg;
    c.shedding = shed != 0;
    return policy_judge(ks, &c, tok, len);
}

int policy_shed_due(const struct policy_cfg *cfg)
{
    if (!cfg->shed_lag_us || !cfg->pkt_us)
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    uint64_t pkt = *cfg->pkt_us;
    return pkt && now > pkt && now - pkt > cfg->shed_lag_us;
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

    struct arena a;
    arena_init(&a, 4096, 1u << 20);
    struct jwt t[MAX_DEPTH];
    char key_issuer[512] = "";
    int n = parse_layers(tok, len, &a, t);
    /* The token's SHA-256 in one pass that also gives its signing input's (a prefix of it),
     * which verification then reuses for every key it tries (verify_token_digest). */
    size_t si = t[0].type == JWT_TYPE_JWT && t[0].signing_input == tok ? t[0].signing_input_len : 0;
    verify_token_digest(cfg->vx, tok, len, si, v->digest);
    hex_encode(v->digest, sizeof(v->digest), v->sha256);
    const struct jwt *rep = judge_layers(ks, cfg, t, n, v, key_issuer, sizeof(key_issuer), chosen);
    verify_forget_digest(cfg->vx);
    if (rep && copy_claims(v, &rep->c, key_issuer) != 0) {
        arena_release(&a);
        free(v);
        *chosen = NULL;
        return NULL;
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
