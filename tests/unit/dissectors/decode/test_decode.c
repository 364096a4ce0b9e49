/* test_decode.c — decode_packet() and the layer decoders over hand-built packets.
 *
 * Covers every supported link type (Ethernet, 802.1Q/802.1ad/0x9100 tags, SLL, SLL2, raw IP in
 * its four numbers, BSD null in both byte orders and with each OS's AF_INET6, OpenBSD loop),
 * IPv4 options, padding, short/long total length and fragments (reported as DECODE_FRAGMENT;
 * their fields and the tunnels are checked in test_decode_tunnel.c), IPv6 extension chains
 * (Hop-by-Hop, Destination Options, Routing, Fragment, AH, No Next Header, jumbogram, an
 * over-long chain), TCP header checks, non-TCP traffic, and every prefix of valid packets, each
 * decoded from a heap copy of exactly that length so ASan sees any read past caplen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"

/* ---- packet builder ---------------------------------------------------------------------- */

struct buf {
    uint8_t b[4096];
    size_t n;
};

static void put8(struct buf *b, unsigned v)
{
    assert_true(b->n < sizeof(b->b));
    b->b[b->n++] = (uint8_t)v;
}

static void put16(struct buf *b, unsigned v)
{
    put8(b, v >> 8);
    put8(b, v & 0xff);
}

static void put32(struct buf *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}

static void putn(struct buf *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof(b->b));
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

static void putfill(struct buf *b, unsigned v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put8(b, v);
}

static const char PAYLOAD[] = "GET / HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n";
#define PAYLOAD_LEN (sizeof(PAYLOAD) - 1)

#define SPORT 49152
#define DPORT 80
#define SEQ 0x01020304u
#define ACK 0xa0b0c0d0u
#define WIN 0xfedc
#define FLAGS (TCP_PSH | TCP_ACK)

/* A TCP segment with `optlen` bytes of NOP options (multiple of 4) and the test payload. */
static void tcp_segment(struct buf *b, size_t optlen, size_t plen)
{
    put16(b, SPORT);
    put16(b, DPORT);
    put32(b, SEQ);
    put32(b, ACK);
    put8(b, (unsigned)((20 + optlen) / 4) << 4);
    put8(b, FLAGS);
    put16(b, WIN);
    put16(b, 0xdead); /* wrong checksum on purpose: must not matter */
    put16(b, 0);
    putfill(b, 1, optlen);
    putn(b, PAYLOAD, plen);
}

static const uint8_t SRC4[4] = {192, 0, 2, 1}, DST4[4] = {198, 51, 100, 7};
static const uint8_t SRC6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t DST6[16] = {0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 2};

/* IPv4 header with optlen bytes of options; total = header + l4len unless total_override. */
static void ipv4_header(struct buf *b, size_t optlen, unsigned proto, unsigned frag, size_t l4len,
                        int total_override)
{
    put8(b, 0x40 | (unsigned)((20 + optlen) / 4));
    put8(b, 0);
    put16(b, total_override >= 0 ? (unsigned)total_override : (unsigned)(20 + optlen + l4len));
    put16(b, 0x1234);
    put16(b, frag);
    put8(b, 64);
    put8(b, proto);
    put16(b, 0);
    putn(b, SRC4, 4);
    putn(b, DST4, 4);
    putfill(b, 1, optlen); /* NOP options */
}

static void ipv4_tcp(struct buf *b)
{
    ipv4_header(b, 0, 6, 0x4000, 20 + PAYLOAD_LEN, -1);
    tcp_segment(b, 0, PAYLOAD_LEN);
}

static void ipv6_header(struct buf *b, unsigned nh, size_t plen)
{
    put32(b, 0x60000000);
    put16(b, (unsigned)plen);
    put8(b, nh);
    put8(b, 64);
    putn(b, SRC6, 16);
    putn(b, DST6, 16);
}

static void ipv6_tcp(struct buf *b)
{
    ipv6_header(b, 6, 20 + PAYLOAD_LEN);
    tcp_segment(b, 0, PAYLOAD_LEN);
}

static void eth_header(struct buf *b, unsigned type)
{
    putfill(b, 0xaa, 6);
    putfill(b, 0xbb, 6);
    put16(b, type);
}

