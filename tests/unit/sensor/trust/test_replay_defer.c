/* test_replay_defer.c — token_replay checks filed and answered in packet order
 * (include/replay_defer.h), as reading files with -j N uses them.
 *
 * The answering alone: tickets of two queues are answered by packet (seq) order, not by the
 * order they were filed, and only once the other queue has passed their packet; a ticket filed
 * when everything before it is answered is answered at once; force answers all.
 * Through a real sensor (the demo configuration, a valid RS256 token presented by two clients,
 * policy.replay.clients 1, `flow` records on): with the other worker behind, both tokens' records
 * are held, and so are the `flow` records of the flows that ended before the answers (closed
 * flows expire at a later packet); once answered, the second client's token and alert carry
 * token_replay, its flow says alerted, the first's does not; with the other worker ahead all is
 * written at once, and the two runs write the same records; past REPLAY_DEFER_MAX pending checks
 * the worker waits for the answers, and nothing is lost.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "../app/eve_lines.h"
#include "../app/tcp_pkt.h"
#include "app_tx.h"
#include "applayer.h"
#include "config.h"
#include "decode.h"
#include "output.h"
#include "policy_fixture.h"
#include "replay.h"
#include "replay_defer.h"
#include "sensor.h"
#include "sensor_ctx.h"

/* ---- the answering alone ------------------------------------------------------------------ */

static uint64_t pos[2]; /* the packet each fake worker is at: passed(w, S) when pos[w] >= S */

static int passed(void *arg, size_t w, uint64_t S)
{
    (void)arg;
    return pos[w] >= S;
}

static void test_order_by_packet(void **state)
{
    (void)state;
    uint8_t seed[16] = {1};
    struct replay *rp = replay_new(1, 3600, 1u << 20, seed);
    struct replay_defer *d = replay_defer_new(rp, 2, passed, NULL);
    assert_non_null(d);
    uint8_t tok[32] = {7}, a[16] = {0xa}, b[16] = {0xb};
    /* Worker 1 at packet 10 files client A; worker 0 is at packet 4: not answerable. */
    pos[0] = 4;
    pos[1] = 10;
    struct rd_ticket *t10 = replay_defer_file(d, 1, 10, tok, a, T0);
    assert_int_equal(atomic_load(&t10->answer), RD_PENDING);
    /* Worker 0 files client B at packet 5, filed later but earlier in the capture: answered
     * first (worker 1 is past 5), so it is the first client and A the second: A is the replay. */
    pos[0] = 5;
    struct rd_ticket *t5 = replay_defer_file(d, 0, 5, tok, b, T0);
    assert_int_equal(atomic_load(&t5->answer), RD_NO);
    assert_int_equal(atomic_load(&t10->answer), RD_PENDING); /* worker 0 not past 10 yet */
    assert_null(replay_defer_front(d, 1));
    pos[0] = 11;
    replay_defer_run(d, 0);
    assert_int_equal(atomic_load(&t10->answer), RD_REPLAY);
    assert_ptr_equal(replay_defer_front(d, 0), t5);
    assert_ptr_equal(replay_defer_front(d, 1), t10);
    assert_int_equal(replay_defer_pending(d, 0), 1);
    replay_defer_pop(d, 0);
    replay_defer_pop(d, 1);
    assert_int_equal(replay_defer_pending(d, 1), 0);
    /* force: answered whatever the positions say */
    pos[0] = pos[1] = 0;
    uint8_t tok2[32] = {8};
    struct rd_ticket *u = replay_defer_file(d, 1, 20, tok2, a, T0);
    assert_int_equal(atomic_load(&u->answer), RD_PENDING);
    replay_defer_run(d, 1);
    assert_int_equal(atomic_load(&u->answer), RD_NO);
    replay_defer_pop(d, 1);
    replay_defer_free(d);
    replay_free(rp);
}

/* ---- through a sensor --------------------------------------------------------------------- */

#define SERVER 0xc0000201u /* 192.0.2.1 */

struct run {
    char dir[64], path[128];
    struct config cfg;
    struct sensor *s;
    struct replay_defer *d;
    uint64_t ts, seq;
};

static int other_ahead;            /* the fake second worker is past every packet */
static struct replay_defer *bound_d; /* set: the other worker catches up once the filing worker
                                        waits, its pending checks past the bound */
static int waited;

static int passed_run(void *arg, size_t w, uint64_t S)
{
    (void)arg;
    (void)w;
    (void)S;
    if (bound_d && replay_defer_pending(bound_d, 0) > REPLAY_DEFER_MAX) {
        waited = 1;
        return 1;
    }
    return other_ahead;
}

