/* test_decode_tunnel.c — encapsulations and the new link types of the decoder
 * (dissectors/decode/decode_tunnel.c, decode_link.c, decode_ip.c) over hand-built packets.
 *
 * Covers MPLS (nibble heuristic, explicit null labels, control word + Ethernet), PPPoE (session,
 * discovery), PPP and Cisco HDLC link types (with and without FF 03, protocol-field compression,
 * Cisco HDLC under DLT 9), GRE (checksum/key/sequence options, transparent Ethernet bridging,
 * version 1, bad flags), ERSPAN I/II/III (platform subheader, IP frame type), VXLAN and Geneve
 * (default and configured ports, turned off, options, bad headers), IP-in-IP in its four forms,
 * nesting (VXLAN inside QinQ, GRE inside MPLS inside PPPoE, ...), the depth limit and reuse of a
 * struct packet. Every prefix of every valid frame is decoded from a heap copy of exactly that
 * length (check_frame), so ASan sees any read past caplen. Fragments: test_decode_frag.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode_build.h"

/* ---- MPLS -------------------------------------------------------------------------------- */

static void test_mpls(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;
    const uint32_t stack[] = {16001, 24005, 99};

    inner4(&b);
    mpls(&b, stack, 3);
    eth(&b, 0x8847);
    check_frame(DECODE_LINK_ETHERNET, &b, 4, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_MPLS, 0, NULL, NULL, 99);

    inner6(&b);
    mpls(&b, stack, 1);
    eth(&b, 0x8848); /* multicast */
    check_frame(DECODE_LINK_ETHERNET, &b, 6, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_MPLS, 0, NULL, NULL, 16001);

    /* Explicit null labels decide over the nibble (here: IPv6 under label 2). */
    const uint32_t v6null[] = {30, 2};
    inner6(&b);
    mpls(&b, v6null, 2);
    eth(&b, 0x8847);
    check_frame(DECODE_LINK_ETHERNET, &b, 6, 1, NULL);
    const uint32_t v4null[] = {0};
    inner4(&b);
    mpls(&b, v4null, 1);
    eth(&b, 0x8847);
    check_frame(DECODE_LINK_ETHERNET, &b, 4, 1, NULL);
    inner6(&b);
    mpls(&b, v4null, 1); /* label 0 says IPv4: an IPv6 header there is broken */
    eth(&b, 0x8847);
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_INVALID, EV_IPV4_WRONG_IP_VERSION);

    /* Pseudowire: control word (first nibble 0), then an Ethernet frame with a VLAN tag. */
    inner4(&b);
    eth(&b, 0x0800);
    vlan(&b, 0x8100, 300);
    const uint8_t cw[4] = {0x00, 0x00, 0x00, 0x07};
    prepend(&b, cw, 4);
    mpls(&b, stack, 2);
    eth(&b, 0x8847);
    check_frame(DECODE_LINK_ETHERNET, &b, 4, 1, &pkt);
    assert_int_equal(pkt.vlan_count, 1);
    assert_int_equal(pkt.vlan[0], 300);
    expect_tunnel(&pkt, 0, TUNNEL_MPLS, 0, NULL, NULL, 24005);

    /* Anything else under the stack is not guessed at. */
    inner4(&b);
    eth(&b, 0x0800); /* Ethernet without control word: MAC 02:... starts with nibble 0... */
    b.b[0] = 0xa2;   /* ...so make it look like nothing we know */
    mpls(&b, stack, 1);
    eth(&b, 0x8847);
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_SKIP, EV_MPLS_UNKNOWN_PAYLOAD_TYPE);

    /* A stack that never reaches bottom-of-stack. */
    b.n = 0;
    eth(&b, 0x8847);
    uint8_t lse[4] = {0x00, 0x01, 0x00, 0x40};
    for (int i = 0; i < 5; i++)
        append(&b, lse, 4);
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_INVALID, EV_MPLS_HEADER_TOO_SMALL);
}

