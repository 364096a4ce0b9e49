/* test_config_keys.c — every row of the configuration key table (config.c), walked: so a
 * new row is covered without a test of its own.
 *
 * - the table itself: unique keys, a list item's keys under their list, defaults within bounds;
 * - the defaults, dumped (--dump-config) and loaded back, are the defaults, row by row;
 * - each row set to values other than its default (each bound, each name, a string, a list)
 *   dumps and loads back to the same value: the dump writes every key it must;
 * - each row refuses a value past its bounds (below its minimum, above its maximum, an empty
 *   string, list or set of names where one is needed), naming file, line and key, or "--set
 *   KEY" when an override gave it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "config_keys.h"

#define NAME "walk.yaml"

/* A configuration with one item in every list, so that every item row has somewhere to be. */
static const char base_yaml[] = "keysets:\n"
                                "  - {name: k, jwks: /k.json, issuers: [i]}\n"
                                "revoked-keys:\n"
                                "  - kid: r\n";

static void load_base(struct config *c)
{
    char err[512];
    memset(c, 0, sizeof(*c));
    if (config_load_buffer(c, NAME, base_yaml, strlen(base_yaml), NULL, 0, err, sizeof(err)))
        fail_msg("base configuration refused: %s", err);
    assert_int_equal(c->noutputs, 1);
    assert_int_equal(c->nkeysets, 1);
    assert_int_equal(c->nrevoked, 1);
    assert_true(c->nclouds >= 1);
}

/* The struct holding row k's value in c: c itself, or the first item of k's list. */
static void *holder(struct config *c, const struct config_key *k)
{
    switch (k->base) {
    case CB_OUTPUT: return c->outputs;
    case CB_KEYSET: return c->keysets;
    case CB_REVOKED: return c->revoked;
    case CB_CLOUD: return c->clouds;
    default: return c;
    }
}

static int is_number(const struct config_key *k)
{
    return k->kind == CK_INT || k->kind == CK_SECONDS || k->kind == CK_SIZE;
}

static char **str_at(const struct config_key *k, void *p)
{
    return (char **)((char *)p + k->off);
}

static size_t count_of(const struct config_key *k, const void *p)
{
    if (k->kind == CK_PORTS)
        return *((const uint8_t *)p + k->count);
    return *(const size_t *)((const char *)p + k->count);
}

/* ---- comparing ------------------------------------------------------------------------------ */

static void str_same(const char *row, const char *a, const char *b)
{
    if (!a || !b) {
        if (a != b)
            fail_msg("%s: '%s' became '%s'", row, a ? a : "(none)", b ? b : "(none)");
    } else if (strcmp(a, b) != 0) {
        fail_msg("%s: '%s' became '%s'", row, a, b);
    }
}

/* Every row of `base` holds the same value in a and b. */
static void same_rows(int base, const void *a, const void *b)
{
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        if (k->base != base)
            continue;
        const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;
        switch (k->kind) {
        case CK_STR:
        case CK_PATH:
            str_same(k->name, *(char *const *)pa, *(char *const *)pb);
            break;
        case CK_PORTS:
            if (count_of(k, a) != count_of(k, b) ||
                memcmp(pa, pb, count_of(k, a) * sizeof(uint16_t)) != 0)
                fail_msg("%s: ports differ", k->name);
            break;
        case CK_STRS:
            if (count_of(k, a) != count_of(k, b))
                fail_msg("%s: %zu items became %zu", k->name, count_of(k, a), count_of(k, b));
            for (size_t j = 0; j < count_of(k, a); j++)
                str_same(k->name, (*(char **const *)pa)[j], (*(char **const *)pb)[j]);
            break;
        case CK_LIST:
            if (count_of(k, a) != count_of(k, b))
                fail_msg("%s: %zu items became %zu", k->name, count_of(k, a), count_of(k, b));
            for (size_t j = 0; j < count_of(k, a); j++)
                same_rows(k->list->base, *(char *const *)pa + j * k->list->size,
                          *(char *const *)pb + j * k->list->size);
            break;
        default:
            if (config_key_get(k, a) != config_key_get(k, b))
                fail_msg("%s: %llu became %llu", k->name,
                         (unsigned long long)config_key_get(k, a),
                         (unsigned long long)config_key_get(k, b));
        }
    }
}

