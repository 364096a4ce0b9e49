/* test_applayer.c — HTTP over reassembled TCP, through the real pipeline (sensor_packet): every
 * segmentation of a conversation gives the same transaction; pipelining pairs responses in order;
 * mid-stream pickup finds the client; oversized heads are counted and survived; a TLS or SSH
 * start takes a flow away from the parsers, bytes that only begin like one do not. Packets are raw
 * IPv4 (LINKTYPE_RAW) built here; EVE is read back with jansson. */
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

#include "config.h"
#include "decode.h"
#include "sensor.h"
#include "eve_lines.h"
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
};

static void run_start(struct run *r, const char *extra_set)
{
    snprintf(r->dir, sizeof(r->dir), "/tmp/tw-applayer-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->path, sizeof(r->path), "%s/eve.json", r->dir);
    char fn[200];
    snprintf(fn, sizeof(fn), "outputs.eve.filename=%s", r->path);
    const char *sets[] = {fn, "outputs.eve.types=[alert, token, stats, http]",
                          extra_set ? extra_set : "engine.flow-timeout=120"};
    char err[512];
    config_defaults(&r->cfg);
    if (config_load(&r->cfg, NULL, sets, 3, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    int code;
    r->s = sensor_new(&r->cfg, r->dir, err, sizeof(err), &code);
    if (!r->s)
        fail_msg("%s", err);
    sensor_set_pcap(r->s, "unit.pcap");
    r->ts = T0 * 1000000ull;
    r->cseq = 1000;
    r->sseq = 5000;
}

/* One raw IPv4/TCP packet from the client (dir 0) or the server (dir 1). */
static void send_pkt(struct run *r, int from_server, uint8_t flags, uint32_t seq,
                     const void *payload, size_t len)
{
    size_t tot;
    uint8_t *p = tcp4_pkt(from_server ? SERVER : CLIENT, from_server ? CLIENT : SERVER,
                          from_server ? 80 : 40000, from_server ? 40000 : 80, flags, seq,
                          payload, len, &tot);
    r->ts += 1000;
    sensor_packet(r->s, r->ts, DECODE_LINK_RAW, p, (uint32_t)tot, (uint32_t)tot);
    free(p);
}

static void handshake(struct run *r)
{
    send_pkt(r, 0, TCP_SYN, r->cseq++, NULL, 0);
    send_pkt(r, 1, TCP_SYN | TCP_ACK, r->sseq++, NULL, 0);
    send_pkt(r, 0, TCP_ACK, r->cseq, NULL, 0);
}

/* Sends data in segments cut at the given offsets (sorted, within len). */
static void send_split(struct run *r, int from_server, const char *data, const size_t *cuts,
                       size_t ncuts)
{
    size_t len = strlen(data), start = 0;
    uint32_t *seq = from_server ? &r->sseq : &r->cseq;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        if (end > start)
            send_pkt(r, from_server, TCP_ACK | TCP_PSH, *seq + (uint32_t)start, data + start,
                     end - start);
        start = end;
    }
    *seq += (uint32_t)len;
}

static json_t *run_finish(struct run *r)
{
    sensor_finish(r->s);
    sensor_free(r->s);
    config_free(&r->cfg);
    json_t *all = eve_lines(r->path, NULL);
    unlink(r->path);
    rmdir(r->dir);
    return all;
}

static size_t count(json_t *all, const char *type)
{
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(all, i, v) if (strcmp(json_string_value(json_object_get(v, "event_type")),
                                             type) == 0) n++;
    return n;
}

static json_t *nth(json_t *all, const char *type, size_t k)
{
    size_t i;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "event_type")), type) == 0 && k-- == 0)
            return v;
    }
    return NULL;
}

static const char *path_str(json_t *v, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(v, a), b));
}

static const char REQ[] = "GET /api/items?x=1 HTTP/1.1\r\nHost: api.example.com:8080\r\n"
                          "User-Agent: unit/1.0\r\nAuthorization: Bearer opaque-token-value-123\r\n"
                          "\r\n";