/* ---- PPPoE, PPP, Cisco HDLC -------------------------------------------------------------- */

static void test_pppoe(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;
    inner4(&b);
    pppoe(&b, 0x1a2b, 0x0021);
    eth(&b, 0x8864);
    check_frame(DECODE_LINK_ETHERNET, &b, 4, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_PPPOE, 0, NULL, NULL, 0x1a2b);

    /* IPv6 inside, VLAN outside, Ethernet padding after the PPPoE length. */
    inner6(&b);
    pppoe(&b, 7, 0x0057);
    eth(&b, 0x8864);
    vlan(&b, 0x8100, 12);
    const uint8_t pad[6] = {0};
    append(&b, pad, sizeof(pad));
    assert_int_equal(decode_buf(&pkt, DECODE_LINK_ETHERNET, &b), DECODE_OK);
    expect_inner(&pkt, 6);
    assert_int_equal(pkt.vlan[0], 12);
    /* The PPPoE length bounds the frame: 10 bytes less is a cut-off datagram. */
    unsigned plen = (unsigned)(b.b[18 + 4] << 8 | b.b[18 + 5]);
    be16(b.b + 18 + 4, plen - 10);
    assert_int_equal(decode_buf(&pkt, DECODE_LINK_ETHERNET, &b), DECODE_OK);
    assert_int_equal(pkt.truncated, 1);
    assert_int_equal(pkt.payload_len, PAYLOAD_LEN - 10);

    inner4(&b);
    pppoe(&b, 7, 0xc021); /* LCP */
    eth(&b, 0x8864);
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_SKIP, EV_PPP_WRONG_TYPE);
    b.b[14] = 0x12; /* version 1, type 2 */
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_INVALID, EV_PPPOE_MALFORMED_TAGS);
    b.b[14] = 0x11;
    b.b[15] = 0x09; /* PADI code in a session packet */
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_INVALID, EV_PPPOE_MALFORMED_TAGS);

    b.n = 0;
    const uint8_t padi[] = {0x11, 0x09, 0, 0, 0, 4, 0x01, 0x01, 0, 0};
    append(&b, padi, sizeof(padi));
    eth(&b, 0x8863);
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_SKIP, EV_PPPOE_DISCOVERY);
}

static void test_ppp_links(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;
    const uint8_t ff03[] = {0xff, 0x03, 0x00, 0x21}, bare[] = {0x00, 0x57}, pfc[] = {0x21};

    inner4(&b);
    prepend(&b, ff03, sizeof(ff03));
    check_frame(DECODE_LINK_PPP, &b, 4, 0, NULL);
    check_frame(DECODE_LINK_PPP_HDLC, &b, 4, 0, NULL);
    inner6(&b);
    prepend(&b, bare, sizeof(bare));
    check_frame(DECODE_LINK_PPP, &b, 6, 0, NULL);
    inner4(&b);
    prepend(&b, pfc, sizeof(pfc));
    check_frame(DECODE_LINK_PPP, &b, 4, 0, NULL);

    /* MPLS over PPP. */
    const uint32_t lbl[] = {500};
    const uint8_t ppp_mpls[] = {0x02, 0x81};
    inner4(&b);
    mpls(&b, lbl, 1);
    prepend(&b, ppp_mpls, sizeof(ppp_mpls));
    check_frame(DECODE_LINK_PPP, &b, 4, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_MPLS, 0, NULL, NULL, 500);

    const uint8_t bad_ctl[] = {0xff, 0x13, 0x00, 0x21}, lcp[] = {0xff, 0x03, 0xc0, 0x21};
    inner4(&b);
    prepend(&b, bad_ctl, sizeof(bad_ctl));
    expect_status(DECODE_LINK_PPP, &b, DECODE_INVALID, EV_PPP_HEADER_INVALID);
    inner4(&b);
    prepend(&b, lcp, sizeof(lcp));
    expect_status(DECODE_LINK_PPP, &b, DECODE_SKIP, EV_PPP_WRONG_TYPE);

    /* Cisco HDLC, as DLT 104 and as Cisco routers write it under DLT 9. */
    const uint8_t chdlc[] = {0x0f, 0x00, 0x08, 0x00}, chdlc_b[] = {0x8f, 0x00, 0x86, 0xdd};
    inner4(&b);
    prepend(&b, chdlc, sizeof(chdlc));
    check_frame(DECODE_LINK_C_HDLC, &b, 4, 0, NULL);
    check_frame(DECODE_LINK_PPP, &b, 4, 0, NULL);
    inner6(&b);
    prepend(&b, chdlc_b, sizeof(chdlc_b));
    check_frame(DECODE_LINK_C_HDLC, &b, 6, 0, NULL);
    const uint8_t chdlc_mpls[] = {0x0f, 0x00, 0x88, 0x47}, slarp[] = {0x8f, 0x00, 0x80, 0x35};
    inner4(&b);
    mpls(&b, lbl, 1);
    prepend(&b, chdlc_mpls, sizeof(chdlc_mpls));
    check_frame(DECODE_LINK_C_HDLC, &b, 4, 1, NULL);
    b.n = 0;
    append(&b, slarp, sizeof(slarp));
    append(&b, ff03, sizeof(ff03)); /* some SLARP body */
    expect_status(DECODE_LINK_C_HDLC, &b, DECODE_SKIP, EV_ETHERTYPE_NOT_IP);
}