/* Decodes a heap copy of exactly len bytes, so ASan flags any over-read. */
static int decode_copy(struct packet *pkt, int linktype, const uint8_t *p, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    memset(pkt, 0x5a, sizeof(*pkt)); /* garbage: decode_packet must clear its outputs */
    pkt->vxlan_ports = pkt->geneve_ports = NULL; /* inputs: default tunnel ports */
    pkt->nvxlan_ports = pkt->ngeneve_ports = 0;
    pkt->data = copy;
    pkt->caplen = (uint32_t)len;
    pkt->wirelen = (uint32_t)len;
    pkt->linktype = linktype;
    int rc = decode_packet(pkt);
    if (rc == DECODE_OK && pkt->payload_len)
        assert_true(pkt->payload >= copy && pkt->payload + pkt->payload_len <= copy + len);
    if (rc != DECODE_OK)
        assert_true(pkt->event != EV_NONE && pkt->event < EV__COUNT);
    /* The copy is freed below: rebase the payload span onto the caller's identical buffer. */
    if (rc == DECODE_OK)
        pkt->payload = p + (pkt->payload - copy);
    pkt->data = p;
    free(copy);
    return rc;
}

static void expect_tcp(const struct packet *pkt, int version, size_t plen)
{
    assert_int_equal(pkt->ip_version, version);
    assert_int_equal(pkt->ip_proto, 6);
    if (version == 4) {
        assert_memory_equal(pkt->src, SRC4, 4);
        assert_memory_equal(pkt->dst, DST4, 4);
        static const uint8_t zero[12];
        assert_memory_equal(pkt->src + 4, zero, 12);
        assert_memory_equal(pkt->dst + 4, zero, 12);
    } else {
        assert_memory_equal(pkt->src, SRC6, 16);
        assert_memory_equal(pkt->dst, DST6, 16);
    }
    assert_int_equal(pkt->sport, SPORT);
    assert_int_equal(pkt->dport, DPORT);
    assert_int_equal(pkt->seq, SEQ);
    assert_int_equal(pkt->ack, ACK);
    assert_int_equal(pkt->window, WIN);
    assert_int_equal(pkt->tcp_flags, FLAGS);
    assert_int_equal(pkt->payload_len, plen);
    if (plen)
        assert_memory_equal(pkt->payload, PAYLOAD, plen);
}

/* The status and the event (EV_NONE with DECODE_OK) of decoding b. */
static void expect_status(int linktype, const struct buf *b, int want, int event)
{
    struct packet pkt;
    int rc = decode_copy(&pkt, linktype, b->b, b->n);
    if (rc != want)
        fail_msg("linktype %d: status %d (%s), want %d (%s)", linktype, rc,
                 events_text(pkt.event), want, events_text((unsigned)event));
    if (pkt.event != event)
        fail_msg("linktype %d: event %s, want %s", linktype, events_text(pkt.event),
                 events_text((unsigned)event));
}

/* ---- link layers ------------------------------------------------------------------------- */

static void test_ethernet_ipv4(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    eth_header(&b, 0x0800);
    ipv4_tcp(&b);
    struct packet pkt;
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_ETHERNET, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 4, PAYLOAD_LEN);
    assert_int_equal(pkt.vlan_count, 0);
    assert_int_equal(pkt.truncated, 0);
    assert_int_equal(pkt.event, EV_NONE);
}

static void test_ethernet_ipv6(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    eth_header(&b, 0x86dd);
    ipv6_tcp(&b);
    struct packet pkt;
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_ETHERNET, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 6, PAYLOAD_LEN);
}

