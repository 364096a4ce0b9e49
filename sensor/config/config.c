/* config.c — tokenwatch.yaml (SPEC §2) into struct config: load, --set overrides, dump.
 *
 * Start-up only: main() calls config_load() once (and again on reload); every other module reads
 * the resulting struct config. Owns every string and array in it. The file is parsed into a
 * yaml_doc tree (lines kept), `--set` overrides edit that tree, and one strict walk turns it into
 * struct config: unknown keys, wrong types and bad values stop start-up with
 * "FILE:LINE: KEY: reason" (or "--set KEY: reason" for a node an override made), KEY being the
 * dotted path, list items as `keysets[0]` (0-based).
 *
 * YAML 1.1 as Suricata reads it (see config.h for the value syntax and --set rules); the schema
 * is a set of field tables walked by one parse_map().
 */
#include "config.h"
#include "config_names.h"
#include "yaml_doc.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_LEN 256
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *const cfg_alg_names[POLICY_ALG_COUNT] = POLICY_ALG_NAMES;
const char *const cfg_type_names[CFG_NTYPES] = {"alert", "token", "stats", "http", "flow",
                                               "anomaly", "keyset"};
const char *const cfg_filetype_names[CFG_NFILETYPES] = {"regular", "unix_dgram", "unix_stream",
                                                       "syslog", "redis"};
const char *const cfg_token_event_names[CFG_NTOKEN_EVENTS] = {"all", "first", "none"};
const char *const cfg_syslog_facility_names[SYSLOG_FACILITY_COUNT] = SYSLOG_FACILITY_NAMES;
const char *const cfg_syslog_level_names[SYSLOG_LEVEL_COUNT] = SYSLOG_LEVEL_NAMES;
const char *const cfg_redis_mode_names[CFG_NREDIS_MODES] = {"list", "lpush", "rpush", "channel",
                                                           "publish"};

/* Configuration is read at start-up; without memory there is nothing sensible left to do. */
static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fputs("tokenwatch: out of memory reading configuration\n", stderr);
        abort();
    }
    return p;
}

static char *xstrndup(const char *s, size_t n)
{
    char *p = xcalloc(1, n + 1);
    memcpy(p, s, n);
    return p;
}

static char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

/* ---- errors ----------------------------------------------------------------------------- */

struct ctx {
    const char *file; /* name in messages */
    char *dir;        /* directory anchoring relative paths; NULL = as written */
    char *err;
    size_t errlen;
};

static int fail(const struct ctx *x, int line, const char *key, const char *fmt, ...)
{
    char reason[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (!x->err || !x->errlen)
        return -1;
    if (line > 0)
        snprintf(x->err, x->errlen, "%s:%d: %s: %s", x->file, line, key, reason);
    else
        snprintf(x->err, x->errlen, "--set %s: %s", key, reason);
    return -1;
}

/* How a value is shown after "got": the scalar text (cut short), or its kind. */
static const char *shown(const struct yaml_doc_node *v, char *buf, size_t n)
{
    if (v->kind != YAML_DOC_SCALAR)
        return yaml_doc_kind_name(v);
    snprintf(buf, n, "'%.60s%s'", v->str, v->len > 60 ? "..." : "");
    return buf;
}

/* Key paths only feed messages: an absurdly long one is cut and marked, not refused. */
static void mark_cut(char *out, int n)
{
    if (n >= KEY_LEN)
        memcpy(out + KEY_LEN - 4, "...", 4);
}

static void join_key(char *out, const char *base, const char *key)
{
    mark_cut(out, snprintf(out, KEY_LEN, "%s%s%s", base, *base ? "." : "", key));
}

static void join_index(char *out, const char *base, size_t i)
{
    mark_cut(out, snprintf(out, KEY_LEN, "%s[%zu]", base, i));
}

static int want(const struct ctx *x, const struct yaml_doc_node *v, const char *key, int kind)
{
    char b[80];
    if (v->kind == kind)
        return 0;
    return fail(x, v->line, key, "expected %s, got %s",
                kind == YAML_DOC_MAP ? "a mapping" : "a list", shown(v, b, sizeof(b)));
}

/* ---- typed values ----------------------------------------------------------------------- */

static int get_string(const struct ctx *x, const struct yaml_doc_node *v, const char *key,
                      int nonempty, char **out)
{
    char b[80];
    if (v->kind != YAML_DOC_SCALAR)
        return fail(x, v->line, key, "expected a string, got %s", shown(v, b, sizeof(b)));
    if (memchr(v->str, '\0', v->len))
        return fail(x, v->line, key, "contains a NUL byte");
    if (nonempty && v->len == 0)
        return fail(x, v->line, key, "must not be empty");
    free(*out);
    *out = xstrdup(v->str);
    return 0;
}

static int get_enum(const struct ctx *x, const struct yaml_doc_node *v, const char *key,
                    const char *const *names, size_t n, int *out)
{
    char b[80], list[200] = "";
    for (size_t i = 0; v->kind == YAML_DOC_SCALAR && i < n; i++)
        if (strcmp(v->str, names[i]) == 0 && strlen(v->str) == v->len)
            return *out = (int)i, 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "", names[i]);
    }
    return fail(x, v->line, key, "expected one of %s, got %s", list, shown(v, b, sizeof(b)));
}

