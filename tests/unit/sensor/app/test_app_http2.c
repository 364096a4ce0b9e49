/* test_app_http2.c — the HTTP/2 entry (sensor/app/app_http2*.c) on real flows through the whole
 * pipeline: header blocks encoded by nghttp2's deflater (the reference encoder: Huffman, dynamic
 * table, never-indexed authorization), frames built here. Prior knowledge with interleaved
 * streams, CONTINUATION split across deliveries, padding and priority, RST_STREAM, GOAWAY,
 * PUSH_PROMISE, gRPC trailers (accepted / refused / unknown), the h2c upgrade (101 first, or
 * the client's preface first), a capture that joins late, the limits (header block over
 * http-max-head, streams over the tracked limit) and their counters, and the same conversation
 * delivered a byte at a time giving the same records.
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
#include <nghttp2/nghttp2.h>
#include <zlib.h>

#include "app_http2.h"
#include "app_proto.h"
#include "app_tx.h"
#include "config.h"
#include "decode.h"
#include "h2frame.h"
#include "sensor.h"
#include "eve_lines.h"
#include "tcp_pkt.h"

#define T0 1685620800ull
#define CLIENT 0x0a000001u
#define SERVER 0x0a000002u
enum { C = 0, S = 1 }; /* from the client, from the server */

/* ---- a connection through the real pipeline ---- */

struct run {
    char dir[64], path[128];
    struct config cfg;
    struct sensor *s;
    uint64_t ts;
    uint32_t seq[2];
    size_t chunk;                    /* deliver in packets of at most this many bytes (0: one) */
    nghttp2_hd_deflater *enc[2];
    uint8_t out[2][1 << 16];         /* bytes built for each direction, not yet sent */
    size_t nout[2];
};

static uint8_t *make_pkt(int from_server, uint8_t flags, uint32_t seq, const uint8_t *payload,
                         size_t len)
{
    size_t tot;
    return tcp4_pkt(from_server ? SERVER : CLIENT, from_server ? CLIENT : SERVER,
                    from_server ? 8080 : 40000, from_server ? 40000 : 8080, flags, seq, payload,
                    len, &tot);
}

static void send_raw(struct run *r, int from, uint8_t flags, const uint8_t *p, size_t len)
{
    uint8_t *pkt = make_pkt(from, flags, r->seq[from], p, len);
    r->seq[from] += (uint32_t)len + ((flags & TCP_SYN) ? 1 : 0);
    r->ts += 1000;
    sensor_packet(r->s, r->ts, DECODE_LINK_RAW, pkt, (uint32_t)(40 + len), (uint32_t)(40 + len));
    free(pkt);
}

/* Sends what was built for direction `from`, in packets of r->chunk bytes. */
static void flush(struct run *r, int from)
{
    size_t n = r->nout[from], step = r->chunk ? r->chunk : n;
    for (size_t off = 0; off < n; off += step)
        send_raw(r, from, TCP_ACK | TCP_PSH, r->out[from] + off, n - off < step ? n - off : step);
    r->nout[from] = 0;
}

static void put(struct run *r, int from, const void *p, size_t n)
{
    assert_true(r->nout[from] + n <= sizeof(r->out[from]));
    memcpy(r->out[from] + r->nout[from], p, n);
    r->nout[from] += n;
}

static void put_str(struct run *r, int from, const char *s)
{
    put(r, from, s, strlen(s));
}

