/* eve_stats.c — the EVE `stats` record (see eve.h, eve_write_stats): Suricata's stats event,
 * one object of counter groups under "stats", from a counters snapshot (sensor_counters.h).
 *
 * Pipeline: a stats timer or the end of a run ─► counters snapshot (one worker's, or summed
 * over workers) ─► [eve_stats] ─► outputs. Owns nothing: it fills the writer's builder through
 * eve_begin()/eve_emit(). The record is laid out by one table, stat_rows[]: each row is a
 * counter's place in the record and where its value is in struct sensor_counters, so adding a
 * counter is adding a row, and the record's key order is the table's.
 *
 * Which name a counter gets (SPEC "Stats"): one Suricata has, with the same meaning, keeps
 * Suricata's name and shape (defrag.ipv4.fragments, flow.tcp_reuse, app_layer.tx.http); every
 * other counter of ours lives under the one object "tokenwatch" (tokenwatch.defrag.overlaps,
 * tokenwatch.http.memcap), beside SPEC's own tokens, eve and alerts. Where Suricata's counter
 * means something a little different, ours stays under tokenwatch rather than borrow its name.
 */
#include "eve.h"

#include <stddef.h>
#include <string.h>

#include "config.h"
#include "output.h"
#include "sensor_counters.h"

/* A row: `path` is the dotted place of the member under "stats" ("capture.kernel_packets":
 * member kernel_packets of object capture), `off` where its uint64_t is in the snapshot, or
 * one of the ROW_* kinds below for the members made of several values. Rows of one object
 * stand together: the writer opens and closes objects as the path's prefix changes. */
struct stat_row {
    const char *path;
    size_t off;
};

#define ROW(path, member) {path, offsetof(struct sensor_counters, member)}
/* stats.eve.outputs: an array, one object per output (the first SENSOR_STATS_OUTPUTS) */
#define ROW_OUTPUTS ((size_t)-1)
/* one member per finding (policy_findings[i].code: st.alerts[i]); the path's last part unused */
#define ROW_FINDINGS ((size_t)-2)