static void test_cooked_and_raw(void **state)
{
    (void)state;
    struct buf ip4 = {.n = 0}, ip6 = {.n = 0};
    ipv4_tcp(&ip4);
    ipv6_tcp(&ip6);
    struct packet pkt;

    for (int v = 4; v <= 6; v += 2) {
        const struct buf *ip = v == 4 ? &ip4 : &ip6;
        unsigned et = v == 4 ? 0x0800 : 0x86dd;

        struct buf sll = {.n = 0};
        put16(&sll, 0);      /* packet type: to us */
        put16(&sll, 1);      /* ARPHRD_ETHER */
        put16(&sll, 6);      /* address length */
        putfill(&sll, 0xcc, 8);
        put16(&sll, et);
        putn(&sll, ip->b, ip->n);
        assert_int_equal(sll.n, 16 + ip->n);
        assert_int_equal(decode_copy(&pkt, DECODE_LINK_SLL, sll.b, sll.n), DECODE_OK);
        expect_tcp(&pkt, v, PAYLOAD_LEN);

        struct buf sll2 = {.n = 0};
        put16(&sll2, et);
        put16(&sll2, 0);
        put32(&sll2, 3);     /* ifindex */
        put16(&sll2, 1);
        put8(&sll2, 4);      /* outgoing */
        put8(&sll2, 6);
        putfill(&sll2, 0xcc, 8);
        putn(&sll2, ip->b, ip->n);
        assert_int_equal(sll2.n, 20 + ip->n);
        assert_int_equal(decode_copy(&pkt, DECODE_LINK_SLL2, sll2.b, sll2.n), DECODE_OK);
        expect_tcp(&pkt, v, PAYLOAD_LEN);

        const int raws[] = {DECODE_LINK_RAW, DECODE_LINK_RAW_DLT, DECODE_LINK_RAW_DLT14,
                            v == 4 ? DECODE_LINK_IPV4 : DECODE_LINK_IPV6};
        for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
            assert_int_equal(decode_copy(&pkt, raws[i], ip->b, ip->n), DECODE_OK);
            expect_tcp(&pkt, v, PAYLOAD_LEN);
        }
    }
    /* The fixed-version raw types check the version rather than trusting the link type. */
    expect_status(DECODE_LINK_IPV4, &ip6, DECODE_INVALID, EV_IPV4_WRONG_IP_VERSION);
    expect_status(DECODE_LINK_IPV6, &ip4, DECODE_INVALID, EV_IPV6_WRONG_IP_VERSION);
    struct buf v5 = ip4;
    v5.b[0] = 0x55;
    expect_status(DECODE_LINK_RAW, &v5, DECODE_INVALID, EV_IP_VERSION_INVALID);
}

static void null_frame(struct buf *b, uint32_t family, int little_endian, const struct buf *ip)
{
    b->n = 0;
    if (little_endian) {
        for (int i = 0; i < 4; i++)
            put8(b, (family >> (8 * i)) & 0xff);
    } else {
        put32(b, family);
    }
    putn(b, ip->b, ip->n);
}

static void test_null_loop(void **state)
{
    (void)state;
    struct buf ip4 = {.n = 0}, ip6 = {.n = 0}, f = {.n = 0};
    ipv4_tcp(&ip4);
    ipv6_tcp(&ip6);
    struct packet pkt;

    for (int le = 0; le <= 1; le++) {
        null_frame(&f, 2, le, &ip4);
        assert_int_equal(decode_copy(&pkt, DECODE_LINK_NULL, f.b, f.n), DECODE_OK);
        expect_tcp(&pkt, 4, PAYLOAD_LEN);
        const uint32_t inet6[] = {24, 28, 30};
        for (int i = 0; i < 3; i++) {
            null_frame(&f, inet6[i], le, &ip6);
            assert_int_equal(decode_copy(&pkt, DECODE_LINK_NULL, f.b, f.n), DECODE_OK);
            expect_tcp(&pkt, 6, PAYLOAD_LEN);
        }
        null_frame(&f, 7, le, &ip4); /* AF_IPX-ish: not ours */
        expect_status(DECODE_LINK_NULL, &f, DECODE_SKIP, EV_NULL_FAMILY_NOT_IP);
    }
    null_frame(&f, 2, 0, &ip4);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_LOOP, f.b, f.n), DECODE_OK);
    expect_tcp(&pkt, 4, PAYLOAD_LEN);
    null_frame(&f, 24, 0, &ip6);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_LOOP, f.b, f.n), DECODE_OK);
    expect_tcp(&pkt, 6, PAYLOAD_LEN);
    /* DLT_LOOP is network order by definition: a little-endian family is not accepted. */
    null_frame(&f, 2, 1, &ip4);
    expect_status(DECODE_LINK_LOOP, &f, DECODE_SKIP, EV_NULL_FAMILY_NOT_IP);
}