static void put_frame(struct run *r, int from, uint8_t type, uint8_t flags, uint32_t sid,
                      const void *pl, size_t len)
{
    uint8_t h[9] = {(uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
                    (uint8_t)(sid >> 24), (uint8_t)(sid >> 16), (uint8_t)(sid >> 8), (uint8_t)sid};
    put(r, from, h, 9);
    if (len)
        put(r, from, pl, len);
}

/* A header block of name, value pairs (NULL-terminated) from direction `from`'s encoder;
 * authorization never indexed, as clients send it. */
static size_t encode(struct run *r, int from, uint8_t *out, size_t cap, const char *const *kv)
{
    nghttp2_nv nv[64];
    size_t n = 0;
    for (; kv[2 * n]; n++) {
        nv[n].name = (uint8_t *)kv[2 * n];
        nv[n].namelen = strlen(kv[2 * n]);
        nv[n].value = (uint8_t *)kv[2 * n + 1];
        nv[n].valuelen = strlen(kv[2 * n + 1]);
        nv[n].flags = strcmp(kv[2 * n], "authorization") ? NGHTTP2_NV_FLAG_NONE
                                                          : NGHTTP2_NV_FLAG_NO_INDEX;
    }
    ssize_t k = nghttp2_hd_deflate_hd(r->enc[from], out, cap, nv, n);
    assert_true(k > 0);
    return (size_t)k;
}

static void headers(struct run *r, int from, uint32_t sid, uint8_t flags, const char *const *kv)
{
    uint8_t blk[8192];
    size_t n = encode(r, from, blk, sizeof(blk), kv);
    put_frame(r, from, H2_HEADERS, flags | H2_F_END_HEADERS, sid, blk, n);
}

static void data(struct run *r, int from, uint32_t sid, uint8_t flags, const char *s)
{
    put_frame(r, from, H2_DATA, flags, sid, s, strlen(s));
}

static void run_start_opts(struct run *r, int syn, const char *const *extra, size_t nextra)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->dir, sizeof(r->dir), "/tmp/tw-app-h2-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->path, sizeof(r->path), "%s/eve.json", r->dir);
    char fn[200];
    snprintf(fn, sizeof(fn), "outputs.eve.filename=%s", r->path);
    const char *sets[8] = {fn, "outputs.eve.types=[http, token, alert, anomaly]"};
    size_t nsets = 2;
    for (size_t i = 0; i < nextra && nsets < 8; i++)
        sets[nsets++] = extra[i];
    char err[512];
    config_defaults(&r->cfg);
    if (config_load(&r->cfg, NULL, sets, nsets, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    int code;
    r->s = sensor_new(&r->cfg, r->dir, err, sizeof(err), &code);
    if (!r->s)
        fail_msg("%s", err);
    sensor_set_pcap(r->s, "unit.pcap");
    r->ts = T0 * 1000000ull;
    r->seq[C] = 1000;
    r->seq[S] = 5000;
    assert_int_equal(nghttp2_hd_deflate_new(&r->enc[C], 4096), 0);
    assert_int_equal(nghttp2_hd_deflate_new(&r->enc[S], 4096), 0);
    if (syn) {
        send_raw(r, C, TCP_SYN, NULL, 0);
        send_raw(r, S, TCP_SYN | TCP_ACK, NULL, 0);
        send_raw(r, C, TCP_ACK, NULL, 0);
    }
}

static void run_start(struct run *r)
{
    run_start_opts(r, 1, NULL, 0);
}

/* The records of one event type, in the order written. */
static json_t *run_finish_type(struct run *r, const char *type)
{
    nghttp2_hd_deflate_del(r->enc[C]);
    nghttp2_hd_deflate_del(r->enc[S]);
    sensor_finish(r->s);
    assert_int_equal(r->s->app_mem, 0); /* every charge to http-memcap given back */
    sensor_free(r->s);
    config_free(&r->cfg);
    json_t *all = eve_lines(r->path, type);
    unlink(r->path);
    rmdir(r->dir);
    return all;
}

static json_t *get(json_t *v, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    return v;
}

/* The http record of `url` (exactly one). */
static json_t *http_of(json_t *all, const char *url)
{
    json_t *found = NULL;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *v = json_array_get(all, i);
        const char *u = json_string_value(get(v, "http.url"));
        if (u && !strcmp(u, url) && !strcmp(json_string_value(get(v, "event_type")), "http")) {
            assert_null(found);
            found = v;
        }
    }
    if (!found)
        fail_msg("no http record for %s", url);
    return found;
}

static void check_http(json_t *all, const char *url, int stream, int status)
{
    json_t *v = http_of(all, url);
    assert_string_equal(json_string_value(get(v, "app_proto")), "http2");
    assert_int_equal(json_integer_value(get(v, "http.http2.stream_id")), stream);
    if (status)
        assert_int_equal(json_integer_value(get(v, "http.status")), status);
    else
        assert_null(get(v, "http.status"));
}

static const char *const settings_pl = "\x00\x03\x00\x00\x00\x64\x00\x04\x00\x01\x00\x00";

/* The client's preface and SETTINGS (MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 65536);
 * the server's SETTINGS. */
static void prefaces(struct run *r)
{
    put_str(r, C, H2_PREFACE);
    put_frame(r, C, H2_SETTINGS, 0, 0, settings_pl, 12);
    put_frame(r, S, H2_SETTINGS, 0, 0, settings_pl, 6);
    put_frame(r, S, H2_SETTINGS, H2_F_ACK, 0, NULL, 0);
    put_frame(r, C, H2_SETTINGS, H2_F_ACK, 0, NULL, 0);
}

/* ---- the conversations ---- */

/* Two requests in flight at once, answered in the other order, bodies interleaved. */
static void interleaved(struct run *r)
{
    prefaces(r);
    const char *const a[] = {":method", "GET", ":scheme", "http", ":authority", "api.example",
                             ":path", "/a?x=1", "authorization", "Bearer tok-a",
                             "user-agent", "unit/1", NULL};
    const char *const b[] = {":method", "POST", ":scheme", "http", ":authority", "api.example",
                             ":path", "/b", "authorization", "Bearer tok-b",
                             "cookie", "c1=1", "cookie", "c2=2", "content-type",
                             "application/x-www-form-urlencoded", NULL};
    headers(r, C, 1, H2_F_END_STREAM, a);
    headers(r, C, 3, 0, b);
    data(r, C, 3, 0, "q=1&access_");
    flush(r, C);
    const char *const ok[] = {":status", "200", "content-type", "application/json", NULL};
    const char *const nf[] = {":status", "404", NULL};
    headers(r, S, 1, 0, ok);
    data(r, S, 1, 0, "{\"a\":");
    flush(r, S);
    data(r, C, 3, H2_F_END_STREAM, "token=opaque-secret");
    flush(r, C);
    headers(r, S, 3, H2_F_END_STREAM, nf);
    data(r, S, 1, H2_F_END_STREAM, "1}");
    flush(r, S);
}

static void check_interleaved(json_t *all)
{
    assert_int_equal(json_array_size(all), 2);
    check_http(all, "/a?x=1", 1, 200);
    check_http(all, "/b", 3, 404);
    json_t *a = http_of(all, "/a?x=1"), *b = http_of(all, "/b");
    assert_string_equal(json_string_value(get(a, "http.protocol")), "HTTP/2");
    assert_string_equal(json_string_value(get(a, "http.http_method")), "GET");
    assert_string_equal(json_string_value(get(a, "http.hostname")), "api.example");
    assert_string_equal(json_string_value(get(a, "http.http_user_agent")), "unit/1");
    assert_string_equal(json_string_value(get(a, "http.http_content_type")), "application/json");
    /* stream 1 was answered last: written second */
    assert_ptr_equal(json_array_get(all, 0), b);
    assert_int_equal(json_integer_value(get(a, "tx_id")), 0);
    assert_int_equal(json_integer_value(get(b, "tx_id")), 1);
    /* the client's settings go with its first request, the server's with its first answer */
    json_t *set = get(a, "http.http2.request.settings");
    assert_int_equal(json_array_size(set), 2);
    assert_string_equal(json_string_value(get(json_array_get(set, 0), "settings_id")),
                        "SETTINGSMAXCONCURRENTSTREAMS");
    assert_int_equal(json_integer_value(get(json_array_get(set, 1), "settings_value")), 65536);
    assert_int_equal(json_array_size(get(a, "http.http2.response.settings")), 1);
    assert_null(get(b, "http.http2.request"));
}

static void test_interleaved(void **state)
{
    (void)state;
    struct run r;
    run_start(&r);
    interleaved(&r);
    json_t *all = run_finish_type(&r, "http");
    check_interleaved(all);
    json_decref(all);
}

/* The tokens: authorization of both, the form body's access_token, the joined cookie. */
static void test_tokens(void **state)
{
    (void)state;
    struct run r;
    run_start(&r);
    interleaved(&r);
    json_t *all = run_finish_type(&r, "token");
    size_t n = json_array_size(all);
    int auth = 0, body = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(all, i);
        const char *loc = json_string_value(get(v, "token.location"));
        auth += !strcmp(loc, "authorization");
        body += !strcmp(loc, "body");
        assert_string_equal(json_string_value(get(v, "app_proto")), "http2");
        assert_non_null(get(v, "http.http2.stream_id"));
    }
    assert_int_equal(auth, 2);
    assert_int_equal(body, 1);
    json_decref(all);
}

