/* defrag_fixture.h — what the reassembly tests (test_defrag.c, test_defrag_limits.c) share:
 * fragments described as data (struct frag) and handed to defrag_add() as decode would hand
 * them (add(): the IPv4 or IPv6 header built by hand, pkt.frag filled as for a DECODE_FRAGMENT
 * packet), payload patterns, and the checks of a rebuilt datagram's header (check_v4/check_v6).
 * Test code only, included after cmocka.h.
 */
#ifndef TW_TEST_DEFRAG_FIXTURE_H
#define TW_TEST_DEFRAG_FIXTURE_H

#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>

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

static inline uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Builds the header decode would point frag.hdr at, fills pkt, and calls defrag_add. */
static inline int add(struct defrag *d, struct frag fv, uint64_t now, const uint8_t **out,
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

static inline void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

static inline struct frag v4(uint32_t id, uint32_t off, uint32_t len, int more,
                             const uint8_t *payload)
{
    struct frag f = {.src = S4, .dst = D4, .id = id, .proto = 6, .off = off, .len = len,
                     .more = more, .data = payload + off};
    return f;
}

static inline struct frag v6(uint32_t id, uint32_t off, uint32_t len, int more,
                             const uint8_t *payload)
{
    struct frag f = v4(id, off, len, more, payload);
    f.v6 = 1;
    f.src = S6;
    f.dst = D6;
    return f;
}

/* Checks a rebuilt IPv4 datagram: lengths, MF/offset cleared, checksum valid, payload. */
static inline void check_v4(const uint8_t *o, size_t n, size_t hl, const uint8_t *payload,
                            size_t plen)
{
    assert_int_equal(n, hl + plen);
    assert_int_equal(o[0], 0x40 | hl / 4);
    assert_int_equal((size_t)(o[2] << 8 | o[3]), n);
    assert_int_equal(o[6] & 0x3f, 0);
    assert_int_equal(o[7], 0);
    assert_int_equal(csum(o, hl), 0); /* a header with a correct checksum sums to 0xffff */
    assert_memory_equal(o + hl, payload, plen);
}

static inline void check_v6(const uint8_t *o, size_t n, size_t ext, uint8_t proto,
                            const uint8_t *payload, size_t plen)
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

static inline struct defrag *mk(size_t memcap)
{
    struct defrag *d = defrag_new(memcap, TIMEOUT_S, SEED);
    assert_non_null(d);
    return d;
}

#endif
