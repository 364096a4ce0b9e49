/* test_eve_stats.c — the `stats` record (sensor/output/eve_stats.c): every counter at its name,
 * with its value, and nothing else.
 *
 * Every counter of a struct sensor_counters gets a value of its own, the record is written
 * (no output: it stays in the writer's builder) and parsed with duplicate keys refused (rows of
 * one object that do not stand together in the table would open it twice). Then: each counter
 * of the table below is where SPEC "Stats" puts it, with its own value: Suricata's counters
 * under Suricata's names and shapes (defrag.ipv4.fragments, flow.tcp_reuse, tcp.overlap counted
 * per segment), ours under stats.tokenwatch; and the record has no other leaf, so a counter
 * added to eve_stats.c without being added here, or put inside one of Suricata's objects, fails.
 * ctest eve_schema checks the same record against Suricata's schema itself. stats.fleet (fleet.h) is
 * there only when a fleet is configured (fleet_on).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "eve.h"
#include "eve_writer.h"
#include "policy.h"
#include "sensor_counters.h"

struct expect {
    const char *path; /* under "stats" */
    size_t off;       /* the counter in struct sensor_counters */
};

#define E(path, member) {path, offsetof(struct sensor_counters, member)}

/* Suricata's names (the schema's stats object has each of them, with this meaning). */
static const struct expect suricata[] = {
    E("uptime", uptime_s),
    E("capture.kernel_packets", st.kernel_packets),
    E("capture.kernel_drops", st.kernel_drops),
    E("capture.kernel_ifdrops", st.kernel_ifdrops),
    E("capture.errors", st.capture_errors),
    E("decoder.pkts", st.pkts),
    E("decoder.bytes", st.bytes),
    E("decoder.invalid", st.invalid),
    E("flow.total", fs.total),
    E("flow.active", fs.active),
    E("flow.memcap", fs.memcap),
    E("flow.tcp_reuse", fs.reused),
    E("defrag.ipv4.fragments", ds.ipv4.fragments),
    E("defrag.ipv4.reassembled", ds.ipv4.reassembled),
    E("defrag.ipv4.timeouts", ds.ipv4.timeouts),
    E("defrag.ipv6.fragments", ds.ipv6.fragments),
    E("defrag.ipv6.reassembled", ds.ipv6.reassembled),
    E("defrag.ipv6.timeouts", ds.ipv6.timeouts),
    E("defrag.memuse", defrag_memuse),
    E("tcp.reassembly_gap", ss.gaps),
    E("tcp.segment_memcap_drop", ss.memcap_drops),
    E("tcp.overlap", ss.overlap_segs),
    E("tcp.overlap_diff_data", ss.overlap_diff),
    E("app_layer.flow.http2", st.http2_flows),
    E("app_layer.tx.http", st.http_tx),
    E("app_layer.tx.http2", st.http2_tx),
    E("app_layer.error.http.parser", st.http_errors),
};

