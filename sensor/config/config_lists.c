/* config_lists.c — the configuration's lists of mappings (outputs, keysets, revoked-keys,
 * policy.entra-clouds): what each needs beyond the rows of its items (the key table, config.c).
 *
 * Start-up only. The rows parse, default, dump and free every item key; this file holds the
 * default items, the checks across one item's keys (required keys, duplicates, formats one row
 * cannot say) and the outputs' own shapes: a mapping {eve: {...}} or Suricata's list of them,
 * `eve-log` for `eve`, and `enabled: no` dropping an output.
 */
#include "config.h"
#include "config_parse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LEN CONFIG_PARSE_KEY_LEN

/* ---- outputs ---------------------------------------------------------------------------- */

/* An output at its defaults; key and line name it in later messages (config_check.c). */
static void output_init(struct eve_output_cfg *o, const char *key, int line)
{
    memset(o, 0, sizeof(*o));
    config_base_defaults(CB_OUTPUT, o);
    o->line = line;
    snprintf(o->key, sizeof(o->key), "%.60s", key);
}

/* The default: one regular eve.json. */
static void outputs_defaults(const struct config_key *k, void *parent)
{
    struct config *c = parent;
    (void)k;
    c->outputs = config_calloc(1, sizeof(*c->outputs));
    c->noutputs = 1;
    output_init(&c->outputs[0], "outputs.eve", 0);
}

/* One `eve:` (or Suricata's `eve-log:`) output, appended to c->outputs unless disabled. */
static int output_parse(struct config_parse *x, const struct yaml_doc_pair *e, const char *base,
                        const char *name, struct config *c)
{
    char path[KEY_LEN], row[KEY_LEN];
    config_parse_join_key(path, base, e->key);
    if (strcmp(e->key, "eve") != 0 && strcmp(e->key, "eve-log") != 0)
        return config_parse_fail(x, e->line, path, "unknown output (expected eve)");
    struct eve_output_cfg o;
    output_init(&o, path, e->value->line ? e->value->line : e->line);
    config_parse_join_key(row, name, "eve");
    if (!yaml_doc_is_null(e->value) &&
        config_parse_map(x, e->value, path, row, CB_OUTPUT, &o) < 0) {
        config_base_free(CB_OUTPUT, &o);
        return -1;
    }
    if (!o.enabled) {
        config_base_free(CB_OUTPUT, &o);
        return 0;
    }
    c->outputs = realloc(c->outputs, (c->noutputs + 1) * sizeof(*c->outputs));
    if (!c->outputs)
        abort(); /* as config_calloc */
    c->outputs[c->noutputs++] = o;
    return 0;
}

static int outputs_parse(struct config_parse *x, const struct config_key *k,
                         const struct yaml_doc_node *v, const char *key, void *parent)
{
    char ikey[KEY_LEN], b[80];
    config_key_free(k, parent);
    if (v->kind == YAML_DOC_MAP) {
        for (size_t i = 0; i < v->npairs; i++)
            if (output_parse(x, &v->pairs[i], key, k->name, parent) < 0)
                return -1;
        return 0;
    }
    if (v->kind != YAML_DOC_SEQ)
        return config_parse_fail(x, v->line, key,
                                 "expected a mapping or a list of mappings, got %s",
                                 config_parse_shown(v, b, sizeof(b)));
    for (size_t i = 0; i < v->nitems; i++) {
        const struct yaml_doc_node *it = v->items[i];
        config_parse_join_index(ikey, key, i);
        if (it->kind != YAML_DOC_MAP)
            return config_parse_fail(x, it->line, ikey,
                                     "expected a mapping like {eve: {...}}, got %s",
                                     config_parse_shown(it, b, sizeof(b)));
        for (size_t j = 0; j < it->npairs; j++)
            if (output_parse(x, &it->pairs[j], ikey, k->name, parent) < 0)
                return -1;
    }
    return 0;
}

const struct config_list config_lists_outputs = {
    .size = sizeof(struct eve_output_cfg),
    .base = CB_OUTPUT,
    .defaults = outputs_defaults,
    .parse = outputs_parse,
};

/* ---- keysets ---------------------------------------------------------------------------- */