static const struct stat_row stat_rows[] = {
    /* Suricata's counters: its names, its shapes, its meanings (its EVE schema validates them:
     * ctest eve_schema). A counter goes here only if it counts what Suricata's does. */
    ROW("uptime", uptime_s),
    ROW("capture.kernel_packets", st.kernel_packets),
    ROW("capture.kernel_drops", st.kernel_drops),
    ROW("capture.kernel_ifdrops", st.kernel_ifdrops),
    ROW("capture.errors", st.capture_errors),
    ROW("decoder.pkts", st.pkts),
    ROW("decoder.bytes", st.bytes),
    ROW("decoder.invalid", st.invalid),
    ROW("flow.total", fs.total),
    ROW("flow.active", fs.active),
    ROW("flow.memcap", fs.memcap),
    ROW("flow.tcp_reuse", fs.reused),
    ROW("defrag.ipv4.fragments", ds.ipv4.fragments),
    ROW("defrag.ipv4.reassembled", ds.ipv4.reassembled),
    ROW("defrag.ipv4.timeouts", ds.ipv4.timeouts),
    ROW("defrag.ipv6.fragments", ds.ipv6.fragments),
    ROW("defrag.ipv6.reassembled", ds.ipv6.reassembled),
    ROW("defrag.ipv6.timeouts", ds.ipv6.timeouts),
    ROW("defrag.memuse", defrag_memuse),
    ROW("tcp.reassembly_gap", ss.gaps),
    ROW("tcp.segment_memcap_drop", ss.memcap_drops),
    ROW("tcp.overlap", ss.overlap_segs),
    ROW("tcp.overlap_diff_data", ss.overlap_diff),
    ROW("app_layer.flow.http2", st.http2_flows),
    ROW("app_layer.tx.http", st.http_tx),
    ROW("app_layer.tx.http2", st.http2_tx),
    ROW("app_layer.error.http.parser", st.http_errors),
    /* Ours (SPEC: stats.tokenwatch), grouped by the stage that counts them, named after
     * Suricata's object where there is one (capture, decoder, flow, defrag, tcp), else after
     * the protocol (http; http2 and websocket beside it) or the part (body). Never inside
     * Suricata's objects: their additionalProperties is false. */
    ROW("tokenwatch.capture.worker_drops", st.worker_drops),
    ROW("tokenwatch.decoder.skipped", st.skipped),
    ROW("tokenwatch.flow.timeout", fs.timed_out),
    ROW("tokenwatch.defrag.atomic", ds.atomic),
    ROW("tokenwatch.defrag.memcap_drops", ds.memcap_drops),
    ROW("tokenwatch.defrag.overlaps", ds.overlaps),
    ROW("tokenwatch.defrag.overlap_diff", ds.overlap_diff),
    ROW("tokenwatch.defrag.invalid", ds.invalid),
    ROW("tokenwatch.tcp.overlap_bytes", ss.overlaps),
    ROW("tokenwatch.tcp.rst_invalid", ss.rst_invalid),
    ROW("tokenwatch.http.head_overflow", st.http_head_overflow),
    ROW("tokenwatch.http.head_fields_cut", st.http_head_fields_cut),
    ROW("tokenwatch.http.memcap", st.http_memcap),
    ROW("tokenwatch.http.hold_overflow", st.http_hold_overflow),
    /* HTTP/2 (app_http2*.c) */
    ROW("tokenwatch.http2.hpack_unresolved", st.h2_hpack_unresolved),
    ROW("tokenwatch.http2.hpack_name_unknown", st.h2_hpack_name_unknown),
    ROW("tokenwatch.http2.hpack_errors", st.h2_hpack_errors),
    ROW("tokenwatch.http2.header_blocks_dropped", st.h2_blocks_dropped),
    ROW("tokenwatch.http2.streams_over_limit", st.h2_streams_over),
    ROW("tokenwatch.http2.frames_invalid", st.h2_frames_invalid),
    ROW("tokenwatch.http2.unknown_stream_frames", st.h2_unknown_stream),
    ROW("tokenwatch.http2.resync_bytes", st.h2_resync_bytes),
    /* WebSocket (app_ws.c) */
    ROW("tokenwatch.websocket.messages", st.ws_messages),
    ROW("tokenwatch.websocket.truncated", st.ws_truncated),
    ROW("tokenwatch.websocket.inflate_errors", st.ws_inflate_errors),
    ROW("tokenwatch.body.scanned", st.body_scanned),
    ROW("tokenwatch.body.truncated", st.body_truncated),
    ROW("tokenwatch.body.inflate_bombs", st.inflate_bombs),
    ROW("tokenwatch.body.inflate_errors", st.inflate_errors),
    ROW("tokenwatch.body.undecodable", st.body_undecodable),
    /* SPEC's own objects beside it: tokens, eve, alerts */
    ROW("tokens.seen", st.tokens_seen),
    ROW("tokens.distinct", tokens_distinct),
    ROW("tokens.verified", st.tokens_verified),
    ROW("tokens.cache_hits", vs.hits),
    ROW("tokens.cache_misses", vs.misses),
    ROW("tokens.cache_evictions", vs.evictions),
    ROW("tokens.kidless_bound", vs.kidless_bound),
    ROW("tokens.verify_shed", vs.shed),
    /* token_replay (replay.h): occurrences checked, entries evicted at the memcap, bytes held */
    ROW("tokens.replay_checks", rs.checks),
    ROW("tokens.replay_evictions", rs.evictions),
    ROW("tokens.replay_memuse", replay_memuse),
    /* this run's EVE outputs, all workers: records delivered, dropped (queue full or left at
     * exit), lost to errors (file write errors, records a sink rejected), reconnects (async
     * sinks); then per output (the first SENSOR_STATS_OUTPUTS), in configuration order */
    ROW("eve.written", os.written),
    ROW("eve.dropped", os.dropped),
    ROW("eve.errors", os.errors),
    ROW("eve.reconnects", os.reconnects),
    {"eve.outputs", ROW_OUTPUTS},
    ROW("alerts.total", st.alerts_total),
    {"alerts.*", ROW_FINDINGS},
    /* the fleet (fleet.h), only when one is configured: requests made, answered, failed, never
     * sent; round trips, reconnects; indicator lookups and indicators learnt; alerts raised */
    ROW("fleet.sightings", fleet.sightings),
    ROW("fleet.published", fleet.published),
    ROW("fleet.sent", fleet.sent),
    ROW("fleet.errors", fleet.errors),
    ROW("fleet.dropped", fleet.dropped),
    ROW("fleet.limited", fleet.limited),
    ROW("fleet.batched", fleet.batched),
    ROW("fleet.reconnects", fleet.reconnects),
    ROW("fleet.lookups", fleet.lookups),
    ROW("fleet.indicators", fleet.indicators),
    ROW("fleet.replay_alerts", fleet.replay_alerts),
    ROW("fleet.indicator_alerts", fleet.indicator_alerts),
};