static void vlan_frame(struct buf *b, const unsigned *tpids, const unsigned *ids, size_t n)
{
    b->n = 0;
    putfill(b, 0xaa, 12);
    for (size_t i = 0; i < n; i++) {
        put16(b, tpids[i]);
        put16(b, (5u << 13) | ids[i]); /* priority bits must be masked off */
    }
    put16(b, 0x0800);
    ipv4_tcp(b);
}

static void test_vlan(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;

    const unsigned one_t[] = {0x8100}, one_id[] = {100};
    vlan_frame(&b, one_t, one_id, 1);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_ETHERNET, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 4, PAYLOAD_LEN);
    assert_int_equal(pkt.vlan_count, 1);
    assert_int_equal(pkt.vlan[0], 100);

    const unsigned qinq_t[] = {0x88a8, 0x8100}, qinq_id[] = {4094, 7};
    vlan_frame(&b, qinq_t, qinq_id, 2);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_ETHERNET, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 4, PAYLOAD_LEN);
    assert_int_equal(pkt.vlan_count, 2);
    assert_int_equal(pkt.vlan[0], 4094);
    assert_int_equal(pkt.vlan[1], 7);

    const unsigned old_t[] = {0x9100, 0x8100, 0x8100}, old_id[] = {1, 2, 3};
    vlan_frame(&b, old_t, old_id, 3);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_ETHERNET, b.b, b.n), DECODE_OK);
    assert_int_equal(pkt.vlan_count, 3);
    assert_int_equal(pkt.vlan[2], 3);

    /* More tags than we keep: still decoded, outermost DECODE_MAX_VLAN kept. */
    const unsigned many_t[] = {0x88a8, 0x8100, 0x8100, 0x8100, 0x9100};
    const unsigned many_id[] = {10, 20, 30, 40, 50};
    vlan_frame(&b, many_t, many_id, 5);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_ETHERNET, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 4, PAYLOAD_LEN);
    assert_int_equal(pkt.vlan_count, DECODE_MAX_VLAN);
    assert_int_equal(pkt.vlan[0], 10);
    assert_int_equal(pkt.vlan[1], 20);
    assert_int_equal(pkt.vlan[2], 30);

    /* A tag in a cooked capture (NIC did not strip it). */
    struct buf sll = {.n = 0};
    putfill(&sll, 0, 14);
    put16(&sll, 0x8100);
    put16(&sll, 42);
    put16(&sll, 0x0800);
    ipv4_tcp(&sll);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_SLL, sll.b, sll.n), DECODE_OK);
    assert_int_equal(pkt.vlan_count, 1);
    assert_int_equal(pkt.vlan[0], 42);

    /* Tag header cut short. */
    b.n = 0;
    putfill(&b, 0xaa, 12);
    put16(&b, 0x8100);
    put16(&b, 5);
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_INVALID, EV_VLAN_HEADER_TOO_SMALL);
}

static void test_not_ip(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    eth_header(&b, 0x0806); /* ARP */
    putfill(&b, 0, 28);
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_SKIP, EV_ETHERTYPE_NOT_IP);
    b.n = 0;
    eth_header(&b, 46); /* 802.3 length field, LLC follows */
    putfill(&b, 0x42, 46);
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_SKIP, EV_ETHERTYPE_NOT_IP);
    struct buf sll2 = {.n = 0};
    put16(&sll2, 0x0806);
    putfill(&sll2, 0, 18 + 28);
    expect_status(DECODE_LINK_SLL2, &sll2, DECODE_SKIP, EV_ETHERTYPE_NOT_IP);
    expect_status(105 /* 802.11 */, &b, DECODE_SKIP, EV_LINKTYPE_UNSUPPORTED);
}

static void test_linktype_supported(void **state)
{
    (void)state;
    const int yes[] = {0, 1, 9, 12, 14, 50, 101, 104, 108, 113, 228, 229, 276};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(decode_linktype_supported(yes[i]));
    const int no[] = {-1, 2, 10, 105, 127, 147, 227, 230, 275, 277};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(decode_linktype_supported(no[i]));
}

/* ---- IPv4 -------------------------------------------------------------------------------- */

