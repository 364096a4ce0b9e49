/* app_http2_stream.c — HTTP/2 streams as transactions: header blocks decoded into heads, DATA
 * into bodies, stream ends, resets and GOAWAY into closed transactions, gRPC trailers into the
 * token's verdict, and the http.http2 member EVE prints.
 *
 * Pipeline: app_http2.c (frames) ─► [header block ─► hpack ─► head; stream map] ─► app_tx.
 * Owns the map of open streams (struct h2_conn.st: stream id ─► transaction, at most
 * H2_MAX_STREAMS) and the field scratch a block is decoded into (h2_conn.fbuf, bounded by
 * engine.http-max-head and charged to engine.http-memcap). Each client-initiated stream is one
 * transaction: its request head opens it, the server's END_STREAM (or a RST_STREAM, or a GOAWAY
 * that leaves it unprocessed) closes it; it stays in the flow's queue meanwhile, so streams end
 * in any order (app_tx.h). A PUSH_PROMISE opens one for the promised stream, with the request
 * the server sent. Several `cookie` fields become one ("a; b", RFC 9113 §8.2.3), so the token
 * places read HTTP/2 heads as they read HTTP/1 ones.
 * gRPC (content-type application/grpc*): the body is length-prefixed messages, not collected;
 * grpc-status in the trailers (or a trailers-only response) says whether the call went through:
 *   0 OK: accepted.  16 UNAUTHENTICATED, 7 PERMISSION_DENIED: refused.
 *   1 CANCELLED, 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 12 UNIMPLEMENTED, 14 UNAVAILABLE:
 *     unknown; a proxy or the transport raises them before (or without) authentication.
 *   Any other: accepted; the service raised it, so the call got past authentication.
 * RFC 9113 §8.1 (messages), §8.2.3 (cookies), §8.3 (pseudo-headers), §8.4 (push); gRPC's
 * PROTOCOL-HTTP2.md and statuscodes.md.
 */
#include <stdlib.h>
#include <string.h>

#include "app_http2.h"
#include "b64.h"

static int is_client(const struct app_ctx *c, int side)
{
    return side == c->f->client;
}

/* ---- the stream map ---- */

struct h2_stream *h2_stream_find(struct h2_conn *h, uint32_t id)
{
    for (uint32_t i = 0; i < h->nst; i++)
        if (h->st[i].id == id)
            return &h->st[i];
    return NULL;
}

static struct h2_stream *stream_add(struct h2_conn *h, uint32_t id, struct tx *t)
{
    struct h2_stream *st = &h->st[h->nst++];
    memset(st, 0, sizeof(*st));
    st->id = id;
    st->t = t;
    return st;
}

void h2_stream_forget(struct h2_conn *h, struct tx *t)
{
    for (uint32_t i = 0; i < h->nst; i++)
        if (h->st[i].t == t) {
            h->st[i] = h->st[--h->nst];
            return;
        }
}

/* t's http.http2 member, made on first use in its arena (NULL: the arena is full). */
static struct eve_h2_msg *h2_msg(struct tx *t, uint32_t id, int response)
{
    struct eve_http2 *x = (struct eve_http2 *)t->http.http2;
    if (!x) {
        x = arena_alloc(&t->a, sizeof(*x));
        if (!x)
            return NULL;
        memset(x, 0, sizeof(*x));
        x->stream_id = id;
        x->msg[0].priority = x->msg[1].priority = -1;
        t->http.http2 = x;
    }
    return &x->msg[response];
}

/* The settings direction `side` announced since its last message head go with this one. */
static void take_settings(struct h2_conn *h, int side, struct eve_h2_msg *m)
{
    struct h2_dir *d = &h->d[side];
    if (!m || !d->nset)
        return;
    memcpy(m->set_id, d->set_id, d->nset * sizeof(d->set_id[0]));
    memcpy(m->set_val, d->set_val, d->nset * sizeof(d->set_val[0]));
    m->nset = d->nset;
    d->nset = 0;
}

static void note_error(struct eve_h2_msg *m, uint32_t code, int goaway)
{
    if (!m)
        return;
    if (m->has_error) {
        m->multiple = 1;
        return;
    }
    m->has_error = 1;
    m->error_code = code;
    m->error_goaway = (uint8_t)goaway;
}

