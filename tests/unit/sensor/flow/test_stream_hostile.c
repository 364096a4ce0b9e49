/* test_stream_hostile.c — unit tests for sensor/flow/stream.c on hostile and lossy links: gaps
 * declared when the other direction acknowledges past a hole (across 2^32, and from inside the
 * other direction's delivery callback), RSTs outside the window ignored and counted, zero-window
 * probes, and the memcap charged at what tiny segments really cost. Plain reassembly is in
 * test_stream.c; stream_fixture.h holds what both use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stream_fixture.h"

/* A packet of the other direction that only acknowledges. */
static void peer_ack(struct stream_ctx *ctx, struct stream_dir *peer, uint32_t ack)
{
    struct sink none = {0};
    struct packet p = mk(777, TCP_ACK, NULL, 0);
    p.ack = ack;
    stream_segment(ctx, peer, &p, sink_cb, &none);
    assert_int_equal(none.calls, 0);
}

/* The receiver acknowledged the bytes of a hole: the hole is skipped at this direction's next
 * segment, not at the per-direction limit or the flow's end. Run across 2^32. */
static void test_ack_gap(void **state)
{
    (void)state;
    static const uint32_t isns[] = {1000, 0xFFFFFFF0u, 0xFFFFFFFFu - 12};
    for (size_t k = 0; k < 3; k++) {
        uint32_t isn = isns[k];
        struct stream_ctx ctx;
        struct stream_dir c, srv;
        struct sink s = {0};
        stream_ctx_init(&ctx, 1 << 20, 1 << 20);
        stream_dir_init(&c);
        stream_dir_init(&srv);
        stream_dir_pair(&c, &srv);
        syn(&ctx, &c, &s, isn);
        feed(&ctx, &c, &s, isn, MSG, 0, 10, 0);
        feed(&ctx, &c, &s, isn, MSG, 20, 10, 0);  /* held: [10,20) never comes */
        feed(&ctx, &c, &s, isn, MSG, 35, 5, 0);   /* held: [30,35) late */
        assert_int_equal(s.len, 10);

        /* acknowledging only part of the hole proves nothing yet */
        peer_ack(&ctx, &srv, isn + 1 + 15);
        feed(&ctx, &c, &s, isn, MSG, 0, 0, 0);    /* a pure ACK of this direction */
        assert_int_equal(ctx.stats.gaps, 0);
        /* an ACK beyond anything this direction sent is not believed */
        peer_ack(&ctx, &srv, isn + 1 + 200);
        feed(&ctx, &c, &s, isn, MSG, 0, 0, 0);
        assert_int_equal(ctx.stats.gaps, 0);
        /* the receiver has [10,20): skipped now; [30,35) is not acknowledged, still awaited */
        peer_ack(&ctx, &srv, isn + 1 + 30);
        assert_int_equal(ctx.stats.gaps, 0);      /* only at this direction's next segment */
        feed(&ctx, &c, &s, isn, MSG, 0, 0, 0);
        assert_int_equal(ctx.stats.gaps, 1);
        assert_int_equal(ctx.stats.gap_bytes, 10);
        assert_int_equal(s.ngaps, 1);
        assert_int_equal(s.gaps[0].at, 10);
        assert_int_equal(s.gaps[0].len, 10);
        assert_int_equal(s.len, 20);
        assert_memory_equal(s.buf + 10, MSG + 20, 10);
        assert_int_equal(c.next_seq, isn + 1 + 30);
        feed(&ctx, &c, &s, isn, MSG, 30, 5, 0);   /* the late segment fills the second hole */
        assert_int_equal(s.len, 30);
        assert_memory_equal(s.buf + 20, MSG + 30, 10);
        assert_int_equal(ctx.stats.gaps, 1);
        assert_null(c.ooo);

        /* a lost tail: the next data segment lands beyond an acknowledged hole and goes at once */
        peer_ack(&ctx, &srv, isn + 1 + 45);
        feed(&ctx, &c, &s, isn, MSG, 45, MSGLEN - 45, 0);
        assert_int_equal(ctx.stats.gaps, 2);
        assert_int_equal(s.len, 30 + MSGLEN - 45);
        assert_int_equal(ctx.used, 0);
    }

    /* unpaired directions never see the other's ACKs */
    struct stream_ctx ctx;
    struct stream_dir c, srv;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 1 << 20);
    stream_dir_init(&c);
    stream_dir_init(&srv);
    syn(&ctx, &c, &s, 0);
    feed(&ctx, &c, &s, 0, MSG, 20, 10, 0);
    peer_ack(&ctx, &srv, 1 + 30);
    feed(&ctx, &c, &s, 0, MSG, 0, 0, 0);
    assert_int_equal(ctx.stats.gaps, 0);
    stream_dir_reset(&ctx, &c);
}

