/* app_http2.c — the HTTP/2 entry of the app layer (RFC 9113): frames per direction, the
 * connection's settings, and the h2c upgrade handover.
 *
 * Pipeline: stream ─► applayer ─► [app_http2: frames (h2frame) ─► header blocks (hpack) ─►
 * streams (app_http2_stream.c)] ─► app_tx. One entry of the registry (app_proto.h), before
 * HTTP/1: its probe claims a flow on the client preface, or, for a capture that joined the
 * connection late, on bytes that parse as consecutive frames (h2_plausible), whose header blocks
 * say which side is the client.
 * Owns per flow one struct h2_conn (app_http2.h), charged to engine.http-memcap: per direction
 * the frame being read (its header and payload prefix; DATA content goes to the stream's
 * transaction in place, never copied), the header block being collected (bounded by
 * engine.http-max-head), the first bytes of control frames, and the HPACK decoder; and the map
 * of open streams to their transactions, which stay in the flow's queue (app_tx.h's multiplexed
 * model) until their stream ends.
 * Joined late (no SYN, no preface), a direction first searches for a frame boundary, and its
 * decoder starts without the older dynamic-table entries (hpack.h). A hole in the capture that
 * falls inside a DATA payload is skipped by count; anywhere else the direction searches again
 * and its decoder restarts, since the hole may have held insertions.
 * RFC 9113 §3.2 (h2c upgrade, RFC 7540), §3.4 (preface), §4-§6 (frames), §6.5 (SETTINGS).
 */
#include <stdlib.h>
#include <string.h>

#include "app_http2.h"
#include "app_proto.h"

static int is_client(const struct app_ctx *c, int side)
{
    return side == c->f->client;
}

void h2_dec_restart(struct app_ctx *c, struct h2_conn *h, int side, int from_start)
{
    struct h2_dir *d = &h->d[side];
    if (d->dec_ready)
        hpack_dec_free(&d->dec);
    c->s->app_mem -= d->dec_mem;
    d->dec_mem = 0;
    hpack_dec_init(&d->dec, from_start);
    d->dec_ready = 1;
    d->dec_mem = hpack_dec_mem(&d->dec);
    c->s->app_mem += d->dec_mem;
}

/* ---- header blocks ---- */

static void block_reset(struct h2_dir *d)
{
    d->blk_open = d->blk_drop = 0;
    d->blen = 0;
}

/* The block being collected is lost: its fields, and the insertions its decoder would have
 * made, so the decoder starts again as after a late join. */
static void block_drop(struct app_ctx *c, struct h2_conn *h, int side)
{
    struct h2_dir *d = &h->d[side];
    if (!d->blk_drop)
        c->s->st.h2_blocks_dropped++;
    app_anomaly(c, side, AN_H2_REASSEMBLY_LIMIT);
    d->blk_drop = 1;
}

static void block_append(struct app_ctx *c, struct h2_conn *h, int side, const uint8_t *p,
                         size_t n)
{
    struct h2_dir *d = &h->d[side];
    struct sensor *s = c->s;
    if (d->blk_drop || !n)
        return;
    if (d->blen + n > s->cfg->http_max_head) {
        block_drop(c, h, side);
        return;
    }
    if (d->blen + n > d->bcap) {
        size_t cap = d->bcap ? d->bcap : 1024;
        while (cap < d->blen + n)
            cap *= 2;
        uint8_t *b = cap - d->bcap <= app_mem_room(s) ? realloc(d->blk, cap) : NULL;
        if (!b) {
            s->st.http_memcap++;
            block_drop(c, h, side);
            return;
        }
        s->app_mem += cap - d->bcap;
        d->blk = b;
        d->bcap = cap;
    }
    memcpy(d->blk + d->blen, p, n);
    d->blen += n;
}

