/* keystore.c — trusted signing keys grouped in keysets, revoked-key indicators, and the issuer
 * scope rules that decide which key may sign for which issuer.
 *
 * Pipeline: verdict stage (keystore ─► verify ─► policy). Built at start-up (or reload) from the
 * JWKS files the configuration names; read-only afterwards, so workers share it without locks.
 * Owns every keyset (with the record of the JWKs it refused, and its audience/type
 * expectations), key (EVP_PKEY and strings, built by jwk.c), indicator and Entra cloud;
 * keystore_free() releases all of it.
 * RFC 7517 §5 (JWK Set), RFC 7515 §4.1.7-8 (x5t, x5t#S256 lookup), SPEC §2 (issuer scope:
 * {tenantid} templates, literal ownership, the JWK's own `issuer` member — the check whose
 * absence let Storm-0558 forge enterprise tokens with a consumer-tenant key), and the v1/v2
 * issuer pairs of the configured Entra clouds (public, US Government, China).
 */
#include "keystore.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "hex.h"
#include "jwk.h"

static const char TENANT[] = "{tenantid}";
enum { TENANT_LEN = sizeof(TENANT) - 1, GUID_LEN = 36, MAX_JWKS_FILE = 16 << 20 };

struct keystore *keystore_new(void)
{
    return calloc(1, sizeof(struct keystore));
}

static void free_strs(const char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((char *)v[i]);
    free(v);
}

