/* replay.c — TEMPORARY (interface commit): replaced by the replay table. */
#include "replay.h"

#include <stdlib.h>

struct replay {
    int unused;
};

struct replay *replay_new(uint32_t clients, uint32_t window, uint64_t memcap,
                          const uint8_t seed[16])
{
    (void)clients, (void)window, (void)memcap, (void)seed;
    return calloc(1, sizeof(struct replay));
}

void replay_free(struct replay *r)
{
    free(r);
}

int replay_check(struct replay *r, const uint8_t sha256[32], const uint8_t addr[16], int64_t now_s)
{
    (void)r, (void)sha256, (void)addr, (void)now_s;
    return 0;
}

void replay_stats(struct replay *r, struct replay_stats *out)
{
    (void)r;
    out->checks = out->alerts = out->evictions = 0;
}

uint64_t replay_memuse(struct replay *r)
{
    (void)r;
    return 0;
}
