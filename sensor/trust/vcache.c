/* vcache.c — bounded, scan-resistant verification cache (see vcache.h).
 *
 * Pipeline: token scan ─► [vcache] ─► policy. Owns one reference to each cached verdict and a
 * fixed pool of entries allocated up front (no allocation per lookup in steady state beyond the
 * verdict a miss creates); an entry is first written when it is first taken (pool_fresh), so
 * the pool's pages are touched only as far as the cache has ever been filled. Buckets are
 * chained, keyed by polyhash61 of the token text (a keyed polynomial hash finished by
 * SipHash-1-3: siphash.h).
 *
 * Replacement is a segmented LRU (Karedla, Love & Wherry, 1994):
 *
 *     miss ─► [ probation: oldest … newest ] ──hit──► [ protected: oldest … newest ] ─┐
 *                  ▲  evicted from here first              │ over its cap: the oldest   │
 *                  └───────────────────────────────────────┘ goes back to probation     │
 *                                                            hit: back to the newest ◄──┘
 *
 * A token seen once lives only in probation; one seen again moves to protected, which is capped
 * at 80% of the entries and of the byte memcap. A flood of distinct tokens (garbage, or a scan)
 * therefore churns through probation and cannot push the working set out: the protected segment
 * loses entries only to other tokens that are themselves hit.
 *
 * Bytes: each entry is charged sizeof(entry) + sizeof(struct verdict) + token_len + the claim
 * strings + the rendered JSON. eve renders v->json lazily, after the verdict was inserted, so an
 * entry is first charged an estimate (the claim strings + VC_JSON_ESTIMATE) and trued up to
 * the real json_len when it is next found. The memcap is enforced before each insert (and after
 * a true-up) by evicting, probation first; a verdict whose charge alone exceeds the memcap is
 * returned but not cached.
 *
 * Shed verdicts (policy_judge_shed: the worker was behind, the signature was not checked) are
 * cached like any other, so a token repeated during an overload costs a lookup, not a parse;
 * but one is never final: a lookup that finds it when policy_shed_due() no longer sheds judges
 * the token again, and the verified verdict takes the entry's place.
 */
#include "vcache.h"

#include <stdlib.h>
#include <string.h>

#include "lru.h"
#include "siphash.h"

/* Rendered JSON beyond the claim strings: member names, quotes, the SHA-256, type, times. */
#define VC_JSON_ESTIMATE 256
/* Share of entries and bytes the protected segment may hold, in percent. */
#define VC_PROTECTED_PCT 80

enum { SEG_PROBATION = 0, SEG_PROTECTED = 1 };

struct vc_entry {
    struct vc_entry *hnext;
    struct vc_entry *older, *newer; /* within its segment */
    struct verdict *v;
    size_t charge;                  /* bytes counted against the memcap */
    uint8_t seg;
    uint8_t json_charged;           /* charge includes the rendered JSON, not the estimate */
};

struct vc_seg {
    struct vc_entry *oldest, *newest;
    size_t n, bytes;
};

struct vcache {
    struct polyhash61 ph;
    size_t nbuckets; /* power of two */
    struct vc_entry **buckets;
    struct vc_entry *pool, *free_list;
    size_t pool_n, pool_fresh;      /* entries; those at pool_fresh and beyond never taken */
    struct vc_seg seg[2];
    size_t memcap;                  /* 0: no byte limit */
    size_t prot_entries, prot_bytes;
    struct verdict *uncached;       /* too big to cache: held until the next call */
    struct vcache_stats stats;
};

struct vcache *vcache_new(size_t max_entries, size_t memcap, const uint8_t seed[16])
{
    if (max_entries == 0)
        max_entries = 1;
    struct vcache *vc = calloc(1, sizeof(*vc));
    if (!vc)
        return NULL;
    polyhash61_init(&vc->ph, seed);
    vc->nbuckets = 1;
    while (vc->nbuckets < max_entries)
        vc->nbuckets <<= 1;
    vc->buckets = calloc(vc->nbuckets, sizeof(*vc->buckets));
    vc->pool = max_entries <= SIZE_MAX / sizeof(*vc->pool)
                   ? malloc(max_entries * sizeof(*vc->pool)) : NULL;
    if (!vc->buckets || !vc->pool) {
        free(vc->buckets);
        free(vc->pool);
        free(vc);
        return NULL;
    }
    vc->pool_n = max_entries;
    vc->memcap = memcap;
    vc->prot_entries = max_entries / 100 * VC_PROTECTED_PCT +
                       max_entries % 100 * VC_PROTECTED_PCT / 100;
    vc->prot_bytes = memcap ? memcap / 100 * VC_PROTECTED_PCT : SIZE_MAX;
    return vc;
}

