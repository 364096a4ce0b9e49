/* keystore_build.c — a key store from a configuration (see keystore_build.h).
 *
 * Pipeline: start-up, hot reload and check-token, never per packet (config ─► [keystore_build]
 * ─► keystore). Owns nothing once it returns: the store it built is the caller's. Errors name
 * the configuration file, line and key at fault, as DESIGN "Errors" asks of bad configuration.
 */
#include "keystore_build.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testkeys.h"

/* Where a key set was configured, for messages: the file, or --set for the command line. */
static const char *cfg_where(const struct config *cfg)
{
    return cfg->path ? cfg->path : "--set";
}

/* Adds key set k to ks: 0, or -1 with err filled. */
static int add_keyset(struct keystore *ks, const struct config *cfg, const struct keyset_cfg *k,
                      char *err, size_t errlen)
{
    char kerr[512];
    /* A keyset that `keys update` fills (jwks-uri or discovery) whose file does not exist yet:
     * the installed configuration before its first update. Loaded empty, with a warning that
     * says what to run; any other missing file is an error. */
    int pending = (k->jwks_uri || k->discovery) && access(k->jwks, F_OK) != 0 && errno == ENOENT;
    if (pending) {
        static const char empty[] = "{\"keys\":[]}";
        if (keystore_add_jwks_json(ks, k->name, empty, sizeof(empty) - 1,
                                   (const char *const *)k->issuers, k->nissuers, kerr,
                                   sizeof(kerr)) != 0) {
            snprintf(err, errlen, "%s", kerr);
            return -1;
        }
        fprintf(stderr, "tokenwatch: warning: %s:%d: keysets.%s.jwks: %s not fetched yet: run "
                "`tokenwatch keys update`; until then tokens of its issuers are judged "
                "key_unknown\n", cfg_where(cfg), k->line, k->name, k->jwks);
    } else if (keystore_add_jwks_file(ks, k->name, k->jwks, (const char *const *)k->issuers,
                                      k->nissuers, kerr, sizeof(kerr)) != 0) {
        snprintf(err, errlen, "%s:%d: keysets.%s.jwks: %s", cfg_where(cfg), k->line, k->name,
                 kerr);
        return -1;
    }
    struct ks_keyset *set = &ks->sets[ks->nsets - 1];
    set->max_lifetime = k->max_lifetime;
    char label[256];
    snprintf(label, sizeof(label), "keysets.%s", k->name);
    keystore_report_keyset(set, k->jwks, label, stderr);
    /* Keys published but none usable: nothing of this issuer could ever verify, surely a
     * mistake; refused like a broken file (a reload keeps the running store). A file with no
     * keys at all may be filled later (and reloaded): only a warning. */
    if (set->nkeys == 0 && set->nskips) {
        snprintf(err, errlen, "%s:%d: keysets.%s.jwks: %s: no usable key (%zu refused)",
                 cfg_where(cfg), k->line, k->name, k->jwks, set->nskips);
        return -1;
    }
    if (set->nkeys == 0 && !pending)
        fprintf(stderr, "tokenwatch: warning: %s:%d: keysets.%s.jwks: %s holds no key: "
                "tokens of its issuers are judged key_unknown\n",
                cfg_where(cfg), k->line, k->name, k->jwks);
    if ((k->naudiences || k->ntoken_types) &&
        keystore_set_expectations(ks, k->name, (const char *const *)k->audiences, k->naudiences,
                                  (const char *const *)k->token_types, k->ntoken_types) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void keystore_report_keyset(const struct ks_keyset *set, const char *file, const char *label,
                            FILE *out)
{
    /* Refused keys (RSA under 2048 bits, encryption keys, oct, broken members) are not fatal,
     * but an analyst must know a published key is not being checked. */
    for (size_t j = 0; j < set->nskips; j++)
        fprintf(out, "tokenwatch: warning: %s: %s: key %s refused: %s\n", file, label,
                set->skips[j].kid, set->skips[j].why);
    /* Loaded keys with something ignored or accepted leniently: the key is used. */
    for (size_t j = 0; j < set->nnotes; j++)
        fprintf(out, "tokenwatch: note: %s: %s: key %s: %s\n", file, label, set->notes[j].kid,
                set->notes[j].why);
}

int keystore_add_cli_jwks(struct keystore *ks, const char *path, char *err, size_t errlen)
{
    const char *any[] = {"*"};
    char inner[512];
    if (keystore_add_jwks_file(ks, "cli", path, any, 1, inner, sizeof(inner)) != 0) {
        /* Not a set: perhaps one JWK, as providers' docs and incident write-ups show a key. */
        json_error_t jerr;
        json_t *root = json_load_file(path, 0, &jerr);
        json_t *kty = root ? json_object_get(root, "kty") : NULL;
        if (!json_is_string(kty) || json_object_get(root, "keys")) {
            json_decref(root);
            snprintf(err, errlen, "%s", inner);
            return -1;
        }
        json_t *wrap = json_pack("{s:[O]}", "keys", root);
        char *doc = wrap ? json_dumps(wrap, JSON_COMPACT) : NULL;
        json_decref(wrap);
        json_decref(root);
        int rc = doc ? keystore_add_jwks_json(ks, "cli", doc, strlen(doc), any, 1, inner,
                                              sizeof(inner))
                     : -1;
        free(doc);
        if (rc != 0) {
            snprintf(err, errlen, "%s: %s", path, doc ? inner : "out of memory");
            return -1;
        }
    }
    const struct ks_keyset *set = &ks->sets[ks->nsets - 1];
    keystore_report_keyset(set, path, "--jwks", stderr);
    if (set->nkeys == 0 && set->nskips) {
        snprintf(err, errlen, "%s: no usable key (%zu refused)", path, set->nskips);
        return -1;
    }
    return 0;
}

int keystore_refuse_test_keys(const struct config *cfg, const struct keystore *ks, char *err,
                               size_t errlen)
{
    if (cfg->allow_test_keys)
        return 0;
    for (size_t i = 0; i < ks->nsets && i < cfg->nkeysets; i++) {
        const struct ks_keyset *set = &ks->sets[i];
        for (size_t j = 0; j < set->nkeys; j++) {
            const char *src = testkey_source(set->keys[j].jkt);
            if (!src)
                continue;
            snprintf(err, errlen, "%s:%d: keysets.%s.jwks: key %s is a published TEST key "
                     "(private half: %s): anyone can sign tokens it accepts; trust it only in "
                     "a demo or test configuration, with allow-test-keys: yes",
                     cfg_where(cfg), cfg->keysets[i].line, set->name,
                     set->keys[j].kid ? set->keys[j].kid : set->keys[j].jkt, src);
            return -1;
        }
    }
    return 0;
}

int keystore_build_from_config(const struct config *cfg, struct keystore **out, char *err,
                               size_t errlen)
{
    struct keystore *ks = keystore_new();
    if (!ks) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < cfg->nkeysets; i++)
        if (add_keyset(ks, cfg, &cfg->keysets[i], err, errlen) != 0)
            goto fail;
    for (size_t i = 0; i < cfg->nclouds; i++)
        if (keystore_add_cloud(ks, cfg->clouds[i].v1, cfg->clouds[i].v2) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    for (size_t i = 0; i < cfg->nrevoked; i++) {
        const struct revoked_cfg *r = &cfg->revoked[i];
        /* config checked each entry names a key: -1 is out of memory, and a store that
         * silently lacks a revocation must not be swapped in */
        if (keystore_add_revoked(ks, r->kid, r->x5t, r->sha1, r->jkt, r->reason) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if (cfg->revoked_keys_file) {
        char rerr[512];
        if (keystore_add_revoked_file(ks, cfg->revoked_keys_file, rerr, sizeof(rerr)) != 0) {
            snprintf(err, errlen, "%s:%d: revoked-keys-file: %s", cfg_where(cfg),
                     cfg->revoked_keys_file_line > 0 ? cfg->revoked_keys_file_line : 0, rerr);
            goto fail;
        }
    }
    *out = ks;
    return 0;
fail:
    keystore_free(ks);
    return -1;
}