static int keyset_check(struct config_parse *x, const struct yaml_doc_node *v, const char *key,
                        void *items, size_t i)
{
    static const char *const required[] = {"name", "jwks", "issuers"};
    struct keyset_cfg *all = items, *k = &all[i];
    char rkey[KEY_LEN];
    k->line = v->line;
    const void *have[] = {k->name, k->jwks, k->issuers};
    for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++) {
        config_parse_join_key(rkey, key, required[r]);
        if (!have[r])
            return config_parse_fail(x, k->line, rkey,
                                     "missing (a keyset needs name, jwks and issuers)");
    }
    const char *urls[] = {k->jwks_uri, k->discovery};
    for (size_t u = 0; u < 2; u++) {
        if (!urls[u])
            continue;
        const char *what = u ? "discovery" : "jwks-uri";
        config_parse_join_key(rkey, key, what);
        int line = yaml_doc_map_find(v, what)->value->line;
        if (u == 1 && k->jwks_uri)
            return config_parse_fail(x, line, rkey, "give jwks-uri or discovery, not both");
        if (strncmp(urls[u], "https://", 8) != 0 || !urls[u][8])
            return config_parse_fail(x, line, rkey, "not an https URL");
    }
    for (size_t j = 0; j < i; j++) {
        if (strcmp(all[j].name, k->name) == 0) {
            config_parse_join_key(rkey, key, "name");
            return config_parse_fail(x, yaml_doc_map_find(v, "name")->value->line, rkey,
                                     "duplicate keyset name '%.60s' (also keysets[%zu])",
                                     k->name, j);
        }
    }
    return 0;
}

const struct config_list config_lists_keysets = {
    .size = sizeof(struct keyset_cfg),
    .base = CB_KEYSET,
    .check = keyset_check,
};

/* ---- revoked-keys ----------------------------------------------------------------------- */

/* A certificate thumbprint as openssl (colons) or PowerShell (none) prints it, in any case. */
static int normalize_sha1(char *s)
{
    size_t n = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == ':')
            continue;
        if (!isxdigit((unsigned char)s[i]))
            return -1;
        s[n++] = (char)tolower((unsigned char)s[i]);
    }
    s[n] = '\0';
    return n == 40 ? 0 : -1;
}

static int revoked_check(struct config_parse *x, const struct yaml_doc_node *v, const char *key,
                         void *items, size_t i)
{
    struct revoked_cfg *r = (struct revoked_cfg *)items + i;
    char skey[KEY_LEN], b[80];
    r->line = v->line;
    if (r->sha1 && normalize_sha1(r->sha1) < 0) {
        const struct yaml_doc_node *s = yaml_doc_map_find(v, "sha1")->value;
        config_parse_join_key(skey, key, "sha1");
        return config_parse_fail(x, s->line, skey,
                                 "expected 40 hex digits (colons allowed), got %s",
                                 config_parse_shown(s, b, sizeof(b)));
    }
    if (!r->kid && !r->x5t && !r->sha1 && !r->jkt)
        return config_parse_fail(x, r->line, key, "needs at least one of kid, x5t, sha1, jkt");
    return 0;
}

const struct config_list config_lists_revoked = {
    .size = sizeof(struct revoked_cfg),
    .base = CB_REVOKED,
    .check = revoked_check,
};

/* ---- policy.entra-clouds ---------------------------------------------------------------- */

/* Entra's clouds: public, US Government (v1 tokens keep sts.windows.net), China (21Vianet). */
static void clouds_defaults(const struct config_key *k, void *parent)
{
    static const char *const clouds[][2] = {
        {"https://sts.windows.net/", "https://login.microsoftonline.com/"},
        {"https://sts.windows.net/", "https://login.microsoftonline.us/"},
        {"https://sts.chinacloudapi.cn/", "https://login.partner.microsoftonline.cn/"},
    };
    struct config *c = parent;
    (void)k;
    c->nclouds = sizeof(clouds) / sizeof(clouds[0]);
    c->clouds = config_calloc(c->nclouds, sizeof(*c->clouds));
    for (size_t i = 0; i < c->nclouds; i++) {
        c->clouds[i].v1 = config_strdup(clouds[i][0]);
        c->clouds[i].v2 = config_strdup(clouds[i][1]);
    }
}

/* Each cloud is {v1: PREFIX, v2: PREFIX}, both https:// URLs ending in "/". */
static int cloud_check(struct config_parse *x, const struct yaml_doc_node *v, const char *key,
                       void *items, size_t i)
{
    const struct entra_cloud_cfg *e = (const struct entra_cloud_cfg *)items + i;
    const char *vals[] = {e->v1, e->v2}, *names[] = {"v1", "v2"};
    char k[KEY_LEN];
    for (size_t j = 0; j < 2; j++) {
        config_parse_join_key(k, key, names[j]);
        if (!vals[j])
            return config_parse_fail(x, v->line, k, "missing (a cloud needs v1 and v2)");
        size_t n = strlen(vals[j]);
        if (strncmp(vals[j], "https://", 8) != 0 || n < 10 || vals[j][n - 1] != '/')
            return config_parse_fail(x, yaml_doc_map_find(v, names[j])->value->line, k,
                                     "expected an https:// issuer prefix ending in '/', got "
                                     "'%.60s'",
                                     vals[j]);
    }
    return 0;
}

const struct config_list config_lists_clouds = {
    .size = sizeof(struct entra_cloud_cfg),
    .base = CB_CLOUD,
    .defaults = clouds_defaults,
    .check = cloud_check,
};
