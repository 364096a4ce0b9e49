/* test_app_ws.c — WebSocket after a 101 and CONNECT tunnels, through a real flow (HTTP/1 entry,
 * applayer_switch, sensor/app/app_ws.c): masked client frames whose GraphQL connection_init
 * carries a token (location websocket, its own tx_id, the upgrade's URL and status, no `http`
 * record of its own); a message split over frames and packets with a ping between them;
 * permessage-deflate with the window taken over between messages; frames the client sent before
 * the 101 was parsed; binary garbage after the 101 (no anomaly, no parser error); the bound on
 * messages per direction; a hole in one direction; a 101 to an unknown protocol; CONNECT answered 200 (the inner HTTP
 * request parsed), its inner request sent before the 200, a 407 (the held request is HTTP/1
 * again), an inner TLS session (left alone), the hold's bound. Every test ends with all of
 * engine.http-memcap's charge given back. */
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
#include <zlib.h>

#include "app_proto.h"
#include "app_tx.h"
#include "config.h"
#include "decode.h"
#include "eve_lines.h"
#include "sensor.h"
#include "tcp_pkt.h"

#define T0 1685620800ull
#define CLIENT 0x0a000001u
#define SERVER 0x0a000002u

struct run {
    char dir[64], path[128];
    struct config cfg;
    struct sensor *s;
    uint64_t ts;
    uint32_t cseq, sseq;
    json_t *recs;
};

static void send_raw(struct run *r, int from_server, uint8_t flags, const void *payload,
                     size_t len)
{
    uint32_t *seq = from_server ? &r->sseq : &r->cseq;
    size_t tot;
    uint8_t *p = tcp4_pkt(from_server ? SERVER : CLIENT, from_server ? CLIENT : SERVER,
                          from_server ? 80 : 40000, from_server ? 40000 : 80, flags, *seq,
                          payload, len, &tot);
    *seq += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
    r->ts += 1000;
    sensor_packet(r->s, r->ts, DECODE_LINK_RAW, p, (uint32_t)tot, (uint32_t)tot);
    free(p);
}

static void send_str(struct run *r, int from_server, const char *s)
{
    send_raw(r, from_server, TCP_ACK | TCP_PSH, s, strlen(s));
}

static void run_start(struct run *r, const char *extra_set)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/tw-app-ws-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->path, sizeof(r->path), "%s/eve.json", r->dir);
    char fn[200];
    snprintf(fn, sizeof(fn), "outputs.eve.filename=%s", r->path);
    const char *sets[] = {fn, "outputs.eve.types=[http, token, anomaly, stats]", extra_set};
    char err[512];
    config_defaults(&r->cfg);
    if (config_load(&r->cfg, NULL, sets, extra_set ? 3 : 2, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    int code;
    r->s = sensor_new(&r->cfg, r->dir, err, sizeof(err), &code);
    if (!r->s)
        fail_msg("%s", err);
    sensor_set_pcap(r->s, "unit.pcap");
    r->ts = T0 * 1000000ull;
    r->cseq = 1000;
    r->sseq = 5000;
    send_raw(r, 0, TCP_SYN, NULL, 0);
    send_raw(r, 1, TCP_SYN | TCP_ACK, NULL, 0);
    send_raw(r, 0, TCP_ACK, NULL, 0);
}

/* Ends the run; every record is in r->recs. The memcap's charge is all given back. */
static void run_finish(struct run *r)
{
    send_raw(r, 0, TCP_ACK | TCP_FIN, NULL, 0);
    send_raw(r, 1, TCP_ACK | TCP_FIN, NULL, 0);
    sensor_finish(r->s);
    assert_int_equal(r->s->app_mem, 0);
    sensor_free(r->s);
    config_free(&r->cfg);
    r->recs = eve_lines(r->path, NULL);
    unlink(r->path);
    rmdir(r->dir);
}

static json_t *get(json_t *v, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *part = strtok(buf, "."); part && v; part = strtok(NULL, "."))
        v = json_object_get(v, part);
    return v;
}

