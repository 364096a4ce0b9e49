/* test_flow.c — unit tests for sensor/flow/flow.c: both directions to one flow, the client side
 * (SYN, SYN+ACK, provisional), LRU eviction at the memcap, expiry by packet time for open and
 * closed flows, 100k flows, flow ids, IPv6 and VLAN keys, teardown, Community ID vectors
 * from the spec's baseline (github.com/corelight/community-id-spec, baseline_deflt.json), port
 * reuse (closed, half-closed, new ISN, mid-stream), and a SYN flood against a memcap that
 * includes the owner's per-flow state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "flow.h"

static const uint8_t SEED[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

struct log {
    int n, memcap, timeout, closed, shutdown, reuse;
    struct flow *last;
    uint64_t last_id;
};

static void on_free(void *user, struct flow *f, const char *reason)
{
    struct log *l = user;
    l->n++;
    l->last = f;
    l->last_id = f->flow_id;
    if (!strcmp(reason, "memcap"))
        l->memcap++;
    else if (!strcmp(reason, "timeout"))
        l->timeout++;
    else if (!strcmp(reason, "closed"))
        l->closed++;
    else if (!strcmp(reason, "shutdown"))
        l->shutdown++;
    else if (!strcmp(reason, "reuse"))
        l->reuse++;
    else
        fail_msg("unknown reason %s", reason);
    free(f->app); /* ownership of app state passes through here */
    f->app = NULL;
}

static struct packet pkt(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                         uint8_t flags)
{
    struct packet p;
    memset(&p, 0, sizeof(p));
    if (strchr(src, ':')) {
        p.ip_version = 6;
        assert_int_equal(inet_pton(AF_INET6, src, p.src), 1);
        assert_int_equal(inet_pton(AF_INET6, dst, p.dst), 1);
    } else {
        p.ip_version = 4;
        assert_int_equal(inet_pton(AF_INET, src, p.src), 1);
        assert_int_equal(inet_pton(AF_INET, dst, p.dst), 1);
    }
    p.ip_proto = 6;
    p.sport = sport;
    p.dport = dport;
    p.tcp_flags = flags;
    p.wirelen = 60;
    return p;
}

static void test_both_directions(void **state)
{
    (void)state;
    struct log l = {0};
    struct flow_table *ft = flow_table_new(1 << 20, 60, 5, SEED, on_free, &l);
    assert_non_null(ft);
    struct packet c = pkt("10.0.0.2", 40000, "10.0.0.1", 80, TCP_SYN);
    struct packet s = pkt("10.0.0.1", 80, "10.0.0.2", 40000, TCP_SYN | TCP_ACK);
    s.wirelen = 100;
    int cs = -1, ss = -1;
    struct flow *f1 = flow_lookup(ft, &c, 1000, &cs);
    struct flow *f2 = flow_lookup(ft, &s, 2000, &ss);
    c.tcp_flags = TCP_ACK;
    struct flow *f3 = flow_lookup(ft, &c, 3000, NULL);
    assert_non_null(f1);
    assert_ptr_equal(f1, f2);
    assert_ptr_equal(f1, f3);
    assert_int_equal(cs, 1); /* 10.0.0.2 sorts after 10.0.0.1 */
    assert_int_equal(ss, 0);
    assert_int_equal(f1->client, 1);
    assert_true(f1->client_known);
    assert_int_equal(f1->pkts[1], 2);
    assert_int_equal(f1->pkts[0], 1);
    assert_int_equal(f1->bytes[1], 120);
    assert_int_equal(f1->bytes[0], 100);
    assert_int_equal(f1->first_us, 1000);
    assert_int_equal(f1->last_us, 3000);
    assert_true(f1->flow_id != 0 && f1->flow_id < (UINT64_C(1) << 51));
    assert_int_equal(flow_table_stats(ft)->total, 1);
    assert_int_equal(flow_table_stats(ft)->active, 1);

    /* a different port is a different flow */
    struct packet o = pkt("10.0.0.2", 40001, "10.0.0.1", 80, TCP_SYN);
    struct flow *f4 = flow_lookup(ft, &o, 4000, NULL);
    assert_ptr_not_equal(f4, f1);
    assert_true(f4->flow_id != f1->flow_id);
    flow_table_free(ft);
    assert_int_equal(l.shutdown, 2);
}

