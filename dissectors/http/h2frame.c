/* h2frame.c — the HTTP/2 frame layer (h2frame.h): frame headers and their rules, payload
 * prefixes (padding, priority, promised stream), control frame payloads, names, the client
 * preface and the plausibility check used to find HTTP/2 in a capture that joined late.
 *
 * Pipeline: app_http2 ─► [h2frame] (pure: no state, no allocation; every read bounded by the
 * caller's length). Owns nothing.
 * RFC 9113 §3.4, §4.1, §4.2, §5.1.1, §6, §7; RFC 7541 §6 (the first representation of a header
 * block, for the roles).
 */
#include "h2frame.h"

#include <string.h>

/* The flags each type defines (§6); a sender leaves the others unset. */
static const uint8_t defined_flags[H2_TYPE__COUNT] = {
    [H2_DATA] = H2_F_END_STREAM | H2_F_PADDED,
    [H2_HEADERS] = H2_F_END_STREAM | H2_F_END_HEADERS | H2_F_PADDED | H2_F_PRIORITY,
    [H2_PRIORITY] = 0,
    [H2_RST_STREAM] = 0,
    [H2_SETTINGS] = H2_F_ACK,
    [H2_PUSH_PROMISE] = H2_F_END_HEADERS | H2_F_PADDED,
    [H2_PING] = H2_F_ACK,
    [H2_GOAWAY] = 0,
    [H2_WINDOW_UPDATE] = 0,
    [H2_CONTINUATION] = H2_F_END_HEADERS,
};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int h2_frame_header(const uint8_t *p, size_t n, struct h2_frame_hdr *h)
{
    if (n < H2_FRAME_HEADER_LEN)
        return 0;
    h->length = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    h->type = p[3];
    h->flags = p[4];
    h->reserved = p[5] >> 7;
    h->stream_id = be32(p + 5) & 0x7fffffffu;
    return 1;
}

enum h2_frame_err h2_frame_check(const struct h2_frame_hdr *h, uint32_t max_frame)
{
    uint32_t len = h->length;
    switch (h->type) {
    case H2_DATA:
    case H2_HEADERS:
    case H2_PUSH_PROMISE:
    case H2_CONTINUATION:
        if (!h->stream_id)
            return H2_FRAME_BAD_STREAM;
        break;
    case H2_PRIORITY:
        if (!h->stream_id)
            return H2_FRAME_BAD_STREAM;
        if (len != 5)
            return H2_FRAME_BAD_LENGTH;
        break;
    case H2_RST_STREAM:
        if (!h->stream_id)
            return H2_FRAME_BAD_STREAM;
        if (len != 4)
            return H2_FRAME_BAD_LENGTH;
        break;
    case H2_SETTINGS:
        if (h->stream_id)
            return H2_FRAME_BAD_STREAM;
        if (len % 6 || ((h->flags & H2_F_ACK) && len))
            return H2_FRAME_BAD_LENGTH;
        break;
    case H2_PING:
        if (h->stream_id)
            return H2_FRAME_BAD_STREAM;
        if (len != 8)
            return H2_FRAME_BAD_LENGTH;
        break;
    case H2_GOAWAY:
        if (h->stream_id)
            return H2_FRAME_BAD_STREAM;
        if (len < 8)
            return H2_FRAME_BAD_LENGTH;
        break;
    case H2_WINDOW_UPDATE:
        if (len != 4)
            return H2_FRAME_BAD_LENGTH;
        break;
    default:
        break; /* unknown: ignored by receivers (§5.5) */
    }
    return len > max_frame ? H2_FRAME_TOO_LONG : H2_FRAME_OK;
}

int h2_preface(const uint8_t *p, size_t n)
{
    size_t k = n < H2_PREFACE_LEN ? n : H2_PREFACE_LEN;
    if (memcmp(p, H2_PREFACE, k) != 0)
        return 0;
    return k == H2_PREFACE_LEN ? 1 : -1;
}

size_t h2_prefix_len(const struct h2_frame_hdr *h)
{
    size_t n = 0;
    switch (h->type) {
    case H2_DATA:
        break;
    case H2_HEADERS:
        n = (h->flags & H2_F_PRIORITY) ? 5 : 0;
        break;
    case H2_PUSH_PROMISE:
        n = 4;
        break;
    default:
        return 0;
    }
    return n + ((h->flags & H2_F_PADDED) ? 1 : 0);
}