void h2_upgrade_settings(struct app_ctx *c, struct tx *t, struct span value)
{
    uint8_t buf[b64_decoded_max(8 * 6 * 2)];
    long n = value.len <= 8 * 6 * 2 ? b64url_decode((const char *)value.p, value.len, buf) : -1;
    struct eve_h2_msg *m = h2_msg(t, 1, 0);
    if (n < 0 || n % 6) {
        app_anomaly(c, c->f->client, AN_H2_HTTP1_SETTINGS);
        return;
    }
    for (long i = 0; m && i < n / 6 && m->nset < EVE_H2_SETTINGS; i++) {
        uint16_t id;
        uint32_t v;
        h2_setting_at(buf, (size_t)i, &id, &v);
        if (h2_setting_name(id)) {
            m->set_id[m->nset] = id;
            m->set_val[m->nset++] = v;
        }
    }
}

/* The upgrade request is stream 1, half-closed by its client; the settings its HTTP2-Settings
 * field carried bound what the server sends, as a SETTINGS frame's would. */
void h2_adopt(struct app_ctx *c, struct h2_conn *h, struct tx *t)
{
    int server = !c->f->client;
    t->h2c = 0;
    t->http.protocol = "HTTP/2"; /* its answer, and the stream's records, are HTTP/2's */
    stream_add(h, 1, t);
    h->max_client_stream = 1;
    struct eve_h2_msg *m = h2_msg(t, 1, 0);
    for (uint8_t i = 0; m && i < m->nset; i++) {
        struct h2_dir *d = &h->d[server];
        if (m->set_id[i] == H2_SET_HEADER_TABLE_SIZE && d->dec_ready) {
            c->s->app_mem -= d->dec_mem;
            hpack_dec_set_limit(&d->dec, m->set_val[i]);
            d->dec_mem = hpack_dec_mem(&d->dec);
            c->s->app_mem += d->dec_mem;
        } else if (m->set_id[i] == H2_SET_MAX_FRAME_SIZE && m->set_val[i] >= H2_DEFAULT_MAX_FRAME &&
                   m->set_val[i] <= H2_LIMIT_MAX_FRAME) {
            d->max_frame = m->set_val[i];
        }
    }
}

/* ---- decoding a block into fields ---- */

/* Fields kept when a block is over its bounds: pseudo-headers, token places, what frames and
 * judges the message. */
static int important(struct span name, const struct config *cfg)
{
    static const char *const names[] = {
        "authorization", "proxy-authorization", "cookie", "dpop", "content-type",
        "content-encoding", "content-length", "grpc-status", "host", "user-agent",
    };
    if (name.len && name.p[0] == ':')
        return 1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (span_ieq(name, names[i]))
            return 1;
    for (size_t i = 0; i < cfg->ntoken_headers; i++)
        if (span_ieq(name, cfg->token_headers[i]))
            return 1;
    return 0;
}

struct emit_ctx {
    struct app_ctx *c;
    struct h2_conn *h;
};

/* Room for n more bytes in the field scratch (charged); 0 when the memcap has none. */
static int fbuf_room(struct app_ctx *c, struct h2_conn *h, size_t n)
{
    if (h->fbuf && h->flen + n <= h->fcap)
        return 1; /* (an empty field too needs a buffer to point into) */
    size_t cap = h->fcap ? h->fcap : 1024;
    while (cap < h->flen + n)
        cap *= 2;
    uint8_t *b = cap - h->fcap <= app_mem_room(c->s) ? realloc(h->fbuf, cap) : NULL;
    if (!b) {
        c->s->st.http_memcap++;
        return 0;
    }
    c->s->app_mem += cap - h->fcap;
    h->fbuf = b;
    h->fcap = cap;
    return 1;
}

static uint32_t fbuf_put(struct h2_conn *h, const uint8_t *p, size_t n)
{
    uint32_t at = (uint32_t)h->flen;
    if (n)
        memcpy(h->fbuf + at, p, n);
    h->flen += n;
    return at;
}

