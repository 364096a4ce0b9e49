/* test_stream.c — unit tests for sensor/flow/stream.c, reassembly itself: in-order and
 * out-of-order delivery, every arrival order of small segment sets, retransmissions, overlaps
 * (same and different content), sequence wrap, mid-stream pickup, gaps forced by the
 * per-direction limit, the memcap, flush, FIN/RST, and a seeded randomized
 * segmentation/shuffle/duplicate test. Hostile and lossy links are in test_stream_hostile.c;
 * stream_fixture.h holds what both use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stream_fixture.h"

static void test_in_order(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);

    struct packet ack = mk(999, TCP_ACK, NULL, 0);
    assert_int_equal(stream_segment(&ctx, &d, &ack, sink_cb, &s), 0);
    assert_false(d.started); /* a bare ACK before anything does nothing */

    syn(&ctx, &d, &s, 1000);
    feed(&ctx, &d, &s, 1000, MSG, 0, 10, 0);
    assert_ptr_equal(s.first_ptr, MSG); /* delivered straight from the packet */
    feed(&ctx, &d, &s, 1000, MSG, 10, 20, 0);
    feed(&ctx, &d, &s, 1000, MSG, 30, MSGLEN - 30, 0);
    assert_int_equal(s.len, MSGLEN);
    assert_memory_equal(s.buf, MSG, MSGLEN);
    assert_int_equal(d.delivered, MSGLEN);
    assert_int_equal(d.next_seq, 1001 + MSGLEN);
    assert_int_equal(ctx.stats.ooo_segments, 0);
    assert_int_equal(ctx.used, 0);
    assert_int_equal(s.ngaps, 0);
}

/* Runs one arrival order; every order must give MSG exactly. */
static void run_order(const size_t (*segs)[2], const int *order, int n, uint32_t isn)
{
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, isn);
    for (int i = 0; i < n; i++)
        feed(&ctx, &d, &s, isn, MSG, segs[order[i]][0], segs[order[i]][1], 0);
    assert_int_equal(s.len, MSGLEN);
    assert_memory_equal(s.buf, MSG, MSGLEN);
    assert_int_equal(s.ngaps, 0);
    assert_null(d.ooo);
    assert_int_equal(d.ooo_bytes, 0);
    assert_int_equal(ctx.used, 0);
    assert_int_equal(ctx.stats.overlap_diff, 0);
}

static int next_perm(int *a, int n)
{
    int i = n - 2;
    while (i >= 0 && a[i] >= a[i + 1])
        i--;
    if (i < 0)
        return 0;
    int j = n - 1;
    while (a[j] <= a[i])
        j--;
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
    for (int l = i + 1, r = n - 1; l < r; l++, r--) {
        t = a[l];
        a[l] = a[r];
        a[r] = t;
    }
    return 1;
}

static void test_permutations(void **state)
{
    (void)state;
    /* {offset, length} covering MSG: disjoint sets of 3 and 4, and an overlapping set of 4 */
    static const size_t three[3][2] = {{0, 20}, {20, 17}, {37, MSGLEN - 37}};
    static const size_t four[4][2] = {{0, 5}, {5, 20}, {25, 1}, {26, MSGLEN - 26}};
    static const size_t overl[4][2] = {{0, 12}, {8, 20}, {20, 20}, {30, MSGLEN - 30}};
    static const uint32_t isns[] = {1000, 0xFFFFFFF0u, 0xFFFFFFFFu};
    int runs = 0;
    for (size_t k = 0; k < 3; k++) {
        int o3[3] = {0, 1, 2};
        do {
            run_order(three, o3, 3, isns[k]);
            runs++;
        } while (next_perm(o3, 3));
        int o4[4] = {0, 1, 2, 3};
        do {
            run_order(four, o4, 4, isns[k]);
            runs++;
        } while (next_perm(o4, 4));
        int ov[4] = {0, 1, 2, 3};
        do {
            run_order(overl, ov, 4, isns[k]);
            runs++;
        } while (next_perm(ov, 4));
    }
    assert_int_equal(runs, 3 * (6 + 24 + 24));
}

