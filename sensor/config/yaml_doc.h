/* yaml_doc.h — a small YAML document tree (mapping / sequence / scalar) built with libyaml.
 *
 * The configuration loader needs the line of every key and value for its error messages, and
 * wants to edit the document (--set overrides) before validating it; libyaml's own document API
 * keeps neither in a convenient form, so this tree is ours. Each node owns its children and
 * strings; yaml_doc_free() releases a whole subtree. Aliases, more than one document and nesting
 * deeper than YAML_DOC_MAX_DEPTH are refused, so a hostile file cannot make the tree explode.
 */
#ifndef TW_YAML_DOC_H
#define TW_YAML_DOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define YAML_DOC_MAX_DEPTH 64

enum yaml_doc_kind { YAML_DOC_SCALAR = 1, YAML_DOC_SEQ, YAML_DOC_MAP };

struct yaml_doc_node;

struct yaml_doc_pair {
    char *key;                   /* NUL-terminated; keys are always scalars */
    int line;                    /* line of the key */
    struct yaml_doc_node *value;
};

struct yaml_doc_node {
    int kind;                    /* enum yaml_doc_kind */
    int line;                    /* 1-based; 0 = not from a file (a --set override) */
    /* scalar: */
    char *str;                   /* NUL-terminated copy; may hold NULs (`len` is exact) */
    size_t len;
    int plain;                   /* unquoted: only plain scalars can be null or booleans */
    /* sequence: */
    struct yaml_doc_node **items;
    size_t nitems;
    /* mapping, in document order: */
    struct yaml_doc_pair *pairs;
    size_t npairs;
    size_t cap;
};

/* Where and why parsing failed. line is 1-based (libyaml's problem mark + 1). */
struct yaml_doc_error {
    int line;
    char msg[200];
};

/* Parses one YAML document from buf. *root is NULL for an empty stream. Returns 0, or -1 with e
 * filled (syntax error, alias, second document, too deep). The caller frees *root with
 * yaml_doc_free(). Aborts on out-of-memory (start-up only). */
int yaml_doc_parse(const char *buf, size_t len, struct yaml_doc_node **root,
                   struct yaml_doc_error *e);

/* A command-line value (--set KEY=VALUE): text starting with [ { " or ' is parsed as YAML (a flow
 * collection or a quoted scalar); anything else is one plain scalar taken verbatim (so "-" is the
 * string "-", not a list). "" is the empty string, not null: `--set KEY=` must reach the key's
 * checks, not silently mean "keep the default". Every node gets line 0. Returns 0 with *out (free with
 * yaml_doc_free()), or -1 with e. */
int yaml_doc_parse_value(const char *text, struct yaml_doc_node **out, struct yaml_doc_error *e);

/* Reads a whole file into *buf (NUL-terminated, free() it). Returns 0, or -1 with errno set and
 * *what = "open" or "read" saying which step failed. */
int yaml_doc_read_file(const char *path, char **buf, size_t *len, const char **what);

/* New empty node of `kind`, or a scalar copying s[0..len). Free with yaml_doc_free(). */
struct yaml_doc_node *yaml_doc_new(int kind, int line);
struct yaml_doc_node *yaml_doc_new_scalar(const char *s, size_t len, int plain, int line);

/* Frees n and everything below it; NULL is fine. */
void yaml_doc_free(struct yaml_doc_node *n);

/* The pair with key `key` in mapping m, or NULL (also when m is not a mapping). */
struct yaml_doc_pair *yaml_doc_map_find(const struct yaml_doc_node *m, const char *key);

/* Sets m[key] = value, taking ownership of value; an existing value is freed and replaced (its
 * key keeps its line). m must be a mapping. */
void yaml_doc_map_put(struct yaml_doc_node *m, const char *key, int line,
                      struct yaml_doc_node *value);

/* Appends item (ownership taken) to sequence s. */
void yaml_doc_seq_append(struct yaml_doc_node *s, struct yaml_doc_node *item);

/* Sets the node at dotted `path` (e.g. "outputs.eve.filename") to value, taking ownership of it
 * (freed on error too). Missing or null mappings along the path are created (line 0). Where the
 * path meets a list of mappings, the key goes to the first item that has it, else to a new item
 * appended. Keys listed in `synonyms` (NULL-terminated, may be NULL) match one another. Returns
 * 0, or -1 with `why` (malformed path, deeper than YAML_DOC_MAX_PATH, a non-mapping in the way). */
#define YAML_DOC_MAX_PATH 16
int yaml_doc_set_path(struct yaml_doc_node **root, const char *path, struct yaml_doc_node *value,
                      const char *const *synonyms, char *why, size_t whylen);

/* Writes s as a YAML double-quoted scalar, escaping everything outside printable ASCII, so any
 * valid UTF-8 reads back identically (a byte that is not UTF-8 is written as \xNN, which reads
 * back as U+00NN). */
void yaml_doc_write_string(FILE *f, const char *s);

/* YAML 1.1 booleans as Suricata reads them: yes/no, true/false, on/off in any letter case.
 * Returns 0 with *out = 1 or 0, or -1 when n is not one of them. */
int yaml_doc_bool(const struct yaml_doc_node *n, int *out);

/* A non-negative decimal integer (no sign); with `size` also "64mb" style binary suffixes kb, mb,
 * gb (any case, spaces allowed before). Returns 0, or -1 when n is not one or overflows. */
int yaml_doc_uint(const struct yaml_doc_node *n, int size, uint64_t *out);

/* True for NULL, and for a plain scalar "", "~", "null", "Null" or "NULL" (YAML 1.1 null). */
int yaml_doc_is_null(const struct yaml_doc_node *n);

/* Sets the line of n and every node and key below it (0 marks an override). */
void yaml_doc_set_line(struct yaml_doc_node *n, int line);

/* "a scalar", "a sequence" or "a mapping", for error messages. */
const char *yaml_doc_kind_name(const struct yaml_doc_node *n);

#endif
