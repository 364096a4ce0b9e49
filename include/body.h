/* body.h — decoding an HTTP message body as the server would, for the token scanners.
 *
 * Pipeline: applayer (framing: length / chunked, already removed) ─► [body] ─► token scan.
 * Content-Encoding gzip, x-gzip and deflate (zlib or raw deflate, as servers accept both) are
 * inflated with zlib, incrementally over arbitrary splits. The decoded bytes are kept in a buffer
 * bounded by `limit` (the per-transaction body limit): past it they are cut and `truncated` set.
 * A decompression bomb (output more than `ratio` times the input, once past a small floor) stops
 * inflating, sets `bomb`, and keeps what came before. Owns its buffer and zlib state.
 */
#ifndef TW_BODY_H
#define TW_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

enum body_encoding { BODY_IDENTITY = 0, BODY_GZIP, BODY_DEFLATE, BODY_UNSUPPORTED };

struct body {
    int encoding;           /* enum body_encoding */
    uint8_t *buf;           /* decoded bytes */
    size_t len, cap, limit;
    size_t first;           /* the buffer's first size when the decoded length is known
                               (body_expect), else 0: BODY_FIRST_CAP, doubling */
    uint64_t in, out;       /* encoded bytes fed, decoded bytes produced (also past the limit;
                               once a compressed body stops, only what zlib produced) */
    uint32_t ratio;         /* bomb threshold: out > ratio * in (after the first 64 KiB) */
    uint8_t truncated;      /* decoded bytes beyond `limit` were dropped */
    uint8_t bomb;           /* inflation stopped: ratio exceeded */
    uint8_t error;          /* corrupt encoding: what decoded before it is kept */
    uint8_t done;           /* the compressed stream ended */
    void *z;                /* zlib state (z_stream), allocated on first compressed byte */
    /* Stacked codings ("gzip, gzip"): the caller's body decodes the first-applied coding and
     * keeps the bytes; the outer layers (heap, `layers`) decode in front of it, each writing
     * into the next (`sink`), never keeping anything. `root` is the caller's body: its `in`
     * counts the wire bytes the bomb ratio is taken over, its flags report every layer's stop. */
    void *layers;
    struct body *sink, *root;
};

#define BODY_MAX_CODINGS 4

/* The Content-Encoding header value (possibly empty span) → enum body_encoding. A list of codings
 * ("gzip, identity") uses the last non-identity one; anything else is BODY_UNSUPPORTED (the body
 * is then not scanned). Two or more non-identity codings ("gzip, gzip", "deflate, gzip") are
 * BODY_UNSUPPORTED too: only one layer is undone, so the inner one would stay encoded. */
int body_encoding_of(struct span content_encoding);

/* The Content-Encoding list → the codings in the order they were applied (RFC 9110 §8.4), each
 * BODY_GZIP or BODY_DEFLATE, identity elements left out. Returns how many (0: identity), or -1
 * when an element is unknown (br, zstd, ...) or there are more than BODY_MAX_CODINGS: such a
 * body cannot be decoded and the caller flags it. */
int body_codings_of(struct span content_encoding, uint8_t codings[BODY_MAX_CODINGS]);

/* As body_init, for n codings from body_codings_of (n <= 1: body_init of that one coding). The
 * last-applied coding is undone first; the bomb ratio and the limit apply to the whole chain
 * (decoded bytes of any layer against the wire bytes). Running out of memory for the layers is
 * an `error`. */
void body_init_codings(struct body *b, const uint8_t *codings, int n, size_t limit,
                       uint32_t ratio);

/* Storage provided by the caller. limit: bytes of decoded body kept; ratio: e.g. 100 (0: no
 * bomb check, the limit alone bounds the cost). */
void body_init(struct body *b, int encoding, size_t limit, uint32_t ratio);
/* The decoded body is expected to be n bytes (an identity body's Content-Length): its buffer is
 * then made that size (at most the limit) on the first byte, not grown from 4 KiB by doubling,
 * which copies the bytes kept at each step. Nothing is allocated here, so a length the peer
 * never sends costs nothing; a body longer than announced grows as usual. No effect on a
 * compressed body or once bytes were kept. */
void body_expect(struct body *b, uint64_t n);
/* Feeds encoded bytes. Never fails as a call; see the flags. */
void body_feed(struct body *b, const uint8_t *p, size_t n);
/* The most heap one body of this encoding may take: the decoded-bytes buffer (limit) and, for
 * gzip and deflate, the zlib stream body_feed allocates (inflate's state, about 7 KiB, and its
 * 32 KiB window), each with the allocator's overhead. What an owner charges to its memcap for a
 * body it starts, so that bodies in flight are bounded by what they really hold. */
size_t body_mem_cost(int encoding, size_t limit);
/* The same for a chain from body_codings_of: the kept layer's cost, each outer layer's zlib
 * stream and the layers' array (body_init_codings). */
size_t body_codings_mem_cost(const uint8_t *codings, int n, size_t limit);

/* Frees the buffer and the zlib state; b may be initialised again. */
void body_reset(struct body *b);

#endif