static void seg_unlink(struct vcache *vc, struct vc_entry *e)
{
    struct vc_seg *s = &vc->seg[e->seg];
    LRU_UNLINK(s, e);
    s->n--;
    s->bytes -= e->charge;
}

static void seg_push(struct vcache *vc, struct vc_entry *e, int which)
{
    struct vc_seg *s = &vc->seg[which];
    e->seg = (uint8_t)which;
    LRU_PUSH_NEWEST(s, e);
    s->n++;
    s->bytes += e->charge;
}

/* What v costs held in the cache: the entry, the verdict with its token text, the claim-string
 * block policy_judge sized (v->strings_len) and the rendered JSON (estimated until rendered). */
static size_t charge_of(const struct verdict *v, int *json_real)
{
    size_t strings = v->strings ? v->strings_len : 0;
    *json_real = v->json != NULL;
    size_t json = v->json ? v->json_len : strings + VC_JSON_ESTIMATE;
    return sizeof(struct vc_entry) + sizeof(struct verdict) + v->token_len + strings + json;
}

static void bucket_remove(struct vcache *vc, struct vc_entry *e)
{
    struct vc_entry **pp = &vc->buckets[e->v->hash & (vc->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
}

static void release(struct vcache *vc, struct vc_entry *e)
{
    bucket_remove(vc, e);
    seg_unlink(vc, e);
    verdict_unref(e->v);
    e->v = NULL;
    e->hnext = vc->free_list;
    vc->free_list = e;
}

/* Evicts one entry other than `keep`: probation's oldest, else protected's oldest. Returns 0
 * when nothing but `keep` is left. */
static int evict_one(struct vcache *vc, const struct vc_entry *keep)
{
    for (int s = SEG_PROBATION; s <= SEG_PROTECTED; s++) {
        struct vc_entry *e = vc->seg[s].oldest;
        if (e == keep)
            e = e->newer;
        if (e) {
            release(vc, e);
            vc->stats.evictions++;
            return 1;
        }
    }
    return 0;
}

static size_t bytes_held(const struct vcache *vc)
{
    return vc->seg[SEG_PROBATION].bytes + vc->seg[SEG_PROTECTED].bytes;
}

/* Protected over its cap: its oldest entries go back to probation's newest end. */
static void rebalance(struct vcache *vc)
{
    struct vc_seg *p = &vc->seg[SEG_PROTECTED];
    while (p->oldest && (p->n > vc->prot_entries || p->bytes > vc->prot_bytes)) {
        struct vc_entry *e = p->oldest;
        seg_unlink(vc, e);
        seg_push(vc, e, SEG_PROBATION);
    }
}

static void on_hit(struct vcache *vc, struct vc_entry *e)
{
    seg_unlink(vc, e);
    if (!e->json_charged && e->v->json) {
        int real;
        e->charge = charge_of(e->v, &real);
        e->json_charged = (uint8_t)real;
    }
    seg_push(vc, e, SEG_PROTECTED);
    rebalance(vc);
    while (vc->memcap && bytes_held(vc) > vc->memcap && evict_one(vc, e))
        ;
}

/* policy_judge_shed, shedding when policy_shed_due says so, with the counters. */
static struct verdict *judge(struct vcache *vc, const struct keystore *ks,
                             const struct policy_cfg *cfg, const uint8_t *tok, size_t len,
                             uint64_t h)
{
    struct verdict *v = policy_judge_shed(ks, cfg, tok, len, policy_shed_due(cfg));
    if (!v)
        return NULL;
    if (v->kidless_bound)
        vc->stats.kidless_bound++;
    if (v->findings & (1u << F_VERIFICATION_SHED))
        vc->stats.shed++;
    v->hash = h;
    return v;
}

/* Entry e holds a shed verdict and the worker is no longer shedding: the token is judged again
 * (a miss), and the new verdict replaces the old in e, which pending transactions may still
 * hold. Out of memory: the shed verdict stays and is returned. */
static struct verdict *rejudge(struct vcache *vc, struct vc_entry *e, const struct keystore *ks,
                               const struct policy_cfg *cfg, int *hit)
{
    struct verdict *old = e->v;
    *hit = 0;
    vc->stats.misses++;
    struct verdict *v = judge(vc, ks, cfg, old->token, old->token_len, old->hash);
    if (!v) {
        on_hit(vc, e);
        return old;
    }
    seg_unlink(vc, e);
    e->v = v;
    int real;
    e->charge = charge_of(v, &real);
    e->json_charged = (uint8_t)real;
    seg_push(vc, e, SEG_PROTECTED); /* seen twice: as a hit would */
    verdict_unref(old);
    rebalance(vc);
    while (vc->memcap && bytes_held(vc) > vc->memcap && evict_one(vc, e))
        ;
    return v;
}

/* The verdict too big to cache that the last call returned: its borrowed pointer expires now. */
static void drop_uncached(struct vcache *vc)
{
    if (vc->uncached) {
        verdict_unref(vc->uncached);
        vc->uncached = NULL;
    }
}

/* A lookup that found tok in e. */
static struct verdict *found(struct vcache *vc, struct vc_entry *e, const struct keystore *ks,
                             const struct policy_cfg *cfg, int *hit)
{
    struct verdict *v = e->v;
    if ((v->findings & (1u << F_VERIFICATION_SHED)) && !policy_shed_due(cfg))
        return rejudge(vc, e, ks, cfg, hit);
    on_hit(vc, e);
    vc->stats.hits++;
    *hit = 1;
    return v;
}

/* The lookup; *where: the entry holding the verdict returned, NULL when it is not cached. */
static struct verdict *get(struct vcache *vc, const struct keystore *ks,
                           const struct policy_cfg *cfg, const uint8_t *tok, size_t len,
                           int *hit, struct vc_entry **where)
{
    *where = NULL;
    drop_uncached(vc);
    uint64_t h = polyhash61(&vc->ph, tok, len);
    vc->stats.lookups++;
    for (struct vc_entry *e = vc->buckets[h & (vc->nbuckets - 1)]; e; e = e->hnext) {
        struct verdict *v = e->v;
        if (v->hash == h && v->token_len == len && memcmp(v->token, tok, len) == 0) {
            *where = e;
            return found(vc, e, ks, cfg, hit);
        }
    }
    *hit = 0;
    vc->stats.misses++;
    struct verdict *v = judge(vc, ks, cfg, tok, len, h);
    if (!v)
        return NULL;
    int real;
    size_t charge = charge_of(v, &real);
    if (vc->memcap && charge > vc->memcap) {
        vc->uncached = v; /* the caller's borrowed pointer stays valid until the next call */
        return v;
    }
    while ((!vc->free_list && vc->pool_fresh == vc->pool_n) ||
           (vc->memcap && bytes_held(vc) + charge > vc->memcap))
        if (!evict_one(vc, NULL))
            break;
    struct vc_entry *e = vc->free_list;
    if (e) {
        vc->free_list = e->hnext;
    } else {
        e = &vc->pool[vc->pool_fresh++];
        memset(e, 0, sizeof(*e));
    }
    e->v = v;
    e->charge = charge;
    e->json_charged = (uint8_t)real;
    struct vc_entry **bucket = &vc->buckets[h & (vc->nbuckets - 1)];
    e->hnext = *bucket;
    *bucket = e;
    seg_push(vc, e, SEG_PROBATION);
    vc->stats.inserts++;
    *where = e;
    return v;
}

struct verdict *vcache_get(struct vcache *vc, const struct keystore *ks,
                           const struct policy_cfg *cfg, const uint8_t *tok, size_t len,
                           int *hit)
{
    struct vc_entry *e;
    return get(vc, ks, cfg, tok, len, hit, &e);
}

struct verdict *vcache_get_memo(struct vcache *vc, struct vcache_memo *m,
                                const struct keystore *ks, const struct policy_cfg *cfg,
                                const uint8_t *tok, size_t len, int *hit)
{
    struct vc_entry *e = m->entry;
    /* The entry is the pool's whatever happened to it: free (no verdict), or holding this
     * token's verdict or another's. Only the verdict it holds now is read. */
    if (e && e->v && e->v->token_len == len && memcmp(e->v->token, tok, len) == 0) {
        drop_uncached(vc);
        vc->stats.lookups++;
        return found(vc, e, ks, cfg, hit);
    }
    struct verdict *v = get(vc, ks, cfg, tok, len, hit, &e);
    m->entry = e;
    return v;
}

void vcache_clear(struct vcache *vc)
{
    for (int s = SEG_PROBATION; s <= SEG_PROTECTED; s++)
        while (vc->seg[s].oldest)
            release(vc, vc->seg[s].oldest);
    drop_uncached(vc);
}

void vcache_free(struct vcache *vc)
{
    if (!vc)
        return;
    vcache_clear(vc);
    free(vc->buckets);
    free(vc->pool);
    free(vc);
}

const struct vcache_stats *vcache_stats(const struct vcache *vc)
{
    return &vc->stats;
}

size_t vcache_count(const struct vcache *vc)
{
    return vc->seg[SEG_PROBATION].n + vc->seg[SEG_PROTECTED].n;
}

size_t vcache_bytes(const struct vcache *vc)
{
    return bytes_held(vc);
}