/* ---- GRE and ERSPAN ---------------------------------------------------------------------- */

static void test_gre(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;

    inner4(&b);
    gre(&b, 0, 0x0800, 0);
    ipv4(&b, 47, OUT4_SRC, OUT4_DST);
    eth(&b, 0x0800);
    check_frame(DECODE_LINK_ETHERNET, &b, 4, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_GRE, 4, OUT4_SRC, OUT4_DST, 0);

    /* Every option present (RFC 2890), IPv6 inside IPv6. */
    inner6(&b);
    gre(&b, GRE_C | GRE_K | GRE_S, 0x86dd, 0xdeadbeef);
    ipv6(&b, 47, OUT6_SRC, OUT6_DST);
    check_frame(DECODE_LINK_RAW, &b, 6, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_GRE, 6, OUT6_SRC, OUT6_DST, 0xdeadbeef);

    /* Transparent Ethernet bridging. */
    inner4(&b);
    eth(&b, 0x0800);
    gre(&b, GRE_K, 0x6558, 42);
    ipv4(&b, 47, OUT4_SRC, OUT4_DST);
    check_frame(DECODE_LINK_RAW, &b, 4, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_GRE, 4, OUT4_SRC, OUT4_DST, 42);

    /* PPTP's enhanced GRE is skipped; other versions and RFC 1701 routing are refused. */
    struct buf v1;
    inner4(&v1);
    gre(&v1, GRE_K | 1, 0x880b, 0x00100001);
    ipv4(&v1, 47, OUT4_SRC, OUT4_DST);
    expect_status(DECODE_LINK_RAW, &v1, DECODE_SKIP, EV_GRE_VERSION_1_PPTP);
    inner4(&b);
    gre(&b, 2, 0x0800, 0);
    ipv4(&b, 47, OUT4_SRC, OUT4_DST);
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_GRE_WRONG_VERSION);
    b.b[20] = 0x40; /* R */
    b.b[21] = 0;
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_GRE_FLAGS_INVALID);
    b.b[20] = 0x08; /* strict source route */
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_GRE_FLAGS_INVALID);
    b.b[20] = 0x00;
    b.b[22] = 0x88; /* protocol 0x8800: not IP */
    expect_status(DECODE_LINK_RAW, &b, DECODE_SKIP, EV_ETHERTYPE_NOT_IP);
    b.b[20] = 0xb0; /* C, K, S set but the packet is too short for them */
    b.n = 20 + 4 + 8;
    b.b[3] = (uint8_t)b.n;
    b.b[2] = 0;
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_GRE_PKT_TOO_SMALL);
}

