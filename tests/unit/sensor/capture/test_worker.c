/* test_worker.c — the workers' rings and dispatch (sensor/capture/worker_ring.c, worker.c).
 *
 * Rings: records come out in order and intact, across the wrap-around padding at every offset
 * the sizes reach; a full ring refuses and counts (try_push, for reading files, refuses without
 * counting); one producer thread and one consumer thread
 * moving 200,000 records of random sizes lose, reorder or corrupt none. Dispatch: both
 * directions of a flow, every fragment of a datagram (IPv4 and IPv6, with no ports in sight) and
 * the flow's TCP segments reach the same worker; VXLAN-tunnelled packets go by their inner
 * addresses; non-IP goes to worker 0; the hash spreads; worker_pick_flow says which packets a
 * sensor would look flows up for (the reader's clock ticks).
 * Kernel counters: 32-bit pcap_stats values that wrap still add up to 64-bit totals.
 * The workers' sensors (worker_sensors_new): one token_replay table for all (a token replayed
 * from clients that hash to different workers is still counted once per client), owned by
 * worker 0; each worker its own reload slot, and a store published by a reload is freed only
 * once every worker has switched to the new one (ASan: no early free, no double free).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "decode.h"
#include "reload.h"
#include "worker.h"

static const uint8_t KEY[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* Byte i of record seq: a pattern a misplaced or torn copy cannot reproduce. */
static uint8_t pat(uint32_t seq, uint32_t i)
{
    return (uint8_t)(seq * 131u + i * 7u + (i >> 8));
}

static void fill(uint8_t *buf, uint32_t seq, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        buf[i] = pat(seq, i);
}

static int check(const struct worker_pkt *p, uint32_t seq, uint32_t len)
{
    if (p->caplen != len || p->wirelen != len + 1 || p->ts_us != seq || p->iface != seq % 3)
        return 0;
    const uint8_t *d = (const uint8_t *)(p + 1);
    for (uint32_t i = 0; i < len; i++)
        if (d[i] != pat(seq, i))
            return 0;
    return 1;
}

static int push(struct worker_ring *r, uint32_t seq, uint32_t len, uint8_t *scratch)
{
    fill(scratch, seq, len);
    struct worker_pkt h = {.caplen = len, .wirelen = len + 1, .linktype = 1, .ts_us = seq,
                           .iface = seq % 3};
    return worker_ring_push(r, &h, scratch);
}

static void test_ring_order_and_wrap(void **state)
{
    (void)state;
    struct worker_ring *r = worker_ring_new(1); /* rounded up to the 64 KiB minimum */
    assert_non_null(r);
    assert_int_equal(r->cap, 64u << 10);
    assert_null(worker_ring_peek(r));
    uint8_t *buf = malloc(70000);
    /* Sizes walk through every residue mod 8 and many offsets of the buffer's end, so the
     * padding marker is written at many positions (including the last 8 bytes). */
    uint32_t seq_in = 0, seq_out = 0, pads = 0;
    for (int round = 0; round < 4000; round++) {
        uint32_t len = (uint32_t)(round * 37) % 3000;
        int pushed = 0;
        while (!pushed) {
            uint64_t head_before = atomic_load(&r->head);
            if (push(r, seq_in, len, buf) == 0) {
                /* Advanced by more than the record: a padding marker filled the end. */
                uint64_t rec = (sizeof(struct worker_pkt) + len + 7) & ~7ull;
                pads += atomic_load(&r->head) - head_before > rec;
                seq_in++;
                pushed = 1;
            } else {
                /* Full: drain two, then retry. */
                for (int k = 0; k < 2; k++) {
                    const struct worker_pkt *p = worker_ring_peek(r);
                    assert_non_null(p);
                    assert_true(check(p, seq_out, (uint32_t)(seq_out * 37) % 3000));
                    worker_ring_release(r, p);
                    seq_out++;
                }
            }
        }
    }
    const struct worker_pkt *p;
    while ((p = worker_ring_peek(r))) {
        assert_true(check(p, seq_out, (uint32_t)(seq_out * 37) % 3000));
        worker_ring_release(r, p);
        seq_out++;
    }
    assert_int_equal(seq_out, seq_in);
    assert_true(pads > 10);
    assert_int_equal(atomic_load(&r->head), atomic_load(&r->tail));
    free(buf);
    worker_ring_free(r);
}

