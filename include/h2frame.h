/* h2frame.h — the HTTP/2 frame layer (RFC 9113 §4, §6): frame headers, payload views, the
 * client preface, and the plausibility check that finds HTTP/2 in bytes seen mid-connection.
 *
 * Pipeline: stream ─► applayer ─► app_http2 (per direction: [h2frame] ─► hpack ─► streams) ─►
 * app_tx. Pure: no state, no allocation, spans into the caller's bytes; never reads past `n`.
 * The entry streams frame payloads through its own state (a DATA payload is never copied), so
 * the layer works on what the caller holds: the 9-byte header, a payload's prefix (pad length,
 * priority, promised stream id), or a complete payload (h2_payload_view, for the probe, tests
 * and fuzzing).
 * RFC 9113 §3.4 (preface), §4.1 (frame format), §4.2 (frame size), §5.1.1 (stream ids),
 * §6.1-§6.10 (frame definitions), §7 (error codes).
 */
#ifndef TW_H2FRAME_H
#define TW_H2FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

#define H2_FRAME_HEADER_LEN 9
#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24u
#define H2_DEFAULT_MAX_FRAME 16384u    /* SETTINGS_MAX_FRAME_SIZE's initial value */
#define H2_LIMIT_MAX_FRAME 16777215u   /* its largest allowed value (2^24 - 1) */
/* The longest frame the plausibility check takes: the largest SETTINGS_MAX_FRAME_SIZE servers
 * are known to announce (Go: 1 MiB). Any printable first byte makes a length of 2 MiB or more,
 * so HTTP/1 text ("GET ", "HTTP/") never passes. */
#define H2_PROBE_MAX_FRAME (1u << 20)

enum h2_type {
    H2_DATA = 0, H2_HEADERS = 1, H2_PRIORITY = 2, H2_RST_STREAM = 3, H2_SETTINGS = 4,
    H2_PUSH_PROMISE = 5, H2_PING = 6, H2_GOAWAY = 7, H2_WINDOW_UPDATE = 8, H2_CONTINUATION = 9,
    H2_TYPE__COUNT
};

enum h2_flag {
    H2_F_END_STREAM = 0x1, H2_F_ACK = 0x1, H2_F_END_HEADERS = 0x4, H2_F_PADDED = 0x8,
    H2_F_PRIORITY = 0x20,
};

enum h2_setting_id {
    H2_SET_HEADER_TABLE_SIZE = 1, H2_SET_ENABLE_PUSH = 2, H2_SET_MAX_CONCURRENT_STREAMS = 3,
    H2_SET_INITIAL_WINDOW_SIZE = 4, H2_SET_MAX_FRAME_SIZE = 5, H2_SET_MAX_HEADER_LIST_SIZE = 6,
    H2_SET_ENABLE_CONNECT_PROTOCOL = 8, H2_SET_NO_RFC7540_PRIORITIES = 9,
};

struct h2_frame_hdr {
    uint32_t length;    /* 24 bits */
    uint8_t type, flags;
    uint8_t reserved;   /* the stream id's reserved bit */
    uint32_t stream_id; /* 31 bits */
};

/* What is wrong with a frame header by itself (RFC 9113 §6: stream id rules and fixed lengths,
 * against the receiver's SETTINGS_MAX_FRAME_SIZE). Unknown types are H2_FRAME_OK: receivers
 * ignore them (§5.5). */
enum h2_frame_err {
    H2_FRAME_OK = 0,
    H2_FRAME_BAD_STREAM,  /* a stream id where there must be none, or none where one must be */
    H2_FRAME_BAD_LENGTH,  /* PRIORITY 5, RST_STREAM 4, PING 8, WINDOW_UPDATE 4, SETTINGS 6n (ACK
                             0), GOAWAY >= 8 */
    H2_FRAME_TOO_LONG,    /* over the receiver's SETTINGS_MAX_FRAME_SIZE */
};

