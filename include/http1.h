/* http1.h — incremental, zero-copy HTTP/1.x message-head parser and body framing.
 *
 * Pipeline: stream ─► [applayer: http1] ─► token scan. Stateless over the bytes it is given
 * (picohttpparser style): the caller keeps unconsumed bytes and calls again with more. Results
 * are spans into the caller's buffer. No allocation, no I/O, never reads past `len`.
 * Lenient like a server: bare LF line ends, leading empty lines before a request line, obs-fold
 * continuation lines (RFC 9112 §5.2: the value span then covers the folded lines raw), repeated
 * headers kept in order, header names matched case-insensitively.
 * RFC 9112 §3 (request line), §4 (status line), §5 (fields), §6 (body framing), §7.1 (chunked).
 */
#ifndef TW_HTTP1_H
#define TW_HTTP1_H

#include "parse.h"

#define HTTP1_MAX_HEADERS 64

struct http1_header {
    struct span name, value; /* value trimmed of surrounding whitespace */
};

enum http1_body_kind {
    HTTP1_BODY_NONE = 0,   /* no body */
    HTTP1_BODY_LENGTH,     /* content_length bytes */
    HTTP1_BODY_CHUNKED,    /* Transfer-Encoding ends in chunked */
    HTTP1_BODY_CLOSE,      /* response delimited by connection close */
};

struct http1_msg {
    /* request */
    struct span method, uri;
    /* response */
    int status;            /* 100..999 */
    struct span reason;
    /* both */
    int version_major, version_minor; /* HTTP/1.1 -> 1, 1 */
    struct http1_header headers[HTTP1_MAX_HEADERS];
    size_t nheaders;
    size_t headers_dropped; /* headers past HTTP1_MAX_HEADERS, parsed but not kept */
    /* framing, derived from the headers */
    int body_kind;          /* enum http1_body_kind */
    uint64_t content_length;
    int conn_close;         /* Connection: close, or HTTP/1.0 without keep-alive */
    int upgrade;            /* 101 response, or CONNECT 2xx: the rest is not HTTP/1 */
    const char *anomaly;    /* non-fatal oddity seen (static string), or NULL */
};

/* Parses a request head at buf[0..len). PARSE_OK: `consumed` is the head length including
 * the blank line; PARSE_NEED_MORE: the head is incomplete; PARSE_ERROR: not an HTTP request. */
struct parse_result http1_parse_request(const uint8_t *buf, size_t len, struct http1_msg *m);

/* Parses a response head. `req_method` is the matching request's method (empty span if unknown)
 * and decides body framing for HEAD and CONNECT; 1xx, 204 and 304 have no body. */
struct parse_result http1_parse_response(const uint8_t *buf, size_t len, struct http1_msg *m,
                                         struct span req_method);

/* First header with this name (case-insensitive), or an empty span {NULL, 0}. */
struct span http1_header_get(const struct http1_msg *m, const char *name);

/* Chunked transfer-coding decoder (RFC 9112 §7.1), incremental over arbitrary splits. */
struct http1_chunked {
    int state;
    uint64_t remaining; /* bytes of chunk data left in the current chunk */
    size_t line_len;    /* guard against endless size/trailer lines */
};

void http1_chunked_init(struct http1_chunked *c);

/* Consumes from buf[0..len). If it returns PARSE_OK with data->len > 0, data is a span of
 * de-chunked body bytes inside buf; call again with buf + consumed. PARSE_OK with
 * data->len == 0 and consumed == 0 never happens. Returns PARSE_OK with `done` set to 1 once
 * the last chunk and trailers are consumed; PARSE_NEED_MORE when all of buf was consumed
 * (consumed == len) and more is needed; PARSE_ERROR on a malformed chunk size line. */
struct parse_result http1_chunked_feed(struct http1_chunked *c, const uint8_t *buf, size_t len,
                                       struct span *data, int *done);

#endif
