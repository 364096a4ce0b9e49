/* body.c — decodes one HTTP message body as the server would (see body.h).
 *
 * Pipeline: applayer (framing removed) ─► [body] ─► token scan. Owns the decoded-bytes buffer
 * (made the announced length at once when the caller knows it, else grown geometrically from
 * 4 KiB; up to `limit` either way) and, for compressed bodies only, a small state
 * holding the zlib stream, allocated on the first compressed byte and freed by body_reset.
 *
 * RFC 9110 §8.4 (Content-Encoding, a list applied in order), §8.4.1.2/§8.4.1.3 (deflate = the
 * zlib format of RFC 1950, gzip/x-gzip = RFC 1952); RFC 1952 §2.2 (a gzip file is a series of
 * members). Deflate also accepts raw RFC 1951 data, because servers send it and browsers take it.
 *
 * Cost is bounded by what is kept, not by what is sent: inflation stops for good once the kept
 * buffer is full and one more decoded byte shows the body is longer (`truncated`), once the
 * output exceeds `ratio` times the input past a 64 KiB floor (`bomb`), and on corrupt data
 * (`error`). After a stop later bytes are only counted in `in`; `out` counts what zlib actually
 * produced, so for a stopped compressed body it is a lower bound of the real decoded size.
 * Everything else is independent of how the input is split; the bomb check runs after each
 * inflate call, so where a bomb stops (not whether) may move by a chunk with the split.
 * Running out of memory for the buffer counts as reaching the limit; for the zlib state, as an
 * error. BODY_UNSUPPORTED bodies keep nothing and only count `in`.
 *
 *   buf: [ decoded, kept ......... len ][ free ... cap ]      cap <= limit
 *   zlib writes straight into buf + len; at len == limit it writes into a small probe buffer
 *   whose only purpose is to tell "ends exactly here" from "longer than the limit".
 */
#include "body.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

#define BODY_FIRST_CAP 4096
#define BODY_CHUNK (64u * 1024)       /* most output one inflate call may produce: bomb checks */
#define BODY_BOMB_FLOOR (64u * 1024)  /* small bodies may compress as well as they like */

enum phase {
    PH_HEAD,    /* deflate: holding the first two bytes to choose zlib or raw */
    PH_INFLATE, /* zlib stream live, inflating */
    PH_BETWEEN, /* gzip member ended: holding two bytes to tell a next member from garbage */
    PH_END,     /* nothing more will be decoded; zlib's own state already released */
};

struct zstate {
    z_stream s;
    uint64_t consumed; /* compressed bytes inflate took (the bomb ratio's denominator) */
    uint8_t hold[2];
    uint8_t nhold;
    uint8_t phase;
    uint8_t live; /* inflateInit2 succeeded and inflateEnd is still owed */
};

int body_codings_of(struct span ce, uint8_t codings[BODY_MAX_CODINGS])
{
    int n = 0;
    if (!ce.p || !ce.len)
        return 0;
    for (size_t i = 0; i <= ce.len;) {
        size_t j = i;
        while (j < ce.len && ce.p[j] != ',')
            j++;
        struct span c = span_trim(span_make(ce.p + i, j - i));
        i = j + 1;
        if (c.len == 0 || span_ieq(c, "identity"))
            continue;
        if (n == BODY_MAX_CODINGS)
            return -1;
        if (span_ieq(c, "gzip") || span_ieq(c, "x-gzip"))
            codings[n++] = BODY_GZIP;
        else if (span_ieq(c, "deflate"))
            codings[n++] = BODY_DEFLATE;
        else
            return -1;
    }
    return n;
}

/* One layer is all this answer can name: a chain of two (RFC 9110 §8.4: the last applied is
 * undone first) would leave the inner coding in what we scan, so it is not scannable here. */
int body_encoding_of(struct span ce)
{
    uint8_t codings[BODY_MAX_CODINGS];
    int n = body_codings_of(ce, codings);
    if (n == 0)
        return BODY_IDENTITY;
    return n == 1 ? codings[0] : BODY_UNSUPPORTED;
}

/* zlib 1.2/1.3 allocate a struct inflate_state (7,160 bytes on 64-bit) in inflateInit2 and a
 * 2^windowBits window (32 KiB for every window we ask for) on the first output; 16 bytes of
 * allocator overhead each, and our struct zstate. */
#define ZLIB_STATE_BOUND (8u * 1024)
#define ZLIB_WINDOW (1u << MAX_WBITS)

size_t body_mem_cost(int encoding, size_t limit)
{
    size_t n = limit + 16;
    if (encoding == BODY_GZIP || encoding == BODY_DEFLATE)
        n += sizeof(struct zstate) + 16 + ZLIB_STATE_BOUND + 16 + ZLIB_WINDOW + 16;
    return n;
}