static void test_client_side(void **state)
{
    (void)state;
    struct log l = {0};
    struct flow_table *ft = flow_table_new(1 << 20, 60, 5, SEED, on_free, &l);
    int side;

    /* capture starts at the SYN+ACK: its receiver is the client */
    struct packet sa = pkt("192.168.1.1", 443, "192.168.1.9", 5555, TCP_SYN | TCP_ACK);
    struct flow *f = flow_lookup(ft, &sa, 1, &side);
    assert_true(f->client_known);
    assert_int_equal(f->client, !side);

    /* mid-stream: the first sender, provisionally; the app layer may overrule it */
    struct packet d = pkt("192.168.1.1", 8080, "192.168.1.9", 6000, TCP_ACK | TCP_PSH);
    f = flow_lookup(ft, &d, 2, &side);
    assert_false(f->client_known);
    assert_int_equal(f->client, side);
    flow_set_client(f, !side);
    assert_true(f->client_known);
    assert_int_equal(f->client, !side);
    /* once decided, a late SYN from the other side does not flip it again */
    struct packet late = pkt("192.168.1.1", 8080, "192.168.1.9", 6000, TCP_SYN);
    f = flow_lookup(ft, &late, 3, &side);
    assert_int_equal(f->client, !side);

    /* provisional, then a SYN decides */
    struct packet a = pkt("192.168.1.9", 7000, "192.168.1.1", 25, TCP_ACK);
    f = flow_lookup(ft, &a, 4, &side);
    assert_false(f->client_known);
    assert_int_equal(f->client, side);
    struct packet b = pkt("192.168.1.1", 25, "192.168.1.9", 7000, TCP_SYN);
    f = flow_lookup(ft, &b, 5, &side);
    assert_true(f->client_known);
    assert_int_equal(f->client, side);
    flow_table_free(ft);
    assert_int_equal(l.shutdown, 3);
}

static void test_memcap_eviction(void **state)
{
    (void)state;
    struct log l = {0};
    /* room for the minimum bucket array and two flows */
    size_t memcap = 1024 * sizeof(struct flow *) + 2 * sizeof(struct flow);
    struct flow_table *ft = flow_table_new(memcap, 60, 5, SEED, on_free, &l);
    struct packet p1 = pkt("10.1.0.1", 1, "10.2.0.1", 80, TCP_SYN);
    struct packet p2 = pkt("10.1.0.2", 1, "10.2.0.1", 80, TCP_SYN);
    struct packet p3 = pkt("10.1.0.3", 1, "10.2.0.1", 80, TCP_SYN);
    struct flow *f1 = flow_lookup(ft, &p1, 1, NULL);
    f1->app = malloc(16);
    struct flow *f2 = flow_lookup(ft, &p2, 2, NULL);
    uint64_t id2 = f2->flow_id;
    f2->app = malloc(16);
    assert_ptr_equal(flow_lookup(ft, &p1, 3, NULL), f1); /* f1 is now the most recent */
    struct flow *f3 = flow_lookup(ft, &p3, 4, NULL);
    assert_non_null(f3);
    assert_int_equal(l.memcap, 1);
    assert_int_equal(l.last_id, id2); /* the least recently seen went */
    assert_int_equal(flow_table_stats(ft)->memcap, 1);
    assert_int_equal(flow_table_stats(ft)->active, 2);
    assert_ptr_equal(flow_lookup(ft, &p1, 5, NULL), f1);
    assert_int_equal(flow_table_stats(ft)->total, 3);

    /* closed flows are evicted before open ones */
    flow_mark_closed(ft, f1);
    struct flow *f2b = flow_lookup(ft, &p2, 6, NULL);
    assert_non_null(f2b);
    assert_int_equal(l.memcap, 2);
    assert_ptr_equal(l.last, f1);
    flow_table_free(ft);
    assert_int_equal(l.shutdown, 2);

    /* no room even for one flow: NULL, counted */
    struct log l2 = {0};
    ft = flow_table_new(1024 * sizeof(struct flow *), 60, 5, SEED, on_free, &l2);
    assert_null(flow_lookup(ft, &p1, 1, NULL));
    assert_int_equal(flow_table_stats(ft)->memcap, 1);
    assert_int_equal(flow_table_stats(ft)->total, 0);
    flow_table_free(ft);
    assert_int_equal(l2.n, 0);
}