static void test_erspan(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;

    /* Type II, the mirrored frame VLAN-tagged. */
    inner4(&b);
    eth(&b, 0x0800);
    vlan(&b, 0x8100, 55);
    erspan2(&b, 0x123);
    gre(&b, GRE_S, 0x88be, 0);
    ipv4(&b, 47, OUT4_SRC, OUT4_DST);
    eth(&b, 0x0800);
    check_frame(DECODE_LINK_ETHERNET, &b, 4, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_ERSPAN2, 4, OUT4_SRC, OUT4_DST, 0x123);
    assert_int_equal(pkt.vlan_count, 1);
    assert_int_equal(pkt.vlan[0], 55);

    /* Type I: no sequence number, no ERSPAN header. */
    inner6(&b);
    eth(&b, 0x86dd);
    gre(&b, 0, 0x88be, 0);
    ipv4(&b, 47, OUT4_SRC, OUT4_DST);
    check_frame(DECODE_LINK_RAW, &b, 6, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_ERSPAN2, 4, OUT4_SRC, OUT4_DST, 0);

    /* Type III with and without the platform subheader; frame type IP. */
    for (int o = 0; o <= 1; o++) {
        inner4(&b);
        eth(&b, 0x0800);
        erspan3(&b, 0x3ff, o, 0);
        gre(&b, GRE_S, 0x22eb, 0);
        ipv6(&b, 47, OUT6_SRC, OUT6_DST);
        eth(&b, 0x86dd);
        check_frame(DECODE_LINK_ETHERNET, &b, 4, 1, &pkt);
        expect_tunnel(&pkt, 0, TUNNEL_ERSPAN3, 6, OUT6_SRC, OUT6_DST, 0x3ff);
    }
    inner6(&b);
    erspan3(&b, 9, 1, 2);
    gre(&b, GRE_S, 0x22eb, 0);
    ipv4(&b, 47, OUT4_SRC, OUT4_DST);
    check_frame(DECODE_LINK_RAW, &b, 6, 1, NULL);

    inner4(&b);
    eth(&b, 0x0800);
    erspan3(&b, 9, 0, 1); /* frame type 1 */
    gre(&b, GRE_S, 0x22eb, 0);
    ipv4(&b, 47, OUT4_SRC, OUT4_DST);
    expect_status(DECODE_LINK_RAW, &b, DECODE_SKIP, EV_ERSPAN_FRAME_TYPE_UNSUPPORTED);
    inner4(&b);
    eth(&b, 0x0800);
    erspan2(&b, 1);
    b.b[0] = 0x20; /* version 2 under the type II protocol */
    gre(&b, GRE_S, 0x88be, 0);
    ipv4(&b, 47, OUT4_SRC, OUT4_DST);
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_ERSPAN_UNSUPPORTED_VERSION);
}

/* ---- VXLAN and Geneve -------------------------------------------------------------------- */

static void vxlan_frame(struct buf *b, unsigned dport)
{
    inner4(b);
    eth(b, 0x0800);
    vxlan(b, 0xabcdef);
    udp(b, 61000, dport);
    ipv4(b, 17, OUT4_SRC, OUT4_DST);
    eth(b, 0x0800);
}