size_t body_codings_mem_cost(const uint8_t *codings, int n, size_t limit)
{
    if (n <= 1)
        return body_mem_cost(n == 1 ? codings[0] : BODY_IDENTITY, limit);
    /* the kept layer as one body, each outer layer its zlib stream, plus the layers' array */
    size_t c = body_mem_cost(codings[0], limit) + (size_t)(n - 1) * sizeof(struct body) + 16;
    for (int k = 1; k < n; k++)
        c += body_mem_cost(codings[k], 0) - 16;
    return c;
}

void body_init(struct body *b, int encoding, size_t limit, uint32_t ratio)
{
    memset(b, 0, sizeof(*b));
    if (encoding < BODY_IDENTITY || encoding > BODY_UNSUPPORTED)
        encoding = BODY_UNSUPPORTED;
    b->encoding = encoding;
    b->limit = limit;
    b->ratio = ratio;
}

void body_init_codings(struct body *b, const uint8_t *codings, int n, size_t limit,
                       uint32_t ratio)
{
    body_init(b, n > 0 ? codings[0] : BODY_IDENTITY, limit, ratio);
    if (n <= 1)
        return;
    struct body *l = calloc((size_t)(n - 1), sizeof(*l));
    if (!l) {
        b->error = 1;
        b->encoding = BODY_UNSUPPORTED; /* nothing decodable: nothing kept */
        return;
    }
    /* l[0] undoes the last-applied coding (the wire's), l[n-2] writes into b */
    for (int k = 0; k < n - 1; k++) {
        body_init(&l[k], codings[n - 1 - k], 0, ratio);
        l[k].sink = k + 1 < n - 1 ? &l[k + 1] : b;
        l[k].root = b;
    }
    b->layers = l;
}

static void decode(struct body *b, const uint8_t *p, size_t n);

/* The stop of the chain: the kept layer's stream ended or stopped for good. */
static int sink_stopped(const struct body *b);

/* Makes room after len, doubling up to the limit. 0 when the buffer is at the limit or
 * memory ran out (then the caller treats it as the limit: dropping is what limits do). */
static int grow(struct body *b)
{
    if (b->cap >= b->limit)
        return 0;
    size_t cap = b->cap ? b->cap * 2 : b->first ? b->first : BODY_FIRST_CAP;
    if (cap < b->cap || cap > b->limit)
        cap = b->limit;
    uint8_t *nb = realloc(b->buf, cap);
    if (!nb)
        return 0;
    b->buf = nb;
    b->cap = cap;
    return 1;
}

void body_expect(struct body *b, uint64_t n)
{
    if (b->encoding != BODY_IDENTITY || b->layers || b->cap || !n)
        return;
    b->first = n < b->limit ? (size_t)n : b->limit;
}

static void feed_identity(struct body *b, const uint8_t *p, size_t n)
{
    b->out += n;
    while (n) {
        if (b->len == b->cap && !grow(b)) {
            b->truncated = 1;
            return;
        }
        size_t k = b->cap - b->len;
        if (k > n)
            k = n;
        memcpy(b->buf + b->len, p, k);
        b->len += k;
        p += k;
        n -= k;
    }
}

/* Stops decoding for good and gives zlib's window (~40 KiB) back at once, not at reset. */
static void finish(struct zstate *zs)
{
    if (zs->live)
        inflateEnd(&zs->s);
    zs->live = 0;
    zs->phase = PH_END;
}

static void member_end(struct body *b, struct zstate *zs)
{
    b->done = 1;
    if (b->encoding == BODY_GZIP) {
        zs->phase = PH_BETWEEN;
        zs->nhold = 0;
    } else {
        finish(zs); /* a zlib or raw deflate stream is one stream: the rest is garbage */
    }
}

/* Inflates from p until the input is used up, the stream ends or decoding stops.
 * Returns the bytes taken; the caller goes on by phase with the rest. */
static size_t inflate_some(struct body *b, struct zstate *zs, const uint8_t *p, size_t n)
{
    size_t used = 0;
    for (;;) {
        uint8_t probe[256];
        uint8_t *dst;
        size_t room;
        uint8_t pass[16 * 1024];
        int probing = !b->sink && b->len == b->cap && !grow(b);
        if (b->sink) {
            dst = pass; /* an outer layer: what it decodes goes straight to the next */
            room = sizeof(pass);
        } else if (probing) {
            dst = probe;
            room = sizeof(probe);
        } else {
            dst = b->buf + b->len;
            room = b->cap - b->len;
            if (room > BODY_CHUNK)
                room = BODY_CHUNK;
        }
        size_t avail = n - used;
        if (avail > UINT_MAX)
            avail = UINT_MAX;
        zs->s.next_in = p + used;
        zs->s.avail_in = (uInt)avail;
        zs->s.next_out = dst;
        zs->s.avail_out = (uInt)room;
        int rc = inflate(&zs->s, Z_NO_FLUSH);
        size_t took = avail - zs->s.avail_in;
        size_t made = room - zs->s.avail_out;
        used += took;
        zs->consumed += took;
        b->out += made;
        if (probing && made) {
            b->truncated = 1;
            finish(zs);
            return used;
        }
        if (b->sink && made) {
            decode(b->sink, dst, made);
            if (sink_stopped(b->sink)) {
                finish(zs); /* the inner layers want no more: neither do we */
                return used;
            }
        } else if (!probing) {
            b->len += made;
        }
        if (rc == Z_STREAM_END) {
            member_end(b, zs);
            return used;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) { /* Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR */
            b->error = 1;
            if (b->root)
                b->root->error = 1;
            finish(zs);
            return used;
        }
        /* Over a chain, every layer's output is measured against the wire bytes. */
        uint64_t wire = b->root ? b->root->in : b->layers ? b->in : zs->consumed;
        if (b->ratio && b->out > BODY_BOMB_FLOOR && b->out > (uint64_t)b->ratio * wire) {
            b->bomb = 1;
            if (b->root)
                b->root->bomb = 1;
            finish(zs);
            return used;
        }
        if (zs->s.avail_out == 0)
            continue; /* output full: zlib may hold more even with no input left */
        if (used == n)
            return used; /* wants more input */
        if (took == 0 && made == 0) { /* cannot happen with a sane zlib; never spin */
            b->error = 1;
            finish(zs);
            return used;
        }
    }
}

