/* app_http1.c — the HTTP/1.x entry of the app layer: message framing over reassembled TCP.
 *
 * Pipeline: stream ─► applayer ─► [app_http1: http1 heads, body framing] ─► app_tx. One entry
 * of the registry (app_proto.h), and its fallback: it parses any flow no entry has claimed,
 * resynchronising at the next message head after garbage or a gap.
 * Owns per flow and direction: the unconsumed bytes of an incomplete message head (only heads
 * are ever copied; bodies are skipped by length in place), the body framing state, the
 * transaction whose body this direction is sending, and the head_stream state of a head over
 * http-max-head. Requests go to app_tx as they come; responses take the oldest request in
 * flight, since HTTP/1 answers in order.
 * RFC 9112 §2.2 (message parsing robustness), §6 (body framing), §7.1 (chunked), §9.3
 * (persistent connections, pipelining: responses come in request order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_http2.h"
#include "app_proto.h"
#include "app_tx.h"
#include "h2frame.h"
#include "http1.h"
#include "http_head_stream.h"

enum half_state { H_HEAD = 0, H_BODY_LEN, H_BODY_CHUNKED, H_BODY_CLOSE, H_TUNNEL };

struct http_half {
    uint8_t *buf;          /* an incomplete message head carried to the next delivery */
    size_t len, cap;
    uint8_t state;         /* enum half_state */
    uint64_t body_left;
    struct http1_chunked ch;
    struct tx *body_tx;    /* the transaction whose body this side is sending and we scan */
    struct head_stream *hs; /* a head over http-max-head, being reduced as it arrives */
};

struct http1_flow {
    struct http_half h[2];
};
_Static_assert(sizeof(struct http1_flow) <= APP_PROTO_STATE_SIZE, "fits the flow's app state");

/* One call into the entry: the flow, its state, and the direction being parsed. */
struct deliver_ctx {
    struct app_ctx *c;
    struct sensor *s;
    struct flow *f;
    struct http1_flow *h1;
    int side;
    int oversized;         /* the head being parsed was reduced by head_stream */
};

static struct deliver_ctx deliver_ctx_of(struct app_ctx *c, void *st, int side)
{
    struct deliver_ctx d = {c, c->s, c->f, st, side, 0};
    return d;
}

static int is_request_side(struct deliver_ctx *d)
{
    return d->side == d->f->client;
}

/* ---- bodies ---- */

static void body_data(struct http_half *h, const uint8_t *p, size_t n, int which)
{
    if (h->body_tx)
        app_tx_body(h->body_tx, which, p, n);
}

/* The body this side was sending has ended (or can no longer be followed): scan it; a response's
 * transaction is complete then. */
static void body_end(struct deliver_ctx *d)
{
    struct http_half *h = &d->h1->h[d->side];
    struct tx *t = h->body_tx;
    if (!t)
        return;
    h->body_tx = NULL;
    int req = is_request_side(d);
    app_tx_body_end(d->c, t, req ? TX_REQUEST : TX_RESPONSE);
    if (!req)
        app_tx_close(d->c, t);
}

/* ---- h2c (RFC 7540 §3.2) ---- */

/* A request with "Upgrade: h2c" is marked (tx.h2c): its transaction stays queued for the HTTP/2
 * entry, which adopts it as stream 1. The connection switches after the server's 101 head, or
 * at the client's preface when that is parsed first (the directions come independently), the
 * 101 then reaching HTTP/2's entry, which skips it. m: a request head (mark t) or a response
 * head (101?); NULL: the bytes p[0..n) at a request head's start (the preface?). Returns 1 when
 * the connection switched: what follows the head (or p) is HTTP/2's. */