/* How many records of this type; the k-th of them in *out. */
static size_t count(struct run *r, const char *type, size_t k, json_t **out)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(r->recs); i++) {
        json_t *v = json_array_get(r->recs, i);
        if (strcmp(json_string_value(json_object_get(v, "event_type")), type))
            continue;
        if (out && n == k)
            *out = v;
        n++;
    }
    return n;
}

static json_int_t stat(struct run *r, const char *path)
{
    json_t *st = NULL;
    assert_int_equal(count(r, "stats", 0, &st), 1);
    json_t *v = get(st, path);
    assert_non_null(v);
    return json_integer_value(v);
}

/* The k-th token record: location, sha256 of `raw`, tx_id, the url its http object names. */
static void check_token(struct run *r, size_t k, const char *loc, int tx_id, const char *url,
                        int status)
{
    json_t *v = NULL;
    assert_true(count(r, "token", k, &v) > k);
    assert_string_equal(json_string_value(get(v, "token.location")), loc);
    assert_int_equal(json_integer_value(get(v, "tx_id")), tx_id);
    assert_string_equal(json_string_value(get(v, "http.url")), url);
    if (status)
        assert_int_equal(json_integer_value(get(v, "http.status")), status);
}

static void run_free(struct run *r)
{
    json_decref(r->recs);
}

/* ---- WebSocket frames ---- */

static size_t ws_frame(uint8_t *out, uint8_t b0, const void *payload, size_t n, const uint8_t *mask)
{
    size_t h = 2;
    out[0] = b0;
    if (n < 126) {
        out[1] = (uint8_t)n;
    } else {
        out[1] = 126;
        out[2] = (uint8_t)(n >> 8);
        out[3] = (uint8_t)n;
        h = 4;
    }
    if (mask) {
        out[1] |= 0x80;
        memcpy(out + h, mask, 4);
        h += 4;
    }
    const uint8_t *p = payload;
    for (size_t i = 0; i < n; i++)
        out[h + i] = mask ? p[i] ^ mask[i % 4] : p[i];
    return h + n;
}

static const uint8_t MASK[4] = {0x12, 0x34, 0x56, 0x78};

static const char UPGRADE_REQ[] =
    "GET /graphql HTTP/1.1\r\nHost: api.example\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n";
