/* hll.c — HyperLogLog distinct counter (see hll.h).
 *
 * Pipeline: applayer ─► [hll] ─► eve stats, summary. Owns its 2^14 registers and the exact set
 * (2^14 slots of 8 bytes), nothing else: 144 KiB per run.
 *
 *   x = SipHash-2-4(key, SHA-256 of the token)                          (64 bits)
 *   [ 14 bits: register j | 50 bits: w ]    reg[j] = max(reg[j], leading zeros of w + 1)
 *
 * Estimate: Ertl's improved raw estimator (O. Ertl, "New cardinality estimation algorithms for
 * HyperLogLog sketches", 2017, §4) over the histogram of register values. Unlike the original's
 * raw estimate switched to linear counting at 2.5·m, it has no threshold and no bias table: the
 * original is biased by up to +2.4 % around the switch (measured here, 20 keys at 41,000
 * distinct), this one stays within the standard error across the range (test_hll.c).
 *
 * Small runs are counted exactly: until HLL_EXACT_MAX distinct hashes have been seen they are
 * also kept in a lock-free set and the count is its size. A run's summary then agrees with a
 * count of its tokens, and only a run past 12,288 distinct tokens shows the estimate's error.
 */
#include "hll.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"

/* The exact set: open addressing, linear probing, insert only; a slot holds a value's 64-bit
 * hash (0 stands for empty, so a hash of 0 is stored as 1). Filled to 3/4 at most, so a probe
 * for a new value ends at an empty slot after a few steps. */
#define EXACT_SLOTS (1u << 14)

struct hll {
    uint8_t key[16];
    _Atomic uint8_t reg[HLL_REGISTERS];
    _Atomic uint64_t exact[EXACT_SLOTS];
    _Atomic uint64_t nexact;   /* values in exact[] */
    _Atomic int saturated;     /* exact[] reached HLL_EXACT_MAX: the registers answer */
};

struct hll *hll_new(const uint8_t key[16])
{
    struct hll *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    memcpy(h->key, key, 16);
    for (size_t i = 0; i < HLL_REGISTERS; i++)
        atomic_init(&h->reg[i], 0);
    for (size_t i = 0; i < EXACT_SLOTS; i++)
        atomic_init(&h->exact[i], 0);
    atomic_init(&h->nexact, 0);
    atomic_init(&h->saturated, 0);
    return h;
}

void hll_free(struct hll *h)
{
    free(h);
}

/* Raises register j to at least r. Relaxed: the registers are independent and only ever grow,
 * so a reader sees some valid past state of each. */
static void raise_to(_Atomic uint8_t *reg, uint8_t r)
{
    uint8_t cur = atomic_load_explicit(reg, memory_order_relaxed);
    while (r > cur &&
           !atomic_compare_exchange_weak_explicit(reg, &cur, r, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

/* Puts hash x into the exact set unless it is there or the set is full (then saturated). Two
 * threads inserting the same new value race for one empty slot: the CAS loser sees the
 * winner's value there and stops, so a value is counted once. */
static void exact_insert(struct hll *h, uint64_t x)
{
    if (atomic_load_explicit(&h->saturated, memory_order_relaxed))
        return;
    x = x ? x : 1;
    for (uint32_t i = (uint32_t)x & (EXACT_SLOTS - 1);; i = (i + 1) & (EXACT_SLOTS - 1)) {
        uint64_t cur = atomic_load_explicit(&h->exact[i], memory_order_relaxed);
        if (cur == x)
            return;
        if (cur != 0)
            continue;
        if (atomic_load_explicit(&h->nexact, memory_order_relaxed) >= HLL_EXACT_MAX) {
            atomic_store_explicit(&h->saturated, 1, memory_order_relaxed);
            return;
        }
        if (atomic_compare_exchange_strong_explicit(&h->exact[i], &cur, x, memory_order_relaxed,
                                                    memory_order_relaxed)) {
            atomic_fetch_add_explicit(&h->nexact, 1, memory_order_relaxed);
            return;
        }
        if (cur == x)
            return;
    }
}

void hll_add(struct hll *h, const uint8_t sha256[32])
{
    uint64_t x = siphash24(h->key, sha256, 32);
    exact_insert(h, x);
    uint32_t j = (uint32_t)(x >> (64 - HLL_BITS));
    /* The guard bit bounds the rank at 64 - HLL_BITS + 1 when the low 50 bits are all zero. */
    uint64_t w = (x << HLL_BITS) | (1ull << (HLL_BITS - 1));
    raise_to(&h->reg[j], (uint8_t)(__builtin_clzll(w) + 1));
}

/* Ertl's sigma and tau series (2017, algorithm 6), summed until the sum stops changing. */
static double sigma(double x)
{
    double y = 1, z = x, prev;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (z != prev);
    return z;
}

static double tau(double x)
{
    if (x == 0 || x == 1)
        return 0;
    double y = 1, z = 1 - x, prev;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= (1 - x) * (1 - x) * y;
    } while (z != prev);
    return z / 3;
}

uint64_t hll_count(const struct hll *h)
{
    enum { Q = 64 - HLL_BITS }; /* ranks run 0 .. Q + 1 */
    if (!atomic_load_explicit(&h->saturated, memory_order_relaxed))
        return atomic_load_explicit(&h->nexact, memory_order_relaxed);
    uint32_t hist[Q + 2] = {0};
    for (size_t i = 0; i < HLL_REGISTERS; i++)
        hist[atomic_load_explicit(&h->reg[i], memory_order_relaxed)]++;
    const double m = HLL_REGISTERS;
    if (hist[0] == HLL_REGISTERS)
        return 0;
    double z = m * tau(1 - hist[Q + 1] / m);
    for (int k = Q; k >= 1; k--)
        z = 0.5 * (z + hist[k]);
    z += m * sigma(hist[0] / m);
    return (uint64_t)llround(m * m / (2 * M_LN2) / z);
}

int hll_merge(struct hll *dst, const struct hll *src)
{
    if (memcmp(dst->key, src->key, 16) != 0)
        return -1;
    for (size_t i = 0; i < HLL_REGISTERS; i++)
        raise_to(&dst->reg[i], atomic_load_explicit(&src->reg[i], memory_order_relaxed));
    if (atomic_load_explicit(&src->saturated, memory_order_relaxed))
        atomic_store_explicit(&dst->saturated, 1, memory_order_relaxed);
    for (size_t i = 0; i < EXACT_SLOTS; i++) {
        uint64_t x = atomic_load_explicit(&src->exact[i], memory_order_relaxed);
        if (x)
            exact_insert(dst, x);
    }
    return 0;
}
