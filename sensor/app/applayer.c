/* applayer.c — the app layer of one flow: reassembly in, the protocol entry that parses it, and
 * the flow's end (applayer.h).
 *
 * Pipeline: stream ─► [applayer ─► entry (app_proto.h) ─► app_tx (token ─► vcache ─► eve)].
 * Owns per flow (struct app_flow, app_tx.h): both stream directions, which entry parses the
 * flow and that entry's state, nDPI's state (which only names the flow) and the EVE prefix.
 * Takes a flow from every entry when a direction starts as TLS or SSH does (app_proto_opaque),
 * picks the entry by content (app_proto.c), delivers each direction's bytes and holes to it,
 * carries out the switches an entry asks for (a 101, a CONNECT tunnel whose inner connection is
 * probed and checked like a new flow's), tells it when a direction ends, and at the flow's end
 * reaches every transaction still open before the `flow` record.
 * What happens between bytes and records is the entry's (framing) and app_tx's (everything
 * else); nothing here knows HTTP.
 */
#include "applayer.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "app_proto.h"
#include "app_tx.h"
#include "classify.h"
#include "eve.h"

/* The reassembly callback's argument: the call context and the direction it delivers. */
struct delivery {
    struct app_ctx c;
    int side;
};

size_t applayer_flow_state_size(void)
{
    return sizeof(struct app_flow) + 16 + classify_flow_state_size();
}

void applayer_free_pool(struct sensor *s)
{
    app_tx_free_pool(s);
}

/* ---- which entry parses the flow ---- */

void applayer_switch(struct app_ctx *c, const struct app_proto_ops *to)
{
    c->switching = 1;
    c->switch_to = to;
}

/* The entry parsing the flow names the flow's records (EVE app_proto). */
static void name_flow(struct app_flow *app)
{
    if (app->proto->app_proto)
        app->pfx.app_proto = app->proto->app_proto;
}

/* Hands the flow from the entry parsing it to `to` (NULL: unclaimed, the fallback parsing). */
static void entry_set(struct app_ctx *c, const struct app_proto_ops *to)
{
    struct app_flow *app = c->app;
    app->proto->reset(c, app->proto_state);
    memset(app->proto_state, 0, sizeof(app->proto_state));
    app->proto = to ? to : app_proto_fallback;
    assert(app->proto->state_size <= sizeof(app->proto_state));
    app->decided = to != NULL;
    name_flow(app);
    app->proto->init(c, app->proto_state);
}

/* On an unclaimed flow, the probes look at each delivery (app_proto.h "Selection"), joined to
 * what an earlier one left held; the entry that claims it may also tell which side is the
 * client, when no SYN did. Returns 1 when the delivery was held back (a probe wants more and
 * may_hold). */
static int select_entry(struct app_ctx *c, int side, const uint8_t *data, size_t len,
                        int may_hold)
{
    struct flow *f = c->f;
    struct app_flow *app = c->app;
    uint8_t buf[sizeof(app->hold[0])];
    size_t have = app->hold_len[side];
    const uint8_t *p = data;
    size_t n = len;
    if (have) {
        size_t k = len < sizeof(buf) - have ? len : sizeof(buf) - have;
        memcpy(buf, app->hold[side], have);
        memcpy(buf + have, data, k);
        p = buf;
        n = have + k;
    }
    enum app_probe role = APP_PROBE_NO;
    const struct app_proto_ops *e = app_proto_probe(p, n, f->client_known, &role);
    if (!e) {
        if (!may_hold || role != APP_PROBE_MORE || have + len > sizeof(app->hold[0]))
            return 0;
        memcpy(app->hold[side] + have, data, len);
        app->hold_len[side] = (uint8_t)(have + len);
        return 1;
    }
    if (!f->client_known && role == APP_PROBE_SERVER)
        flow_set_client(f, !side);
    else if (!f->client_known && role == APP_PROBE_CLIENT)
        flow_set_client(f, side);
    if (e != app->proto)
        entry_set(c, e);
    app->decided = 1;
    return 0;
}

/* ---- delivery ---- */

static void deliver_run(struct app_ctx *c, int side, const uint8_t *data, size_t len, int probed);