static const char UPGRADE_RESP[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

static const char INIT[] =
    "{\"type\":\"connection_init\",\"payload\":{\"Authorization\":\"Bearer ws-opaque-1\"}}";

static void upgrade(struct run *r, const char *resp)
{
    send_str(r, 0, UPGRADE_REQ);
    send_str(r, 1, resp);
}

/* A masked connection_init, the server's ack: one token record, its own transaction. */
static void test_graphql_init(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    upgrade(&r, UPGRADE_RESP);
    uint8_t f[512];
    send_raw(&r, 0, TCP_ACK | TCP_PSH, f, ws_frame(f, 0x81, INIT, strlen(INIT), MASK));
    static const char ack[] = "{\"type\":\"connection_ack\"}";
    send_raw(&r, 1, TCP_ACK | TCP_PSH, f, ws_frame(f, 0x81, ack, strlen(ack), NULL));
    run_finish(&r);
    json_t *h = NULL;
    assert_int_equal(count(&r, "http", 0, &h), 1); /* the upgrade only */
    assert_int_equal(json_integer_value(get(h, "http.status")), 101);
    assert_int_equal(json_integer_value(get(h, "tx_id")), 0);
    assert_int_equal(count(&r, "token", 0, NULL), 1);
    check_token(&r, 0, "websocket", 1, "/graphql", 101);
    json_t *t = NULL;
    count(&r, "token", 0, &t);
    assert_string_equal(json_string_value(get(t, "http.hostname")), "api.example");
    assert_null(get(t, "token.accepted")); /* what the server made of it is not told */
    assert_int_equal(count(&r, "anomaly", 0, NULL), 0);
    assert_int_equal(stat(&r, "stats.tokenwatch.websocket.messages"), 2);
    assert_int_equal(stat(&r, "stats.app_layer.error.http.parser"), 0);
    run_free(&r);
}

/* The init split over three frames with a ping between them, cut across packets anywhere
 * (inside a header and a masking key too). */
static void test_fragmented(void **state)
{
    (void)state;
    for (size_t cut = 1; cut < 40; cut += 3) {
        struct run r;
        run_start(&r, NULL);
        upgrade(&r, UPGRADE_RESP);
        uint8_t f[512];
        size_t n = 0, third = strlen(INIT) / 3;
        n += ws_frame(f + n, 0x01, INIT, third, MASK);
        n += ws_frame(f + n, 0x89, "hi", 2, MASK);
        n += ws_frame(f + n, 0x00, INIT + third, third, MASK);
        n += ws_frame(f + n, 0x80, INIT + 2 * third, strlen(INIT) - 2 * third, MASK);
        for (size_t off = 0; off < n; off += cut)
            send_raw(&r, 0, TCP_ACK | TCP_PSH, f + off, n - off < cut ? n - off : cut);
        run_finish(&r);
        assert_int_equal(count(&r, "token", 0, NULL), 1);
        check_token(&r, 0, "websocket", 1, "/graphql", 101);
        assert_int_equal(count(&r, "anomaly", 0, NULL), 0);
        run_free(&r);
    }
}

/* Compresses messages as a peer does (raw deflate, sync flush, the tail removed), the window
 * taken over from one to the next. */
static size_t deflate_msg(z_stream *z, const char *msg, uint8_t *out, size_t cap)
{
    z->next_in = (Bytef *)msg;
    z->avail_in = (uInt)strlen(msg);
    z->next_out = out;
    z->avail_out = (uInt)cap;
    assert_int_equal(deflate(z, Z_SYNC_FLUSH), Z_OK);
    return cap - z->avail_out - 4;
}

static void test_deflate(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    send_str(&r, 0, UPGRADE_REQ);
    send_str(&r, 1, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Extensions: permessage-deflate; "
                    "client_max_window_bits=15\r\n\r\n");
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY), Z_OK);
    static const char first[] =
        "{\"type\":\"connection_init\",\"payload\":{\"client\":\"web\",\"version\":\"1.2.3\"}}";
    static const char second[] =
        "{\"type\":\"connection_init\",\"payload\":{\"authToken\":\"ws-opaque-2\"}}";
    uint8_t c[512], f[600];
    size_t n = deflate_msg(&z, first, c, sizeof(c));
    send_raw(&r, 0, TCP_ACK | TCP_PSH, f, ws_frame(f, 0xc1, c, n, MASK));
    n = deflate_msg(&z, second, c, sizeof(c));
    deflateEnd(&z);
    assert_true(n < strlen(second) / 2); /* it refers back into the first message */
    send_raw(&r, 0, TCP_ACK | TCP_PSH, f, ws_frame(f, 0xc1, c, n, MASK));
    run_finish(&r);
    assert_int_equal(count(&r, "token", 0, NULL), 1);
    check_token(&r, 0, "websocket", 1, "/graphql", 101);
    assert_int_equal(stat(&r, "stats.tokenwatch.websocket.inflate_errors"), 0);
    run_free(&r);
}

/* Frames the client sent before the 101 was parsed are the WebSocket's, not HTTP/1's. */
static void test_frames_before_101(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    send_str(&r, 0, UPGRADE_REQ);
    uint8_t f[512];
    send_raw(&r, 0, TCP_ACK | TCP_PSH, f, ws_frame(f, 0x81, INIT, strlen(INIT), MASK));
    send_str(&r, 1, UPGRADE_RESP);
    run_finish(&r);
    assert_int_equal(count(&r, "token", 0, NULL), 1);
    check_token(&r, 0, "websocket", 1, "/graphql", 101);
    assert_int_equal(count(&r, "anomaly", 0, NULL), 0);
    assert_int_equal(stat(&r, "stats.app_layer.error.http.parser"), 0);
    run_free(&r);
}

/* Binary garbage both ways after the 101 (and after a 101 to an unknown protocol): no HTTP
 * parsing, no anomaly. */