static void block_end(struct app_ctx *c, struct h2_conn *h, int side)
{
    struct h2_dir *d = &h->d[side];
    if (d->blk_drop)
        h2_dec_restart(c, h, side, 0);
    else
        h2_block_done(c, h, side);
    block_reset(d);
    /* given back between blocks, as the fields' buffer is: a connection in between holds none */
    if (d->bcap) {
        free(d->blk);
        c->s->app_mem -= d->bcap;
        d->blk = NULL;
        d->bcap = 0;
    }
}

/* ---- control frames ---- */

static void on_settings(struct app_ctx *c, struct h2_conn *h, int side, const uint8_t *p,
                        size_t n)
{
    struct h2_dir *d = &h->d[side], *peer = &h->d[!side];
    d->nset = 0;
    for (size_t i = 0; i < n / 6; i++) {
        uint16_t id;
        uint32_t v;
        h2_setting_at(p, i, &id, &v);
        if (id == H2_SET_HEADER_TABLE_SIZE && peer->dec_ready) {
            /* what this side's decoder allows bounds what the peer's encoder does */
            c->s->app_mem -= peer->dec_mem;
            hpack_dec_set_limit(&peer->dec, v);
            peer->dec_mem = hpack_dec_mem(&peer->dec);
            c->s->app_mem += peer->dec_mem;
        } else if (id == H2_SET_MAX_FRAME_SIZE && v >= H2_DEFAULT_MAX_FRAME &&
                   v <= H2_LIMIT_MAX_FRAME) {
            peer->max_frame = v;
        }
        if (h2_setting_name(id) && d->nset < H2_MAX_SETTINGS) {
            d->set_id[d->nset] = id;
            d->set_val[d->nset++] = v;
        }
    }
}

/* The frame's payload is complete: what it says is acted on. */
static void frame_end(struct app_ctx *c, struct h2_conn *h, int side)
{
    struct h2_dir *d = &h->d[side];
    const struct h2_frame_hdr *fh = &d->fh;
    size_t kept = fh->length < H2_CTRL_KEEP ? fh->length : H2_CTRL_KEEP;
    uint32_t a, b;
    d->in_frame = 0;
    if (d->skip) {
        int block = fh->type == H2_HEADERS || fh->type == H2_PUSH_PROMISE ||
                    fh->type == H2_CONTINUATION;
        if (block && (d->blk_open || fh->type != H2_CONTINUATION)) {
            /* a header block not followed: its table insertions are lost with it */
            block_reset(d);
            h2_dec_restart(c, h, side, 0);
        }
        return;
    }
    switch (fh->type) {
    case H2_DATA:
        if (fh->flags & H2_F_END_STREAM)
            h2_data_end(c, h, side, fh->stream_id);
        break;
    case H2_HEADERS:
    case H2_PUSH_PROMISE:
    case H2_CONTINUATION:
        if (fh->flags & H2_F_END_HEADERS)
            block_end(c, h, side);
        break;
    case H2_SETTINGS:
        if (!(fh->flags & H2_F_ACK))
            on_settings(c, h, side, d->ctrl, kept - kept % 6);
        break;
    case H2_RST_STREAM:
        if (h2_rst_stream(d->ctrl, kept, &a))
            h2_rst_stream_frame(c, h, side, fh->stream_id, a);
        break;
    case H2_GOAWAY:
        if (h2_goaway(d->ctrl, kept, &a, &b))
            h2_goaway_frame(c, h, side, a, b);
        break;
    case H2_PRIORITY:
        h2_priority(h, fh->stream_id, d->ctrl[4]);
        break;
    default: /* PING, WINDOW_UPDATE, unknown types: nothing for us */
        break;
    }
}

static void frame_invalid(struct app_ctx *c, int side, enum anomaly_kind k)
{
    c->s->st.h2_frames_invalid++;
    app_anomaly(c, side, k);
}

/* A frame header is complete: its rules, and the header block sequence (§6.10: nothing but
 * CONTINUATION of the same stream may come between a HEADERS without END_HEADERS and its end). */