/* The same conversation a byte at a time: the same records. */
static void test_byte_at_a_time(void **state)
{
    (void)state;
    struct run r;
    run_start(&r);
    r.chunk = 1;
    interleaved(&r);
    json_t *all = run_finish_type(&r, "http");
    check_interleaved(all);
    json_decref(all);
}

/* HEADERS padded with priority, its block cut in CONTINUATIONs across deliveries; a padded
 * DATA carrying a JSON token-endpoint response. */
static void test_continuation_padding(void **state)
{
    (void)state;
    struct run r;
    run_start(&r);
    prefaces(&r);
    flush(&r, C);
    const char *const q[] = {":method", "GET", ":scheme", "http", ":authority", "idp.example",
                             ":path", "/token", "authorization", "Bearer tok-cont",
                             "x-filler", "0123456789012345678901234567890123456789", NULL};
    uint8_t blk[4096], pl[4096];
    size_t n = encode(&r, C, blk, sizeof(blk), q);
    size_t k1 = n / 3, k2 = n / 3;
    pl[0] = 4;                                  /* pad length */
    memcpy(pl + 1, "\x80\x00\x00\x00\x0f", 5);  /* exclusive on 0, weight 15 */
    memcpy(pl + 6, blk, k1);
    memset(pl + 6 + k1, 0, 4);
    put_frame(&r, C, H2_HEADERS, H2_F_PADDED | H2_F_PRIORITY | H2_F_END_STREAM, 1, pl,
              6 + k1 + 4);
    flush(&r, C);
    put_frame(&r, C, H2_CONTINUATION, 0, 1, blk + k1, k2);
    flush(&r, C);
    put_frame(&r, C, H2_CONTINUATION, H2_F_END_HEADERS, 1, blk + k1 + k2, n - k1 - k2);
    flush(&r, C);
    const char *const ok[] = {":status", "200", "content-type", "application/json", NULL};
    headers(&r, S, 1, 0, ok);
    const char *body = "{\"access_token\":\"srv-issued\",\"token_type\":\"Bearer\"}";
    pl[0] = 10;
    memcpy(pl + 1, body, strlen(body));
    memset(pl + 1 + strlen(body), 0, 10);
    put_frame(&r, S, H2_DATA, H2_F_PADDED | H2_F_END_STREAM, 1, pl, 1 + strlen(body) + 10);
    r.chunk = 7;
    flush(&r, S);
    json_t *all = run_finish_type(&r, NULL);
    int http = 0, resp_body = 0, auth = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *v = json_array_get(all, i);
        const char *t = json_string_value(get(v, "event_type"));
        if (!strcmp(t, "http")) {
            http++;
            assert_string_equal(json_string_value(get(v, "http.url")), "/token");
            assert_int_equal(json_integer_value(get(v, "http.status")), 200);
            assert_int_equal(json_integer_value(get(v, "http.http2.request.priority")), 15);
        } else if (!strcmp(t, "token")) {
            const char *loc = json_string_value(get(v, "token.location"));
            resp_body += !strcmp(loc, "response_body");
            auth += !strcmp(loc, "authorization");
        } else if (!strcmp(t, "anomaly")) {
            fail_msg("unexpected anomaly %s", json_string_value(get(v, "anomaly.event")));
        }
    }
    assert_int_equal(http, 1);
    assert_int_equal(auth, 1);
    assert_int_equal(resp_body, 1);
    json_decref(all);
}

