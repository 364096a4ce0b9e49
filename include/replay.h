/* replay.h — token_replay (sid 9100015): one token presented from more than N distinct client
 * addresses within a window of packet time.
 *
 * Pipeline: applayer (each client-presented token occurrence) ─► [replay] ─► eve. A table keyed
 * by the token's SHA-256 (keyed SipHash picks the bucket, so crafted tokens cannot pile into
 * one), each entry holding up to N+1 recent client addresses with their last-seen time. Bounded
 * by a memcap: when full the least recently used entry goes. Shared by every worker of a live
 * -j N run (a client's flows all reach one worker, but a replayed token's clients need not):
 * internally locked, stripes of the table under separate mutexes.
 */
#ifndef TW_REPLAY_H
#define TW_REPLAY_H

#include <stddef.h>
#include <stdint.h>

struct replay_stats {
    uint64_t checks, alerts, evictions;
};

struct replay;

/* clients: N (>= 1; 0 is taken as 1); window: seconds; memcap: bytes for the whole table (the
 * bucket array, the stripes and every entry: 40 + 24 * (N + 1) bytes each; at least one entry is
 * kept however small the memcap); seed: SipHash key. Free with replay_free(). NULL when out of
 * memory. */
struct replay *replay_new(uint32_t clients, uint32_t window, uint64_t memcap,
                          const uint8_t seed[16]);
void replay_free(struct replay *r);

/* Records that the token with this SHA-256 (32 bytes) was presented by client address `addr`
 * (16 bytes, IPv4 as ::ffff:a.b.c.d) at packet time now_s. Returns 1 when, counting this one,
 * more than N distinct clients presented it within the window, else 0. "Within the window":
 * |now_s − that client's last presentation| <= window, so time stepping back never makes old
 * presentations count for ever. Thread-safe; out of memory on a new token, it returns 0. */
int replay_check(struct replay *r, const uint8_t sha256[32], const uint8_t addr[16], int64_t now_s);

/* Reading files with -j N, the checks come in packet order through replay_defer.h. */

/* Counters (a snapshot; thread-safe). */
void replay_stats(struct replay *r, struct replay_stats *out);
/* Bytes held now. */
uint64_t replay_memuse(struct replay *r);

#endif
