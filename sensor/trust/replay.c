/* replay.c — the token_replay table (replay.h): which client addresses presented each token
 * recently.
 *
 * Pipeline: applayer (each token occurrence the client presented) ─► [replay] ─► eve (finding
 * token_replay, sid 9100015). Owns every entry; shared by the workers of a live run.
 *
 * Layout: a power-of-two array of bucket chains; the keyed SipHash-1-3 of the token's identity
 * picks the bucket, and the bucket index modulo the stripe count picks the stripe: one mutex, one
 * LRU list, one share of the entry budget and the counters per stripe, so workers checking
 * different tokens rarely meet on a lock, and no lock is ever held while taking another.
 *
 *   replay ─► buckets[b] ─► entry ─► entry ─► NULL         (hnext: chain of one bucket)
 *             stripes[b & (nstripes-1)]: mutex, LRU newest ⇄ … ⇄ oldest, count / cap
 *   entry:    id[16] | hnext | newer, older | slots[N+1] = { last seen (s), address[16] }
 *
 * Identity: the first 16 bytes of the token's SHA-256. Two different tokens merge only if their
 * digests agree on 128 bits: by chance never in practice (2^-128 per pair), on purpose only with
 * ~2^64 SHA-256 work, and even then the forger gets a false severity-2 alert about its own
 * tokens. Storing 16 bytes instead of 32 saves 12% per entry.
 *
 * Window: a slot counts while |now − last seen| ≤ window. Symmetric on purpose: packet time can
 * step back (workers finishing transactions out of order, several capture files of different
 * dates), and a slot far in the "future" must not count for ever. Slots outside the window are
 * free for reuse; with all N+1 slots live, a new address takes the stalest.
 *
 * Memory: every entry has the same size, fixed by N; the memcap (minus the bucket array and the
 * stripes) divided by it is the entry budget, split over the stripes. Entries are allocated as
 * tokens first appear; a stripe at its budget recycles its least recently used entry (counted as
 * an eviction), so a flood of distinct tokens never grows the table past the memcap.
 */
#include "replay.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"
#include "siphash.h"

#define ID_LEN 16
#define MAX_STRIPES 64
#define SLOT_EMPTY INT64_MIN

struct slot {
    int64_t last;               /* packet time (s) last presented; SLOT_EMPTY when unused */
    uint8_t addr[16];
};

struct entry {
    struct entry *hnext;        /* bucket chain */
    struct entry *newer, *older; /* the stripe's LRU list */
    uint8_t id[ID_LEN];
    struct slot slots[];        /* clients + 1 */
};

/* Cache-line aligned so that two workers on neighbouring stripes do not share a line. */
struct stripe {
    _Alignas(64) pthread_mutex_t mu;
    struct entry *newest, *oldest;
    uint64_t count, cap;        /* entries held, entries allowed */
    uint64_t checks, alerts, evictions;
};

struct replay {
    uint32_t clients, nslots;   /* N, N + 1 */
    int64_t window;
    uint8_t seed[16];
    size_t entry_size;
    uint64_t fixed;             /* bytes charged whatever the content: this, stripes, buckets */
    uint64_t bucket_mask;
    uint32_t stripe_mask;
    struct entry **buckets;
    struct stripe *stripes;
};

static uint64_t floor_pow2(uint64_t x)
{
    uint64_t p = 1;
    while (p <= x / 2)
        p <<= 1;
    return p;
}

static uint64_t fixed_bytes(uint64_t nstripes, uint64_t nbuckets)
{
    return sizeof(struct replay) + nstripes * sizeof(struct stripe) +
           nbuckets * sizeof(struct entry *);
}

struct replay *replay_new(uint32_t clients, uint32_t window, uint64_t memcap,
                          const uint8_t seed[16])
{
    if (clients == 0)
        clients = 1;
    struct replay *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->clients = clients;
    r->nslots = clients + 1;
    r->window = window;
    memcpy(r->seed, seed, 16);
    r->entry_size = sizeof(struct entry) + (size_t)r->nslots * sizeof(struct slot);

    /* At least one bucket per entry (chains average under 1 long when full); as many stripes
     * as fit, up to 64; then whatever the memcap has left is the entry budget. A memcap too
     * small for one entry still gets one (config.c keeps memcap >= 4096: one at any N). */
    uint64_t nbuckets = floor_pow2(memcap / (r->entry_size + sizeof(struct entry *)));
    if (nbuckets * (r->entry_size + sizeof(struct entry *)) < memcap)
        nbuckets *= 2;
    uint64_t nstripes = nbuckets < MAX_STRIPES ? nbuckets : MAX_STRIPES;
    uint64_t fixed = fixed_bytes(nstripes, nbuckets);
    uint64_t entries = memcap > fixed ? (memcap - fixed) / r->entry_size : 0;
    while (nstripes > 1 && entries < nstripes) {
        nstripes /= 2;
        fixed = fixed_bytes(nstripes, nbuckets);
        entries = memcap > fixed ? (memcap - fixed) / r->entry_size : 0;
    }
    if (entries == 0)
        entries = 1;
    r->fixed = fixed;
    r->bucket_mask = nbuckets - 1;
    r->stripe_mask = (uint32_t)(nstripes - 1);
    r->buckets = calloc(nbuckets, sizeof(*r->buckets));
    r->stripes = aligned_alloc(_Alignof(struct stripe), nstripes * sizeof(*r->stripes));
    if (!r->buckets || !r->stripes) {
        free(r->buckets);
        free(r->stripes);
        free(r);
        return NULL;
    }
    memset(r->stripes, 0, nstripes * sizeof(*r->stripes));
    for (uint64_t i = 0; i < nstripes; i++) {
        struct stripe *st = &r->stripes[i];
        st->cap = entries / nstripes + (i < entries % nstripes);
        pthread_mutex_init(&st->mu, NULL);
    }
    return r;
}