static void test_ipv4_options_and_lengths(void **state)
{
    (void)state;
    struct packet pkt;
    for (size_t opt = 0; opt <= 40; opt += 4) {
        struct buf b = {.n = 0};
        ipv4_header(&b, opt, 6, 0, 20 + PAYLOAD_LEN, -1);
        tcp_segment(&b, 0, PAYLOAD_LEN);
        assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
        expect_tcp(&pkt, 4, PAYLOAD_LEN);
    }

    /* Ethernet padding after the datagram is not payload. */
    struct buf b = {.n = 0};
    eth_header(&b, 0x0800);
    ipv4_header(&b, 0, 6, 0, 20, -1);
    tcp_segment(&b, 0, 0);
    putfill(&b, 0, 6);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_ETHERNET, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 4, 0);
    assert_int_equal(pkt.truncated, 0);

    /* Total length says more than was captured (snaplen): decode what is there. */
    b.n = 0;
    ipv4_header(&b, 0, 6, 0, 20 + 1000, -1);
    tcp_segment(&b, 0, PAYLOAD_LEN);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 4, PAYLOAD_LEN);
    assert_int_equal(pkt.truncated, 1);

    /* Total length shorter than the payload present clips it. */
    b.n = 0;
    ipv4_header(&b, 0, 6, 0, 0, 20 + 20 + 5);
    tcp_segment(&b, 0, PAYLOAD_LEN);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 4, 5);
    assert_int_equal(pkt.truncated, 0);

    b.n = 0;
    ipv4_header(&b, 0, 6, 0, 0, 19);
    tcp_segment(&b, 0, 0);
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_IPV4_IPLEN_SMALLER_THAN_HLEN);
    b.n = 0;
    ipv4_header(&b, 8, 6, 0, 0, 24); /* shorter than its own 28-byte header */
    tcp_segment(&b, 0, 0);
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_IPV4_IPLEN_SMALLER_THAN_HLEN);
}

static void test_ipv4_bad_ihl(void **state)
{
    (void)state;
    struct buf good = {.n = 0};
    ipv4_tcp(&good);
    for (unsigned ihl = 0; ihl < 5; ihl++) {
        struct buf b = good;
        b.b[0] = (uint8_t)(0x40 | ihl);
        expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_IPV4_HLEN_TOO_SMALL);
    }
    /* IHL 15 = 60 bytes, but only 30 captured. */
    struct buf b = good;
    b.b[0] = 0x4f;
    b.n = 30;
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_IPV4_PKT_TOO_SMALL);
}

static void test_ipv4_fragments(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    ipv4_header(&b, 0, 6, 0x2000, 20 + PAYLOAD_LEN, -1); /* first fragment, MF */
    tcp_segment(&b, 0, PAYLOAD_LEN);
    expect_status(DECODE_LINK_RAW, &b, DECODE_FRAGMENT, EV_IPV4_FRAGMENT);
    b.n = 0;
    ipv4_header(&b, 0, 6, 185, 20 + PAYLOAD_LEN, -1); /* last fragment at 1480 */
    tcp_segment(&b, 0, PAYLOAD_LEN);
    expect_status(DECODE_LINK_RAW, &b, DECODE_FRAGMENT, EV_IPV4_FRAGMENT);
    b.n = 0;
    ipv4_header(&b, 0, 6, 0x2000 | 1, 20 + PAYLOAD_LEN, -1); /* middle fragment */
    tcp_segment(&b, 0, PAYLOAD_LEN);
    expect_status(DECODE_LINK_RAW, &b, DECODE_FRAGMENT, EV_IPV4_FRAGMENT);
    /* DF and the reserved bit alone are not fragmentation. */
    b.n = 0;
    ipv4_header(&b, 0, 6, 0x8000 | 0x4000, 20 + PAYLOAD_LEN, -1);
    tcp_segment(&b, 0, PAYLOAD_LEN);
    expect_status(DECODE_LINK_RAW, &b, DECODE_OK, EV_NONE);
}