static void deliver_bytes(struct app_ctx *c, int side, const uint8_t *data, size_t len)
{
    deliver_run(c, side, data, len, 0);
}

/* The entry parsing direction `side` asked for a switch (app_proto.h "Switching protocols"): the
 * next entry takes over with what the old one handed it (c->ho); the bytes it held of the other
 * direction are that direction's first for the new entry. A switch to NULL starts a connection
 * inside this one: each direction's start is checked again (app_proto_opaque), and the
 * transactions before it do not keep a TLS start inside from being recognised. */
static void switch_entry(struct app_ctx *c, int side)
{
    struct app_flow *app = c->app;
    const struct app_proto_ops *to = c->switch_to;
    c->switching = 0;
    c->switch_to = NULL;
    if (!to) {
        for (int k = 0; k < 2; k++)
            if (app->head_len[k] == APP_HEAD_DONE)
                app->head_len[k] = 0;
        app->tx_seen = 0;
    }
    entry_set(c, to); /* the new entry's init takes from c->ho what it wants */
    struct app_handover ho = c->ho;
    memset(&c->ho, 0, sizeof(c->ho));
    app_tx_origin_free(c, ho.origin);
    if (ho.held) {
        deliver_bytes(c, !side, ho.held, ho.held_len);
        free(ho.held);
        c->s->app_mem -= ho.held_mem;
    }
}

/* The bytes a probe had held back go to the entry (before later ones, a hole, or the end); the
 * probes have seen them already. */
static void hold_flush(struct app_ctx *c, int side)
{
    struct app_flow *app = c->app;
    size_t n = app->hold_len[side];
    if (!n)
        return;
    uint8_t held[sizeof(app->hold[0])];
    memcpy(held, app->hold[side], n);
    app->hold_len[side] = 0;
    deliver_run(c, side, held, n, 1);
}

_Static_assert(sizeof(((struct app_flow *)0)->head[0]) >= APP_PROTO_OPAQUE_HEAD,
               "app_flow.head holds what app_proto_opaque reads");
_Static_assert(sizeof(((struct app_flow *)0)->hold[0]) == APP_PROBE_HOLD,
               "app_flow.hold holds what a probe may ask to see");

enum head { HEAD_PARSE, HEAD_HELD, HEAD_OPAQUE };

/* The first bytes of direction `side` (app_proto.h "Opaque flows"). HEAD_OPAQUE: they open a
 * TLS or SSH session and the flow has carried no transaction, so no entry parses it. HEAD_HELD:
 * too few yet to tell; they are kept in app->head, and not parsed until it is told, so that a
 * ClientHello cut short is no parser error. HEAD_PARSE: for the entry, after the bytes held
 * (head_parse). Only the start of each direction is looked at. */
static enum head head_check(struct app_ctx *c, int side, const uint8_t *data, size_t len)
{
    struct app_flow *app = c->app;
    uint8_t buf[sizeof(app->head[0])];
    size_t have = app->head_len[side];
    const uint8_t *p = data;
    size_t n = len;
    if (have) { /* an earlier delivery was too short to tell */
        size_t k = len < sizeof(buf) - have ? len : sizeof(buf) - have;
        memcpy(buf, app->head[side], have);
        memcpy(buf + have, data, k);
        p = buf;
        n = have + k;
    }
    enum app_probe r = app_proto_opaque(p, n);
    if (r == APP_PROBE_MORE) { /* then n < APP_PROTO_OPAQUE_HEAD: all of it fits */
        memcpy(app->head[side], p, n);
        app->head_len[side] = (uint8_t)n;
        return HEAD_HELD;
    }
    if (r == APP_PROBE_NO || app->tx_seen)
        return HEAD_PARSE;
    struct flow *f = c->f;
    if (r != APP_PROBE_YES) {
        int client = r == APP_PROBE_CLIENT ? side : !side;
        if (!f->client_known)
            flow_set_client(f, client);
        else if (f->client != client)
            return HEAD_PARSE; /* a ClientHello from the server opens no TLS session */
    }
    return HEAD_OPAQUE;
}

/* The direction's start is told (or it ends, or a hole follows it): the bytes held go to the
 * entry first. */
