/* sensor.h — the sensor's life: building one worker's state (struct sensor, sensor_ctx.h),
 * feeding it packets, taking its counters, finishing and freeing it.
 *
 * The sensor owns the key store, the verification cache, the flow table (and through it every stream and
 * HTTP state), the EVE outputs and the EVE writer that writes to them, and the counters behind
 * the `stats` record (sensor_counters.h). sensor_new() builds
 * it from a loaded configuration; sensor_free() tears it down, writing pending events first
 * (sensor_finish).
 */
#ifndef TW_SENSOR_H
#define TW_SENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "sensor_ctx.h"

/* A snapshot of s's counters at time ts_us (uptime counts to it); sensor_counters_add() sums
 * snapshots of several workers. */
void sensor_counters_take(const struct sensor *s, uint64_t ts_us, struct sensor_counters *out);
/* The stats record of s's own counters at ts_us, through s's outputs. */
void sensor_write_stats(struct sensor *s, uint64_t ts_us);

/* Builds the keystore from cfg's keysets and revoked keys, opens the outputs under logdir.
 * Returns NULL with a one-line reason in err; exit_code tells 1 (runtime) or 2 (config). */
struct sensor *sensor_new(struct config *cfg, const char *logdir, char *err, size_t errlen,
                          int *exit_code);
/* What the sensors of one run share, all borrowed (each must outlive the sensors), any NULL. */
struct sensor_shared {
    struct keystore *ks;       /* read-only key store; NULL: the sensor loads its own */
    struct reload *reload;     /* hot reload (reload.h): the store comes from here, and is
                                  replaced between packets by sensor_keystore_sync(); ks unused */
    size_t reload_slot;        /* this sensor's reader slot in reload */
    struct replay *replay;     /* token_replay table of a live -j N run; NULL: the sensor makes
                                  its own when policy.replay is on */
    int replay_owned;          /* 1: the sensor takes replay over (frees it, counts its stats) */
    struct hll *distinct;      /* the distinct-token counter of a live -j N run; NULL: the
                                  sensor makes its own */
    int distinct_owned;        /* 1: the sensor takes distinct over (frees it, reports it) */
    struct fleet *fleet;       /* the fleet of a -j N run (fleet.h); NULL: the sensor starts its
                                  own when the configuration has one */
    int fleet_owned;           /* 1: the sensor takes fleet over (frees it, reports it) */
    size_t fleet_worker;       /* this sensor's answers in fleet */
};

/* As sensor_new(), with what sh shares; sh == NULL (or all NULL) is sensor_new(). */
struct sensor *sensor_new_shared(struct config *cfg, const char *logdir,
                                 const struct sensor_shared *sh, char *err, size_t errlen,
                                 int *exit_code);

/* Between two packets: when a reload published a new key store, switches to it and forgets
 * everything judged with the old one (verification cache, verification contexts) before
 * acknowledging, so the old store can be freed. A relaxed load and a compare when nothing
 * changed; a no-op without reload. */
void sensor_keystore_sync(struct sensor *s);

/* Writes the fleet's answers that came back for s (its alerts); a relaxed load when none did.
 * sensor_packet() does it first; live workers also when idle. */
void sensor_poll_fleet(struct sensor *s);

/* Processes one captured packet (ts in microseconds). */
void sensor_packet(struct sensor *s, uint64_t ts_us, int linktype, const uint8_t *data,
                   uint32_t caplen, uint32_t wirelen);

/* Starts a new capture file (offline), for pcap_filename. The name is copied. */
void sensor_set_pcap(struct sensor *s, const char *name);

/* Ends processing: flushes every flow (pending transactions get their records), writes the
 * final stats record, flushes outputs. */
void sensor_finish(struct sensor *s);
/* End of a run: lets the async outputs deliver what is queued until deadline_ns (monotonic);
 * what is left then is counted as dropped (output_settle), so a stats snapshot is exact. */
void sensor_settle_outputs(struct sensor *s, uint64_t deadline_ns);
/* After the final stats record: closes the outputs (an async one drains and counts what is
 * left as dropped), so that counters read afterwards (the exit summary) are final. Writing
 * after this is not possible; sensor_free closes them too if this was not called. */
void sensor_close_outputs(struct sensor *s);
/* 1 when a write to an output failed during the run (records lost): the run exits 1. */
int sensor_outputs_failed(const struct sensor *s);

void sensor_free(struct sensor *s);
/* The end of the process instead of sensor_free: what must happen before exit (the outputs
 * closed, the fleet's threads stopped and joined) and nothing else. The memory stays to the
 * process's exit: freeing every verdict, flow and nDPI tree one by one costs ~10 ms a sensor
 * and changes nothing the user sees. Builds with a sanitizer free everything instead
 * (SENSOR_FREE_AT_EXIT), so the suite's ASan half still finds leaks and double frees. */
void sensor_quit(struct sensor *s);

#if defined(TW_FREE_AT_EXIT) || defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SENSOR_FREE_AT_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SENSOR_FREE_AT_EXIT 1
#endif
#endif
#ifndef SENSOR_FREE_AT_EXIT
#define SENSOR_FREE_AT_EXIT 0
#endif

/* The policy settings of a config (start-up, check-token); the key store of a config is
 * keystore_build_from_config() (keystore_build.h). */
void sensor_policy_from_config(const struct config *cfg, struct policy_cfg *pol);

/* s captures live: its packets' timestamps are the wall clock's at arrival, so how far behind
 * it is can be measured, and with engine.verify-shed: auto it sheds signature checks beyond
 * engine.verify-shed-lag (docs/DESIGN.md "Shedding verification"). Files never shed. */
void sensor_set_live(struct sensor *s);

#endif