static void test_ring_full_drops(void **state)
{
    (void)state;
    struct worker_ring *r = worker_ring_new(64u << 10);
    uint8_t *buf = calloc(1, 40000);
    uint32_t n = 0;
    while (push(r, n, 1000, buf) == 0)
        n++;
    /* 64 KiB holds as many records of 1000 bytes and a header (8-byte aligned) as fit. */
    size_t rec = (1000 + sizeof(struct worker_pkt) + 7) & ~(size_t)7;
    assert_int_equal(n, (64u << 10) / rec);
    assert_int_equal(atomic_load(&r->drops), 1);
    assert_int_equal(push(r, n, 1000, buf), -1);
    assert_int_equal(atomic_load(&r->drops), 2);
    /* Reading files never drops: try_push refuses without counting, the caller waits. */
    struct worker_pkt th = {.caplen = 1000, .wirelen = 1000, .kind = WORKER_REC_PACKET};
    assert_int_equal(worker_ring_try_push(r, &th, buf), -1);
    assert_int_equal(atomic_load(&r->drops), 2);
    /* Freeing one record makes room for one. */
    const struct worker_pkt *p = worker_ring_peek(r);
    assert_true(check(p, 0, 1000));
    worker_ring_release(r, p);
    assert_int_equal(push(r, n, 1000, buf), 0);
    /* A record over half the ring could deadlock a wrap: refused even when empty. */
    struct worker_ring *e = worker_ring_new(64u << 10);
    assert_int_equal(push(e, 0, 33000, buf), -1);
    assert_int_equal(atomic_load(&e->drops), 1);
    assert_null(worker_ring_peek(e));
    assert_int_equal(push(e, 0, 30000, buf), 0);
    worker_ring_free(e);
    free(buf);
    worker_ring_free(r);
}

#define THREAD_RECORDS 200000u

static uint32_t len_of(uint32_t seq)
{
    return (seq * 2654435761u) % 1600u;
}

static void *producer(void *arg)
{
    struct worker_ring *r = arg;
    uint8_t buf[1600];
    for (uint32_t seq = 0; seq < THREAD_RECORDS; seq++)
        while (push(r, seq, len_of(seq), buf) != 0)
            ; /* full: the consumer will make room */
    return NULL;
}

static void test_ring_two_threads(void **state)
{
    (void)state;
    struct worker_ring *r = worker_ring_new(64u << 10);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, producer, r), 0);
    uint32_t seq = 0, bad = 0;
    while (seq < THREAD_RECORDS) {
        const struct worker_pkt *p = worker_ring_peek(r);
        if (!p)
            continue;
        bad += !check(p, seq, len_of(seq));
        worker_ring_release(r, p);
        seq++;
    }
    pthread_join(th, NULL);
    assert_int_equal(bad, 0);
    assert_null(worker_ring_peek(r));
    worker_ring_free(r);
}

/* ---- dispatch ---- */

/* Ethernet + IPv4 + (TCP header | fragment payload). Returns the length. */
static size_t eth_ipv4(uint8_t *b, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
                       uint16_t dport, uint16_t frag_field)
{
    memset(b, 0, 80);
    b[12] = 0x08;
    uint8_t *ip = b + 14;
    ip[0] = 0x45;
    ip[3] = 40; /* total length 40 */
    ip[4] = 0x12;
    ip[5] = 0x34;
    ip[6] = (uint8_t)(frag_field >> 8);
    ip[7] = (uint8_t)frag_field;
    ip[8] = 64;
    ip[9] = 6;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    uint8_t *tcp = ip + 20;
    tcp[0] = (uint8_t)(sport >> 8);
    tcp[1] = (uint8_t)sport;
    tcp[2] = (uint8_t)(dport >> 8);
    tcp[3] = (uint8_t)dport;
    tcp[12] = 0x50;
    tcp[13] = 0x10;
    return 14 + 40;
}

