/* config_parse.c — the strict walk of a tokenwatch.yaml tree into struct config, one row of the
 * key table (config.c) at a time (see config_parse.h).
 *
 * Start-up only (load, reload). Owns nothing beyond the call: values are copied into the struct
 * being filled, which the caller frees on failure. A value is checked against its row as it is
 * stored (type, bounds, names); what needs several keys of a list item is config_lists.c's.
 */
#include "config_parse.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LEN CONFIG_PARSE_KEY_LEN

/* ---- errors ----------------------------------------------------------------------------- */

static int vfail(const struct config_parse *x, int line, const char *key, const char *fmt,
                 va_list ap)
{
    char reason[300];
    vsnprintf(reason, sizeof(reason), fmt, ap);
    if (!x->err || !x->errlen)
        return -1;
    if (line > 0)
        snprintf(x->err, x->errlen, "%s:%d: %s: %s", x->file, line, key, reason);
    else
        snprintf(x->err, x->errlen, "--set %s: %s", key, reason);
    return -1;
}

int config_parse_fail(const struct config_parse *x, int line, const char *key, const char *fmt,
                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(x, line, key, fmt, ap);
    va_end(ap);
    return -1;
}

const char *config_parse_shown(const struct yaml_doc_node *v, char *buf, size_t n)
{
    if (v->kind != YAML_DOC_SCALAR)
        return yaml_doc_kind_name(v);
    snprintf(buf, n, "'%.60s%s'", v->str, v->len > 60 ? "..." : "");
    return buf;
}

/* The short names this file uses for them. */
#define fail config_parse_fail
#define shown config_parse_shown

/* Key paths only feed messages: an absurdly long one is cut and marked, not refused. */
static void mark_cut(char *out, int n)
{
    if (n >= KEY_LEN)
        memcpy(out + KEY_LEN - 4, "...", 4);
}

void config_parse_join_key(char *out, const char *base, const char *key)
{
    mark_cut(out, snprintf(out, KEY_LEN, "%s%s%s", base, *base ? "." : "", key));
}

void config_parse_join_index(char *out, const char *base, size_t i)
{
    mark_cut(out, snprintf(out, KEY_LEN, "%s[%zu]", base, i));
}

int config_parse_want(const struct config_parse *x, const struct yaml_doc_node *v, const char *key,
                      int kind)
{
    char b[80];
    if (v->kind == kind)
        return 0;
    return fail(x, v->line, key, "expected %s, got %s",
                kind == YAML_DOC_MAP ? "a mapping" : "a list", shown(v, b, sizeof(b)));
}

/* ---- one value of each kind ------------------------------------------------------------- */

static int get_string(const struct config_parse *x, const struct yaml_doc_node *v,
                      const char *key, int nonempty, char **out)
{
    char b[80];
    if (v->kind != YAML_DOC_SCALAR)
        return fail(x, v->line, key, "expected a string, got %s", shown(v, b, sizeof(b)));
    if (memchr(v->str, '\0', v->len))
        return fail(x, v->line, key, "contains a NUL byte");
    if (nonempty && v->len == 0)
        return fail(x, v->line, key, "must not be empty");
    free(*out);
    *out = config_strdup(v->str);
    return 0;
}

/* A path named in the file is relative to the file's directory; one from --set (line 0) is
 * relative to the working directory, as the shell that typed it expects. */
static int get_path(const struct config_parse *x, const struct yaml_doc_node *v,
                    const char *key, char **out)
{
    char *raw = NULL;
    if (get_string(x, v, key, 1, &raw) < 0)
        return -1;
    free(*out);
    if (raw[0] == '/' || !x->dir || v->line == 0) {
        *out = raw;
        return 0;
    }
    size_t n = strlen(x->dir) + strlen(raw) + 2;
    *out = config_calloc(1, n);
    snprintf(*out, n, "%s%s%s", x->dir, strcmp(x->dir, "/") == 0 ? "" : "/", raw);
    free(raw);
    return 0;
}