static int get_list(const struct ctx *x, const struct yaml_doc_node *v, const char *key,
                    const char *const *names, size_t n, uint32_t *mask)
{
    char k[KEY_LEN];
    if (want(x, v, key, YAML_DOC_SEQ) < 0)
        return -1;
    *mask = 0;
    for (size_t i = 0; i < v->nitems; i++) {
        int bit;
        join_index(k, key, i);
        if (get_enum(x, v->items[i], k, names, n, &bit) < 0)
            return -1;
        *mask |= 1u << bit;
    }
    return 0;
}

enum { F_INT, F_SIZE, F_BOOL, F_STR, F_ENUM };

/* One key of a mapping and where its value goes in the struct being filled. */
struct field {
    const char *key;
    int type;
    size_t off;
    int width;                /* F_INT, F_SIZE: 4 (uint32_t or int) or 8 bytes */
    uint64_t min, max;        /* F_INT, F_SIZE: range; F_STR: min 1 = must not be empty;
                                 F_ENUM: max = number of names */
    const char *const *names; /* F_ENUM */
};
#define NUM(k, t, s, f, lo, hi) {k, t, offsetof(s, f), (int)sizeof(((s *)0)->f), lo, hi, NULL}
#define STR(k, s, f, nonempty) {k, F_STR, offsetof(s, f), 0, nonempty, 0, NULL}
#define BOOL(k, s, f) {k, F_BOOL, offsetof(s, f), 0, 0, 0, NULL}
#define ENUM(k, s, f, n) {k, F_ENUM, offsetof(s, f), 0, 0, NELEM(n), n}
#define END {NULL, 0, 0, 0, 0, 0, NULL}

static int get_number(const struct ctx *x, const struct yaml_doc_node *v, const char *key,
                      const struct field *f, void *dst)
{
    char b[80];
    uint64_t n;
    if (yaml_doc_uint(v, f->type == F_SIZE, &n) < 0) {
        const char *what = f->type == F_SIZE ? "a size (bytes, or with a kb, mb or gb suffix)"
                           : f->min > 0      ? "a positive integer"
                                             : "a non-negative integer";
        return fail(x, v->line, key, "expected %s, got %s", what, shown(v, b, sizeof(b)));
    }
    if (n < f->min || n > f->max)
        return fail(x, v->line, key, "%s is out of range (%" PRIu64 " to %" PRIu64 ")",
                    shown(v, b, sizeof(b)), f->min, f->max);
    if (f->width == 4) {
        uint32_t n32 = (uint32_t)n;
        memcpy(dst, &n32, sizeof(n32));
    } else {
        memcpy(dst, &n, sizeof(n));
    }
    return 0;
}

/* Stores v in the field of table t named `name`; 1 when t has no such field. */
static int set_field(const struct ctx *x, const struct field *t, const char *name,
                     const struct yaml_doc_node *v, const char *key, void *base)
{
    char b[80];
    for (; t->key; t++) {
        if (strcmp(t->key, name) != 0)
            continue;
        char *dst = (char *)base + t->off;
        switch (t->type) {
        case F_BOOL:
            if (yaml_doc_bool(v, (int *)dst) == 0)
                return 0;
            return fail(x, v->line, key, "expected a boolean (yes/no, true/false, on/off), got %s",
                        shown(v, b, sizeof(b)));
        case F_STR:
            return get_string(x, v, key, t->min > 0, (char **)dst);
        case F_ENUM:
            return get_enum(x, v, key, t->names, t->max, (int *)dst);
        default:
            return get_number(x, v, key, t, dst);
        }
    }
    return 1;
}

/* Keys a field table cannot describe; returns 1 when p->key is not one of them. */
typedef int (*special_fn)(const struct ctx *x, const struct yaml_doc_pair *p, const char *key,
                          void *base);

/* Walks mapping v into base: table fields, then `special`, else "unknown key". A plain empty
 * value or ~ leaves the default. */