static void test_not_tcp(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    ipv4_header(&b, 0, 17, 0, 8 + 4, -1); /* UDP */
    put16(&b, 53);
    put16(&b, 53);
    put16(&b, 12);
    put16(&b, 0);
    put32(&b, 0);
    struct packet pkt;
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_SKIP);
    assert_int_equal(pkt.event, EV_IP_PROTO_NOT_TCP);
    assert_int_equal(pkt.ip_proto, 17);

    b.n = 0;
    ipv6_header(&b, 58, 8); /* ICMPv6 */
    putfill(&b, 0, 8);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_SKIP);
    assert_int_equal(pkt.ip_proto, 58);
}

/* ---- IPv6 -------------------------------------------------------------------------------- */

/* An options-style extension header (HBH, DSTOPTS, ROUTING) of units*8 bytes. */
static void ext_hdr(struct buf *b, unsigned next, unsigned units)
{
    put8(b, next);
    put8(b, units - 1);
    putfill(b, 0, units * 8 - 2); /* Pad1/PadN content is irrelevant to the walk */
}

static void test_ipv6_extensions(void **state)
{
    (void)state;
    struct packet pkt;
    struct buf b = {.n = 0};
    size_t l4 = 20 + PAYLOAD_LEN;
    ipv6_header(&b, 0, 8 + 16 + 24 + 8 + l4);
    ext_hdr(&b, 60, 1);     /* HBH → DSTOPTS */
    ext_hdr(&b, 43, 2);     /* DSTOPTS → ROUTING */
    ext_hdr(&b, 60, 3);     /* ROUTING → DSTOPTS */
    ext_hdr(&b, 6, 1);      /* DSTOPTS → TCP */
    tcp_segment(&b, 12, PAYLOAD_LEN - 12);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 6, PAYLOAD_LEN - 12);

    /* AH: length in 4-byte units minus 2 (RFC 4302), here 24 bytes. */
    b.n = 0;
    ipv6_header(&b, 51, 24 + l4);
    put8(&b, 6);
    put8(&b, 4);
    putfill(&b, 0x77, 22);
    tcp_segment(&b, 0, PAYLOAD_LEN);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 6, PAYLOAD_LEN);

    /* Atomic fragment (offset 0, M clear) is a whole datagram. */
    b.n = 0;
    ipv6_header(&b, 44, 8 + l4);
    put8(&b, 6);
    put8(&b, 0);
    put16(&b, 0);
    put32(&b, 0xcafe);
    tcp_segment(&b, 0, PAYLOAD_LEN);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 6, PAYLOAD_LEN);

    const unsigned frag_fields[] = {1 /* M */, 8 /* offset 1 */, 8 | 1};
    for (int i = 0; i < 3; i++) {
        b.n = 0;
        ipv6_header(&b, 0, 8 + 8 + l4);
        ext_hdr(&b, 44, 1);
        put8(&b, 6);
        put8(&b, 0);
        put16(&b, frag_fields[i]);
        put32(&b, 0xcafe);
        tcp_segment(&b, 0, PAYLOAD_LEN);
        expect_status(DECODE_LINK_RAW, &b, DECODE_FRAGMENT, EV_IPV6_FRAGMENT);
    }

    b.n = 0;
    ipv6_header(&b, 60, 8);
    ext_hdr(&b, 59, 1);
    expect_status(DECODE_LINK_RAW, &b, DECODE_SKIP, EV_IPV6_NO_NEXT_HEADER);

    /* Eight headers are walked, the ninth is refused. */
    for (int n = 8; n <= 9; n++) {
        b.n = 0;
        ipv6_header(&b, 60, (size_t)n * 8 + l4);
        for (int i = 0; i < n; i++)
            ext_hdr(&b, i == n - 1 ? 6 : 60, 1);
        tcp_segment(&b, 0, PAYLOAD_LEN);
        if (n == 8)
            expect_status(DECODE_LINK_RAW, &b, DECODE_OK, EV_NONE);
        else
            expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_IPV6_EXTHDR_TOO_MANY);
    }

    /* A header whose length runs past the payload length (even though bytes follow). */
    b.n = 0;
    ipv6_header(&b, 0, 8);
    put8(&b, 6);
    put8(&b, 1); /* 16 bytes claimed, 8 in the payload */
    putfill(&b, 0, 6);
    tcp_segment(&b, 0, PAYLOAD_LEN);
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_IPV6_TRUNC_EXTHDR);

    /* Payload length beyond the capture: truncated, decoded as far as it goes. */
    b.n = 0;
    ipv6_header(&b, 6, 20 + 5000);
    tcp_segment(&b, 0, PAYLOAD_LEN);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 6, PAYLOAD_LEN);
    assert_int_equal(pkt.truncated, 1);

    /* Jumbogram: payload length 0 with Hop-by-Hop first runs to the end of the capture. */
    b.n = 0;
    ipv6_header(&b, 0, 0);
    put8(&b, 6);
    put8(&b, 0);
    put8(&b, 0xc2); /* Jumbo Payload option */
    put8(&b, 4);
    put32(&b, 8 + l4);
    tcp_segment(&b, 0, PAYLOAD_LEN);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 6, PAYLOAD_LEN);
}

