/* keystore.c — trusted signing keys grouped in keysets, revoked-key indicators, and the issuer
 * scope rules that decide which key may sign for which issuer.
 *
 * Pipeline: verdict stage (keystore ─► verify ─► policy). Built at start-up (or reload) from the
 * JWKS files the configuration names; read-only afterwards, so workers share it without locks.
 * Owns every keyset, key (EVP_PKEY and strings, built by jwk.c) and indicator; keystore_free()
 * releases all of it.
 * RFC 7517 §5 (JWK Set), SPEC §2 (issuer scope: {tenantid} templates, literal ownership, the
 * JWK's own `issuer` member — the check whose absence let Storm-0558 forge enterprise tokens
 * with a consumer-tenant key).
 */
#include "keystore.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "jwk.h"

static const char TENANT[] = "{tenantid}";
enum { TENANT_LEN = sizeof(TENANT) - 1, GUID_LEN = 36, MAX_JWKS_FILE = 16 << 20 };

struct keystore *keystore_new(void)
{
    return calloc(1, sizeof(struct keystore));
}

static void set_clear(struct ks_keyset *s)
{
    for (size_t i = 0; i < s->nkeys; i++)
        jwk_key_clear(&s->keys[i]);
    free(s->keys);
    for (size_t i = 0; i < s->nissuers; i++)
        free((char *)s->issuers[i]);
    free(s->issuers);
    free((char *)s->name);
}

void keystore_free(struct keystore *ks)
{
    if (!ks)
        return;
    for (size_t i = 0; i < ks->nsets; i++)
        set_clear(&ks->sets[i]);
    free(ks->sets);
    for (size_t i = 0; i < ks->nrevoked; i++) {
        struct ks_revoked *r = &ks->revoked[i];
        free((char *)r->kid);
        free((char *)r->x5t);
        free((char *)r->sha1);
        free((char *)r->jkt);
        free((char *)r->reason);
    }
    free(ks->revoked);
    free(ks);
}

/* strdup that keeps NULL as NULL; *fail is set on allocation failure. */
static char *dup_opt(const char *s, int *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = 1;
    return d;
}

/* Loads every usable JWK of `keys` into set. Returns 0 or -1 on allocation failure. */
static int load_keys(struct ks_keyset *set, json_t *keys)
{
    size_t n = json_array_size(keys);
    if (n && !(set->keys = calloc(n, sizeof(*set->keys))))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char why[128];
        int rc = jwk_to_key(json_array_get(keys, i), &set->keys[set->nkeys], why, sizeof(why));
        if (rc == JWK_NOMEM)
            return -1;
        if (rc == JWK_SKIPPED)
            set->skipped++;
        else
            set->nkeys++;
    }
    return 0;
}

int keystore_add_jwks_json(struct keystore *ks, const char *name, const char *json, size_t len,
                           const char *const *issuers, size_t nissuers, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    if (!root) {
        snprintf(err, errlen, "JSON error at line %d, column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        return -1;
    }
    json_t *keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        snprintf(err, errlen, "not a JWK Set: %s",
                 !json_is_object(root) ? "the document is not a JSON object"
                 : keys                ? "member \"keys\" is not an array"
                                       : "member \"keys\" is missing");
        json_decref(root);
        return -1;
    }

    struct ks_keyset set;
    memset(&set, 0, sizeof(set));
    int fail = 0;
    set.name = dup_opt(name ? name : "", &fail);
    if (nissuers && !(set.issuers = calloc(nissuers, sizeof(*set.issuers))))
        fail = 1;
    for (size_t i = 0; !fail && i < nissuers; i++, set.nissuers++)
        set.issuers[i] = dup_opt(issuers[i] ? issuers[i] : "", &fail);
    if (!fail && load_keys(&set, keys) < 0)
        fail = 1;
    json_decref(root);

    struct ks_keyset *grown = fail ? NULL : realloc(ks->sets, (ks->nsets + 1) * sizeof(*grown));
    if (!grown) {
        set_clear(&set);
        snprintf(err, errlen, "out of memory loading keyset");
        return -1;
    }
    ks->sets = grown;
    ks->sets[ks->nsets++] = set;
    /* realloc may have moved every keyset: re-point all keys at their (new) set. */
    for (size_t i = 0; i < ks->nsets; i++)
        for (size_t j = 0; j < ks->sets[i].nkeys; j++)
            ks->sets[i].keys[j].set = &ks->sets[i];
    return 0;
}

int keystore_add_jwks_file(struct keystore *ks, const char *name, const char *path,
                           const char *const *issuers, size_t nissuers, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            char *nb = cap < MAX_JWKS_FILE ? realloc(buf, cap ? cap * 2 : 16384) : NULL;
            if (!nb) {
                snprintf(err, errlen, "%s: %s", path,
                         cap < MAX_JWKS_FILE ? "out of memory" : "file too large for a JWKS");
                rc = -1;
                break;
            }
            buf = nb;
            cap = cap ? cap * 2 : 16384;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(err, errlen, "%s: read error", path);
                rc = -1;
            }
            break;
        }
    }
    fclose(f);
    if (rc == 0) {
        char inner[256];
        rc = keystore_add_jwks_json(ks, name, buf, len, issuers, nissuers, inner, sizeof(inner));
        if (rc < 0)
            snprintf(err, errlen, "%s: %s", path, inner);
    }
    free(buf);
    return rc;
}

