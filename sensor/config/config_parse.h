/* config_parse.h — the strict walk of a YAML tree (yaml_doc) into struct config, over the rows of
 * config_keys.h. Private to sensor/config/: config.c starts the walk, config_lists.c uses the
 * same helpers for what the lists of mappings add.
 *
 * Every refusal is one message "FILE:LINE: KEY: reason", or "--set KEY: reason" for a node an
 * override made (line 0), KEY being the dotted path with list items as keysets[0] (0-based).
 */
#ifndef TW_CONFIG_PARSE_H
#define TW_CONFIG_PARSE_H

#include <stddef.h>

#include "config_keys.h"
#include "yaml_doc.h"

/* Key paths in messages are cut (and marked "...") at this length, never refused. */
#define CONFIG_PARSE_KEY_LEN 256

struct config_parse {
    const char *file; /* name in messages */
    char *dir;        /* directory anchoring relative paths; NULL = as written */
    char *err;
    size_t errlen;
};

/* Writes the message into x->err and returns -1. */
int config_parse_fail(const struct config_parse *x, int line, const char *key, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

/* How a value is shown after "got": the scalar text (cut short, quoted), or its kind. */
const char *config_parse_shown(const struct yaml_doc_node *v, char *buf, size_t n);

/* out = base.key, or base[i]; out holds CONFIG_PARSE_KEY_LEN bytes. */
void config_parse_join_key(char *out, const char *base, const char *key);
void config_parse_join_index(char *out, const char *base, size_t i);

/* 0 when v is of `kind` (YAML_DOC_MAP or YAML_DOC_SEQ), else the message "expected ...". */
int config_parse_want(const struct config_parse *x, const struct yaml_doc_node *v, const char *key,
                      int kind);

/* Walks mapping v, whose key path in messages is `key` and whose rows are those of `base` named
 * `name`.KEY ("" at the top), into the struct at p. A plain empty value or ~ leaves the
 * default; a key that no row names is an error. */
int config_parse_map(struct config_parse *x, const struct yaml_doc_node *v, const char *key,
                     const char *name, int base, void *p);

#endif
