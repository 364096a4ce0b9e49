/* sensor_ctx.h — one worker's whole state (struct sensor), passed down the pipeline (no
 * globals). The stages read and update its fields; building, finishing and freeing it is
 * sensor.h's (sensor.c), which wires the stages together. Apart from sensor.h so that a stage
 * (the app layer) can take the state without depending on the code that builds the sensor
 * and wires that stage in (tests/include_graph.py: no include loops).
 */
#ifndef TW_SENSOR_CTX_H
#define TW_SENSOR_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "defrag.h"
#include "eve_writer.h"
#include "flow.h"
#include "keystore.h"
#include "output.h"
#include "policy.h"
#include "replay.h"
#include "sensor_counters.h"
#include "stream.h"
#include "vcache.h"

struct tx;
struct reload;
struct hll;

struct sensor {
    struct config *cfg;                /* borrowed */
    struct keystore *ks;
    int ks_borrowed;                   /* ks is shared with other workers: not freed here */
    struct reload *reload;             /* hot reload: where a new ks comes from, or NULL */
    size_t reload_slot;                /* this sensor's acknowledgement slot in reload */
    uint64_t ks_gen;                   /* the reload generation ks belongs to */
    struct policy_cfg pol;
    struct vcache *vc;
    struct verify_ctxs *vx;            /* this worker's OpenSSL verification contexts */
    struct replay *replay;             /* token_replay table, NULL when policy.replay is off */
    int replay_borrowed;               /* shared with other workers: not freed here */
    struct replay_defer *rdefer;       /* files with -j N: replay checks filed, not waited for
                                          (replay_defer.h; the reader's), else NULL */
    size_t rdefer_worker;              /* this sensor's queue in rdefer */
    uint64_t rdefer_seq;               /* the record being handled (its packet's place) */
    struct fleet *fleet;               /* fleet.h: sightings and indicators shared through
                                          Redis, NULL without a fleet section */
    int fleet_borrowed;                /* shared with other workers: not freed here */
    size_t fleet_worker;               /* this sensor's answers in the fleet */
    struct hll *distinct;              /* the run's distinct tokens (hll.h), never reset */
    int distinct_borrowed;             /* shared with other workers: not freed here */
    struct classify *cls;              /* nDPI, one module per worker */
    struct defrag *defrag;             /* IP fragments being reassembled */
    struct observed *obs;              /* key sets seen in responses (JWKS, discovery) */
    struct flow_table *flows;          /* NULL after sensor_finish */
    struct flow_stats final_flow_stats; /* the table's counters when it was torn down */
    struct stream_ctx streams;
    struct output *outputs;
    size_t noutputs;
    uint32_t out_types;                /* union of the outputs' types (as eve.types): the
                                          stages' quick check before building a record */
    struct tx *tx_free;                /* recycled transactions */
    uint64_t app_mem;                  /* bytes in head buffers and pending transactions */
    struct sensor_stats st;
    uint64_t now_us;                   /* time of the packet being processed (eve reads it) */
    uint64_t pkt_us;                   /* that packet's own timestamp (even when older than
                                          now_us) while the app layer handles it, else 0
                                          (pol.pkt_us: how far behind a live worker is) */
    uint64_t start_us;                 /* first packet time */
    int have_time;
    struct eve_writer eve;             /* EVE records (eve.h): their builder, the capture's
                                          names, the packet being processed; writes to outputs */
};

#endif