static void test_vxlan(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;
    vxlan_frame(&b, 4789);
    check_frame(DECODE_LINK_ETHERNET, &b, 4, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_VXLAN, 4, OUT4_SRC, OUT4_DST, 0xabcdef);

    /* Configured ports replace the default; a set with no ports turns VXLAN off. */
    const uint16_t ports[] = {8472, 4790};
    struct packet cfg = {.vxlan_ports = ports, .nvxlan_ports = 2};
    assert_int_equal(decode_cfg(&pkt, &cfg, DECODE_LINK_ETHERNET, b.b, b.n), DECODE_SKIP);
    assert_int_equal(pkt.event, EV_IP_PROTO_NOT_TCP);
    assert_int_equal(pkt.ip_proto, 17);
    vxlan_frame(&b, 8472);
    assert_int_equal(decode_cfg(&pkt, &cfg, DECODE_LINK_ETHERNET, b.b, b.n), DECODE_OK);
    expect_inner(&pkt, 4);
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_SKIP, EV_IP_PROTO_NOT_TCP);
    cfg.nvxlan_ports = 0;
    vxlan_frame(&b, 4789);
    assert_int_equal(decode_cfg(&pkt, &cfg, DECODE_LINK_ETHERNET, b.b, b.n), DECODE_SKIP);

    /* The source port does not count. */
    inner4(&b);
    eth(&b, 0x0800);
    vxlan(&b, 1);
    udp(&b, 4789, 53);
    ipv4(&b, 17, OUT4_SRC, OUT4_DST);
    expect_status(DECODE_LINK_RAW, &b, DECODE_SKIP, EV_IP_PROTO_NOT_TCP);

    vxlan_frame(&b, 4789);
    b.b[14 + 20 + 8] = 0x00; /* I flag clear */
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_INVALID, EV_VXLAN_FLAGS_INVALID);
    vxlan_frame(&b, 4789);
    b.b[14 + 20 + 4] = 0;
    b.b[14 + 20 + 5] = 7; /* UDP length below its own header */
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_INVALID, EV_UDP_HLEN_INVALID);
    b.b[14 + 20 + 5] = 8 + 6; /* UDP length cuts the VXLAN header */
    expect_status(DECODE_LINK_ETHERNET, &b, DECODE_INVALID, EV_VXLAN_HEADER_TRUNCATED);
    b.b[14 + 20 + 5] = 0; /* 0: to the end of the IP payload */
    assert_int_equal(decode_buf(&pkt, DECODE_LINK_ETHERNET, &b), DECODE_OK);
}

static void test_geneve(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;
    inner4(&b);
    eth(&b, 0x0800);
    geneve(&b, 0x6558, 0x000777, 3);
    udp(&b, 40000, 6081);
    ipv6(&b, 17, OUT6_SRC, OUT6_DST);
    eth(&b, 0x86dd);
    check_frame(DECODE_LINK_ETHERNET, &b, 4, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_GENEVE, 6, OUT6_SRC, OUT6_DST, 0x777);

    /* IP directly (protocol type 0x86DD), no options, on a configured port. */
    inner6(&b);
    geneve(&b, 0x86dd, 5, 0);
    udp(&b, 40000, 7000);
    ipv4(&b, 17, OUT4_SRC, OUT4_DST);
    const uint16_t gports[] = {7000};
    struct packet cfg = {.geneve_ports = gports, .ngeneve_ports = 1};
    assert_int_equal(decode_cfg(&pkt, &cfg, DECODE_LINK_RAW, b.b, b.n), DECODE_OK);
    expect_inner(&pkt, 6);
    expect_tunnel(&pkt, 0, TUNNEL_GENEVE, 4, OUT4_SRC, OUT4_DST, 5);
    expect_status(DECODE_LINK_RAW, &b, DECODE_SKIP, EV_IP_PROTO_NOT_TCP);

    inner4(&b);
    geneve(&b, 0x6558, 5, 2);
    udp(&b, 40000, 6081);
    ipv4(&b, 17, OUT4_SRC, OUT4_DST);
    b.b[28] = 0x40 | 2; /* version 1 */
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_GENEVE_VERSION_INVALID);
    b.b[28] = 63; /* 252 bytes of options: more than there is */
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_GENEVE_OPTIONS_TRUNCATED);
    b.b[28] = 2;
    b.b[30] = 0x12; /* protocol type 0x1258 */
    expect_status(DECODE_LINK_RAW, &b, DECODE_SKIP, EV_ETHERTYPE_NOT_IP);
    b.n = 20 + 8 + 7;
    b.b[3] = (uint8_t)b.n;
    b.b[25] = 15;
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_GENEVE_HEADER_TRUNCATED);
    b.n = 20 + 5;
    b.b[3] = (uint8_t)b.n;
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_UDP_PKT_TOO_SMALL);
}

