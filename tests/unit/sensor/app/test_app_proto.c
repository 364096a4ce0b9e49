/* test_app_proto.c — the app layer's entry contract (sensor/app/app_proto.h, app_tx.h), with a
 * fake protocol entry put on a real flow: transactions in flight closed in any order (as HTTP/2
 * streams end), the app layer closing one on its own (too many in flight) and telling the entry
 * to forget it, the flow's end reaching every transaction still open, and a switch handing the
 * rest of a delivery to HTTP/1, named or found again by the probes, and an entry's own word on
 * whether the credentials were accepted (as gRPC's trailers give it). Also the registry's probes
 * on their own, and the check that takes TLS and SSH flows away from every entry. The fake entry reads one command per line from the client:
 *   O<id>  open a transaction for "/<id>", with an Authorization: Bearer token
 *   R<id> <status> [a|r]  its response (no body), accepted/refused as the entry says
 *   C<id>  close it                           S / N  close all, then switch to HTTP/1 / re-probe
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

#include "app_proto.h"
#include "app_tx.h"
#include "config.h"
#include "decode.h"
#include "sensor.h"
#include "eve_lines.h"
#include "tcp_pkt.h"

#define T0 1685620800ull
#define CLIENT 0x0a000001u
#define SERVER 0x0a000002u
#define NTX 80

/* ---- the fake entry (its state is here, not in the flow: it needs more than fits) ---- */

static struct {
    struct tx *open[NTX];
    int forgets;
    int resets;
} fake;

static void fake_open(struct app_ctx *c, int id)
{
    char target[16], auth[32];
    int n = snprintf(target, sizeof(target), "/%d", id);
    int k = snprintf(auth, sizeof(auth), "Bearer fake-token-%d", id);
    struct token_field fields[] = {{span_cstr("Authorization"), span_make(auth, (size_t)k)}};
    struct app_head h = {.method = span_cstr("GET"), .target = span_make(target, (size_t)n),
                         .host = span_cstr("fake.example"), .protocol = span_cstr("FAKE/1"),
                         .fields = fields, .nfields = 1};
    fake.open[id] = app_tx_request(c, &h);
}

static void fake_close_all(struct app_ctx *c)
{
    for (int id = 0; id < NTX; id++)
        if (fake.open[id])
            app_tx_close(c, fake.open[id]);
}

static size_t fake_parse(struct app_ctx *c, void *st, int side, const uint8_t *p, size_t n)
{
    (void)st;
    (void)side;
    size_t off = 0;
    while (off < n) {
        const uint8_t *nl = memchr(p + off, '\n', n - off);
        assert_non_null(nl);
        char line[32] = "";
        memcpy(line, p + off, (size_t)(nl - p - off) < 31 ? (size_t)(nl - p - off) : 31);
        off = (size_t)(nl - p) + 1;
        int id = atoi(line + 1), status = 0;
        switch (line[0]) {
        case 'O':
            fake_open(c, id);
            break;
        case 'R': {
            assert_non_null(fake.open[id]);
            char word = 0;
            sscanf(line + 1, "%d %d %c", &id, &status, &word);
            if (word)
                app_tx_set_outcome(fake.open[id],
                                   word == 'a' ? TX_OUTCOME_ACCEPTED : TX_OUTCOME_REFUSED);
            struct app_head h = {.status = status};
            assert_int_equal(app_tx_response(c, fake.open[id], &h), 0); /* no body: closed */
            assert_null(fake.open[id]); /* ... and forgotten */
            break;
        }
        case 'C':
            app_tx_close(c, fake.open[id]);
            break;
        case 'S':
        case 'N':
            fake_close_all(c);
            applayer_switch(c, line[0] == 'S' ? &app_http1_ops : NULL);
            return off; /* the rest is the next protocol's */
        default:
            fail_msg("fake entry: bad line %s", line);
        }
    }
    return n;
}

static void fake_forget(struct app_ctx *c, void *st, struct tx *t)
{
    (void)c;
    (void)st;
    fake.forgets++;
    for (int id = 0; id < NTX; id++)
        if (fake.open[id] == t)
            fake.open[id] = NULL;
}