/* Ours: stats.tokenwatch, and SPEC's tokens, eve and alerts. */
static const struct expect ours[] = {
    E("tokenwatch.capture.worker_drops", st.worker_drops),
    E("tokenwatch.decoder.skipped", st.skipped),
    E("tokenwatch.flow.timeout", fs.timed_out),
    E("tokenwatch.defrag.atomic", ds.atomic),
    E("tokenwatch.defrag.memcap_drops", ds.memcap_drops),
    E("tokenwatch.defrag.overlaps", ds.overlaps),
    E("tokenwatch.defrag.overlap_diff", ds.overlap_diff),
    E("tokenwatch.defrag.invalid", ds.invalid),
    E("tokenwatch.tcp.overlap_bytes", ss.overlaps),
    E("tokenwatch.tcp.rst_invalid", ss.rst_invalid),
    E("tokenwatch.http.head_overflow", st.http_head_overflow),
    E("tokenwatch.http.head_fields_cut", st.http_head_fields_cut),
    E("tokenwatch.http.memcap", st.http_memcap),
    E("tokenwatch.http2.hpack_unresolved", st.h2_hpack_unresolved),
    E("tokenwatch.http2.hpack_name_unknown", st.h2_hpack_name_unknown),
    E("tokenwatch.http2.hpack_errors", st.h2_hpack_errors),
    E("tokenwatch.http2.header_blocks_dropped", st.h2_blocks_dropped),
    E("tokenwatch.http2.streams_over_limit", st.h2_streams_over),
    E("tokenwatch.http2.frames_invalid", st.h2_frames_invalid),
    E("tokenwatch.http2.unknown_stream_frames", st.h2_unknown_stream),
    E("tokenwatch.http2.resync_bytes", st.h2_resync_bytes),
    E("tokenwatch.http.hold_overflow", st.http_hold_overflow),
    E("tokenwatch.websocket.messages", st.ws_messages),
    E("tokenwatch.websocket.truncated", st.ws_truncated),
    E("tokenwatch.websocket.inflate_errors", st.ws_inflate_errors),
    E("tokenwatch.body.scanned", st.body_scanned),
    E("tokenwatch.body.truncated", st.body_truncated),
    E("tokenwatch.body.inflate_bombs", st.inflate_bombs),
    E("tokenwatch.body.inflate_errors", st.inflate_errors),
    E("tokenwatch.body.undecodable", st.body_undecodable),
    E("tokens.seen", st.tokens_seen),
    E("tokens.distinct", tokens_distinct),
    E("tokens.verified", st.tokens_verified),
    E("tokens.cache_hits", vs.hits),
    E("tokens.cache_misses", vs.misses),
    E("tokens.cache_evictions", vs.evictions),
    E("tokens.kidless_bound", vs.kidless_bound),
    E("tokens.verify_shed", vs.shed),
    E("tokens.replay_checks", rs.checks),
    E("tokens.replay_evictions", rs.evictions),
    E("tokens.replay_memuse", replay_memuse),
    E("eve.written", os.written),
    E("eve.dropped", os.dropped),
    E("eve.errors", os.errors),
    E("eve.reconnects", os.reconnects),
    E("alerts.total", st.alerts_total),
    E("fleet.sightings", fleet.sightings),
    E("fleet.published", fleet.published),
    E("fleet.sent", fleet.sent),
    E("fleet.errors", fleet.errors),
    E("fleet.dropped", fleet.dropped),
    E("fleet.limited", fleet.limited),
    E("fleet.batched", fleet.batched),
    E("fleet.reconnects", fleet.reconnects),
    E("fleet.lookups", fleet.lookups),
    E("fleet.indicators", fleet.indicators),
    E("fleet.replay_alerts", fleet.replay_alerts),
    E("fleet.indicator_alerts", fleet.indicator_alerts),
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t value_at(const struct sensor_counters *c, size_t off)
{
    uint64_t v;
    memcpy(&v, (const char *)c + off, sizeof(v));
    return v;
}

/* The member at a dotted path under obj, or NULL. */
static json_t *at(json_t *obj, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = obj;
    for (char *part = strtok(buf, "."); part && cur; part = strtok(NULL, "."))
        cur = json_is_object(cur) ? json_object_get(cur, part) : NULL;
    return cur;
}

/* Counts the integer leaves under obj (arrays and their contents aside). */
static size_t leaves(json_t *obj)
{
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (json_is_object(v))
            n += leaves(v);
        else if (json_is_integer(v))
            n++;
    }
    return n;
}

static json_t *write_record(const struct sensor_counters *c)
{
    uint64_t now = 0;
    struct eve_writer w;
    eve_writer_init(&w, &now);
    eve_write_stats(&w, 1700000000000000ull, c);
    json_error_t err;
    json_t *rec = json_loadb(w.jb.buf, w.jb.len, JSON_REJECT_DUPLICATES, &err);
    if (!rec)
        fail_msg("stats record does not parse (%s): %.*s", err.text, (int)w.jb.len, w.jb.buf);
    eve_writer_reset(&w);
    return rec;
}