static void test_retransmission(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, 5);
    feed(&ctx, &d, &s, 5, MSG, 0, 20, 0);
    int calls = s.calls;
    feed(&ctx, &d, &s, 5, MSG, 0, 20, 0);
    feed(&ctx, &d, &s, 5, MSG, 5, 10, 0);
    assert_int_equal(s.calls, calls); /* nothing new */
    assert_int_equal(s.len, 20);
    assert_int_equal(ctx.stats.overlaps, 30);
    assert_int_equal(ctx.stats.overlap_segs, 2); /* Suricata's tcp.overlap: per segment */
    /* partly old: only the new tail comes out */
    feed(&ctx, &d, &s, 5, MSG, 15, 15, 0);
    assert_int_equal(s.len, 30);
    assert_memory_equal(s.buf, MSG, 30);
    assert_int_equal(ctx.stats.overlaps, 35);
    assert_int_equal(ctx.stats.overlap_segs, 3);
    /* a retransmitted SYN changes nothing */
    struct packet p = mk(5, TCP_SYN, NULL, 0);
    stream_segment(&ctx, &d, &p, sink_cb, &s);
    assert_int_equal(d.next_seq, 5 + 1 + 30);
}

static void test_overlap_same(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, 100);
    feed(&ctx, &d, &s, 100, MSG, 10, 10, 0);  /* held [10,20) */
    feed(&ctx, &d, &s, 100, MSG, 15, 10, 0);  /* [15,25): 5 held already */
    feed(&ctx, &d, &s, 100, MSG, 12, 3, 0);   /* inside held: nothing new */
    assert_int_equal(ctx.stats.overlaps, 8);
    assert_int_equal(ctx.stats.overlap_segs, 2);
    assert_int_equal(d.ooo_bytes, 15);
    assert_int_equal(s.len, 0);
    feed(&ctx, &d, &s, 100, MSG, 0, 14, 0);   /* in order, runs into held data */
    assert_int_equal(ctx.stats.overlaps, 12);
    assert_int_equal(ctx.stats.overlap_segs, 3);
    feed(&ctx, &d, &s, 100, MSG, 25, MSGLEN - 25, 0);
    assert_int_equal(s.len, MSGLEN);
    assert_memory_equal(s.buf, MSG, MSGLEN);
    assert_int_equal(ctx.stats.overlap_diff, 0);
    assert_int_equal(ctx.used, 0);
}

static void test_overlap_diff(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    uint8_t evil[MSGLEN];
    memset(evil, 'X', sizeof(evil));
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, 7);

    /* first copy of [10,15) is X's: it wins against the in-order packet that follows */
    feed(&ctx, &d, &s, 7, evil, 10, 5, 0);
    feed(&ctx, &d, &s, 7, MSG, 0, 20, 0);
    assert_int_equal(ctx.stats.overlap_diff, 1);
    assert_int_equal(ctx.stats.overlaps, 5);
    assert_int_equal(ctx.stats.overlap_segs, 1);
    /* first copy of [30,40) is genuine: a later X copy over it loses */
    feed(&ctx, &d, &s, 7, MSG, 30, 10, 0);
    feed(&ctx, &d, &s, 7, evil, 25, 20, 0);   /* new X bytes [25,30) and [40,45) are held */
    assert_int_equal(ctx.stats.overlap_diff, 2);
    feed(&ctx, &d, &s, 7, MSG, 20, MSGLEN - 20, 0);
    assert_int_equal(ctx.stats.overlap_diff, 3);

    uint8_t want[MSGLEN];
    memcpy(want, MSG, MSGLEN);
    memset(want + 10, 'X', 5);
    memset(want + 25, 'X', 5);
    memset(want + 40, 'X', 5);
    assert_int_equal(s.len, MSGLEN);
    assert_memory_equal(s.buf, want, MSGLEN);
    assert_int_equal(ctx.used, 0);
}