void replay_free(struct replay *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i <= r->stripe_mask; i++) {
        struct stripe *st = &r->stripes[i];
        for (struct entry *e = st->newest, *next; e; e = next) {
            next = e->older;
            free(e);
        }
        pthread_mutex_destroy(&st->mu);
    }
    free(r->stripes);
    free(r->buckets);
    free(r);
}

/* A fresh entry for a token not in the table: allocated while the stripe is under its budget,
 * else its least recently used entry, taken out of its bucket chain. NULL when out of memory
 * with nothing to recycle. */
static struct entry *entry_get(struct replay *r, struct stripe *st)
{
    struct entry *e;
    if (st->count < st->cap && (e = malloc(r->entry_size)) != NULL) {
        st->count++;
        return e;
    }
    e = st->oldest;
    if (!e)
        return NULL;
    LRU_UNLINK(st, e);
    uint64_t h = siphash13(r->seed, e->id, ID_LEN);
    struct entry **pp = &r->buckets[h & r->bucket_mask];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    st->evictions++;
    return e;
}

/* |a − b| ≤ w without overflow, whatever a and b are. */
static int within(int64_t a, int64_t b, int64_t w)
{
    uint64_t d = a >= b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
    return d <= (uint64_t)w;
}

int replay_check(struct replay *r, const uint8_t sha256[32], const uint8_t addr[16], int64_t now_s)
{
    if (now_s == SLOT_EMPTY) /* keep the sentinel out of the slots */
        now_s++;
    uint64_t h = siphash13(r->seed, sha256, ID_LEN);
    uint64_t b = h & r->bucket_mask;
    struct stripe *st = &r->stripes[b & r->stripe_mask];
    int hit = 0;
    pthread_mutex_lock(&st->mu);
    st->checks++;
    struct entry *e = r->buckets[b];
    while (e && memcmp(e->id, sha256, ID_LEN) != 0)
        e = e->hnext;
    if (e) {
        LRU_UNLINK(st, e);
    } else {
        e = entry_get(r, st);
        if (!e)
            goto out;
        memcpy(e->id, sha256, ID_LEN);
        for (uint32_t i = 0; i < r->nslots; i++)
            e->slots[i].last = SLOT_EMPTY;
        e->hnext = r->buckets[b];
        r->buckets[b] = e;
    }
    LRU_PUSH_NEWEST(st, e);

    /* This client's slot; else an unused one; else one outside the window (it may count again
     * if time steps back, so unused ones go first); else the stalest. */
    struct slot *mine = NULL, *unused = NULL, *expired = NULL, *stalest = NULL;
    for (uint32_t i = 0; i < r->nslots; i++) {
        struct slot *sl = &e->slots[i];
        if (sl->last == SLOT_EMPTY) {
            if (!unused)
                unused = sl;
        } else if (memcmp(sl->addr, addr, 16) == 0) {
            mine = sl;
            break;
        } else if (!within(sl->last, now_s, r->window)) {
            if (!expired)
                expired = sl;
        } else if (!stalest || sl->last < stalest->last) {
            stalest = sl;
        }
    }
    if (!mine) {
        mine = unused ? unused : expired ? expired : stalest;
        memcpy(mine->addr, addr, 16);
    }
    mine->last = now_s;
    uint32_t live = 0;
    for (uint32_t i = 0; i < r->nslots; i++)
        if (e->slots[i].last != SLOT_EMPTY && within(e->slots[i].last, now_s, r->window))
            live++;
    hit = live > r->clients;
    st->alerts += (uint64_t)hit;
out:
    pthread_mutex_unlock(&st->mu);
    return hit;
}

void replay_stats(struct replay *r, struct replay_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (uint32_t i = 0; i <= r->stripe_mask; i++) {
        struct stripe *st = &r->stripes[i];
        pthread_mutex_lock(&st->mu);
        out->checks += st->checks;
        out->alerts += st->alerts;
        out->evictions += st->evictions;
        pthread_mutex_unlock(&st->mu);
    }
}

uint64_t replay_memuse(struct replay *r)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i <= r->stripe_mask; i++) {
        struct stripe *st = &r->stripes[i];
        pthread_mutex_lock(&st->mu);
        n += st->count;
        pthread_mutex_unlock(&st->mu);
    }
    return r->fixed + n * r->entry_size;
}
