/* stream.c — TCP reassembly of one direction: bytes in sequence order, each exactly once.
 *
 * Pipeline: flow ─► [stream] ─► applayer. Owns the copies of out-of-order segments it holds (the
 * one place packet bytes are copied, DESIGN "Contracts"); in-order data goes to the callback
 * straight from the packet. Implements RFC 9293 §3.4 sequence space: every comparison is a
 * signed 32-bit difference, so streams may wrap past 2^32.
 *
 *   next_seq              held (d->ooo, sorted by seq, never overlapping, all >= next_seq)
 *      |                   [seg]  [seg]   [seg]
 *   ---+----- hole -------+------+-------+-----
 *
 * Policy, where copies disagree: the first copy of a byte wins. A held byte is never replaced by
 * a later copy; when in-order packet data reaches a held segment, the held segment is delivered
 * and the packet's copy of those bytes is only compared. Bytes of the packet that precede
 * next_seq were delivered already and are dropped.
 *
 * Counting: stats.overlaps counts bytes seen again (retransmitted or overlapping), overlap_segs
 * the segments that carried any (Suricata's tcp.overlap counts segments);
 * stats.overlap_diff counts segments in which some overlapping byte differed from the held
 * copy (delivered bytes are gone, so a retransmission of delivered data cannot be compared).
 *
 * Bounds: ctx->used is the sum over every direction of what each held segment costs the heap
 * (its bytes, its header and the allocator's chunk overhead), kept under ctx->memcap; a piece
 * that does not fit is dropped (memcap_drops) and its direction is pushed past its first hole so
 * it frees what it holds. d->ooo_bytes (held data bytes only) above ctx->dir_limit also forces a
 * gap.
 *
 * A lossy SPAN port: a hole that the receiver has acknowledged will never be filled by the
 * capture (the sender will not retransmit what was received), so it is skipped as soon as the
 * other direction's ACK covers the start of the data held after it (Suricata does the same),
 * instead of waiting for the per-direction limit or the end of the flow. The check runs on this
 * direction's next segment, since only then is its callback at hand (a pure ACK is enough), and
 * whenever the owner asks (stream_ack_gaps: the application layer does, before it parses the
 * other direction's next message).
 *
 * RST (RFC 9293 §3.10.7.4, RFC 5961 §3): obeyed only if its sequence number lies in
 * [next_seq, next_seq + RST_WINDOW]. A real RST carries the sender's SND.NXT, which is next_seq
 * (plus one after a FIN) unless the capture missed data; the window scale option is not decoded,
 * so the receiver's advertised window cannot be known and the largest unscaled one stands in.
 * Anything else is counted in rst_invalid and ignored: an injected RST must not blind the sensor
 * to the rest of the connection. The cost of a wrongly ignored RST is only that the flow ends at
 * its timeout instead.
 */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#define RST_WINDOW 65535

struct stream_seg {
    struct stream_seg *next;
    uint32_t seq;
    uint32_t len;
    uint8_t data[];
};

static int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

static int seq_lt(uint32_t a, uint32_t b)
{
    return seq_diff(a, b) < 0;
}

static int seq_leq(uint32_t a, uint32_t b)
{
    return seq_diff(a, b) <= 0;
}

void stream_ctx_init(struct stream_ctx *ctx, size_t memcap, size_t dir_limit)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->memcap = memcap;
    ctx->dir_limit = dir_limit;
}

void stream_dir_init(struct stream_dir *d)
{
    memset(d, 0, sizeof(*d));
}

void stream_dir_pair(struct stream_dir *a, struct stream_dir *b)
{
    a->peer = b;
    b->peer = a;
}

/* The heap footprint of a held segment of len bytes: glibc's malloc adds an 8-byte header and
 * rounds to 16 with a 32-byte minimum, which for the 1-byte segments of a hostile stream is
 * most of the cost. Charging only the payload would let such a stream hold twice the memcap. */
static size_t seg_cost(uint32_t len)
{
    size_t n = (sizeof(struct stream_seg) + len + 8 + 15) & ~(size_t)15;
    return n < 32 ? 32 : n;
}

static void seg_free(struct stream_ctx *ctx, struct stream_dir *d, struct stream_seg *s)
{
    d->ooo_bytes -= s->len;
    ctx->used -= seg_cost(s->len);
    free(s);
}

static void emit(struct stream_dir *d, const uint8_t *data, size_t len, stream_deliver_fn cb,
                 void *user)
{
    if (len == 0)
        return;
    d->in_cb = 1;
    cb(user, data, len);
    d->in_cb = 0;
    d->next_seq += (uint32_t)len;
    d->delivered += len;
}

