/* replay_defer.h — token_replay checks that do not wait, reading files with -j N.
 *
 * One sensor checks tokens against the replay table in packet order, and which occurrence is
 * the one past the limit depends on that order. With several workers reading files, each
 * handles its own packets; for their answers to be -j 1's, a check of packet S must come after
 * every check of an earlier packet, whichever worker has it. Waiting for the other workers to
 * pass S at each check held them in lockstep on token-dense traffic (every request has a token).
 * Instead a worker files a ticket (the token's digest, the client, the time, S) and goes on; the
 * tickets are answered in packet order, a ticket once every other worker has passed S (it has
 * filed every ticket of an earlier packet) and every ticket before it is answered. The worker
 * renders the token's records both ways (with and without token_replay) into holds
 * (eve_writer.h) when the answer is not there yet, and writes the right one when it is. A
 * token with no other finding (most) is rendered once: its records with token_replay, rarely
 * needed, are then derived from its token record (eve_lazy, eve.h) if the answer says so.
 *
 * Threads: a ticket is filed and released by its worker; answered by whichever thread runs
 * replay_defer_run() (any worker, between packets; one at a time). A worker's tickets form a
 * queue: released from its head, answered up to `undecided`.
 */
#ifndef TW_REPLAY_DEFER_H
#define TW_REPLAY_DEFER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "eve_writer.h"

struct replay;
struct app_fhold;

enum { RD_PENDING = 0, RD_NO = 1, RD_REPLAY = 2 };

struct rd_ticket {
    struct rd_ticket *next;
    uint64_t seq;                 /* the packet (record) whose handling filed it */
    uint8_t digest[32], client[16];
    int64_t now;
    _Atomic int answer;           /* RD_PENDING until answered */
    /* the filing worker's */
    uint32_t base;                /* the token's findings but token_replay */
    uint8_t held;                 /* records rendered into hold[answer == RD_REPLAY] */
    struct eve_hold hold[2];
    struct eve_lazy lazy;         /* complete (eve_lazy_complete): only hold[0] was rendered;
                                     the token_replay variant is derived from this if needed */
    struct app_fhold *fh;         /* its flow's `flow` record, held while tickets are pending */
};

/* passed(arg, worker, seq): whether that worker has filed every ticket of a packet before seq
 * (it has handled them all). */
typedef int (*replay_defer_passed_fn)(void *arg, size_t worker, uint64_t seq);

struct replay_defer;

/* NULL when out of memory. rp is shared by the workers (replay.h; its gate unset). */
struct replay_defer *replay_defer_new(struct replay *rp, size_t nworkers,
                                      replay_defer_passed_fn passed, void *arg);
/* Every ticket must have been released. */
void replay_defer_free(struct replay_defer *d);

/* Worker `w` files a check for the packet `seq` it is handling; answers what it can at once.
 * NULL when out of memory (the caller then checks synchronously: replay_defer_wait). */
struct rd_ticket *replay_defer_file(struct replay_defer *d, size_t w, uint64_t seq,
                                    const uint8_t digest[32], const uint8_t client[16],
                                    int64_t now);
/* Answers every ticket that can be, in packet order; returns at once when another thread is at
 * it. force: every worker has handled everything (the end of the run). */
void replay_defer_run(struct replay_defer *d, int force);
/* Waits until t is answered (filing more would pass the bound): runs the answering in a loop. */
void replay_defer_wait(struct replay_defer *d, struct rd_ticket *t);
/* The oldest ticket of worker w if answered (the caller releases it, then pops it), else NULL. */
struct rd_ticket *replay_defer_front(struct replay_defer *d, size_t w);
void replay_defer_pop(struct replay_defer *d, size_t w);
/* Tickets of worker w filed and not popped yet. */
size_t replay_defer_pending(struct replay_defer *d, size_t w);

#endif