/* A gzip-coded JSON response body, split over three DATA frames: decoded as for HTTP/1. */
static void test_gzip_body(void **state)
{
    (void)state;
    struct run r;
    run_start(&r);
    prefaces(&r);
    const char *const q[] = {":method", "POST", ":scheme", "http", ":authority", "idp.example",
                             ":path", "/oauth2/token", NULL};
    headers(&r, C, 1, H2_F_END_STREAM, q);
    flush(&r, C);
    const char *json = "{\"access_token\":\"gz-issued-token\",\"expires_in\":3600}";
    uint8_t gz[256];
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)json;
    z.avail_in = (uInt)strlen(json);
    z.next_out = gz;
    z.avail_out = sizeof(gz);
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = z.total_out;
    deflateEnd(&z);
    const char *const ok[] = {":status", "200", "content-type", "application/json",
                              "content-encoding", "gzip", NULL};
    headers(&r, S, 1, 0, ok);
    put_frame(&r, S, H2_DATA, 0, 1, gz, n / 3);
    put_frame(&r, S, H2_DATA, 0, 1, gz + n / 3, n / 3);
    put_frame(&r, S, H2_DATA, H2_F_END_STREAM, 1, gz + 2 * (n / 3), n - 2 * (n / 3));
    flush(&r, S);
    json_t *all = run_finish_type(&r, "token");
    assert_int_equal(json_array_size(all), 1);
    assert_string_equal(json_string_value(get(json_array_get(all, 0), "token.location")),
                        "response_body");
    json_decref(all);
}

