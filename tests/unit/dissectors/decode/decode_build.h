/* decode_build.h — packet builder and checks shared by test_decode_tunnel.c and
 * test_decode_frag.c (not a module header: test code only, included after cmocka.h).
 *
 * Packets are built inside out: a TCP segment, then each header prepended around it, so a case
 * reads like its stack. Decoding always works on a heap copy of exactly the frame's length, so
 * ASan flags any read past caplen; spans are rebased onto the caller's buffer afterwards.
 */
#ifndef TW_TEST_DECODE_BUILD_H
#define TW_TEST_DECODE_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* ---- packet builder: headers are prepended ---------------------------------------------- */

struct buf {
    uint8_t b[4096];
    size_t n;
};

static inline void prepend(struct buf *b, const uint8_t *h, size_t n)
{
    assert_true(b->n + n <= sizeof(b->b));
    memmove(b->b + n, b->b, b->n);
    memcpy(b->b, h, n);
    b->n += n;
}

static inline void append(struct buf *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof(b->b));
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static inline void be16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16);
    be16(p + 2, v & 0xffff);
}

static const char PAYLOAD[] = "GET /api HTTP/1.1\r\nAuthorization: Bearer eyJ.e30.x\r\n\r\n";
#define PAYLOAD_LEN (sizeof(PAYLOAD) - 1)
#define SPORT 50123
#define DPORT 80
#define SEQ 0x11223344u