/* Dumps a, loads the dump into a fresh configuration and compares every row. 0, or -1 when the
 * dump is refused (err says why). */
static int round_trip(const struct config *a, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    config_dump(a, f);
    fclose(f);
    struct config b = {0};
    int rc = config_load_buffer(&b, "dump.yaml", text, len, NULL, 0, err, errlen);
    if (rc == 0)
        same_rows(CB_CONFIG, a, &b);
    config_free(&b);
    free(text);
    return rc;
}

/* ---- the table ------------------------------------------------------------------------------ */

static void test_table(void **state)
{
    (void)state;
    assert_true(config_keys_count > 0);
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        for (const char *s = k->name; *s; s++)
            if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
                fail_msg("%s: a key is lower case, digits, '-' and '.'", k->name);
        for (size_t j = 0; j < i; j++)
            if (config_keys[j].base == k->base && strcmp(config_keys[j].name, k->name) == 0)
                fail_msg("%s: two rows", k->name);
        /* an item's key lies under its list's key; a list's items are one base */
        if (k->base != CB_CONFIG) {
            const struct config_key *list = NULL;
            for (size_t j = 0; j < config_keys_count; j++)
                if (config_keys[j].kind == CK_LIST && config_keys[j].list->base == k->base)
                    list = &config_keys[j];
            size_t n = list ? strlen(list->name) : 0;
            if (!list || strncmp(k->name, list->name, n) != 0 || k->name[n] != '.')
                fail_msg("%s: not under the key of its list", k->name);
        }
        if (is_number(k) && (k->def < k->min || k->def > k->max || k->min > k->max))
            fail_msg("%s: default %llu outside %llu..%llu", k->name,
                     (unsigned long long)k->def, (unsigned long long)k->min,
                     (unsigned long long)k->max);
        if (is_number(k) && k->width != 4 && k->width != 8)
            fail_msg("%s: a number is 4 or 8 bytes", k->name);
        if (k->width == 4 && is_number(k) && k->max > UINT32_MAX)
            fail_msg("%s: maximum beyond its 4 bytes", k->name);
        if (k->kind == CK_ENUM && (k->def >= k->nnames || k->width != sizeof(int)))
            fail_msg("%s: default not one of its names", k->name);
        if (k->kind == CK_MASK && (k->def >> k->nnames || k->nnames > 32))
            fail_msg("%s: default not a set of its names", k->name);
        if (k->dump == CD_FILETYPE && k->base != CB_OUTPUT)
            fail_msg("%s: only an output has a filetype", k->name);
        /* a key the dump leaves out is a deliberate exception, named here */
        if (k->dump == CD_NEVER && strcmp(k->name, "outputs.eve.enabled") != 0)
            fail_msg("%s: not written by --dump-config", k->name);
    }
}

/* ---- round trips ---------------------------------------------------------------------------- */

static void test_defaults_round_trip(void **state)
{
    (void)state;
    char err[512];
    struct config c;
    config_defaults(&c);
    if (round_trip(&c, err, sizeof(err)) != 0)
        fail_msg("the defaults' dump is refused: %s", err);
    /* and no row's default changes by loading an empty file */
    struct config e = {0};
    assert_int_equal(config_load_buffer(&e, NAME, "", 0, NULL, 0, err, sizeof(err)), 0);
    same_rows(CB_CONFIG, &c, &e);
    config_free(&e);
    config_free(&c);
    load_base(&c);
    if (round_trip(&c, err, sizeof(err)) != 0)
        fail_msg("a dump with one item in every list is refused: %s", err);
    config_free(&c);
}

