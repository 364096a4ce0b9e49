/* test_defrag.c — unit tests for sensor/flow/defrag.c, what reassembly gives back: IPv4 and IPv6
 * datagrams in order, reversed and in every order of 4 fragments; duplicates; overlaps with
 * equal and different bytes (first copy wins); IPv6 overlaps drop the datagram (RFC 5722) but
 * exact duplicates do not (RFC 8200 §4.5); atomic fragments (RFC 6946); keys; the rebuilt
 * headers (IPv4 checksum and lengths, IPv6 payload length and Next Header patched past extension
 * headers), decoded again with decode_ip(); teardown with datagrams held (ASan checks for leaks).
 * Timeouts, the memcap and the size and count limits are in test_defrag_limits.c. Packets are
 * built by hand (defrag_fixture.h): pkt.frag is filled as decode fills it for a DECODE_FRAGMENT
 * packet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "defrag_fixture.h"

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
    assert_int_equal(st->ipv4.fragments, 6);
    assert_int_equal(st->ipv4.reassembled, 2);
    assert_int_equal(st->ipv6.fragments + st->ipv6.reassembled + st->atomic, 0);
    assert_int_equal(st->overlaps + st->invalid + st->memcap_drops + st->ipv4.timeouts, 0);
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
    const struct defrag_ip_stats *ip = ipv6 ? &st->ipv6 : &st->ipv4;
    const struct defrag_ip_stats *other = ipv6 ? &st->ipv4 : &st->ipv6;
    assert_int_equal(ip->reassembled, 24);
    assert_int_equal(ip->fragments, 96);
    assert_int_equal(other->fragments + other->reassembled + st->atomic, 0);
    assert_int_equal(st->overlaps + st->invalid + st->memcap_drops + ip->timeouts, 0);
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
    assert_int_equal(st->ipv4.reassembled, 1);
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
    assert_int_equal(st->ipv6.reassembled, 0);
    assert_int_equal(st->invalid, 1);
    /* Different bytes: counted as overlap_diff too. */
    assert_int_equal(add(d, v6(6, 0, 24, 1, pl), T0, &o, &n), 0);
    assert_int_equal(add(d, v6(6, 8, 8, 1, x), T0, &o, &n), 0);
    assert_int_equal(st->invalid, 2);
    assert_int_equal(st->overlap_diff, 1);
    /* The tombstone goes at the timeout; the id can then be used again. */
    defrag_expire(d, T0 + TIMEOUT_S * SEC);
    assert_int_equal(st->ipv6.timeouts, 0); /* tombstones are not incomplete datagrams */
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
    /* Suricata's counting: the atomic one is neither a fragment nor a reassembly. */
    assert_int_equal(st->ipv6.fragments, 2);
    assert_int_equal(st->ipv6.reassembled, 1);
    assert_int_equal(st->atomic, 1);
    assert_int_equal(st->overlaps + st->invalid, 0);
    /* An empty one is a bare header. */
    assert_int_equal(add(d, v4(82, 0, 0, 0, pl), T0, &o, &n), 1);
    check_v4(o, n, 20, pl, 0);
    assert_int_equal(st->atomic, 2);
    assert_int_equal(st->ipv4.fragments + st->ipv4.reassembled, 0);
    assert_int_equal(defrag_memuse(d), empty);
    defrag_free(d);
}

/* ---- keys, rebuilt datagrams, teardown ------------------------------------------------------- */

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
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_decode_rebuilt),
        cmocka_unit_test(test_free_with_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
