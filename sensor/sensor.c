/* sensor.c — building and tearing down one worker (see sensor.h).
 *
 * Owns the key store (unless borrowed: shared by workers, or handed out by a hot reload), cache,
 * flow table, outputs and the EVE writer over them (eve.h). Start-up failures name what is at
 * fault: a key set file (exit 2, configuration) or an output that cannot be opened (exit 1,
 * runtime). sensor_keystore_sync() is the worker's side of a hot reload (reload.h). Takes the
 * counters snapshot the stats record and the exit summary print (sensor_counters.h).
 */
#include "sensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applayer.h"
#include "classify.h"
#include "defrag.h"
#include "eve.h"
#include "fleet.h"
#include "hll.h"
#include "keystore_build.h"
#include "observed.h"
#include "reload.h"
#include "siphash.h"
#include "timewait.h"
#include "verify.h"

void sensor_policy_from_config(const struct config *cfg, struct policy_cfg *pol)
{
    pol->clock_skew = cfg->clock_skew;
    pol->max_lifetime = cfg->max_lifetime;
    pol->kidless_max = cfg->kidless_max;
    pol->alg_mask = cfg->alg_mask;
    pol->observed = NULL; /* set once keys are observed, when policy.verify-observed-keys */
    pol->vx = NULL;       /* a sensor sets its own; check-token verifies without */
}

void sensor_set_live(struct sensor *s)
{
    if (s->cfg->verify_shed == VERIFY_SHED_AUTO)
        s->pol.shed_lag_us = (uint64_t)s->cfg->verify_shed_lag * 1000u;
}

static void on_flow_free(void *user, struct flow *f, const char *reason)
{
    applayer_flow_end(user, f, reason);
}

struct sensor *sensor_new(struct config *cfg, const char *logdir, char *err, size_t errlen,
                          int *exit_code)
{
    return sensor_new_shared(cfg, logdir, NULL, err, errlen, exit_code);
}