/* Delivers held segments that have become contiguous with next_seq. */
static void drain(struct stream_ctx *ctx, struct stream_dir *d, stream_deliver_fn cb, void *user)
{
    struct stream_seg *h;
    while ((h = d->ooo) && seq_leq(h->seq, d->next_seq)) {
        uint32_t skip = d->next_seq - h->seq; /* 0 while the held-above-next_seq rule holds */
        d->ooo = h->next;
        if (skip < h->len)
            emit(d, h->data + skip, h->len - skip, cb, user);
        seg_free(ctx, d, h);
    }
}

/* Skips the hole before the first held segment, reports it, and delivers from there. */
static void force_gap(struct stream_ctx *ctx, struct stream_dir *d, stream_deliver_fn cb,
                      void *user)
{
    struct stream_seg *h = d->ooo;
    if (!h)
        return;
    uint32_t gap = h->seq - d->next_seq;
    if (seq_lt(d->next_seq, h->seq)) {
        ctx->stats.gaps++;
        ctx->stats.gap_bytes += gap;
        d->in_cb = 1;
        cb(user, NULL, gap);
        d->in_cb = 0;
        d->next_seq = h->seq;
    }
    drain(ctx, d, cb, user);
}

/* Copies [seq, seq+len) into a new held segment linked at *pp. 0 when the memcap (or malloc)
 * refuses it. */
static int hold(struct stream_ctx *ctx, struct stream_dir *d, struct stream_seg **pp,
                uint32_t seq, const uint8_t *data, uint32_t len)
{
    size_t cost = seg_cost(len);
    if (ctx->used > ctx->memcap || cost > ctx->memcap - ctx->used) {
        ctx->stats.memcap_drops++;
        return 0;
    }
    struct stream_seg *s = malloc(sizeof(struct stream_seg) + len);
    if (!s) {
        ctx->stats.memcap_drops++;
        return 0;
    }
    s->seq = seq;
    s->len = len;
    memcpy(s->data, data, len);
    s->next = *pp;
    *pp = s;
    ctx->used += cost;
    d->ooo_bytes += len;
    ctx->stats.ooo_segments++;
    return 1;
}

/* Holds the bytes of [seq, seq+len) (all after next_seq) that no held segment has yet; the
 * bytes that one has are compared with it. Returns 0 when some piece was dropped. */
static int insert(struct stream_ctx *ctx, struct stream_dir *d, uint32_t seq,
                  const uint8_t *data, uint32_t len)
{
    struct stream_seg **pp = &d->ooo;
    int ok = 1, differs = 0;
    while (len > 0) {
        struct stream_seg *h = *pp;
        if (h && seq_leq(h->seq + h->len, seq)) { /* entirely before us */
            pp = &h->next;
            continue;
        }
        if (!h || seq_leq(seq + len, h->seq)) { /* fits before h, or at the end */
            ok &= hold(ctx, d, pp, seq, data, len);
            break;
        }
        if (seq_lt(seq, h->seq)) { /* new bytes before h */
            uint32_t n = h->seq - seq;
            if (hold(ctx, d, pp, seq, data, n))
                pp = &(*pp)->next;
            else
                ok = 0;
            seq += n;
            data += n;
            len -= n;
        }
        uint32_t off = seq - h->seq;
        uint32_t o = h->len - off < len ? h->len - off : len;
        ctx->stats.overlaps += o;
        if (memcmp(data, h->data + off, o) != 0)
            differs = 1;
        seq += o;
        data += o;
        len -= o;
        pp = &h->next;
    }
    ctx->stats.overlap_diff += (uint64_t)differs;
    return ok;
}

/* Delivers packet data starting exactly at next_seq. Where it reaches a held segment, the held
 * copy is delivered instead (first copy wins) and the packet's bytes only compared. */
static void deliver_in_order(struct stream_ctx *ctx, struct stream_dir *d, const uint8_t *data,
                             uint32_t len, stream_deliver_fn cb, void *user)
{
    int differs = 0;
    while (len > 0) {
        struct stream_seg *h = d->ooo;
        if (!h || seq_leq(d->next_seq + len, h->seq)) {
            emit(d, data, len, cb, user);
            break;
        }
        uint32_t n = h->seq - d->next_seq;
        emit(d, data, n, cb, user);
        data += n;
        len -= n;
        uint32_t o = h->len < len ? h->len : len;
        ctx->stats.overlaps += o;
        if (memcmp(data, h->data, o) != 0)
            differs = 1;
        data += o;
        len -= o;
        d->ooo = h->next;
        emit(d, h->data, h->len, cb, user);
        seg_free(ctx, d, h);
    }
    ctx->stats.overlap_diff += (uint64_t)differs;
    drain(ctx, d, cb, user);
}

static int fin_reached(const struct stream_dir *d)
{
    return d->started && d->fin_seen && seq_leq(d->fin_seq, d->next_seq);
}

/* Whether a RST with this sequence number is one the receiver would obey (see the file
 * comment). A direction not started yet gives nothing to judge by except the receiver's ACK;
 * without that either, the RST is believed. */
