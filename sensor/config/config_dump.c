/* config_dump.c — `tokenwatch --dump-config`: the effective configuration as YAML that
 * config_load() reads back (see config.h), written row by row from the key table
 * (config.c): the table's order, each row as its `dump` column says.
 *
 * Start-up only; split from config.c, which parses. A mapping (`engine:`, an output's
 * `redis:`) is opened before the first row written under it; a list item starts "- " on its
 * first line, its keys indented past the dash.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_keys.h"
#include "yaml_doc.h"

/* Where the writer is, in one struct's rows: the mapping it last wrote into (dotted, relative
 * to the rows' prefix: "replay" in policy), the indent of the struct's outermost keys, and
 * whether the next line starts a list item. */
struct dump {
    FILE *f;
    char open[256];
    int indent;
    int item;
};

static void line_start(struct dump *d, int indent)
{
    if (d->item) {
        fprintf(d->f, "%*s- ", indent - 2, "");
        d->item = 0;
    } else {
        fprintf(d->f, "%*s", indent, "");
    }
}

/* Opens the mappings on the way to rel ("replay.memcap": `replay:`) that are not open yet
 * and returns the indent of rel's own key. */
static int open_to(struct dump *d, const char *rel)
{
    const char *leaf = strrchr(rel, '.');
    size_t plen = leaf ? (size_t)(leaf - rel) : 0, olen = strlen(d->open), i = 0;
    int level = 0;
    while (i < plen && i <= olen) { /* past the components still open */
        size_t j = i, k = i;
        while (j < plen && rel[j] != '.')
            j++;
        while (k < olen && d->open[k] != '.')
            k++;
        if (j != k || memcmp(rel + i, d->open + i, j - i) != 0)
            break;
        level++;
        i = j + 1;
    }
    while (i < plen) {
        size_t j = i;
        while (j < plen && rel[j] != '.')
            j++;
        line_start(d, d->indent + 2 * level++);
        fprintf(d->f, "%.*s:\n", (int)(j - i), rel + i);
        i = j + 1;
    }
    snprintf(d->open, sizeof(d->open), "%.*s", (int)plen, rel);
    return d->indent + 2 * level;
}

static const char *name_of(const struct config_key *k, uint64_t v)
{
    int i = (int)(uint32_t)v;
    return i >= 0 && (size_t)i < k->nnames ? k->names[i] : "invalid";
}

/* Relative paths were resolved against the working directory; anchor them so the dump means
 * the same wherever it is saved. */
static void dump_path(FILE *f, const char *p)
{
    char cwd[PATH_MAX];
    if (p[0] != '/' && getcwd(cwd, sizeof(cwd))) {
        size_t n = strlen(cwd) + strlen(p) + 2;
        char *abs = malloc(n);
        if (abs) {
            snprintf(abs, n, "%s/%s", cwd, p);
            yaml_doc_write_string(f, abs);
        } else {
            yaml_doc_write_string(f, p); /* still a valid dump, anchored to the cwd */
        }
        free(abs);
    } else {
        yaml_doc_write_string(f, p);
    }
}

static int is_list(const struct config_key *k)
{
    return k->kind == CK_PORTS || k->kind == CK_STRS || k->kind == CK_LIST;
}

static size_t items_of(const struct config_key *k, const void *p)
{
    if (k->kind == CK_PORTS)
        return *((const uint8_t *)p + k->count);
    return *(const size_t *)((const char *)p + k->count);
}

static const char *str_of(const struct config_key *k, const void *p)
{
    return *(char *const *)((const char *)p + k->off);
}

/* Whether row k of the struct at p is written. */
static int written(const struct config_key *k, const void *p)
{
    int str = k->kind == CK_STR || k->kind == CK_PATH;
    if (str && !str_of(k, p))
        return 0;
    switch (k->dump) {
    case CD_NEVER:
        return 0;
    case CD_SET:
        return is_list(k) ? items_of(k, p) != 0 : str || config_key_get(k, p) != 0;
    case CD_FILETYPE:
        /* the rows of one filetype are an output's (base CB_OUTPUT) */
        if (((const struct eve_output_cfg *)p)->filetype == k->filetype)
            return 1;
        for (size_t i = 0; i < config_keys_count; i++) {
            const struct config_key *o = &config_keys[i];
            if (o->base == k->base && o->dump == CD_FILETYPE && o->filetype == k->filetype &&
                !config_key_is_default(o, p))
                return 1;
        }
        return 0;
    default:
        return 1;
    }
}

static void dump_rows(struct dump *d, int base, const void *p, const char *prefix);

/* What follows "KEY:" for row k of the struct at p, whose key is at `indent`. */
static void dump_value(const struct config_key *k, const void *p, FILE *f, int indent)
{
    const char *at = (const char *)p + k->off;
    if (is_list(k) && items_of(k, p) == 0) {
        fputs(" []\n", f);
        return;
    }
    if (k->kind != CK_STRS && k->kind != CK_LIST) /* block lists start on the next line */
        fputc(' ', f);
    switch (k->kind) {
    case CK_BOOL:
        fputs(config_key_get(k, p) ? "yes" : "no", f);
        break;
    case CK_ENUM:
        fputs(name_of(k, config_key_get(k, p)), f);
        break;
    case CK_STR:
        yaml_doc_write_string(f, str_of(k, p));
        break;
    case CK_PATH:
        dump_path(f, str_of(k, p));
        break;
    case CK_MASK: {
        const char *sep = "";
        uint64_t mask = config_key_get(k, p);
        fputc('[', f);
        for (size_t i = 0; i < k->nnames; i++) {
            if (mask & (1u << i)) {
                fprintf(f, "%s%s", sep, k->names[i]);
                sep = ", ";
            }
        }
        fputc(']', f);
        break;
    }
    case CK_PORTS:
        for (size_t i = 0; i < items_of(k, p); i++)
            fprintf(f, "%s%u", i ? ", " : "[", (unsigned)((const uint16_t *)at)[i]);
        fputc(']', f);
        break;
    case CK_STRS:
        for (size_t i = 0; i < items_of(k, p); i++) {
            fprintf(f, "\n%*s- ", k->item_indent ? k->item_indent : indent + 2, "");
            yaml_doc_write_string(f, (*(char **const *)at)[i]);
        }
        break;
    case CK_LIST:
        fputc('\n', f);
        for (size_t i = 0; i < items_of(k, p); i++) {
            struct dump item = {.f = f, .indent = indent + 4, .item = 1};
            dump_rows(&item, k->list->base, *(const char *const *)at + i * k->list->size,
                      k->name);
        }
        return; /* each item ended its lines */
    default:
        fprintf(f, "%" PRIu64, config_key_get(k, p));
    }
    fputc('\n', f);
}

/* The rows of `base` of the struct at p; their names less `prefix` are relative to d. */
static void dump_rows(struct dump *d, int base, const void *p, const char *prefix)
{
    size_t skip = *prefix ? strlen(prefix) + 1 : 0;
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        if (k->base != base || !written(k, p))
            continue;
        const char *rel = k->name + skip, *leaf = strrchr(rel, '.');
        int indent = open_to(d, rel);
        line_start(d, indent);
        fprintf(d->f, "%s:", leaf ? leaf + 1 : rel);
        dump_value(k, p, d->f, indent);
    }
}

void config_dump(const struct config *c, FILE *f)
{
    struct dump d = {.f = f};
    fputs("%YAML 1.1\n---\n# tokenwatch: effective configuration\n", f);
    dump_rows(&d, CB_CONFIG, c, "");
}