/* ---- IP in IP ---------------------------------------------------------------------------- */

static void test_ipip(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;
    inner4(&b); /* 4in4 */
    ipv4(&b, 4, OUT4_SRC, OUT4_DST);
    check_frame(DECODE_LINK_RAW, &b, 4, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_IPIP, 4, OUT4_SRC, OUT4_DST, 0);
    inner6(&b); /* 6in4 */
    ipv4(&b, 41, OUT4_SRC, OUT4_DST);
    check_frame(DECODE_LINK_RAW, &b, 6, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_IP6IP, 4, OUT4_SRC, OUT4_DST, 0);
    inner4(&b); /* 4in6 */
    ipv6(&b, 4, OUT6_SRC, OUT6_DST);
    check_frame(DECODE_LINK_RAW, &b, 4, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_IPIP, 6, OUT6_SRC, OUT6_DST, 0);
    /* 6in6 behind a destination options header. */
    inner6(&b);
    const uint8_t dstopt[8] = {41, 0, 1, 4, 0, 0, 0, 0};
    prepend(&b, dstopt, 8);
    ipv6(&b, 60, OUT6_SRC, OUT6_DST);
    check_frame(DECODE_LINK_RAW, &b, 6, 1, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_IP6IP, 6, OUT6_SRC, OUT6_DST, 0);

    inner6(&b); /* protocol 4 with an IPv6 header inside */
    ipv4(&b, 4, OUT4_SRC, OUT4_DST);
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_IPV4_WRONG_IP_VERSION);
}

/* ---- nesting ----------------------------------------------------------------------------- */

static void test_nested(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;

    /* VXLAN inside QinQ, the inner frame tagged too. */
    inner4(&b);
    eth(&b, 0x0800);
    vlan(&b, 0x8100, 7);
    vxlan(&b, 1001);
    udp(&b, 55555, 4789);
    ipv4(&b, 17, OUT4_SRC, OUT4_DST);
    eth(&b, 0x0800);
    vlan(&b, 0x8100, 200);
    vlan(&b, 0x88a8, 100);
    check_frame(DECODE_LINK_ETHERNET, &b, 4, 1, &pkt);
    assert_int_equal(pkt.vlan_count, 3);
    assert_int_equal(pkt.vlan[0], 100);
    assert_int_equal(pkt.vlan[1], 200);
    assert_int_equal(pkt.vlan[2], 7);
    expect_tunnel(&pkt, 0, TUNNEL_VXLAN, 4, OUT4_SRC, OUT4_DST, 1001);

    /* GRE inside MPLS inside PPPoE. */
    const uint32_t lbl[] = {17, 18};
    inner6(&b);
    gre(&b, GRE_K, 0x86dd, 5);
    ipv4(&b, 47, OUT4_SRC, OUT4_DST);
    mpls(&b, lbl, 2);
    pppoe(&b, 99, 0x0281);
    eth(&b, 0x8864);
    check_frame(DECODE_LINK_ETHERNET, &b, 6, 3, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_PPPOE, 0, NULL, NULL, 99);
    expect_tunnel(&pkt, 1, TUNNEL_MPLS, 0, NULL, NULL, 18);
    expect_tunnel(&pkt, 2, TUNNEL_GRE, 4, OUT4_SRC, OUT4_DST, 5);

    /* Geneve inside GRE inside 6in4 over SLL: four layers, each with its own outer header. */
    inner4(&b);
    eth(&b, 0x0800);
    geneve(&b, 0x6558, 3, 1);
    udp(&b, 1, 6081);
    ipv4(&b, 17, OUT4B_SRC, OUT4B_DST);
    gre(&b, 0, 0x0800, 0);
    ipv6(&b, 47, OUT6_SRC, OUT6_DST);
    ipv4(&b, 41, OUT4_SRC, OUT4_DST);
    uint8_t sll[16] = {0, 0, 0, 1, 0, 6};
    be16(sll + 14, 0x0800);
    prepend(&b, sll, 16);
    check_frame(DECODE_LINK_SLL, &b, 4, 3, &pkt);
    expect_tunnel(&pkt, 0, TUNNEL_IP6IP, 4, OUT4_SRC, OUT4_DST, 0);
    expect_tunnel(&pkt, 1, TUNNEL_GRE, 6, OUT6_SRC, OUT6_DST, 0);
    expect_tunnel(&pkt, 2, TUNNEL_GENEVE, 4, OUT4B_SRC, OUT4B_DST, 3);
}