static int h2c(struct deliver_ctx *d, const struct http1_msg *m, struct tx *t,
               const uint8_t *p, size_t n)
{
    if (m && t) {
        struct span up = http1_header_get(m, "Upgrade");
        for (size_t i = 0; i + 3 <= up.len && !t->h2c; i++)
            if (span_ieq(span_make(up.p + i, 3), "h2c") &&
                (i + 3 == up.len || up.p[i + 3] == ',' || up.p[i + 3] == ' ')) {
                t->h2c = TX_H2C_ASKED;
                h2_upgrade_settings(d->c, t, span_trim(http1_header_get(m, "HTTP2-Settings")));
            }
        return 0;
    }
    struct tx *asked = NULL;
    if (m) {
        asked = app_tx_oldest(d->c->app);
        struct span up = http1_header_get(m, "Upgrade");
        if (m->status != 101 || !asked || !asked->h2c || !span_istarts(span_trim(up), "h2c"))
            return 0;
        asked->h2c = TX_H2C_101;
    } else {
        if (!n || p[0] != 'P' || !h2_preface(p, n))
            return 0;
        for (struct tx *q = app_tx_oldest(d->c->app); q; q = q->next)
            if (q->h2c)
                asked = q;
        if (!asked)
            return 0;
    }
    applayer_switch(d->c, &app_http2_ops);
    return 1;
}

/* ---- message heads ---- */

/* The head as app_tx reads it; `fields` must hold HTTP1_MAX_HEADERS. */
static struct app_head head_of(struct deliver_ctx *d, const struct http1_msg *m,
                               struct token_field *fields)
{
    for (size_t i = 0; i < m->nheaders; i++) {
        fields[i].name = m->headers[i].name;
        fields[i].value = m->headers[i].value;
    }
    struct app_head h = {.fields = fields, .nfields = m->nheaders, .oversized = (uint8_t)d->oversized};
    /* A body follows unless the framing says none, or the connection switches protocols. */
    h.body = !(m->upgrade || m->body_kind == HTTP1_BODY_NONE ||
               (m->body_kind == HTTP1_BODY_LENGTH && !m->content_length));
    return h;
}

static void on_request(struct deliver_ctx *d, const struct http1_msg *m)
{
    struct token_field fields[HTTP1_MAX_HEADERS];
    struct app_head h = head_of(d, m, fields);
    h.method = m->method;
    h.target = m->uri;
    h.host = http1_header_get(m, "Host");
    char proto[16];
    int n = snprintf(proto, sizeof(proto), "HTTP/%d.%d", m->version_major, m->version_minor);
    h.protocol = span_make(proto, (size_t)n);
    h.tx_counter = &d->s->st.http_tx;
    struct tx *t = app_tx_request(d->c, &h);
    h2c(d, m, t, NULL, 0);
    if (t && app_tx_collecting(t, TX_REQUEST))
        d->h1->h[d->side].body_tx = t;
}

static void on_response(struct deliver_ctx *d, const struct http1_msg *m)
{
    if (m->status >= 100 && m->status < 200 && m->status != 101)
        return; /* interim response: the final one follows */
    struct tx *t = app_tx_take(d->c->app);
    if (!t) {
        app_anomaly(d->c, d->side, AN_NO_REQUEST);
        return; /* a response to a request we never saw */
    }
    /* A request body still coming (the server answered early) ends here: app_tx scans it. */
    struct http_half *rq = &d->h1->h[d->f->client];
    if (rq->body_tx == t)
        rq->body_tx = NULL;
    struct token_field fields[HTTP1_MAX_HEADERS];
    struct app_head h = head_of(d, m, fields);
    h.status = m->status;
    h.has_length = m->body_kind == HTTP1_BODY_LENGTH;
    h.length = m->content_length;
    if (app_tx_response(d->c, t, &h))
        d->h1->h[d->side].body_tx = t;
}

/* A request head with more fields than http1 keeps: a token place past HTTP1_MAX_HEADERS would
 * be lost, so the tokens come from the head reduced to the fields that matter (framing stays
 * the whole head's, which http1 derived from every field). */
static void on_request_reduced(struct deliver_ctx *d, const uint8_t *p, size_t n,
                               const struct http1_msg *whole)
{
    struct head_stream hs;
    head_stream_init(&hs, 1, (const char *const *)d->s->cfg->token_headers,
                     d->s->cfg->ntoken_headers);
    head_stream_feed(&hs, p, n, app_mem_room(d->s));
    struct http1_msg m;
    d->s->st.http_head_fields_cut += hs.cut;
    if (hs.done && !hs.failed && http1_parse_request(hs.buf, hs.len, &m).status == PARSE_OK)
        on_request(d, &m);
    else
        on_request(d, whole);
    head_stream_reset(&hs);
}