static int parse_map(const struct ctx *x, const struct yaml_doc_node *v, const char *path,
                     const struct field *t, special_fn special, void *base)
{
    char key[KEY_LEN];
    if (want(x, v, path, YAML_DOC_MAP) < 0)
        return -1;
    for (size_t i = 0; i < v->npairs; i++) {
        const struct yaml_doc_pair *p = &v->pairs[i];
        join_key(key, path, p->key);
        if (yaml_doc_is_null(p->value))
            continue;
        int rc = set_field(x, t, p->key, p->value, key, base);
        if (rc == 1 && special)
            rc = special(x, p, key, base);
        if (rc == 1)
            rc = fail(x, p->line, key, "unknown key");
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- outputs ---------------------------------------------------------------------------- */

struct eve_parse {
    struct eve_output_cfg o;
    int enabled; /* Suricata's `enabled: no` drops the output */
};

static const struct field redis_fields[] = {
    STR("server", struct eve_output_cfg, redis_server, 1),
    STR("key", struct eve_output_cfg, redis_key, 1),
    NUM("port", F_INT, struct eve_output_cfg, redis_port, 1, 65535),
    ENUM("mode", struct eve_output_cfg, redis_mode, cfg_redis_mode_names),
    END,
};

static const struct field eve_fields[] = {
    BOOL("enabled", struct eve_parse, enabled),
    ENUM("filetype", struct eve_parse, o.filetype, cfg_filetype_names),
    STR("filename", struct eve_parse, o.filename, 1),
    ENUM("token-events", struct eve_parse, o.token_events, cfg_token_event_names),
    BOOL("raw-tokens", struct eve_parse, o.raw_tokens),
    NUM("rotate-size", F_SIZE, struct eve_parse, o.rotate_size, 0, UINT64_MAX),
    NUM("rotate-interval", F_INT, struct eve_parse, o.rotate_interval, 0, 366u * 86400),
    STR("identity", struct eve_parse, o.syslog_identity, 1),
    ENUM("facility", struct eve_parse, o.syslog_facility, cfg_syslog_facility_names),
    ENUM("level", struct eve_parse, o.syslog_level, cfg_syslog_level_names),
    STR("syslog-socket", struct eve_parse, o.syslog_socket, 1),
    NUM("queue-size", F_SIZE, struct eve_parse, o.queue_size, 4096, UINT64_MAX),
    BOOL("ethernet", struct eve_parse, o.ethernet),
    END,
};

static int eve_special(const struct ctx *x, const struct yaml_doc_pair *p, const char *key,
                       void *base)
{
    struct eve_output_cfg *o = &((struct eve_parse *)base)->o;
    if (strcmp(p->key, "types") == 0) {
        if (get_list(x, p->value, key, cfg_type_names, NELEM(cfg_type_names), &o->types) < 0)
            return -1;
        /* An output that writes nothing is a mistake (drop it with `enabled: no`). */
        return o->types ? 0 : fail(x, p->value->line, key, "needs at least one record type");
    }
    if (strcmp(p->key, "redis") == 0)
        return parse_map(x, p->value, key, redis_fields, NULL, o);
    return 1;
}

static void eve_defaults(struct eve_output_cfg *o, int line)
{
    memset(o, 0, sizeof(*o));
    o->filetype = EVE_FT_REGULAR;
    o->filename = xstrdup("eve.json");
    o->types = EVE_T_ALERT | EVE_T_TOKEN | EVE_T_STATS;
    o->token_events = TOKEN_EVENTS_ALL;
    o->redis_port = 6379;
    o->redis_mode = EVE_REDIS_LIST;
    o->syslog_facility = 21; /* local5, as Suricata */
    o->syslog_level = 6;     /* info */
    o->queue_size = 16u << 20;
    o->line = line;
    snprintf(o->key, sizeof(o->key), "outputs.eve");
}

static void eve_free(struct eve_output_cfg *o)
{
    free(o->filename);
    free(o->redis_server);
    free(o->redis_key);
    free(o->syslog_identity);
    free(o->syslog_socket);
    memset(o, 0, sizeof(*o));
}

/* One `eve:` (or Suricata's `eve-log:`) output, appended to c->outputs unless disabled. */
static int parse_eve(const struct ctx *x, const struct yaml_doc_pair *e, const char *base,
                     struct config *c)
{
    char path[KEY_LEN];
    join_key(path, base, e->key);
    if (strcmp(e->key, "eve") != 0 && strcmp(e->key, "eve-log") != 0)
        return fail(x, e->line, path, "unknown output (expected eve)");
    struct eve_parse ep = {.enabled = 1};
    eve_defaults(&ep.o, e->value->line ? e->value->line : e->line);
    snprintf(ep.o.key, sizeof(ep.o.key), "%.60s", path);
    if (!yaml_doc_is_null(e->value) &&
        parse_map(x, e->value, path, eve_fields, eve_special, &ep) < 0) {
        eve_free(&ep.o);
        return -1;
    }
    if (!ep.enabled) {
        eve_free(&ep.o);
        return 0;
    }
    c->outputs = realloc(c->outputs, (c->noutputs + 1) * sizeof(*c->outputs));
    if (!c->outputs)
        abort(); /* as xcalloc */
    c->outputs[c->noutputs++] = ep.o;
    return 0;
}

static void free_outputs(struct config *c)
{
    for (size_t i = 0; i < c->noutputs; i++)
        eve_free(&c->outputs[i]);
    free(c->outputs);
    c->outputs = NULL;
    c->noutputs = 0;
}

static int parse_outputs(const struct ctx *x, const struct yaml_doc_node *v, struct config *c)
{
    char key[KEY_LEN], b[80];
    free_outputs(c);
    if (v->kind == YAML_DOC_MAP) {
        for (size_t i = 0; i < v->npairs; i++)
            if (parse_eve(x, &v->pairs[i], "outputs", c) < 0)
                return -1;
        return 0;
    }
    if (v->kind != YAML_DOC_SEQ)
        return fail(x, v->line, "outputs", "expected a mapping or a list of mappings, got %s",
                    shown(v, b, sizeof(b)));
    for (size_t i = 0; i < v->nitems; i++) {
        const struct yaml_doc_node *it = v->items[i];
        join_index(key, "outputs", i);
        if (it->kind != YAML_DOC_MAP)
            return fail(x, it->line, key, "expected a mapping like {eve: {...}}, got %s",
                        shown(it, b, sizeof(b)));
        for (size_t j = 0; j < it->npairs; j++)
            if (parse_eve(x, &it->pairs[j], key, c) < 0)
                return -1;
    }
    return 0;
}

/* ---- keysets ---------------------------------------------------------------------------- */

/* A path named in the file is relative to the file's directory; one from --set (line 0) is
 * relative to the working directory, as the shell that typed it expects. */
static char *resolve(const struct ctx *x, const char *p, int line)
{
    if (p[0] == '/' || !x->dir || line == 0)
        return xstrdup(p);
    size_t n = strlen(x->dir) + strlen(p) + 2;
    char *r = xcalloc(1, n);
    snprintf(r, n, "%s%s%s", x->dir, strcmp(x->dir, "/") == 0 ? "" : "/", p);
    return r;
}

static void free_strs(char ***arr, size_t *n)
{
    for (size_t j = 0; j < *n; j++)
        free((*arr)[j]);
    free(*arr);
    *arr = NULL;
    *n = 0;
}

/* A non-empty list of non-empty strings (keysets[].issuers, audiences, token-types). */
static int get_str_list(const struct ctx *x, const struct yaml_doc_node *v, const char *key,
                        const char *what, char ***arr, size_t *n)
{
    char ikey[KEY_LEN];
    if (want(x, v, key, YAML_DOC_SEQ) < 0)
        return -1;
    if (v->nitems == 0)
        return fail(x, v->line, key, "needs at least one %s", what);
    free_strs(arr, n);
    *arr = xcalloc(v->nitems, sizeof(**arr));
    for (*n = 0; *n < v->nitems; (*n)++) {
        join_index(ikey, key, *n);
        if (get_string(x, v->items[*n], ikey, 1, &(*arr)[*n]) < 0)
            return -1;
    }
    return 0;
}

static int keyset_special(const struct ctx *x, const struct yaml_doc_pair *p, const char *key,
                          void *base)
{
    struct keyset_cfg *k = base;
    if (strcmp(p->key, "jwks") == 0) {
        char *raw = NULL;
        if (get_string(x, p->value, key, 1, &raw) < 0)
            return -1;
        free(k->jwks);
        k->jwks = resolve(x, raw, p->value->line);
        free(raw);
        return 0;
    }
    if (strcmp(p->key, "issuers") == 0)
        return get_str_list(x, p->value, key, "issuer", &k->issuers, &k->nissuers);
    if (strcmp(p->key, "audiences") == 0)
        return get_str_list(x, p->value, key, "audience", &k->audiences, &k->naudiences);
    if (strcmp(p->key, "token-types") == 0)
        return get_str_list(x, p->value, key, "token type", &k->token_types, &k->ntoken_types);
    return 1;
}

static const struct field keyset_fields[] = {STR("name", struct keyset_cfg, name, 1), END};

static void free_keysets(struct config *c)
{
    for (size_t i = 0; i < c->nkeysets; i++) {
        struct keyset_cfg *k = &c->keysets[i];
        free(k->name);
        free(k->jwks);
        free_strs(&k->issuers, &k->nissuers);
        free_strs(&k->audiences, &k->naudiences);
        free_strs(&k->token_types, &k->ntoken_types);
    }
    free(c->keysets);
    c->keysets = NULL;
    c->nkeysets = 0;
}

static int parse_keysets(const struct ctx *x, const struct yaml_doc_node *v, struct config *c)
{
    static const char *const required[] = {"name", "jwks", "issuers"};
    char path[KEY_LEN], key[KEY_LEN];
    if (want(x, v, "keysets", YAML_DOC_SEQ) < 0)
        return -1;
    c->keysets_line = v->line;
    c->keysets = xcalloc(v->nitems, sizeof(*c->keysets));
    for (size_t i = 0; i < v->nitems; i++) {
        struct keyset_cfg *k = &c->keysets[c->nkeysets++]; /* counted now: freed on error */
        join_index(path, "keysets", i);
        k->line = v->items[i]->line;
        if (parse_map(x, v->items[i], path, keyset_fields, keyset_special, k) < 0)
            return -1;
        const void *have[] = {k->name, k->jwks, k->issuers};
        for (size_t r = 0; r < NELEM(required); r++) {
            join_key(key, path, required[r]);
            if (!have[r])
                return fail(x, k->line, key, "missing (a keyset needs name, jwks and issuers)");
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->keysets[j].name, k->name) == 0) {
                join_key(key, path, "name");
                return fail(x, yaml_doc_map_find(v->items[i], "name")->value->line, key,
                            "duplicate keyset name '%.60s' (also keysets[%zu])", k->name, j);
            }
        }
    }
    return 0;
}

