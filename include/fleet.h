/* fleet.h — many sensors, one view of every token: sightings and indicators shared through
 * Redis (the `fleet:` section; README "Fleet").
 *
 * Pipeline: app layer (each token occurrence) ─► [fleet: local caches ─► request queue ─► writer
 * thread ─► Redis] ─► answers back to the worker that asked ─► eve (the fleet's alerts).
 * A subscriber thread keeps the local indicator table current from Redis' channel.
 *
 *   sighting  (token sha256, client network, sensor name, packet time): sent at most once per
 *             (token, network) per window (a direct-mapped cache, keyed hash); Redis answers, in
 *             one atomic script, how many client networks and which sensors saw the token within
 *             the window and who saw it first, and whether it is a fleet indicator.
 *   publish   a token judged with a severity-1 finding: its sha256, codes and this sensor's name,
 *             stored with an expiry and sent on the channel, once per window.
 *   indicator lookups on the packet path: the local table (filled by the subscriber, by the
 *             start-up load and by sighting answers), one lock, no network.
 *
 * Redis keys (hash tags: a token's keys share one Cluster slot; every key expires):
 *   tokenwatch:{<sha256 hex>}:sightings   hash: "<network>|<sensor>" -> "<first> <last>" (s)
 *   tokenwatch:{<sha256 hex>}:indicator   string: "<sha256 hex> <time> <codes> <sensor>"
 *   tokenwatch:indicators                 sorted set: sha256 hex, score = expiry (wall, s)
 *   channel tokenwatch:indicators         the indicator strings as they are published
 * No token text ever leaves the sensor: only its SHA-256.
 *
 * Never on the packet path: requests wait in a bounded queue (fleet.queue-size) for the writer
 * thread, which pipelines them in batches; while Redis is absent, down or slow they wait, and
 * when the queue is full they are dropped and counted. The writer reconnects with backoff
 * (100 ms doubling to 5 s) and reloads its scripts. Shared by every worker of a run; internally
 * locked.
 */
#ifndef TW_FLEET_H
#define TW_FLEET_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct fleet;

#define FLEET_NAME_MAX 64  /* a sensor name, cut to this (NUL included) */
#define FLEET_NET_MAX 48   /* "ffff:...:ffff/128" and a NUL */
#define FLEET_SENSORS 512  /* the names of the sensors that saw a token, '\n' separated */

enum fleet_kind { FLEET_SIGHTING = 0, FLEET_PUBLISH };
/* What became of a request once it is back (fleet_results). */
enum fleet_status { FLEET_PENDING = 0, FLEET_DONE, FLEET_ERROR, FLEET_DROPPED };

/* One request, allocated by the asker (fleet_req_new), the fleet's from fleet_push() until it
 * comes back through fleet_results(), then the asker's again (fleet_req_free). */
struct fleet_req {
    struct fleet_req *next;
    uint8_t kind, status;         /* enum fleet_kind, enum fleet_status */
    uint32_t worker;              /* whose results it goes back to */
    uint8_t sha[32];
    char network[FLEET_NET_MAX];  /* sighting: the client network, "10.1.0.0/24" */
    int64_t pkt_s;                /* packet time (s) */
    int64_t ttl;                  /* seconds its Redis keys live */
    uint32_t findings;            /* publish: the finding bits (policy.h) */
    /* A sighting's answer (FLEET_DONE): */
    uint32_t networks, nsensors;  /* client networks and sensors within the window */
    char sensors[FLEET_SENSORS];  /* their names, sorted, '\n' between (at most 16) */
    char first_sensor[FLEET_NAME_MAX], first_network[FLEET_NET_MAX];
    int64_t first_s;              /* the earliest sighting in the window (packet time) */
    uint8_t indicator;            /* the token is a fleet indicator (now in the local table) */
    void *user;                   /* the asker's */
    void (*user_free)(void *user); /* fleet_req_free calls it on user, when set */
};

/* An indicator as the local table holds it. */
struct fleet_indicator {
    uint32_t findings;            /* finding bits the judging sensor published */
    int64_t ts;                   /* packet time it judged the token at */
    char sensor[FLEET_NAME_MAX];
};