static void test_garbage(void **state)
{
    (void)state;
    for (int unknown = 0; unknown < 2; unknown++) {
        struct run r;
        run_start(&r, NULL);
        upgrade(&r, unknown ? "HTTP/1.1 101 Switching Protocols\r\nUpgrade: IRC/6.9\r\n"
                              "Connection: Upgrade\r\n\r\n"
                            : UPGRADE_RESP);
        uint8_t junk[300];
        for (size_t i = 0; i < sizeof(junk); i++)
            junk[i] = (uint8_t)(i * 37 + 11);
        for (int i = 0; i < 4; i++) {
            send_raw(&r, 0, TCP_ACK | TCP_PSH, junk, sizeof(junk));
            send_raw(&r, 1, TCP_ACK | TCP_PSH, junk + i, sizeof(junk) - (size_t)i);
            send_str(&r, 0, "GET /x HTTP/1.1\r\nAuthorization: Bearer hidden-1\r\n\r\n");
        }
        run_finish(&r);
        assert_int_equal(count(&r, "anomaly", 0, NULL), 0);
        assert_int_equal(count(&r, "http", 0, NULL), 1);
        assert_int_equal(count(&r, "token", 0, NULL), 0);
        assert_int_equal(stat(&r, "stats.app_layer.error.http.parser"), 0);
        run_free(&r);
    }
}

/* Eight messages per direction are read; the ninth's token is not. */
static void test_message_bound(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    upgrade(&r, UPGRADE_RESP);
    for (int i = 0; i < 10; i++) {
        char msg[128];
        int k = snprintf(msg, sizeof(msg), "{\"id\":%d,\"payload\":{\"token\":\"ws-opaque-n%d\"}}",
                         i, i);
        uint8_t f[200];
        send_raw(&r, 0, TCP_ACK | TCP_PSH, f, ws_frame(f, 0x81, msg, (size_t)k, MASK));
    }
    run_finish(&r);
    assert_int_equal(count(&r, "token", 0, NULL), 8);
    check_token(&r, 7, "websocket", 8, "/graphql", 101);
    assert_int_equal(stat(&r, "stats.tokenwatch.websocket.messages"), 8);
    run_free(&r);
}

/* A hole in the client's frames: where the next frame starts is unknown, so nothing more of
 * that direction is read (a token after it is not invented from misframed bytes); the server's
 * direction goes on. */
static void test_gap(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    upgrade(&r, UPGRADE_RESP);
    uint8_t f[512];
    size_t n = ws_frame(f, 0x81, "{\"a\":1}", 7, MASK);
    send_raw(&r, 0, TCP_ACK | TCP_PSH, f, n);
    r.cseq += 50; /* 50 bytes the capture lost */
    send_raw(&r, 0, TCP_ACK | TCP_PSH, f, ws_frame(f, 0x81, INIT, strlen(INIT), MASK));
    static const char msg[] = "{\"type\":\"next\",\"payload\":{\"token\":\"ws-opaque-s\"}}";
    send_raw(&r, 1, TCP_ACK | TCP_PSH, f, ws_frame(f, 0x81, msg, strlen(msg), NULL));
    run_finish(&r);
    assert_int_equal(count(&r, "token", 0, NULL), 1); /* the server's */
    check_token(&r, 0, "websocket", 1, "/graphql", 101);
    assert_int_equal(stat(&r, "stats.tokenwatch.websocket.messages"), 2);
    run_free(&r);
}

/* ---- CONNECT ---- */

static const char CONNECT_REQ[] = "CONNECT api.example:80 HTTP/1.1\r\nHost: api.example:80\r\n"
                                  "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n";
static const char INNER_REQ[] = "GET /inner HTTP/1.1\r\nHost: api.example\r\n"
                                "Authorization: Bearer inner-opaque-1\r\n\r\n";
static const char INNER_RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static void check_inner(struct run *r, int inner_status)
{
    json_t *h = NULL;
    assert_int_equal(count(r, "http", 0, NULL), 2);
    count(r, "http", 1, &h);
    assert_string_equal(json_string_value(get(h, "http.url")), "/inner");
    assert_int_equal(json_integer_value(get(h, "tx_id")), 1);
    if (inner_status)
        assert_int_equal(json_integer_value(get(h, "http.status")), inner_status);
    assert_int_equal(count(r, "token", 0, NULL), 1);
    check_token(r, 0, "authorization", 1, "/inner", inner_status);
    assert_int_equal(count(r, "anomaly", 0, NULL), 0);
}