/* ---- TCP --------------------------------------------------------------------------------- */

static void test_tcp_header(void **state)
{
    (void)state;
    struct buf good = {.n = 0};
    ipv4_tcp(&good);
    struct packet pkt;

    for (unsigned doff = 0; doff < 5; doff++) {
        struct buf b = good;
        b.b[20 + 12] = (uint8_t)(doff << 4);
        expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_TCP_HLEN_TOO_SMALL);
    }
    /* Data offset past the end of a complete (not snapped) segment. */
    struct buf b = {.n = 0};
    ipv4_header(&b, 0, 6, 0, 24, -1);
    tcp_segment(&b, 0, 4);
    b.b[20 + 12] = 0x60; /* 24 bytes: fits exactly, payload empty */
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
    assert_int_equal(pkt.payload_len, 0);
    b.b[20 + 12] = 0x70;
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_TCP_HLEN_TOO_SMALL);
    /* Same, but the IP length says more was sent than captured: a snaplen artifact. */
    b.b[2] = 0x01;
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_TCP_PKT_TOO_SMALL);

    /* Options are skipped by the data offset. */
    b.n = 0;
    ipv4_header(&b, 0, 6, 0, 60 + PAYLOAD_LEN, -1);
    tcp_segment(&b, 40, PAYLOAD_LEN);
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
    expect_tcp(&pkt, 4, PAYLOAD_LEN);

    /* All flag bits as on the wire, including CWR/ECE. */
    b = good;
    b.b[20 + 13] = 0xff;
    assert_int_equal(decode_copy(&pkt, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
    assert_int_equal(pkt.tcp_flags, 0xff);

    /* Called directly on a short segment. */
    memset(&pkt, 0, sizeof(pkt));
    assert_int_equal(decode_tcp(&pkt, good.b + 20, 19), DECODE_INVALID);
    assert_int_equal(pkt.event, EV_TCP_PKT_TOO_SMALL);
}

/* ---- every prefix ------------------------------------------------------------------------ */

/* Decodes every prefix of a valid frame. Each must be INVALID, or OK with the same header
 * fields and a prefix of the payload, marked truncated when bytes are missing. */
static void all_prefixes(int linktype, const struct buf *b, int version, size_t plen)
{
    struct packet full;
    assert_int_equal(decode_copy(&full, linktype, b->b, b->n), DECODE_OK);
    expect_tcp(&full, version, plen);
    size_t ok = 0;
    for (size_t k = 0; k < b->n; k++) {
        struct packet pkt;
        int rc = decode_copy(&pkt, linktype, b->b, k);
        if (rc == DECODE_INVALID)
            continue;
        if (rc != DECODE_OK)
            fail_msg("linktype %d prefix %zu: status %d (%s)", linktype, k, rc,
                     events_text(pkt.event));
        ok++;
        assert_true(pkt.payload_len < plen || plen == 0);
        assert_int_equal(pkt.truncated, 1);
        assert_int_equal(pkt.seq, full.seq);
        assert_int_equal(pkt.sport, full.sport);
        assert_int_equal(pkt.vlan_count, full.vlan_count);
        assert_memory_equal(pkt.src, full.src, 16);
        assert_memory_equal(pkt.payload, full.payload, pkt.payload_len);
        assert_int_equal(pkt.payload_len, k - (size_t)(full.payload - b->b));
    }
    /* The payload-bearing prefixes are exactly those past the headers. */
    assert_int_equal(ok, plen);
}

static void test_every_prefix(void **state)
{
    (void)state;
    struct buf b = {.n = 0};
    const unsigned qinq_t[] = {0x88a8, 0x8100}, qinq_id[] = {3, 4};
    vlan_frame(&b, qinq_t, qinq_id, 2);
    all_prefixes(DECODE_LINK_ETHERNET, &b, 4, PAYLOAD_LEN);

    b.n = 0;
    eth_header(&b, 0x86dd);
    ipv6_header(&b, 0, 8 + 16 + 8 + 20 + 8 + PAYLOAD_LEN);
    ext_hdr(&b, 43, 1);
    ext_hdr(&b, 60, 2);
    ext_hdr(&b, 6, 1);
    tcp_segment(&b, 8, PAYLOAD_LEN);
    all_prefixes(DECODE_LINK_ETHERNET, &b, 6, PAYLOAD_LEN);

    b.n = 0;
    put16(&b, 0x0800);
    putfill(&b, 0, 18);
    ipv4_header(&b, 12, 6, 0, 20 + PAYLOAD_LEN, -1);
    tcp_segment(&b, 0, PAYLOAD_LEN);
    all_prefixes(DECODE_LINK_SLL2, &b, 4, PAYLOAD_LEN);

    b.n = 0;
    putfill(&b, 0, 14);
    put16(&b, 0x86dd);
    ipv6_tcp(&b);
    all_prefixes(DECODE_LINK_SLL, &b, 6, PAYLOAD_LEN);

    struct buf ip = {.n = 0};
    ipv4_tcp(&ip);
    null_frame(&b, 2, 1, &ip);
    all_prefixes(DECODE_LINK_NULL, &b, 4, PAYLOAD_LEN);
    all_prefixes(DECODE_LINK_RAW, &ip, 4, PAYLOAD_LEN);
}

/* A reused struct packet carries nothing over from the previous packet. */
static void test_reuse_clears(void **state)
{
    (void)state;
    struct buf tagged;
    const unsigned t[] = {0x8100}, id[] = {9};
    vlan_frame(&tagged, t, id, 1);
    tagged.b[14 + 4 + 3] = 0xff; /* IP total length 255: truncated */
    struct packet pkt;
    memset(&pkt, 0, sizeof(pkt));
    pkt.data = tagged.b;
    pkt.caplen = (uint32_t)tagged.n;
    pkt.linktype = DECODE_LINK_ETHERNET;
    assert_int_equal(decode_packet(&pkt), DECODE_OK);
    assert_int_equal(pkt.vlan_count, 1);
    assert_int_equal(pkt.truncated, 1);

    struct buf plain = {.n = 0};
    eth_header(&plain, 0x0800);
    ipv4_tcp(&plain);
    pkt.data = plain.b;
    pkt.caplen = (uint32_t)plain.n;
    assert_int_equal(decode_packet(&pkt), DECODE_OK);
    assert_int_equal(pkt.vlan_count, 0);
    assert_int_equal(pkt.vlan[0], 0);
    assert_int_equal(pkt.truncated, 0);
    assert_int_equal(pkt.event, EV_NONE);

    pkt.data = NULL;
    pkt.caplen = 0;
    assert_int_equal(decode_packet(&pkt), DECODE_INVALID);
    assert_int_equal(pkt.event, EV_ETHERNET_PKT_TOO_SMALL);
    assert_null(pkt.payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ethernet_ipv4),
        cmocka_unit_test(test_ethernet_ipv6),
        cmocka_unit_test(test_cooked_and_raw),
        cmocka_unit_test(test_null_loop),
        cmocka_unit_test(test_vlan),
        cmocka_unit_test(test_not_ip),
        cmocka_unit_test(test_linktype_supported),
        cmocka_unit_test(test_ipv4_options_and_lengths),
        cmocka_unit_test(test_ipv4_bad_ihl),
        cmocka_unit_test(test_ipv4_fragments),
        cmocka_unit_test(test_not_tcp),
        cmocka_unit_test(test_ipv6_extensions),
        cmocka_unit_test(test_tcp_header),
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_reuse_clears),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