int h2_prefix_parse(const struct h2_frame_hdr *h, const uint8_t *prefix, struct h2_prefix *out)
{
    memset(out, 0, sizeof(*out));
    size_t plen = h2_prefix_len(h);
    if (h->length < plen)
        return -1;
    const uint8_t *q = prefix;
    if (plen && (h->flags & H2_F_PADDED))
        out->pad_len = *q++;
    if (h->type == H2_HEADERS && (h->flags & H2_F_PRIORITY)) {
        uint32_t dep = be32(q);
        out->has_priority = 1;
        out->exclusive = (uint8_t)(dep >> 31);
        out->dependency = dep & 0x7fffffffu;
        out->weight = q[4];
    } else if (h->type == H2_PUSH_PROMISE) {
        out->promised_id = be32(q) & 0x7fffffffu;
    }
    if ((size_t)out->pad_len > h->length - plen)
        return -1; /* padding that exceeds the payload (§6.1, §6.2, §6.6) */
    out->content_len = (uint32_t)(h->length - plen - out->pad_len);
    return 0;
}

int h2_payload_view(const struct h2_frame_hdr *h, const uint8_t *p, struct h2_prefix *pre,
                    struct span *content)
{
    if (h->length < h2_prefix_len(h) || h2_prefix_parse(h, p, pre) != 0)
        return -1;
    *content = span_make(p + h2_prefix_len(h), pre->content_len);
    return 0;
}

void h2_setting_at(const uint8_t *payload, size_t i, uint16_t *id, uint32_t *value)
{
    const uint8_t *q = payload + 6 * i;
    *id = (uint16_t)(q[0] << 8 | q[1]);
    *value = be32(q + 2);
}

int h2_rst_stream(const uint8_t *p, size_t n, uint32_t *error_code)
{
    if (n < 4)
        return 0;
    *error_code = be32(p);
    return 1;
}

int h2_goaway(const uint8_t *p, size_t n, uint32_t *last_stream_id, uint32_t *error_code)
{
    if (n < 8)
        return 0;
    *last_stream_id = be32(p) & 0x7fffffffu;
    *error_code = be32(p + 4);
    return 1;
}

int h2_window_update(const uint8_t *p, size_t n, uint32_t *increment)
{
    if (n < 4)
        return 0;
    *increment = be32(p) & 0x7fffffffu;
    return 1;
}

const char *h2_error_name(uint32_t code)
{
    static const char *const names[] = {
        "NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
        "SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
        "COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY",
        "HTTP_1_1_REQUIRED",
    };
    return code < sizeof(names) / sizeof(names[0]) ? names[code] : NULL;
}

const char *h2_setting_name(uint16_t id)
{
    switch (id) {
    case H2_SET_HEADER_TABLE_SIZE: return "SETTINGS_HEADER_TABLE_SIZE";
    case H2_SET_ENABLE_PUSH: return "SETTINGS_ENABLE_PUSH";
    case H2_SET_MAX_CONCURRENT_STREAMS: return "SETTINGS_MAX_CONCURRENT_STREAMS";
    case H2_SET_INITIAL_WINDOW_SIZE: return "SETTINGS_INITIAL_WINDOW_SIZE";
    case H2_SET_MAX_FRAME_SIZE: return "SETTINGS_MAX_FRAME_SIZE";
    case H2_SET_MAX_HEADER_LIST_SIZE: return "SETTINGS_MAX_HEADER_LIST_SIZE";
    case H2_SET_ENABLE_CONNECT_PROTOCOL: return "SETTINGS_ENABLE_CONNECT_PROTOCOL";
    case H2_SET_NO_RFC7540_PRIORITIES: return "SETTINGS_NO_RFC7540_PRIORITIES";
    default: return NULL;
    }
}

const char *h2_type_name(uint8_t type)
{
    static const char *const names[H2_TYPE__COUNT] = {
        "DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING",
        "GOAWAY", "WINDOW_UPDATE", "CONTINUATION",
    };
    return type < H2_TYPE__COUNT ? names[type] : NULL;
}

/* ---- finding HTTP/2 mid-connection ---- */

/* An HPACK integer with an n-bit prefix (RFC 7541 §5.1), small values only: -1 when cut short
 * or over 2^20 (the roles need indices up to 14). */
static long hpack_int(const uint8_t *p, size_t n, size_t *off, int bits)
{
    if (*off >= n)
        return -1;
    unsigned max = (1u << bits) - 1;
    unsigned long v = p[(*off)++] & max;
    if (v < max)
        return (long)v;
    for (int shift = 0; shift <= 14; shift += 7) {
        if (*off >= n)
            return -1;
        uint8_t b = p[(*off)++];
        v += (unsigned long)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return (long)v;
    }
    return -1;
}

static enum h2_role role_of_index(long idx)
{
    if (idx >= 1 && idx <= 7)
        return H2_ROLE_CLIENT; /* :authority, :method, :path, :scheme */
    if (idx >= 8 && idx <= 14)
        return H2_ROLE_SERVER; /* :status */
    return H2_ROLE_UNKNOWN;
}

/* A string literal at p[*off] (H bit, 7-bit length, bytes): its span (a Huffman one is empty);
 * -1 when cut short. */
