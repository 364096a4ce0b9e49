/* config_keys.h — the schema of tokenwatch.yaml (SPEC §2): what a row of the key table says.
 *
 * Private to sensor/config/. config.c holds the table, one row per configuration key, and the
 * row helpers declared here; config_parse.c reads the YAML tree through it, config_dump.c writes
 * --dump-config from it, config_lists.c adds what the lists of mappings need beyond their rows.
 * A row gives the key as --set spells it (dotted; a list's item keys under the list's name,
 * "keysets.name"), its type, where its value lives (the struct `base` and the offset in it), its
 * default, its bounds and how the dump writes it. Adding a scalar key is one row plus its field
 * in config.h. This header includes nothing of config.h: the walker and the rows' types know
 * offsets, not struct config, so config.c can use them without an include cycle.
 *
 * The table's order is the dump's order. The rows of one mapping must stay together (the dump
 * opens `engine:` once, before the first row under it), which tests/unit/sensor/config checks by
 * loading the dump back.
 */
#ifndef TW_CONFIG_KEYS_H
#define TW_CONFIG_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_NFILETYPES 5 /* enum eve_filetype */

enum config_kind {
    CK_BOOL,    /* int 0/1: yes/no, true/false, on/off in any case (YAML 1.1 as Suricata) */
    CK_INT,     /* an unsigned integer in [min, max], stored in `width` bytes */
    CK_SECONDS, /* a CK_INT counting seconds */
    CK_SIZE,    /* a CK_INT counting bytes, also written "64mb" (binary kb, mb, gb) */
    CK_STR,     /* char *, owned, NULL = not given; min 1: must not be empty */
    CK_PATH,    /* a CK_STR naming a file: relative to the file that names it (to the working
                   directory from --set), written absolute by the dump */
    CK_ENUM,    /* int, an index of names[] */
    CK_MASK,    /* uint32_t, bit i = names[i], written as a list; min 1: not an empty list */
    CK_PORTS,   /* uint16_t[width / 2], distinct ports in [min, max], with a uint8_t count at
                   `count`; default the one port `def` */
    CK_STRS,    /* char **, non-empty strings, with a size_t count at `count`; at least `min`;
                   default the NULL-terminated def_strs */
    CK_LIST,    /* a list of mappings: an array of list->size items with a size_t count at
                   `count`; the items' keys are the rows of base list->base */
};

/* The struct a row's offset is in. */
enum config_base { CB_CONFIG, CB_OUTPUT, CB_KEYSET, CB_REVOKED, CB_CLOUD };

/* How --dump-config writes a row. A string not given (NULL) is never written. */
enum config_dump {
    CD_ALWAYS,   /* always (an empty list as `[]`) */
    CD_SET,      /* only when set: a number not 0, a list not empty */
    CD_NEVER,    /* read, never written (outputs.eve.enabled: a disabled output is dropped) */
    CD_FILETYPE, /* an output's settings for the filetype `filetype`: all of them together, when
                    the output has that filetype or one of them is not at its default */
};

#define CF_LINE 0x01 /* the value's line is kept in the int at `line` (0 from --set, -1 when the
                        key was not given), for messages after loading (capture.bpf, keysets) */

struct config_parse;
struct config_key;
struct yaml_doc_node;

/* A list of mappings (outputs, keysets, revoked-keys, policy.entra-clouds): what it needs beyond
 * the rows of its items. */
struct config_list {
    size_t size;  /* of one item */
    int base;     /* enum config_base of its items' rows */
    /* The default items into an empty list at parent (NULL: none). */
    void (*defaults)(const struct config_key *k, void *parent);
    /* The whole value (NULL: a YAML list, each item a mapping over the item rows, then
     * `check`). Returns 0, or -1 with the message in x. */
    int (*parse)(struct config_parse *x, const struct config_key *k,
                 const struct yaml_doc_node *v, const char *key, void *parent);
    /* Item i of items (its node, its key path "keysets[0]"), after its rows are parsed: what
     * one row cannot say (required keys, one key against another, duplicates). NULL: none. */
    int (*check)(struct config_parse *x, const struct yaml_doc_node *v, const char *key,
                 void *items, size_t i);
};

struct config_key {
    const char *name;              /* "engine.flow-memcap" */
    uint8_t kind;                  /* enum config_kind */
    uint8_t base;                  /* enum config_base */
    uint8_t width;                 /* bytes of the field (numbers: 4 or 8) */
    uint8_t dump;                  /* enum config_dump */
    uint8_t flags;                 /* CF_* */
    int8_t filetype;               /* CD_FILETYPE: enum eve_filetype */
    uint8_t item_indent;           /* CK_STRS: the dump's indent of items, when not the key's + 2
                                      (sensor-tags has always been written at 6) */
    size_t off;                    /* of the field in its base */
    size_t count;                  /* CK_PORTS, CK_STRS, CK_LIST: of the item count */
    size_t line;                   /* CF_LINE: of the int receiving the line */
    uint64_t min, max;             /* numbers: range; CK_STR, CK_MASK, CK_STRS: see above */
    uint64_t def;                  /* numbers, CK_BOOL, CK_ENUM, CK_MASK, CK_PORTS */
    const char *def_str;           /* CK_STR: NULL = not given */
    const char *const *def_strs;   /* CK_STRS */
    const char *const *names;      /* CK_ENUM, CK_MASK */
    size_t nnames;
    const char *what;              /* CK_MASK, CK_STRS: one item, for "needs at least one X" */
    const struct config_list *list; /* CK_LIST */
};

/* The table and the filetype names (config.c). */
extern const struct config_key config_keys[];
extern const size_t config_keys_count;
extern const char *const config_filetypes[CONFIG_NFILETYPES];

/* The lists (config_lists.c), which the table's rows name. */
extern const struct config_list config_lists_outputs, config_lists_keysets,
    config_lists_revoked, config_lists_clouds;

/* The row of `base` named `name`, or NULL. */
const struct config_key *config_key_find(const char *name, int base);

/* True when some row of `base` lies below `name` ("policy" for policy.clock-skew): name is a
 * mapping of keys. */
int config_key_is_section(const char *name, int base);

/* The number a row holds in its struct at p (CK_BOOL, CK_ENUM: the int, as unsigned). */
uint64_t config_key_get(const struct config_key *k, const void *p);
void config_key_put(const struct config_key *k, void *p, uint64_t v);

/* True when the row's value at p is its default (scalars: numbers, booleans, enums, masks,
 * strings; lists are never compared and count as not at their default). */
int config_key_is_default(const struct config_key *k, const void *p);

/* Fills every row of `base` in the struct at p (zeroed by the caller) with its default. */
void config_base_defaults(int base, void *p);

/* Frees what the rows of `base` own in the struct at p and zeroes those fields. */
void config_base_free(int base, void *p);

/* One row's value only (a list: its items too). */
void config_key_free(const struct config_key *k, void *p);

/* Allocation for configuration (start-up only): without memory there is nothing sensible left
 * to do, so these abort. */
void *config_calloc(size_t n, size_t size);
char *config_strdup(const char *s);

#endif
