/* sensor_counters.c — summing counter snapshots (see sensor_counters.h).
 *
 * Pipeline: after the workers (live -j N: one snapshot per worker ─► [sum] ─► one stats record
 * and one exit summary). Owns nothing. Taking a snapshot from a worker is sensor.c's
 * (sensor_counters_take), since only it knows where each counter lives.
 */
#include "sensor_counters.h"

/* Every counter struct summed is a run of uint64_t: a field of another type would make these
 * checks fail rather than the sums go wrong. */
_Static_assert(sizeof(struct sensor_stats) % sizeof(uint64_t) == 0, "sensor_stats: uint64_t only");
_Static_assert(sizeof(struct flow_stats) % sizeof(uint64_t) == 0, "flow_stats: uint64_t only");
_Static_assert(sizeof(struct stream_stats) % sizeof(uint64_t) == 0, "stream_stats: uint64_t only");
_Static_assert(sizeof(struct vcache_stats) % sizeof(uint64_t) == 0, "vcache_stats: uint64_t only");
_Static_assert(sizeof(struct defrag_stats) % sizeof(uint64_t) == 0, "defrag_stats: uint64_t only");
_Static_assert(sizeof(struct replay_stats) % sizeof(uint64_t) == 0, "replay_stats: uint64_t only");
_Static_assert(sizeof(struct output_stats) % sizeof(uint64_t) == 0, "output_stats: uint64_t only");

void sensor_counters_add_u64s(void *a, const void *b, size_t size)
{
    uint64_t *x = a;
    const uint64_t *y = b;
    for (size_t i = 0; i < size / sizeof(uint64_t); i++)
        x[i] += y[i];
}

void sensor_counters_add(struct sensor_counters *sum, const struct sensor_counters *x)
{
    sensor_counters_add_u64s(&sum->st, &x->st, sizeof(sum->st));
    sensor_counters_add_u64s(&sum->fs, &x->fs, sizeof(sum->fs));
    sensor_counters_add_u64s(&sum->ss, &x->ss, sizeof(sum->ss));
    sensor_counters_add_u64s(&sum->vs, &x->vs, sizeof(sum->vs));
    sensor_counters_add_u64s(&sum->ds, &x->ds, sizeof(sum->ds));
    sum->defrag_memuse += x->defrag_memuse;
    sensor_counters_add_u64s(&sum->rs, &x->rs, sizeof(sum->rs));
    sum->replay_memuse += x->replay_memuse;
    sum->tokens_distinct += x->tokens_distinct;
    sensor_counters_add_u64s(&sum->fleet, &x->fleet, sizeof(sum->fleet));
    sum->fleet_on += x->fleet_on;
    sensor_counters_add_u64s(&sum->os, &x->os, sizeof(sum->os));
    sensor_counters_add_u64s(sum->os_out, x->os_out, sizeof(sum->os_out));
    if (x->uptime_s > sum->uptime_s)
        sum->uptime_s = x->uptime_s;
}