static void test_depth_limit(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;
    for (int n = 1; n <= DECODE_MAX_TUNNELS + 1; n++) {
        inner4(&b);
        for (int i = 0; i < n; i++)
            ipv4(&b, 4, OUT4_SRC, OUT4_DST);
        int rc = decode_buf(&pkt, DECODE_LINK_RAW, &b);
        if (n <= DECODE_MAX_TUNNELS) {
            assert_int_equal(rc, DECODE_OK);
            assert_int_equal(pkt.tunnel_count, n);
        } else {
            assert_int_equal(rc, DECODE_INVALID);
            assert_int_equal(pkt.event, EV_TOO_MANY_LAYERS);
            assert_int_equal(pkt.tunnel_count, DECODE_MAX_TUNNELS);
        }
    }
    /* A GRE loop of many layers, as a packet of death would have it. */
    inner4(&b);
    for (int i = 0; i < 40; i++) {
        gre(&b, 0, 0x0800, 0);
        ipv4(&b, 47, OUT4_SRC, OUT4_DST);
    }
    expect_status(DECODE_LINK_RAW, &b, DECODE_INVALID, EV_TOO_MANY_LAYERS);
}

/* A reused struct packet carries no tunnel or fragment over. */
static void test_reuse_clears(void **state)
{
    (void)state;
    struct buf a, b;
    struct packet pkt;
    memset(&pkt, 0, sizeof(pkt));
    vxlan_frame(&a, 4789);
    pkt.data = a.b;
    pkt.caplen = (uint32_t)a.n;
    pkt.linktype = DECODE_LINK_ETHERNET;
    assert_int_equal(decode_packet(&pkt), DECODE_OK);
    assert_int_equal(pkt.tunnel_count, 1);
    tcp(&b);
    ipv4f(&b, 6, IN4_SRC, IN4_DST, 0x2000, 5);
    pkt.data = b.b;
    pkt.caplen = (uint32_t)b.n;
    pkt.linktype = DECODE_LINK_RAW;
    assert_int_equal(decode_packet(&pkt), DECODE_FRAGMENT);
    assert_int_equal(pkt.tunnel_count, 0);
    assert_int_equal(pkt.tunnel[0].kind, TUNNEL_NONE);
    inner4(&b);
    pkt.data = b.b;
    pkt.caplen = (uint32_t)b.n;
    assert_int_equal(decode_packet(&pkt), DECODE_OK);
    assert_null(pkt.frag.hdr);
    assert_int_equal(pkt.frag.data_len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mpls),          cmocka_unit_test(test_pppoe),
        cmocka_unit_test(test_ppp_links),     cmocka_unit_test(test_gre),
        cmocka_unit_test(test_erspan),        cmocka_unit_test(test_vxlan),
        cmocka_unit_test(test_geneve),        cmocka_unit_test(test_ipip),
        cmocka_unit_test(test_nested),        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_reuse_clears),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