/* Ethernet + IPv6 + (TCP | Fragment header + data). */
static size_t eth_ipv6(uint8_t *b, const uint8_t src[16], const uint8_t dst[16], uint16_t sport,
                       uint16_t dport, int frag, uint16_t off8)
{
    memset(b, 0, 120);
    b[12] = 0x86;
    b[13] = 0xdd;
    uint8_t *ip = b + 14;
    ip[0] = 0x60;
    ip[5] = frag ? 28 : 20;
    ip[6] = frag ? 44 : 6;
    ip[7] = 64;
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    uint8_t *t = ip + 40;
    if (frag) {
        t[0] = 6;
        t[2] = (uint8_t)((off8 << 3) >> 8);
        t[3] = (uint8_t)((off8 << 3) | 1); /* M flag */
        t[7] = 0x77;                      /* identification */
        t += 8;
        if (off8)
            return 14 + 40 + 28;          /* non-first: 20 bytes of data, no TCP header */
    }
    t[0] = (uint8_t)(sport >> 8);
    t[1] = (uint8_t)sport;
    t[2] = (uint8_t)(dport >> 8);
    t[3] = (uint8_t)dport;
    t[12] = 0x50;
    t[13] = 0x10;
    return 14 + 40 + (frag ? 28 : 20);
}

static void test_pick_symmetric_v4_and_fragments(void **state)
{
    (void)state;
    uint8_t a[4] = {10, 0, 0, 1}, c[4] = {192, 0, 2, 80}, pkt[100];
    for (size_t nw = 2; nw <= 16; nw++)
        for (int i = 0; i < 200; i++) {
            a[3] = (uint8_t)i;
            c[2] = (uint8_t)(i * 7);
            size_t n = eth_ipv4(pkt, a, c, (uint16_t)(40000 + i), 80, 0);
            size_t fwd = worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, nw, NULL);
            assert_true(fwd < nw);
            n = eth_ipv4(pkt, c, a, 80, (uint16_t)(40000 + i), 0);
            assert_int_equal(worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, nw, NULL), fwd);
            /* Another connection between the same hosts: same worker (addresses only). */
            n = eth_ipv4(pkt, a, c, 1234, 443, 0);
            assert_int_equal(worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, nw, NULL), fwd);
            /* First fragment (MF), a middle one and the last: no ports in the last two. */
            n = eth_ipv4(pkt, a, c, 1, 2, 0x2000);
            struct packet probe = {.data = pkt, .caplen = (uint32_t)n, .wirelen = (uint32_t)n,
                                   .linktype = DECODE_LINK_ETHERNET};
            assert_int_equal(decode_packet(&probe), DECODE_FRAGMENT);
            assert_int_equal(worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, nw, NULL), fwd);
            n = eth_ipv4(pkt, a, c, 0xdead, 0xbeef, 0x2000 | 3);
            assert_int_equal(worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, nw, NULL), fwd);
            n = eth_ipv4(pkt, c, a, 0xdead, 0xbeef, 6);
            assert_int_equal(worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, nw, NULL), fwd);
            /* worker_pick_flow: the same worker; flow only for a packet decoded whole (a
             * sensor looks flows up, and expires idle ones, for those only). */
            int flow = -1;
            assert_int_equal(worker_pick_flow(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, nw,
                                              NULL, &flow), fwd);
            assert_int_equal(flow, 0);
            n = eth_ipv4(pkt, a, c, (uint16_t)(40000 + i), 80, 0);
            assert_int_equal(worker_pick_flow(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, nw,
                                              NULL, &flow), fwd);
            assert_int_equal(flow, 1);
            /* One worker: still says whether the packet decoded to a flow. */
            flow = -1;
            assert_int_equal(worker_pick_flow(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, 1,
                                              NULL, &flow), 0);
            assert_int_equal(flow, 1);
        }
}

static void test_pick_symmetric_v6_and_fragments(void **state)
{
    (void)state;
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8}, c[16] = {0x20, 0x01, 0x0d, 0xb8, 0xff}, pkt[140];
    for (int i = 0; i < 300; i++) {
        a[15] = (uint8_t)i;
        c[9] = (uint8_t)(i * 13);
        size_t n = eth_ipv6(pkt, a, c, 50000, 80, 0, 0);
        size_t fwd = worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, 5, NULL);
        n = eth_ipv6(pkt, c, a, 80, 50000, 0, 0);
        assert_int_equal(worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, 5, NULL), fwd);
        n = eth_ipv6(pkt, a, c, 50000, 80, 1, 0);
        assert_int_equal(worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, 5, NULL), fwd);
        n = eth_ipv6(pkt, a, c, 0, 0, 1, 3);
        struct packet probe = {.data = pkt, .caplen = (uint32_t)n, .wirelen = (uint32_t)n,
                               .linktype = DECODE_LINK_ETHERNET};
        assert_int_equal(decode_packet(&probe), DECODE_FRAGMENT);
        assert_int_equal(worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, 5, NULL), fwd);
    }
}

