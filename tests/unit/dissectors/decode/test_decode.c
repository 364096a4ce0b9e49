/* test_decode.c — decode_packet() over hand-built packets: the link layers, and every prefix.
 *
 * Covers every supported link type (Ethernet, 802.1Q/802.1ad/0x9100 tags, SLL, SLL2, raw IP in
 * its four numbers, BSD null in both byte orders and with each OS's AF_INET6, OpenBSD loop),
 * non-IP frames, every prefix of valid packets, and a reused struct packet. The IPv4, IPv6 and
 * TCP layer checks are in test_decode_ip.c, fragments and tunnels in test_decode_frag.c and
 * test_decode_tunnel.c. Each packet is decoded from a heap copy of exactly its length so ASan
 * sees any read past caplen (decode_put.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode_put.h"

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
        cmocka_unit_test(test_every_prefix),
        cmocka_unit_test(test_reuse_clears),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