static void fake_reset(struct app_ctx *c, void *st)
{
    (void)c;
    (void)st;
    fake.resets++;
}

static void fake_init(struct app_ctx *c, void *st)
{
    (void)c;
    (void)st;
}

static void fake_gap(struct app_ctx *c, void *st, int side, size_t len)
{
    (void)c, (void)st, (void)side, (void)len;
}

static void fake_eof(struct app_ctx *c, void *st, int side, int final)
{
    (void)c, (void)st, (void)side, (void)final;
}

static enum app_probe fake_probe(const uint8_t *p, size_t n, int client_known)
{
    (void)p, (void)n, (void)client_known;
    return APP_PROBE_NO;
}

static const struct app_proto_ops fake_ops = {
    .name = "fake", .state_size = 0, .probe = fake_probe, .init = fake_init,
    .reset = fake_reset, .parse = fake_parse, .gap = fake_gap, .eof = fake_eof,
    .forget = fake_forget,
};

/* ---- a flow through the real pipeline ---- */

struct run {
    char dir[64], path[128];
    struct config cfg;
    struct sensor *s;
    uint64_t ts;
    uint32_t cseq, sseq;
};

/* One raw IPv4/TCP packet of the test connection, client port 40000 to server port 80. */
static uint8_t *make_pkt(int from_server, uint8_t flags, uint32_t seq, const void *payload,
                         size_t len)
{
    size_t tot;
    return tcp4_pkt(from_server ? SERVER : CLIENT, from_server ? CLIENT : SERVER,
                    from_server ? 80 : 40000, from_server ? 40000 : 80, flags, seq, payload, len,
                    &tot);
}

static void send_pkt(struct run *r, int from_server, uint8_t flags, const char *payload)
{
    size_t len = payload ? strlen(payload) : 0;
    uint32_t *seq = from_server ? &r->sseq : &r->cseq;
    uint8_t *p = make_pkt(from_server, flags, *seq, payload, len);
    *seq += (uint32_t)len + ((flags & TCP_SYN) ? 1 : 0);
    r->ts += 1000;
    sensor_packet(r->s, r->ts, DECODE_LINK_RAW, p, (uint32_t)(40 + len), (uint32_t)(40 + len));
    free(p);
}

/* Starts a sensor, opens the connection, and puts the fake entry on its flow, as if its probe
 * had claimed it. */