static void frame_start(struct app_ctx *c, struct h2_conn *h, int side)
{
    struct h2_dir *d = &h->d[side];
    struct h2_frame_hdr *fh = &d->fh;
    h2_frame_header(d->hdr, H2_FRAME_HEADER_LEN, fh);
    d->in_frame = 1;
    d->off = 0;
    d->plen = 0;
    d->pre_ok = 0;
    d->skip = 0;
    switch (h2_frame_check(fh, d->max_frame)) {
    case H2_FRAME_BAD_STREAM:
        frame_invalid(c, side, AN_H2_FRAME_HEADER);
        d->skip = 1;
        break;
    case H2_FRAME_BAD_LENGTH:
        frame_invalid(c, side, AN_H2_FRAME_LENGTH);
        d->skip = 1;
        break;
    case H2_FRAME_TOO_LONG: /* the peer would refuse it; we follow it all the same */
        frame_invalid(c, side, AN_H2_LONG_FRAME);
        break;
    default:
        break;
    }
    if (fh->type >= H2_TYPE__COUNT)
        d->skip = 1;
    else if (!d->skip && fh->length < h2_prefix_len(fh)) {
        frame_invalid(c, side, AN_H2_FRAME_DATA); /* no room for its pad length, priority */
        d->skip = 1;
    }
    if (d->skip)
        return;
    int cont = fh->type == H2_CONTINUATION;
    if (d->blk_open && (!cont || fh->stream_id != d->blk_stream)) {
        frame_invalid(c, side, AN_H2_FRAME_HEADER); /* the open block never ends */
        block_drop(c, h, side);
        block_end(c, h, side);
    } else if (cont && !d->blk_open) {
        frame_invalid(c, side, AN_H2_FRAME_HEADER);
        d->skip = 1;
        return;
    }
    if (fh->type == H2_DATA && !h2_stream_find(h, fh->stream_id)) {
        c->s->st.h2_unknown_stream++; /* its request came before the capture, or not tracked */
        d->skip = 1;
        return;
    }
    if (fh->type == H2_HEADERS || fh->type == H2_PUSH_PROMISE) {
        block_reset(d);
        d->blk_open = 1;
        d->blk_type = fh->type;
        d->blk_stream = fh->stream_id;
        d->blk_end_stream = (fh->flags & H2_F_END_STREAM) != 0;
        d->blk_weight = -1;
        d->blk_promised = 0;
    }
}

/* The payload prefix is read: padding checked, priority and promised stream noted. */
static void prefix_done(struct app_ctx *c, struct h2_conn *h, int side)
{
    struct h2_dir *d = &h->d[side];
    if (h2_prefix_parse(&d->fh, d->prefix, &d->pre) != 0) {
        frame_invalid(c, side, AN_H2_FRAME_DATA);
        d->skip = 1;
        if (d->blk_open)
            block_drop(c, h, side);
        return;
    }
    d->pre_ok = 1;
    if (d->fh.type == H2_HEADERS && d->pre.has_priority)
        d->blk_weight = d->pre.weight;
    if (d->fh.type == H2_PUSH_PROMISE)
        d->blk_promised = d->pre.promised_id;
}

/* Payload bytes p[0..n) of the current frame, n at most what is left of it. */
static void payload(struct app_ctx *c, struct h2_conn *h, int side, const uint8_t *p, size_t n)
{
    struct h2_dir *d = &h->d[side];
    const struct h2_frame_hdr *fh = &d->fh;
    size_t plen = h2_prefix_len(fh);
    if (d->skip) {
        d->off += (uint32_t)n;
        return;
    }
    while (n && d->off < plen) { /* the prefix: at most 6 bytes, kept */
        d->prefix[d->plen++] = *p++;
        d->off++;
        n--;
        if (d->off == plen)
            prefix_done(c, h, side);
        if (d->skip) {
            d->off += (uint32_t)n;
            return;
        }
    }
    if (plen && !d->pre_ok)
        return; /* the prefix is still coming */
    /* content, then padding */
    size_t cstart = plen, cend = plen + (plen ? d->pre.content_len : fh->length);
    size_t k = 0;
    if (d->off < cend) {
        k = cend - d->off < n ? cend - d->off : n;
        switch (fh->type) {
        case H2_DATA:
            h2_data(c, h, side, fh->stream_id, p, k);
            break;
        case H2_HEADERS:
        case H2_PUSH_PROMISE:
        case H2_CONTINUATION:
            block_append(c, h, side, p, k);
            break;
        default:
            if (d->off - cstart < H2_CTRL_KEEP) {
                size_t keep = H2_CTRL_KEEP - (d->off - cstart);
                memcpy(d->ctrl + (d->off - cstart), p, k < keep ? k : keep);
            }
            break;
        }
    }
    d->off += (uint32_t)n;
}