static void test_wraparound(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    uint32_t isn = 0xFFFFFFE0u; /* data crosses 2^32 at offset 31 */
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, isn);
    assert_int_equal(feed(&ctx, &d, &s, isn, MSG, 40, MSGLEN - 40, TCP_FIN), 0);
    assert_int_equal(feed(&ctx, &d, &s, isn, MSG, 25, 15, 0), 0);
    assert_int_equal(s.len, 0);
    assert_int_equal(feed(&ctx, &d, &s, isn, MSG, 0, 30, 0), 1); /* reaches the FIN */
    assert_int_equal(s.len, MSGLEN);
    assert_memory_equal(s.buf, MSG, MSGLEN);
    assert_int_equal(d.next_seq, isn + 1 + (uint32_t)MSGLEN);
    assert_true(d.next_seq < 100);
    assert_int_equal(ctx.used, 0);
}

static void test_midstream(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);
    struct packet p = mk(4000, TCP_ACK, NULL, 0);
    stream_segment(&ctx, &d, &p, sink_cb, &s);
    assert_false(d.started);
    p = mk(5000, TCP_ACK | TCP_PSH, MSG + 10, 10);
    stream_segment(&ctx, &d, &p, sink_cb, &s);
    assert_true(d.started);
    assert_false(d.syn_seen);
    assert_int_equal(s.len, 10);
    p = mk(4990, TCP_ACK, MSG, 20); /* wholly before the pickup point: dropped */
    stream_segment(&ctx, &d, &p, sink_cb, &s);
    assert_int_equal(s.len, 10);
    p = mk(5010, TCP_ACK, MSG + 20, 5);
    stream_segment(&ctx, &d, &p, sink_cb, &s);
    assert_int_equal(s.len, 15);
    assert_memory_equal(s.buf, MSG + 10, 15);
}

static void test_gap_dir_limit(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 20);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, 0);
    feed(&ctx, &d, &s, 0, MSG, 0, 5, 0);
    feed(&ctx, &d, &s, 0, MSG, 10, 10, 0); /* held 10 */
    feed(&ctx, &d, &s, 0, MSG, 30, 10, 0); /* held 20: at the limit, not over */
    assert_int_equal(ctx.stats.gaps, 0);
    feed(&ctx, &d, &s, 0, MSG, 45, 5, 0);  /* held 25 > 20: skip [5,10) */
    assert_int_equal(ctx.stats.gaps, 1);
    assert_int_equal(ctx.stats.gap_bytes, 5);
    assert_int_equal(s.ngaps, 1);
    assert_int_equal(s.gaps[0].at, 5);
    assert_int_equal(s.gaps[0].len, 5);
    assert_int_equal(s.len, 15);
    assert_int_equal(d.ooo_bytes, 15);   /* [30,40) and [45,50) still held */
    assert_int_equal(d.next_seq, 21);
    feed(&ctx, &d, &s, 0, MSG, 5, 5, 0); /* the skipped bytes, late: dropped */
    assert_int_equal(s.len, 15);
    feed(&ctx, &d, &s, 0, MSG, 20, 10, 0);
    assert_int_equal(s.len, 35);
    assert_memory_equal(s.buf + 15, MSG + 20, 20);
    stream_dir_reset(&ctx, &d);
    assert_int_equal(ctx.used, 0);
    assert_int_equal(d.ooo_bytes, 0);
}