static int hpack_str(const uint8_t *p, size_t n, size_t *off, struct span *out)
{
    if (*off >= n)
        return -1;
    int huff = p[*off] & 0x80;
    long len = hpack_int(p, n, off, 7);
    if (len < 0 || (size_t)len > n - *off)
        return -1;
    *out = huff ? span_make(p + *off, 0) : span_make(p + *off, (size_t)len);
    *off += (size_t)len;
    return 0;
}

static enum h2_role role_of_name(struct span name)
{
    if (span_eq(name, ":status"))
        return H2_ROLE_SERVER;
    if (span_eq(name, ":method") || span_eq(name, ":path") || span_eq(name, ":authority") ||
        span_eq(name, ":scheme"))
        return H2_ROLE_CLIENT;
    return H2_ROLE_UNKNOWN;
}

/* The first representation of the block that names a pseudo-header by a static index (or by a
 * literal name not Huffman-coded): encoders index pseudo-headers, and a request has none of
 * :status, a response none of the others. Entries of the dynamic table are unknown here. */
enum h2_role h2_block_role(const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        uint8_t b = p[off];
        enum h2_role r = H2_ROLE_UNKNOWN;
        struct span str;
        if (b & 0x80) { /* indexed field */
            r = role_of_index(hpack_int(p, n, &off, 7));
            if (r)
                return r;
            continue;
        }
        if ((b & 0xe0) == 0x20) { /* dynamic table size update */
            if (hpack_int(p, n, &off, 5) < 0)
                return H2_ROLE_UNKNOWN;
            continue;
        }
        long idx = hpack_int(p, n, &off, (b & 0x40) ? 6 : 4);
        if (idx < 0)
            return H2_ROLE_UNKNOWN;
        if (idx == 0) {
            if (hpack_str(p, n, &off, &str) < 0)
                return H2_ROLE_UNKNOWN;
            r = role_of_name(str);
        } else {
            r = role_of_index(idx);
        }
        if (r)
            return r;
        if (hpack_str(p, n, &off, &str) < 0) /* the value */
            return H2_ROLE_UNKNOWN;
    }
    return H2_ROLE_UNKNOWN;
}

/* Whole frames after which the check says YES without reading further (a search at every
 * offset of a delivery stays linear). */
#define H2_PLAUS_ENOUGH 8

/* One frame header as the plausibility check wants it. */
static int header_plausible(const struct h2_frame_hdr *h)
{
    return h->type < H2_TYPE__COUNT && !h->reserved && !(h->flags & ~defined_flags[h->type]) &&
           h2_frame_check(h, H2_PROBE_MAX_FRAME) == H2_FRAME_OK;
}

/* The first bytes of a frame header, fewer than 9: could they start a plausible one? */
static int partial_plausible(const uint8_t *p, size_t n)
{
    if (n >= 1 && p[0] > (H2_PROBE_MAX_FRAME >> 16))
        return 0;
    if (n >= 4 && p[3] >= H2_TYPE__COUNT)
        return 0;
    if (n >= 5 && (p[4] & ~defined_flags[p[3]]))
        return 0;
    if (n >= 6 && (p[5] & 0x80))
        return 0;
    return 1;
}

enum h2_plausible h2_plausible(const uint8_t *p, size_t n, enum h2_role *role)
{
    if (role)
        *role = H2_ROLE_UNKNOWN;
    size_t off = 0;
    int headers = 0;
    while (off < n) {
        struct h2_frame_hdr h;
        if (!h2_frame_header(p + off, n - off, &h))
            return partial_plausible(p + off, n - off) ? (headers >= 2 ? H2_PLAUS_YES
                                                                        : H2_PLAUS_MORE)
                                                       : H2_PLAUS_NO;
        if (!header_plausible(&h))
            return H2_PLAUS_NO;
        headers++;
        size_t avail = n - off - H2_FRAME_HEADER_LEN;
        const uint8_t *pl = p + off + H2_FRAME_HEADER_LEN;
        if (role && !*role && h.type == H2_PUSH_PROMISE)
            *role = H2_ROLE_SERVER;
        if (role && !*role && h.type == H2_HEADERS) {
            size_t plen = h2_prefix_len(&h);
            struct h2_prefix pre;
            if (avail >= plen && plen <= h.length && h2_prefix_parse(&h, pl, &pre) == 0) {
                size_t k = avail - plen < pre.content_len ? avail - plen : pre.content_len;
                *role = h2_block_role(pl + plen, k);
            }
        }
        if (h.length > avail)
            return headers >= 2 ? H2_PLAUS_YES : H2_PLAUS_MORE;
        off += H2_FRAME_HEADER_LEN + h.length;
        if (headers == H2_PLAUS_ENOUGH && (!role || *role))
            return H2_PLAUS_YES; /* enough: the cost per call stays bounded */
    }
    return H2_PLAUS_YES; /* whole frames, the last ending exactly at n */
}
