/* test_decode_frag.c — how the decoder reports IP fragments (DECODE_FRAGMENT and struct
 * packet_frag, dissectors/decode/decode_ip.c) for sensor/flow/defrag.c: IPv4 first, middle and last
 * fragments (RFC 791 §3.2), options in the header span, a snapped fragment, IPv6 fragments
 * (RFC 8200 §4.5) behind extension headers with the unfragmentable part as the header span,
 * atomic fragments decoded as whole datagrams (RFC 6946), and fragments inside and outside
 * tunnels (the tunnel noted when the fragment is inner, not when the tunnel itself is cut).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode_build.h"

static void test_ipv4_fragments(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;
    /* first (MF, offset 0), middle (MF, offset 1480), last (offset 2960) */
    const unsigned frag[] = {0x2000, 0x2000 | 185, 370};
    for (int i = 0; i < 3; i++) {
        tcp(&b);
        ipv4f(&b, 6, IN4_SRC, IN4_DST, frag[i], 0xbeef);
        eth(&b, 0x0800);
        vlan(&b, 0x8100, 10);
        assert_int_equal(decode_buf(&pkt, DECODE_LINK_ETHERNET, &b), DECODE_FRAGMENT);
        assert_int_equal(pkt.event, EV_IPV4_FRAGMENT);
        assert_int_equal(pkt.vlan_count, 1);
        assert_int_equal(pkt.ip_version, 4);
        assert_memory_equal(pkt.src, IN4_SRC, 4);
        assert_memory_equal(pkt.dst, IN4_DST, 4);
        const struct packet_frag *f = &pkt.frag;
        assert_int_equal(f->ip_version, 4);
        assert_int_equal(f->proto, 6);
        assert_int_equal(f->more, i < 2);
        assert_int_equal(f->id, 0xbeef);
        assert_int_equal(f->offset, (frag[i] & 0x1fff) * 8);
        assert_ptr_equal(f->hdr, b.b + 18);
        assert_int_equal(f->hdr_len, 20);
        assert_ptr_equal(f->data, b.b + 38);
        assert_int_equal(f->data_len, 20 + PAYLOAD_LEN);
        assert_int_equal(pkt.truncated, 0);
    }
    /* DF alone is no fragment; nor are reserved-bit games. */
    tcp(&b);
    ipv4f(&b, 6, IN4_SRC, IN4_DST, 0x4000, 1);
    expect_status(DECODE_LINK_RAW, &b, DECODE_OK, EV_NONE);

    /* With options: the header span covers them. Snapped: data clipped, marked truncated. */
    tcp(&b);
    ipv4f(&b, 6, IN4_SRC, IN4_DST, 0x2000, 2);
    const uint8_t opts[8] = {1, 1, 1, 1, 1, 1, 1, 0};
    uint8_t ip[20];
    memcpy(ip, b.b, 20);
    memmove(b.b, b.b + 20, b.n - 20);
    b.n -= 20;
    prepend(&b, opts, 8);
    ip[0] = 0x47;
    be16(ip + 2, (unsigned)(28 + b.n - 8));
    prepend(&b, ip, 20);
    size_t full = b.n;
    b.n -= 10;
    assert_int_equal(decode_buf(&pkt, DECODE_LINK_RAW, &b), DECODE_FRAGMENT);
    assert_int_equal(pkt.frag.hdr_len, 28);
    assert_int_equal(pkt.frag.data_len, full - 10 - 28);
    assert_int_equal(pkt.truncated, 1);

    /* Inside a tunnel: the inner datagram is the fragment, the tunnel stays noted. */
    tcp(&b);
    ipv4f(&b, 6, IN4_SRC, IN4_DST, 0x2000 | 3, 0x77);
    eth(&b, 0x0800);
    vxlan(&b, 8);
    udp(&b, 3, 4789);
    ipv4(&b, 17, OUT4_SRC, OUT4_DST);
    assert_int_equal(decode_buf(&pkt, DECODE_LINK_RAW, &b), DECODE_FRAGMENT);
    expect_tunnel(&pkt, 0, TUNNEL_VXLAN, 4, OUT4_SRC, OUT4_DST, 8);
    assert_int_equal(pkt.frag.offset, 24);
    assert_ptr_equal(pkt.frag.hdr, b.b + 20 + 8 + 8 + 14);
    assert_memory_equal(pkt.src, IN4_SRC, 4);

    /* A fragmented tunnel: the outer datagram is the fragment. */
    inner4(&b);
    gre(&b, 0, 0x0800, 0);
    ipv4f(&b, 47, OUT4_SRC, OUT4_DST, 0x2000, 0x99);
    assert_int_equal(decode_buf(&pkt, DECODE_LINK_RAW, &b), DECODE_FRAGMENT);
    assert_int_equal(pkt.tunnel_count, 0);
    assert_int_equal(pkt.frag.proto, 47);
    assert_memory_equal(pkt.src, OUT4_SRC, 4);
}

