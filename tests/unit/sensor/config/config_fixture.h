/* config_fixture.h — what the configuration unit tests share: a fresh temp directory per
 * test (setup/teardown), writing and loading a tokenwatch.yaml there, and a dump-and-reload.
 */
#ifndef TW_TEST_CONFIG_FIXTURE_H
#define TW_TEST_CONFIG_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

/* A file that must be refused, and the message after "FILE:". */
struct bad_case {
    const char *yaml;
    const char *expect; /* after "FILE:" */
};

struct fixture {
    char dir[64];
    char path[128];
    char err[512];
};

static inline int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/tw-config-XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    snprintf(fx->path, sizeof(fx->path), "%s/tokenwatch.yaml", fx->dir);
    *state = fx;
    return 0;
}

static inline int teardown(void **state)
{
    struct fixture *fx = *state;
    char p[160];
    unlink(fx->path);
    snprintf(p, sizeof(p), "%s/dump.yaml", fx->dir);
    unlink(p);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static inline void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Writes text to the fixture's tokenwatch.yaml and loads it with the given overrides. */
static inline int load(struct fixture *fx, struct config *c, const char *text, const char *const *sets,
                size_t nsets)
{
    write_file(fx->path, text);
    fx->err[0] = '\0';
    config_defaults(c);
    return config_load(c, fx->path, sets, nsets, fx->err, sizeof(fx->err));
}

static inline void dump_and_load(struct fixture *fx, const struct config *a, struct config *b)
{
    char dump[160];
    snprintf(dump, sizeof(dump), "%s/dump.yaml", fx->dir);
    FILE *f = fopen(dump, "w");
    assert_non_null(f);
    config_dump(a, f);
    fclose(f);
    config_defaults(b);
    if (config_load(b, dump, NULL, 0, fx->err, sizeof(fx->err)) != 0)
        fail_msg("dump does not load back: %s", fx->err);
}

#endif
