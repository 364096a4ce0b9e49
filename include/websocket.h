/* websocket.h — the WebSocket frame layer (RFC 6455) and permessage-deflate (RFC 7692).
 *
 * Pipeline: applayer ─► [app_ws: websocket reader] ─► token scan. Pure: no I/O, no globals. Three
 * levels: one frame header parsed at a time (ws_frame_header_parse), payload unmasking at any
 * offset (ws_unmask), and a reader per direction (struct ws_reader) that takes a direction's
 * bytes over arbitrary splits, follows frames (control frames interleaved in fragmented
 * messages), assembles each data message up to a limit, inflates compressed ones (raw deflate,
 * the 00 00 ff ff tail appended at the message end, the sliding window kept across messages
 * unless *_no_context_takeover was agreed), and hands every complete message to a callback.
 *
 * Owns, per reader: the message buffer (grown up to `limit`), a control frame's payload, and
 * the zlib stream. Every heap byte it holds is in `mem` (zlib's allocations through our
 * allocator, each with the allocator's overhead), and a feed never allocates more than the
 * `room` its caller grants: the owner charges `mem` to its memcap. Bounds: a message past
 * `limit` is cut (`truncated`); inflation that produces more than `ratio` times its input past a
 * 64 KiB floor stops (`bomb`), and with context takeover no later compressed message of that
 * direction can be decoded (`error`). A framing error (reserved bits or opcodes, a control
 * frame fragmented or over 125 bytes, a length not minimally encoded or over 2^63, a
 * continuation without a message) stops the reader for good: nothing after it can be framed.
 * RFC 6455 §5.2 (base framing), §5.3 (masking), §5.4 (fragmentation), §5.5 (control frames),
 * §9.1 (Sec-WebSocket-Extensions); RFC 7692 §7 (permessage-deflate), §7.2.2 (decompression).
 */
#ifndef TW_WEBSOCKET_H
#define TW_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

#define WS_HEADER_MAX 14   /* 2 + 8 (64-bit length) + 4 (masking key) */
#define WS_CONTROL_MAX 125 /* a control frame's payload, at most (§5.5) */

enum ws_opcode {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

struct ws_frame_header {
    uint8_t fin;
    uint8_t rsv;      /* RSV1..RSV3 as bits 2..0 (RSV1 = 4: "compressed" under permessage-deflate) */
    uint8_t opcode;
    uint8_t masked;
    uint8_t key[4];   /* the masking key, when masked */
    uint8_t hlen;     /* bytes of the header */
    uint64_t len;     /* payload length */
};

/* One frame header at p[0..n). PARSE_OK: `consumed` is its length (h filled); PARSE_NEED_MORE:
 * `needed` is the header's whole length as far as the bytes so far tell (2, then the real one);
 * PARSE_ERROR: a reserved opcode, a control frame that is fragmented or longer than 125 bytes, a
 * 16- or 64-bit length that a shorter form could have carried, or a 64-bit length with its top
 * bit set. The RSV bits are returned, not judged: what they may be depends on the extensions. */
struct parse_result ws_frame_header_parse(const uint8_t *p, size_t n, struct ws_frame_header *h);

/* dst[i] = src[i] ^ key[(off + i) % 4] for n bytes: unmasks (or masks) a payload piece that
 * starts at payload offset `off`. dst may be src (in place). */
void ws_unmask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t key[4], uint64_t off);

/* permessage-deflate as a server's 101 agreed it (RFC 7692 §7.1). Indexed by the sender:
 * WS_CLIENT's parameters are the client's compressor's (client_no_context_takeover,
 * client_max_window_bits), WS_SERVER's the server's. */
enum { WS_CLIENT = 0, WS_SERVER = 1 };

struct ws_deflate {
    uint8_t on;
    uint8_t no_context_takeover[2];
    uint8_t max_window_bits[2]; /* 8..15; 15 when not named */
};