static void head_parse(struct app_ctx *c, int side)
{
    struct app_flow *app = c->app;
    size_t have = app->head_len[side];
    app->head_len[side] = APP_HEAD_DONE;
    if (have == APP_HEAD_DONE || !have || app->opaque)
        return;
    uint8_t buf[sizeof(app->head[0])]; /* a switch to a new connection inside may refill head */
    memcpy(buf, app->head[side], have);
    deliver_bytes(c, side, buf, have);
}

/* Bytes of direction `side` for the flow's entries, in order: a direction's start (the flow's,
 * or an inner connection's after a switch to NULL) is checked first (head_check); on an
 * unclaimed flow the probes look at them (and may hold a few back until they can tell, but not
 * after a switch: those bytes are parsed at once); then the entry parses, and its switches are
 * followed with the rest of the bytes. probed: the probes have seen these bytes already. */
static void deliver_run(struct app_ctx *c, int side, const uint8_t *data, size_t len, int probed)
{
    struct app_flow *app = c->app;
    int may_hold = 1;
    while (len && !app->opaque) {
        if (app->head_len[side] != APP_HEAD_DONE) {
            enum head h = head_check(c, side, data, len);
            if (h == HEAD_HELD)
                return;
            if (h == HEAD_OPAQUE) {
                app->head_len[side] = APP_HEAD_DONE;
                app->opaque = 1; /* applayer_packet stops reassembly once this delivery returns */
                return;
            }
            head_parse(c, side);
            if (app->head_len[side] != APP_HEAD_DONE)
                continue; /* the bytes held switched to a new connection: check its start */
            if (app->opaque)
                return;
        }
        if (!app->decided && !probed && select_entry(c, side, data, len, may_hold))
            return; /* a probe wants more: held back (app->hold) */
        probed = 0;
        hold_flush(c, side);
        if (app->opaque)
            return;
        size_t k = app->proto->parse(c, app->proto_state, side, data, len);
        if (!c->switching)
            return;
        switch_entry(c, side); /* the entry handed the connection over after k bytes */
        data += k;
        len -= k;
        may_hold = 0;
    }
}

static void deliver(void *user, const uint8_t *data, size_t len)
{
    struct delivery *d = user;
    struct app_ctx *c = &d->c;
    struct app_flow *app = c->app;
    if (app->opaque)
        return; /* found opaque earlier in this packet's deliveries */
    if (!data) {
        head_parse(c, d->side); /* the direction's start is lost */
        hold_flush(c, d->side);
        app_anomaly(c, d->side, AN_GAP);
        app->proto->gap(c, app->proto_state, d->side, len);
        return;
    }
    if (!len)
        return;
    /* Before this side's next bytes are parsed, the other side's holes that this side has
     * acknowledged are skipped: a response lost in the capture is then known to be lost before
     * the next request is queued, and cannot take that request's status. */
    struct delivery o = {{.s = c->s, .f = c->f, .app = app}, !d->side};
    stream_ack_gaps(&c->s->streams, &app->st[!d->side], deliver, &o);
    deliver_bytes(c, d->side, data, len);
}

/* ---- flow glue ---- */

static struct app_flow *app_of(struct sensor *s, struct flow *f, const struct packet *pkt)
{
    struct app_flow *app = f->app;
    if (!app) {
        app = calloc(1, sizeof(*app));
        if (!app)
            return NULL;
        stream_dir_init(&app->st[0]);
        stream_dir_init(&app->st[1]);
        /* Each direction reads the other's ACKs (stream.h: ACK-based gaps, and a RST before any
         * data is judged against the peer's ACK): paired from the flow's first packet on. */
        stream_dir_pair(&app->st[0], &app->st[1]);
        if (pkt->tunnel_count) {
            app->pfx.tunnel = pkt->tunnel[0];
            app->pfx.tunnel_depth = pkt->tunnel_count;
        }
        app->proto = app_proto_fallback;
        name_flow(app);
        struct app_ctx c = {.s = s, .f = f, .app = app};
        app->proto->init(&c, app->proto_state);
        f->app = app;
    }
    return app;
}