/* ---- revoked-keys ----------------------------------------------------------------------- */

static const struct field revoked_fields[] = {
    STR("kid", struct revoked_cfg, kid, 1),   STR("x5t", struct revoked_cfg, x5t, 1),
    STR("sha1", struct revoked_cfg, sha1, 1), STR("jkt", struct revoked_cfg, jkt, 1),
    STR("reason", struct revoked_cfg, reason, 0), END,
};

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

static void free_revoked(struct config *c)
{
    for (size_t i = 0; i < c->nrevoked; i++) {
        struct revoked_cfg *r = &c->revoked[i];
        free(r->kid);
        free(r->x5t);
        free(r->sha1);
        free(r->jkt);
        free(r->reason);
    }
    free(c->revoked);
    c->revoked = NULL;
    c->nrevoked = 0;
}

static int parse_revoked(const struct ctx *x, const struct yaml_doc_node *v, struct config *c)
{
    char path[KEY_LEN], key[KEY_LEN], b[80];
    if (want(x, v, "revoked-keys", YAML_DOC_SEQ) < 0)
        return -1;
    c->revoked = xcalloc(v->nitems, sizeof(*c->revoked));
    for (size_t i = 0; i < v->nitems; i++) {
        struct revoked_cfg *r = &c->revoked[c->nrevoked++];
        join_index(path, "revoked-keys", i);
        r->line = v->items[i]->line;
        if (parse_map(x, v->items[i], path, revoked_fields, NULL, r) < 0)
            return -1;
        if (r->sha1 && normalize_sha1(r->sha1) < 0) {
            const struct yaml_doc_node *s = yaml_doc_map_find(v->items[i], "sha1")->value;
            join_key(key, path, "sha1");
            return fail(x, s->line, key, "expected 40 hex digits (colons allowed), got %s",
                        shown(s, b, sizeof(b)));
        }
        if (!r->kid && !r->x5t && !r->sha1 && !r->jkt)
            return fail(x, r->line, path, "needs at least one of kid, x5t, sha1, jkt");
    }
    return 0;
}