static void run_start(struct run *r)
{
    snprintf(r->dir, sizeof(r->dir), "/tmp/tw-rdefer-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->path, sizeof(r->path), "%s/eve.json", r->dir);
    char fn[200];
    snprintf(fn, sizeof(fn), "outputs.eve.filename=%s", r->path);
    const char *sets[] = {fn, "outputs.eve.types=[alert, token, flow]", "policy.replay.clients=1",
                          "engine.flow-closed-timeout=2"};
    char err[512];
    config_defaults(&r->cfg);
    if (config_load(&r->cfg, TW_SOURCE_DIR "/etc/demo/tokenwatch.yaml", sets, 4, err,
                    sizeof(err)) != 0)
        fail_msg("%s", err);
    int code;
    r->s = sensor_new(&r->cfg, r->dir, err, sizeof(err), &code);
    if (!r->s)
        fail_msg("%s", err);
    assert_non_null(r->s->replay);
    sensor_set_pcap(r->s, "unit.pcap");
    r->d = replay_defer_new(r->s->replay, 2, passed_run, NULL);
    assert_non_null(r->d);
    r->s->rdefer = r->d;
    r->s->rdefer_worker = 0;
    r->ts = (uint64_t)T0 * 1000000u;
}

static void pkt(struct run *r, uint32_t client, uint16_t port, int from_server, uint8_t flags,
                uint32_t seq, const char *payload)
{
    size_t tot, len = payload ? strlen(payload) : 0;
    uint8_t *p = tcp4_pkt(from_server ? SERVER : client, from_server ? client : SERVER,
                          from_server ? 80 : port, from_server ? port : 80, flags, seq, payload,
                          len, &tot);
    r->ts += 1000;
    r->s->rdefer_seq = ++r->seq;
    sensor_packet(r->s, r->ts, DECODE_LINK_RAW, p, (uint32_t)tot, (uint32_t)tot);
    free(p);
}

/* A whole connection: handshake, one request with the token, 200, both FINs. */
static void conversation(struct run *r, uint32_t client, uint16_t port, const char *tok)
{
    char req[4096];
    snprintf(req, sizeof(req),
             "GET /v1.0/me HTTP/1.1\r\nHost: graph.example.com\r\nAuthorization: Bearer %s\r\n\r\n",
             tok);
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    uint32_t c = 1000, sv = 5000;
    pkt(r, client, port, 0, TCP_SYN, c++, NULL);
    pkt(r, client, port, 1, TCP_SYN | TCP_ACK, sv++, NULL);
    pkt(r, client, port, 0, TCP_ACK, c, NULL);
    pkt(r, client, port, 0, TCP_ACK | TCP_PSH, c, req);
    c += (uint32_t)strlen(req);
    pkt(r, client, port, 1, TCP_ACK | TCP_PSH, sv, resp);
    sv += (uint32_t)strlen(resp);
    pkt(r, client, port, 0, TCP_FIN | TCP_ACK, c++, NULL);
    pkt(r, client, port, 1, TCP_FIN | TCP_ACK, sv++, NULL);
    pkt(r, client, port, 0, TCP_ACK, c, NULL);
}

/* Of the records of type `type` from client address `src`: how many, and (the last one's)
 * findings string and flow alerted. */
static size_t find(json_t *all, const char *type, const char *src, char *findings, size_t flen,
                   int *alerted)
{
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(all, i, v) {
        if (strcmp(json_string_value(json_object_get(v, "event_type")), type) != 0 ||
            strcmp(json_string_value(json_object_get(v, "src_ip")), src) != 0)
            continue;
        n++;
        json_t *tk = json_object_get(v, "token");
        if (findings && tk) {
            findings[0] = '\0';
            size_t k;
            json_t *x;
            json_array_foreach(json_object_get(tk, "findings"), k, x)
                snprintf(findings + strlen(findings), flen - strlen(findings), "%s ",
                         json_string_value(x));
        }
        json_t *fl = json_object_get(v, "flow");
        if (alerted && fl)
            *alerted = json_is_true(json_object_get(fl, "alerted"));
    }
    return n;
}

static void stop(struct run *r)
{
    r->s->rdefer = NULL;
    sensor_finish(r->s);
    sensor_free(r->s);
    replay_defer_free(r->d);
    config_free(&r->cfg);
}

/* Two clients, one token; returns every record once all is answered and written. */
static json_t *two_clients(int ahead, size_t *held_tokens, size_t *held_flows)
{
    if (!demo_keys_present())
        skip();
    EVP_PKEY *key = load_key("org-1");
    assert_non_null(key);
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    char *tok = make_token(key, "RS256", "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" ORG_KID "\"}",
                           c);
    struct run r;
    memset(&r, 0, sizeof(r));
    other_ahead = ahead;
    run_start(&r);
    conversation(&r, 0x0a000001u, 40001, tok);
    conversation(&r, 0x0a000002u, 40002, tok);
    /* Much later: the closed flows expire (engine.flow-closed-timeout 2 s) at this packet. */
    r.ts += 10 * 1000000ull;
    pkt(&r, 0x0a000003u, 40003, 0, TCP_SYN, 1, NULL);
    for (size_t i = 0; i < r.s->noutputs; i++)
        assert_int_equal(output_flush(&r.s->outputs[i]), 0);
    json_t *before = eve_lines(r.path, NULL);
    *held_tokens = 2 - find(before, "token", "10.0.0.1", NULL, 0, NULL) -
                   find(before, "token", "10.0.0.2", NULL, 0, NULL);
    *held_flows = 2 - find(before, "flow", "10.0.0.1", NULL, 0, NULL) -
                  find(before, "flow", "10.0.0.2", NULL, 0, NULL);
    json_decref(before);
    other_ahead = 1;
    replay_defer_run(r.d, 0);
    app_tx_release_replay(r.s);
    assert_int_equal(replay_defer_pending(r.d, 0), 0);
    assert_int_equal(r.s->st.alerts[F_TOKEN_REPLAY], 1);
    stop(&r);
    json_t *all = eve_lines(r.path, NULL);
    unlink(r.path);
    rmdir(r.dir);
    free(tok);
    free(c);
    EVP_PKEY_free(key);
    return all;
}

static void check_records(json_t *all)
{
    char f[256];
    int alerted = -1;
    assert_int_equal(find(all, "token", "10.0.0.1", f, sizeof(f), NULL), 1);
    assert_string_equal(f, "");
    assert_int_equal(find(all, "token", "10.0.0.2", f, sizeof(f), NULL), 1);
    assert_string_equal(f, "token_replay ");
    assert_int_equal(find(all, "alert", "10.0.0.1", NULL, 0, NULL), 0);
    assert_int_equal(find(all, "alert", "10.0.0.2", NULL, 0, NULL), 1);
    assert_int_equal(find(all, "flow", "10.0.0.1", NULL, 0, &alerted), 1);
    assert_int_equal(alerted, 0);
    assert_int_equal(find(all, "flow", "10.0.0.2", NULL, 0, &alerted), 1);
    assert_int_equal(alerted, 1);
}

static void test_sensor_held_then_written(void **state)
{
    (void)state;
    size_t ht, hf;
    json_t *all = two_clients(0, &ht, &hf);
    assert_int_equal(ht, 2); /* both tokens' records held while the other worker was behind */
    assert_int_equal(hf, 2); /* and both flows ended before the answers: their records too */
    check_records(all);
    json_decref(all);
}

static void test_sensor_answered_at_once(void **state)
{
    (void)state;
    size_t ht, hf;
    json_t *all = two_clients(1, &ht, &hf);
    assert_int_equal(ht, 0);
    assert_int_equal(hf, 0);
    check_records(all);
    json_decref(all);
}

/* More pending checks than REPLAY_DEFER_MAX: the worker waits for the answers (here the other
 * worker catches up as soon as it does), then goes on; nothing is lost and the answers are
 * those of one sensor (the first client of the token, then a replay for every other). */
static void test_sensor_bound(void **state)
{
    (void)state;
    if (!demo_keys_present())
        skip();
    EVP_PKEY *key = load_key("org-1");
    char *c = claims(TENANT_ISS, TENANT, T0 - 60, T0 - 60, T0 + 3600);
    char *tok = make_token(key, "RS256", "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" ORG_KID "\"}",
                           c);
    struct run r;
    memset(&r, 0, sizeof(r));
    other_ahead = 0;
    waited = 0;
    run_start(&r);
    bound_d = r.d;
    size_t n = REPLAY_DEFER_MAX + 100, most = 0;
    for (size_t i = 0; i < n; i++) {
        conversation(&r, 0x0a000000u + 0x100u + (uint32_t)i, (uint16_t)(20000 + i % 40000), tok);
        size_t p = replay_defer_pending(r.d, 0);
        most = p > most ? p : most;
        app_tx_release_replay(r.s); /* as a worker does between batches */
    }
    assert_true(waited);
    assert_true(most <= REPLAY_DEFER_MAX + 1);
    other_ahead = 1;
    bound_d = NULL;
    replay_defer_run(r.d, 0);
    app_tx_release_replay(r.s);
    assert_int_equal(replay_defer_pending(r.d, 0), 0);
    assert_int_equal(r.s->st.alerts[F_TOKEN_REPLAY], n - 1);
    stop(&r);
    json_t *all = eve_lines(r.path, NULL);
    size_t tokens = 0, alerts = 0, flows = 0, i;
    json_t *v;
    json_array_foreach(all, i, v) {
        const char *t = json_string_value(json_object_get(v, "event_type"));
        tokens += strcmp(t, "token") == 0;
        alerts += strcmp(t, "alert") == 0;
        flows += strcmp(t, "flow") == 0;
    }
    assert_int_equal(tokens, n);
    assert_int_equal(alerts, n - 1);
    assert_int_equal(flows, n);
    json_decref(all);
    unlink(r.path);
    rmdir(r.dir);
    free(tok);
    free(c);
    EVP_PKEY_free(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_by_packet),
        cmocka_unit_test(test_sensor_held_then_written),
        cmocka_unit_test(test_sensor_answered_at_once),
        cmocka_unit_test(test_sensor_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