static int rst(struct stream_ctx *ctx, struct stream_dir *d, uint32_t seq)
{
    struct sink s = {0};
    struct packet p = mk(seq, TCP_RST | TCP_ACK, NULL, 0);
    return stream_segment(ctx, d, &p, sink_cb, &s);
}

/* Injected RSTs (sequence number outside [next_seq, next_seq + 65535]) are counted and
 * ignored, also across 2^32; an acceptable one still ends the direction. */
static void test_rst_window(void **state)
{
    (void)state;
    static const uint32_t isns[] = {5000, 0xFFFFFF00u};
    for (size_t k = 0; k < 2; k++) {
        uint32_t isn = isns[k];
        struct stream_ctx ctx;
        struct stream_dir d;
        struct sink s = {0};
        stream_ctx_init(&ctx, 1 << 20, 1 << 16);
        stream_dir_init(&d);
        syn(&ctx, &d, &s, isn);
        feed(&ctx, &d, &s, isn, MSG, 0, 20, 0);
        uint32_t nxt = isn + 21;
        assert_int_equal(rst(&ctx, &d, nxt - 1), 0);          /* already delivered */
        assert_int_equal(rst(&ctx, &d, nxt + 65536), 0);      /* past the window */
        assert_int_equal(rst(&ctx, &d, nxt + 0x80000000u), 0);
        assert_int_equal(rst(&ctx, &d, isn), 0);
        assert_int_equal(ctx.stats.rst_invalid, 4);
        assert_false(d.rst_seen);
        feed(&ctx, &d, &s, isn, MSG, 20, 10, 0);              /* the stream goes on */
        assert_int_equal(s.len, 30);
        assert_int_equal(rst(&ctx, &d, nxt + 10 + 65535), 1); /* the window's far edge */
        assert_true(d.rst_seen);
        assert_int_equal(ctx.stats.rst_invalid, 4);
    }

    /* at next_seq exactly, and just past a FIN */
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, 0xFFFFFFFFu);
    assert_int_equal(rst(&ctx, &d, 0), 1);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, 90);
    assert_int_equal(feed(&ctx, &d, &s, 90, MSG, 0, 5, TCP_FIN), 1);
    assert_int_equal(rst(&ctx, &d, 91 + 5 + 1), 1);

    /* a direction that sent nothing yet: judged by the receiver's ACK when there is one */
    struct stream_dir a, b;
    stream_dir_init(&a);
    stream_dir_init(&b);
    assert_int_equal(rst(&ctx, &a, 123456), 1);               /* nothing to judge by */
    stream_dir_init(&a);
    stream_dir_pair(&a, &b);
    peer_ack(&ctx, &b, 4000);
    assert_int_equal(rst(&ctx, &a, 3999), 0);
    assert_int_equal(rst(&ctx, &a, 4000 + 70000), 0);
    assert_int_equal(rst(&ctx, &a, 4000), 1);
    assert_int_equal(ctx.stats.rst_invalid, 2);
}

/* Zero-window probes: one byte at next_seq repeated while the receiver's window is shut, then
 * the real data from the same sequence number; and keep-alive style probes one byte back. */
static void test_zero_window_probes(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    stream_ctx_init(&ctx, 1 << 20, 1 << 16);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, 0xFFFFFFF8u);
    feed(&ctx, &d, &s, 0xFFFFFFF8u, MSG, 0, 10, 0);
    for (int i = 0; i < 6; i++)
        feed(&ctx, &d, &s, 0xFFFFFFF8u, MSG, 10, 1, 0);
    uint8_t junk = '?';
    for (int i = 0; i < 3; i++) { /* keep-alive: one old byte, content ignored */
        struct packet p = mk(0xFFFFFFF8u + 1 + 10, TCP_ACK, &junk, 1);
        stream_segment(&ctx, &d, &p, sink_cb, &s);
    }
    feed(&ctx, &d, &s, 0xFFFFFFF8u, MSG, 10, MSGLEN - 10, 0);
    assert_int_equal(s.len, MSGLEN);
    assert_memory_equal(s.buf, MSG, MSGLEN);
    assert_int_equal(ctx.stats.overlaps, 5 + 3 + 1);
    assert_int_equal(ctx.stats.overlap_segs, 5 + 3 + 1); /* one byte each */
    assert_int_equal(ctx.stats.gaps, 0);
    assert_int_equal(ctx.used, 0);
}