static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                           "Content-Length: 2\r\n\r\n{}";

static void check_one_tx(json_t *all, int status)
{
    assert_int_equal(count(all, "token"), 1);
    assert_int_equal(count(all, "http"), 1);
    json_t *t = nth(all, "token", 0);
    assert_string_equal(path_str(t, "http", "hostname"), "api.example.com");
    assert_string_equal(path_str(t, "http", "url"), "/api/items?x=1");
    assert_string_equal(path_str(t, "http", "http_method"), "GET");
    assert_string_equal(path_str(t, "token", "type"), "opaque");
    assert_string_equal(path_str(t, "token", "location"), "authorization");
    assert_string_equal(json_string_value(json_object_get(t, "src_ip")), "10.0.0.1");
    assert_int_equal(json_integer_value(json_object_get(t, "dest_port")), 80);
    json_t *st = json_object_get(json_object_get(t, "http"), "status");
    if (status)
        assert_int_equal(json_integer_value(st), status);
    else
        assert_null(st);
    assert_null(json_object_get(json_object_get(t, "token"), "raw"));
}

/* Every cut of the request and of the response into two segments. */
static void test_every_split(void **state)
{
    (void)state;
    size_t rl = strlen(REQ), sl = strlen(RESP);
    for (size_t cut = 1; cut < rl; cut++) {
        struct run r;
        run_start(&r, NULL);
        handshake(&r);
        send_split(&r, 0, REQ, &cut, 1);
        size_t scut = 1 + cut % (sl - 1);
        send_split(&r, 1, RESP, &scut, 1);
        json_t *all = run_finish(&r);
        check_one_tx(all, 200);
        json_decref(all);
    }
}

/* One byte per segment, both ways. */
static void test_byte_by_byte(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    handshake(&r);
    size_t cuts[512];
    size_t rl = strlen(REQ), sl = strlen(RESP);
    for (size_t i = 0; i < rl - 1; i++)
        cuts[i] = i + 1;
    send_split(&r, 0, REQ, cuts, rl - 1);
    for (size_t i = 0; i < sl - 1; i++)
        cuts[i] = i + 1;
    send_split(&r, 1, RESP, cuts, sl - 1);
    json_t *all = run_finish(&r);
    check_one_tx(all, 200);
    json_decref(all);
}

/* The first bytes of a direction decide whether it is TLS or SSH (app_proto_opaque), one byte
 * per segment: bytes that only begin like a TLS record or an SSH banner are held, then parsed
 * as they came; a ClientHello takes the flow from the parsers, an HTTP request behind it too. */
static void test_opaque_start(void **state)
{
    (void)state;
    static const char *starts[] = {"S", "\x16", "\x16\x03", "SSH-2"};
    for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
        struct run r;
        run_start(&r, NULL);
        handshake(&r);
        size_t n = strlen(starts[i]);
        for (size_t k = 0; k < n; k++)
            send_pkt(&r, 0, TCP_ACK | TCP_PSH, r.cseq++, starts[i] + k, 1);
        /* a line break ends the junk, if any, before the request */
        const char *rest = i ? "\r\n" : "";
        send_pkt(&r, 0, TCP_ACK | TCP_PSH, r.cseq, rest, strlen(rest));
        r.cseq += (uint32_t)strlen(rest);
        const char *req = i ? REQ : "EARCH /api/items?x=1 HTTP/1.1\r\nHost: api.example.com\r\n"
                                    "Authorization: Bearer opaque-token-value-123\r\n\r\n";
        size_t cut = 3;
        send_split(&r, 0, req, &cut, 1);
        json_t *all = run_finish(&r);
        assert_int_equal(count(all, "token"), 1);
        if (i == 0)
            assert_string_equal(path_str(nth(all, "token", 0), "http", "http_method"), "SEARCH");
        json_decref(all);
    }
    /* a ClientHello's record header, one byte at a time, then a request */
    struct run r;
    run_start(&r, NULL);
    handshake(&r);
    static const uint8_t hello[] = {22, 3, 1, 0x00, 0x30, 1, 0x00, 0x00, 0x2c, 0x03, 0x03};
    for (size_t k = 0; k < sizeof(hello); k++)
        send_pkt(&r, 0, TCP_ACK | TCP_PSH, r.cseq++, hello + k, 1);
    send_split(&r, 0, "\r\n", NULL, 0);
    send_split(&r, 0, REQ, NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    json_t *all = run_finish(&r);
    assert_int_equal(count(all, "token"), 0);
    assert_int_equal(count(all, "http"), 0);
    json_decref(all);
}