static void emit(void *ctx, const struct hpack_field *f)
{
    struct emit_ctx *e = ctx;
    struct h2_conn *h = e->h;
    const struct config *cfg = e->c->s->cfg;
    if (f->flags & HPACK_F_NAME_UNKNOWN)
        return; /* counted by hpack (name_unknown): a value without its name says nothing */
    size_t need = f->name.len + f->value.len;
    int keep = h->nfl < H2_MAX_FIELDS && h->flen + need <= cfg->http_max_head;
    if (!keep && h->nfl < H2_MAX_FIELDS && important(f->name, cfg) &&
        h->flen + need <= 2 * cfg->http_max_head)
        keep = 1; /* over the bound, still kept: the fields that matter (http_head_stream.h) */
    if (!keep || !fbuf_room(e->c, h, need)) {
        h->cut++;
        return;
    }
    struct h2_fld *fl = &h->fl[h->nfl++];
    fl->nl = (uint32_t)f->name.len;
    fl->no = fbuf_put(h, f->name.p, f->name.len);
    fl->vl = (uint32_t)f->value.len;
    fl->vo = fbuf_put(h, f->value.p, f->value.len);
}

/* Several cookie fields are one, joined with "; " (RFC 9113 §8.2.3): the first takes the joined
 * value, the others are dropped. */
static void join_cookies(struct app_ctx *c, struct h2_conn *h)
{
    int first = -1, n = 0;
    size_t len = 0;
    for (uint32_t i = 0; i < h->nfl; i++)
        if (h->fl[i].nl == 6 && !memcmp(h->fbuf + h->fl[i].no, "cookie", 6)) {
            if (first < 0)
                first = (int)i;
            len += h->fl[i].vl + 2;
            n++;
        }
    if (n < 2 || !fbuf_room(c, h, len))
        return;
    uint32_t at = (uint32_t)h->flen;
    uint32_t k = 0;
    for (uint32_t i = 0; i < h->nfl; i++) {
        struct h2_fld *fl = &h->fl[i];
        if (fl->nl != 6 || memcmp(h->fbuf + fl->no, "cookie", 6))
            h->fl[k++] = *fl;
        else {
            if (h->flen > at)
                fbuf_put(h, (const uint8_t *)"; ", 2);
            memmove(h->fbuf + h->flen, h->fbuf + fl->vo, fl->vl);
            h->flen += fl->vl;
            if ((int)i == first)
                h->fl[k++] = *fl;
        }
    }
    h->nfl = k;
    for (uint32_t i = 0; i < h->nfl; i++)
        if (h->fl[i].nl == 6 && !memcmp(h->fbuf + h->fl[i].no, "cookie", 6)) {
            h->fl[i].vo = at;
            h->fl[i].vl = (uint32_t)(h->flen - at);
        }
}

/* A decoded block as a head: pseudo-headers apart, the regular fields in order. */
struct block {
    struct span method, path, authority, status;
    struct token_field fields[H2_MAX_FIELDS];
    size_t nfields;
    int grpc_status;  /* -1: none */
    int grpc;         /* content-type application/grpc* */
};

static void block_of(struct h2_conn *h, struct block *b)
{
    memset(b, 0, offsetof(struct block, fields));
    b->nfields = 0;
    b->grpc_status = -1;
    b->grpc = 0;
    for (uint32_t i = 0; i < h->nfl; i++) {
        struct span n = span_make(h->fbuf + h->fl[i].no, h->fl[i].nl);
        struct span v = span_make(h->fbuf + h->fl[i].vo, h->fl[i].vl);
        if (n.len && n.p[0] == ':') {
            if (span_eq(n, ":method"))
                b->method = v;
            else if (span_eq(n, ":path"))
                b->path = v;
            else if (span_eq(n, ":authority"))
                b->authority = v;
            else if (span_eq(n, ":status"))
                b->status = v;
            continue;
        }
        if (span_ieq(n, "grpc-status")) {
            int g = 0;
            for (size_t k = 0; k < v.len && k < 4 && v.p[k] >= '0' && v.p[k] <= '9'; k++)
                g = g * 10 + (v.p[k] - '0');
            b->grpc_status = v.len && v.p[0] >= '0' && v.p[0] <= '9' ? g : -1;
        } else if (span_ieq(n, "content-type") && span_istarts(span_trim(v), "application/grpc")) {
            b->grpc = 1;
        }
        b->fields[b->nfields].name = n;
        b->fields[b->nfields++].value = span_trim(v);
    }
}

static int status_of(struct span s)
{
    int v = 0;
    if (s.len != 3)
        return 0;
    for (size_t i = 0; i < 3; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return 0;
        v = v * 10 + (s.p[i] - '0');
    }
    return v;
}