/* ---- policy, engine, capture ------------------------------------------------------------ */

static const struct field policy_fields[] = {
    NUM("clock-skew", F_INT, struct config, clock_skew, 0, INT64_MAX),
    BOOL("verify-observed-keys", struct config, verify_observed),
    NUM("max-lifetime", F_INT, struct config, max_lifetime, 1, INT64_MAX),
    END,
};

static const struct field replay_fields[] = {
    NUM("clients", F_INT, struct config, replay_clients, 0, 64),
    NUM("window", F_INT, struct config, replay_window, 1, 7 * 86400),
    NUM("memcap", F_SIZE, struct config, replay_memcap, 4096, UINT64_MAX),
    END,
};

static const struct field cloud_fields[] = {
    STR("v1", struct entra_cloud_cfg, v1, 1),
    STR("v2", struct entra_cloud_cfg, v2, 1),
    END,
};

static void free_clouds(struct config *c)
{
    for (size_t i = 0; i < c->nclouds; i++) {
        free(c->clouds[i].v1);
        free(c->clouds[i].v2);
    }
    free(c->clouds);
    c->clouds = NULL;
    c->nclouds = 0;
}

/* policy.entra-clouds: a list of {v1: PREFIX, v2: PREFIX}, each an https:// URL ending in "/";
 * replaces the default list (an empty list turns the v1/v2 equivalence off). */
static int parse_clouds(const struct ctx *x, const struct yaml_doc_node *v, const char *key,
                        struct config *c)
{
    char path[KEY_LEN], k[KEY_LEN];
    if (want(x, v, key, YAML_DOC_SEQ) < 0)
        return -1;
    free_clouds(c);
    c->clouds = xcalloc(v->nitems, sizeof(*c->clouds));
    for (size_t i = 0; i < v->nitems; i++) {
        struct entra_cloud_cfg *e = &c->clouds[c->nclouds++];
        join_index(path, key, i);
        if (parse_map(x, v->items[i], path, cloud_fields, NULL, e) < 0)
            return -1;
        const char *vals[] = {e->v1, e->v2}, *names[] = {"v1", "v2"};
        for (size_t j = 0; j < 2; j++) {
            join_key(k, path, names[j]);
            if (!vals[j])
                return fail(x, v->items[i]->line, k, "missing (a cloud needs v1 and v2)");
            size_t n = strlen(vals[j]);
            if (strncmp(vals[j], "https://", 8) != 0 || n < 10 || vals[j][n - 1] != '/')
                return fail(x, yaml_doc_map_find(v->items[i], names[j])->value->line, k,
                            "expected an https:// issuer prefix ending in '/', got '%.60s'",
                            vals[j]);
        }
    }
    return 0;
}