static const uint8_t IN4_SRC[4] = {10, 1, 0, 5}, IN4_DST[4] = {10, 2, 0, 9};
static const uint8_t OUT4_SRC[4] = {192, 0, 2, 1}, OUT4_DST[4] = {192, 0, 2, 2};
static const uint8_t OUT4B_SRC[4] = {198, 18, 0, 1}, OUT4B_DST[4] = {198, 18, 0, 2};
static const uint8_t IN6_SRC[16] = {0xfd, 0, [15] = 5}, IN6_DST[16] = {0xfd, 0, [15] = 9};
static const uint8_t OUT6_SRC[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t OUT6_DST[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

static inline void tcp(struct buf *b)
{
    uint8_t h[20] = {0};
    be16(h, SPORT);
    be16(h + 2, DPORT);
    be32(h + 4, SEQ);
    h[12] = 5 << 4;
    h[13] = TCP_PSH | TCP_ACK;
    b->n = 0;
    append(b, h, 20);
    append(b, PAYLOAD, PAYLOAD_LEN);
}

static inline void ipv4f(struct buf *b, unsigned proto, const uint8_t *src, const uint8_t *dst,
                  unsigned frag, unsigned id)
{
    uint8_t h[20] = {0x45, 0};
    be16(h + 2, (unsigned)(20 + b->n));
    be16(h + 4, id);
    be16(h + 6, frag);
    h[8] = 64;
    h[9] = (uint8_t)proto;
    memcpy(h + 12, src, 4);
    memcpy(h + 16, dst, 4);
    prepend(b, h, 20);
}

static inline void ipv4(struct buf *b, unsigned proto, const uint8_t *src, const uint8_t *dst)
{
    ipv4f(b, proto, src, dst, 0x4000, 0x0101);
}

static inline void ipv6(struct buf *b, unsigned nh, const uint8_t *src, const uint8_t *dst)
{
    uint8_t h[40] = {0x60};
    be16(h + 4, (unsigned)b->n);
    h[6] = (uint8_t)nh;
    h[7] = 64;
    memcpy(h + 8, src, 16);
    memcpy(h + 24, dst, 16);
    prepend(b, h, 40);
}

static inline void eth(struct buf *b, unsigned type)
{
    uint8_t h[14];
    memset(h, 0x02, 12);
    be16(h + 12, type);
    prepend(b, h, 14);
}

/* A tag goes right after the MAC addresses: tags are added innermost first. */
static inline void vlan(struct buf *b, unsigned tpid, unsigned vid)
{
    uint8_t h[4];
    be16(h, tpid);
    be16(h + 2, vid);
    assert_true(b->n >= 12);
    uint8_t macs[12];
    memcpy(macs, b->b, 12);
    memmove(b->b, b->b + 12, b->n - 12);
    b->n -= 12;
    prepend(b, h, 4);
    prepend(b, macs, 12);
}

static inline void udp(struct buf *b, unsigned sport, unsigned dport)
{
    uint8_t h[8] = {0};
    be16(h, sport);
    be16(h + 2, dport);
    be16(h + 4, (unsigned)(8 + b->n));
    prepend(b, h, 8);
}

static inline void vxlan(struct buf *b, uint32_t vni)
{
    uint8_t h[8] = {0x08};
    be32(h + 4, vni << 8);
    prepend(b, h, 8);
}

static inline void geneve(struct buf *b, unsigned proto, uint32_t vni, unsigned optwords)
{
    uint8_t h[8 + 4 * 63] = {(uint8_t)optwords};
    be16(h + 2, proto);
    be32(h + 4, vni << 8);
    for (unsigned i = 0; i < optwords * 4; i++)
        h[8 + i] = (uint8_t)(0xa0 + i);
    prepend(b, h, 8 + optwords * 4);
}

#define GRE_C 0x8000
#define GRE_K 0x2000
#define GRE_S 0x1000

static inline void gre(struct buf *b, unsigned flags, unsigned proto, uint32_t key)
{
    uint8_t h[16];
    size_t n = 4;
    be16(h, flags);
    be16(h + 2, proto);
    if (flags & GRE_C) {
        be32(h + n, 0xbeef0000);
        n += 4;
    }
    if (flags & GRE_K) {
        be32(h + n, key);
        n += 4;
    }
    if (flags & GRE_S) {
        be32(h + n, 77);
        n += 4;
    }
    prepend(b, h, n);
}

static inline void erspan2(struct buf *b, unsigned session)
{
    uint8_t h[8] = {0};
    be16(h, 0x1000 | 33);       /* version 1, VLAN 33 */
    be16(h + 2, 0xe000 | session);
    be32(h + 4, 0x000abcde);    /* index */
    prepend(b, h, 8);
}

static inline void erspan3(struct buf *b, unsigned session, int o_bit, unsigned ft)
{
    uint8_t h[20] = {0};
    be16(h, 0x2000 | 44);       /* version 2, VLAN 44 */
    be16(h + 2, session);
    be32(h + 4, 0x5eadbeef);    /* timestamp */
    be16(h + 8, 0x1234);        /* SGT */
    be16(h + 10, (ft << 10) | (5 << 4) | (o_bit ? 1 : 0));
    memset(h + 12, 0xcc, 8);    /* platform subheader */
    prepend(b, h, o_bit ? 20 : 12);
}

/* labels[0] is the top of the stack. */
static inline void mpls(struct buf *b, const uint32_t *labels, size_t n)
{
    for (size_t i = n; i-- > 0;) {
        uint8_t h[4];
        be32(h, labels[i] << 12 | (i == n - 1 ? 0x100u : 0) | 64);
        prepend(b, h, 4);
    }
}

static inline void pppoe(struct buf *b, unsigned sid, unsigned ppp_proto)
{
    uint8_t h[8] = {0x11, 0};
    be16(h + 2, sid);
    be16(h + 4, (unsigned)(2 + b->n));
    be16(h + 6, ppp_proto);
    prepend(b, h, 8);
}

/* ---- decoding and checks ------------------------------------------------------------------ */

/* Decodes a heap copy of exactly len bytes (ASan flags any over-read), inputs from cfg when
 * given. Spans into the copy are rebased onto p before the copy is freed. */
static inline int decode_cfg(struct packet *pkt, const struct packet *cfg, int linktype, const uint8_t *p,
                      size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    memset(pkt, 0x5a, sizeof(*pkt)); /* garbage: decode_packet must clear its outputs */
    pkt->vxlan_ports = cfg ? cfg->vxlan_ports : NULL;
    pkt->nvxlan_ports = cfg ? cfg->nvxlan_ports : 0;
    pkt->geneve_ports = cfg ? cfg->geneve_ports : NULL;
    pkt->ngeneve_ports = cfg ? cfg->ngeneve_ports : 0;
    pkt->data = copy;
    pkt->caplen = pkt->wirelen = (uint32_t)len;
    pkt->linktype = linktype;
    int rc = decode_packet(pkt);
    assert_true(pkt->tunnel_count <= DECODE_MAX_TUNNELS);
    assert_true(pkt->vlan_count <= DECODE_MAX_VLAN);
    if (rc != DECODE_OK)
        assert_true(pkt->event != EV_NONE && pkt->event < EV__COUNT);
    if (rc == DECODE_OK) {
        assert_true(pkt->payload >= copy && pkt->payload + pkt->payload_len <= copy + len);
        pkt->payload = p + (pkt->payload - copy);
    }
    if (rc == DECODE_FRAGMENT) {
        const struct packet_frag *f = &pkt->frag;
        assert_true(f->hdr >= copy && f->hdr + f->hdr_len <= copy + len);
        assert_true(f->data >= copy && f->data + f->data_len <= copy + len);
        pkt->frag.hdr = p + (f->hdr - copy);
        pkt->frag.data = p + (f->data - copy);
    }
    pkt->data = p;
    free(copy);
    return rc;
}

static inline int decode_buf(struct packet *pkt, int linktype, const struct buf *b)
{
    return decode_cfg(pkt, NULL, linktype, b->b, b->n);
}

/* The status and the event (EV_NONE with DECODE_OK) of decoding b. */
static inline void expect_status(int linktype, const struct buf *b, int want, int event)
{
    struct packet pkt;
    int rc = decode_buf(&pkt, linktype, b);
    if (rc != want)
        fail_msg("status %d (%s), want %d (%s)", rc, events_text(pkt.event), want,
                 events_text((unsigned)event));
    if (pkt.event != event)
        fail_msg("event %s, want %s", events_text(pkt.event), events_text((unsigned)event));
}

static inline void expect_inner(const struct packet *pkt, int version)
{
    assert_int_equal(pkt->ip_version, version);
    assert_int_equal(pkt->ip_proto, 6);
    if (version == 4) {
        uint8_t s[16] = {0}, d[16] = {0};
        memcpy(s, IN4_SRC, 4);
        memcpy(d, IN4_DST, 4);
        assert_memory_equal(pkt->src, s, 16);
        assert_memory_equal(pkt->dst, d, 16);
    } else {
        assert_memory_equal(pkt->src, IN6_SRC, 16);
        assert_memory_equal(pkt->dst, IN6_DST, 16);
    }
    assert_int_equal(pkt->sport, SPORT);
    assert_int_equal(pkt->dport, DPORT);
    assert_int_equal(pkt->seq, SEQ);
    assert_int_equal(pkt->payload_len, PAYLOAD_LEN);
    assert_memory_equal(pkt->payload, PAYLOAD, PAYLOAD_LEN);
    assert_int_equal(pkt->truncated, 0);
}

/* Tunnel entry i: kind, outer version (0: none) with its addresses, id. */
static inline void expect_tunnel(const struct packet *pkt, int i, int kind, int version, const uint8_t *src,
                          const uint8_t *dst, uint32_t id)
{
    assert_true(i < pkt->tunnel_count);
    const struct packet_tunnel *t = &pkt->tunnel[i];
    assert_int_equal(t->kind, kind);
    assert_int_equal(t->ip_version, version);
    assert_int_equal(t->id, id);
    uint8_t s[16] = {0}, d[16] = {0};
    if (version) {
        memcpy(s, src, version == 4 ? 4 : 16);
        memcpy(d, dst, version == 4 ? 4 : 16);
    }
    assert_memory_equal(t->src, s, 16);
    assert_memory_equal(t->dst, d, 16);
}

/* Decodes the frame (must be OK with the inner flow), then every prefix of it: each must be
 * INVALID, or OK with the same flow, the same tunnels and a truncated prefix of the payload. */
static inline void check_frame(int linktype, const struct buf *b, int version, int ntunnels,
                        struct packet *out)
{
    struct packet full;
    int rc = decode_buf(&full, linktype, b);
    if (rc != DECODE_OK)
        fail_msg("status %d (%s)", rc, events_text(full.event));
    expect_inner(&full, version);
    assert_int_equal(full.tunnel_count, ntunnels);
    size_t ok = 0, hdrs = (size_t)(full.payload - b->b);
    for (size_t k = 0; k < b->n; k++) {
        struct packet pkt;
        rc = decode_cfg(&pkt, NULL, linktype, b->b, k);
        if (rc == DECODE_INVALID)
            continue;
        if (rc != DECODE_OK)
            fail_msg("prefix %zu of %zu: status %d (%s)", k, b->n, rc, events_text(pkt.event));
        ok++;
        assert_int_equal(pkt.truncated, 1);
        assert_int_equal(pkt.payload_len, k - hdrs);
        assert_memory_equal(pkt.src, full.src, 16);
        assert_int_equal(pkt.tunnel_count, full.tunnel_count);
        assert_memory_equal(pkt.tunnel, full.tunnel, sizeof(full.tunnel));
        assert_int_equal(pkt.vlan_count, full.vlan_count);
    }
    assert_int_equal(ok, PAYLOAD_LEN);
    if (out)
        *out = full;
}

static inline void inner4(struct buf *b)
{
    tcp(b);
    ipv4(b, 6, IN4_SRC, IN4_DST);
}

static inline void inner6(struct buf *b)
{
    tcp(b);
    ipv6(b, 6, IN6_SRC, IN6_DST);
}

#endif
