/* hll.h — the run's count of distinct tokens (stats.tokens.distinct): a HyperLogLog.
 *
 * Pipeline: applayer (each token occurrence) ─► [hll] ─► eve stats record, exit summary.
 * Flajolet, Fusy, Gandouet & Meunier, "HyperLogLog" (2007), with a 64-bit hash and Ertl's
 * improved estimator (2017), which needs neither a switch to linear counting for small
 * cardinalities nor a bias table (hll.c). 2^14 one-byte registers (16 KiB): a standard
 * error of 1.04 / sqrt(2^14) = 0.81 %, so within 2.5 % (3 standard errors) but for 3 runs in
 * 1,000. Up to HLL_EXACT_MAX distinct values the count is exact instead (a lock-free set of the
 * 64-bit hashes beside the registers, 128 KiB): exact but for two tokens whose keyed 64-bit hashes
 * collide, about n² / 2^65, never in practice.
 *
 * Why an estimate and not the verification cache's inserts: the cache is per worker and is
 * cleared by every hot reload, so counting its misses counts a token once per worker and once
 * per reload. One counter per run, shared by every worker (registers are relaxed atomics
 * raised by compare-and-swap: lock-free, and contention only while a register grows), never
 * reset, fixes both; its memory is fixed whatever the traffic.
 *
 * Keyed: the register and its rank come from SipHash of the token's SHA-256 under a key drawn
 * per run, so tokens cannot be crafted to pile into one register and hide the rest.
 */
#ifndef TW_HLL_H
#define TW_HLL_H

#include <stddef.h>
#include <stdint.h>

#define HLL_BITS 14
#define HLL_REGISTERS (1u << HLL_BITS)
#define HLL_EXACT_MAX 12288u  /* distinct values counted exactly (3/4 of the set's slots) */

struct hll;

/* A counter at 0 under SipHash key `key` (16 bytes, copied). NULL when out of memory. Free with
 * hll_free(). */
struct hll *hll_new(const uint8_t key[16]);
void hll_free(struct hll *h);

/* Counts one occurrence of the value with this SHA-256 (32 bytes). Thread-safe, lock-free. */
void hll_add(struct hll *h, const uint8_t sha256[32]);

/* The number of distinct values added so far: exact up to HLL_EXACT_MAX, then the estimate
 * rounded to the nearest integer. Thread-safe (a snapshot while others add). */
uint64_t hll_count(const struct hll *h);

/* Makes dst count the union of what dst and src counted (register-wise max). Both must have
 * been made with the same key, else the result is meaningless: returns -1 and leaves dst
 * alone. 0 on success. */
int hll_merge(struct hll *dst, const struct hll *src);

#endif