/* Outer Ethernet/IPv4/UDP 4789/VXLAN around an inner Ethernet/IPv4/TCP packet. */
static size_t vxlan(uint8_t *b, const uint8_t osrc[4], const uint8_t odst[4],
                    const uint8_t isrc[4], const uint8_t idst[4])
{
    size_t inner = eth_ipv4(b + 50, isrc, idst, 40000, 80, 0);
    memset(b, 0, 50);
    b[12] = 0x08;
    uint8_t *ip = b + 14;
    size_t iplen = 20 + 8 + 8 + inner;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(iplen >> 8);
    ip[3] = (uint8_t)iplen;
    ip[8] = 64;
    ip[9] = 17;
    memcpy(ip + 12, osrc, 4);
    memcpy(ip + 16, odst, 4);
    uint8_t *udp = ip + 20;
    udp[0] = 0xc0;
    udp[2] = 4789 >> 8;
    udp[3] = 4789 & 0xff;
    udp[5] = (uint8_t)(8 + 8 + inner);
    udp[8] = 0x08; /* VXLAN: I flag, VNI 0 */
    return 50 + inner;
}

/* Tunnelled traffic is placed by the inner addresses, as the worker's flow table keys it:
 * both directions meet, whatever the outer addresses. */
static void test_pick_tunnel_inner(void **state)
{
    (void)state;
    uint8_t x[4] = {192, 0, 2, 1}, y[4] = {192, 0, 2, 2}, a[4] = {10, 9, 0, 0}, c[4] = {10, 9, 9, 9};
    uint8_t pkt[200];
    for (int i = 0; i < 100; i++) {
        a[3] = (uint8_t)i;
        size_t n = vxlan(pkt, x, y, a, c);
        struct packet probe = {.data = pkt, .caplen = (uint32_t)n, .wirelen = (uint32_t)n,
                               .linktype = DECODE_LINK_ETHERNET};
        assert_int_equal(decode_packet(&probe), DECODE_OK);
        assert_int_equal(probe.tunnel_count, 1);
        size_t w = worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, 7, NULL);
        n = vxlan(pkt, y, x, c, a);
        assert_int_equal(worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, 7, NULL), w);
        n = eth_ipv4(pkt, c, a, 80, 40000, 0);
        assert_int_equal(worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, 7, NULL), w);
    }
}

static void test_pick_non_ip_and_one_worker(void **state)
{
    (void)state;
    uint8_t arp[42] = {0};
    arp[12] = 0x08;
    arp[13] = 0x06;
    assert_int_equal(worker_pick(arp, sizeof(arp), DECODE_LINK_ETHERNET, KEY, 8, NULL), 0);
    assert_int_equal(worker_pick(arp, 3, DECODE_LINK_ETHERNET, KEY, 8, NULL), 0); /* runt */
    uint8_t a[4] = {10, 0, 0, 9}, c[4] = {10, 0, 0, 10}, pkt[100];
    size_t n = eth_ipv4(pkt, a, c, 1, 2, 0);
    assert_int_equal(worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, 1, NULL), 0);
}

static void test_pick_spreads(void **state)
{
    (void)state;
    size_t hits[4] = {0};
    uint8_t a[4] = {10, 1, 0, 0}, c[4] = {203, 0, 113, 10}, pkt[100];
    for (int i = 0; i < 4000; i++) {
        a[2] = (uint8_t)(i >> 8);
        a[3] = (uint8_t)i;
        size_t n = eth_ipv4(pkt, a, c, 40000, 80, 0);
        hits[worker_pick(pkt, (uint32_t)n, DECODE_LINK_ETHERNET, KEY, 4, NULL)]++;
    }
    for (int w = 0; w < 4; w++)
        assert_true(hits[w] > 800 && hits[w] < 1200);
}