static int rst_acceptable(const struct stream_dir *d, uint32_t seq)
{
    const struct stream_dir *p = d->peer;
    uint32_t base;
    if (d->started)
        base = d->next_seq;
    else if (p && p->ack_seen)
        base = p->ack;
    else
        return 1;
    int32_t off = seq_diff(seq, base);
    /* <=: a RST after a FIN carries the sequence number just past it */
    return off >= 0 && off <= RST_WINDOW;
}

/* Skips every hole whose following held data the peer has acknowledged. The ACK must not claim
 * more than this direction is known to have sent (high_seq): a forged or corrupt ACK number
 * could otherwise make us throw away a hole that the capture may still fill. Does nothing while
 * d is inside its own callback (a callback of the other direction may call this). */
void stream_ack_gaps(struct stream_ctx *ctx, struct stream_dir *d, stream_deliver_fn cb,
                     void *user)
{
    const struct stream_dir *p = d->peer;
    if (!p || !p->ack_seen || !d->started || d->in_cb)
        return;
    uint32_t a = p->ack;
    if (!seq_lt(d->next_seq, a) || seq_lt(d->high_seq, a))
        return;
    while (d->ooo && seq_leq(d->ooo->seq, a))
        force_gap(ctx, d, cb, user);
}

/* Never fails: data that cannot be held is counted and dropped. Borrows pkt->payload only for
 * the call; cb's data pointer is valid only during the callback. */
int stream_segment(struct stream_ctx *ctx, struct stream_dir *d, const struct packet *pkt,
                   stream_deliver_fn cb, void *user)
{
    uint8_t fl = pkt->tcp_flags;
    if (fl & TCP_RST) {
        /* RST data is not delivered: receivers discard it (RFC 9293 §3.10.7.4 processes the
         * RST before any text). Its ACK is not recorded: an ignored RST is an attacker's, and
         * a believed one ends everything anyway. */
        if (d->rst_seen)
            return 0;
        if (!rst_acceptable(d, pkt->seq)) {
            ctx->stats.rst_invalid++;
            return 0;
        }
        d->rst_seen = 1;
        return 1;
    }
    if (fl & TCP_ACK) {
        d->ack = pkt->ack;
        d->ack_seen = 1;
    }

    int was_done = fin_reached(d);
    uint32_t seq = pkt->seq;
    const uint8_t *data = pkt->payload;
    uint32_t len = data ? pkt->payload_len : 0;

    if (fl & TCP_SYN) {
        seq += 1; /* the SYN takes one sequence number; any data (TFO) follows it */
        if (!d->started) {
            d->next_seq = d->high_seq = seq;
            d->started = 1;
            d->syn_seen = 1;
        }
    }
    if (!d->started) {
        if (len == 0 && !(fl & TCP_FIN))
            return 0; /* a bare ACK tells nothing about where the data starts */
        d->next_seq = d->high_seq = seq; /* mid-stream pickup */
        d->started = 1;
    }
    if ((fl & TCP_FIN) && !d->fin_seen) {
        d->fin_seen = 1;
        d->fin_seq = seq + len;
    }
    uint32_t end = seq + len + ((fl & TCP_FIN) ? 1u : 0u);
    if (seq_lt(d->high_seq, end))
        d->high_seq = end;

    if (len > 0) {
        uint64_t seen_again = ctx->stats.overlaps;
        int32_t diff = seq_diff(seq, d->next_seq);
        if (diff < 0) { /* starts in data already delivered */
            uint32_t old = (uint32_t)(-(int64_t)diff);
            if (old >= len) {
                ctx->stats.overlaps += len;
                len = 0;
            } else {
                ctx->stats.overlaps += old;
                data += old;
                len -= old;
                seq = d->next_seq;
                diff = 0;
            }
        }
        if (len > 0 && diff == 0) {
            deliver_in_order(ctx, d, data, len, cb, user);
        } else if (len > 0) {
            if (!insert(ctx, d, seq, data, len) && d->ooo)
                force_gap(ctx, d, cb, user);
            while (d->ooo && d->ooo_bytes > ctx->dir_limit)
                force_gap(ctx, d, cb, user);
        }
        if (ctx->stats.overlaps != seen_again)
            ctx->stats.overlap_segs++;
    }
    stream_ack_gaps(ctx, d, cb, user);
    return !was_done && fin_reached(d);
}

/* Delivers everything held, reporting each hole as a gap; afterwards nothing is held. */
void stream_flush(struct stream_ctx *ctx, struct stream_dir *d, stream_deliver_fn cb, void *user)
{
    while (d->ooo)
        force_gap(ctx, d, cb, user);
}

void stream_dir_reset(struct stream_ctx *ctx, struct stream_dir *d)
{
    while (d->ooo) {
        struct stream_seg *s = d->ooo;
        d->ooo = s->next;
        seg_free(ctx, d, s);
    }
}