/* RFC 1950 §2.2: CM = 8, CINFO <= 7, and CMF·256 + FLG a multiple of 31. Raw deflate rarely
 * passes (it would need a non-final stored block of a matching length): the browsers' test. */
static int zlib_header(const uint8_t h[2])
{
    return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 && ((h[0] << 8) | h[1]) % 31 == 0;
}

static int start(struct body *b, struct zstate *zs, int window_bits)
{
    if (inflateInit2(&zs->s, window_bits) != Z_OK) {
        b->error = 1;
        zs->phase = PH_END;
        return 0;
    }
    zs->live = 1;
    zs->phase = PH_INFLATE;
    return 1;
}

/* Fills zs->hold to two bytes; returns the bytes taken. */
static size_t take_hold(struct zstate *zs, const uint8_t *p, size_t n)
{
    size_t k = 0;
    while (zs->nhold < 2 && k < n)
        zs->hold[zs->nhold++] = p[k++];
    return k;
}

void body_feed(struct body *b, const uint8_t *p, size_t n)
{
    b->in += n;
    if (n == 0 || b->encoding == BODY_UNSUPPORTED)
        return;
    if (!b->layers) {
        decode(b, p, n);
        return;
    }
    decode((struct body *)b->layers, p, n);
    /* a layer that could not even start (no memory for zlib) stops the chain as an error */
    for (struct body *k = b->layers; k != b; k = k->sink)
        b->error |= k->error;
}

static int sink_stopped(const struct body *b)
{
    const struct zstate *zs = b->z;
    return (zs && zs->phase == PH_END) || b->error || (b->root && (b->root->bomb ||
                                                                   b->root->error));
}

/* One layer's share of body_feed: b->in counts what this layer was given. */
static void decode(struct body *b, const uint8_t *p, size_t n)
{
    if (b->root)
        b->in += n;
    if (b->encoding == BODY_IDENTITY) {
        if (!b->truncated)
            feed_identity(b, p, n);
        else
            b->out += n;
        return;
    }
    struct zstate *zs = b->z;
    if (!zs) {
        zs = calloc(1, sizeof(*zs));
        if (!zs) {
            b->error = 1; /* cannot decode at all; nothing scanned, as for corrupt data */
            return;
        }
        b->z = zs;
        if (b->encoding == BODY_DEFLATE)
            zs->phase = PH_HEAD;
        else
            start(b, zs, 16 + MAX_WBITS);
    }
    while (n && zs->phase != PH_END) {
        size_t k;
        switch (zs->phase) {
        case PH_HEAD:
            k = take_hold(zs, p, n);
            if (zs->nhold == 2 && start(b, zs, zlib_header(zs->hold) ? MAX_WBITS : -MAX_WBITS))
                inflate_some(b, zs, zs->hold, 2);
            break;
        case PH_BETWEEN:
            k = take_hold(zs, p, n);
            if (zs->hold[0] != 0x1f || (zs->nhold == 2 && zs->hold[1] != 0x8b)) {
                finish(zs); /* trailing garbage (often zero padding): ignored, as gzip does */
            } else if (zs->nhold == 2) {
                inflateReset(&zs->s);
                b->done = 0;
                zs->phase = PH_INFLATE;
                inflate_some(b, zs, zs->hold, 2);
            }
            break;
        default:
            k = inflate_some(b, zs, p, n);
            break;
        }
        p += k;
        n -= k;
    }
}

void body_reset(struct body *b)
{
    struct body *l = b->layers;
    for (struct body *k = l; k; k = k->sink == b ? NULL : k->sink) {
        struct zstate *kz = k->z;
        if (kz) {
            finish(kz);
            free(kz);
        }
    }
    free(l);
    struct zstate *zs = b->z;
    if (zs) {
        finish(zs);
        free(zs);
    }
    free(b->buf);
    memset(b, 0, sizeof(*b));
}
