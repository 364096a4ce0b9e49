/* http_head_stream.h — an HTTP/1.x message head too large to buffer, reduced line by line.
 *
 * Pipeline: stream ─► [applayer: head_stream] ─► http1 ─► token scan. When a head grows past
 * engine.http-max-head, or holds more fields than http1 keeps (HTTP1_MAX_HEADERS), the
 * application layer stops buffering it whole and feeds its bytes here as they arrive. We keep
 * the start line and the fields that matter (token places, Host, User-Agent, framing,
 * Content-Type/-Encoding, the configured token headers), byte for byte as sent, and drop every
 * other line as soon as its name is known. The result is a small head that http1 parses as it
 * would have parsed the original, so an oversized head yields the same transaction, tokens and
 * status matching as a normal one. Servers accept far larger heads than we buffer (Go's net/http
 * 1 MiB, with no limit on the number of fields): padding must not hide a token.
 *
 * Memory: the kept bytes only, each kept line at most HEAD_STREAM_LINE_MAX, all of them at most
 * HEAD_STREAM_KEEP_MAX, and never more than the caller's budget (engine.http-memcap). A kept
 * line cut by a bound is dropped whole and counted (`cut`). Owns its buffer.
 * RFC 9112 §2.2 (robustness: bare LF, leading empty lines), §5 (field lines), §5.2 (obs-fold).
 */
#ifndef TW_HTTP_HEAD_STREAM_H
#define TW_HTTP_HEAD_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

/* One kept line (a 100 KB JWT in Authorization must still be judged) and the whole kept head. */
#define HEAD_STREAM_LINE_MAX (1024u * 1024)
#define HEAD_STREAM_KEEP_MAX (2u * 1024 * 1024)
/* Kept fields of one name (repeated Cookie lines cannot push Authorization out of http1's
 * HTTP1_MAX_HEADERS), and in all. */
#define HEAD_STREAM_PER_NAME 4
#define HEAD_STREAM_FIELDS 56

struct head_stream {
    uint8_t *buf;       /* the kept head: start line, kept fields, the empty line */
    size_t len, cap;
    size_t line_start;  /* where the line being read starts in buf (when kept) */
    size_t line_seen;   /* bytes of the current line seen so far, kept or not */
    uint8_t state;      /* internal */
    uint8_t request;    /* a request head (token places kept) or a response head */
    uint8_t keep_fold;  /* the last field was kept: its obs-fold lines are kept too */
    uint8_t nul;        /* a NUL byte in the head: http1 would refuse it, so do we */
    uint8_t done;       /* the empty line ending the head was read */
    uint8_t failed;     /* the start line did not fit: nothing usable */
    uint32_t nfields;
    uint8_t per_name[32];
    uint64_t dropped;   /* lines dropped (not token places or framing) */
    uint64_t cut;       /* kept lines dropped because of a bound (line, head or budget) */
    const char *const *extra; /* configured token header names (not owned) */
    size_t nextra;
};

/* Storage provided by the caller. `extra`: tokens.headers (may be NULL), kept by reference. */
void head_stream_init(struct head_stream *hs, int request, const char *const *extra,
                      size_t nextra);

/* Feeds head bytes; returns how many it took: all of them while the head goes on, up to and
 * including the empty line once it ends (then hs->done is set and buf[0..len) is the reduced
 * head, ready for http1). `budget`: bytes the buffer may still grow by (the memcap's room);
 * the caller charges the growth, which it reads as the change of hs->cap. */
size_t head_stream_feed(struct head_stream *hs, const uint8_t *p, size_t n, size_t budget);

/* Frees the buffer; hs may be initialised again. */
void head_stream_reset(struct head_stream *hs);

#endif