static void test_memcap_drop(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir a, b;
    struct sink sa = {0}, sb = {0};
    uint8_t big[220];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    /* 60 data bytes plus one segment's overhead fit in 140; two such segments do not */
    stream_ctx_init(&ctx, 140, 1 << 16);
    stream_dir_init(&a);
    stream_dir_init(&b);
    syn(&ctx, &a, &sa, 0);
    syn(&ctx, &b, &sb, 0);
    feed(&ctx, &a, &sa, 0, big, 10, 60, 0);
    assert_int_equal(ctx.stats.ooo_segments, 1);
    size_t used = ctx.used;
    assert_true(used > 60);

    /* the memcap is shared: direction b cannot hold anything. It holds nothing, so no gap. */
    feed(&ctx, &b, &sb, 0, big, 10, 60, 0);
    assert_int_equal(ctx.stats.memcap_drops, 1);
    assert_int_equal(ctx.used, used);
    assert_int_equal(sb.len, 0);
    assert_int_equal(ctx.stats.gaps, 0);
    assert_null(b.ooo);

    feed(&ctx, &a, &sa, 0, big, 0, 10, 0);  /* fills the hole */
    assert_int_equal(sa.len, 70);
    assert_int_equal(ctx.used, 0);

    /* a drops a piece and gives up its hole [70,80) to release what it holds */
    feed(&ctx, &a, &sa, 0, big, 80, 60, 0);
    feed(&ctx, &a, &sa, 0, big, 150, 60, 0);
    assert_int_equal(ctx.stats.memcap_drops, 2);
    assert_int_equal(ctx.stats.gaps, 1);
    assert_int_equal(ctx.stats.gap_bytes, 10);
    assert_int_equal(sa.ngaps, 1);
    assert_int_equal(sa.gaps[0].at, 70);
    assert_int_equal(sa.len, 130);
    assert_memory_equal(sa.buf, big, 70);
    assert_memory_equal(sa.buf + 70, big + 80, 60);
    assert_int_equal(ctx.used, 0);
}

static void test_flush_gaps(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, 0xFFFFFFFAu);
    feed(&ctx, &d, &s, 0xFFFFFFFAu, MSG, 0, 4, 0);
    feed(&ctx, &d, &s, 0xFFFFFFFAu, MSG, 10, 10, 0);
    feed(&ctx, &d, &s, 0xFFFFFFFAu, MSG, 25, 5, 0);
    feed(&ctx, &d, &s, 0xFFFFFFFAu, MSG, 30, 3, 0);
    stream_flush(&ctx, &d, sink_cb, &s);
    assert_int_equal(s.ngaps, 2);
    assert_int_equal(s.gaps[0].at, 4);
    assert_int_equal(s.gaps[0].len, 6);
    assert_int_equal(s.gaps[1].at, 14);
    assert_int_equal(s.gaps[1].len, 5);
    assert_int_equal(ctx.stats.gaps, 2);
    assert_int_equal(ctx.stats.gap_bytes, 11);
    assert_int_equal(s.len, 22);
    assert_memory_equal(s.buf, MSG, 4);
    assert_memory_equal(s.buf + 4, MSG + 10, 10);
    assert_memory_equal(s.buf + 14, MSG + 25, 8);
    assert_null(d.ooo);
    assert_int_equal(ctx.used, 0);
    stream_flush(&ctx, &d, sink_cb, &s); /* nothing held: nothing happens */
    assert_int_equal(s.ngaps, 2);
}

static void test_fin_rst(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, 50);
    assert_int_equal(feed(&ctx, &d, &s, 50, MSG, 0, 10, 0), 0);
    assert_int_equal(feed(&ctx, &d, &s, 50, MSG, 10, 10, TCP_FIN), 1);
    assert_true(d.fin_seen);
    assert_int_equal(d.fin_seq, 51 + 20);
    /* a retransmitted FIN did not end anything */
    assert_int_equal(feed(&ctx, &d, &s, 50, MSG, 10, 10, TCP_FIN), 0);
    /* bare FIN (no data) reaches in order at once */
    struct stream_dir e;
    stream_dir_init(&e);
    syn(&ctx, &e, &s, 9);
    struct packet p = mk(10, TCP_FIN | TCP_ACK, NULL, 0);
    assert_int_equal(stream_segment(&ctx, &e, &p, sink_cb, &s), 1);

    /* RST ends the direction; held data comes out through flush */
    struct stream_dir r;
    struct sink sr = {0};
    stream_dir_init(&r);
    syn(&ctx, &r, &sr, 0);
    feed(&ctx, &r, &sr, 0, MSG, 5, 5, 0);
    p = mk(1, TCP_RST, NULL, 0);
    assert_int_equal(stream_segment(&ctx, &r, &p, sink_cb, &sr), 1);
    assert_true(r.rst_seen);
    assert_int_equal(stream_segment(&ctx, &r, &p, sink_cb, &sr), 0);
    stream_flush(&ctx, &r, sink_cb, &sr);
    assert_int_equal(sr.ngaps, 1);
    assert_int_equal(sr.len, 5);
    assert_int_equal(ctx.used, 0);
}