/* RST_STREAM from the client ends its stream (error code kept); GOAWAY from the server ends the
 * streams above its last stream id; PUSH_PROMISE opens the promised stream. */
static void test_rst_goaway_push(void **state)
{
    (void)state;
    struct run r;
    run_start(&r);
    prefaces(&r);
    const char *const q1[] = {":method", "GET", ":scheme", "http", ":authority", "h",
                              ":path", "/reset", NULL};
    const char *const q3[] = {":method", "GET", ":scheme", "http", ":authority", "h",
                              ":path", "/index", NULL};
    const char *const q5[] = {":method", "GET", ":scheme", "http", ":authority", "h",
                              ":path", "/late", NULL};
    headers(&r, C, 1, H2_F_END_STREAM, q1);
    headers(&r, C, 3, H2_F_END_STREAM, q3);
    headers(&r, C, 5, H2_F_END_STREAM, q5);
    put_frame(&r, C, H2_RST_STREAM, 0, 1, "\x00\x00\x00\x08", 4);
    flush(&r, C);
    const char *const pushed[] = {":method", "GET", ":scheme", "http", ":authority", "h",
                                  ":path", "/style.css", NULL};
    uint8_t blk[1024], pl[1100];
    size_t n = encode(&r, S, blk, sizeof(blk), pushed);
    memcpy(pl, "\x00\x00\x00\x02", 4);
    memcpy(pl + 4, blk, n);
    put_frame(&r, S, H2_PUSH_PROMISE, H2_F_END_HEADERS, 3, pl, 4 + n);
    const char *const ok[] = {":status", "200", NULL};
    headers(&r, S, 3, H2_F_END_STREAM, ok);
    headers(&r, S, 2, H2_F_END_STREAM, ok);
    put_frame(&r, S, H2_GOAWAY, 0, 0, "\x00\x00\x00\x03\x00\x00\x00\x00", 8);
    flush(&r, S);
    json_t *all = run_finish_type(&r, "http");
    assert_int_equal(json_array_size(all), 4);
    check_http(all, "/reset", 1, 0);
    check_http(all, "/index", 3, 200);
    check_http(all, "/style.css", 2, 200);
    check_http(all, "/late", 5, 0);
    assert_string_equal(json_string_value(get(http_of(all, "/reset"),
                                              "http.http2.request.error_code")), "Cancel");
    assert_string_equal(json_string_value(get(http_of(all, "/late"),
                                              "http.http2.response.error_code")), "NOERROR");
    json_decref(all);
}

/* gRPC: the trailers' grpc-status decides token.accepted under HTTP 200. */
static void grpc_call(struct run *r, uint32_t sid, const char *tok, const char *status,
                      int trailers_only)
{
    const char *const q[] = {":method", "POST", ":scheme", "http", ":authority", "svc:50051",
                             ":path", "/pkg.Svc/Call", "content-type", "application/grpc",
                             "te", "trailers", "authorization", tok, NULL};
    headers(r, C, sid, 0, q);
    put_frame(r, C, H2_DATA, H2_F_END_STREAM, sid, "\x00\x00\x00\x00\x02\x08\x01", 7);
    flush(r, C);
    const char *const head[] = {":status", "200", "content-type", "application/grpc", NULL};
    const char *const tr[] = {"grpc-status", status, "grpc-message", "m", NULL};
    const char *const only[] = {":status", "200", "content-type", "application/grpc",
                                "grpc-status", status, NULL};
    if (trailers_only) {
        headers(r, S, sid, H2_F_END_STREAM, only);
    } else {
        headers(r, S, sid, 0, head);
        put_frame(r, S, H2_DATA, 0, sid, "\x00\x00\x00\x00\x02\x08\x01", 7);
        headers(r, S, sid, H2_F_END_STREAM, tr);
    }
    flush(r, S);
}

