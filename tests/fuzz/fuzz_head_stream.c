/* fuzz_head_stream.c — libFuzzer target for dissectors/http/http_head_stream.c.
 *
 * The first byte picks request or response and a memory budget; the rest is fed as a head, once
 * whole and once cut into pieces whose sizes come from a seed. abort() on a broken invariant:
 * a feed takes more than it was given, or less without the head having ended; the kept bytes
 * outgrow the buffer, the bounds or the budget; an ended head does not end with LF; the two
 * feedings (whole and in pieces) keep different bytes. The reduced head then goes through http1,
 * as the application layer does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"
#include "http_head_stream.h"

static const char *const extra[] = {"X-Api-Token", "X-Auth"};

/* Feeds data in pieces (piece 0: whole); returns how many bytes the head took. */
static size_t feed(struct head_stream *hs, const uint8_t *data, size_t size, uint32_t seed,
                   size_t budget)
{
    size_t off = 0, grown = 0;
    while (off < size && !hs->done) {
        size_t piece = size - off;
        if (seed) {
            seed = seed * 1103515245u + 12345u;
            piece = 1 + (seed >> 16) % 97;
            if (piece > size - off)
                piece = size - off;
        }
        size_t cap0 = hs->cap;
        size_t room = budget - grown;
        size_t took = head_stream_feed(hs, data + off, piece, room);
        if (took > piece || (took < piece && !hs->done))
            abort();
        if (hs->cap < cap0 || hs->cap - cap0 > room)
            abort();
        grown += hs->cap - cap0;
        if (hs->len > hs->cap || hs->cap > HEAD_STREAM_KEEP_MAX)
            abort();
        off += took;
    }
    if (hs->done && (hs->len == 0 || hs->buf[hs->len - 1] != '\n'))
        abort();
    return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int request = data[0] & 1;
    size_t budget = (data[0] & 2) ? (size_t)(data[0] >> 2) * 64 : (size_t)-1 / 2;
    uint32_t seed = (uint32_t)data[0] * 2654435761u | 1;
    data++;
    size--;

    struct head_stream a, b;
    head_stream_init(&a, request, extra, 2);
    head_stream_init(&b, request, extra, 2);
    size_t ta = feed(&a, data, size, 0, budget);
    size_t tb = feed(&b, data, size, seed, budget);
    /* Without a budget to run out of, how the bytes arrive changes nothing. */
    if (budget > HEAD_STREAM_KEEP_MAX &&
        (ta != tb || a.done != b.done || a.failed != b.failed || a.len != b.len ||
         (a.len && memcmp(a.buf, b.buf, a.len)) || a.cut != b.cut || a.dropped != b.dropped))
        abort();
    if (a.done && !a.failed && !a.nul) {
        struct http1_msg *m = malloc(sizeof(*m));
        struct parse_result r = request ? http1_parse_request(a.buf, a.len, m)
                                        : http1_parse_response(a.buf, a.len, m, span_cstr("GET"));
        if (r.status == PARSE_OK && (r.consumed > a.len || m->nheaders > HTTP1_MAX_HEADERS))
            abort();
        free(m);
    }
    head_stream_reset(&a);
    head_stream_reset(&b);
    return 0;
}