/* Lower-case hex without separators; NULL when it is not 40 hex digits after dropping colons
 * and spaces (how certificate thumbprints get pasted from Windows and openssl output). */
static char *norm_sha1(const char *s, int *fail)
{
    char *d = malloc(strlen(s) + 1);
    if (!d) {
        *fail = 1;
        return NULL;
    }
    size_t n = 0;
    for (; *s; s++) {
        if (*s == ':' || *s == ' ')
            continue;
        if (!isxdigit((unsigned char)*s)) {
            free(d);
            return NULL;
        }
        d[n++] = (char)tolower((unsigned char)*s);
    }
    d[n] = '\0';
    if (n != 40) {
        free(d);
        return NULL;
    }
    return d;
}

int keystore_add_revoked(struct keystore *ks, const char *kid, const char *x5t, const char *sha1,
                         const char *jkt, const char *reason)
{
    if (!kid && !x5t && !sha1 && !jkt)
        return -1;
    struct ks_revoked r;
    int fail = 0;
    memset(&r, 0, sizeof(r));
    r.kid = dup_opt(kid, &fail);
    r.x5t = dup_opt(x5t, &fail);
    r.jkt = dup_opt(jkt, &fail);
    r.reason = dup_opt(reason, &fail);
    if (sha1)
        r.sha1 = norm_sha1(sha1, &fail);
    struct ks_revoked *grown = NULL;
    /* A sha1 that is not a thumbprint would silently never match: refuse it instead. */
    if (!fail && (!sha1 || r.sha1))
        grown = realloc(ks->revoked, (ks->nrevoked + 1) * sizeof(*grown));
    if (!grown) {
        free((char *)r.kid);
        free((char *)r.x5t);
        free((char *)r.sha1);
        free((char *)r.jkt);
        free((char *)r.reason);
        return -1;
    }
    ks->revoked = grown;
    ks->revoked[ks->nrevoked++] = r;
    return 0;
}

static int str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

size_t keystore_find(const struct keystore *ks, const char *kid, const char *x5t,
                     const char *x5t256, const struct ks_key **out, size_t max)
{
    (void)x5t256; /* TEMPORARY (interface commit) */
    size_t n = 0;
    for (int pass = 0; pass < 2 && n == 0; pass++) {
        const char *want = pass == 0 ? kid : x5t;
        if (!want)
            continue;
        for (size_t i = 0; i < ks->nsets; i++)
            for (size_t j = 0; j < ks->sets[i].nkeys; j++) {
                const struct ks_key *k = &ks->sets[i].keys[j];
                if (str_eq(pass == 0 ? k->kid : k->x5t, want) && n < max)
                    out[n++] = k;
            }
    }
    return n;
}

/* x5t is base64url(SHA-1(cert DER)) (RFC 7515 §4.1.7), so a SHA-1 indicator also catches a
 * token or JWK that names the certificate by x5t without shipping it. */