/* One-byte segments cost what malloc makes of them (32 bytes each), so a stream of them cannot
 * hold more than the memcap in real memory; used stays within the memcap throughout. */
static void test_memcap_small_segments(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir d;
    struct sink s = {0};
    static uint8_t msg[400];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 13 + 1);
    stream_ctx_init(&ctx, 32 * 10, 1 << 16);
    stream_dir_init(&d);
    syn(&ctx, &d, &s, 77);
    for (size_t off = 2; off < 40; off += 2) {
        feed(&ctx, &d, &s, 77, msg, off, 1, 0);
        assert_true(ctx.used <= ctx.memcap);
        size_t n = 0;
        for (struct stream_seg *h = d.ooo; h; h = *(struct stream_seg **)h)
            n++;
        assert_int_equal(ctx.used, 32 * n);
    }
    assert_int_equal(ctx.stats.ooo_segments + ctx.stats.memcap_drops, 19); /* each held or dropped */
    assert_true(ctx.stats.memcap_drops > 0);
    assert_true(ctx.stats.gaps > 0);                  /* a drop gives up the first hole */
    stream_dir_reset(&ctx, &d);
    assert_int_equal(ctx.used, 0);
}

/* Two paired directions whose callbacks ask for the other's acknowledged holes, as the
 * application layer does: the other direction catches up inside the callback, and never the
 * direction whose callback is running. */
struct xdir {
    struct stream_ctx *ctx;
    struct stream_dir *other;
    struct xdir *other_x;
    struct sink s;
};

static void xdir_cb(void *user, const uint8_t *data, size_t len)
{
    struct xdir *x = user;
    if (data)
        stream_ack_gaps(x->ctx, x->other, xdir_cb, x->other_x);
    sink_cb(&x->s, data, len);
}

static void test_ack_gaps_from_callback(void **state)
{
    (void)state;
    struct stream_ctx ctx;
    struct stream_dir c, v;
    static struct xdir xc, xv;
    memset(&xc, 0, sizeof(xc));
    memset(&xv, 0, sizeof(xv));
    stream_ctx_init(&ctx, 1 << 20, 1 << 20);
    stream_dir_init(&c);
    stream_dir_init(&v);
    stream_dir_pair(&c, &v);
    xc.ctx = xv.ctx = &ctx;
    xc.other = &v;
    xc.other_x = &xv;
    xv.other = &c;
    xv.other_x = &xc;
    struct packet p = mk(100, TCP_SYN, NULL, 0);
    stream_segment(&ctx, &c, &p, xdir_cb, &xc);
    p = mk(500, TCP_SYN | TCP_ACK, NULL, 0);
    p.ack = 101;
    stream_segment(&ctx, &v, &p, xdir_cb, &xv);
    /* v sends [0,10) and [20,30) of MSG; [10,20) is lost */
    p = mk(501, TCP_ACK, MSG, 10);
    p.ack = 101;
    stream_segment(&ctx, &v, &p, xdir_cb, &xv);
    p = mk(521, TCP_ACK, MSG + 20, 10);
    p.ack = 101;
    stream_segment(&ctx, &v, &p, xdir_cb, &xv);
    assert_int_equal(xv.s.len, 10);
    /* c's next data acknowledges all of it: v's hole goes before c's bytes are handed on */
    p = mk(101, TCP_ACK | TCP_PSH, MSG, 5);
    p.ack = 531;
    stream_segment(&ctx, &c, &p, xdir_cb, &xc);
    assert_int_equal(xv.s.ngaps, 1);
    assert_int_equal(xv.s.len, 20);
    assert_int_equal(xc.s.len, 5);
    assert_int_equal(ctx.stats.gaps, 1);
    assert_null(v.ooo);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_gap),
        cmocka_unit_test(test_rst_window),
        cmocka_unit_test(test_ack_gaps_from_callback),
        cmocka_unit_test(test_zero_window_probes),
        cmocka_unit_test(test_memcap_small_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
