/* app_http1.c — the HTTP/1.x entry of the app layer: message framing over reassembled TCP.
 *
 * Pipeline: stream ─► applayer ─► [app_http1: http1 heads, body framing] ─► app_tx. One entry
 * of the registry (app_proto.h), and its fallback: it parses any flow no entry has claimed,
 * resynchronising at the next message head after garbage or a gap.
 * Owns per flow and direction: the unconsumed bytes of an incomplete message head (only heads
 * are ever copied; bodies are skipped by length in place), the body framing state, the
 * transaction whose body this direction is sending, and the head_stream state of a head over
 * http-max-head; on the client's side after a CONNECT or Upgrade request, the bytes it sends
 * before the answer (held, not parsed: the answer says whose they are). Requests go to app_tx
 * as they come; responses take the oldest request in flight, since HTTP/1 answers in order. A
 * 101 or a 2xx to CONNECT hands the connection on (http1_switch, applayer_switch): to
 * WebSocket's entry, to the probes as a new connection inside, or to nothing.
 * RFC 9112 §2.2 (message parsing robustness), §6 (body framing), §7.1 (chunked), §9.3
 * (persistent connections, pipelining: responses come in request order); RFC 9110 §7.8
 * (Upgrade, 101), §9.3.6 (CONNECT); RFC 6455 §4 (the WebSocket handshake).
 */
#include <stdlib.h>
#include <string.h>

#include "app_http2.h"
#include "app_proto.h"
#include "app_tx.h"
#include "h2frame.h"
#include "http1.h"
#include "http_head_stream.h"
#include "websocket.h"

/* H_HOLD (the client's side only): a request that may switch the connection (CONNECT, Upgrade)
 * was sent; what the client sends next is the new protocol's if the answer switches, HTTP/1's
 * if not, so it is held in buf, unparsed, until the answer comes (http1_switch). */
enum half_state { H_HEAD = 0, H_BODY_LEN, H_BODY_CHUNKED, H_BODY_CLOSE, H_HOLD };

struct http_half {
    uint8_t *buf;          /* an incomplete message head carried to the next delivery; in
                              H_HOLD, the bytes held */
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

static size_t process(struct deliver_ctx *d, const uint8_t *p, size_t n);
static int may_switch(const struct http1_msg *m);
static int upgrade_is(struct span v, const char *proto);
static void http1_switch(struct deliver_ctx *d, const struct http1_msg *m, struct tx *t);

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
    h.has_length = m->body_kind == HTTP1_BODY_LENGTH;
    h.length = m->content_length;
    return h;
}