static int policy_special(const struct ctx *x, const struct yaml_doc_pair *p, const char *key,
                          void *base)
{
    struct config *c = base;
    if (strcmp(p->key, "replay") == 0)
        return parse_map(x, p->value, key, replay_fields, NULL, c);
    if (strcmp(p->key, "entra-clouds") == 0)
        return parse_clouds(x, p->value, key, c);
    if (strcmp(p->key, "algorithms") != 0)
        return 1;
    if (get_list(x, p->value, key, cfg_alg_names, POLICY_ALG_COUNT, &c->alg_mask) < 0)
        return -1;
    /* An empty list would fail every token as alg_mismatch: surely a mistake. */
    if (c->alg_mask == 0)
        return fail(x, p->value->line, key, "needs at least one algorithm");
    return 0;
}

/* Minimums (README "Engine limits"): below them a limit cannot hold one unit of what it bounds,
 * and the sensor would see nothing while saying nothing. */
#define MIN_FLOW_MEMCAP (128u << 10)  /* the smallest bucket array (8 KiB) and 32 flows of about
                                         3.7 KiB (struct flow and its HTTP state) */
#define MIN_SEGMENTS (64u << 10)      /* one out-of-order segment of the largest IP datagram */
#define MIN_HTTP_HEAD 1024u           /* a request line and an Authorization header with a JWT */
#define MIN_HTTP_MEMCAP (64u << 10)   /* one head of the default http-max-head */
#define MIN_DEFRAG_MEMCAP (64u << 10) /* the fragments of dozens of 1500-byte-MTU datagrams */

static const struct field engine_fields[] = {
    NUM("flow-memcap", F_SIZE, struct config, flow_memcap, MIN_FLOW_MEMCAP, UINT64_MAX),
    NUM("flow-timeout", F_INT, struct config, flow_timeout, 1, UINT32_MAX),
    NUM("flow-closed-timeout", F_INT, struct config, flow_closed_timeout, 0, UINT32_MAX),
    NUM("stream-memcap", F_SIZE, struct config, stream_memcap, MIN_SEGMENTS, UINT64_MAX),
    NUM("stream-ooo-limit", F_SIZE, struct config, stream_dir_limit, MIN_SEGMENTS, UINT64_MAX),
    NUM("http-max-head", F_SIZE, struct config, http_max_head, MIN_HTTP_HEAD, UINT64_MAX),
    NUM("http-memcap", F_SIZE, struct config, http_memcap, MIN_HTTP_MEMCAP, UINT64_MAX),
    NUM("defrag-memcap", F_SIZE, struct config, defrag_memcap, MIN_DEFRAG_MEMCAP, UINT64_MAX),
    NUM("body-limit", F_SIZE, struct config, body_limit, 0, 64u << 20),
    NUM("inflate-ratio", F_INT, struct config, inflate_ratio, 2, 100000),
    NUM("observed-sets", F_INT, struct config, observed_sets, 1, 1u << 20),
    NUM("defrag-timeout", F_INT, struct config, defrag_timeout, 1, 3600),
    NUM("verify-cache-entries", F_INT, struct config, vcache_entries, 1, UINT64_MAX),
    NUM("verify-cache-memcap", F_SIZE, struct config, vcache_memcap, 65536, UINT64_MAX),
    NUM("stats-interval", F_INT, struct config, stats_interval, 1, UINT32_MAX),
    END,
};

static const struct field capture_fields[] = {
    NUM("snaplen", F_INT, struct config, snaplen, 1, 262144),
    NUM("buffer-size", F_SIZE, struct config, buffer_size, 0, UINT64_MAX),
    BOOL("promisc", struct config, promisc),
    BOOL("immediate", struct config, immediate),
    END,
};

/* capture.bpf keeps its line: main.c compiles it later and names it when it is bad. */
static int capture_special(const struct ctx *x, const struct yaml_doc_pair *p, const char *key,
                           void *base)
{
    struct config *c = base;
    if (strcmp(p->key, "bpf") != 0)
        return 1;
    c->bpf_line = p->value->line;
    return get_string(x, p->value, key, 0, &c->bpf);
}

/* decode.vxlan-ports / decode.geneve-ports: a list of distinct UDP ports, possibly empty. */
static int get_ports(const struct ctx *x, const struct yaml_doc_node *v, const char *key,
                     uint16_t *ports, uint8_t *n)
{
    char k[KEY_LEN], b[80];
    uint16_t tmp[CONFIG_MAX_TUNNEL_PORTS];
    if (want(x, v, key, YAML_DOC_SEQ) < 0)
        return -1;
    if (v->nitems > CONFIG_MAX_TUNNEL_PORTS)
        return fail(x, v->line, key, "at most %d ports", CONFIG_MAX_TUNNEL_PORTS);
    for (size_t i = 0; i < v->nitems; i++) {
        uint64_t port;
        join_index(k, key, i);
        if (yaml_doc_uint(v->items[i], 0, &port) < 0 || port < 1 || port > 65535)
            return fail(x, v->items[i]->line, k, "expected a port (1 to 65535), got %s",
                        shown(v->items[i], b, sizeof(b)));
        for (size_t j = 0; j < i; j++)
            if (tmp[j] == port)
                return fail(x, v->items[i]->line, k, "duplicate port %u", (unsigned)port);
        tmp[i] = (uint16_t)port;
    }
    memcpy(ports, tmp, v->nitems * sizeof(*tmp));
    *n = (uint8_t)v->nitems;
    return 0;
}