/* Strings a key might accept: plain, an issuer prefix, a certificate thumbprint. */
static const char *const strings[] = {"x y", "https://example.test/",
                                      "0123456789abcdef0123456789abcdef01234567"};

/* Sets row k (in the first holder of a fresh base configuration) to value number `which` of
 * those tried for its kind; 0 when there is no such value. */
static int set_value(struct config *c, const struct config_key *k, size_t which)
{
    void *p = holder(c, k);
    switch (k->kind) {
    case CK_BOOL:
        if (which > 0)
            return 0;
        config_key_put(k, p, !k->def);
        return 1;
    case CK_ENUM:
        if (which >= k->nnames)
            return 0;
        config_key_put(k, p, which);
        return 1;
    case CK_MASK:
        if (which > k->nnames)
            return 0;
        config_key_put(k, p, which < k->nnames ? 1u << which : (1ull << k->nnames) - 1);
        return 1;
    case CK_STR:
    case CK_PATH:
        if (which >= sizeof(strings) / sizeof(strings[0]))
            return 0;
        free(*str_at(k, p));
        *str_at(k, p) = strdup(k->kind == CK_PATH ? "/a/b.json" : strings[which]);
        return 1;
    case CK_PORTS: {
        static const uint16_t ports[] = {1, 65535, 4789};
        if (which > 1)
            return 0;
        memcpy((char *)p + k->off, ports, sizeof(ports));
        *((uint8_t *)p + k->count) = which == 0 ? 3 : 0;
        return 1;
    }
    case CK_STRS: {
        if (which > 1 || (which == 1 && k->min > 0))
            return 0;
        config_key_free(k, p); /* which 1: the empty list */
        if (which == 0) {
            char **a = calloc(2, sizeof(*a));
            a[0] = strdup("x");
            a[1] = strdup("y z");
            *(char ***)((char *)p + k->off) = a;
            *(size_t *)((char *)p + k->count) = 2;
        }
        return 1;
    }
    case CK_LIST:
        return 0; /* its items' rows are walked one by one */
    default: {
        uint64_t v[] = {k->min, k->max, k->min + 1, k->max - 1};
        if (which >= sizeof(v) / sizeof(v[0]) || k->min == k->max)
            return 0;
        config_key_put(k, p, v[which]);
        return 1;
    }
    }
}

static void test_each_row_round_trip(void **state)
{
    (void)state;
    char err[512];
    size_t tried = 0;
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        if (k->dump == CD_NEVER || k->kind == CK_LIST)
            continue;
        int loaded = 0;
        for (size_t which = 0;; which++) {
            struct config c;
            load_base(&c);
            if (!set_value(&c, k, which)) {
                config_free(&c);
                break;
            }
            tried++;
            /* a string that this key refuses (an issuer prefix must be https://...) is fine
             * as long as one of them goes through */
            if (round_trip(&c, err, sizeof(err)) == 0)
                loaded++;
            else if (k->kind != CK_STR)
                fail_msg("%s (value %zu): the dump is refused: %s", k->name, which, err);
            config_free(&c);
        }
        if (!loaded)
            fail_msg("%s: no value loads back: %s", k->name, err);
    }
    assert_true(tried > config_keys_count);
}

/* ---- bounds --------------------------------------------------------------------------------- */

/* The YAML putting `value` at row k's key, after a comment line: each key on its own line, a
 * list's item as "- " before its first key. Returns the line of the value; `key` (256 bytes)
 * gets its path in messages ("keysets[0].name"). */