/* gRPC's status in the trailers, as the token's verdict (the table at the top). */
static void grpc_outcome(struct tx *t, int g)
{
    enum tx_outcome o = TX_OUTCOME_ACCEPTED;
    if (g == 16 || g == 7)
        o = TX_OUTCOME_REFUSED;
    else if (g == 1 || g == 4 || g == 8 || g == 12 || g == 14)
        o = TX_OUTCOME_UNKNOWN;
    app_tx_set_outcome(t, o);
}

/* ---- heads ---- */

static struct tx *open_request(struct app_ctx *c, struct h2_conn *h, uint32_t id,
                               const struct block *b, int body, int oversized)
{
    struct app_head ah;
    memset(&ah, 0, sizeof(ah));
    ah.method = b->method;
    ah.target = b->path;
    ah.host = b->authority.p ? b->authority : token_field_get(b->fields, b->nfields, "host");
    ah.protocol = span_cstr("HTTP/2");
    ah.fields = b->fields;
    ah.nfields = b->nfields;
    ah.body = (uint8_t)(body && !b->grpc);
    ah.oversized = (uint8_t)oversized;
    ah.tx_counter = &c->s->st.http2_tx;
    if (h->nst >= H2_MAX_STREAMS) {
        c->s->st.h2_streams_over++;
        app_anomaly(c, c->f->client, AN_H2_TOO_MANY_STREAMS);
        return NULL;
    }
    struct tx *t = app_tx_request(c, &ah);
    if (!t)
        return NULL;
    struct h2_stream *st = stream_add(h, id, t);
    st->grpc = (uint8_t)b->grpc;
    return t;
}

static void request_block(struct app_ctx *c, struct h2_conn *h, int side, const struct block *b)
{
    struct h2_dir *d = &h->d[side];
    uint32_t id = d->blk_stream;
    struct h2_stream *st = h2_stream_find(h, id);
    if (st) { /* the request's trailers */
        if (d->blk_end_stream)
            app_tx_body_end(c, st->t, TX_REQUEST);
        return;
    }
    if (!(id & 1)) { /* a client opens odd streams only (§5.1.1) */
        c->s->st.h2_frames_invalid++;
        app_anomaly(c, side, AN_H2_FRAME_HEADER);
        return;
    }
    if (id <= h->max_client_stream)
        app_anomaly(c, side, AN_H2_STREAM_REUSE);
    else
        h->max_client_stream = id;
    struct tx *t = open_request(c, h, id, b, !d->blk_end_stream, h->cut > 0);
    if (!t)
        return;
    struct eve_h2_msg *m = h2_msg(t, id, 0);
    if (m)
        m->priority = d->blk_weight;
    take_settings(h, side, m);
}

static void push_block(struct app_ctx *c, struct h2_conn *h, int side, const struct block *b)
{
    struct h2_dir *d = &h->d[side];
    uint32_t id = d->blk_promised;
    if (!id || (id & 1) || h2_stream_find(h, id)) {
        c->s->st.h2_frames_invalid++;
        app_anomaly(c, side, AN_H2_FRAME_HEADER);
        return;
    }
    struct tx *t = open_request(c, h, id, b, 0, h->cut > 0);
    if (t)
        h2_msg(t, id, 0);
}

static void response_block(struct app_ctx *c, struct h2_conn *h, int side, const struct block *b)
{
    struct h2_dir *d = &h->d[side];
    struct h2_stream *st = h2_stream_find(h, d->blk_stream);
    if (!st) {
        c->s->st.h2_unknown_stream++; /* its request came before the capture, or not tracked */
        return;
    }
    struct tx *t = st->t;
    int end = d->blk_end_stream;
    if (st->resp) { /* trailers */
        if (b->grpc_status >= 0)
            grpc_outcome(t, b->grpc_status);
        if (end)
            app_tx_close(c, t);
        return;
    }
    int status = status_of(b->status);
    if (status >= 100 && status < 200)
        return; /* informational: the final head follows */
    st->resp = 1;
    st->grpc |= (uint8_t)b->grpc;
    if (end && b->grpc_status >= 0)
        grpc_outcome(t, b->grpc_status); /* trailers-only */
    struct app_head ah;
    memset(&ah, 0, sizeof(ah));
    ah.status = status;
    ah.fields = b->fields;
    ah.nfields = b->nfields;
    struct span cl = token_field_get(b->fields, b->nfields, "content-length");
    if (cl.len && cl.len < 20) {
        uint64_t v = 0;
        size_t i = 0;
        for (; i < cl.len && cl.p[i] >= '0' && cl.p[i] <= '9'; i++)
            v = v * 10 + (uint64_t)(cl.p[i] - '0');
        ah.has_length = i == cl.len;
        ah.length = v;
    }
    ah.body = (uint8_t)(!end && !st->grpc);
    ah.keep = (uint8_t)!end;
    ah.oversized = (uint8_t)(h->cut > 0);
    take_settings(h, side, h2_msg(t, st->id, 1));
    app_tx_response(c, t, &ah); /* closes t when the stream ended here */
}

