/* vcache.h — the verification cache: each distinct token is judged once.
 *
 * Pipeline: token scan ─► [vcache] ─► policy. A bounded hash table keyed by SipHash of the
 * token bytes (a fast hash to find, a full compare to confirm), holding references to verdicts.
 * Bounded twice: max_entries, and a byte memcap charged per verdict (token text, claims, the
 * JSON eve renders). Replacement is a segmented LRU: a token seen once waits in a probation
 * segment, one seen again moves to a protected segment (at most 80% of entries and bytes), and
 * victims come from probation first, so a flood of distinct tokens cannot evict the working set
 * wholesale. A dropped verdict lives on while a pending transaction still holds a reference.
 * Keyed hashing: an attacker cannot aim tokens at one bucket. One per worker; not thread-safe.
 */
#ifndef TW_VCACHE_H
#define TW_VCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* lookups = hits + misses; inserts ≤ misses (a verdict bigger than the memcap is not cached);
 * evictions: entries dropped for room (entry count or bytes), not by vcache_clear. */
struct vcache_stats {
    uint64_t lookups, hits, misses, inserts, evictions;
    uint64_t kidless_bound; /* misses whose token named no key and had more candidate keys than
                               policy.kidless-max-keys, none of those tried verifying */
    uint64_t shed;          /* verdicts judged with their signature check shed (policy_shed_due:
                               verification_shed); stats.tokens.verify_shed */
};

struct vcache;

/* max_entries > 0; memcap: bytes of verdicts held (token text, claims, rendered JSON), 0 = no
 * byte limit; seed: 16-byte SipHash key (copied). NULL on no memory. */
struct vcache *vcache_new(size_t max_entries, size_t memcap, const uint8_t seed[16]);
/* Drops the cache's reference to every verdict, then frees the table. */
void vcache_free(struct vcache *vc);

/* The verdict for tok, judging it on a miss. Returns a borrowed pointer valid until the next
 * vcache call (take a reference with verdict_ref to keep it); *hit says whether it was cached.
 * NULL only when out of memory. A miss judged while policy_shed_due(cfg) sheds the signature
 * check (verification_shed) and caches that verdict marked as such: found again while still
 * shedding it is a hit; found when no longer shedding it is judged anew, verified, and replaces
 * the shed one (counted as a miss, *hit 0). */
struct verdict *vcache_get(struct vcache *vc, const struct keystore *ks,
                           const struct policy_cfg *cfg, const uint8_t *tok, size_t len,
                           int *hit);

/* A caller's memo of where its last token was found (a flow's: a connection presents the same
 * token request after request). Zero is empty; it is only ever read against the cache that
 * filled it, and never owns anything: it names an entry of the cache's fixed pool, so an entry
 * since evicted or reused only fails the check below. */
struct vcache_memo {
    void *entry;
};

/* vcache_get, first trying the entry m names: when it still holds tok (its length and bytes
 * compared), that is the lookup's hit, with the same counters, promotion and shed rule, minus
 * the token's hash and the bucket. Otherwise the usual lookup; either way m then names the
 * entry that holds tok's verdict (empty when it was too big to cache). */
struct verdict *vcache_get_memo(struct vcache *vc, struct vcache_memo *m,
                                const struct keystore *ks, const struct policy_cfg *cfg,
                                const uint8_t *tok, size_t len, int *hit);

const struct vcache_stats *vcache_stats(const struct vcache *vc);
/* Entries held, and the bytes they are charged (≤ memcap, but for a rendered JSON larger than
 * estimated on an entry that is alone in the cache). */
size_t vcache_count(const struct vcache *vc);
size_t vcache_bytes(const struct vcache *vc);

/* Forgets every cached verdict (the keys they were judged with changed). */
void vcache_clear(struct vcache *vc);

#endif