static int x5t_is_sha1(const char *x5t, const char *sha1hex)
{
    uint8_t d[32];
    char hex[41];
    if (!x5t || !sha1hex || strlen(x5t) != 27)
        return 0;
    if (b64url_decode(x5t, 27, d) != 20)
        return 0;
    for (int i = 0; i < 20; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return strcmp(hex, sha1hex) == 0;
}

const struct ks_revoked *keystore_revoked(const struct keystore *ks, const struct ks_key *key,
                                          const char *kid, const char *x5t)
{
    for (size_t i = 0; i < ks->nrevoked; i++) {
        const struct ks_revoked *r = &ks->revoked[i];
        if (str_eq(r->kid, kid) || str_eq(r->x5t, x5t) || x5t_is_sha1(x5t, r->sha1))
            return r;
        if (key && (str_eq(r->kid, key->kid) || str_eq(r->x5t, key->x5t) ||
                    str_eq(r->sha1, key->cert_sha1) || x5t_is_sha1(key->x5t, r->sha1) ||
                    str_eq(r->jkt, key->jkt)))
            return r;
    }
    return NULL;
}

/* 8-4-4-4-12 hex digits: the only thing {tenantid} may stand for, so a crafted tid cannot
 * smuggle '/' or another issuer's text into the substituted template. */
static int is_guid(const char *s, size_t len)
{
    if (len != GUID_LEN)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!isxdigit((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

int keystore_issuer_match(const char *tmpl, const char *iss, const char *tid)
{
    if (!tmpl)
        return 0;
    /* "*" (check-token --jwks) trusts the file for anything, a token without iss included. */
    if (strcmp(tmpl, "*") == 0)
        return 1;
    if (!iss)
        return 0;
    const char *t = strstr(tmpl, TENANT);
    if (!t)
        return strcmp(tmpl, iss) == 0;
    size_t pre = (size_t)(t - tmpl), suf = strlen(t + TENANT_LEN), ilen = strlen(iss);
    if (ilen != pre + GUID_LEN + suf || strncmp(iss, tmpl, pre) != 0 ||
        strcmp(iss + pre + GUID_LEN, t + TENANT_LEN) != 0)
        return 0;
    const char *seg = iss + pre;
    if (!is_guid(seg, GUID_LEN))
        return 0;
    /* With a tid, substitution must reproduce iss exactly (byte for byte, as Microsoft's
     * validator compares); without one, the issuer's own tenant segment stands in. */
    return !tid || (strncmp(seg, tid, GUID_LEN) == 0 && tid[GUID_LEN] == '\0');
}

static int is_literal(const char *issuer)
{
    return strcmp(issuer, "*") != 0 && !strstr(issuer, TENANT);
}

static int lists_literally(const struct ks_keyset *set, const char *iss)
{
    for (size_t i = 0; i < set->nissuers; i++)
        if (is_literal(set->issuers[i]) && strcmp(set->issuers[i], iss) == 0)
            return 1;
    return 0;
}

int keystore_set_trusts(const struct keystore *ks, const struct ks_keyset *set, const char *iss,
                        const char *tid)
{
    if (iss) {
        /* Literal ownership (SPEC §2): the consumer tenant's issuer, listed by the consumer
         * keyset, must not also be covered by the organizations keyset's {tenantid} template —
         * otherwise organization keys could sign consumer tokens and the reverse. */
        for (size_t i = 0; i < ks->nsets; i++)
            if (lists_literally(&ks->sets[i], iss))
                return lists_literally(set, iss);
    }
    for (size_t i = 0; i < set->nissuers; i++)
        if (keystore_issuer_match(set->issuers[i], iss, tid))
            return 1;
    return 0;
}

int keystore_issuer_trusted(const struct keystore *ks, const char *iss, const char *tid)
{
    for (size_t i = 0; i < ks->nsets; i++)
        if (keystore_set_trusts(ks, &ks->sets[i], iss, tid))
            return 1;
    return 0;
}

/* Entra's v1 endpoint issues iss "https://sts.windows.net/<tid>/" with the same keys, but only
 * the v2 JWKS carries per-key issuers, always in v2 form. Like Microsoft.IdentityModel's
 * EnableAadSigningKeyIssuerValidation, a v1 iss is compared through its v2 equivalent for the
 * same tenant — still a per-tenant comparison, so a consumer key stays confined to the consumer
 * tenant (public cloud only; sovereign clouds would need their own pair). */
static int v1_equivalent(const char *key_issuer, const char *iss, const char *tid)
{
    static const char v1[] = "https://sts.windows.net/", v2[] = "https://login.microsoftonline.com/";
    size_t pre = sizeof(v1) - 1;
    if (!iss || strncmp(iss, v1, pre) != 0 || strlen(iss) != pre + GUID_LEN + 1 ||
        iss[pre + GUID_LEN] != '/' || !is_guid(iss + pre, GUID_LEN))
        return 0;
    char as_v2[sizeof(v2) + GUID_LEN + 8];
    snprintf(as_v2, sizeof(as_v2), "%s%.*s/v2.0", v2, GUID_LEN, iss + pre);
    return keystore_issuer_match(key_issuer, as_v2, tid);
}

int keystore_key_allows(const struct keystore *ks, const struct ks_key *key, const char *iss,
                        const char *tid)
{
    if (!key->set || !keystore_set_trusts(ks, key->set, iss, tid))
        return 0;
    /* The Storm-0558 check: the JWK's own issuer narrows the key to one tenant (or, as a
     * template, to the token's own tenant); a consumer key signing an enterprise iss fails it. */
    return !key->issuer || keystore_issuer_match(key->issuer, iss, tid) ||
           v1_equivalent(key->issuer, iss, tid);
}

int keystore_key_issuer(const struct ks_key *key, const char *tid, char *buf, size_t buflen)
{
    const char *src = key->issuer;
    if (!src && key->set && key->set->nissuers == 1 && strcmp(key->set->issuers[0], "*") != 0)
        src = key->set->issuers[0];
    if (!src || !buflen)
        return -1;
    const char *t = strstr(src, TENANT);
    if (t && tid)
        snprintf(buf, buflen, "%.*s%s%s", (int)(t - src), src, tid, t + TENANT_LEN);
    else
        snprintf(buf, buflen, "%s", src);
    return 0;
}

/* TEMPORARY (interface commit): replaced by the real implementations. */
int keystore_set_expectations(struct keystore *ks, const char *name, const char *const *auds,
                              size_t naud, const char *const *types, size_t ntypes)
{
    (void)ks, (void)name, (void)auds, (void)naud, (void)types, (void)ntypes;
    return -1;
}

int keystore_add_cloud(struct keystore *ks, const char *v1_prefix, const char *v2_prefix)
{
    (void)ks, (void)v1_prefix, (void)v2_prefix;
    return 0;
}

int keystore_entra_issuer(const struct keystore *ks, const char *iss, const char **seg,
                          size_t *seglen)
{
    (void)ks, (void)iss, (void)seg, (void)seglen;
    return 0;
}