static int get_enum(const struct config_parse *x, const struct yaml_doc_node *v,
                    const char *key, const struct config_key *k, int *out)
{
    char b[80], list[200] = "";
    for (size_t i = 0; v->kind == YAML_DOC_SCALAR && i < k->nnames; i++)
        if (strcmp(v->str, k->names[i]) == 0 && strlen(v->str) == v->len)
            return *out = (int)i, 0;
    for (size_t i = 0; i < k->nnames; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "", k->names[i]);
    }
    return fail(x, v->line, key, "expected one of %s, got %s", list, shown(v, b, sizeof(b)));
}

static int get_mask(const struct config_parse *x, const struct yaml_doc_node *v,
                    const char *key, const struct config_key *k, void *p)
{
    char ikey[KEY_LEN];
    uint32_t mask = 0;
    if (config_parse_want(x, v, key, YAML_DOC_SEQ) < 0)
        return -1;
    for (size_t i = 0; i < v->nitems; i++) {
        int bit;
        config_parse_join_index(ikey, key, i);
        if (get_enum(x, v->items[i], ikey, k, &bit) < 0)
            return -1;
        mask |= 1u << bit;
    }
    /* An output that writes nothing, or no algorithm (every token would fail as alg_mismatch),
     * is surely a mistake (an output is dropped with `enabled: no`). */
    if (!mask && k->min)
        return fail(x, v->line, key, "needs at least one %s", k->what);
    config_key_put(k, p, mask);
    return 0;
}

static int get_number(const struct config_parse *x, const struct yaml_doc_node *v,
                      const char *key, const struct config_key *k, void *p)
{
    char b[80];
    uint64_t n;
    if (yaml_doc_uint(v, k->kind == CK_SIZE, &n) < 0) {
        const char *what = k->kind == CK_SIZE ? "a size (bytes, or with a kb, mb or gb suffix)"
                           : k->min > 0       ? "a positive integer"
                                              : "a non-negative integer";
        return fail(x, v->line, key, "expected %s, got %s", what, shown(v, b, sizeof(b)));
    }
    if (n < k->min || n > k->max)
        return fail(x, v->line, key, "%s is out of range (%" PRIu64 " to %" PRIu64 ")",
                    shown(v, b, sizeof(b)), k->min, k->max);
    config_key_put(k, p, n);
    return 0;
}

/* A list of distinct ports, possibly empty (decode.vxlan-ports: [] turns VXLAN off). */
static int get_ports(const struct config_parse *x, const struct yaml_doc_node *v,
                     const char *key, const struct config_key *k, void *p)
{
    char ikey[KEY_LEN], b[80];
    uint16_t *ports = (uint16_t *)((char *)p + k->off); /* a failed load drops the whole copy */
    if (config_parse_want(x, v, key, YAML_DOC_SEQ) < 0)
        return -1;
    if (v->nitems > k->width / sizeof(*ports))
        return fail(x, v->line, key, "at most %zu ports", k->width / sizeof(*ports));
    for (size_t i = 0; i < v->nitems; i++) {
        uint64_t port;
        config_parse_join_index(ikey, key, i);
        if (yaml_doc_uint(v->items[i], 0, &port) < 0 || port < k->min || port > k->max)
            return fail(x, v->items[i]->line, ikey,
                        "expected a port (%" PRIu64 " to %" PRIu64 "), got %s", k->min, k->max,
                        shown(v->items[i], b, sizeof(b)));
        for (size_t j = 0; j < i; j++)
            if (ports[j] == port)
                return fail(x, v->items[i]->line, ikey, "duplicate port %u", (unsigned)port);
        ports[i] = (uint16_t)port;
    }
    *((uint8_t *)p + k->count) = (uint8_t)v->nitems;
    return 0;
}

/* A list of non-empty strings, replacing the default list. */
static int get_strs(const struct config_parse *x, const struct yaml_doc_node *v,
                    const char *key, const struct config_key *k, void *p)
{
    char ikey[KEY_LEN];
    if (config_parse_want(x, v, key, YAML_DOC_SEQ) < 0)
        return -1;
    if (v->nitems < k->min)
        return fail(x, v->line, key, "needs at least one %s", k->what);
    config_key_free(k, p);
    char **a = config_calloc(v->nitems, sizeof(*a));
    size_t *n = (size_t *)((char *)p + k->count);
    *(char ***)((char *)p + k->off) = a;
    for (*n = 0; *n < v->nitems; (*n)++) {
        config_parse_join_index(ikey, key, *n);
        if (get_string(x, v->items[*n], ikey, 1, &a[*n]) < 0)
            return -1;
    }
    return 0;
}