static const struct field decode_fields[] = {END};

static int decode_special(const struct ctx *x, const struct yaml_doc_pair *p, const char *key,
                          void *base)
{
    struct config *c = base;
    if (strcmp(p->key, "vxlan-ports") == 0)
        return get_ports(x, p->value, key, c->vxlan_ports, &c->nvxlan_ports);
    if (strcmp(p->key, "geneve-ports") == 0)
        return get_ports(x, p->value, key, c->geneve_ports, &c->ngeneve_ports);
    return 1;
}

/* tokens.headers: a list of header names (replaces the default list). */
static const struct field tokens_fields[] = {END};

static void free_token_headers(struct config *c)
{
    for (size_t i = 0; i < c->ntoken_headers; i++)
        free(c->token_headers[i]);
    free(c->token_headers);
    c->token_headers = NULL;
    c->ntoken_headers = 0;
}

static int tokens_special(const struct ctx *x, const struct yaml_doc_pair *p, const char *key,
                          void *base)
{
    struct config *c = base;
    char ikey[KEY_LEN];
    if (strcmp(p->key, "headers") != 0)
        return 1;
    const struct yaml_doc_node *v = p->value;
    if (want(x, v, key, YAML_DOC_SEQ) < 0)
        return -1;
    free_token_headers(c);
    c->token_headers = xcalloc(v->nitems ? v->nitems : 1, sizeof(*c->token_headers));
    for (c->ntoken_headers = 0; c->ntoken_headers < v->nitems; c->ntoken_headers++) {
        join_index(ikey, key, c->ntoken_headers);
        if (get_string(x, v->items[c->ntoken_headers], ikey, 1,
                       &c->token_headers[c->ntoken_headers]) < 0)
            return -1;
    }
    return 0;
}

static const struct field top_fields[] = {STR("sensor-name", struct config, sensor_name, 1), END};

static int top_special(const struct ctx *x, const struct yaml_doc_pair *p, const char *key,
                       void *base)
{
    struct config *c = base;
    const struct yaml_doc_node *v = p->value;
    if (strcmp(key, "outputs") == 0)
        return parse_outputs(x, v, c);
    if (strcmp(key, "keysets") == 0)
        return parse_keysets(x, v, c);
    if (strcmp(key, "revoked-keys") == 0)
        return parse_revoked(x, v, c);
    if (strcmp(key, "policy") == 0)
        return parse_map(x, v, key, policy_fields, policy_special, c);
    if (strcmp(key, "engine") == 0)
        return parse_map(x, v, key, engine_fields, NULL, c);
    if (strcmp(key, "capture") == 0)
        return parse_map(x, v, key, capture_fields, capture_special, c);
    if (strcmp(key, "decode") == 0)
        return parse_map(x, v, key, decode_fields, decode_special, c);
    if (strcmp(key, "tokens") == 0)
        return parse_map(x, v, key, tokens_fields, tokens_special, c);
    if (strcmp(key, "sensor-tags") == 0)
        return get_str_list(x, v, key, "tag", &c->sensor_tags, &c->nsensor_tags);
    return 1;
}

/* ---- --set ------------------------------------------------------------------------------ */

static int apply_set(const struct ctx *x, struct yaml_doc_node **root, const char *set)
{
    static const char *const synonyms[] = {"eve", "eve-log", NULL};
    char key[KEY_LEN], why[200];
    const char *eq = strchr(set, '=');
    size_t klen = eq ? (size_t)(eq - set) : 0;
    if (!eq || klen == 0 || klen >= sizeof(key))
        return fail(x, 0, set, "expected KEY=VALUE");
    memcpy(key, set, klen);
    key[klen] = '\0';
    struct yaml_doc_node *v;
    struct yaml_doc_error e;
    if (yaml_doc_parse_value(eq + 1, &v, &e) < 0)
        return fail(x, 0, key, "bad value: %s", e.msg);
    if (yaml_doc_set_path(root, key, v, synonyms, why, sizeof(why)) < 0)
        return fail(x, 0, key, "%s", why);
    return 0;
}