struct fleet_stats {
    uint64_t sightings, published;  /* requests made (after the local caches) */
    uint64_t sent, errors, dropped; /* Redis answered / answered with an error / never sent
                                       (queue full, or still queued at the end of the run);
                                       at the end: sent + errors + dropped = sightings +
                                       published */
    uint64_t limited;               /* sightings of unverified tokens and publishes not made:
                                       over fleet.unverified-rate */
    uint64_t batched;               /* round trips (pipelined batches) */
    uint64_t reconnects;            /* connections made again after a loss */
    uint64_t lookups;               /* indicator lookups (token occurrences checked) */
    uint64_t indicators;            /* indicators learnt (start-up load, channel, answers) */
    uint64_t replay_alerts, indicator_alerts; /* alerts the workers wrote (fleet_count_alert) */
};

/* 1 when cfg has a fleet (fleet.redis.server or .path). */
int fleet_configured(const struct config *cfg);

/* Starts the fleet of cfg for nworkers workers: the local tables, the writer and subscriber
 * threads. Connects and loads the indicators Redis holds before returning, so a sensor reading
 * a file judges with what the fleet knew at its start (bounded: 1 s to connect, 2 s a reply;
 * a refused connection returns at once); an unreachable Redis is said once on stderr, by the
 * writer, and retried in the background. NULL with the reason in err when memory or threads
 * are lacking. */
struct fleet *fleet_new(const struct config *cfg, size_t nworkers, char *err, size_t errlen);
/* Stops the threads; requests still queued are counted as dropped and freed. */
void fleet_free(struct fleet *f);

/* The client network of addr (16 bytes, IPv4 as ::ffff:a.b.c.d) into net (16 bytes) and its
 * text ("10.1.0.0/24", "2001:db8::/64") into str (NULL: not wanted, only the bytes). */
void fleet_network(const struct fleet *f, const uint8_t addr[16], uint8_t net[16],
                   char str[FLEET_NET_MAX]);
/* 1 when the sighting (sha, net) at packet time now_s is due: not sent within the window (the
 * local cache now says it was); 0 when it was. *sent (may be NULL): the packet time it was
 * last sent at (now_s when due). */
int fleet_sighting_due(struct fleet *f, const uint8_t sha[32], const uint8_t net[16],
                       int64_t now_s, int64_t *sent);
/* 1 when a sighting of a token whose signature was not verified valid, or a publish, may go
 * out at packet time now_s: at most fleet.unverified-rate a second, shared by the workers; else
 * 0, counted as limited. Anyone can mint such tokens, and each request is a key in Redis for a
 * window or two: this bounds what a flood of them costs Redis, while sightings of verified
 * tokens (which only their issuer can mint) are never limited. */
int fleet_unverified_allowed(struct fleet *f, int64_t now_s);
/* 1 when the token's indicator is due for publishing (once per window per sensor). */
int fleet_publish_due(struct fleet *f, const uint8_t sha[32], int64_t now_s);

struct fleet_req *fleet_req_new(void);
void fleet_req_free(struct fleet_req *r);
/* Queues r (kind, worker, sha, ... set); 0, or -1 when the queue is full: r is marked
 * FLEET_DROPPED, counted, and stays the caller's. */
int fleet_push(struct fleet *f, struct fleet_req *r);
/* 1 when answers wait for worker w (a relaxed load: cheap per packet). */
int fleet_has_results(struct fleet *f, size_t w);
/* Takes every answer waiting for worker w, oldest first (a list through next), or NULL. */
struct fleet_req *fleet_results(struct fleet *f, size_t w);
/* End of a run for worker w: waits until every request of w is answered, the deadline
 * (monotonic ns) passes, or Redis is unreachable at a fresh attempt; then what is still queued
 * comes back FLEET_DROPPED (counted). Every request of w is in its results afterwards. */
void fleet_settle(struct fleet *f, size_t w, uint64_t deadline_ns);
/* fleet_settle's wait alone: until every request of w is answered, the deadline passes, or
 * Redis is unreachable at a fresh attempt; nothing is dropped. */
void fleet_wait(struct fleet *f, size_t w, uint64_t deadline_ns);

/* The indicator for sha published by another sensor, into *out: 1, else 0. Counts a lookup in
 * worker w's own counter (once per token occurrence: no line shared between workers). */
int fleet_indicator(struct fleet *f, size_t w, const uint8_t sha[32],
                    struct fleet_indicator *out);
/* This sensor's name in the fleet (sensor-name, or the host name). */
const char *fleet_sensor_name(const struct fleet *f);
enum { FLEET_ALERT_REPLAY, FLEET_ALERT_INDICATOR };
void fleet_count_alert(struct fleet *f, int kind);
void fleet_get_stats(struct fleet *f, struct fleet_stats *out);

#endif
