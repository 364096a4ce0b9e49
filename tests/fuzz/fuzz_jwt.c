/* fuzz_jwt.c — libFuzzer entry point for the jwt dissector: jwt_parse() on arbitrary bytes,
 * once with a roomy arena and once with a tiny capped one (the exhaustion paths), and the
 * results are read back so a dangling claim pointer shows up under ASan. */
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "jwt.h"

static size_t touch(const char *s)
{
    return s ? strlen(s) : 0;
}

static void check(const struct jwt *j)
{
    volatile size_t sink = 0;
    sink += touch(j->c.alg) + touch(j->c.kid) + touch(j->c.x5t) + touch(j->c.typ);
    sink += touch(j->c.iss) + touch(j->c.tid) + touch(j->c.aud) + touch(j->c.sub);
    sink += touch(j->c.appid) + touch(j->c.azp) + touch(jwt_type_name(j->type));
    sink += touch(j->c.x5t256) + touch(j->c.cty) + j->c.b64_false + j->c.crit_unknown;
    for (size_t i = 0; i < j->c.naud; i++)
        sink += touch(j->c.auds[i]);
    for (size_t i = 0; j->inner && i < j->inner_len; i++)
        sink += j->inner[i];
    for (size_t i = 0; i < j->sig_len; i++)
        sink += j->sig[i];
    for (size_t i = 0; i < j->signing_input_len; i++)
        sink += j->signing_input[i];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena a;
    struct jwt j;
    arena_init(&a, 4096, 1 << 20);
    if (jwt_parse(data, size, &a, &j) == 0)
        check(&j);
    arena_reset(&a);
    /* the same input again in the reset arena, as the sensor reuses it per transaction */
    if (jwt_parse(data, size, &a, &j) == 0)
        check(&j);
    arena_release(&a);

    arena_init(&a, 16, 96);
    if (jwt_parse(data, size, &a, &j) == 0)
        check(&j);
    arena_release(&a);
    return 0;
}