/* Consumes what it can of p[0..n); returns the number of bytes consumed. Anything left is an
 * incomplete message head. */
static size_t process(struct deliver_ctx *d, const uint8_t *p, size_t n)
{
    struct sensor *s = d->s;
    struct http_half *h = &d->h1->h[d->side];
    size_t off = 0;
    while (off < n) {
        switch (h->state) {
        case H_HEAD: {
            struct http1_msg m;
            struct parse_result r;
            int req = is_request_side(d);
            if (req && h2c(d, NULL, NULL, p + off, n - off))
                return off; /* the client's HTTP/2 preface, an upgrade pending */
            if (req) {
                r = http1_parse_request(p + off, n - off, &m);
            } else {
                struct span meth = {NULL, 0};
                struct tx *oldest = app_tx_oldest(d->c->app);
                if (oldest && oldest->method)
                    meth = span_cstr(oldest->method);
                r = http1_parse_response(p + off, n - off, &m, meth);
            }
            if (r.status == PARSE_NEED_MORE)
                return off;
            if (r.status == PARSE_ERROR) {
                /* Not a message head here: resynchronise at the next line. */
                s->st.http_errors++;
                app_anomaly(d->c, d->side, req ? AN_REQ_HEAD : AN_RESP_HEAD);
                if (!req) {
                    /* After a gap the next status line may follow a lost body's tail on the
                     * same line: look for "HTTP/" itself, and keep a partial one at the end. */
                    const uint8_t *st = memmem(p + off + 1, n - off - 1, "HTTP/", 5);
                    if (st) {
                        off = (size_t)(st - p);
                        continue;
                    }
                    size_t keep = n - off - 1 < 4 ? n - off - 1 : 4;
                    while (keep && memcmp(p + n - keep, "HTTP/", keep) != 0)
                        keep--;
                    return n - keep;
                }
                const uint8_t *nl = memchr(p + off, '\n', n - off);
                if (!nl)
                    return n;
                off = (size_t)(nl - p) + 1;
                continue;
            }
            if (req && m.headers_dropped)
                on_request_reduced(d, p + off, r.consumed, &m);
            else if (req)
                on_request(d, &m);
            else if (h2c(d, &m, NULL, NULL, 0))
                return off + r.consumed; /* 101 to h2c: the rest is HTTP/2 */
            else
                on_response(d, &m);
            off += r.consumed;
            if (m.upgrade) {
                h->state = H_TUNNEL;
            } else if (m.body_kind == HTTP1_BODY_LENGTH && m.content_length) {
                h->state = H_BODY_LEN;
                h->body_left = m.content_length;
            } else if (m.body_kind == HTTP1_BODY_CHUNKED) {
                h->state = H_BODY_CHUNKED;
                http1_chunked_init(&h->ch);
            } else if (m.body_kind == HTTP1_BODY_CLOSE) {
                h->state = H_BODY_CLOSE;
            }
            break;
        }
        case H_BODY_LEN: {
            size_t k = n - off;
            if (k > h->body_left)
                k = (size_t)h->body_left;
            body_data(h, p + off, k, is_request_side(d) ? TX_REQUEST : TX_RESPONSE);
            off += k;
            h->body_left -= k;
            if (!h->body_left) {
                h->state = H_HEAD;
                body_end(d);
            }
            break;
        }
        case H_BODY_CHUNKED: {
            struct span data;
            int done = 0;
            struct parse_result r = http1_chunked_feed(&h->ch, p + off, n - off, &data, &done);
            if (r.status == PARSE_ERROR) {
                s->st.http_errors++;
                app_anomaly(d->c, d->side, is_request_side(d) ? AN_REQ_CHUNK : AN_RESP_CHUNK);
                h->state = H_HEAD;
                body_end(d);
                break;
            }
            body_data(h, data.p, data.len, is_request_side(d) ? TX_REQUEST : TX_RESPONSE);
            off += r.consumed;
            if (done) {
                h->state = H_HEAD;
                body_end(d);
            } else if (r.status == PARSE_NEED_MORE) {
                return n;
            }
            break;
        }
        case H_BODY_CLOSE: /* a response delimited by the connection's end */
            body_data(h, p + off, n - off, TX_RESPONSE);
            return n;
        default: /* a tunnel: nothing more to parse */
            return n;
        }
    }
    return off;
}