static void test_pipelining(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    handshake(&r);
    char reqs[2048] = "";
    const char *paths[] = {"/a", "/b", "/c"};
    for (int i = 0; i < 3; i++) {
        char one[512];
        snprintf(one, sizeof(one),
                 "POST %s HTTP/1.1\r\nHost: h\r\nAuthorization: bearer tok-%d\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n4\r\nbody\r\n0\r\n\r\n",
                 paths[i], i);
        strcat(reqs, one);
    }
    send_split(&r, 0, reqs, NULL, 0);
    const char *resps = "HTTP/1.1 100 Continue\r\n\r\n"
                        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
                        "HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
                        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    send_split(&r, 1, resps, NULL, 0);
    json_t *all = run_finish(&r);
    assert_int_equal(count(all, "token"), 3);
    int want[] = {200, 401, 403};
    for (int i = 0; i < 3; i++) {
        json_t *t = nth(all, "token", (size_t)i);
        assert_string_equal(path_str(t, "http", "url"), paths[i]);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(t, "http"), "status")),
                         want[i]);
        assert_int_equal(json_integer_value(json_object_get(t, "tx_id")), i);
    }
    json_decref(all);
}

/* No handshake, and the server's packet comes first: the client is still the requester. */
static void test_midstream(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    send_pkt(&r, 1, TCP_ACK, r.sseq, NULL, 0);
    send_split(&r, 1, "HTTP/1.1 204 No Content\r\n\r\n", NULL, 0); /* an answer to a lost request */
    send_split(&r, 0, REQ, NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    json_t *all = run_finish(&r);
    check_one_tx(all, 200);
    json_decref(all);
}

/* No response at all: the record is written at the end without a status. */
static void test_response_lost(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    handshake(&r);
    send_split(&r, 0, REQ, NULL, 0);
    json_t *all = run_finish(&r);
    check_one_tx(all, 0);
    json_decref(all);
}

/* A head over http-max-head is dropped and counted; the next request still parses. */
static void test_head_overflow(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, "engine.http-max-head=1kb");
    handshake(&r);
    char big[4096];
    int n = snprintf(big, sizeof(big), "GET /big HTTP/1.1\r\nX-Pad: ");
    memset(big + n, 'a', 3000);
    big[n + 3000] = '\0';
    size_t cuts[8];
    for (int i = 0; i < 8; i++)
        cuts[i] = (size_t)(i + 1) * 300;
    send_split(&r, 0, big, cuts, 8);
    send_split(&r, 0, "\r\n\r\n", NULL, 0);
    send_split(&r, 0, REQ, NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    json_t *all = run_finish(&r);
    json_t *st = json_object_get(nth(all, "stats", 0), "stats");
    json_t *err = json_object_get(json_object_get(st, "tokenwatch"), "http");
    assert_true(json_integer_value(json_object_get(err, "head_overflow")) >= 1);
    assert_int_equal(count(all, "token"), 1);
    json_decref(all);
}

/* A JWT in the query string never reaches http.url raw. */
static void test_url_redaction(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    handshake(&r);
    const char *req = "GET /cb?id_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl&x=eyJ"
                      " HTTP/1.1\r\nHost: h\r\n\r\n";
    send_split(&r, 0, req, NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    /* an opaque access_token, a percent-encoded JWT, and a JWT as a path segment */
    const char *req2 = "GET /t/eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl/x"
                       "?access_token=opaque123&j=eyJhbGciOiJSUzI1NiJ9%2EeyJzdWIiOiJ4In0%2Ec2ln&k=v#f"
                       " HTTP/1.1\r\nHost: h\r\n\r\n";
    send_split(&r, 0, req2, NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    json_t *all = run_finish(&r);
    json_t *h = nth(all, "http", 0);
    assert_non_null(h);
    assert_string_equal(path_str(h, "http", "url"), "/cb?id_token=[redacted]&x=eyJ");
    h = nth(all, "http", 1);
    assert_non_null(h);
    assert_string_equal(path_str(h, "http", "url"),
                        "/t/[jwt]/x?access_token=[redacted]&j=[redacted]&k=v#f");
    json_decref(all);
}

/* Every http.* string is redacted (urlredact.h): userinfo dropped from the Host, the URL's
 * userinfo and ;jsessionid, a Bearer credential in the User-Agent, a JWT as the method. */
static void test_http_fields_redacted(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    handshake(&r);
    const char *req = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl http://u:pw1@h/x;jsessionid=S1 HTTP/1.1\r\n"
                      "Host: hu:pw2@h.example:8080\r\nUser-Agent: app/1 Bearer tok-pw3\r\n\r\n";
    send_split(&r, 0, req, NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    json_t *all = run_finish(&r);
    json_t *h = nth(all, "http", 0);
    assert_non_null(h);
    assert_string_equal(path_str(h, "http", "hostname"), "h.example");
    assert_string_equal(path_str(h, "http", "url"), "http://[redacted]@h/x;jsessionid=[redacted]");
    assert_string_equal(path_str(h, "http", "http_user_agent"), "app/1 Bearer [redacted]");
    assert_string_equal(path_str(h, "http", "http_method"), "[jwt]");
    json_decref(all);
}

/* With no room under engine.http-memcap, a request is reported at once, without a status. */
static void test_http_memcap(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    /* Below the configurable minimum (64 KiB): the state a busy sensor reaches at its memcap.
     * The sensor reads the limit from r.cfg at each use. */
    r.cfg.http_memcap = 1;
    handshake(&r);
    send_split(&r, 0, REQ, NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    json_t *all = run_finish(&r);
    check_one_tx(all, 0);
    json_t *st = json_object_get(nth(all, "stats", 0), "stats");
    json_t *err = json_object_get(json_object_get(st, "tokenwatch"), "http");
    assert_true(json_integer_value(json_object_get(err, "memcap")) >= 1);
    json_decref(all);
}

/* A pending transaction is charged what it holds: its arena copies the URL, so with 6,000-byte
 * URLs at most 64 KiB / 6,000 = 10 requests can wait for their responses under a 64 KiB
 * http-memcap; the others are reported at once and counted (a fixed per-transaction charge let
 * 22 wait, holding twice the memcap). */
static void test_tx_charge(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, "engine.http-memcap=64kb");
    handshake(&r);
    enum { N = 40, URL = 6000 };
    char *req = malloc(URL + 100);
    for (int i = 0; i < N; i++) {
        int n = snprintf(req, URL + 100, "GET /%02d", i);
        memset(req + n, 'u', URL - (size_t)n);
        snprintf(req + URL, 100, " HTTP/1.1\r\nHost: a.example\r\n\r\n");
        send_split(&r, 0, req, NULL, 0);
    }
    free(req);
    json_t *all = run_finish(&r);
    assert_int_equal(count(all, "http"), N); /* every request is reported, one way or the other */
    json_t *st = json_object_get(nth(all, "stats", 0), "stats");
    json_t *err = json_object_get(json_object_get(st, "tokenwatch"), "http");
    assert_true(json_integer_value(json_object_get(err, "memcap")) >= N - 65536 / URL);
    json_decref(all);
}

/* A body in a coding we cannot undo (br) that could hold a token: counted as undecodable, not
 * scanned, the transaction reported as any other. */
static void test_undecodable_coding(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, NULL);
    handshake(&r);
    send_split(&r, 0, "POST /token HTTP/1.1\r\nHost: idp.example\r\n"
                      "Content-Type: application/x-www-form-urlencoded\r\n"
                      "Content-Length: 0\r\n\r\n", NULL, 0);
    send_split(&r, 1, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Encoding: br\r\nContent-Length: 10\r\n\r\n\x0b\x02\x80{}\x03xyzw",
               NULL, 0);
    json_t *all = run_finish(&r);
    assert_int_equal(count(all, "http"), 1);
    json_t *st = json_object_get(nth(all, "stats", 0), "stats");
    json_t *body = json_object_get(json_object_get(st, "tokenwatch"), "body");
    assert_int_equal(json_integer_value(json_object_get(body, "undecodable")), 1);
    json_decref(all);
}

#define ALL_TYPES "outputs.eve.types=[alert, token, stats, http, flow, anomaly, keyset]"

static json_int_t path_int(json_t *v, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(v, a), b));
}

/* A flow that carried a token gets one `flow` record at its end, with client-relative counts;
 * tx_id and pcap_cnt tie the token and http records to the transaction and its last packet. */
static void test_flow_record(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, ALL_TYPES);
    handshake(&r);
    send_split(&r, 0, REQ, NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    send_split(&r, 0, REQ, NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    json_t *all = run_finish(&r);
    assert_int_equal(count(all, "flow"), 1);
    json_t *f = nth(all, "flow", 0);
    assert_string_equal(json_string_value(json_object_get(f, "src_ip")), "10.0.0.1");
    assert_string_equal(json_string_value(json_object_get(f, "app_proto")), "http");
    assert_int_equal(path_int(f, "flow", "pkts_toserver"), 4);
    assert_int_equal(path_int(f, "flow", "pkts_toclient"), 3);
    assert_int_equal(path_int(f, "flow", "bytes_toserver"), 4 * 40 + 2 * strlen(REQ));
    assert_int_equal(path_int(f, "flow", "bytes_toclient"), 3 * 40 + 2 * strlen(RESP));
    assert_string_equal(path_str(f, "flow", "start"), "2023-06-01T12:00:00.001000+0000");
    assert_string_equal(path_str(f, "flow", "end"), "2023-06-01T12:00:00.007000+0000");
    assert_string_equal(path_str(f, "flow", "state"), "established");
    assert_string_equal(path_str(f, "flow", "reason"), "shutdown");
    assert_true(json_is_false(json_object_get(json_object_get(f, "flow"), "alerted")));
    assert_null(json_object_get(f, "pcap_cnt")); /* written at shutdown, by no packet */
    for (size_t k = 0; k < 2; k++) {
        json_t *t = nth(all, "token", k), *h = nth(all, "http", k);
        assert_int_equal(json_integer_value(json_object_get(t, "tx_id")), (json_int_t)k);
        assert_int_equal(json_integer_value(json_object_get(h, "tx_id")), (json_int_t)k);
        /* the response packet completed the transaction: packets 5 and 7 */
        assert_int_equal(json_integer_value(json_object_get(t, "pcap_cnt")), 5 + 2 * (json_int_t)k);
        assert_int_equal(json_integer_value(json_object_get(h, "pcap_cnt")), 5 + 2 * (json_int_t)k);
    }
    json_decref(all);

    /* no token on the flow: no flow record */
    run_start(&r, ALL_TYPES);
    handshake(&r);
    send_split(&r, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    all = run_finish(&r);
    assert_int_equal(count(all, "http"), 1);
    assert_int_equal(count(all, "flow"), 0);
    json_decref(all);
}

/* Five holes in each direction: five gaps counted, one anomaly record per direction. */
static void test_anomaly_bounded(void **state)
{
    (void)state;
    struct run r;
    run_start(&r, ALL_TYPES);
    handshake(&r);
    for (int i = 0; i < 6; i++) {
        send_pkt(&r, 0, TCP_ACK | TCP_PSH, r.cseq, "GET /x", 6);
        r.cseq += 6 + 10; /* 10 bytes never seen */
        send_pkt(&r, 1, TCP_ACK | TCP_PSH, r.sseq, "HTTP/1", 6);
        r.sseq += 6 + 10;
    }
    json_t *all = run_finish(&r);
    json_t *st = json_object_get(nth(all, "stats", 0), "stats");
    assert_int_equal(path_int(st, "tcp", "reassembly_gap"), 10);
    assert_int_equal(count(all, "anomaly"), 2);
    for (size_t k = 0; k < 2; k++) {
        json_t *a = nth(all, "anomaly", k);
        assert_string_equal(path_str(a, "anomaly", "type"), "stream");
        assert_string_equal(path_str(a, "anomaly", "event"), "stream.reassembly_seq_gap");
    }
    json_decref(all);

    /* anomaly not among the types: nothing written, the gaps still counted */
    run_start(&r, NULL);
    handshake(&r);
    send_pkt(&r, 0, TCP_ACK | TCP_PSH, r.cseq, "GET /x", 6);
    send_pkt(&r, 0, TCP_ACK | TCP_PSH, r.cseq + 16, "GET /x", 6);
    all = run_finish(&r);
    assert_int_equal(count(all, "anomaly"), 0);
    json_decref(all);
}

/* Authorization (Basic), Cookie and Proxy-Authorization values reach no record of any type. */
static void test_credentials_not_copied(void **state)
{
    (void)state;
    static const char req[] =
        "GET /a HTTP/1.1\r\nHost: h.example\r\nAuthorization: Basic YWxpY2U6czNjcjN0LWJhc2lj\r\n"
        "Cookie: SID=s3cr3t-cookie-value; other=s3cr3t-cookie-two\r\n"
        "Proxy-Authorization: Basic cHJveHk6czNjcjN0LXByb3h5\r\n\r\n";
    static const char req2[] =
        "GET /b HTTP/1.1\r\nHost: h.example\r\nAuthorization: Bearer opaque-s3cr3t-bearer-1\r\n"
        "Cookie: SID=s3cr3t-cookie-value\r\n\r\n";
    struct run r;
    run_start(&r, ALL_TYPES);
    handshake(&r);
    send_split(&r, 0, req, NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    send_split(&r, 0, req2, NULL, 0);
    send_split(&r, 1, RESP, NULL, 0);
    json_t *all = run_finish(&r);
    assert_int_equal(count(all, "http"), 2);
    assert_int_equal(count(all, "token"), 1);
    assert_int_equal(count(all, "flow"), 1);
    char *text = json_dumps(all, 0);
    assert_non_null(text);
    static const char *const secrets[] = {"YWxpY2U6czNjcjN0LWJhc2lj", "s3cr3t", "cHJveHk6",
                                          "opaque-s3cr3t-bearer-1"};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        if (strstr(text, secrets[i]))
            fail_msg("credential %s copied into EVE", secrets[i]);
    free(text);
    json_decref(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_opaque_start),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_midstream),
        cmocka_unit_test(test_response_lost),
        cmocka_unit_test(test_head_overflow),
        cmocka_unit_test(test_url_redaction),
        cmocka_unit_test(test_http_fields_redacted),
        cmocka_unit_test(test_http_memcap),
        cmocka_unit_test(test_tx_charge),
        cmocka_unit_test(test_flow_record),
        cmocka_unit_test(test_anomaly_bounded),
        cmocka_unit_test(test_credentials_not_copied),
        cmocka_unit_test(test_undecodable_coding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