/* ---- a direction's bytes ---- */

/* Frames from p[0..n); returns n. */
static void frames(struct app_ctx *c, struct h2_conn *h, int side, const uint8_t *p, size_t n)
{
    struct h2_dir *d = &h->d[side];
    size_t off = 0;
    while (off < n) {
        if (!d->in_frame) {
            size_t k = H2_FRAME_HEADER_LEN - d->hlen;
            if (k > n - off)
                k = n - off;
            memcpy(d->hdr + d->hlen, p + off, k);
            d->hlen = (uint8_t)(d->hlen + k);
            off += k;
            if (d->hlen < H2_FRAME_HEADER_LEN)
                return;
            d->hlen = 0;
            frame_start(c, h, side);
        } else {
            size_t k = d->fh.length - d->off;
            if (k > n - off)
                k = n - off;
            payload(c, h, side, p + off, k);
            off += k;
        }
        if (d->in_frame && d->off == d->fh.length)
            frame_end(c, h, side);
        if (c->app->opaque)
            return;
    }
}

/* H2M_RESYNC: the first offset of p[0..n) where frames plausibly start (one frame cut short
 * counts only at 0, where the previous delivery ended); n when none. */
static size_t resync(const uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        enum h2_plausible r = h2_plausible(p + k, n - k, NULL);
        if (r == H2_PLAUS_YES || (r == H2_PLAUS_MORE && k == 0 && n >= H2_FRAME_HEADER_LEN))
            return k;
    }
    return n;
}

/* H2M_PREFACE: how much of p[0..n) is the client preface (the rest of it: an HTTP/1 entry that
 * switched on the upgrade may have taken its first bytes). -1: not the preface. */
static long preface(struct h2_dir *d, const uint8_t *p, size_t n)
{
    if (!d->pmatch) { /* where in the preface do these bytes start? */
        for (size_t at = 0; at < H2_PREFACE_LEN; at++) {
            size_t k = H2_PREFACE_LEN - at < n ? H2_PREFACE_LEN - at : n;
            if (!memcmp(p, &H2_PREFACE[at], k)) {
                d->pmatch = (uint8_t)at;
                break;
            }
            if (at == H2_PREFACE_LEN - 1)
                return -1;
        }
    }
    size_t k = H2_PREFACE_LEN - d->pmatch < n ? H2_PREFACE_LEN - d->pmatch : n;
    if (memcmp(p, &H2_PREFACE[d->pmatch], k) != 0)
        return -1;
    d->pmatch = (uint8_t)(d->pmatch + k);
    return (long)k;
}

/* H2M_SKIP_101: bytes of p[0..n) up to the end of the HTTP/1 head ("\r\n\r\n"; bare LFs too). */
static size_t skip_101(struct h2_dir *d, const uint8_t *p, size_t n, int *done)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = p[i];
        if (ch == '\n')
            d->crlf = (uint8_t)(d->crlf + 1);
        else if (ch != '\r')
            d->crlf = 0;
        if (d->crlf == 2) {
            *done = 1;
            return i + 1;
        }
    }
    *done = 0;
    return n;
}