/* State that grows with traffic (flow_charge) counts against the memcap: it evicts other flows,
 * never the one that grows, is refused when no room can be made, and leaves with its flow. */
static void test_charge(void **state)
{
    (void)state;
    struct log l = {0};
    size_t memcap = 1024 * sizeof(struct flow *) + 3 * sizeof(struct flow);
    struct flow_table *ft = flow_table_new(memcap, 60, 5, SEED, on_free, &l);
    struct packet p1 = pkt("10.1.0.1", 1, "10.2.0.1", 80, TCP_SYN);
    struct packet p2 = pkt("10.1.0.2", 1, "10.2.0.1", 80, TCP_SYN);
    struct packet p3 = pkt("10.1.0.3", 1, "10.2.0.1", 80, TCP_SYN);
    struct flow *f1 = flow_lookup(ft, &p1, 1, NULL);
    struct flow *f2 = flow_lookup(ft, &p2, 2, NULL);
    uint64_t id2 = f2->flow_id;
    /* the free room (one flow's worth) is taken without evicting anyone */
    assert_int_equal(flow_charge(ft, f1, (long)sizeof(struct flow)), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(f1->charged, sizeof(struct flow));
    /* f1 is the oldest, but not its own victim: f2 goes */
    assert_int_equal(flow_charge(ft, f1, (long)sizeof(struct flow)), 0);
    assert_int_equal(l.memcap, 1);
    assert_int_equal(l.last_id, id2);
    /* nothing else to evict: refused, nothing charged, counted */
    uint64_t mc = flow_table_stats(ft)->memcap;
    assert_int_equal(flow_charge(ft, f1, (long)sizeof(struct flow)), -1);
    assert_int_equal(f1->charged, 2 * sizeof(struct flow));
    assert_true(flow_table_stats(ft)->memcap > mc);
    /* a release gives the room back: two new flows fit without an eviction */
    assert_int_equal(flow_charge(ft, f1, -(long)(2 * sizeof(struct flow))), 0);
    assert_int_equal(f1->charged, 0);
    assert_non_null(flow_lookup(ft, &p2, 3, NULL));
    assert_non_null(flow_lookup(ft, &p3, 4, NULL));
    assert_int_equal(l.memcap, 1);
    flow_table_free(ft);

    /* what a flow has charged leaves with it */
    struct log l2 = {0};
    ft = flow_table_new(memcap, 60, 5, SEED, on_free, &l2);
    f1 = flow_lookup(ft, &p1, 1, NULL);
    assert_int_equal(flow_charge(ft, f1, (long)(2 * sizeof(struct flow))), 0); /* table full */
    assert_non_null(flow_lookup(ft, &p2, 2, NULL));                             /* evicts f1 */
    assert_int_equal(l2.memcap, 1);
    assert_non_null(flow_lookup(ft, &p3, 3, NULL)); /* f1's charge went with it: room */
    assert_int_equal(l2.memcap, 1);
    flow_table_free(ft);
}

static void test_expiry(void **state)
{
    (void)state;
    struct log l = {0};
    const uint64_t S = 1000000;
    struct flow_table *ft = flow_table_new(1 << 20, 60, 5, SEED, on_free, &l);
    struct packet a = pkt("10.0.0.1", 1000, "10.0.0.9", 80, TCP_SYN);
    struct packet b = pkt("10.0.0.2", 1000, "10.0.0.9", 80, TCP_SYN);
    struct packet c = pkt("10.0.0.3", 1000, "10.0.0.9", 80, TCP_SYN);
    struct packet d = pkt("10.0.0.4", 1000, "10.0.0.9", 80, TCP_SYN);
    struct flow *fa = flow_lookup(ft, &a, 0, NULL);
    struct flow *fb = flow_lookup(ft, &b, 10 * S, NULL);
    struct flow *fc = flow_lookup(ft, &c, 11 * S, NULL);
    struct flow *fd = flow_lookup(ft, &d, 12 * S, NULL);
    assert_non_null(fa);
    assert_non_null(fb);
    assert_non_null(fd);
    fc->app = malloc(8);
    flow_mark_closed(ft, fc);
    flow_mark_closed(ft, fc); /* idempotent */
    flow_lookup(ft, &a, 50 * S, NULL); /* a stays alive */

    flow_expire(ft, 16 * S); /* 5 s after c: not yet (strictly past the timeout) */
    assert_int_equal(l.n, 0);
    flow_expire(ft, 16 * S + 1); /* c, closed, sits behind open b: still goes */
    assert_int_equal(l.closed, 1);
    assert_ptr_equal(l.last, fc);
    assert_int_equal(flow_table_stats(ft)->active, 3);

    flow_expire(ft, 71 * S); /* b (10 s) is due, d (12 s) is not, a (50 s) is not */
    assert_int_equal(l.timeout, 1);
    assert_int_equal(flow_table_stats(ft)->active, 2);
    flow_expire(ft, 73 * S);
    assert_int_equal(l.timeout, 2);
    flow_expire(ft, 5 * S); /* time going backwards expires nothing */
    assert_int_equal(l.n, 3);
    flow_expire(ft, 111 * S);
    assert_int_equal(l.timeout, 3);
    assert_int_equal(flow_table_stats(ft)->active, 0);
    assert_int_equal(flow_table_stats(ft)->timed_out, 4);
    /* an expired flow comes back as a new one */
    struct flow *fa2 = flow_lookup(ft, &a, 112 * S, NULL);
    assert_non_null(fa2);
    assert_int_equal(fa2->first_us, 112 * S);
    assert_int_equal(flow_table_stats(ft)->total, 5);
    flow_table_free(ft);
    assert_int_equal(l.shutdown, 1);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_many_flows(void **state)
{
    (void)state;
    enum { N = 100000 };
    struct log l = {0};
    struct flow_table *ft = flow_table_new((size_t)N * 2 * sizeof(struct flow), 60, 5, SEED,
                                           on_free, &l);
    struct flow **fs = calloc(N, sizeof(*fs));
    uint64_t *ids = calloc(N, sizeof(*ids));
    assert_non_null(fs);
    assert_non_null(ids);
    struct packet p = pkt("10.0.0.0", 0, "172.16.0.1", 443, TCP_SYN);
    for (uint32_t i = 0; i < N; i++) {
        p.src[2] = (uint8_t)(i >> 8);
        p.src[3] = (uint8_t)i;
        p.sport = (uint16_t)(1024 + (i >> 16));
        fs[i] = flow_lookup(ft, &p, (uint64_t)i, NULL);
        assert_non_null(fs[i]);
        ids[i] = fs[i]->flow_id;
    }
    assert_int_equal(flow_table_stats(ft)->active, N);
    assert_int_equal(flow_table_stats(ft)->memcap, 0);
    struct packet r = pkt("172.16.0.1", 443, "10.0.0.0", 0, TCP_SYN | TCP_ACK);
    for (uint32_t i = 0; i < N; i++) {
        r.dst[2] = (uint8_t)(i >> 8);
        r.dst[3] = (uint8_t)i;
        r.dport = (uint16_t)(1024 + (i >> 16));
        assert_ptr_equal(flow_lookup(ft, &r, N + (uint64_t)i, NULL), fs[i]);
    }
    assert_int_equal(flow_table_stats(ft)->total, N);
    qsort(ids, N, sizeof(*ids), cmp_u64);
    assert_true(ids[0] != 0);
    assert_true(ids[N - 1] < (UINT64_C(1) << 51));
    for (int i = 1; i < N; i++)
        assert_true(ids[i] != ids[i - 1]);

    flow_expire(ft, 60 * 1000000ULL + N + N / 2); /* the first half of the refreshes */
    assert_int_equal(l.timeout, N / 2);
    flow_expire(ft, 1000 * 1000000ULL);
    assert_int_equal(l.timeout, N);
    assert_int_equal(flow_table_stats(ft)->active, 0);
    flow_table_free(ft);
    assert_int_equal(l.shutdown, 0);
    free(fs);
    free(ids);
}

static void check_cid(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                      uint8_t proto, const char *want)
{
    struct flow_table *ft = flow_table_new(1 << 20, 60, 5, SEED, NULL, NULL);
    struct packet p = pkt(src, sport, dst, dport, TCP_SYN);
    p.ip_proto = proto;
    char buf[64];
    flow_community_id(flow_lookup(ft, &p, 1, NULL), buf, sizeof(buf));
    assert_string_equal(buf, want);
    flow_table_free(ft);
}

static void test_community_id(void **state)
{
    (void)state;
    static const struct {
        const char *src, *dst;
        uint16_t sport, dport;
        uint8_t proto;
        const char *cid;
    } v[] = {
        {"128.232.110.120", "66.35.250.204", 34855, 80, 6, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
        {"192.168.1.52", "8.8.8.8", 54585, 53, 17, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
        {"192.168.170.8", "192.168.170.56", 7, 7, 132, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
        {"2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, 6,
         "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        check_cid(v[i].src, v[i].sport, v[i].dst, v[i].dport, v[i].proto, v[i].cid);
        check_cid(v[i].dst, v[i].dport, v[i].src, v[i].sport, v[i].proto, v[i].cid);
    }

    struct flow_table *ft = flow_table_new(1 << 20, 60, 5, SEED, NULL, NULL);
    struct packet p = pkt("128.232.110.120", 34855, "66.35.250.204", 80, TCP_SYN);
    struct flow *f = flow_lookup(ft, &p, 1, NULL);
    char small[30];
    memset(small, 'z', sizeof(small));
    flow_community_id(f, small, sizeof(small));
    assert_string_equal(small, ""); /* too small for the 30 characters: nothing written */
    flow_table_free(ft);
}

static void test_ipv6_keys(void **state)
{
    (void)state;
    struct log l = {0};
    struct flow_table *ft = flow_table_new(1 << 20, 60, 5, SEED, on_free, &l);
    int s1, s2;
    struct packet a = pkt("2001:db8::1", 5000, "2001:db8::2", 443, TCP_SYN);
    struct packet b = pkt("2001:db8::2", 443, "2001:db8::1", 5000, TCP_SYN | TCP_ACK);
    struct flow *f1 = flow_lookup(ft, &a, 1, &s1);
    struct flow *f2 = flow_lookup(ft, &b, 2, &s2);
    assert_ptr_equal(f1, f2);
    assert_int_equal(s1, 0);
    assert_int_equal(s2, 1);
    assert_int_equal(f1->key.ip_version, 6);
    /* differing only in the last address byte */
    struct packet c = pkt("2001:db8::3", 5000, "2001:db8::2", 443, TCP_SYN);
    assert_ptr_not_equal(flow_lookup(ft, &c, 3, NULL), f1);
    /* an IPv4 flow whose addresses equal the IPv6 ones' first 4 bytes is another flow */
    struct packet v6 = pkt("a00:1::", 1, "a00:2::", 2, TCP_SYN);
    struct packet v4 = pkt("10.0.0.1", 1, "10.0.0.2", 2, TCP_SYN);
    struct flow *f6 = flow_lookup(ft, &v6, 4, NULL);
    struct flow *f4 = flow_lookup(ft, &v4, 5, NULL);
    assert_ptr_not_equal(f6, f4);
    /* an IPv4 packet with stray bytes past its 4-byte addresses still finds its flow */
    v4.src[9] = 0xee;
    v4.dst[15] = 0x11;
    assert_ptr_equal(flow_lookup(ft, &v4, 6, NULL), f4);
    assert_int_equal(flow_table_stats(ft)->total, 4);
    flow_table_free(ft);
    assert_int_equal(l.shutdown, 4);
}

static void test_vlan(void **state)
{
    (void)state;
    struct log l = {0};
    struct flow_table *ft = flow_table_new(1 << 20, 60, 5, SEED, on_free, &l);
    struct packet p = pkt("10.0.0.1", 1234, "10.0.0.2", 80, TCP_SYN);
    struct flow *untagged = flow_lookup(ft, &p, 1, NULL);
    p.vlan_count = 1;
    p.vlan[0] = 10;
    struct flow *v10 = flow_lookup(ft, &p, 2, NULL);
    p.vlan[0] = 20;
    struct flow *v20 = flow_lookup(ft, &p, 3, NULL);
    p.vlan_count = 2;
    p.vlan[1] = 30;
    struct flow *v2030 = flow_lookup(ft, &p, 4, NULL);
    assert_ptr_not_equal(untagged, v10);
    assert_ptr_not_equal(v10, v20);
    assert_ptr_not_equal(v20, v2030);
    assert_ptr_not_equal(untagged, v20);
    struct packet r = pkt("10.0.0.2", 80, "10.0.0.1", 1234, TCP_SYN | TCP_ACK);
    r.vlan_count = 1;
    r.vlan[0] = 10;
    r.vlan[1] = 999; /* beyond vlan_count: ignored */
    assert_ptr_equal(flow_lookup(ft, &r, 5, NULL), v10);
    assert_int_equal(flow_table_stats(ft)->total, 4);
    flow_table_free(ft);
    assert_int_equal(l.shutdown, 4);
}

static struct flow *syn_at(struct flow_table *ft, struct packet *p, uint32_t seq, uint8_t flags,
                           uint64_t now)
{
    p->seq = seq;
    p->tcp_flags = flags;
    return flow_lookup(ft, p, now, NULL);
}

/* A new connection on the same 5-tuple ends the old flow (pending events written through
 * on_free) and starts a new one; retransmitted SYNs and SYNs from the server side do not. */
static void test_port_reuse(void **state)
{
    (void)state;
    struct log l = {0};
    struct flow_table *ft = flow_table_new(1 << 20, 60, 5, SEED, on_free, &l);
    struct packet c = pkt("10.9.0.1", 40000, "10.9.0.2", 80, TCP_SYN);
    struct packet sv = pkt("10.9.0.2", 80, "10.9.0.1", 40000, TCP_SYN | TCP_ACK);

    struct flow *f1 = syn_at(ft, &c, 1000, TCP_SYN, 1);
    f1->app = malloc(8);
    uint64_t id1 = f1->flow_id;
    assert_ptr_equal(syn_at(ft, &c, 1000, TCP_SYN, 2), f1);        /* retransmitted SYN */
    assert_ptr_equal(syn_at(ft, &sv, 9000, TCP_SYN | TCP_ACK, 3), f1);
    assert_ptr_equal(syn_at(ft, &c, 1001, TCP_ACK, 4), f1);
    assert_ptr_equal(syn_at(ft, &sv, 9000, TCP_SYN, 5), f1);       /* the server's SYN: noise */
    assert_ptr_equal(syn_at(ft, &c, 1000, TCP_SYN | TCP_RST, 6), f1);
    assert_int_equal(l.n, 0);

    /* the client's SYN with another ISN on an open flow: the SPAN port missed the close */
    struct flow *f2 = syn_at(ft, &c, 5000, TCP_SYN, 7);
    assert_int_equal(l.reuse, 1);
    assert_int_equal(l.last_id, id1);
    assert_true(f2->flow_id != id1);
    assert_int_equal(f2->first_us, 7);
    assert_int_equal(f2->syn_isn, 5000);
    assert_int_equal(flow_table_stats(ft)->reused, 1);
    assert_int_equal(flow_table_stats(ft)->total, 2);
    assert_int_equal(flow_table_stats(ft)->active, 1);

    /* closed: any SYN, even with the same ISN (a tool that reuses ISNs) */
    flow_mark_closed(ft, f2);
    struct flow *f3 = syn_at(ft, &c, 5000, TCP_SYN, 8);
    assert_int_equal(l.reuse, 2);
    assert_int_equal(f3->closed, 0);

    /* half-closed: a FIN from either side ends that connection */
    assert_ptr_equal(syn_at(ft, &sv, 7000, TCP_FIN | TCP_ACK, 9), f3);
    struct flow *f4 = syn_at(ft, &c, 5000, TCP_SYN, 10);
    assert_int_equal(l.reuse, 3);
    assert_ptr_equal(syn_at(ft, &c, 5000, TCP_SYN, 11), f4);      /* and its own retransmission */

    /* picked up mid-stream: the known client's SYN is a new connection, the server's is not */
    struct packet m = pkt("10.9.0.3", 40001, "10.9.0.2", 80, TCP_ACK | TCP_PSH);
    struct packet ms = pkt("10.9.0.2", 80, "10.9.0.3", 40001, TCP_ACK | TCP_PSH);
    int side;
    struct flow *g = flow_lookup(ft, &m, 12, &side);
    flow_set_client(g, side);
    assert_ptr_equal(syn_at(ft, &ms, 1, TCP_SYN, 13), g);
    struct flow *g2 = syn_at(ft, &m, 2, TCP_SYN, 14);
    assert_int_equal(l.reuse, 4);
    assert_int_equal(g2->client, side);
    assert_int_equal(flow_table_stats(ft)->reused, 4);
    assert_int_equal(flow_table_stats(ft)->total, 6);
    flow_table_free(ft);
    assert_int_equal(l.shutdown, 2);
}

/* Thousands of SYNs from random sources against a memcap that also charges the owner's state
 * per flow: the table never holds more than fits, the oldest half-open flows go first, the
 * counter says so, and a real connection afterwards gets its flow. */
static void test_syn_flood(void **state)
{
    (void)state;
    enum { STATE = 700, ROOM = 50, N = 20000 };
    struct log l = {0};
    size_t memcap = 1024 * sizeof(struct flow *) + ROOM * (sizeof(struct flow) + STATE);
    struct flow_table *ft = flow_table_new(memcap, 60, 5, SEED, on_free, &l);
    assert_int_equal(flow_table_set_state_size(ft, STATE), 0);
    uint64_t x = 88172645463325252ULL;
    struct packet p = pkt("0.0.0.0", 0, "192.0.2.80", 80, TCP_SYN);
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p.src, &x, 4);
        p.sport = (uint16_t)(x >> 32);
        p.seq = (uint32_t)(x >> 16);
        assert_non_null(flow_lookup(ft, &p, (uint64_t)i, NULL));
        assert_true(flow_table_stats(ft)->active <= ROOM);
    }
    assert_int_equal(flow_table_stats(ft)->active, ROOM);
    assert_int_equal(flow_table_stats(ft)->memcap, N - ROOM);
    assert_int_equal(l.memcap, N - ROOM);
    assert_int_equal(flow_table_set_state_size(ft, 1), -1); /* not while flows exist */

    struct packet c = pkt("10.0.0.7", 50000, "192.0.2.80", 80, TCP_SYN);
    struct flow *f = flow_lookup(ft, &c, N + 1, NULL);
    assert_non_null(f);
    struct packet sa = pkt("192.0.2.80", 80, "10.0.0.7", 50000, TCP_SYN | TCP_ACK);
    assert_ptr_equal(flow_lookup(ft, &sa, N + 2, NULL), f);
    c.tcp_flags = TCP_ACK | TCP_PSH;
    assert_ptr_equal(flow_lookup(ft, &c, N + 3, NULL), f);
    assert_int_equal(f->client, f->key.port[0] == 50000 ? 0 : 1);
    flow_table_free(ft);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_directions),
        cmocka_unit_test(test_client_side),
        cmocka_unit_test(test_memcap_eviction),
        cmocka_unit_test(test_charge),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_many_flows),
        cmocka_unit_test(test_community_id),
        cmocka_unit_test(test_ipv6_keys),
        cmocka_unit_test(test_vlan),
        cmocka_unit_test(test_port_reuse),
        cmocka_unit_test(test_syn_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
