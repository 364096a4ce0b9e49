/* sensor_counters.h — everything the `stats` record and the exit summary print, as one value.
 *
 * Pipeline: counted by every stage into struct sensor (sensor.h) ─► taken as a snapshot by
 * sensor_counters_take() ─► summed across the workers of a live -j N run ─► written by
 * eve_write_stats() (eve.h) and summary_print() (summary.h). Owns nothing: plain values.
 *
 * Kept apart from sensor.h so that the writers of these counters need not know the sensor they
 * came from: a stats record is written from a value, not from a worker.
 */
#ifndef TW_SENSOR_COUNTERS_H
#define TW_SENSOR_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "defrag.h"
#include "fleet.h"
#include "flow.h"
#include "output.h"
#include "policy.h"
#include "replay.h"
#include "stream.h"
#include "vcache.h"

/* The counters a worker keeps itself (struct sensor's `st`). */
struct sensor_stats {
    uint64_t pkts, bytes, invalid, skipped;   /* decoder */
    uint64_t capture_errors;                  /* files unreadable or damaged */
    uint64_t kernel_packets, kernel_drops, kernel_ifdrops;
    uint64_t worker_drops;                    /* live -j N: packets dropped on a full worker ring */
    uint64_t http_tx;                         /* requests parsed */
    uint64_t http_errors;                     /* unparseable heads skipped */
    uint64_t http_head_overflow;              /* heads over http-max-head (then streamed) */
    uint64_t http_head_fields_cut;            /* token-place/framing fields of a streamed head
                                                 dropped by a bound (http_head_stream.h) */
    uint64_t body_scanned, body_truncated;    /* bodies scanned for tokens; cut at body-limit */
    uint64_t inflate_bombs, inflate_errors;   /* gzip/deflate bodies stopped: bomb, corrupt */
    uint64_t body_undecodable;                /* bodies worth scanning in a coding we cannot
                                                 undo (br, zstd, > BODY_MAX_CODINGS layers) */
    uint64_t http_memcap;                     /* heads dropped or transactions written early
                                                 because of engine.http-memcap */
    uint64_t http2_tx, http2_flows;           /* HTTP/2 streams with a request; connections */
    uint64_t h2_hpack_unresolved;             /* indexed fields from before a late join: lost */
    uint64_t h2_hpack_name_unknown;           /* literals whose name was such an entry */
    uint64_t h2_hpack_errors;                 /* header blocks that did not decode whole */
    uint64_t h2_blocks_dropped;               /* header blocks over http-max-head or the memcap
                                                 (their decoder restarted as after a late join) */
    uint64_t h2_streams_over;                 /* streams past the tracked limit, ignored */
    uint64_t h2_frames_invalid;               /* frames breaking a rule of RFC 9113 §4-§6 */
    uint64_t h2_unknown_stream;               /* DATA/HEADERS of a stream whose start was not
                                                 seen (late join, or not tracked): skipped */
    uint64_t h2_resync_bytes;                 /* bytes skipped to find a frame boundary */
    uint64_t http_hold_overflow;              /* a client's bytes after a CONNECT or Upgrade
                                                 request, before its answer, past
                                                 http-max-head: parsed as HTTP/1 unanswered */
    uint64_t ws_messages;                     /* WebSocket messages read for tokens */
    uint64_t ws_truncated;                    /* ... cut at body-limit or by http-memcap */
    uint64_t ws_inflate_errors;               /* ... whose permessage-deflate data was not
                                                 inflated: corrupt, a bomb, the window lost */
    uint64_t tokens_seen, tokens_verified;
    uint64_t alerts[F__COUNT];                /* each finding of each alert */
    uint64_t alerts_total;
};

/* Everything the `stats` record prints: taken from a sensor (sensor_counters_take, sensor.h),
 * summed across the workers of a live -j N run, and written by eve_write_stats(). Every member
 * is a run of uint64_t counters (sensor_counters_add sums them field by field). */
#define SENSOR_STATS_OUTPUTS 8

struct sensor_counters {
    struct sensor_stats st;
    struct flow_stats fs;
    struct stream_stats ss;
    struct vcache_stats vs;
    struct defrag_stats ds;
    uint64_t defrag_memuse;  /* a gauge: bytes held, summed across workers too */
    struct replay_stats rs;  /* the replay table's, taken only by the sensor that owns it (not
                                replay_borrowed), so a table shared by workers counts once */
    uint64_t replay_memuse;  /* a gauge, likewise */
    uint64_t tokens_distinct; /* stats.tokens.distinct: the run's distinct tokens (hll.h), taken
                                only by the sensor that owns the counter, so it counts once */
    struct fleet_stats fleet; /* stats.fleet: the fleet's, taken only by the sensor that owns
                                it, so a fleet shared by workers counts once */
    uint64_t fleet_on;       /* not 0: a fleet is configured (stats.fleet is written) */
    uint64_t uptime_s;       /* the largest of the summed */
    struct output_stats os;  /* stats.eve.*: this sensor's outputs, summed */
    struct output_stats os_out[SENSOR_STATS_OUTPUTS]; /* stats.eve.outputs[i]: output i alone
                                (the first SENSOR_STATS_OUTPUTS outputs), summed over workers */
};

/* sum += x, counter by counter; uptime_s becomes the larger of the two. */
void sensor_counters_add(struct sensor_counters *sum, const struct sensor_counters *x);

/* a += b over size bytes of uint64_t counters (size a multiple of 8): for summing a struct of
 * counters such as struct output_stats into another. */
void sensor_counters_add_u64s(void *a, const void *b, size_t size);

#endif
