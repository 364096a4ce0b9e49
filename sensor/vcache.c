/* vcache.c — bounded verification cache (see vcache.h).
 *
 * Pipeline: token scan ─► [vcache] ─► policy. Owns one reference to each cached verdict and a
 * fixed pool of entries allocated up front (no allocation per lookup in steady state beyond the
 * verdict a miss creates). Buckets are chained; an LRU list picks the victim when full.
 */
#include "vcache.h"

#include <stdlib.h>
#include <string.h>

#include "siphash.h"

struct vc_entry {
    struct vc_entry *hnext;
    struct vc_entry *lru_prev, *lru_next; /* lru_prev = older */
    struct verdict *v;
};

struct vcache {
    uint8_t seed[16];
    size_t nbuckets; /* power of two */
    struct vc_entry **buckets;
    struct vc_entry *pool, *free_list;
    struct vc_entry *oldest, *newest;
    struct vcache_stats stats;
};

struct vcache *vcache_new(size_t max_entries, size_t memcap, const uint8_t seed[16])
{
    (void)memcap; /* TEMPORARY (interface commit) */
    if (max_entries == 0)
        max_entries = 1;
    struct vcache *vc = calloc(1, sizeof(*vc));
    if (!vc)
        return NULL;
    memcpy(vc->seed, seed, 16);
    vc->nbuckets = 1;
    while (vc->nbuckets < max_entries)
        vc->nbuckets <<= 1;
    vc->buckets = calloc(vc->nbuckets, sizeof(*vc->buckets));
    vc->pool = calloc(max_entries, sizeof(*vc->pool));
    if (!vc->buckets || !vc->pool) {
        free(vc->buckets);
        free(vc->pool);
        free(vc);
        return NULL;
    }
    for (size_t i = 0; i < max_entries; i++) {
        vc->pool[i].hnext = vc->free_list;
        vc->free_list = &vc->pool[i];
    }
    return vc;
}

void vcache_free(struct vcache *vc)
{
    if (!vc)
        return;
    for (struct vc_entry *e = vc->oldest; e; e = e->lru_next)
        verdict_unref(e->v);
    free(vc->buckets);
    free(vc->pool);
    free(vc);
}

static void lru_unlink(struct vcache *vc, struct vc_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        vc->oldest = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        vc->newest = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push(struct vcache *vc, struct vc_entry *e)
{
    e->lru_prev = vc->newest;
    e->lru_next = NULL;
    if (vc->newest)
        vc->newest->lru_next = e;
    else
        vc->oldest = e;
    vc->newest = e;
}

static void evict_oldest(struct vcache *vc)
{
    struct vc_entry *e = vc->oldest;
    struct vc_entry **pp = &vc->buckets[e->v->hash & (vc->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(vc, e);
    verdict_unref(e->v);
    e->v = NULL;
    e->hnext = vc->free_list;
    vc->free_list = e;
    vc->stats.evictions++;
}

struct verdict *vcache_get(struct vcache *vc, const struct keystore *ks,
                           const struct policy_cfg *cfg, const uint8_t *tok, size_t len,
                           int *hit)
{
    uint64_t h = siphash13(vc->seed, tok, len);
    struct vc_entry **bucket = &vc->buckets[h & (vc->nbuckets - 1)];
    vc->stats.lookups++;
    for (struct vc_entry *e = *bucket; e; e = e->hnext) {
        struct verdict *v = e->v;
        if (v->hash == h && v->token_len == len && memcmp(v->token, tok, len) == 0) {
            lru_unlink(vc, e);
            lru_push(vc, e);
            vc->stats.hits++;
            *hit = 1;
            return v;
        }
    }
    *hit = 0;
    struct verdict *v = policy_judge(ks, cfg, tok, len);
    if (!v)
        return NULL;
    v->hash = h;
    if (!vc->free_list)
        evict_oldest(vc);
    struct vc_entry *e = vc->free_list;
    vc->free_list = e->hnext;
    e->v = v;
    bucket = &vc->buckets[h & (vc->nbuckets - 1)];
    e->hnext = *bucket;
    *bucket = e;
    lru_push(vc, e);
    vc->stats.inserts++;
    return v;
}

void vcache_clear(struct vcache *vc)
{
    while (vc->oldest)
        evict_oldest(vc);
}

const struct vcache_stats *vcache_stats(const struct vcache *vc)
{
    return &vc->stats;
}