/* ---- oversized heads (http_head_stream.h) ---- */

/* Switches this side into streaming its head; 0 if the memcap has no room for the state. */
static int head_stream_start(struct deliver_ctx *d)
{
    struct http_half *h = &d->h1->h[d->side];
    if (app_mem_room(d->s) < sizeof(*h->hs) || !(h->hs = malloc(sizeof(*h->hs)))) {
        d->s->st.http_memcap++;
        return 0;
    }
    d->s->app_mem += sizeof(*h->hs);
    head_stream_init(h->hs, is_request_side(d), (const char *const *)d->s->cfg->token_headers,
                     d->s->cfg->ntoken_headers);
    return 1;
}

static void head_stream_end(struct deliver_ctx *d)
{
    struct http_half *h = &d->h1->h[d->side];
    if (!h->hs)
        return;
    d->s->app_mem -= sizeof(*h->hs) + h->hs->cap;
    head_stream_reset(h->hs);
    free(h->hs);
    h->hs = NULL;
}

/* Feeds a streamed head; returns the bytes it took. When the head ends, the reduced head is
 * parsed as any other (transaction, tokens, status, body framing) and the stream ends. */
static size_t head_stream_deliver(struct deliver_ctx *d, const uint8_t *p, size_t n)
{
    struct sensor *s = d->s;
    struct head_stream *hs = d->h1->h[d->side].hs;
    size_t cap = hs->cap;
    size_t k = head_stream_feed(hs, p, n, app_mem_room(s));
    s->app_mem += hs->cap - cap;
    if (!hs->done)
        return k;
    s->st.http_head_fields_cut += hs->cut;
    if (hs->failed || hs->nul) {
        /* a start line over every bound, or a NUL: what http1 refuses in a normal head */
        s->st.http_errors++;
        app_anomaly(d->c, d->side, is_request_side(d) ? AN_REQ_HEAD : AN_RESP_HEAD);
    } else {
        d->oversized = 1;
        process(d, hs->buf, hs->len);
        d->oversized = 0;
    }
    head_stream_end(d);
    return k;
}

/* ---- the entry's operations ---- */

/* A status line says its sender is the server; a request line (complete, or its head still
 * coming) its client. Picked up mid-stream, the first bytes may be the middle of a body, which
 * says nothing. When a SYN named the client, HTTP/1 claims the flow at once, whatever it holds:
 * as the fallback it resynchronises by itself. */
static enum app_probe http1_probe(const uint8_t *p, size_t n, int client_known)
{
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
        return APP_PROBE_SERVER;
    if (client_known)
        return APP_PROBE_YES;
    struct http1_msg m;
    struct parse_result r = http1_parse_request(p, n, &m);
    if (r.status == PARSE_OK || (r.status == PARSE_NEED_MORE && memchr(p, '\n', n)))
        return APP_PROBE_CLIENT;
    return APP_PROBE_NO;
}

static void http1_init(struct app_ctx *c, void *st)
{
    (void)c;
    (void)st; /* zeroed: both sides wait for a head, hold nothing */
}

