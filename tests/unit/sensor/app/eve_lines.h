/* eve_lines.h — the sensor unit tests' reading of an EVE file: every line parsed with jansson
 * (a line that is not JSON fails the test), the records of one event_type (NULL: all) in file
 * order. Test code only, included after cmocka.h and jansson.h. */
#ifndef TW_TEST_EVE_LINES_H
#define TW_TEST_EVE_LINES_H

#include <stdio.h>
#include <string.h>

static inline json_t *eve_lines(const char *path, const char *type)
{
    json_t *all = json_array();
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char line[1 << 16];
    while (fgets(line, sizeof(line), f)) {
        json_error_t e;
        json_t *v = json_loads(line, 0, &e);
        if (!v)
            fail_msg("bad EVE line: %s", e.text);
        if (!type || strcmp(json_string_value(json_object_get(v, "event_type")), type) == 0)
            json_array_append(all, v);
        json_decref(v);
    }
    fclose(f);
    return all;
}

#endif
