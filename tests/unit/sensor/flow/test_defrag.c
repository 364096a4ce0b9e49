/* test_defrag.c — unit tests for sensor/flow/defrag.c: IPv4 and IPv6 reassembly in order, reversed
 * and in every order of 4 fragments; duplicates; overlaps with equal and different bytes (first
 * copy wins); IPv6 overlaps drop the datagram (RFC 5722) but exact duplicates do not (RFC 8200
 * §4.5); a hole never filled times out; the memcap under a flood of incomplete datagrams (memory
 * bounded, oldest evicted, new datagrams still complete); 65535-byte limits; conflicting ends;
 * the per-datagram fragment cap; the rebuilt headers (IPv4 checksum and lengths, IPv6 payload
 * length and Next Header patched past extension headers), decoded again with decode_ip(); atomic
 * fragments (RFC 6946); keys; teardown with datagrams held (ASan checks for leaks). Packets are
 * built by hand: pkt.frag is filled as decode fills it for a DECODE_FRAGMENT packet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <malloc.h>

#include "defrag.h"

static const uint8_t SEED[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
#define T0 UINT64_C(1685620800000000)
#define SEC UINT64_C(1000000)
#define TIMEOUT_S 30

/* One fragment to send: which datagram, where, what. */
struct frag {
    int v6, ext;              /* IPv6; with Hop-by-Hop + Destination Options before Fragment */
    const char *src, *dst;
    uint32_t id;
    uint8_t proto;
    uint32_t off, len;
    int more;
    const uint8_t *data;      /* the fragment's bytes (len of them) */
    int ip_opts;              /* IPv4: add 4 bytes of options (IHL 6) */
    uint16_t vlan;            /* 0 = untagged */
};

