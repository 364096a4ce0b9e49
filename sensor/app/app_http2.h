/* app_http2.h — the HTTP/2 entry's per-connection state, shared by its two files (private to
 * sensor/app): app_http2.c (the entry's operations, frames per direction, the h2c handover) and
 * app_http2_stream.c (header blocks ─► streams ─► transactions, gRPC verdicts, the http2 EVE
 * member).
 *
 * Pipeline: stream ─► applayer ─► [app_http2: h2frame ─► hpack ─► streams] ─► app_tx. One
 * struct h2_conn per flow, allocated by init and charged to engine.http-memcap (app_mem) with
 * everything it grows: the header block buffers, the HPACK tables, the field scratch.
 */
#ifndef TW_APP_HTTP2_H
#define TW_APP_HTTP2_H

#include <stddef.h>
#include <stdint.h>

#include "app_tx.h"
#include "h2frame.h"
#include "hpack.h"

/* Streams tracked at once: as many transactions as the app layer keeps in flight, so that it
 * never closes one of ours on its own (TX_MAX_PENDING). Past it: counted, the stream ignored. */
#define H2_MAX_STREAMS TX_MAX_PENDING
#define H2_CTRL_KEEP 64      /* bytes of a control frame's payload kept (10 settings) */
#define H2_MAX_SETTINGS 10   /* settings of one SETTINGS frame noted for EVE */
#define H2_MAX_FIELDS 128    /* regular fields of one header block passed on */

/* What a direction's bytes are, before and between frames. */
enum h2_mode {
    H2M_FRAMES = 0, /* at or inside a frame */
    H2M_PREFACE,    /* the client preface is expected (prior knowledge, or after the upgrade) */
    H2M_SKIP_101,   /* the server's "HTTP/1.1 101" head, before its frames (h2c) */
    H2M_RESYNC,     /* a frame boundary is not known (late join, gap): searched for */
};

struct h2_dir {
    struct hpack_dec dec;    /* this direction's header blocks (what its sender encoded) */
    size_t dec_mem;          /* what dec is charged */
    uint8_t *blk;            /* the header block being collected (HEADERS/PUSH_PROMISE +
                                CONTINUATION fragments, padding and priority removed) */
    size_t blen, bcap;
    uint32_t max_frame;      /* frames this side sends may be this long (the peer's setting) */
    uint32_t off;            /* payload bytes of the current frame consumed */
    uint32_t blk_stream, blk_promised;
    uint32_t skipped;        /* H2M_SKIP_101: head bytes skipped */
    struct h2_frame_hdr fh;  /* the current frame (in_frame) */
    struct h2_prefix pre;    /* its prefix, once read (pre_ok) */
    uint16_t set_id[H2_MAX_SETTINGS];  /* the last SETTINGS this side sent, for EVE */
    uint32_t set_val[H2_MAX_SETTINGS];
    uint8_t nset;            /* ... how many (0: none pending) */
    uint8_t mode;            /* enum h2_mode */
    uint8_t hdr[H2_FRAME_HEADER_LEN], hlen; /* a frame header split across deliveries */
    uint8_t prefix[6], plen; /* the payload prefix (pad length, priority, promised id) */
    uint8_t ctrl[H2_CTRL_KEEP];
    uint8_t in_frame, pre_ok, skip; /* skip: the frame's payload is ignored */
    uint8_t blk_open, blk_drop, blk_type, blk_end_stream;
    int16_t blk_weight;      /* the HEADERS' priority weight as sent, -1: none */
    uint8_t pmatch;          /* H2M_PREFACE: preface bytes matched */
    uint8_t crlf;            /* H2M_SKIP_101: "\r\n\r\n" bytes matched */
    uint8_t dec_ready;       /* dec initialised */
};

struct h2_stream {
    uint32_t id;
    struct tx *t;
    uint8_t resp;            /* its final response head came */
    uint8_t grpc;            /* content-type application/grpc*: its body is not collected */
};

/* One decoded field, as offsets into h2_conn.fbuf (which moves as it grows). */
struct h2_fld {
    uint32_t no, nl, vo, vl;
};

struct h2_conn {
    struct h2_dir d[2];
    struct h2_stream st[H2_MAX_STREAMS];
    uint32_t nst;
    uint32_t max_client_stream; /* the highest stream id the client opened */
    uint8_t from_start;      /* the connection's start was seen (SYN, or the h2c upgrade) */
    uint8_t upgraded;        /* entered by an h2c upgrade */
    size_t mem;              /* charged to app_mem: this struct */
    /* the field scratch of the block being decoded: names and values copied out of HPACK */
    uint8_t *fbuf;
    size_t flen, fcap;
    struct h2_fld fl[H2_MAX_FIELDS];
    uint32_t nfl;
    uint32_t cut;            /* fields of this block dropped by a bound */
};

/* app_http2_stream.c: a complete header block of direction `side` (HEADERS or PUSH_PROMISE with
 * its CONTINUATIONs): decoded, and handed to its stream. */
void h2_block_done(struct app_ctx *c, struct h2_conn *h, int side);
/* DATA content of direction `side` for stream `id`, in place; end: END_STREAM after it. */
void h2_data(struct app_ctx *c, struct h2_conn *h, int side, uint32_t id, const uint8_t *p,
             size_t n);
void h2_data_end(struct app_ctx *c, struct h2_conn *h, int side, uint32_t id);
/* RST_STREAM (code) or GOAWAY (last stream id) sent by `side`. */
void h2_rst_stream_frame(struct app_ctx *c, struct h2_conn *h, int side, uint32_t id,
                         uint32_t code);
void h2_goaway_frame(struct app_ctx *c, struct h2_conn *h, int side, uint32_t last,
                     uint32_t code);
/* PRIORITY for stream id: its request's priority for EVE, when none was set. */
void h2_priority(struct h2_conn *h, uint32_t id, uint8_t weight);
/* The stream's slot, or NULL. */
struct h2_stream *h2_stream_find(struct h2_conn *h, uint32_t id);
/* Adopts t (the h2c upgrade request) as stream 1. */
void h2_adopt(struct app_ctx *c, struct h2_conn *h, struct tx *t);
/* Drops the slot of t (forget). */
void h2_stream_forget(struct h2_conn *h, struct tx *t);
/* For app_http1's h2c handover: the HTTP2-Settings field of the upgrade request t (base64url of a
 * SETTINGS payload, RFC 7540 §3.2.1), noted as stream 1's request settings for EVE; HTTP/2's
 * init applies them when it adopts t. An invalid value: the invalid_http1_settings anomaly. */
void h2_upgrade_settings(struct app_ctx *c, struct tx *t, struct span value);
/* (Re)starts direction side's HPACK decoder, charging its memory. */
void h2_dec_restart(struct app_ctx *c, struct h2_conn *h, int side, int from_start);

#endif