static void run_start(struct run *r)
{
    memset(&fake, 0, sizeof(fake));
    snprintf(r->dir, sizeof(r->dir), "/tmp/tw-app-proto-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->path, sizeof(r->path), "%s/eve.json", r->dir);
    char fn[200];
    snprintf(fn, sizeof(fn), "outputs.eve.filename=%s", r->path);
    const char *sets[] = {fn, "outputs.eve.types=[http, token]"};
    char err[512];
    config_defaults(&r->cfg);
    if (config_load(&r->cfg, NULL, sets, 2, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    int code;
    r->s = sensor_new(&r->cfg, r->dir, err, sizeof(err), &code);
    if (!r->s)
        fail_msg("%s", err);
    sensor_set_pcap(r->s, "unit.pcap");
    r->ts = T0 * 1000000ull;
    r->cseq = 1000;
    r->sseq = 5000;
    send_pkt(r, 0, TCP_SYN, NULL);
    send_pkt(r, 1, TCP_SYN | TCP_ACK, NULL);
    send_pkt(r, 0, TCP_ACK, NULL);

    uint8_t *raw = make_pkt(0, TCP_ACK, r->cseq, NULL, 0);
    struct packet pkt = {.data = raw, .caplen = 40, .wirelen = 40, .linktype = DECODE_LINK_RAW};
    assert_int_equal(decode_packet(&pkt), DECODE_OK);
    int side;
    struct flow *f = flow_lookup(r->s->flows, &pkt, r->ts, &side);
    free(raw);
    assert_non_null(f);
    assert_non_null(f->app);
    struct app_flow *app = f->app;
    assert_ptr_equal(app->proto, app_proto_fallback);
    struct app_ctx c = {.s = r->s, .f = f, .app = app};
    app->proto->reset(&c, app->proto_state);
    app->proto = &fake_ops;
    app->decided = 1;
}

/* The records of one event type, in the order written. */
static json_t *run_finish_type(struct run *r, const char *type)
{
    sensor_finish(r->s);
    sensor_free(r->s);
    config_free(&r->cfg);
    json_t *all = eve_lines(r->path, type);
    unlink(r->path);
    rmdir(r->dir);
    return all;
}

static json_t *run_finish(struct run *r)
{
    return run_finish_type(r, "http");
}

/* The k-th http record is for `url`, transaction `tx_id`, with this status (0: none). */
static void check_http(json_t *all, size_t k, const char *url, int tx_id, int status,
                       const char *protocol)
{
    json_t *v = json_array_get(all, k);
    assert_non_null(v);
    json_t *h = json_object_get(v, "http");
    assert_string_equal(json_string_value(json_object_get(h, "url")), url);
    assert_string_equal(json_string_value(json_object_get(h, "protocol")), protocol);
    assert_int_equal(json_integer_value(json_object_get(v, "tx_id")), tx_id);
    if (status)
        assert_int_equal(json_integer_value(json_object_get(h, "status")), status);
    else
        assert_null(json_object_get(h, "status"));
}

/* ---- tests ---- */

/* Several in flight, answered and closed out of order; the flow's end closes what is left. */
static void test_out_of_order(void **state)
{
    (void)state;
    struct run r;
    run_start(&r);
    send_pkt(&r, 0, TCP_ACK | TCP_PSH, "O0\nO1\nO2\nO3\n");
    send_pkt(&r, 0, TCP_ACK | TCP_PSH, "R2 200\nC1\nR0 404\n");
    assert_null(fake.open[0]);
    assert_null(fake.open[1]);
    assert_null(fake.open[2]);
    assert_non_null(fake.open[3]);
    json_t *all = run_finish(&r);
    assert_int_equal(json_array_size(all), 4);
    check_http(all, 0, "/2", 2, 200, "FAKE/1");
    check_http(all, 1, "/1", 1, 0, "FAKE/1");
    check_http(all, 2, "/0", 0, 404, "FAKE/1");
    check_http(all, 3, "/3", 3, 0, "FAKE/1"); /* by the flow's end */
    assert_int_equal(fake.forgets, 4);        /* every close, the entry's own too */
    assert_null(fake.open[3]);
    assert_int_equal(fake.resets, 1);
    json_decref(all);
}

/* Past TX_MAX_PENDING in flight the app layer closes the oldest on its own: the entry is told
 * to forget it before it is recycled. */
static void test_app_closes_oldest(void **state)
{
    (void)state;
    struct run r;
    run_start(&r);
    char cmds[1024] = "";
    for (int id = 0; id < TX_MAX_PENDING; id++)
        snprintf(cmds + strlen(cmds), sizeof(cmds) - strlen(cmds), "O%d\n", id);
    send_pkt(&r, 0, TCP_ACK | TCP_PSH, cmds);
    assert_int_equal(fake.forgets, 0);
    send_pkt(&r, 0, TCP_ACK | TCP_PSH, "O64\n");
    assert_int_equal(fake.forgets, 1);
    assert_null(fake.open[0]);
    assert_non_null(fake.open[1]);
    send_pkt(&r, 0, TCP_ACK | TCP_PSH, "R64 204\n");
    json_t *all = run_finish(&r);
    assert_int_equal(json_array_size(all), TX_MAX_PENDING + 1);
    check_http(all, 0, "/0", 0, 0, "FAKE/1");
    check_http(all, 1, "/64", 64, 204, "FAKE/1");
    check_http(all, 2, "/1", 1, 0, "FAKE/1");
    check_http(all, TX_MAX_PENDING, "/63", 63, 0, "FAKE/1");
    json_decref(all);
}

/* A switch hands the rest of the delivery to HTTP/1, named (S) or found by the probes (N);
 * transaction ids go on, and the response pairs with the HTTP/1 request. */
static void switch_to_http1(char cmd)
{
    struct run r;
    run_start(&r);
    char req[128];
    snprintf(req, sizeof(req), "O0\n%c\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n", cmd);
    send_pkt(&r, 0, TCP_ACK | TCP_PSH, req);
    assert_int_equal(fake.resets, 1);
    assert_null(fake.open[0]);
    send_pkt(&r, 1, TCP_ACK | TCP_PSH, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    json_t *all = run_finish(&r);
    assert_int_equal(json_array_size(all), 2);
    check_http(all, 0, "/0", 0, 0, "FAKE/1");
    check_http(all, 1, "/after", 1, 200, "HTTP/1.1");
    assert_int_equal(fake.resets, 1); /* not called again at the flow's end: HTTP/1's was */
    json_decref(all);
}

static void test_switch_named(void **state)
{
    (void)state;
    switch_to_http1('S');
}

static void test_switch_reprobe(void **state)
{
    (void)state;
    switch_to_http1('N');
}

/* gRPC answers 200 and says in its trailers whether the call went through: the entry's word
 * decides token.accepted, http.status stays the status. */
static void test_outcome(void **state)
{
    (void)state;
    struct run r;
    run_start(&r);
    send_pkt(&r, 0, TCP_ACK | TCP_PSH, "O0\nO1\nO2\nO3\n");
    send_pkt(&r, 0, TCP_ACK | TCP_PSH, "R0 200\nR1 200 r\nR2 401 a\nR3 401\n");
    json_t *all = run_finish_type(&r, "token");
    assert_int_equal(json_array_size(all), 4);
    static const int want[] = {1, 0, 1, 0}, status[] = {200, 200, 401, 401};
    for (size_t i = 0; i < 4; i++) {
        json_t *v = json_array_get(all, i);
        json_t *acc = json_object_get(json_object_get(v, "token"), "accepted");
        assert_true(json_is_boolean(acc));
        assert_int_equal(json_is_true(acc), want[i]);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "http"), "status")),
                         status[i]);
    }
    json_decref(all);
}