static size_t http2_parse(struct app_ctx *c, void *st, int side, const uint8_t *p, size_t n)
{
    struct h2_conn *h = *(struct h2_conn **)st;
    if (!h)
        return n;
    struct h2_dir *d = &h->d[side];
    size_t off = 0;
    while (off < n) {
        switch (d->mode) {
        case H2M_PREFACE: {
            long k = preface(d, p + off, n - off);
            if (k < 0 && !h->upgraded && !d->pmatch &&
                app_http1_ops.probe(p + off, n - off, 0) == APP_PROBE_CLIENT) {
                /* an HTTP/1 request where the preface should be: the server's frames (a server
                 * that speaks first) claimed the flow, but its client speaks HTTP/1 (an h2c
                 * upgrade the server will not take): HTTP/1 parses from here */
                applayer_switch(c, &app_http1_ops);
                return off;
            }
            if (k < 0) {
                app_anomaly(c, side, AN_H2_CLIENT_MAGIC);
                d->mode = H2M_RESYNC;
                d->pmatch = 0;
                break;
            }
            off += (size_t)k;
            if (d->pmatch == H2_PREFACE_LEN)
                d->mode = H2M_FRAMES;
            break;
        }
        case H2M_SKIP_101: {
            int done;
            size_t k = skip_101(d, p + off, n - off, &done);
            off += k;
            d->skipped += (uint32_t)k;
            if (done)
                d->mode = H2M_FRAMES;
            else if (d->skipped > c->s->cfg->http_max_head)
                d->mode = H2M_RESYNC; /* no head end in sight: find the frames */
            break;
        }
        case H2M_RESYNC: {
            size_t k = resync(p + off, n - off);
            c->s->st.h2_resync_bytes += k;
            off += k;
            if (off < n) {
                d->mode = H2M_FRAMES;
                d->hlen = 0;
                d->in_frame = 0;
            }
            break;
        }
        default:
            frames(c, h, side, p + off, n - off);
            return n;
        }
    }
    return n;
}

/* ---- the entry's operations ---- */

/* The client preface (MORE on a prefix of it) names the client; frames (a capture that joined
 * late) are HTTP/2 when their header blocks show the roles, or the SYN did. HTTP/1 text never
 * parses as frames: its first byte makes a length over any frame size. */
static enum app_probe http2_probe(const uint8_t *p, size_t n, int client_known)
{
    int pf = h2_preface(p, n);
    if (pf)
        return pf > 0 ? APP_PROBE_CLIENT : APP_PROBE_MORE;
    enum h2_role role;
    enum h2_plausible r = h2_plausible(p, n, &role);
    if (r == H2_PLAUS_NO)
        return APP_PROBE_NO;
    if (role == H2_ROLE_CLIENT)
        return APP_PROBE_CLIENT;
    if (role == H2_ROLE_SERVER)
        return APP_PROBE_SERVER;
    return r == H2_PLAUS_YES && client_known ? APP_PROBE_YES : APP_PROBE_MORE;
}

/* A transaction an HTTP/1 entry left queued for us: the h2c upgrade request (app_tx.h h2c). */
static struct tx *upgrade_tx(struct app_flow *app)
{
    struct tx *found = NULL;
    for (struct tx *t = app->q_head; t; t = t->next)
        if (t->h2c)
            found = t;
    return found;
}

