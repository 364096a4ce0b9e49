/* sensor.h — one worker's whole state, passed down the pipeline (no globals).
 *
 * Owns the key store, the verification cache, the flow table (and through it every stream and
 * HTTP state), the EVE outputs and the counters behind the `stats` record. sensor_new() builds
 * it from a loaded configuration; sensor_free() tears it down, writing pending events first
 * (sensor_finish).
 */
#ifndef TW_SENSOR_H
#define TW_SENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "defrag.h"
#include "flow.h"
#include "jb.h"
#include "keystore.h"
#include "output.h"
#include "policy.h"
#include "replay.h"
#include "stream.h"
#include "vcache.h"

struct tx;

struct sensor_stats {
    uint64_t pkts, bytes, invalid, skipped;   /* decoder */
    uint64_t capture_errors;                  /* files unreadable or damaged */
    uint64_t kernel_packets, kernel_drops, kernel_ifdrops;
    uint64_t worker_drops;                    /* live -j N: packets dropped on a full worker ring */
    uint64_t http_tx;                         /* requests parsed */
    uint64_t http_errors;                     /* unparseable heads skipped */
    uint64_t http_head_overflow;              /* heads over http-max-head */
    uint64_t body_scanned, body_truncated;    /* bodies scanned for tokens; cut at body-limit */
    uint64_t inflate_bombs, inflate_errors;   /* gzip/deflate bodies stopped: bomb, corrupt */
    uint64_t http_memcap;                     /* heads dropped or transactions written early
                                                 because of engine.http-memcap */
    uint64_t tokens_seen, tokens_verified;
    uint64_t alerts[F__COUNT];                /* by most severe finding */
    uint64_t alerts_total;
};

struct sensor {
    struct config *cfg;                /* borrowed */
    struct keystore *ks;
    int ks_borrowed;                   /* ks is shared with other workers: not freed here */
    struct policy_cfg pol;
    struct vcache *vc;
    struct verify_ctxs *vx;            /* this worker's OpenSSL verification contexts */
    struct replay *replay;             /* token_replay table, NULL when policy.replay is off */
    int replay_borrowed;               /* shared with other workers: not freed here */
    struct classify *cls;              /* nDPI, one module per worker */
    struct defrag *defrag;             /* IP fragments being reassembled */
    struct observed *obs;              /* key sets seen in responses (JWKS, discovery) */
    struct flow_table *flows;          /* NULL after sensor_finish */
    struct flow_stats final_flow_stats; /* the table's counters when it was torn down */
    struct stream_ctx streams;
    struct output *outputs;
    size_t noutputs;
    uint32_t out_types;                /* union of the outputs' types */
    struct jb jb;                      /* record under construction */
    struct tx *tx_free;                /* recycled transactions */
    uint64_t app_mem;                  /* bytes in head buffers and pending transactions */
    struct sensor_stats st;
    uint64_t now_us;                   /* time of the packet being processed */
    uint64_t tcache_sec;               /* EVE timestamps: the second last formatted ... */
    char tcache[32];                   /* ... as "YYYY-MM-DDTHH:MM:SS." */
    uint64_t start_us;                 /* first packet time */
    int have_time;
    /* capture context for EVE common fields */
    const char *pcap_filename;         /* offline: current file's name, else NULL */
    uint32_t pcap_index;
    const char *in_iface;              /* live: interface name */
    char **pcap_names;                 /* every file name seen, by index (owned) */
    size_t npcap_names;
};

/* Everything the `stats` record prints, as one value: taken from a sensor, summed across the
 * workers of a live -j N run, and written by eve_write_stats_counters(). Every member is a run of
 * uint64_t counters (sensor_counters_add sums them field by field). */
struct sensor_counters {
    struct sensor_stats st;
    struct flow_stats fs;
    struct stream_stats ss;
    struct vcache_stats vs;
    struct defrag_stats ds;
    uint64_t defrag_memuse;  /* a gauge: bytes held, summed across workers too */
    uint64_t uptime_s;       /* the largest of the summed */
};

void sensor_counters_take(const struct sensor *s, uint64_t ts_us, struct sensor_counters *out);
void sensor_counters_add(struct sensor_counters *sum, const struct sensor_counters *x);

/* Builds the keystore from cfg's keysets and revoked keys, opens the outputs under logdir.
 * Returns NULL with a one-line reason in err; exit_code tells 1 (runtime) or 2 (config). */
struct sensor *sensor_new(struct config *cfg, const char *logdir, char *err, size_t errlen,
                          int *exit_code);
/* As sensor_new(), but borrows ks (read-only, shared by every worker of a live -j N run) instead
 * of loading its own; ks must outlive the sensor. ks == NULL is sensor_new(). */
struct sensor *sensor_new_shared(struct config *cfg, const char *logdir, struct keystore *ks,
                                 char *err, size_t errlen, int *exit_code);

/* Processes one captured packet (ts in microseconds). */
void sensor_packet(struct sensor *s, uint64_t ts_us, int linktype, const uint8_t *data,
                   uint32_t caplen, uint32_t wirelen);

/* Starts a new capture file (offline), for pcap_filename. The name is copied. */
void sensor_set_pcap(struct sensor *s, const char *name);

/* Ends processing: flushes every flow (pending transactions get their records), writes the
 * final stats record, flushes outputs. */
void sensor_finish(struct sensor *s);

void sensor_free(struct sensor *s);

/* The policy and keystore of a config, for check-token: 0, or -1 with err. */
int sensor_build_keystore(const struct config *cfg, struct keystore **out, char *err, size_t errlen);
void sensor_policy_from_config(const struct config *cfg, struct policy_cfg *pol);

#endif
