/* fuzz_json_scan.c — libFuzzer entry point for json_scan, differential against jansson: the
 * input is one JSON document. json_scan_object() must accept exactly what json_loadb(flags 0)
 * loads as an object (but for jansson's NUL-after-a-number-or-literal quirk, which json_scan
 * refuses: tests/unit/dissectors/token/test_jwt_json.c), every member's value is walked
 * (strings decoded, arrays iterated), and jwt_parse() on tokens carrying the document as header
 * and as claims must give the struct jwt the jansson-based parser gave (jwt_ref.h). A
 * difference aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"
#include "../unit/dissectors/token/jwt_ref.h"

static void walk(void *ctx, const char *key, size_t klen, const struct json_val *v)
{
    volatile size_t *sink = ctx;
    *sink += klen + (key ? (size_t)key[0] : 0);
    if (v->type == JSON_T_STRING) {
        char *s = malloc(json_str_len(v) + 1);
        if (!s)
            return;
        size_t n = json_str_decode(v, s);
        if (strlen(s) != n) /* no NUL inside a decoded string */
            abort();
        *sink += n;
        free(s);
    } else if (v->type == JSON_T_ARRAY) {
        size_t pos = 0;
        struct json_val e;
        while (json_array_next(v, &pos, &e))
            *sink += e.len + (size_t)json_str_eq(&e, "b64");
    }
}

static void token(const uint8_t *h, size_t hl, const uint8_t *p, size_t pl, int quirk)
{
    char *tok = malloc(2 * (hl + pl) + 32);
    if (!tok)
        return;
    size_t n = b64url_encode(h, hl, tok);
    tok[n++] = '.';
    n += b64url_encode(p, pl, tok + n);
    memcpy(tok + n, ".c2ln", 5);
    n += 5;
    static const size_t limits[][2] = {{4096, 1u << 20}, {16, 96}};
    for (int i = 0; i < 2; i++) {
        struct arena a1, a2;
        struct jwt j1, j2;
        arena_init(&a1, limits[i][0], limits[i][1]);
        arena_init(&a2, limits[i][0], limits[i][1]);
        int r1 = jwt_parse((const uint8_t *)tok, n, &a1, &j1);
        int r2 = ref_jwt_parse((const uint8_t *)tok, n, &a2, &j2);
        if (!quirk && (r1 != r2 || (r1 == 0 && jwt_ref_compare(&j1, &j2, "fuzz input"))))
            abort();
        if (quirk && r1 == 0 && j1.type == JWT_TYPE_JWT && !j1.malformed)
            abort();
        arena_release(&a1);
        arena_release(&a2);
    }
    free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char hdr[] = "{\"alg\":\"RS256\",\"kid\":\"k\"}";
    static const char pay[] = "{\"iss\":\"i\",\"exp\":1}";
    volatile size_t sink = 0;
    int mine = json_scan_object(data, size, walk, (void *)&sink) == 0;
    json_error_t e;
    json_t *j = json_loadb((const char *)data, size, 0, &e);
    int theirs = j && json_is_object(j);
    json_decref(j);
    int quirk = theirs && memchr(data, 0, size) != NULL;
    if (quirk ? mine : mine != theirs)
        abort();
    if (size > 16384)
        return 0;
    token(data, size, (const uint8_t *)pay, sizeof(pay) - 1, quirk);
    token((const uint8_t *)hdr, sizeof(hdr) - 1, data, size, quirk);
    return 0;
}