static void set_clear(struct ks_keyset *s)
{
    for (size_t i = 0; i < s->nkeys; i++)
        jwk_key_clear(&s->keys[i]);
    free(s->keys);
    free_strs(s->issuers, s->nissuers);
    for (size_t i = 0; i < s->nskips; i++) {
        free(s->skips[i].kid);
        free(s->skips[i].why);
    }
    free(s->skips);
    for (size_t i = 0; i < s->nnotes; i++) {
        free(s->notes[i].kid);
        free(s->notes[i].why);
    }
    free(s->notes);
    free_strs(s->audiences, s->naudiences);
    free_strs(s->types, s->ntypes);
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
    for (size_t i = 0; i < ks->nclouds; i++) {
        free(ks->clouds[i].v1);
        free(ks->clouds[i].v2);
    }
    free(ks->clouds);
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

/* Records why JWK number idx of "keys" was refused (or, for the notes list, what was noted on
 * a key that was loaded): its kid (control and non-ASCII bytes shown
 * as '?', at most 64 characters, since it ends up in start-up logs) or "#idx". Returns 0 or -1
 * on allocation failure. */
static int add_skip(struct ks_skip **list, size_t *nlist, json_t *jwk, size_t idx,
                    const char *why)
{
    if ((*nlist & (*nlist - 1)) == 0) { /* 0, 1, 2, 4, ...: grow by doubling */
        size_t cap = *nlist ? 2 * *nlist : 1;
        struct ks_skip *grown = realloc(*list, cap * sizeof(*grown));
        if (!grown)
            return -1;
        *list = grown;
    }
    const char *kid = json_string_value(json_object_get(jwk, "kid"));
    char label[72];
    if (kid && *kid) {
        size_t n = 0;
        for (; kid[n] && n < 64; n++)
            label[n] = kid[n] >= 0x20 && kid[n] < 0x7f ? kid[n] : '?';
        label[n] = '\0';
    } else {
        snprintf(label, sizeof(label), "#%zu", idx);
    }
    struct ks_skip sk = {strdup(label), strdup(why[0] ? why : "not usable")};
    if (!sk.kid || !sk.why) {
        free(sk.kid);
        free(sk.why);
        return -1;
    }
    (*list)[(*nlist)++] = sk;
    return 0;
}

/* Loads every usable JWK of `keys` into set, recording each refused one. Returns 0 or -1 on
 * allocation failure. */
static int load_keys(struct ks_keyset *set, json_t *keys)
{
    size_t n = json_array_size(keys);
    if (n && !(set->keys = calloc(n, sizeof(*set->keys))))
        return -1;
    for (size_t i = 0; i < n; i++) {
        char why[256];
        json_t *jwk = json_array_get(keys, i);
        int rc = jwk_to_key(jwk, &set->keys[set->nkeys], why, sizeof(why));
        if (rc == JWK_NOMEM)
            return -1;
        if (rc == JWK_SKIPPED) {
            if (add_skip(&set->skips, &set->nskips, jwk, i, why) < 0)
                return -1;
            set->skipped = set->nskips;
        } else {
            set->nkeys++;
            if (why[0] && add_skip(&set->notes, &set->nnotes, jwk, i, why) < 0)
                return -1;
        }
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
    /* kid first; x5t only when kid is absent or names nothing, x5t#S256 only after both. */
    const char *const wants[3] = {kid, x5t, x5t256};
    size_t n = 0;
    for (int pass = 0; pass < 3 && n == 0; pass++) {
        const char *want = wants[pass];
        if (!want)
            continue;
        for (size_t i = 0; i < ks->nsets; i++)
            for (size_t j = 0; j < ks->sets[i].nkeys && n < max; j++) {
                const struct ks_key *k = &ks->sets[i].keys[j];
                const char *have = pass == 0 ? k->kid : pass == 1 ? k->x5t : k->x5t256;
                if (str_eq(have, want))
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
    hex_encode(d, 20, hex);
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
int keystore_is_guid(const char *s, size_t len)
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
    if (!keystore_is_guid(seg, GUID_LEN))
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

/* Entra's v1 endpoint issues iss "<v1 prefix><tid>/" (https://sts.windows.net/ for the public
 * and US Government clouds) with the same keys, but only the v2 JWKS carries per-key issuers,
 * always in v2 form. Like Microsoft.IdentityModel's EnableAadSigningKeyIssuerValidation, a v1
 * iss is compared through its v2 equivalent "<v2 prefix><tid>/v2.0" for the same tenant — still
 * a per-tenant comparison, so a consumer key stays confined to the consumer tenant. Every cloud
 * whose v1 prefix fits is tried (one v1 host serves two clouds); no cloud, no equivalence. */
static int v1_equivalent(const struct keystore *ks, const char *key_issuer, const char *iss,
                         const char *tid)
{
    if (!iss)
        return 0;
    size_t ilen = strlen(iss);
    for (size_t c = 0; c < ks->nclouds; c++) {
        const struct ks_cloud *cl = &ks->clouds[c];
        size_t pre = strlen(cl->v1);
        if (ilen != pre + GUID_LEN + 1 || strncmp(iss, cl->v1, pre) != 0 ||
            iss[pre + GUID_LEN] != '/' || !keystore_is_guid(iss + pre, GUID_LEN))
            continue;
        char stack[256], *as_v2 = stack;
        size_t need = strlen(cl->v2) + GUID_LEN + sizeof("/v2.0");
        if (need > sizeof(stack) && !(as_v2 = malloc(need)))
            return 0;
        snprintf(as_v2, need, "%s%.*s/v2.0", cl->v2, GUID_LEN, iss + pre);
        int ok = keystore_issuer_match(key_issuer, as_v2, tid);
        if (as_v2 != stack)
            free(as_v2);
        if (ok)
            return 1;
    }
    return 0;
}

int keystore_key_allows(const struct keystore *ks, const struct ks_key *key, const char *iss,
                        const char *tid)
{
    if (!key->set || !keystore_set_trusts(ks, key->set, iss, tid))
        return 0;
    /* The Storm-0558 check: the JWK's own issuer narrows the key to one tenant (or, as a
     * template, to the token's own tenant); a consumer key signing an enterprise iss fails it. */
    return !key->issuer || keystore_issuer_match(key->issuer, iss, tid) ||
           v1_equivalent(ks, key->issuer, iss, tid);
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

/* A copy of n strings, or NULL (with *fail set on allocation failure; NULL for n == 0). */
static const char **dup_strs(const char *const *v, size_t n, int *fail)
{
    if (!n)
        return NULL;
    const char **d = calloc(n, sizeof(*d));
    if (!d) {
        *fail = 1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = dup_opt(v[i] ? v[i] : "", fail);
    return d;
}

int keystore_set_expectations(struct keystore *ks, const char *name, const char *const *auds,
                              size_t naud, const char *const *types, size_t ntypes)
{
    struct ks_keyset *set = NULL;
    for (size_t i = 0; i < ks->nsets && !set; i++)
        if (name && strcmp(ks->sets[i].name, name) == 0)
            set = &ks->sets[i];
    if (!set)
        return -1;
    int fail = 0;
    const char **a = dup_strs(auds, naud, &fail), **t = dup_strs(types, ntypes, &fail);
    if (fail) {
        free_strs(a, a ? naud : 0);
        free_strs(t, t ? ntypes : 0);
        return -1;
    }
    free_strs(set->audiences, set->naudiences);
    free_strs(set->types, set->ntypes);
    set->audiences = a;
    set->naudiences = naud;
    set->types = t;
    set->ntypes = ntypes;
    return 0;
}

int keystore_add_cloud(struct keystore *ks, const char *v1_prefix, const char *v2_prefix)
{
    if (!v1_prefix || !v2_prefix)
        return -1;
    struct ks_cloud c = {strdup(v1_prefix), strdup(v2_prefix)};
    struct ks_cloud *grown =
        c.v1 && c.v2 ? realloc(ks->clouds, (ks->nclouds + 1) * sizeof(*grown)) : NULL;
    if (!grown) {
        free(c.v1);
        free(c.v2);
        return -1;
    }
    ks->clouds = grown;
    ks->clouds[ks->nclouds++] = c;
    return 0;
}

/* iss == prefix + seg + suffix with seg non-empty and free of '/'. */
static int split_issuer(const char *iss, size_t ilen, const char *prefix, const char *suffix,
                        const char **seg, size_t *seglen)
{
    size_t pre = strlen(prefix), suf = strlen(suffix);
    if (ilen <= pre + suf || strncmp(iss, prefix, pre) != 0 ||
        strcmp(iss + ilen - suf, suffix) != 0)
        return 0;
    size_t n = ilen - pre - suf;
    if (memchr(iss + pre, '/', n))
        return 0;
    *seg = iss + pre;
    *seglen = n;
    return 1;
}

int keystore_entra_issuer(const struct keystore *ks, const char *iss, const char **seg,
                          size_t *seglen)
{
    if (!iss)
        return 0;
    size_t ilen = strlen(iss);
    const char *s;
    size_t n;
    for (size_t c = 0; c < ks->nclouds; c++) {
        if (split_issuer(iss, ilen, ks->clouds[c].v1, "/", &s, &n) ||
            split_issuer(iss, ilen, ks->clouds[c].v2, "/v2.0", &s, &n)) {
            if (seg)
                *seg = s;
            if (seglen)
                *seglen = n;
            return 1;
        }
    }
    return 0;
}
