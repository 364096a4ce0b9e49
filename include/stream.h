/* stream.h — TCP reassembly, one direction at a time (RFC 9293 §3.4 sequence numbers).
 *
 * Pipeline: flow ─► [stream] ─► applayer. Delivers each direction's bytes in order, exactly
 * once, to a callback. Owns copies of out-of-order segments only (the one place packet bytes are
 * copied); in-order data is delivered straight from the packet without a copy.
 *
 *   next_seq                                        ooo list (sorted by seq, non-overlapping)
 *      |<-- delivered -->|                           [seg]   [seg]      [seg]
 *   ---+-----------------+---------- hole --------+-------+------...
 *
 * Retransmissions and overlaps: the first copy wins. Where a later copy differs from bytes still
 * held (out-of-order segments), `overlap_diff` is counted. A segment before next_seq is trimmed.
 * Mid-stream pickup: a direction with no SYN seen starts at its first data segment. Sequence
 * numbers wrap (all comparisons are modulo 2^32).
 * Gaps (bytes the capture never saw) are skipped, counted and reported to the callback, when the
 * out-of-order bytes of one direction exceed the per-direction limit, when the memcap is hit,
 * when the direction ends (FIN/RST/flow end: stream_flush), or when the other direction has
 * acknowledged bytes beyond the hole (the receiver has them, the capture never will; needs the
 * two directions paired with stream_dir_pair; checked on this direction's next segment and by
 * stream_ack_gaps).
 * A RST is obeyed only when its sequence number is acceptable (RFC 9293 §3.10.7.4: inside
 * [next_seq, next_seq + 65535] of its direction; the window scale is unknown to us); others are
 * counted and ignored, so an injected RST cannot end the stream early.
 */
#ifndef TW_STREAM_H
#define TW_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

struct stream_seg;

struct stream_dir {
    uint32_t next_seq;        /* next byte expected */
    uint8_t started;          /* next_seq is known (SYN seen or first data taken) */
    uint8_t syn_seen, fin_seen, rst_seen;
    uint32_t fin_seq;         /* sequence number of the FIN, when fin_seen */
    struct stream_seg *ooo;   /* out-of-order segments, sorted, non-overlapping */
    size_t ooo_bytes;
    uint64_t delivered;       /* bytes delivered so far */
    uint32_t high_seq;        /* end of the highest data byte (or FIN) seen, once started */
    uint32_t ack;             /* the last acknowledgement this side sent (the peer's space) */
    uint8_t ack_seen;         /* ack is set */
    uint8_t in_cb;            /* inside this direction's callback: not re-entered */
    struct stream_dir *peer;  /* the other direction of the connection (stream_dir_pair) */
};

struct stream_stats {
    uint64_t gaps;            /* stats.tcp.reassembly_gap */
    uint64_t gap_bytes;
    uint64_t memcap_drops;    /* stats.tcp.segment_memcap_drop */
    uint64_t overlaps;        /* retransmitted/overlapping bytes seen again
                                 (stats.tokenwatch.tcp.overlap_bytes) */
    uint64_t overlap_diff;    /* segments whose overlapping bytes differed (anomaly;
                                 stats.tcp.overlap_diff_data) */
    uint64_t ooo_segments;    /* segments buffered out of order */
    uint64_t rst_invalid;     /* RSTs outside the window, ignored
                                 (stats.tokenwatch.tcp.rst_invalid) */
    uint64_t overlap_segs;    /* segments carrying bytes seen again (stats.tcp.overlap, which
                                 Suricata counts per segment) */
};

/* Shared by every stream of one worker: the memcap and the counters. */
struct stream_ctx {
    size_t memcap;            /* bytes all out-of-order segments may take */
    size_t used;
    size_t dir_limit;         /* out-of-order bytes one direction may hold before a gap is forced */
    struct stream_stats stats;
};

/* Receives in-order data. data == NULL means a gap of `len` bytes was skipped here. */
typedef void (*stream_deliver_fn)(void *user, const uint8_t *data, size_t len);

void stream_ctx_init(struct stream_ctx *ctx, size_t memcap, size_t dir_limit);
void stream_dir_init(struct stream_dir *d);

/* Links the two directions of one connection, so that each sees the other's acknowledgements
 * (ACK-based gaps, and where a RST of a direction not started yet must fall). Idempotent; both
 * stay owned by the caller. Cannot fail. */
void stream_dir_pair(struct stream_dir *a, struct stream_dir *b);

/* Feeds one TCP segment of this direction (pkt->seq, ack, tcp_flags, payload). Delivers
 * whatever becomes in-order, through cb(user, ...), before returning. Returns 1 when this segment
 * ended the direction (FIN reached in order, or an acceptable RST), else 0. */
int stream_segment(struct stream_ctx *ctx, struct stream_dir *d, const struct packet *pkt,
                   stream_deliver_fn cb, void *user);

/* Skips, reporting each as a gap, the holes of d before held data that d's peer has already
 * acknowledged (the receiver has those bytes; the capture will never see them), and delivers
 * what follows through d's own callback. stream_segment does this by itself on d's segments;
 * call it to bring d up to date at another moment, e.g. from the other direction's callback.
 * Does nothing while d's own callback is running. */
void stream_ack_gaps(struct stream_ctx *ctx, struct stream_dir *d, stream_deliver_fn cb,
                     void *user);

/* Ends the direction: delivers held segments across any holes (reporting each gap), then frees
 * them. Used at FIN/RST when data is still held and when the flow is torn down. */
void stream_flush(struct stream_ctx *ctx, struct stream_dir *d, stream_deliver_fn cb, void *user);

/* Frees held segments without delivering them. */
void stream_dir_reset(struct stream_ctx *ctx, struct stream_dir *d);

#endif
