/* fuzz_http1.c — libFuzzer target for dissectors/http/http1.c.
 *
 * Parses the input as a request head, then as a response head (the request method chosen by the
 * first byte, so HEAD/CONNECT framing is reached), checks that every returned span lies inside
 * the input and that a shorter prefix of an accepted head says NEED_MORE, then runs the chunked
 * decoder over the input cut into pieces whose sizes come from the first bytes. abort() on any
 * broken invariant, so libFuzzer reports it as a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

static void check_span(struct span s, const uint8_t *data, size_t size)
{
    if (s.len && (s.p < data || s.p + s.len > data + size))
        abort();
}

static void check_msg(const struct http1_msg *m, struct parse_result r, const uint8_t *data,
                      size_t size)
{
    if (r.status != PARSE_OK)
        return;
    if (r.consumed == 0 || r.consumed > size || m->nheaders > HTTP1_MAX_HEADERS)
        abort();
    check_span(m->method, data, r.consumed);
    check_span(m->uri, data, r.consumed);
    check_span(m->reason, data, r.consumed);
    for (size_t i = 0; i < m->nheaders; i++) {
        check_span(m->headers[i].name, data, r.consumed);
        check_span(m->headers[i].value, data, r.consumed);
    }
}

/* A prefix cut inside an accepted head must ask for more, whatever the cut. */
static void check_prefix(int response, const uint8_t *data, struct parse_result full,
                         size_t cut, struct span method, struct http1_msg *m)
{
    if (full.status != PARSE_OK)
        return;
    cut %= full.consumed;
    uint8_t *p = malloc(cut ? cut : 1);
    memcpy(p, data, cut);
    struct parse_result r = response ? http1_parse_response(p, cut, m, method)
                                     : http1_parse_request(p, cut, m);
    free(p);
    if (r.status != PARSE_NEED_MORE)
        abort();
}

static void fuzz_chunked(const uint8_t *data, size_t size)
{
    struct http1_chunked c;
    http1_chunked_init(&c);
    uint32_t seed = size ? data[0] * 2654435761u : 1;
    size_t off = 0;
    while (off < size) {
        seed = seed * 1103515245u + 12345u;
        size_t piece = 1 + (seed >> 16) % 64;
        if (piece > size - off)
            piece = size - off;
        uint8_t *p = malloc(piece);
        memcpy(p, data + off, piece);
        size_t used = 0;
        int stop = 0;
        for (;;) {
            struct span d;
            int done;
            struct parse_result r = http1_chunked_feed(&c, p + used, piece - used, &d, &done);
            if (r.consumed > piece - used)
                abort();
            check_span(d, p + used, piece - used);
            used += r.consumed;
            if (r.status == PARSE_ERROR || (r.status == PARSE_OK && done)) {
                stop = 1;
                break;
            }
            if (r.status == PARSE_NEED_MORE) {
                if (used != piece)
                    abort();
                break;
            }
            if (d.len == 0)
                abort(); /* OK without data and not done: no progress */
        }
        free(p);
        if (stop)
            break;
        off += piece;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = {"", "GET", "HEAD", "CONNECT", "POST"};
    struct http1_msg *m = malloc(sizeof(*m));
    struct parse_result r = http1_parse_request(data, size, m);
    check_msg(m, r, data, size);
    size_t cut = size > 1 ? (size_t)data[size - 1] * 131 + data[1] : 0;
    check_prefix(0, data, r, cut, span_make(NULL, 0), m);

    struct span method = span_cstr(methods[size ? data[0] % 5 : 0]);
    r = http1_parse_response(data, size, m, method);
    check_msg(m, r, data, size);
    check_prefix(1, data, r, cut, method, m);
    if (r.status == PARSE_OK)
        (void)http1_header_get(m, "content-type");
    free(m);

    fuzz_chunked(data, size);
    return 0;
}