static void http2_init(struct app_ctx *c, void *st)
{
    struct sensor *s = c->s;
    struct h2_conn *h = NULL;
    if (app_mem_room(s) >= sizeof(*h))
        h = calloc(1, sizeof(*h));
    *(struct h2_conn **)st = h;
    if (!h) {
        s->st.http_memcap++; /* this connection is not parsed */
        return;
    }
    h->mem = sizeof(*h);
    s->app_mem += h->mem;
    s->st.http2_flows++;
    struct tx *up = upgrade_tx(c->app);
    h->upgraded = up != NULL;
    h->from_start = up || c->f->syn_seen; /* not client_known: a probe may have set it */
    for (int side = 0; side < 2; side++) {
        struct h2_dir *d = &h->d[side];
        /* the sizes a peer may send until it hears otherwise (§6.5.2); unknown when late */
        d->max_frame = h->from_start ? H2_DEFAULT_MAX_FRAME : H2_LIMIT_MAX_FRAME;
        h2_dec_restart(c, h, side, h->from_start);
        if (!h->from_start)
            d->mode = H2M_RESYNC;
        else if (is_client(c, side))
            d->mode = H2M_PREFACE;
        else
            d->mode = up && up->h2c == TX_H2C_ASKED ? H2M_SKIP_101 : H2M_FRAMES;
    }
    if (up)
        h2_adopt(c, h, up);
}

static void dir_release(struct app_ctx *c, struct h2_conn *h, int side)
{
    struct h2_dir *d = &h->d[side];
    c->s->app_mem -= d->bcap + d->dec_mem;
    free(d->blk);
    d->blk = NULL;
    d->bcap = d->blen = 0;
    d->blk_open = 0;
    if (d->dec_ready)
        hpack_dec_free(&d->dec);
    d->dec_ready = 0;
    d->dec_mem = 0;
}

/* Streams still open are closed (a switch away: the next entry must not take them for its
 * own); at the flow's end app_tx_flush has closed them already. */
static void http2_reset(struct app_ctx *c, void *st)
{
    struct h2_conn *h = *(struct h2_conn **)st;
    if (!h)
        return;
    while (h->nst)
        app_tx_close(c, h->st[0].t); /* forget drops the slot */
    dir_release(c, h, 0);
    dir_release(c, h, 1);
    c->s->app_mem -= h->mem + h->fcap;
    free(h->fbuf);
    free(h);
    *(struct h2_conn **)st = NULL;
}

/* A hole inside a DATA payload is skipped by count; elsewhere the frame boundary is lost (and
 * with it, maybe, header blocks and their table insertions). */
static void http2_gap(struct app_ctx *c, void *st, int side, size_t len)
{
    struct h2_conn *h = *(struct h2_conn **)st;
    if (!h)
        return;
    struct h2_dir *d = &h->d[side];
    if (d->mode == H2M_FRAMES && d->in_frame && d->fh.type == H2_DATA &&
        len <= d->fh.length - d->off && (d->pre_ok || !h2_prefix_len(&d->fh))) {
        size_t plen = h2_prefix_len(&d->fh);
        uint32_t cend = (uint32_t)(plen + (plen ? d->pre.content_len : d->fh.length));
        if (d->off + len > cend || d->off < plen)
            d->skip = 1; /* the hole took the padding's place or the prefix: nothing more */
        d->off += (uint32_t)len;
        if (d->off == d->fh.length)
            frame_end(c, h, side);
        return;
    }
    if (d->blk_open)
        block_drop(c, h, side);
    block_reset(d);
    h2_dec_restart(c, h, side, 0);
    d->mode = H2M_RESYNC;
    d->in_frame = 0;
    d->hlen = 0;
}

static void http2_eof(struct app_ctx *c, void *st, int side, int final)
{
    struct h2_conn *h = *(struct h2_conn **)st;
    if (!h || !final)
        return;
    dir_release(c, h, side);
}

static void http2_forget(struct app_ctx *c, void *st, struct tx *t)
{
    (void)c;
    struct h2_conn *h = *(struct h2_conn **)st;
    if (h)
        h2_stream_forget(h, t);
}

const struct app_proto_ops app_http2_ops = {
    .name = "http2",
    .app_proto = "http2",
    .ndpi_packets = 6, /* nDPI 4.2 does not name cleartext HTTP/2: its port guess after 6 */
    .state_size = sizeof(struct h2_conn *),
    .probe = http2_probe,
    .init = http2_init,
    .reset = http2_reset,
    .parse = http2_parse,
    .gap = http2_gap,
    .eof = http2_eof,
    .forget = http2_forget,
};