/* Direction `side` ended: the entry completes what it was sending. */
static void end_dir(struct delivery *d, int final)
{
    struct app_flow *app = d->c.app;
    head_parse(&d->c, d->side); /* a short direction that was no TLS or SSH start */
    hold_flush(&d->c, d->side);
    app->proto->eof(&d->c, app->proto_state, d->side, final);
}

void applayer_packet(struct sensor *s, struct flow *f, int side, const struct packet *pkt)
{
    struct app_flow *app = app_of(s, f, pkt);
    if (!app)
        return;
    /* nDPI names the flow for the records and nothing more: whatever it says (a guess by port
     * above all), the bytes decide what is parsed (app_proto.h "Opaque flows"). */
    if (!app->cf.done) {
        classify_packet_charged(s->cls, &app->cf, s->flows, f, pkt, s->now_us);
        if (!app->cf.done && app->proto->ndpi_packets && app->cf.packets >= app->proto->ndpi_packets)
            classify_giveup(s->cls, &app->cf, s->flows, f);
    }
    if (app->opaque)
        return;
    struct delivery d = {{.s = s, .f = f, .app = app}, side};
    uint64_t diff0 = s->streams.stats.overlap_diff;
    int ended = stream_segment(&s->streams, &app->st[side], pkt, deliver, &d);
    if (app->opaque) {
        /* TLS or SSH from the first bytes: nothing for the entries; stop reassembling. */
        stream_dir_reset(&s->streams, &app->st[0]);
        stream_dir_reset(&s->streams, &app->st[1]);
        return;
    }
    if (s->streams.stats.overlap_diff != diff0)
        app_anomaly(&d.c, side, AN_OVERLAP); /* a retransmission that differs: evasion? */
    if (ended && !app->ended[side]) {
        stream_flush(&s->streams, &app->st[side], deliver, &d);
        app->ended[side] = 1;
        end_dir(&d, 0); /* a body delimited by the connection's end is complete now */
        if (pkt->tcp_flags & TCP_RST) {
            /* RST ends both directions */
            struct delivery o = {{.s = s, .f = f, .app = app}, !side};
            stream_flush(&s->streams, &app->st[!side], deliver, &o);
            app->ended[!side] = 1;
            end_dir(&o, 0);
        }
        if (app->ended[0] && app->ended[1]) {
            app_tx_flush(&d.c);
            flow_mark_closed(s->flows, f);
        }
    }
}

/* Every open transaction is reached here: the entry closes those it holds at each direction's
 * final eof, app_tx_flush the queued ones, before the `flow` record that sums them up. */
void applayer_flow_end(struct sensor *s, struct flow *f, const char *reason)
{
    struct app_flow *app = f->app;
    if (!app)
        return;
    for (int side = 0; side < 2; side++) {
        struct delivery d = {{.s = s, .f = f, .app = app}, side};
        if (!app->ended[side])
            stream_flush(&s->streams, &app->st[side], deliver, &d);
        end_dir(&d, 1);
        stream_dir_reset(&s->streams, &app->st[side]);
    }
    struct app_ctx c = {.s = s, .f = f, .app = app};
    app_tx_flush(&c);
    app->proto->reset(&c, app->proto_state);
    struct app_fhold *fh = app->fh;
    if ((s->out_types & EVE_T_FLOW) && app->had_token) {
        int alerted = app->alerted || (fh && fh->replayed);
        if (fh && fh->pending && !alerted) {
            /* token_replay answers pending (app_tx_release_replay): `alerted` both ways */
            for (int a = 0; a <= 1; a++) {
                s->eve.hold = &fh->hold[a];
                eve_write_flow(&s->eve, f, &app->pfx, reason, a);
            }
            s->eve.hold = NULL;
            fh->held = 1;
        } else {
            eve_write_flow(&s->eve, f, &app->pfx, reason, alerted);
        }
    }
    if (fh) {
        if (fh->pending)
            fh->closed = 1; /* freed by the last answer */
        else
            free(fh);
        app->fh = NULL;
    }
    classify_flow_release(s->cls, &app->cf);
    eve_prefix_release(&app->pfx);
    free(app);
    f->app = NULL;
}