static int yaml_for(const struct config_key *k, const char *value, char *out, size_t n, char *key)
{
    char path[256];
    int indent = 0, dash = 0, line = 1, len = snprintf(out, n, "# walk\n");
    key[0] = '\0';
    for (const char *s = k->name;;) {
        const char *dot = strchr(s, '.');
        int l = dot ? (int)(dot - s) : (int)strlen(s);
        len += snprintf(out + len, n - len, "%*s%s%.*s:%s%s\n", dash ? indent - 2 : indent, "",
                        dash ? "- " : "", l, s, dot ? "" : " ", dot ? "" : value);
        snprintf(key + strlen(key), 256 - strlen(key), "%s%.*s", *key ? "." : "", l, s);
        line++;
        if (!dot)
            return line;
        snprintf(path, sizeof(path), "%.*s", (int)(dot - k->name), k->name);
        const struct config_key *list = config_key_find(path, CB_CONFIG);
        dash = list && list->kind == CK_LIST;
        if (dash)
            snprintf(key + strlen(key), 256 - strlen(key), "[0]");
        indent += dash ? 4 : 2;
        s = dot + 1;
    }
}

/* The value refused, `refuse`, loads with the message "NAME:LINE: KEY[suffix]: want...", and
 * again through --set (rows outside lists of items) as "--set KEY...: want...". */
static void refused(const struct config_key *k, const char *refuse, const char *suffix,
                    const char *want)
{
    char yaml[1024], key[256], expect[768], err[768];
    int line = yaml_for(k, refuse, yaml, sizeof(yaml), key);
    struct config c = {0};
    snprintf(expect, sizeof(expect), "%s:%d: %s%s: %s", NAME, line, key, suffix, want);
    if (config_load_buffer(&c, NAME, yaml, strlen(yaml), NULL, 0, err, sizeof(err)) == 0)
        fail_msg("%s: %s loads\n%s", k->name, refuse, yaml);
    if (strncmp(err, expect, strlen(expect)) != 0)
        fail_msg("%s: got '%s', want '%s...'", k->name, err, expect);
    config_free(&c);
    if (k->base != CB_CONFIG && k->base != CB_OUTPUT)
        return; /* --set makes a mapping where a list of keysets is needed */
    char set[300];
    const char *sets[] = {set};
    snprintf(set, sizeof(set), "%s=%s", k->name, refuse);
    snprintf(expect, sizeof(expect), "--set %s%s: %s", k->name, suffix, want);
    if (config_load_buffer(&c, NAME, "", 0, sets, 1, err, sizeof(err)) == 0)
        fail_msg("--set %s loads", set);
    if (strncmp(err, expect, strlen(expect)) != 0)
        fail_msg("--set %s: got '%s', want '%s...'", set, err, expect);
    config_free(&c);
}

static void test_bounds(void **state)
{
    (void)state;
    char value[64], want[200];
    size_t checked = 0;
    for (size_t i = 0; i < config_keys_count; i++) {
        const struct config_key *k = &config_keys[i];
        if (is_number(k) || k->kind == CK_PORTS) {
            uint64_t past[] = {k->min - 1, k->max + 1};
            for (size_t j = 0; j < 2; j++) {
                if ((j == 0 && k->min == 0) || (j == 1 && k->max == UINT64_MAX))
                    continue;
                if (k->kind == CK_PORTS) {
                    snprintf(value, sizeof(value), "[%llu]", (unsigned long long)past[j]);
                    snprintf(want, sizeof(want), "expected a port (%llu to %llu), got '%llu'",
                             (unsigned long long)k->min, (unsigned long long)k->max,
                             (unsigned long long)past[j]);
                    refused(k, value, "[0]", want);
                } else {
                    snprintf(value, sizeof(value), "%llu", (unsigned long long)past[j]);
                    snprintf(want, sizeof(want), "'%s' is out of range (%llu to %llu)", value,
                             (unsigned long long)k->min, (unsigned long long)k->max);
                    refused(k, value, "", want);
                }
                checked++;
            }
        } else if ((k->kind == CK_STR || k->kind == CK_PATH) && k->min) {
            refused(k, "\"\"", "", "must not be empty");
            checked++;
        } else if ((k->kind == CK_MASK || k->kind == CK_STRS) && k->min) {
            snprintf(want, sizeof(want), "needs at least one %s", k->what);
            refused(k, "[]", "", want);
            checked++;
        }
    }
    assert_true(checked >= 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_defaults_round_trip),
        cmocka_unit_test(test_each_row_round_trip),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