/* The capture threads' kernel counters: pcap_stats() wraps at 2^32, the totals must not. */
static void test_kstats_wrap(void **state)
{
    (void)state;
    struct capture_kstats k = {0};
    unsigned int a[3] = {4294967000u, 7, 0};
    capture_kstats_add(&k, a);
    unsigned int b[3] = {100, 9, 0}; /* lapped: 296 + 100 more packets */
    capture_kstats_add(&k, b);
    assert_int_equal(k.total[0], 4294967000ull + 396);
    assert_int_equal(k.total[1], 9);
    capture_kstats_add(&k, b); /* no change */
    assert_int_equal(k.total[0], 4294967000ull + 396);
}

static struct keystore *empty_store(void)
{
    struct keystore *ks = keystore_new();
    assert_non_null(ks);
    return ks;
}

static void sensors_run(const char *replay_set, size_t nw, int expect_replay)
{
    char dir[] = "/tmp/tw-worker-XXXXXX", fn[128], err[512];
    assert_non_null(mkdtemp(dir));
    snprintf(fn, sizeof(fn), "outputs.eve.filename=%s/eve.json", dir);
    const char *sets[] = {fn, replay_set};
    struct config cfg;
    config_defaults(&cfg);
    if (config_load(&cfg, NULL, sets, 2, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    struct reload *rl = reload_new(empty_store(), nw);
    assert_non_null(rl);
    struct sensor *sv[4];
    int code = 0;
    if (worker_sensors_new(&cfg, dir, rl, nw, sv, err, sizeof(err), &code) != 0)
        fail_msg("%s", err);
    uint64_t g;
    struct keystore *ks0 = reload_current(rl, &g);
    for (size_t i = 0; i < nw; i++) {
        assert_ptr_equal(sv[i]->ks, ks0);
        assert_ptr_equal(sv[i]->reload, rl);
        assert_int_equal(sv[i]->reload_slot, i);
        assert_ptr_equal(sv[i]->replay, sv[0]->replay);
        assert_int_equal(sv[i]->replay_borrowed, expect_replay && i != 0);
    }
    if (expect_replay) {
        /* One token from four clients, each seen by a different worker's sensor: the fourth
         * exceeds policy.replay.clients = 3 only because the table is one. */
        uint8_t sha[32] = {7}, addr[16] = {0};
        for (int c = 0; c < 4; c++) {
            addr[15] = (uint8_t)(c + 1);
            assert_int_equal(replay_check(sv[c % nw]->replay, sha, addr, 1000 + c), c == 3);
        }
    } else {
        assert_null(sv[0]->replay);
    }
    /* A reload: the old store lives until the last worker has switched. */
    assert_int_equal(reload_publish(rl, empty_store()), 1);
    for (size_t i = 0; i < nw; i++) {
        assert_int_equal(reload_collect(rl), 1);
        sensor_keystore_sync(sv[i]);
        assert_ptr_equal(sv[i]->ks, reload_current(rl, &g));
    }
    assert_int_equal(reload_collect(rl), 0);
    worker_sensors_free(sv, nw);
    for (size_t i = 0; i < nw; i++)
        assert_null(sv[i]);
    reload_free(rl);
    config_free(&cfg);
    unlink(fn + strlen("outputs.eve.filename="));
    rmdir(dir);
}

static void test_sensors_share_replay_and_reload(void **state)
{
    (void)state;
    sensors_run("policy.replay.clients=3", 3, 1);
    sensors_run("policy.replay.clients=0", 2, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_order_and_wrap),
        cmocka_unit_test(test_ring_full_drops),
        cmocka_unit_test(test_ring_two_threads),
        cmocka_unit_test(test_pick_symmetric_v4_and_fragments),
        cmocka_unit_test(test_pick_symmetric_v6_and_fragments),
        cmocka_unit_test(test_pick_tunnel_inner),
        cmocka_unit_test(test_pick_non_ip_and_one_worker),
        cmocka_unit_test(test_pick_spreads),
        cmocka_unit_test(test_kstats_wrap),
        cmocka_unit_test(test_sensors_share_replay_and_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
