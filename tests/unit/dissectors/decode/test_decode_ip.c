/* test_decode_ip.c — the IP and TCP layer decoders of decode_packet() over hand-built packets.
 *
 * Covers IPv4 options, padding, short/long total length, bad header lengths and fragments
 * (reported as DECODE_FRAGMENT; their fields and the tunnels are checked in test_decode_frag.c
 * and test_decode_tunnel.c), non-TCP traffic, IPv6 extension chains (Hop-by-Hop, Destination
 * Options, Routing, Fragment, AH, No Next Header, jumbogram, an over-long chain), and TCP header
 * checks. The link layers and every-prefix decoding are in test_decode.c; both build packets
 * with decode_put.h, decoding a heap copy of exactly the packet so ASan sees any over-read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode_put.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_options_and_lengths),
        cmocka_unit_test(test_ipv4_bad_ihl),
        cmocka_unit_test(test_ipv4_fragments),
        cmocka_unit_test(test_not_tcp),
        cmocka_unit_test(test_ipv6_extensions),
        cmocka_unit_test(test_tcp_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
