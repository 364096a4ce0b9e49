/* fuzz_config.c — the tokenwatch.yaml loader (yaml_doc.c + config.c) on arbitrary text.
 *
 * Lines starting "#--set " (YAML comments, so the file stays valid YAML) are also applied as
 * --set overrides, so the override path is fuzzed with the same input. Checked beyond "no crash":
 * a failure always says where ("NAME:LINE: ..." or "--set ..."), and whatever loads must dump to
 * YAML that loads back and dumps identically.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define NAME "fuzz/tokenwatch.yaml"
#define MAX_SETS 8

static char *dump(const struct config *c, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        abort();
    config_dump(c, f);
    fclose(f);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    char *buf = malloc(size + 1), *lines = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    memcpy(lines, data, size);
    lines[size] = '\0';
    const char *sets[MAX_SETS];
    size_t nsets = 0;
    for (char *p = lines; p < lines + size && nsets < MAX_SETS;) {
        char *nl = memchr(p, '\n', (size_t)(lines + size - p));
        if (nl)
            *nl = '\0';
        if (strncmp(p, "#--set ", 7) == 0)
            sets[nsets++] = p + 7;
        if (!nl)
            break;
        p = nl + 1;
    }

    struct config c, c2;
    config_defaults(&c);
    config_defaults(&c2);
    char err[512];
    if (config_load_buffer(&c, NAME, buf, size, sets, nsets, err, sizeof(err)) != 0) {
        if (strncmp(err, NAME ":", strlen(NAME ":")) != 0 && strncmp(err, "--set ", 6) != 0) {
            fprintf(stderr, "error without a location: %s\n", err);
            abort();
        }
    } else {
        size_t n1, n2;
        char *d1 = dump(&c, &n1);
        if (config_load_buffer(&c2, "dump.yaml", d1, n1, NULL, 0, err, sizeof(err)) != 0) {
            fprintf(stderr, "dump does not load back: %s\n%s", err, d1);
            abort();
        }
        char *d2 = dump(&c2, &n2);
        if (n1 != n2 || memcmp(d1, d2, n1) != 0) {
            fprintf(stderr, "dump changed on reload:\n%s----\n%s", d1, d2);
            abort();
        }
        free(d1);
        free(d2);
    }
    config_free(&c2);
    config_free(&c);
    free(buf);
    free(lines);
    return 0;
}