static size_t http1_parse(struct app_ctx *c, void *st, int side, const uint8_t *data, size_t len)
{
    struct deliver_ctx dc = deliver_ctx_of(c, st, side), *d = &dc;
    struct sensor *s = d->s;
    struct http_half *h = &d->h1->h[side];
    size_t all = len;
    for (;;) {
        if (h->hs) {
            size_t k = head_stream_deliver(d, data, len);
            data += k;
            len -= k;
            if (!len || h->hs)
                return all;
        }
        int fresh = h->len == 0;
        if (fresh) {
            size_t k = process(d, data, len);
            if (c->switching)
                return all - len + k; /* the rest is the next entry's */
            data += k;
            len -= k;
            if (!len)
                return all;
        }
        /* Keep the incomplete head, bounded by http-max-head; past it the head is streamed:
         * reduced line by line to the fields that matter, so padding cannot hide a token. */
        if (h->len + len > s->cfg->http_max_head) {
            s->st.http_head_overflow++;
            app_anomaly(c, side, is_request_side(d) ? AN_REQ_TOO_LONG : AN_RESP_TOO_LONG);
            size_t held = h->len;
            h->len = 0;
            if (head_stream_start(d) && head_stream_deliver(d, h->buf, held) == held)
                continue; /* the rest of data goes on feeding the stream */
            head_stream_end(d);
            h->state = H_HEAD;
            return all;
        }
        break;
    }
    int fresh = h->len == 0;
    if (h->len + len > h->cap) {
        size_t cap = h->cap ? h->cap : 1024;
        while (cap < h->len + len)
            cap *= 2;
        uint8_t *b = s->app_mem + (cap - h->cap) <= s->cfg->http_memcap ? realloc(h->buf, cap)
                                                                        : NULL;
        if (!b) {
            s->st.http_memcap++;
            h->len = 0;
            h->state = H_HEAD;
            return all;
        }
        s->app_mem += cap - h->cap;
        h->buf = b;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, data, len);
    h->len += len;
    /* A head can only complete at a line end: without a new '\n' a re-parse would find what
     * the last one found, and a head trickled in byte by byte would cost quadratic time. */
    if (fresh || !memchr(data, '\n', len))
        return all;
    size_t k = process(d, h->buf, h->len);
    if (c->switching) { /* what follows the head in buf is the end of this delivery */
        size_t rest = h->len - k;
        h->len = 0;
        return rest < all ? all - rest : 0;
    }
    if (k) {
        memmove(h->buf, h->buf + k, h->len - k);
        h->len -= k;
    }
    return all;
}

/* Body bytes can be skipped by count; anywhere else we resynchronise at the next head. */
static void http1_gap(struct app_ctx *c, void *st, int side, size_t len)
{
    struct deliver_ctx dc = deliver_ctx_of(c, st, side), *d = &dc;
    struct http_half *h = &d->h1->h[side];
    if (h->state == H_BODY_LEN && len <= h->body_left) {
        h->body_left -= len;
        if (!h->body_left) {
            h->state = H_HEAD;
            /* The gap took the body's tail: its transaction is complete, as at any other
             * body end. Left in body_tx, the next message's body would overwrite (leak) it. */
            body_end(d);
        }
    } else if (h->state != H_TUNNEL && h->state != H_BODY_CLOSE) {
        body_end(d); /* a body cut by the gap is scanned as far as it came */
        /* A response head may have been in the gap: the oldest pending request would then
         * take the next response's status, and every later one be shifted. Writing the
         * pending requests now, without a status, is the answer that is never wrong. */
        if (!is_request_side(d))
            app_tx_flush(c);
        h->state = H_HEAD;
        h->len = 0;
        head_stream_end(d); /* a head cut by the gap: its transaction is lost, counted */
    }
}

/* A body delimited by the connection's end is complete now; at the flow's end the direction's
 * buffers go too. */
static void http1_eof(struct app_ctx *c, void *st, int side, int final)
{
    struct deliver_ctx dc = deliver_ctx_of(c, st, side), *d = &dc;
    body_end(d);
    if (!final)
        return;
    head_stream_end(d);
    struct http_half *h = &d->h1->h[side];
    c->s->app_mem -= h->cap;
    free(h->buf);
    h->buf = NULL;
    h->len = h->cap = 0;
}

/* After both final eofs there is nothing left; on a switch away mid-flow, the same release. */
static void http1_reset(struct app_ctx *c, void *st)
{
    for (int side = 0; side < 2; side++)
        http1_eof(c, st, side, 1);
}

static void http1_forget(struct app_ctx *c, void *st, struct tx *t)
{
    (void)c;
    struct http1_flow *h1 = st;
    for (int side = 0; side < 2; side++)
        if (h1->h[side].body_tx == t)
            h1->h[side].body_tx = NULL;
}

const struct app_proto_ops app_http1_ops = {
    .name = "http1",
    .app_proto = "http",
    .state_size = sizeof(struct http1_flow),
    .probe = http1_probe,
    .init = http1_init,
    .reset = http1_reset,
    .parse = http1_parse,
    .gap = http1_gap,
    .eof = http1_eof,
    .forget = http1_forget,
};