/* ---- public ----------------------------------------------------------------------------- */

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    c->outputs = xcalloc(1, sizeof(*c->outputs));
    c->noutputs = 1;
    eve_defaults(&c->outputs[0], 0);
    c->keysets_line = -1;
    c->clock_skew = 300;
    c->max_lifetime = 86400;
    c->alg_mask = (1u << POLICY_ALG_COUNT) - 1;
    c->flow_memcap = 128u << 20;
    c->body_limit = 256u << 10;
    c->inflate_ratio = 100;
    c->observed_sets = 256;
    static const char *const hdrs[] = {
        "X-MS-Token-AAD-Access-Token", "X-MS-Token-AAD-Id-Token", "X-Amzn-Oidc-Data",
        "X-Amzn-Oidc-Accesstoken",     "X-Forwarded-Access-Token", "X-Goog-Iap-Jwt-Assertion",
        "X-Auth-Request-Access-Token", "Sec-WebSocket-Protocol",
    };
    c->ntoken_headers = sizeof(hdrs) / sizeof(hdrs[0]);
    c->token_headers = xcalloc(c->ntoken_headers, sizeof(*c->token_headers));
    for (size_t i = 0; i < c->ntoken_headers; i++)
        c->token_headers[i] = xstrdup(hdrs[i]);
    c->flow_timeout = 120;
    c->flow_closed_timeout = 10;
    c->stream_memcap = 64u << 20;
    c->stream_dir_limit = 1u << 20;
    c->http_max_head = 64u << 10;
    c->http_memcap = 64u << 20;
    c->defrag_memcap = 32u << 20;
    c->defrag_timeout = 60;
    c->vcache_entries = 65536;
    c->vcache_memcap = 64u << 20;
    c->replay_clients = 3;
    c->replay_window = 600;
    c->replay_memcap = 16u << 20;
    /* Entra's clouds: public, US Government (v1 tokens keep sts.windows.net), China (21Vianet). */
    static const char *const clouds[][2] = {
        {"https://sts.windows.net/", "https://login.microsoftonline.com/"},
        {"https://sts.windows.net/", "https://login.microsoftonline.us/"},
        {"https://sts.chinacloudapi.cn/", "https://login.partner.microsoftonline.cn/"},
    };
    c->nclouds = NELEM(clouds);
    c->clouds = xcalloc(c->nclouds, sizeof(*c->clouds));
    for (size_t i = 0; i < c->nclouds; i++) {
        c->clouds[i].v1 = xstrdup(clouds[i][0]);
        c->clouds[i].v2 = xstrdup(clouds[i][1]);
    }
    c->stats_interval = 60;
    c->snaplen = 262144;
    c->promisc = 1;
    c->vxlan_ports[0] = 4789; /* IANA, RFC 7348 §5 */
    c->nvxlan_ports = 1;
    c->geneve_ports[0] = 6081; /* IANA, RFC 8926 §3.3 */
    c->ngeneve_ports = 1;
}

void config_free(struct config *c)
{
    free_outputs(c);
    free_keysets(c);
    free_revoked(c);
    free(c->bpf);
    c->bpf = NULL;
    free_token_headers(c);
    free_clouds(c);
    free(c->sensor_name);
    c->sensor_name = NULL;
    free_strs(&c->sensor_tags, &c->nsensor_tags);
    free(c->path);
    c->path = NULL;
}

int config_load_buffer(struct config *c, const char *name, const char *buf, size_t len,
                       const char *const *sets, size_t nsets, char *err, size_t errlen)
{
    struct ctx x = {name ? name : "(built-in)", NULL, err, errlen};
    struct yaml_doc_node *root = NULL;
    struct yaml_doc_error e;
    struct config t;
    char b[80];
    int rc = 0;
    if (err && errlen)
        err[0] = '\0';
    const char *slash = name ? strrchr(name, '/') : NULL;
    if (slash)
        x.dir = xstrndup(name, slash == name ? 1 : (size_t)(slash - name));
    config_defaults(&t);
    if (buf && yaml_doc_parse(buf, len, &root, &e) < 0)
        rc = fail(&x, e.line, "YAML syntax error", "%s", e.msg);
    else if (!yaml_doc_is_null(root) && root->kind != YAML_DOC_MAP)
        rc = fail(&x, root->line, "(top level)", "expected a mapping, got %s",
                  shown(root, b, sizeof(b)));
    for (size_t i = 0; rc == 0 && i < nsets; i++)
        rc = apply_set(&x, &root, sets[i]);
    if (rc == 0 && !yaml_doc_is_null(root))
        rc = parse_map(&x, root, "", top_fields, top_special, &t);
    yaml_doc_free(root);
    free(x.dir);
    if (rc < 0) {
        config_free(&t);
        return -1;
    }
    t.path = name ? xstrdup(name) : NULL;
    config_free(c);
    *c = t;
    return 0;
}

int config_load(struct config *c, const char *path, const char *const *sets, size_t nsets,
                char *err, size_t errlen)
{
    if (!path)
        return config_load_buffer(c, NULL, NULL, 0, sets, nsets, err, errlen);
    char *buf;
    size_t len;
    const char *what;
    if (yaml_doc_read_file(path, &buf, &len, &what) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot %s: %s", path, what, strerror(errno));
        return -1;
    }
    int rc = config_load_buffer(c, path, buf, len, sets, nsets, err, errlen);
    free(buf);
    return rc;
}