/* A Sec-WebSocket-Extensions value of a 101 response (RFC 6455 §9.1 syntax: extensions
 * separated by ',', parameters by ';', values tokens or quoted strings). Returns 1 and fills d
 * when permessage-deflate is among them with valid parameters (RFC 7692 §7.1: each at most once,
 * window bits 8..15, no unknown parameter), 0 when it is not there, -1 when it is there but
 * malformed (a client fails such a handshake). d is zeroed unless 1. */
int ws_extensions_parse(struct span value, struct ws_deflate *d);

/* One complete message, or one control frame, as the reader hands it on. p[0..len) is the
 * payload unmasked (and inflated), valid during the callback only. */
struct ws_message {
    uint8_t opcode;       /* WS_OP_TEXT / BINARY for messages; CLOSE / PING / PONG */
    uint8_t compressed;   /* RSV1 was set on its first frame */
    uint8_t truncated;    /* more than `limit` bytes: cut there */
    uint8_t capped;       /* cut because the caller's room (memcap) allowed no more */
    uint8_t bomb;         /* inflation stopped: the ratio was passed */
    uint8_t error;        /* the compressed data could not be inflated (corrupt, or the sliding
                             window was lost to an earlier stop): p holds what decoded first */
    const uint8_t *p;
    size_t len;
};

/* Called for each message; a non-zero return stops the reader (WS_STOP). */
typedef int (*ws_message_fn)(void *user, const struct ws_message *m);

enum ws_status { WS_OK = 0, WS_STOP, WS_ERROR };

struct ws_reader {
    /* configuration */
    size_t limit;              /* bytes of one message kept */
    uint32_t ratio;            /* bomb threshold (0: none) */
    uint8_t deflate;           /* permessage-deflate agreed: RSV1 may mark compressed messages */
    uint8_t no_context_takeover;
    uint8_t window_bits;       /* the inflater's window (9..15: zlib's deflate never uses 8) */
    /* the frame being read */
    uint8_t hdr[WS_HEADER_MAX];
    uint8_t hdr_len;
    uint8_t in_frame;          /* header read, `left` payload bytes to come */
    struct ws_frame_header fh;
    uint64_t left, off;
    /* the data message being assembled */
    uint8_t in_msg, msg_opcode, msg_compressed;
    uint8_t truncated, capped, bomb, zerror;
    uint8_t z_broken;          /* the sliding window is lost: later compressed messages fail */
    uint8_t status;            /* enum ws_status: anything but WS_OK is final */
    uint8_t *buf;
    size_t len, cap;
    uint64_t msg_in, msg_out;  /* the message's compressed bytes, and what they inflated to */
    /* a control frame's payload */
    uint8_t ctl[WS_CONTROL_MAX];
    uint8_t ctl_len;
    /* zlib (a z_stream, allocated on the first compressed message) */
    void *z;
    /* memory */
    size_t mem;                /* heap bytes held now (buffer and zlib, with overheads) */
    size_t room;               /* during a feed: bytes it may still allocate */
    uint64_t messages;         /* data messages handed on */
};

/* limit: bytes of a message kept (0 reads frames but keeps nothing); ratio: bomb threshold (0:
 * none); d: the agreed extension (NULL or !on: none) and `sender` (WS_CLIENT/WS_SERVER) picks
 * the direction's parameters. Allocates nothing. */
void ws_reader_init(struct ws_reader *r, size_t limit, uint32_t ratio, const struct ws_deflate *d,
                    int sender);

/* Bytes p[0..n) of the direction, in order. `room`: the most it may allocate during this call.
 * Calls fn for each complete message and control frame. Returns the reader's status: after
 * WS_STOP or WS_ERROR later feeds do nothing. */
enum ws_status ws_reader_feed(struct ws_reader *r, const uint8_t *p, size_t n, size_t room,
                              ws_message_fn fn, void *user);

/* Frees what the reader holds (mem becomes 0); r may be initialised again. */
void ws_reader_reset(struct ws_reader *r);

/* Whether p[0..n) is valid UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF). */
int ws_utf8_valid(const uint8_t *p, size_t n);

#endif