static void on_request(struct deliver_ctx *d, const struct http1_msg *m)
{
    struct token_field fields[HTTP1_MAX_HEADERS];
    struct app_head h = head_of(d, m, fields);
    h.method = m->method;
    h.target = m->uri;
    h.host = http1_header_get(m, "Host");
    /* "HTTP/1.x": http1 takes one digit each side of the dot (snprintf cost ~1,000
     * instructions a request here) */
    char proto[8] = {'H', 'T', 'T', 'P', '/', (char)('0' + m->version_major), '.',
                     (char)('0' + m->version_minor)};
    h.protocol = span_make(proto, sizeof(proto));
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
    http1_switch(d, m, t);
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
            if (d->c->switching)
                return off; /* what follows the head is the next protocol's (applayer.c) */
            if (req && may_switch(&m) && m.body_kind == HTTP1_BODY_NONE) {
                h->state = H_HOLD;
                return off;
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
        default: /* H_HOLD: kept by the caller until the answer */
            return off;
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

/* ---- switching protocols: 101, CONNECT (app_proto.h "Switching protocols") ---- */

/* Appends p[0..n) to h->buf under engine.http-memcap; 0 when there was no room (counted: what
 * was kept is dropped and the side waits for a head). */
static int buf_append(struct deliver_ctx *d, struct http_half *h, const uint8_t *p, size_t n)
{
    struct sensor *s = d->s;
    if (h->len + n > h->cap) {
        size_t cap = h->cap ? h->cap : 1024;
        while (cap < h->len + n)
            cap *= 2;
        uint8_t *b = s->app_mem + (cap - h->cap) <= s->cfg->http_memcap ? realloc(h->buf, cap)
                                                                        : NULL;
        if (!b) {
            s->st.http_memcap++;
            h->len = 0;
            h->state = H_HEAD;
            return 0;
        }
        s->app_mem += cap - h->cap;
        h->buf = b;
        h->cap = cap;
    }
    if (n)
        memcpy(h->buf + h->len, p, n);
    h->len += n;
    return 1;
}

/* A request whose answer may switch the connection: a CONNECT, or one offering an Upgrade. */
static int may_switch(const struct http1_msg *m)
{
    /* h2c is not held: the client's preface, parsed as a head would be, is the switch (h2c()) */
    struct span up = http1_header_get(m, "Upgrade");
    return span_eq(m->method, "CONNECT") || (up.p && !upgrade_is(up, "h2c"));
}

/* The bytes the client side held are HTTP/1 after all: parsed now (a request among them may
 * start another hold, with what follows it). */
static void hold_parse(struct deliver_ctx *d)
{
    struct http_half *h = &d->h1->h[d->side];
    h->state = H_HEAD;
    size_t k = process(d, h->buf, h->len);
    if (k) {
        memmove(h->buf, h->buf + k, h->len - k);
        h->len -= k;
    }
}

/* In H_HOLD: keeps p[0..n) after the bytes held, within engine.http-max-head (the hold is a
 * head buffer). Past it the answer is not waited for (counted): the bytes held are parsed as
 * HTTP/1 now. Returns n when all of p is held; 0 when the hold ended (the bound, or the
 * memcap), and p is then for the usual path. */
static size_t hold_take(struct deliver_ctx *d, const uint8_t *p, size_t n)
{
    struct http_half *h = &d->h1->h[d->side];
    while (h->state == H_HOLD) {
        if (h->len + n <= d->s->cfg->http_max_head)
            return buf_append(d, h, p, n) ? n : 0;
        d->s->st.http_hold_overflow++;
        hold_parse(d); /* shrinks what is held, or ends the hold */
    }
    return 0;
}

/* Whether an Upgrade field names `proto` (any version) first: a 101's Upgrade names the
 * protocol the connection switches to (RFC 9110 §7.8). */
static int upgrade_is(struct span v, const char *proto)
{
    const uint8_t *comma = v.len ? memchr(v.p, ',', v.len) : NULL;
    struct span first = span_trim(span_make(v.p, comma ? (size_t)(comma - v.p) : v.len));
    const uint8_t *slash = first.len ? memchr(first.p, '/', first.len) : NULL;
    if (slash)
        first.len = (size_t)(slash - first.p);
    return span_ieq(first, proto);
}

/* A final response m to the oldest request (t, or NULL when none was in flight). When it
 * switches the connection (m->upgrade: a 101, or a 2xx to CONNECT) the app layer is asked to
 * hand the connection on after this head: to WebSocket for a 101 with `Upgrade: websocket`
 * (with the 101's Sec-WebSocket-Extensions and the upgrade request's http object), to the
 * probes as a new connection after a CONNECT, to app_ignore_ops after a 101 to anything else;
 * the client's bytes not yet parsed (held since the request) go with it. Otherwise, once the
 * request that started a hold is answered (nothing left in flight), what was held is parsed
 * as HTTP/1. */
static void http1_switch(struct deliver_ctx *d, const struct http1_msg *m, struct tx *t)
{
    struct app_ctx *c = d->c;
    struct deliver_ctx cd = deliver_ctx_of(c, d->h1, d->f->client);
    struct http_half *cl = &d->h1->h[d->f->client];
    if (!m->upgrade) {
        if (cl->state == H_HOLD && !app_tx_oldest(c->app))
            hold_parse(&cd);
        return;
    }
    const struct app_proto_ops *to = &app_ignore_ops;
    if (m->status != 101) {
        to = NULL; /* a 2xx to CONNECT: a new connection inside this one */
    } else if (upgrade_is(http1_header_get(m, "Upgrade"), "websocket")) {
        to = &app_ws_ops;
        ws_extensions_parse(http1_header_get(m, "Sec-WebSocket-Extensions"), &c->ho.ws);
        if (t)
            c->ho.origin = app_tx_origin(c, t, m->status);
    }
    if (cl->len && (cl->state == H_HOLD || cl->state == H_HEAD) && !cl->hs) {
        c->ho.held = cl->buf;
        c->ho.held_len = cl->len;
        c->ho.held_mem = cl->cap;
        cl->buf = NULL;
        cl->len = cl->cap = 0;
    }
    applayer_switch(c, to);
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
    if (h->state == H_HOLD && hold_take(d, data, len) == len)
        return all;
    for (;;) {
        if (h->hs) {
            size_t k = head_stream_deliver(d, data, len);
            data += k;
            len -= k;
            if (c->switching)
                return all - len; /* an oversized 101 head: the rest is the next protocol's */
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
            if (c->switching)
                return all - len;
            if (!len)
                return all;
            if (h->state == H_HOLD) {
                if (hold_take(d, data, len) == len)
                    return all;
                continue; /* the hold ended at once: data is parsed as usual */
            }
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
    if (!buf_append(d, h, data, len))
        return all;
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
    } else if (h->state != H_BODY_CLOSE) {
        if (h->state == H_HOLD)
            hold_parse(d); /* what was held can no longer be handed on whole: it is HTTP/1 */
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

/* The direction's body ends where it stands, and its buffers go. */
static void release(struct deliver_ctx *d)
{
    body_end(d);
    head_stream_end(d);
    struct http_half *h = &d->h1->h[d->side];
    d->s->app_mem -= h->cap;
    free(h->buf);
    h->buf = NULL;
    h->len = h->cap = 0;
}

/* A body delimited by the connection's end is complete now; at the flow's end what the client
 * held for an answer that never came is HTTP/1, and the direction's buffers go. */
static void http1_eof(struct app_ctx *c, void *st, int side, int final)
{
    struct deliver_ctx dc = deliver_ctx_of(c, st, side), *d = &dc;
    if (!final) {
        body_end(d);
        return;
    }
    if (d->h1->h[side].state == H_HOLD)
        hold_parse(d);
    release(d);
}

/* After both final eofs there is nothing left; on a switch away mid-flow, the same release
 * (what was held was handed over, or is dropped with the protocol). */
static void http1_reset(struct app_ctx *c, void *st)
{
    for (int side = 0; side < 2; side++) {
        struct deliver_ctx dc = deliver_ctx_of(c, st, side);
        release(&dc);
    }
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