/* Fixed header, hop-by-hop (8), destination options (16), Fragment, then what follows. */
static void ipv6_frag(struct buf *b, unsigned off_m, unsigned next)
{
    uint8_t fh[8] = {(uint8_t)next, 0};
    be16(fh + 2, off_m);
    be32(fh + 4, 0x01020304);
    prepend(b, fh, 8);
    uint8_t dst[16] = {44, 1, 1, 12};
    prepend(b, dst, 16);
    uint8_t hbh[8] = {60, 0, 1, 4};
    prepend(b, hbh, 8);
    ipv6(b, 0, IN6_SRC, IN6_DST);
}

static void test_ipv6_fragments(void **state)
{
    (void)state;
    struct buf b;
    struct packet pkt;
    const unsigned off_m[] = {1, (185u << 3) | 1, 370u << 3};
    for (int i = 0; i < 3; i++) {
        tcp(&b);
        ipv6_frag(&b, off_m[i], 6);
        eth(&b, 0x86dd);
        assert_int_equal(decode_buf(&pkt, DECODE_LINK_ETHERNET, &b), DECODE_FRAGMENT);
        assert_int_equal(pkt.event, EV_IPV6_FRAGMENT);
        assert_int_equal(pkt.ip_version, 6);
        assert_memory_equal(pkt.src, IN6_SRC, 16);
        const struct packet_frag *f = &pkt.frag;
        assert_int_equal(f->ip_version, 6);
        assert_int_equal(f->proto, 6);
        assert_int_equal(f->more, i < 2);
        assert_int_equal(f->id, 0x01020304);
        assert_int_equal(f->offset, (off_m[i] >> 3) * 8);
        assert_ptr_equal(f->hdr, b.b + 14);
        assert_int_equal(f->hdr_len, 40 + 8 + 16);
        assert_ptr_equal(f->data, b.b + 14 + 40 + 8 + 16 + 8);
        assert_int_equal(f->data_len, 20 + PAYLOAD_LEN);
        /* The caller rebuilds the chain: the header before Fragment still names it. */
        assert_int_equal(f->hdr[40 + 8], 44);
    }
    /* Atomic fragment: a whole datagram, decoded. */
    tcp(&b);
    ipv6_frag(&b, 0, 6);
    expect_status(DECODE_LINK_RAW, &b, DECODE_OK, EV_NONE);
    check_frame(DECODE_LINK_RAW, &b, 6, 0, NULL);

    /* Fragment header straight after the fixed header; the fragment data is UDP. */
    b.n = 0;
    const uint8_t u[12] = {0, 1, 0, 2, 0, 12};
    append(&b, u, sizeof(u));
    uint8_t fh[8] = {17, 0, 0, 1, 0, 0, 0, 5};
    prepend(&b, fh, 8);
    ipv6(&b, 44, IN6_SRC, IN6_DST);
    assert_int_equal(decode_buf(&pkt, DECODE_LINK_RAW, &b), DECODE_FRAGMENT);
    assert_int_equal(pkt.frag.hdr_len, 40);
    assert_int_equal(pkt.frag.proto, 17);
    assert_int_equal(pkt.frag.data_len, 12);

    /* Inside 6in4, with the outer noted. */
    tcp(&b);
    ipv6_frag(&b, 8 | 1, 6);
    ipv4(&b, 41, OUT4_SRC, OUT4_DST);
    assert_int_equal(decode_buf(&pkt, DECODE_LINK_RAW, &b), DECODE_FRAGMENT);
    expect_tunnel(&pkt, 0, TUNNEL_IP6IP, 4, OUT4_SRC, OUT4_DST, 0);
    assert_ptr_equal(pkt.frag.hdr, b.b + 20);
    assert_int_equal(pkt.frag.offset, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_fragments),
        cmocka_unit_test(test_ipv6_fragments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