static void test_grpc(void **state)
{
    (void)state;
    struct run r;
    run_start(&r);
    prefaces(&r);
    grpc_call(&r, 1, "Bearer g-ok", "0", 0);
    grpc_call(&r, 3, "Bearer g-unauth", "16", 0);
    grpc_call(&r, 5, "Bearer g-denied", "7", 1);
    grpc_call(&r, 7, "Bearer g-unavail", "14", 0);
    grpc_call(&r, 9, "Bearer g-notfound", "5", 1);
    json_t *all = run_finish_type(&r, "token");
    assert_int_equal(json_array_size(all), 5);
    static const int want[] = {1, 0, 0, -1, 1};
    for (size_t i = 0; i < 5; i++) {
        json_t *v = json_array_get(all, i);
        assert_int_equal(json_integer_value(get(v, "http.http2.stream_id")), 2 * i + 1);
        assert_int_equal(json_integer_value(get(v, "http.status")), 200);
        json_t *acc = get(v, "token.accepted");
        if (want[i] < 0)
            assert_null(acc);
        else
            assert_int_equal(json_is_true(acc), want[i]);
    }
    json_decref(all);
}

/* h2c: "Upgrade: h2c" answered by 101; the upgrade request is stream 1, answered in HTTP/2.
 * preface_first: the client's preface is parsed before the server's 101. */
static void upgrade(int preface_first, size_t chunk)
{
    struct run r;
    run_start(&r);
    r.chunk = chunk;
    put_str(&r, C, "GET /up HTTP/1.1\r\nHost: up.example\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                   "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
                   "Authorization: Bearer tok-up\r\n\r\n");
    flush(&r, C);
    if (preface_first) {
        put_str(&r, C, H2_PREFACE);
        put_frame(&r, C, H2_SETTINGS, 0, 0, settings_pl, 12);
        flush(&r, C);
    }
    put_str(&r, S, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
    put_frame(&r, S, H2_SETTINGS, 0, 0, settings_pl, 6);
    const char *const ok[] = {":status", "200", "content-type", "text/plain", NULL};
    headers(&r, S, 1, 0, ok);
    data(&r, S, 1, H2_F_END_STREAM, "hello");
    flush(&r, S);
    if (!preface_first) {
        put_str(&r, C, H2_PREFACE);
        put_frame(&r, C, H2_SETTINGS, 0, 0, settings_pl, 12);
    }
    const char *const q[] = {":method", "GET", ":scheme", "http", ":authority", "up.example",
                             ":path", "/next", "authorization", "Bearer tok-next", NULL};
    headers(&r, C, 3, H2_F_END_STREAM, q);
    flush(&r, C);
    const char *const nf[] = {":status", "404", NULL};
    headers(&r, S, 3, H2_F_END_STREAM, nf);
    flush(&r, S);
    json_t *all = run_finish_type(&r, NULL);
    int http = 0, anomalies = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *v = json_array_get(all, i);
        const char *t = json_string_value(get(v, "event_type"));
        http += !strcmp(t, "http");
        if (!strcmp(t, "anomaly")) {
            anomalies++;
            fprintf(stderr, "anomaly %s\n", json_string_value(get(v, "anomaly.event")));
        }
    }
    assert_int_equal(anomalies, 0);
    assert_int_equal(http, 2);
    json_t *up = http_of(all, "/up");
    check_http(all, "/up", 1, 200);
    assert_int_equal(json_integer_value(get(up, "tx_id")), 0);
    assert_string_equal(json_string_value(get(up, "http.protocol")), "HTTP/2");
    assert_string_equal(json_string_value(get(up, "http.http_content_type")), "text/plain");
    json_t *set = get(up, "http.http2.request.settings"); /* from HTTP2-Settings */
    assert_int_equal(json_array_size(set), 2);
    assert_string_equal(json_string_value(get(json_array_get(set, 1), "settings_id")),
                        "SETTINGSINITIALWINDOWSIZE");
    assert_int_equal(json_integer_value(get(json_array_get(set, 1), "settings_value")), 65535);
    check_http(all, "/next", 3, 404);
    assert_int_equal(json_integer_value(get(http_of(all, "/next"), "tx_id")), 1);
    json_decref(all);
}