void h2_block_done(struct app_ctx *c, struct h2_conn *h, int side)
{
    struct sensor *s = c->s;
    struct h2_dir *d = &h->d[side];
    h->flen = 0;
    h->nfl = 0;
    h->cut = 0;
    struct emit_ctx e = {c, h};
    struct hpack_counts cnt;
    memset(&cnt, 0, sizeof(cnt));
    s->app_mem -= d->dec_mem;
    static const uint8_t none[1];
    enum hpack_status r = hpack_decode(&d->dec, d->blen ? d->blk : none, d->blen, emit, &e, &cnt);
    d->dec_mem = hpack_dec_mem(&d->dec);
    s->app_mem += d->dec_mem;
    s->st.h2_hpack_unresolved += cnt.unresolved;
    s->st.h2_hpack_name_unknown += cnt.name_unknown;
    if (r != HPACK_OK) {
        s->st.h2_hpack_errors++;
        app_anomaly(c, side, AN_H2_HEADER);
    }
    s->st.http_head_fields_cut += h->cut;
    join_cookies(c, h);
    struct block blk, *b = &blk; /* 4 KiB of spans, as HTTP/1's head on the stack */
    block_of(h, b);
    if (d->blk_type == H2_PUSH_PROMISE) {
        if (!is_client(c, side))
            push_block(c, h, side, b);
    } else if (is_client(c, side)) {
        request_block(c, h, side, b);
    } else {
        response_block(c, h, side, b);
    }
    /* The fields' buffer is given back once the block is handled: kept per connection, it would
     * be held by every connection open at once (2,000 in the benchmark's twin). */
    if (h->fcap) {
        free(h->fbuf);
        s->app_mem -= h->fcap;
        h->fbuf = NULL;
        h->fcap = h->flen = 0;
    }
}

/* ---- bodies and stream ends ---- */

void h2_data(struct app_ctx *c, struct h2_conn *h, int side, uint32_t id, const uint8_t *p,
             size_t n)
{
    (void)c;
    struct h2_stream *st = h2_stream_find(h, id);
    if (!st)
        return;
    int which = is_client(c, side) ? TX_REQUEST : TX_RESPONSE;
    if (app_tx_collecting(st->t, which))
        app_tx_body(st->t, which, p, n);
}

void h2_data_end(struct app_ctx *c, struct h2_conn *h, int side, uint32_t id)
{
    struct h2_stream *st = h2_stream_find(h, id);
    if (!st)
        return;
    if (is_client(c, side))
        app_tx_body_end(c, st->t, TX_REQUEST);
    else
        app_tx_close(c, st->t);
}

void h2_rst_stream_frame(struct app_ctx *c, struct h2_conn *h, int side, uint32_t id,
                         uint32_t code)
{
    struct h2_stream *st = h2_stream_find(h, id);
    if (!st)
        return;
    note_error(h2_msg(st->t, id, !is_client(c, side)), code, 0);
    app_tx_close(c, st->t);
}

/* The streams the GOAWAY's receiver opened above `last` were not processed: they end here. */
void h2_goaway_frame(struct app_ctx *c, struct h2_conn *h, int side, uint32_t last,
                     uint32_t code)
{
    int from_server = !is_client(c, side);
    for (uint32_t i = h->nst; i-- > 0;) {
        struct h2_stream *st = &h->st[i];
        int client_opened = st->id & 1;
        if (st->id <= last || client_opened != from_server)
            continue;
        note_error(h2_msg(st->t, st->id, from_server), code, 1);
        app_tx_close(c, st->t); /* the last slot moves to i: already visited */
    }
}

void h2_priority(struct h2_conn *h, uint32_t id, uint8_t weight)
{
    struct h2_stream *st = h2_stream_find(h, id);
    if (!st)
        return;
    struct eve_h2_msg *m = h2_msg(st->t, id, 0);
    if (!m)
        return;
    if (m->priority < 0)
        m->priority = weight;
    else
        m->multiple = 1;
}