static void test_reset(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, 0);
    feed(&ctx, &d, &s, 0, MSG, 5, 5, 0);
    feed(&ctx, &d, &s, 0, MSG, 20, 5, 0);
    assert_int_equal(d.ooo_bytes, 10);
    assert_true(ctx.used > 10);
    stream_dir_reset(&ctx, &d);
    assert_null(d.ooo);
    assert_int_equal(d.ooo_bytes, 0);
    assert_int_equal(ctx.used, 0);
    assert_int_equal(s.len, 0);
}

/* xorshift64*: the test's own seeded PRNG, so failures reproduce. */
static uint64_t rnd(uint64_t *st)
{
    *st ^= *st >> 12;
    *st ^= *st << 25;
    *st ^= *st >> 27;
    return *st * 0x2545F4914F6CDD1DULL;
}

static void test_random(void **state)
{
    (void)state;
    uint64_t st = 0x1234567887654321ULL;
    static uint8_t msg[4000];
    size_t segs[800][2];
    for (int iter = 0; iter < 400; iter++) {
        size_t len = 1 + rnd(&st) % sizeof(msg);
        for (size_t i = 0; i < len; i++)
            msg[i] = (uint8_t)rnd(&st);
        uint32_t isn = (uint32_t)rnd(&st);
        if (iter % 3 == 0)
            isn = 0xFFFFFFFFu - (uint32_t)(rnd(&st) % len);
        size_t maxseg = 1 + rnd(&st) % 300;
        size_t n = 0;
        for (size_t off = 0; off < len && n < 700;) {
            size_t l = 1 + rnd(&st) % maxseg;
            if (off + l > len)
                l = len - off;
            segs[n][0] = off;
            segs[n][1] = l;
            n++;
            off += l;
        }
        if (segs[n - 1][0] + segs[n - 1][1] < len) { /* cover the tail */
            segs[n][0] = segs[n - 1][0] + segs[n - 1][1];
            segs[n][1] = len - segs[n][0];
            n++;
        }
        size_t dups = rnd(&st) % (n + 1);
        for (size_t k = 0; k < dups && n < 800; k++) { /* random ranges, same bytes */
            size_t a = rnd(&st) % len, b = rnd(&st) % len;
            if (a > b) {
                size_t t = a;
                a = b;
                b = t;
            }
            segs[n][0] = a;
            segs[n][1] = b - a + 1;
            n++;
        }
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = rnd(&st) % (i + 1);
            size_t t0 = segs[i][0], t1 = segs[i][1];
            segs[i][0] = segs[j][0];
            segs[i][1] = segs[j][1];
            segs[j][0] = t0;
            segs[j][1] = t1;
        }

        struct stream_ctx ctx;
        struct stream_dir d;
        struct sink *s = calloc(1, sizeof(*s));
        assert_non_null(s);
        stream_ctx_init(&ctx, 1 << 24, 1 << 20);
        stream_dir_init(&d);
        syn(&ctx, &d, s, isn);
        for (size_t i = 0; i < n; i++)
            feed(&ctx, &d, s, isn, msg, segs[i][0], segs[i][1], 0);
        assert_int_equal(s->len, len);
        assert_memory_equal(s->buf, msg, len);
        assert_int_equal(s->ngaps, 0);
        assert_null(d.ooo);
        assert_int_equal(ctx.used, 0);
        assert_int_equal(ctx.stats.overlap_diff, 0);
        assert_int_equal(d.next_seq, isn + 1 + (uint32_t)len);
        free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_permutations),
        cmocka_unit_test(test_retransmission),
        cmocka_unit_test(test_overlap_same),
        cmocka_unit_test(test_overlap_diff),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_midstream),
        cmocka_unit_test(test_gap_dir_limit),
        cmocka_unit_test(test_memcap_drop),
        cmocka_unit_test(test_flush_gaps),
        cmocka_unit_test(test_fin_rst),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