static void test_upgrade_101_first(void **state)
{
    (void)state;
    upgrade(0, 0);
}

static void test_upgrade_preface_first(void **state)
{
    (void)state;
    upgrade(1, 0);
}

static void test_upgrade_bytewise(void **state)
{
    (void)state;
    upgrade(0, 1);
    upgrade(1, 1);
}

/* A server that speaks first (nghttpd sends its SETTINGS at once) has HTTP/2 claim the flow;
 * its client then asks for h2c in HTTP/1, which the server never takes: HTTP/1 parses it. */
static void test_server_first_http1_client(void **state)
{
    (void)state;
    struct run r;
    run_start(&r);
    put_frame(&r, S, H2_SETTINGS, 0, 0, settings_pl, 6);
    flush(&r, S);
    put_str(&r, C, "GET /h1 HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                   "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n"
                   "Authorization: Bearer tok-h1\r\n\r\n");
    flush(&r, C);
    json_t *all = run_finish_type(&r, "token");
    assert_int_equal(json_array_size(all), 1);
    json_t *v = json_array_get(all, 0);
    assert_string_equal(json_string_value(get(v, "app_proto")), "http");
    assert_string_equal(json_string_value(get(v, "http.url")), "/h1");
    json_decref(all);
}

/* A capture that starts mid-connection: no SYN, no preface, the decoders' tables unknown. The
 * server speaks first (an answer to a stream never seen: skipped, counted); then a request whose
 * authorization travels as a literal is found whole. */
static void test_late_join(void **state)
{
    (void)state;
    struct run r;
    run_start_opts(&r, 0, NULL, 0);
    /* entries the capture never sees fill both encoders' tables */
    uint8_t scratch[4096];
    const char *const old[] = {":method", "GET", ":scheme", "http", ":authority", "old.example",
                               ":path", "/old", "x-custom", "before-join", NULL};
    encode(&r, C, scratch, sizeof(scratch), old);
    const char *const oldr[] = {":status", "200", "server", "unit-server", NULL};
    encode(&r, S, scratch, sizeof(scratch), oldr);
    headers(&r, S, 1, H2_F_END_STREAM, oldr); /* its request was before the capture */
    put_frame(&r, S, H2_WINDOW_UPDATE, 0, 0, "\x00\x01\x00\x00", 4);
    flush(&r, S);
    const char *const q[] = {":method", "GET", ":scheme", "http", ":authority", "old.example",
                             ":path", "/after-join", "authorization", "Bearer tok-late",
                             "x-custom", "before-join", NULL};
    headers(&r, C, 3, H2_F_END_STREAM, q);
    flush(&r, C);
    const char *const ok[] = {":status", "200", "server", "unit-server", NULL};
    headers(&r, S, 3, H2_F_END_STREAM, ok);
    flush(&r, S);
    uint64_t unresolved = r.s->st.h2_hpack_unresolved, unknown = r.s->st.h2_unknown_stream;
    json_t *all = run_finish_type(&r, NULL);
    assert_true(unresolved >= 2); /* :authority and x-custom: indexed before the join */
    assert_true(unknown >= 1);
    int tokens = 0, http = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *v = json_array_get(all, i);
        const char *t = json_string_value(get(v, "event_type"));
        if (!strcmp(t, "token")) {
            tokens++;
            assert_string_equal(json_string_value(get(v, "app_proto")), "http2");
        }
        if (!strcmp(t, "http")) {
            http++;
            assert_string_equal(json_string_value(get(v, "http.url")), "/after-join");
            assert_int_equal(json_integer_value(get(v, "http.status")), 200);
            assert_string_equal(json_string_value(get(v, "src_ip")), "10.0.0.1");
        }
    }
    assert_int_equal(tokens, 1);
    assert_int_equal(http, 1);
    json_decref(all);
}