/* The 9-byte header at p (n >= 9: else 0 and nothing read); 1 when read. */
int h2_frame_header(const uint8_t *p, size_t n, struct h2_frame_hdr *h);
enum h2_frame_err h2_frame_check(const struct h2_frame_hdr *h, uint32_t max_frame);

/* The client preface: 1 when p[0..n) starts with all of it, -1 when p[0..n) is a proper prefix
 * of it (more is needed to tell), 0 when not. */
int h2_preface(const uint8_t *p, size_t n);

/* The layout of a HEADERS, PUSH_PROMISE or DATA payload: [pad length] [priority | promised
 * stream id] content [padding]. h2_prefix_len: the bytes before the content (0 for any other
 * type). h2_prefix_parse reads them from prefix[0..h2_prefix_len) and checks the padding against
 * the frame's length: -1 when it does not fit (PROTOCOL_ERROR, §6.1). */
struct h2_prefix {
    uint32_t content_len; /* header block fragment or data */
    uint8_t pad_len;
    uint8_t has_priority, exclusive, weight; /* weight as sent (0..255: RFC weight - 1) */
    uint32_t dependency;
    uint32_t promised_id;
};

size_t h2_prefix_len(const struct h2_frame_hdr *h);
int h2_prefix_parse(const struct h2_frame_hdr *h, const uint8_t *prefix, struct h2_prefix *out);

/* The content of a complete payload p[0..h->length) (HEADERS, PUSH_PROMISE, DATA), padding and
 * priority removed; -1 as h2_prefix_parse. */
int h2_payload_view(const struct h2_frame_hdr *h, const uint8_t *p, struct h2_prefix *pre,
                    struct span *content);

/* SETTINGS: entry i of a payload of 6n bytes (id, value). */
void h2_setting_at(const uint8_t *payload, size_t i, uint16_t *id, uint32_t *value);
/* RST_STREAM (4 bytes), GOAWAY (>= 8 bytes), WINDOW_UPDATE (4 bytes): 0 when too short. */
int h2_rst_stream(const uint8_t *p, size_t n, uint32_t *error_code);
int h2_goaway(const uint8_t *p, size_t n, uint32_t *last_stream_id, uint32_t *error_code);
int h2_window_update(const uint8_t *p, size_t n, uint32_t *increment);

/* Names: RFC 9113 §7 ("NO_ERROR" ... "HTTP_1_1_REQUIRED"), §6.5.2 ("SETTINGS_HEADER_TABLE_SIZE"
 * ...), §6 ("DATA" ...). NULL for a value that has none. */
const char *h2_error_name(uint32_t code);
const char *h2_setting_name(uint16_t id);
const char *h2_type_name(uint8_t type);

/* Whether p[0..n) looks like HTTP/2 frames from a frame boundary, for a capture that joined
 * the connection late: consecutive frames of known types, each passing h2_frame_check against
 * H2_PROBE_MAX_FRAME, with no reserved bit and no flag the type does not define. YES: at least
 * two whole frames, or one ending exactly at n (after 8 whole frames, and the role when asked,
 * the rest is not read); MORE: what there is fits (one frame cut short,
 * or a header cut short); NO otherwise. `role` (may be NULL) is set from the HEADERS blocks
 * (h2_block_role: a request pseudo-header (:authority, :method, :path, :scheme) says CLIENT,
 * :status says SERVER), or by a PUSH_PROMISE (SERVER); else 0. */
enum h2_plausible { H2_PLAUS_NO = 0, H2_PLAUS_MORE, H2_PLAUS_YES };
enum h2_role { H2_ROLE_UNKNOWN = 0, H2_ROLE_CLIENT, H2_ROLE_SERVER };
enum h2_plausible h2_plausible(const uint8_t *p, size_t n, enum h2_role *role);

/* The role a header block (fragment) shows: the first of its representations that names a
 * pseudo-header by a static index, or by a literal name not Huffman-coded. */
enum h2_role h2_block_role(const uint8_t *p, size_t n);

#endif