struct sensor *sensor_new_shared(struct config *cfg, const char *logdir,
                                 const struct sensor_shared *sh, char *err, size_t errlen,
                                 int *exit_code)
{
    static const struct sensor_shared none;
    if (!sh)
        sh = &none;
    struct sensor *s = calloc(1, sizeof(*s));
    if (!s) {
        if (sh->replay_owned)
            replay_free(sh->replay);
        if (sh->distinct_owned)
            hll_free(sh->distinct);
        if (sh->fleet_owned)
            fleet_free(sh->fleet);
        snprintf(err, errlen, "out of memory");
        *exit_code = 1;
        return NULL;
    }
    s->cfg = cfg;
    sensor_policy_from_config(cfg, &s->pol);
    eve_writer_init(&s->eve, &s->now_us);
    s->eve.host = cfg->sensor_name;
    s->eve.tags = cfg->sensor_tags;
    s->eve.ntags = cfg->nsensor_tags;
    s->replay = sh->replay; /* taken over at once when owned: sensor_free() frees it */
    s->replay_borrowed = sh->replay && !sh->replay_owned;
    s->distinct = sh->distinct; /* likewise */
    s->distinct_borrowed = sh->distinct && !sh->distinct_owned;
    s->fleet = sh->fleet; /* likewise */
    s->fleet_borrowed = sh->fleet && !sh->fleet_owned;
    s->fleet_worker = sh->fleet_worker;
    if (sh->reload) {
        s->reload = sh->reload;
        s->reload_slot = sh->reload_slot;
        s->ks = reload_current(sh->reload, &s->ks_gen);
        s->ks_borrowed = 1;
    } else if (sh->ks) {
        s->ks = sh->ks;
        s->ks_borrowed = 1;
    } else if (keystore_build_from_config(cfg, &s->ks, err, errlen) != 0 ||
               keystore_refuse_test_keys(cfg, s->ks, err, errlen) != 0) {
        *exit_code = 2;
        goto fail;
    }
    uint8_t seed[16];
    siphash_random_key(seed);
    s->vc = vcache_new(cfg->vcache_entries, cfg->vcache_memcap, seed);
    s->vx = verify_ctxs_new(256);
    s->pol.vx = s->vx;
    s->pol.pkt_us = &s->pkt_us;
    if (cfg->replay_clients && !s->replay) {
        siphash_random_key(seed);
        s->replay = replay_new(cfg->replay_clients, cfg->replay_window, cfg->replay_memcap, seed);
    }
    if (!s->distinct) {
        siphash_random_key(seed);
        s->distinct = hll_new(seed);
    }
    if (fleet_configured(cfg) && !s->fleet) {
        s->fleet_worker = 0;
        if (!(s->fleet = fleet_new(cfg, 1, err, errlen))) {
            *exit_code = 1;
            goto fail;
        }
    }
    s->cls = classify_new();
    siphash_random_key(seed);
    s->defrag = defrag_new(cfg->defrag_memcap, cfg->defrag_timeout, seed);
    s->obs = observed_new(cfg->observed_sets);
    siphash_random_key(seed);
    s->flows = flow_table_new(cfg->flow_memcap, cfg->flow_timeout, cfg->flow_closed_timeout, seed,
                              on_flow_free, s);
    if (s->flows) /* the flow memcap bounds each flow's whole footprint, not just struct flow */
        flow_table_set_state_size(s->flows, applayer_flow_state_size());
    if (!s->vc || !s->vx || !s->flows || !s->cls || !s->defrag || !s->obs || !s->distinct ||
        (cfg->replay_clients && !s->replay)) {
        snprintf(err, errlen, "out of memory");
        *exit_code = 1;
        goto fail;
    }
    stream_ctx_init(&s->streams, cfg->stream_memcap, cfg->stream_dir_limit);
    s->outputs = calloc(cfg->noutputs ? cfg->noutputs : 1, sizeof(*s->outputs));
    if (!s->outputs) {
        snprintf(err, errlen, "out of memory");
        *exit_code = 1;
        goto fail;
    }
    for (size_t i = 0; i < cfg->noutputs; i++) {
        if (output_open(&s->outputs[i], &cfg->outputs[i], logdir, err, errlen) != 0) {
            *exit_code = cfg->outputs[i].filetype != EVE_FT_REGULAR ? 2 : 1;
            s->noutputs = i + 1;
            goto fail;
        }
        s->noutputs = i + 1;
    }
    eve_writer_set_outputs(&s->eve, s->outputs, s->noutputs);
    s->out_types = s->eve.types;
    return s;
fail:
    sensor_free(s);
    return NULL;
}

void sensor_keystore_sync(struct sensor *s)
{
    if (!s->reload || reload_generation(s->reload) == s->ks_gen)
        return;
    uint64_t gen;
    struct keystore *ks = reload_current(s->reload, &gen);
    /* Verdicts and verification contexts built with the old store must not outlive it: a cached
     * key_unknown could now verify, a cached valid could now be key_revoked, and a context
     * holds the old store's EVP_PKEYs. Pending transactions keep their own verdict references
     * (values, no pointers into the store). */
    s->ks = ks;
    vcache_clear(s->vc);
    verify_ctxs_clear(s->vx);
    s->ks_gen = gen;
    reload_ack(s->reload, s->reload_slot, gen);
}

void sensor_counters_take(const struct sensor *s, uint64_t ts_us, struct sensor_counters *out)
{
    out->st = s->st;
    out->fs = s->flows ? *flow_table_stats(s->flows) : s->final_flow_stats;
    out->ss = s->streams.stats;
    out->vs = *vcache_stats(s->vc);
    out->ds = *defrag_stats(s->defrag);
    out->defrag_memuse = defrag_memuse(s->defrag);
    memset(&out->rs, 0, sizeof(out->rs));
    out->replay_memuse = 0;
    if (s->replay && !s->replay_borrowed) {
        replay_stats(s->replay, &out->rs);
        out->replay_memuse = replay_memuse(s->replay);
    }
    out->tokens_distinct = s->distinct && !s->distinct_borrowed ? hll_count(s->distinct) : 0;
    memset(&out->fleet, 0, sizeof(out->fleet));
    out->fleet_on = 0;
    if (s->fleet && !s->fleet_borrowed) {
        fleet_get_stats(s->fleet, &out->fleet);
        out->fleet_on = 1;
    }
    out->uptime_s = s->have_time && ts_us > s->start_us ? (ts_us - s->start_us) / 1000000 : 0;
    memset(&out->os, 0, sizeof(out->os));
    memset(out->os_out, 0, sizeof(out->os_out));
    for (size_t i = 0; i < s->noutputs; i++) {
        struct output_stats x;
        output_stats(&s->outputs[i], &x);
        sensor_counters_add_u64s(&out->os, &x, sizeof(x));
        if (i < SENSOR_STATS_OUTPUTS)
            out->os_out[i] = x;
    }
}