/* A header block over engine.http-max-head is dropped (counted, anomaly) and its decoder starts
 * again as after a late join; streams past the limit are counted and ignored. */
static void test_limits(void **state)
{
    (void)state;
    struct run r;
    const char *const sets[] = {"engine.http-max-head=1024"};
    run_start_opts(&r, 1, sets, 1);
    prefaces(&r);
    static char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    const char *const q[] = {":method", "GET", ":scheme", "http", ":authority", "h",
                             ":path", "/big", "x-big", big, NULL};
    headers(&r, C, 1, H2_F_END_STREAM, q);
    flush(&r, C);
    uint32_t sid = 3;
    for (int i = 0; i < H2_MAX_STREAMS + 2; i++, sid += 2) {
        char path[32];
        snprintf(path, sizeof(path), "/s%d", i);
        const char *const qi[] = {":method", "GET", ":scheme", "http", ":authority", "h",
                                  ":path", path, NULL};
        headers(&r, C, sid, H2_F_END_STREAM, qi);
    }
    flush(&r, C);
    uint64_t dropped = r.s->st.h2_blocks_dropped, over = r.s->st.h2_streams_over;
    json_t *all = run_finish_type(&r, NULL);
    assert_int_equal(dropped, 1);
    assert_int_equal(over, 2);
    int http = 0, limit = 0, many = 0;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *v = json_array_get(all, i);
        const char *t = json_string_value(get(v, "event_type"));
        http += !strcmp(t, "http");
        if (!strcmp(t, "anomaly")) {
            const char *e = json_string_value(get(v, "anomaly.event"));
            limit += !strcmp(e, "reassembly_limit_reached");
            many += !strcmp(e, "too_many_streams");
            assert_string_equal(json_string_value(get(v, "anomaly.app_proto")), "http2");
        }
    }
    assert_int_equal(http, H2_MAX_STREAMS);
    assert_int_equal(limit, 1);
    assert_int_equal(many, 1);
    json_decref(all);
}

/* The registry: the preface (and its prefixes) claims for HTTP/2, frames with a request head
 * name the client, HTTP/1 text stays HTTP/1's. */
static void test_probe(void **state)
{
    (void)state;
    enum app_probe role = APP_PROBE_NO;
    const char *pf = H2_PREFACE;
    assert_ptr_equal(app_proto_probe((const uint8_t *)pf, 24, 0, &role), &app_http2_ops);
    assert_int_equal(role, APP_PROBE_CLIENT);
    role = APP_PROBE_NO;
    assert_null(app_proto_probe((const uint8_t *)pf, 5, 1, &role));
    assert_int_equal(role, APP_PROBE_MORE);
    const char *get1 = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_ptr_equal(app_proto_probe((const uint8_t *)get1, strlen(get1), 1, &role),
                     &app_http1_ops);
    const uint8_t resp[] = {0, 0, 1, 1, 4, 0, 0, 0, 1, 0x88};
    assert_ptr_equal(app_proto_probe(resp, sizeof(resp), 0, &role), &app_http2_ops);
    assert_int_equal(role, APP_PROBE_SERVER);
    const uint8_t wu[] = {0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 1, 0, 0};
    assert_null(app_proto_probe(wu, sizeof(wu), 0, &role)); /* no role shown: wait */
    assert_int_equal(role, APP_PROBE_MORE);
    assert_ptr_equal(app_proto_probe(wu, sizeof(wu), 1, &role), &app_http2_ops);
    assert_int_equal(role, APP_PROBE_YES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interleaved),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_byte_at_a_time),
        cmocka_unit_test(test_continuation_padding),
        cmocka_unit_test(test_gzip_body),
        cmocka_unit_test(test_rst_goaway_push),
        cmocka_unit_test(test_grpc),
        cmocka_unit_test(test_upgrade_101_first),
        cmocka_unit_test(test_upgrade_preface_first),
        cmocka_unit_test(test_upgrade_bytewise),
        cmocka_unit_test(test_server_first_http1_client),
        cmocka_unit_test(test_late_join),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