/* A list of mappings, each walked over the item rows and then checked by the list. */
static int get_list(struct config_parse *x, const struct yaml_doc_node *v, const char *key,
                    const struct config_key *k, void *p)
{
    const struct config_list *l = k->list;
    char path[KEY_LEN];
    if (l->parse)
        return l->parse(x, k, v, key, p);
    if (config_parse_want(x, v, key, YAML_DOC_SEQ) < 0)
        return -1;
    config_key_free(k, p);
    char *items = config_calloc(v->nitems, l->size);
    size_t *n = (size_t *)((char *)p + k->count);
    *(char **)((char *)p + k->off) = items;
    *n = 0;
    for (size_t i = 0; i < v->nitems; i++) {
        void *item = items + i * l->size;
        *n = i + 1; /* counted now: freed on error */
        config_base_defaults(l->base, item);
        config_parse_join_index(path, key, i);
        if (config_parse_map(x, v->items[i], path, k->name, l->base, item) < 0 ||
            (l->check && l->check(x, v->items[i], path, items, i) < 0))
            return -1;
    }
    return 0;
}

/* Stores v, the value of key path `key`, in row k of the struct at p. */
static int get_value(struct config_parse *x, const struct config_key *k,
                     const struct yaml_doc_node *v, const char *key, void *p)
{
    char b[80];
    if (k->flags & CF_LINE)
        *(int *)((char *)p + k->line) = v->line;
    switch (k->kind) {
    case CK_BOOL: {
        int on;
        if (yaml_doc_bool(v, &on) < 0)
            return fail(x, v->line, key,
                        "expected a boolean (yes/no, true/false, on/off), got %s",
                        shown(v, b, sizeof(b)));
        config_key_put(k, p, (uint64_t)on);
        return 0;
    }
    case CK_STR:
        return get_string(x, v, key, k->min > 0, (char **)((char *)p + k->off));
    case CK_PATH:
        return get_path(x, v, key, (char **)((char *)p + k->off));
    case CK_ENUM: {
        int i;
        if (get_enum(x, v, key, k, &i) < 0)
            return -1;
        config_key_put(k, p, (uint64_t)i);
        return 0;
    }
    case CK_MASK:
        return get_mask(x, v, key, k, p);
    case CK_PORTS:
        return get_ports(x, v, key, k, p);
    case CK_STRS:
        return get_strs(x, v, key, k, p);
    case CK_LIST:
        return get_list(x, v, key, k, p);
    default:
        return get_number(x, v, key, k, p);
    }
}

int config_parse_map(struct config_parse *x, const struct yaml_doc_node *v, const char *key,
                     const char *name, int base, void *p)
{
    char k[KEY_LEN], n[KEY_LEN];
    if (config_parse_want(x, v, key, YAML_DOC_MAP) < 0)
        return -1;
    for (size_t i = 0; i < v->npairs; i++) {
        const struct yaml_doc_pair *pair = &v->pairs[i];
        const struct config_key *row = NULL;
        int section = 0;
        config_parse_join_key(k, key, pair->key);
        if (yaml_doc_is_null(pair->value))
            continue;
        /* a key is one name: "replay.clients" inside policy is not policy.replay.clients */
        if (!strchr(pair->key, '.') && *pair->key) {
            config_parse_join_key(n, name, pair->key);
            row = config_key_find(n, base);
            section = !row && config_key_is_section(n, base);
        }
        int rc = row       ? get_value(x, row, pair->value, k, p)
                 : section ? config_parse_map(x, pair->value, k, n, base, p)
                           : fail(x, pair->line, k, "unknown key");
        if (rc < 0)
            return -1;
    }
    return 0;
}