#define STATS_MAX_DEPTH 4 /* objects open under "stats" at most (app_layer.error.http) */

/* The objects open under "stats" while the rows are written: each a part of a row's path. */
struct open_path {
    const char *part[STATS_MAX_DEPTH];
    size_t len[STATS_MAX_DEPTH];
    int depth;
};

/* Makes the objects open in j those of path's prefix (everything before its last dot): closes
 * the open ones it does not share, opens the rest. Returns the member's key (after the last
 * dot). */
static const char *enter(struct jb *j, struct open_path *op, const char *path)
{
    const char *part[STATS_MAX_DEPTH];
    size_t len[STATS_MAX_DEPTH];
    int n = 0;
    const char *p = path, *dot;
    while ((dot = strchr(p, '.')) && n < STATS_MAX_DEPTH) {
        part[n] = p;
        len[n++] = (size_t)(dot - p);
        p = dot + 1;
    }
    int same = 0;
    while (same < n && same < op->depth && len[same] == op->len[same] &&
           !memcmp(part[same], op->part[same], len[same]))
        same++;
    for (; op->depth > same; op->depth--)
        jb_close(j);
    for (; op->depth < n; op->depth++) {
        char key[32];
        size_t k = len[op->depth] < sizeof(key) - 1 ? len[op->depth] : sizeof(key) - 1;
        memcpy(key, part[op->depth], k);
        key[k] = '\0';
        jb_open_object(j, key);
        op->part[op->depth] = part[op->depth];
        op->len[op->depth] = len[op->depth];
    }
    return p;
}

/* stats.eve.outputs: each output's type and file, and its own counters. */
static void outputs_array(struct eve_writer *w, const char *key, const struct sensor_counters *c)
{
    struct jb *j = &w->jb;
    jb_open_array(j, key);
    for (size_t i = 0; i < w->noutputs && i < SENSOR_STATS_OUTPUTS; i++) {
        const struct eve_output_cfg *oc = w->outputs[i].cfg;
        const struct output_stats *x = &c->os_out[i];
        jb_open_object(j, NULL);
        jb_str(j, "filetype", config_filetype_name(oc->filetype));
        if (oc->filetype <= EVE_FT_UNIX_STREAM)
            jb_str(j, "filename", oc->filename ? oc->filename : "eve.json");
        jb_uint(j, "written", x->written);
        jb_uint(j, "dropped", x->dropped);
        jb_uint(j, "errors", x->errors);
        jb_uint(j, "reconnects", x->reconnects);
        jb_close(j);
    }
    jb_close(j);
}

void eve_write_stats(struct eve_writer *w, uint64_t ts_us, const struct sensor_counters *c)
{
    struct jb *j = &w->jb;
    struct open_path op = {.depth = 0};
    eve_begin(w, NULL, NULL, ts_us, "stats");
    jb_open_object(j, "stats");
    for (size_t r = 0; r < sizeof(stat_rows) / sizeof(stat_rows[0]); r++) {
        const struct stat_row *row = &stat_rows[r];
        if (!c->fleet_on && !strncmp(row->path, "fleet.", 6))
            continue;
        const char *key = enter(j, &op, row->path);
        if (row->off == ROW_OUTPUTS) {
            outputs_array(w, key, c);
        } else if (row->off == ROW_FINDINGS) {
            for (int i = 0; i < F__COUNT; i++)
                jb_uint(j, policy_findings[i].code, c->st.alerts[i]);
        } else {
            uint64_t v;
            memcpy(&v, (const char *)c + row->off, sizeof(v));
            jb_uint(j, key, v);
        }
    }
    for (; op.depth > 0; op.depth--)
        jb_close(j);
    jb_close(j);
    jb_close(j);
    eve_emit(w, EVE_T_STATS);
}