void sensor_write_stats(struct sensor *s, uint64_t ts_us)
{
    struct sensor_counters c;
    sensor_counters_take(s, ts_us, &c);
    eve_write_stats(&s->eve, ts_us, &c);
}

void sensor_poll_fleet(struct sensor *s)
{
    if (s->fleet && fleet_has_results(s->fleet, s->fleet_worker))
        app_fleet_drain(s);
}

void sensor_set_pcap(struct sensor *s, const char *name)
{
    eve_writer_add_pcap(&s->eve, name);
}

void sensor_finish(struct sensor *s)
{
    /* The fleet's answers to this worker's last sightings, within 3 s in all: waited for
     * before the flows are written (a replay alert marks its flow `alerted`), then settled
     * after, with the sightings of the transactions the flows' end writes. */
    uint64_t fleet_deadline = timewait_now_ns() + 3000000000ull;
    if (s->fleet)
        app_fleet_wait(s, fleet_deadline);
    if (s->flows) {
        s->final_flow_stats = *flow_table_stats(s->flows);
        flow_table_free(s->flows); /* writes every flow's pending transactions */
        s->flows = NULL;
    }
    if (s->fleet)
        app_fleet_settle(s, fleet_deadline);
    if (s->out_types & EVE_T_STATS) {
        /* Let the async outputs deliver what is queued (2 s at most, all outputs together), so
         * the final record's stats.eve counts every record before it. */
        sensor_settle_outputs(s, timewait_now_ns() + 2000000000ull);
        sensor_write_stats(s, s->now_us);
    }
}

void sensor_settle_outputs(struct sensor *s, uint64_t deadline_ns)
{
    for (size_t i = 0; i < s->noutputs; i++)
        output_settle(&s->outputs[i], deadline_ns);
}

void sensor_close_outputs(struct sensor *s)
{
    for (size_t i = 0; i < s->noutputs; i++)
        output_close(&s->outputs[i]);
}

int sensor_outputs_failed(const struct sensor *s)
{
    for (size_t i = 0; i < s->noutputs; i++)
        if (output_failed(&s->outputs[i]))
            return 1;
    return 0;
}

/* What must happen before a sensor goes, whether its memory is freed or left to the exit:
 * the pending records of a run that did not finish written, the outputs closed, the fleet's
 * answers never written dropped and its threads (the owner's) joined. */
static void sensor_end(struct sensor *s)
{
    if (s->flows) {
        flow_table_free(s->flows);
        s->flows = NULL;
    }
    for (size_t i = 0; i < s->noutputs; i++)
        output_close(&s->outputs[i]);
    if (s->fleet) {
        app_fleet_discard(s);
        if (!s->fleet_borrowed)
            fleet_free(s->fleet);
        s->fleet = NULL;
    }
}

void sensor_quit(struct sensor *s)
{
    if (s)
        sensor_end(s);
}

void sensor_free(struct sensor *s)
{
    if (!s)
        return;
    sensor_end(s);
    free(s->outputs);
    applayer_free_pool(s);
    vcache_free(s->vc);
    verify_ctxs_free(s->vx);
    if (!s->replay_borrowed)
        replay_free(s->replay);
    if (!s->distinct_borrowed)
        hll_free(s->distinct);
    classify_free(s->cls);
    defrag_free(s->defrag);
    observed_free(s->obs);
    if (!s->ks_borrowed)
        keystore_free(s->ks);
    eve_writer_reset(&s->eve);
    free(s);
}
