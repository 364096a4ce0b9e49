/* fleet_int.h — struct fleet, shared by fleet.c (the local tables, the queue, the workers' side)
 * and fleet_redis.c (the writer and subscriber threads). Private to sensor/trust.
 */
#ifndef TW_FLEET_INT_H
#define TW_FLEET_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* fleet.h comes first (its types and sizes); not included here, so that this header is no
 * module of its own that fleet.h's module depends on (tests/include_graph.py). */

/* A sent sighting or publish, remembered: (keyed hash of what was sent, packet time), in sets
 * of SEEN_WAYS. */
#define SEEN_WAYS 8
struct fleet_seen {
    uint64_t tag;
    int64_t at;
};

/* An indicator of the local table: a ring in arrival order (the oldest is overwritten when
 * full), indexed by chains from a bucket array (int32 indices, -1 ends a chain). */
struct fleet_ind {
    uint8_t sha[32];
    int32_t next;
    int64_t expires;              /* wall clock (s) */
    struct fleet_indicator v;
};

/* One per worker, a cache line or more of its own: the worker reads `ready` and bumps
 * `lookups` once per packet or token occurrence. */
struct fleet_worker {
    _Alignas(64) pthread_mutex_t mu; /* results */
    struct fleet_req *res_head, *res_tail;
    _Atomic int ready;            /* results waiting */
    _Atomic uint64_t outstanding; /* pushed and not yet in results */
    _Atomic uint64_t lookups;     /* indicator lookups (this worker's; stats sum them) */
};

struct fleet {
    /* configuration */
    char *server, *path, *password;
    int port;
    uint32_t db;
    int64_t window;
    uint32_t netbits4, netbits6;
    uint32_t queue_cap;
    char name[FLEET_NAME_MAX];
    char where[160];              /* "127.0.0.1:6379" or the socket path, for messages */
    uint8_t seed[16];

    /* local caches */
    pthread_mutex_t seen_mu;
    struct fleet_seen *seen;
    uint64_t seen_mask;
    pthread_mutex_t ind_mu;
    struct fleet_ind *ind;
    int32_t *ind_buckets;
    uint32_t ind_cap, ind_bmask, ind_next, ind_count;
    _Atomic uint32_t ind_known;   /* entries ever added (0: lookups skip the lock) */

    /* fleet.unverified-rate: sightings of unverified tokens in the packet-time second `rate_sec`
     * (under seen_mu) */
    uint32_t rate_max, rate_used;
    int64_t rate_sec;

    /* the queue: producers are the workers, the consumer the writer thread */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;          /* the writer waits for work; settle wakes it */
    struct fleet_req *q_head, *q_tail;
    uint32_t q_len;
    int hurry;                    /* settle: retry the connection now (under q_mu) */
    int writer_idle;              /* the writer waits for work: a push signals (under q_mu) */

    struct fleet_worker *w;
    size_t nw;

    /* threads */
    pthread_t writer, sub;
    int writer_started, sub_started;
    _Atomic int stop;
    _Atomic int connected;        /* the writer holds a working connection */
    _Atomic uint64_t connect_failures;
    void *sub_ctx;                /* redisContext of the subscriber, made by fleet_new */
    int wake[2];                  /* a pipe: fleet_free ends the subscriber's poll at once */

    /* counters */
    _Atomic uint64_t sightings, published, sent, errors, dropped, batched, reconnects,
        indicators, replay_alerts, indicator_alerts, limited;
};

/* fleet.c: hands r back to its worker with status st (counts sent/errors/dropped). */
void fleet_deliver(struct fleet *f, struct fleet_req *r, int st);
/* fleet.c: puts the requests back at the head of the queue, in order (a lost connection). */
void fleet_requeue(struct fleet *f, struct fleet_req *head, struct fleet_req *tail, uint32_t n);
/* fleet.c: parses an indicator string ("<sha hex> <time> <codes> <sensor>") into the local
 * table, living for ttl seconds more (wall clock). 0, or -1 when it does not parse. */
int fleet_learn(struct fleet *f, const char *s, size_t len, int64_t ttl);

/* fleet_redis.c: a sighting's answer (a hiredis redisReply) into r: 0, or -1 when it is not
 * the script's shape (what Redis holds is other sensors' writing: never trusted to be). */
int fleet_parse_sighting(struct fleet *f, struct fleet_req *r, const void *reply);
/* fleet_redis.c: connects the subscriber and loads the stored indicators (fleet_new, then in
 * the subscriber thread after a loss). 0, or -1 with the reason in why. */
int fleet_sub_connect(struct fleet *f, char *why, size_t n);
void *fleet_writer_main(void *arg);
void *fleet_sub_main(void *arg);
void fleet_sub_free(struct fleet *f);

#endif
