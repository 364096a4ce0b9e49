/* fuzz_h2.c — the HTTP/2 entry whole (frames, HPACK, streams as transactions, gRPC, the h2c
 * upgrade from HTTP/1) through the real pipeline, fed one TCP connection whose bytes the input
 * chooses, and the frame layer's pure functions on the raw input.
 * Input: [flags:1] then records [hdr:1][len:2 BE][len bytes]. flags bit 0: the connection opens
 * with a SYN handshake (else the capture joined late); bit 1: the client's bytes start with the
 * preface (added here, so mutations keep it). hdr bit 0: from the server; bit 1: a hole of len
 * bytes in that direction instead of bytes. Seeds: tests/fuzz/make_h2_corpus.py. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decode.h"
#include "h2frame.h"
#include "sensor.h"

struct conn {
    struct sensor *s;
    uint64_t ts;
    uint32_t seq[2];
    uint16_t cport; /* the client's port: a new connection per input */
};

static void send_pkt(struct conn *k, int from_server, uint8_t flags, const uint8_t *pl,
                     size_t len)
{
    uint8_t *p = calloc(1, 40 + len);
    size_t tot = 40 + len;
    p[0] = 0x45;
    p[2] = (uint8_t)(tot >> 8);
    p[3] = (uint8_t)tot;
    p[8] = 64;
    p[9] = 6;
    const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    memcpy(p + 12, from_server ? b : a, 4);
    memcpy(p + 16, from_server ? a : b, 4);
    uint8_t *t = p + 20;
    uint16_t sport = from_server ? 8080 : k->cport, dport = from_server ? k->cport : 8080;
    t[0] = (uint8_t)(sport >> 8), t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8), t[3] = (uint8_t)dport;
    uint32_t seq = k->seq[from_server];
    for (int i = 0; i < 4; i++)
        t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
    t[12] = 5 << 4;
    t[13] = flags;
    t[14] = 0xff;
    if (len)
        memcpy(p + 40, pl, len);
    k->seq[from_server] += (uint32_t)len + ((flags & TCP_SYN) ? 1 : 0);
    k->ts += 1000;
    sensor_packet(k->s, k->ts, DECODE_LINK_RAW, p, (uint32_t)tot, (uint32_t)tot);
    free(p);
}

/* The frame layer alone: plausibility and roles from every offset of the first bytes, and each
 * frame's payload view and control payloads as the input lays them out. */
static void frame_layer(const uint8_t *data, size_t size)
{
    size_t lim = size < 64 ? size : 64;
    for (size_t i = 0; i < lim; i++) {
        enum h2_role role;
        (void)h2_plausible(data + i, size - i, &role);
        (void)h2_block_role(data + i, size - i);
    }
    size_t off = 0;
    struct h2_frame_hdr h;
    while (h2_frame_header(data + off, size - off, &h)) {
        off += H2_FRAME_HEADER_LEN;
        size_t len = h.length < size - off ? h.length : size - off;
        struct h2_frame_hdr hv = h;
        hv.length = (uint32_t)len;
        struct h2_prefix pre;
        struct span content;
        (void)h2_frame_check(&h, H2_DEFAULT_MAX_FRAME);
        (void)h2_payload_view(&hv, data + off, &pre, &content);
        uint32_t a, b;
        (void)h2_rst_stream(data + off, len, &a);
        (void)h2_goaway(data + off, len, &a, &b);
        (void)h2_window_update(data + off, len, &a);
        for (size_t i = 0; i < len / 6; i++) {
            uint16_t id;
            h2_setting_at(data + off, i, &id, &a);
            (void)h2_setting_name(id);
        }
        (void)h2_error_name(a);
        (void)h2_type_name(h.type);
        off += len;
    }
}

/* Building a sensor (nDPI, the key store) costs far more than an input: one serves many inputs,
 * each on its own connection (a new client port), and is rebuilt every RUNS_PER_SENSOR inputs so
 * that what flows leave behind stays bounded (the replay of a corpus runs its files in order). */
#define RUNS_PER_SENSOR 64

static struct config cfg;
static struct sensor *sensor;
static unsigned runs;
static uint64_t ts = 1685620800ull * 1000000ull;

static void sensor_end(void)
{
    if (!sensor)
        return;
    sensor_finish(sensor);
    sensor_free(sensor);
    config_free(&cfg);
    sensor = NULL;
}

static struct sensor *sensor_get(void)
{
    if (sensor && runs % RUNS_PER_SENSOR)
        return sensor;
    sensor_end();
    char err[512];
    const char *sets[] = {"outputs.eve.filename=/dev/null",
                          "outputs.eve.types=[alert, token, http, anomaly, keyset]",
                          "engine.http-max-head=4096", "engine.http-memcap=512kb",
                          "engine.flow-memcap=2mb", "engine.verify-cache-entries=16"};
    config_defaults(&cfg);
    if (config_load(&cfg, NULL, sets, sizeof(sets) / sizeof(sets[0]), err, sizeof(err)) != 0)
        abort();
    int code;
    sensor = sensor_new(&cfg, "/tmp", err, sizeof(err), &code);
    if (!sensor)
        abort();
    sensor_set_pcap(sensor, "fuzz.pcap");
    atexit(sensor_end);
    return sensor;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    frame_layer(data, size);
    struct sensor *s = sensor_get();
    runs++;
    ts += 3600ull * 1000000ull; /* the last input's flows are long idle */
    struct conn k = {s, ts, {1000, 5000}, (uint16_t)(1024 + runs % 60000)};
    uint8_t flags = data[0];
    if (flags & 1) {
        send_pkt(&k, 0, TCP_SYN, NULL, 0);
        send_pkt(&k, 1, TCP_SYN | TCP_ACK, NULL, 0);
        send_pkt(&k, 0, TCP_ACK, NULL, 0);
    }
    if (flags & 2)
        send_pkt(&k, 0, TCP_ACK | TCP_PSH, (const uint8_t *)H2_PREFACE, H2_PREFACE_LEN);
    size_t off = 1;
    while (size - off >= 3) {
        uint8_t hdr = data[off];
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        int from = hdr & 1;
        if (hdr & 2) {
            k.seq[from] += (uint32_t)(len ? len : 1); /* a hole: what follows comes later */
            continue;
        }
        if (len > size - off)
            len = size - off;
        send_pkt(&k, from, TCP_ACK | TCP_PSH, data + off, len);
        off += len;
    }
    send_pkt(&k, 0, TCP_ACK | TCP_FIN, NULL, 0);
    send_pkt(&k, 1, TCP_ACK | TCP_FIN, NULL, 0);
    send_pkt(&k, 0, TCP_RST, NULL, 0);
    return 0;
}