/* The registry on its own: HTTP/1 tells the roles from a status line or a request line, claims
 * a flow whose client a SYN named whatever it holds, and says nothing about other bytes. */
static void test_probe(void **state)
{
    (void)state;
    enum app_probe role = APP_PROBE_NO;
    const char *req = "GET / HTTP/1.1\r\nHo", *resp = "HTTP/1.1 200 OK\r\n", *junk = "\x16\x03\x01";
    assert_ptr_equal(app_proto_probe((const uint8_t *)req, strlen(req), 0, &role), &app_http1_ops);
    assert_int_equal(role, APP_PROBE_CLIENT);
    assert_ptr_equal(app_proto_probe((const uint8_t *)resp, strlen(resp), 0, &role),
                     &app_http1_ops);
    assert_int_equal(role, APP_PROBE_SERVER);
    assert_null(app_proto_probe((const uint8_t *)junk, 3, 0, &role));
    assert_null(app_proto_probe((const uint8_t *)"GET / HT", 8, 0, &role)); /* no line yet */
    assert_ptr_equal(app_proto_probe((const uint8_t *)junk, 3, 1, &role), &app_http1_ops);
    assert_int_equal(role, APP_PROBE_YES);
    for (size_t i = 0; app_proto_table[i]; i++)
        assert_true(app_proto_table[i]->state_size <= APP_PROTO_STATE_SIZE);
}

/* op(p[0..n)) for every prefix p[0..k) of a header, k < n: MORE, as the answer is not in yet. */
static void assert_more_until(const uint8_t *p, size_t n)
{
    for (size_t k = 1; k < n; k++)
        assert_int_equal(app_proto_opaque(p, k), APP_PROBE_MORE);
}

/* TLS and SSH starts, from their first bytes only: every TLS version's ClientHello and
 * ServerHello record header, SSH banners; and near misses that must leave the flow parsed. */
