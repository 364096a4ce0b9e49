/* test_defrag_limits.c — unit tests for sensor/flow/defrag.c at its bounds: a hole never filled
 * times out (and a clock stepping back expires nothing early); the memcap under a flood of
 * incomplete datagrams (memory bounded, oldest evicted, new datagrams still complete), charged at
 * what the heap really gives, and too small for one fragment; 65535-byte limits (ping of death);
 * conflicting ends; the per-datagram fragment cap; fragments decode would never produce.
 * Reassembly itself is in test_defrag.c; both build fragments with defrag_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <malloc.h>

#include "defrag_fixture.h"

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
    assert_int_equal(st->ipv4.timeouts, 0);
    defrag_expire(d, T0 + TIMEOUT_S * SEC);
    assert_int_equal(st->ipv4.timeouts, 1);
    assert_int_equal(defrag_memuse(d), empty);
    /* The missing piece arriving late starts a datagram of its own, which cannot complete. */
    assert_int_equal(add(d, v4(4, 16, 16, 1, pl), T0 + 31 * SEC, &o, &n), 0);
    assert_int_equal(st->ipv4.reassembled, 0);
    /* defrag_add expires by itself too. */
    add(d, v4(5, 0, 16, 1, pl), T0 + 100 * SEC, &o, &n);
    assert_int_equal(st->ipv4.timeouts, 2);
    /* A clock that steps back does not expire anything early. */
    add(d, v4(6, 0, 16, 1, pl), T0 + 50 * SEC, &o, &n);
    defrag_expire(d, T0 + 129 * SEC);
    assert_int_equal(st->ipv4.timeouts, 2);
    defrag_expire(d, T0 + 130 * SEC);
    assert_int_equal(st->ipv4.timeouts, 4);
    /* An IPv6 datagram's timeout is counted as IPv6. */
    add(d, v6(7, 0, 16, 1, pl), T0 + 200 * SEC, &o, &n);
    defrag_expire(d, T0 + 260 * SEC);
    assert_int_equal(st->ipv6.timeouts, 1);
    assert_int_equal(st->ipv4.timeouts, 4);
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
    assert_int_equal(st->ipv4.fragments, N);
    assert_int_equal(st->ipv4.timeouts, 0);
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
    assert_int_equal(st->ipv4.reassembled, 2);
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
    assert_int_equal(st->ipv4.reassembled, 0);
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
    assert_int_equal(st->ipv4.reassembled, 1);
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
    assert_int_equal(st->ipv4.reassembled, 1);
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
    /* 9 fragments: the 4 with offset 0 and no MF (both headerless ones, the version-5 one
     * and the IPv6 one) are atomic; the other 5 are IPv4 fragments. */
    assert_int_equal(st->ipv4.fragments, 5);
    assert_int_equal(st->atomic, 4);
    assert_int_equal(st->ipv6.fragments, 0);
    defrag_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_memcap_flood),
        cmocka_unit_test(test_memcap_tiny),
        cmocka_unit_test(test_memcap_counts_overhead),
        cmocka_unit_test(test_v4_size_limit),
        cmocka_unit_test(test_conflicting_ends),
        cmocka_unit_test(test_fragment_cap),
        cmocka_unit_test(test_bad_fragments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