static void test_connect(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    send_str(&r, 0, CONNECT_REQ);
    send_str(&r, 1, "HTTP/1.1 200 Connection established\r\n\r\n");
    send_str(&r, 0, INNER_REQ);
    send_str(&r, 1, INNER_RESP);
    run_finish(&r);
    check_inner(&r, 200);
    run_free(&r);
}

/* The client's inner request comes before the 200 (in the same segment as the CONNECT too). */
static void test_connect_early(void **state)
{
    (void)state;
    for (int same = 0; same < 2; same++) {
        struct run r;
        run_start(&r, NULL);
        if (same) {
            char both[512];
            snprintf(both, sizeof(both), "%s%s", CONNECT_REQ, INNER_REQ);
            send_str(&r, 0, both);
        } else {
            send_str(&r, 0, CONNECT_REQ);
            send_str(&r, 0, INNER_REQ);
        }
        send_str(&r, 1, "HTTP/1.1 200 Connection established\r\n\r\n");
        send_str(&r, 1, INNER_RESP);
        run_finish(&r);
        check_inner(&r, 200);
        run_free(&r);
    }
}

/* 407: what the client sent meanwhile is HTTP/1 to the proxy again. */
static void test_connect_refused(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    send_str(&r, 0, CONNECT_REQ);
    send_str(&r, 0, INNER_REQ);
    send_str(&r, 1, "HTTP/1.1 407 Proxy Authentication Required\r\n"
                    "Proxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n");
    send_str(&r, 1, INNER_RESP);
    run_finish(&r);
    json_t *h = NULL;
    count(&r, "http", 0, &h);
    assert_int_equal(json_integer_value(get(h, "http.status")), 407);
    check_inner(&r, 200);
    run_free(&r);
}

/* TLS inside the tunnel: recognised at the inner start and left alone. */
static void test_connect_tls(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    send_str(&r, 0, CONNECT_REQ);
    send_str(&r, 1, "HTTP/1.1 200 Connection established\r\n\r\n");
    static const uint8_t client_hello[] = {22, 3, 1, 0, 40, 1, 0, 0, 36, 3, 3, 9, 9, 9};
    static const uint8_t server_hello[] = {22, 3, 3, 0, 40, 2, 0, 0, 36, 3, 3, 7, 7, 7};
    send_raw(&r, 0, TCP_ACK | TCP_PSH, client_hello, sizeof(client_hello));
    send_raw(&r, 1, TCP_ACK | TCP_PSH, server_hello, sizeof(server_hello));
    send_str(&r, 0, INNER_REQ);
    send_str(&r, 1, INNER_RESP);
    run_finish(&r);
    assert_int_equal(count(&r, "http", 0, NULL), 1);
    assert_int_equal(count(&r, "token", 0, NULL), 0);
    assert_int_equal(count(&r, "anomaly", 0, NULL), 0);
    run_free(&r);
}

/* More than http-max-head held before the answer: parsed as HTTP/1 without waiting. */
static void test_hold_bound(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, "engine.http-max-head=1kb");
    send_str(&r, 0, CONNECT_REQ);
    char big[1200];
    memset(big, 'x', sizeof(big));
    int k = snprintf(big, sizeof(big), "%s", INNER_REQ);
    big[k] = 'P';
    send_raw(&r, 0, TCP_ACK | TCP_PSH, big, sizeof(big));
    run_finish(&r);
    assert_int_equal(stat(&r, "stats.tokenwatch.http.hold_overflow"), 1);
    assert_int_equal(count(&r, "token", 0, NULL), 1); /* the inner request, read as HTTP/1 */
    check_token(&r, 0, "authorization", 1, "/inner", 0);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graphql_init),    cmocka_unit_test(test_fragmented),
        cmocka_unit_test(test_deflate),         cmocka_unit_test(test_frames_before_101),
        cmocka_unit_test(test_garbage),         cmocka_unit_test(test_message_bound),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_connect),         cmocka_unit_test(test_connect_early),
        cmocka_unit_test(test_connect_refused), cmocka_unit_test(test_connect_tls),
        cmocka_unit_test(test_hold_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