static void test_opaque(void **state)
{
    (void)state;
    for (uint8_t minor = 0; minor <= 4; minor++) { /* SSL 3.0, TLS 1.0 .. 1.3 (and 3.4) */
        const uint8_t ch[] = {22, 3, minor, 0x02, 0x00, 1, 0x00, 0x01};
        const uint8_t sh[] = {22, 3, minor, 0x00, 0x5a, 2, 0x00, 0x00};
        assert_int_equal(app_proto_opaque(ch, sizeof(ch)), APP_PROBE_CLIENT);
        assert_int_equal(app_proto_opaque(sh, sizeof(sh)), APP_PROBE_SERVER);
        assert_int_equal(app_proto_opaque(ch, 6), APP_PROBE_CLIENT); /* 6 bytes are enough */
        assert_more_until(ch, 6);
        assert_more_until(sh, 6);
    }
    static const char *ssh[] = {"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", "SSH-1.99-Cisco-1.25\r\n",
                                "SSH-1.5-old\r\n", "SSH-2.0-"};
    for (size_t i = 0; i < sizeof(ssh) / sizeof(ssh[0]); i++) {
        const uint8_t *p = (const uint8_t *)ssh[i];
        assert_int_equal(app_proto_opaque(p, strlen(ssh[i])), APP_PROBE_YES);
        assert_more_until(p, 6);
    }
    assert_int_equal(app_proto_opaque((const uint8_t *)"SSH-2.0", 7), APP_PROBE_MORE);

    /* near misses */
    static const char *http[] = {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\n",
                                 "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "SSH / HTTP/1.1\r\n",
                                 "SSH-3.0-future\r\n", "S", ""};
    for (size_t i = 0; i < sizeof(http) / sizeof(http[0]); i++) {
        enum app_probe want = i == 5 ? APP_PROBE_MORE : APP_PROBE_NO;
        assert_int_equal(app_proto_opaque((const uint8_t *)http[i], strlen(http[i])), want);
    }
    const uint8_t alert[] = {21, 3, 3, 0x00, 0x02, 2, 40};            /* fatal alert */
    const uint8_t appdata[] = {23, 3, 3, 0x00, 0x20, 1, 2, 3};        /* application data */
    const uint8_t ccs[] = {20, 3, 3, 0x00, 0x01, 1};                  /* change cipher spec */
    const uint8_t finished[] = {22, 3, 3, 0x00, 0x28, 20, 0, 0};      /* other handshake */
    const uint8_t tls2[] = {22, 2, 0, 0x00, 0x30, 1};                 /* no such version */
    const uint8_t tls35[] = {22, 3, 5, 0x00, 0x30, 1};
    const uint8_t empty[] = {22, 3, 1, 0x00, 0x03, 1, 0, 0};          /* too short for a hello */
    const uint8_t trunc[] = {22, 3, 1, 0x02};                         /* header cut short */
    assert_int_equal(app_proto_opaque(alert, sizeof(alert)), APP_PROBE_NO);
    assert_int_equal(app_proto_opaque(appdata, sizeof(appdata)), APP_PROBE_NO);
    assert_int_equal(app_proto_opaque(ccs, sizeof(ccs)), APP_PROBE_NO);
    assert_int_equal(app_proto_opaque(finished, sizeof(finished)), APP_PROBE_NO);
    assert_int_equal(app_proto_opaque(tls2, sizeof(tls2)), APP_PROBE_NO);
    assert_int_equal(app_proto_opaque(tls35, sizeof(tls35)), APP_PROBE_NO);
    assert_int_equal(app_proto_opaque(empty, sizeof(empty)), APP_PROBE_NO);
    assert_int_equal(app_proto_opaque(trunc, sizeof(trunc)), APP_PROBE_MORE);
    assert_int_equal(app_proto_opaque(trunc, 0), APP_PROBE_NO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_app_closes_oldest),
        cmocka_unit_test(test_switch_named),
        cmocka_unit_test(test_switch_reprobe),
        cmocka_unit_test(test_outcome),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_opaque),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