static void test_every_counter_at_its_name(void **state)
{
    (void)state;
    /* A distinct value for every counter: 1000 + its index as a uint64_t word. */
    struct sensor_counters c;
    _Static_assert(sizeof(c) % sizeof(uint64_t) == 0, "sensor_counters: uint64_t only");
    for (size_t i = 0; i < sizeof(c) / sizeof(uint64_t); i++) {
        uint64_t v = 1000 + i;
        memcpy((char *)&c + i * sizeof(v), &v, sizeof(v));
    }
    json_t *rec = write_record(&c);
    assert_string_equal(json_string_value(json_object_get(rec, "event_type")), "stats");
    json_t *st = json_object_get(rec, "stats");
    assert_non_null(st);

    size_t expected = 0;
    const struct expect *sets[2] = {suricata, ours};
    const size_t lens[2] = {N(suricata), N(ours)};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < lens[s]; i++) {
            const struct expect *e = &sets[s][i];
            json_t *v = at(st, e->path);
            if (!json_is_integer(v))
                fail_msg("stats.%s is missing", e->path);
            if ((uint64_t)json_integer_value(v) != value_at(&c, e->off))
                fail_msg("stats.%s is %lld, not its counter's %llu", e->path,
                         (long long)json_integer_value(v),
                         (unsigned long long)value_at(&c, e->off));
            expected++;
        }
    /* alerts.<finding code>: each finding's own counter */
    for (int i = 0; i < F__COUNT; i++) {
        json_t *v = json_object_get(json_object_get(st, "alerts"), policy_findings[i].code);
        assert_true(json_is_integer(v));
        assert_int_equal(json_integer_value(v), c.st.alerts[i]);
        expected++;
    }
    /* nothing else: no counter the table above does not place */
    assert_int_equal(leaves(st), expected);
    /* our own objects, and Suricata's, and no other */
    const char *top[] = {"uptime", "capture", "decoder", "flow", "defrag", "tcp", "app_layer",
                         "tokenwatch", "tokens", "eve", "alerts", "fleet"};
    assert_int_equal(json_object_size(st), N(top));
    for (size_t i = 0; i < N(top); i++)
        assert_non_null(json_object_get(st, top[i]));
    assert_true(json_is_array(at(st, "eve.outputs")));
    json_decref(rec);
}

/* Without a fleet section (fleet_on 0) the record has no `fleet` object, whatever its
 * counters hold. */
static void test_no_fleet_no_fleet_object(void **state)
{
    (void)state;
    struct sensor_counters c;
    memset(&c, 0, sizeof(c));
    c.fleet.sent = 7;
    json_t *rec = write_record(&c);
    json_t *st = json_object_get(rec, "stats");
    assert_non_null(st);
    assert_null(json_object_get(st, "fleet"));
    assert_non_null(json_object_get(st, "alerts"));
    json_decref(rec);
}

/* Suricata's defrag object: ipv4 and ipv6 sub-objects, nothing of ours inside. */
static void test_suricata_shapes(void **state)
{
    (void)state;
    struct sensor_counters c;
    memset(&c, 0, sizeof(c));
    c.ds.ipv4.fragments = 6;
    c.ds.ipv6.fragments = 4;
    c.ds.atomic = 1;
    c.ds.overlaps = 2;
    c.ss.overlaps = 30;
    c.ss.overlap_segs = 3;
    json_t *rec = write_record(&c);
    json_t *st = json_object_get(rec, "stats");
    assert_int_equal(json_object_size(json_object_get(st, "defrag")), 3); /* ipv4 ipv6 memuse */
    assert_int_equal(json_object_size(at(st, "defrag.ipv4")), 3);
    assert_int_equal(json_integer_value(at(st, "defrag.ipv4.fragments")), 6);
    assert_int_equal(json_integer_value(at(st, "defrag.ipv6.fragments")), 4);
    assert_int_equal(json_integer_value(at(st, "tokenwatch.defrag.atomic")), 1);
    assert_int_equal(json_integer_value(at(st, "tokenwatch.defrag.overlaps")), 2);
    assert_int_equal(json_integer_value(at(st, "tcp.overlap")), 3);
    assert_int_equal(json_integer_value(at(st, "tokenwatch.tcp.overlap_bytes")), 30);
    assert_null(at(st, "defrag.overlaps"));
    assert_null(at(st, "capture.worker_drops"));
    assert_null(at(st, "app_layer.body"));
    assert_int_equal(json_object_size(at(st, "app_layer.error.http")), 1); /* parser */
    json_decref(rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_counter_at_its_name),
        cmocka_unit_test(test_suricata_shapes),
        cmocka_unit_test(test_no_fleet_no_fleet_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