static const char *S4 = "10.0.0.1", *D4 = "10.0.0.2";
static const char *S6 = "2001:db8::1", *D6 = "2001:db8::2";

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Builds the header decode would point frag.hdr at, fills pkt, and calls defrag_add. */
static int add(struct defrag *d, struct frag fv, uint64_t now, const uint8_t **out,
               size_t *out_len)
{
    const struct frag *f = &fv;
    uint8_t hdr[128] = {0};
    struct packet pkt;
    memset(&pkt, 0, sizeof(pkt));
    if (!f->v6) {
        uint32_t hl = f->ip_opts ? 24 : 20;
        uint32_t tot = hl + f->len;
        hdr[0] = (uint8_t)(0x40 | hl / 4);
        hdr[2] = (uint8_t)(tot >> 8);
        hdr[3] = (uint8_t)tot;
        hdr[4] = (uint8_t)(f->id >> 8);
        hdr[5] = (uint8_t)f->id;
        uint16_t fo = (uint16_t)((f->more ? 0x2000 : 0) | (f->off / 8));
        if (f->ip_opts)
            fo |= 0x4000; /* DF set too: the rebuilt header must keep it */
        hdr[6] = (uint8_t)(fo >> 8);
        hdr[7] = (uint8_t)fo;
        hdr[8] = 64;
        hdr[9] = f->proto;
        assert_int_equal(inet_pton(AF_INET, f->src, hdr + 12), 1);
        assert_int_equal(inet_pton(AF_INET, f->dst, hdr + 16), 1);
        if (f->ip_opts)
            memcpy(hdr + 20, "\x94\x04\x00\x00", 4); /* Router Alert, copied flag set */
        uint16_t c = csum(hdr, hl);
        hdr[10] = (uint8_t)(c >> 8);
        hdr[11] = (uint8_t)c;
        memcpy(pkt.src, hdr + 12, 4);
        memcpy(pkt.dst, hdr + 16, 4);
        pkt.frag.hdr_len = hl;
    } else {
        uint32_t ext = f->ext ? 16 : 0;
        uint32_t plen = ext + 8 + f->len;
        hdr[0] = 0x60;
        hdr[4] = (uint8_t)(plen >> 8);
        hdr[5] = (uint8_t)plen;
        hdr[6] = f->ext ? 0 : 44;
        hdr[7] = 64;
        assert_int_equal(inet_pton(AF_INET6, f->src, hdr + 8), 1);
        assert_int_equal(inet_pton(AF_INET6, f->dst, hdr + 24), 1);
        if (f->ext) {
            memcpy(hdr + 40, "\x3c\x00\x01\x04\x00\x00\x00\x00", 8); /* HbH ─► DstOpts */
            memcpy(hdr + 48, "\x2c\x00\x01\x04\x00\x00\x00\x00", 8); /* DstOpts ─► Fragment */
        }
        memcpy(pkt.src, hdr + 8, 16);
        memcpy(pkt.dst, hdr + 24, 16);
        pkt.frag.hdr_len = 40 + ext;
    }
    pkt.ip_version = f->v6 ? 6 : 4;
    pkt.ip_proto = f->proto;
    if (f->vlan) {
        pkt.vlan[0] = f->vlan;
        pkt.vlan_count = 1;
    }
    pkt.frag.ip_version = pkt.ip_version;
    pkt.frag.proto = f->proto;
    pkt.frag.more = (uint8_t)f->more;
    pkt.frag.id = f->id;
    pkt.frag.offset = f->off;
    pkt.frag.hdr = hdr;
    pkt.frag.data = f->data;
    pkt.frag.data_len = f->len;
    const uint8_t *o = NULL;
    size_t n = 0;
    int r = defrag_add(d, &pkt, now, &o, &n);
    if (r)
        assert_non_null(o);
    else
        assert_null(o);
    if (out) {
        *out = o;
        *out_len = n;
    }
    return r;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

static struct frag v4(uint32_t id, uint32_t off, uint32_t len, int more, const uint8_t *payload)
{
    struct frag f = {.src = S4, .dst = D4, .id = id, .proto = 6, .off = off, .len = len,
                     .more = more, .data = payload + off};
    return f;
}

static struct frag v6(uint32_t id, uint32_t off, uint32_t len, int more, const uint8_t *payload)
{
    struct frag f = v4(id, off, len, more, payload);
    f.v6 = 1;
    f.src = S6;
    f.dst = D6;
    return f;
}

/* Checks a rebuilt IPv4 datagram: lengths, MF/offset cleared, checksum valid, payload. */
static void check_v4(const uint8_t *o, size_t n, size_t hl, const uint8_t *payload, size_t plen)
{
    assert_int_equal(n, hl + plen);
    assert_int_equal(o[0], 0x40 | hl / 4);
    assert_int_equal((size_t)(o[2] << 8 | o[3]), n);
    assert_int_equal(o[6] & 0x3f, 0);
    assert_int_equal(o[7], 0);
    assert_int_equal(csum(o, hl), 0); /* a header with a correct checksum sums to 0xffff */
    assert_memory_equal(o + hl, payload, plen);
}

static void check_v6(const uint8_t *o, size_t n, size_t ext, uint8_t proto, const uint8_t *payload,
                     size_t plen)
{
    assert_int_equal(n, 40 + ext + plen);
    assert_int_equal(o[0] >> 4, 6);
    assert_int_equal((size_t)(o[4] << 8 | o[5]), ext + plen);
    if (ext) {
        assert_int_equal(o[6], 0);
        assert_int_equal(o[40], 60);
        assert_int_equal(o[48], proto); /* DstOpts now points past the removed Fragment header */
    } else {
        assert_int_equal(o[6], proto);
    }
    assert_memory_equal(o + 40 + ext, payload, plen);
}

static struct defrag *mk(size_t memcap)
{
    struct defrag *d = defrag_new(memcap, TIMEOUT_S, SEED);
    assert_non_null(d);
    return d;
}

/* ---- order ----------------------------------------------------------------------------------- */

static void test_v4_in_order_and_reverse(void **state)
{
    (void)state;
    uint8_t pl[100];
    fill(pl, sizeof(pl), 1);
    struct defrag *d = mk(1 << 20);
    const uint8_t *o;
    size_t n;
    /* In order: 40 + 40 + 20. */
    assert_int_equal(add(d, v4(7, 0, 40, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(7, 40, 40, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(7, 80, 20, 0, pl), T0, &o, &n), 1);
    check_v4(o, n, 20, pl, 100);
    assert_int_equal(o[9], 6);
    assert_int_equal(o[4] << 8 | o[5], 7);
    /* Reverse, same id again: the first datagram is gone, this is a new one. */
    assert_int_equal(add(d, v4(7, 80, 20, 0, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(7, 40, 40, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(7, 0, 40, 1, pl), T0, &o, &n), 1);
    check_v4(o, n, 20, pl, 100);
    const struct defrag_stats *st = defrag_stats(d);
    assert_int_equal(st->fragments, 6);
    assert_int_equal(st->reassembled, 2);
    assert_int_equal(st->overlaps + st->invalid + st->memcap_drops + st->timeouts, 0);
    size_t empty = defrag_memuse(d);
    add(d, v4(8, 0, 40, 1, pl), T0, NULL, NULL);
    assert_true(defrag_memuse(d) > empty + 40);
    defrag_free(d);
}

/* Every order of 4 fragments completes exactly at the 4th, with identical output. */
static void run_permutations(int ipv6, int ext)
{
    uint8_t pl[96];
    fill(pl, sizeof(pl), 3);
    struct defrag *d = mk(1 << 20);
    const uint32_t offs[4] = {0, 24, 48, 72}, lens[4] = {24, 24, 24, 24};
    unsigned perms = 0;
    for (unsigned code = 0; code < 256; code++) {
        unsigned p[4], seen = 0;
        for (int i = 0; i < 4; i++) {
            p[i] = code >> (2 * i) & 3;
            seen |= 1u << p[i];
        }
        if (seen != 15)
            continue;
        perms++;
        const uint8_t *o = NULL;
        size_t n = 0;
        for (int i = 0; i < 4; i++) {
            struct frag f = ipv6 ? v6(1000 + code, offs[p[i]], lens[p[i]], p[i] != 3, pl)
                                 : v4(1000 + code, offs[p[i]], lens[p[i]], p[i] != 3, pl);
            f.ext = ext;
            int r = add(d, f, T0 + code, &o, &n);
            assert_int_equal(r, i == 3);
        }
        if (ipv6)
            check_v6(o, n, ext ? 16 : 0, 6, pl, sizeof(pl));
        else
            check_v4(o, n, 20, pl, sizeof(pl));
    }
    assert_int_equal(perms, 24);
    const struct defrag_stats *st = defrag_stats(d);
    assert_int_equal(st->reassembled, 24);
    assert_int_equal(st->fragments, 96);
    assert_int_equal(st->overlaps + st->invalid + st->memcap_drops + st->timeouts, 0);
    defrag_free(d);
}

static void test_v4_permutations(void **state)
{
    (void)state;
    run_permutations(0, 0);
}

static void test_v6_permutations(void **state)
{
    (void)state;
    run_permutations(1, 0);
    run_permutations(1, 1);
}

/* ---- overlaps -------------------------------------------------------------------------------- */

static void test_v4_duplicates(void **state)
{
    (void)state;
    uint8_t pl[64];
    fill(pl, sizeof(pl), 5);
    struct defrag *d = mk(1 << 20);
    const uint8_t *o;
    size_t n;
    assert_int_equal(add(d, v4(1, 0, 32, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(1, 0, 32, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(1, 0, 16, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(1, 32, 32, 0, pl), T0, &o, &n), 1);
    check_v4(o, n, 20, pl, 64);
    const struct defrag_stats *st = defrag_stats(d);
    assert_int_equal(st->overlaps, 2);
    assert_int_equal(st->overlap_diff, 0);
    assert_int_equal(st->invalid, 0);
    defrag_free(d);
}

/* A later copy with different bytes never replaces a held byte; the new bytes it carries that
 * fill holes are kept (on both sides of a held piece it straddles). */
static void test_v4_overlap_first_wins(void **state)
{
    (void)state;
    uint8_t a[64], x[64], want[64];
    memset(a, 'A', sizeof(a));
    memset(x, 'X', sizeof(x));
    struct defrag *d = mk(1 << 20);
    const uint8_t *o;
    size_t n;
    /* held [16,32) of A; then X over [8,40); then A [0,8) and the last [40,64). */
    assert_int_equal(add(d, v4(2, 16, 16, 1, a), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(2, 8, 32, 1, x), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(2, 0, 16, 1, a), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(2, 40, 24, 0, a), T0, &o, &n), 1);
    memset(want, 'A', sizeof(want));
    memset(want + 8, 'X', 8);  /* X filled [8,16) before A's copy of [0,16) came */
    memset(want + 32, 'X', 8); /* and [32,40) past the held A */
    check_v4(o, n, 20, want, 64);
    const struct defrag_stats *st = defrag_stats(d);
    assert_int_equal(st->overlaps, 2);     /* X over A; then A [0,16) over X [8,16) */
    assert_int_equal(st->overlap_diff, 2);
    assert_int_equal(st->reassembled, 1);
    defrag_free(d);
}

/* The offset-0 fragment's header is used, the first copy of it. */
static void test_v4_first_header_wins(void **state)
{
    (void)state;
    uint8_t pl[32];
    fill(pl, sizeof(pl), 9);
    struct defrag *d = mk(1 << 20);
    const uint8_t *o;
    size_t n;
    struct frag f0 = v4(3, 0, 16, 1, pl);
    f0.ip_opts = 1;
    assert_int_equal(add(d, f0, T0, &o, &n), 0);
    assert_int_equal(add(d, v4(3, 0, 16, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(3, 16, 16, 0, pl), T0, &o, &n), 1);
    check_v4(o, n, 24, pl, 32);
    assert_int_equal(o[6] & 0x40, 0x40); /* DF kept */
    assert_memory_equal(o + 20, "\x94\x04\x00\x00", 4);
    defrag_free(d);
}

static void test_v6_overlap_drops_datagram(void **state)
{
    (void)state;
    uint8_t pl[48], x[48];
    fill(pl, sizeof(pl), 11);
    memset(x, 'X', sizeof(x));
    struct defrag *d = mk(1 << 20);
    const uint8_t *o;
    size_t n;
    /* Overlap with equal bytes still drops it (RFC 5722 makes no exception for that). */
    assert_int_equal(add(d, v6(5, 0, 24, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v6(5, 16, 16, 1, pl), T0, &o, &n), 0);
    const struct defrag_stats *st = defrag_stats(d);
    assert_int_equal(st->invalid, 1);
    assert_int_equal(st->overlaps, 1);
    assert_int_equal(st->overlap_diff, 0);
    /* The rest of it, including not yet received fragments, is discarded. */
    assert_int_equal(add(d, v6(5, 24, 24, 0, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v6(5, 0, 24, 1, pl), T0, &o, &n), 0);
    assert_int_equal(st->reassembled, 0);
    assert_int_equal(st->invalid, 1);
    /* Different bytes: counted as overlap_diff too. */
    assert_int_equal(add(d, v6(6, 0, 24, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v6(6, 8, 8, 1, x), T0, &o, &n), 0);
    assert_int_equal(st->invalid, 2);
    assert_int_equal(st->overlap_diff, 1);
    /* The tombstone goes at the timeout; the id can then be used again. */
    defrag_expire(d, T0 + TIMEOUT_S * SEC);
    assert_int_equal(st->timeouts, 0); /* tombstones are not incomplete datagrams */
    assert_int_equal(add(d, v6(5, 0, 24, 1, pl), T0 + TIMEOUT_S * SEC, &o, &n), 0);
    assert_int_equal(add(d, v6(5, 24, 24, 0, pl), T0 + TIMEOUT_S * SEC, &o, &n), 1);
    check_v6(o, n, 0, 6, pl, 48);
    defrag_free(d);
}

static void test_v6_exact_duplicate_kept(void **state)
{
    (void)state;
    uint8_t pl[48];
    fill(pl, sizeof(pl), 13);
    struct defrag *d = mk(1 << 20);
    const uint8_t *o;
    size_t n;
    assert_int_equal(add(d, v6(9, 24, 24, 0, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v6(9, 24, 24, 0, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v6(9, 0, 24, 1, pl), T0, &o, &n), 1);
    check_v6(o, n, 0, 6, pl, 48);
    const struct defrag_stats *st = defrag_stats(d);
    assert_int_equal(st->overlaps, 1);
    assert_int_equal(st->invalid, 0);
    defrag_free(d);
}

/* RFC 8200 §4.5: the Next Header of the offset-0 fragment is the one used. */
static void test_v6_next_header_from_first(void **state)
{
    (void)state;
    uint8_t pl[32];
    fill(pl, sizeof(pl), 15);
    struct defrag *d = mk(1 << 20);
    const uint8_t *o;
    size_t n;
    struct frag f1 = v6(11, 16, 16, 0, pl);
    f1.proto = 17;
    f1.ext = 1;
    struct frag f0 = v6(11, 0, 16, 1, pl);
    f0.ext = 1;
    assert_int_equal(add(d, f1, T0, &o, &n), 0);
    assert_int_equal(add(d, f0, T0, &o, &n), 1);
    check_v6(o, n, 16, 6, pl, 32);
    defrag_free(d);
}

/* RFC 6946: an atomic fragment (offset 0, no MF) is a datagram by itself; a datagram being
 * reassembled under the same id is left alone (no overlap, no RFC 5722 drop). */
static void test_atomic_fragment(void **state)
{
    (void)state;
    uint8_t pl[48], x[40];
    fill(pl, sizeof(pl), 33);
    memset(x, 'X', sizeof(x));
    struct defrag *d = mk(1 << 20);
    const struct defrag_stats *st = defrag_stats(d);
    const uint8_t *o;
    size_t n;
    size_t empty = defrag_memuse(d);
    assert_int_equal(add(d, v6(81, 0, 24, 1, pl), T0, &o, &n), 0);
    struct frag at = v6(81, 0, 40, 0, x);
    at.ext = 1;
    assert_int_equal(add(d, at, T0, &o, &n), 1);
    check_v6(o, n, 16, 6, x, 40);
    assert_int_equal(add(d, v6(81, 24, 24, 0, pl), T0, &o, &n), 1);
    check_v6(o, n, 0, 6, pl, 48);
    assert_int_equal(st->reassembled, 2);
    assert_int_equal(st->overlaps + st->invalid, 0);
    /* An empty one is a bare header. */
    assert_int_equal(add(d, v4(82, 0, 0, 0, pl), T0, &o, &n), 1);
    check_v4(o, n, 20, pl, 0);
    assert_int_equal(defrag_memuse(d), empty);
    defrag_free(d);
}

/* ---- time and memory ------------------------------------------------------------------------- */

static void test_timeout(void **state)
{
    (void)state;
    uint8_t pl[48];
    fill(pl, sizeof(pl), 17);
    struct defrag *d = mk(1 << 20);
    size_t empty = defrag_memuse(d);
    const struct defrag_stats *st = defrag_stats(d);
    const uint8_t *o;
    size_t n;
    /* A hole at [16,32) never filled; later fragments do not extend the deadline. */
    add(d, v4(4, 0, 16, 1, pl), T0, &o, &n);
    add(d, v4(4, 32, 16, 0, pl), T0 + 20 * SEC, &o, &n);
    defrag_expire(d, T0 + TIMEOUT_S * SEC - 1);
    assert_int_equal(st->timeouts, 0);
    defrag_expire(d, T0 + TIMEOUT_S * SEC);
    assert_int_equal(st->timeouts, 1);
    assert_int_equal(defrag_memuse(d), empty);
    /* The missing piece arriving late starts a datagram of its own, which cannot complete. */
    assert_int_equal(add(d, v4(4, 16, 16, 1, pl), T0 + 31 * SEC, &o, &n), 0);
    assert_int_equal(st->reassembled, 0);
    /* defrag_add expires by itself too. */
    add(d, v4(5, 0, 16, 1, pl), T0 + 100 * SEC, &o, &n);
    assert_int_equal(st->timeouts, 2);
    /* A clock that steps back does not expire anything early. */
    add(d, v4(6, 0, 16, 1, pl), T0 + 50 * SEC, &o, &n);
    defrag_expire(d, T0 + 129 * SEC);
    assert_int_equal(st->timeouts, 2);
    defrag_expire(d, T0 + 130 * SEC);
    assert_int_equal(st->timeouts, 4);
    assert_int_equal(defrag_memuse(d), empty);
    defrag_free(d);
}

/* A flood of incomplete datagrams: memory stays under the memcap, the oldest are evicted, and
 * a datagram completes afterwards; one that started before the flood's tail survives it. */
static void test_memcap_flood(void **state)
{
    (void)state;
    enum { N = 5000, MEMCAP = 256 * 1024 };
    uint8_t pl[1024];
    fill(pl, sizeof(pl), 19);
    struct defrag *d = mk(MEMCAP);
    const struct defrag_stats *st = defrag_stats(d);
    const uint8_t *o;
    size_t n;
    uint32_t ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = ((uint32_t)i * 40503u + 12345u) & 0xffff; /* odd multiplier: all distinct */
        struct frag f = v4(ids[i], 0, 1000, 1, pl);
        f.src = i & 1 ? "192.0.2.7" : "192.0.2.8";
        assert_int_equal(add(d, f, T0 + (uint64_t)i, &o, &n), 0);
        assert_true(defrag_memuse(d) <= MEMCAP);
    }
    assert_int_equal(st->fragments, N);
    assert_int_equal(st->timeouts, 0);
    /* Each datagram costs more than 1000 bytes, so at most MEMCAP/1000 are held. */
    assert_true(st->memcap_drops >= N - MEMCAP / 1000);
    assert_true(st->memcap_drops < N);
    /* The oldest is gone: its second half starts a new datagram. The newest is held. */
    struct frag first = v4(ids[0], 1000, 24, 0, pl);
    first.src = "192.0.2.8";
    assert_int_equal(add(d, first, T0 + N, &o, &n), 0);
    struct frag last = v4(ids[N - 1], 1000, 24, 0, pl);
    last.src = "192.0.2.7";
    assert_int_equal(add(d, last, T0 + N, &o, &n), 1);
    check_v4(o, n, 20, pl, 1024);
    /* A new datagram completes despite the full table. */
    assert_int_equal(add(d, v4(77, 0, 512, 1, pl), T0 + N, &o, &n), 0);
    assert_int_equal(add(d, v4(77, 512, 512, 0, pl), T0 + N, &o, &n), 1);
    check_v4(o, n, 20, pl, 1024);
    assert_int_equal(st->reassembled, 2);
    assert_true(defrag_memuse(d) <= MEMCAP);
    defrag_free(d); /* with ~250 datagrams held: ASan reports any leak */
}

/* The memcap counts what the heap really gives: for a flood of 8-byte first fragments, the
 * allocator's per-block overhead is a third of it, and what is charged must cover it (glibc's
 * mallinfo2 measures the heap; skipped under a sanitizer's allocator, which it cannot see). */
static void test_memcap_counts_overhead(void **state)
{
    (void)state;
    enum { N = 2000 };
    uint8_t pl[8];
    fill(pl, sizeof(pl), 23);
    struct defrag *d = mk(4u << 20);
    const uint8_t *o;
    size_t n;
    size_t heap0 = mallinfo2().uordblks, used0 = defrag_memuse(d);
    for (int i = 0; i < N; i++) {
        struct frag f = v4((uint32_t)i, 0, 8, 1, pl);
        f.src = i & 1 ? "192.0.2.9" : "192.0.2.10";
        assert_int_equal(add(d, f, T0, &o, &n), 0);
    }
    assert_int_equal(defrag_stats(d)->memcap_drops, 0);
    size_t heap = mallinfo2().uordblks - heap0, charged = defrag_memuse(d) - used0;
    defrag_free(d);
    if (heap == 0)
        skip();
    assert_true(heap <= charged);
}

/* A memcap too small for one fragment: it is dropped and counted, nothing leaks. */
static void test_memcap_tiny(void **state)
{
    (void)state;
    uint8_t pl[1024];
    fill(pl, sizeof(pl), 21);
    struct defrag *d = mk(1536);
    const struct defrag_stats *st = defrag_stats(d);
    const uint8_t *o;
    size_t n;
    assert_int_equal(add(d, v4(1, 0, 1016, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(1, 1016, 8, 0, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(1, 0, 1016, 1, pl), T0, &o, &n), 0);
    assert_true(defrag_memuse(d) <= 1536);
    assert_int_equal(st->memcap_drops, 2); /* the two 1016-byte copies; the small one is held */
    assert_int_equal(st->reassembled, 0);
    defrag_free(d);
}

/* ---- limits ---------------------------------------------------------------------------------- */

/* 65535 bytes in all is the most an IPv4 datagram may have; one more byte is invalid. */
static void test_v4_size_limit(void **state)
{
    (void)state;
    enum { MAXPL = 65535 - 20, CH = 8184 };
    uint8_t *pl = malloc(MAXPL + 8);
    assert_non_null(pl);
    fill(pl, MAXPL + 8, 23);
    struct defrag *d = mk(1 << 20);
    const struct defrag_stats *st = defrag_stats(d);
    const uint8_t *o = NULL;
    size_t n = 0;
    for (uint32_t off = 0; off < MAXPL; off += CH) {
        uint32_t len = MAXPL - off < CH ? MAXPL - off : CH;
        int r = add(d, v4(21, off, len, off + len < MAXPL, pl), T0, &o, &n);
        assert_int_equal(r, off + len == MAXPL);
    }
    check_v4(o, n, 20, pl, MAXPL);
    /* Ping of death: the datagram would end past 65535. */
    for (uint32_t off = 0; off < MAXPL + 1; off += CH) {
        uint32_t len = MAXPL + 1 - off < CH ? MAXPL + 1 - off : CH;
        assert_int_equal(add(d, v4(22, off, len, off + len <= MAXPL, pl), T0, &o, &n),
                         0);
    }
    assert_int_equal(st->invalid, 1);
    assert_int_equal(st->reassembled, 1);
    /* The offset alone past the limit, as the first fragment seen. */
    struct frag big = v4(23, 65528, 8, 0, pl);
    big.data = pl;
    assert_int_equal(add(d, big, T0, &o, &n), 0);
    assert_int_equal(st->invalid, 2);
    /* IPv6: 65535 bytes of payload after the fixed header, extension headers included. */
    struct frag f = v6(24, 65528 - 16, 16, 0, pl);
    f.ext = 1;
    f.data = pl;
    assert_int_equal(add(d, f, T0, &o, &n), 0);
    assert_int_equal(st->invalid, 3);
    f.off = 65512 - 16;
    assert_int_equal(add(d, f, T0, &o, &n), 0); /* 16 + 65512 bytes of payload: held */
    assert_int_equal(st->invalid, 3);
    free(pl);
    defrag_free(d);
}

static void test_conflicting_ends(void **state)
{
    (void)state;
    uint8_t pl[64];
    fill(pl, sizeof(pl), 25);
    struct defrag *d = mk(1 << 20);
    const struct defrag_stats *st = defrag_stats(d);
    const uint8_t *o;
    size_t n;
    /* Two last fragments that end in different places. */
    add(d, v4(31, 32, 32, 0, pl), T0, &o, &n);
    add(d, v4(31, 32, 16, 0, pl), T0, &o, &n);
    assert_int_equal(st->invalid, 1);
    assert_int_equal(add(d, v4(31, 0, 32, 1, pl), T0, &o, &n), 0);
    /* Data past a known end. */
    add(d, v4(32, 16, 16, 0, pl), T0, &o, &n);
    add(d, v4(32, 24, 16, 1, pl), T0, &o, &n);
    assert_int_equal(st->invalid, 2);
    /* A last fragment that ends before data already held. */
    add(d, v4(33, 32, 32, 1, pl), T0, &o, &n);
    add(d, v4(33, 16, 8, 0, pl), T0, &o, &n);
    assert_int_equal(st->invalid, 3);
    /* The same last fragment twice is no conflict. */
    add(d, v4(34, 32, 32, 0, pl), T0, &o, &n);
    add(d, v4(34, 32, 32, 0, pl), T0, &o, &n);
    assert_int_equal(add(d, v4(34, 0, 32, 1, pl), T0, &o, &n), 1);
    check_v4(o, n, 20, pl, 64);
    assert_int_equal(st->invalid, 3);
    assert_int_equal(st->reassembled, 1);
    defrag_free(d);
}

static void test_fragment_cap(void **state)
{
    (void)state;
    uint8_t pl[256 * 8];
    fill(pl, sizeof(pl), 27);
    struct defrag *d = mk(1 << 22);
    const struct defrag_stats *st = defrag_stats(d);
    const uint8_t *o = NULL;
    size_t n = 0;
    /* 256 fragments of 8 bytes: the most allowed. */
    for (uint32_t i = 0; i < 256; i++)
        assert_int_equal(add(d, v4(41, i * 8, 8, i < 255, pl), T0, &o, &n), i == 255);
    check_v4(o, n, 20, pl, sizeof(pl));
    /* 256 duplicates of one fragment, then the 257th fragment: invalid. */
    for (uint32_t i = 0; i < 256; i++)
        add(d, v4(42, 0, 8, 1, pl), T0, &o, &n);
    assert_int_equal(st->invalid, 0);
    assert_int_equal(add(d, v4(42, 8, 8, 0, pl), T0, &o, &n), 0);
    assert_int_equal(st->invalid, 1);
    assert_int_equal(st->overlaps, 255);
    defrag_free(d);
}

static void test_bad_fragments(void **state)
{
    (void)state;
    uint8_t pl[64];
    fill(pl, sizeof(pl), 29);
    struct defrag *d = mk(1 << 20);
    const struct defrag_stats *st = defrag_stats(d);
    const uint8_t *o;
    size_t n;
    /* Not the last fragment, yet not a multiple of 8 bytes; or empty. */
    add(d, v4(51, 0, 20, 1, pl), T0, &o, &n);
    add(d, v4(51, 8, 0, 1, pl), T0, &o, &n);
    assert_int_equal(st->invalid, 2);
    /* A header decode would never produce: no header, or an IHL that disagrees. */
    struct packet pkt;
    memset(&pkt, 0, sizeof(pkt));
    pkt.frag.ip_version = 4;
    pkt.frag.data = pl;
    pkt.frag.data_len = 8;
    assert_int_equal(defrag_add(d, &pkt, T0, &o, &n), 0);
    uint8_t hdr[64] = {0x46};
    pkt.frag.hdr = hdr;
    pkt.frag.hdr_len = 20;
    assert_int_equal(defrag_add(d, &pkt, T0, &o, &n), 0);
    pkt.frag.ip_version = 5;
    assert_int_equal(defrag_add(d, &pkt, T0, &o, &n), 0);
    /* Cut short by the snaplen (decode says so): its true length is unknown. */
    hdr[0] = 0x45;
    pkt.frag.ip_version = 4;
    pkt.frag.hdr_len = 20;
    pkt.frag.more = 1;
    pkt.truncated = 1;
    assert_int_equal(defrag_add(d, &pkt, T0, &o, &n), 0);
    pkt.truncated = 0;
    /* IPv6 unfragmentable part whose extension chain does not end where it should. */
    pkt.frag.ip_version = 6;
    hdr[0] = 0x60;
    hdr[6] = 0;     /* Hop-by-Hop of 16 bytes claimed in a 48-byte part */
    hdr[41] = 1;
    pkt.frag.hdr_len = 48;
    pkt.frag.more = 0;
    assert_int_equal(defrag_add(d, &pkt, T0, &o, &n), 0);
    assert_int_equal(st->invalid, 7);
    /* An empty last fragment closes a datagram. */
    assert_int_equal(add(d, v4(52, 0, 64, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v4(52, 64, 0, 0, pl), T0, &o, &n), 1);
    check_v4(o, n, 20, pl, 64);
    assert_int_equal(st->fragments, 9);
    defrag_free(d);
}

/* Datagrams differ by address, id, protocol (IPv4), VLAN; never mixed. */
static void test_keys(void **state)
{
    (void)state;
    uint8_t a[32], b[32];
    memset(a, 'a', sizeof(a));
    memset(b, 'b', sizeof(b));
    struct defrag *d = mk(1 << 20);
    const uint8_t *o;
    size_t n;
    struct frag fa = v4(61, 0, 16, 1, a), fb = v4(61, 0, 16, 1, b);
    fb.src = "10.0.0.9";
    assert_int_equal(add(d, fa, T0, &o, &n), 0);
    assert_int_equal(add(d, fb, T0, &o, &n), 0);
    struct frag fc = v4(61, 16, 16, 0, b);
    fc.proto = 17;
    assert_int_equal(add(d, fc, T0, &o, &n), 0); /* other protocol: its own datagram */
    fc.vlan = 5;
    fc.proto = 6;
    assert_int_equal(add(d, fc, T0, &o, &n), 0); /* other VLAN */
    fc.src = "10.0.0.9";
    fc.vlan = 0;
    assert_int_equal(add(d, fc, T0, &o, &n), 1);
    uint8_t want[32];
    memset(want, 'b', sizeof(want));
    check_v4(o, n, 20, want, 32);
    assert_int_equal(o[12 + 3], 9);
    assert_int_equal(defrag_stats(d)->overlaps, 0);
    defrag_free(d);
}

/* The rebuilt datagrams decode as ordinary TCP packets. */
static void test_decode_rebuilt(void **state)
{
    (void)state;
    uint8_t seg[20 + 40] = {0};
    seg[0] = 0x9c; seg[1] = 0x40;     /* sport 40000 */
    seg[3] = 80;
    seg[12] = 0x50;
    seg[13] = 0x18;
    seg[14] = 0xff;
    memcpy(seg + 20, "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: 0123456", 40);
    for (int v = 4; v <= 6; v += 2) {
        for (int ext = 0; ext <= (v == 6); ext++) {
            struct defrag *d = mk(1 << 20);
            const uint8_t *o;
            size_t n;
            struct frag f0 = v == 6 ? v6(71, 0, 24, 1, seg) : v4(71, 0, 24, 1, seg);
            struct frag f1 = v == 6 ? v6(71, 24, 36, 0, seg) : v4(71, 24, 36, 0, seg);
            f0.ext = f1.ext = ext;
            assert_int_equal(add(d, f1, T0, &o, &n), 0);
            assert_int_equal(add(d, f0, T0, &o, &n), 1);
            struct packet p;
            memset(&p, 0, sizeof(p));
            assert_int_equal(decode_ip(&p, o, n), DECODE_OK);
            assert_int_equal(p.ip_version, v);
            assert_int_equal(p.sport, 40000);
            assert_int_equal(p.dport, 80);
            assert_int_equal(p.payload_len, 40);
            assert_memory_equal(p.payload, seg + 20, 40);
            defrag_free(d);
        }
    }
}

/* Teardown with every kind of state held: pieces, headers, tombstones. */
static void test_free_with_state(void **state)
{
    (void)state;
    uint8_t pl[64];
    fill(pl, sizeof(pl), 31);
    struct defrag *d = mk(1 << 20);
    for (uint32_t i = 0; i < 100; i++) {
        add(d, v4(i, 0, 16, 1, pl), T0, NULL, NULL);
        add(d, v6(i, 32, 16, 1, pl), T0, NULL, NULL);
    }
    add(d, v6(1, 40, 16, 1, pl), T0, NULL, NULL); /* overlap: tombstone */
    assert_int_equal(defrag_stats(d)->invalid, 1);
    defrag_free(d);
    defrag_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_in_order_and_reverse),
        cmocka_unit_test(test_v4_permutations),
        cmocka_unit_test(test_v6_permutations),
        cmocka_unit_test(test_v4_duplicates),
        cmocka_unit_test(test_v4_overlap_first_wins),
        cmocka_unit_test(test_v4_first_header_wins),
        cmocka_unit_test(test_v6_overlap_drops_datagram),
        cmocka_unit_test(test_v6_exact_duplicate_kept),
        cmocka_unit_test(test_v6_next_header_from_first),
        cmocka_unit_test(test_atomic_fragment),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_memcap_flood),
        cmocka_unit_test(test_memcap_tiny),
        cmocka_unit_test(test_memcap_counts_overhead),
        cmocka_unit_test(test_v4_size_limit),
        cmocka_unit_test(test_conflicting_ends),
        cmocka_unit_test(test_fragment_cap),
        cmocka_unit_test(test_bad_fragments),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_decode_rebuilt),
        cmocka_unit_test(test_free_with_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
