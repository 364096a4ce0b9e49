/* applayer.c — the app layer of one flow: reassembly in, the protocol entry that parses it, and
 * the flow's end (applayer.h).
 *
 * Pipeline: stream ─► [applayer ─► entry (app_proto.h) ─► app_tx (token ─► vcache ─► eve)].
 * Owns per flow (struct app_flow, app_tx.h): both stream directions, which entry parses the
 * flow and that entry's state, nDPI's state and the EVE prefix. Picks the entry by content
 * (app_proto.c), delivers each direction's bytes and holes to it, tells it when a direction
 * ends, and at the flow's end reaches every transaction still open before the `flow` record.
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

/* Hands the flow from the entry parsing it to `to` (NULL: unclaimed, the fallback parsing). */
static void entry_set(struct app_ctx *c, const struct app_proto_ops *to)
{
    struct app_flow *app = c->app;
    app->proto->reset(c, app->proto_state);
    memset(app->proto_state, 0, sizeof(app->proto_state));
    app->proto = to ? to : app_proto_fallback;
    assert(app->proto->state_size <= sizeof(app->proto_state));
    app->decided = to != NULL;
    app->proto->init(c, app->proto_state);
}

/* On an unclaimed flow, the probes look at each delivery (app_proto.h "Selection"); the entry
 * that claims it may also tell which side is the client, when no SYN did. */
static void select_entry(struct app_ctx *c, int side, const uint8_t *data, size_t len)
{
    struct flow *f = c->f;
    enum app_probe role = APP_PROBE_NO;
    const struct app_proto_ops *p = app_proto_probe(data, len, f->client_known, &role);
    if (!p)
        return;
    if (!f->client_known && role == APP_PROBE_SERVER)
        flow_set_client(f, !side);
    else if (!f->client_known && role == APP_PROBE_CLIENT)
        flow_set_client(f, side);
    if (p != c->app->proto)
        entry_set(c, p);
    c->app->decided = 1;
}

/* ---- delivery ---- */

static void deliver(void *user, const uint8_t *data, size_t len)
{
    struct delivery *d = user;
    struct app_ctx *c = &d->c;
    struct app_flow *app = c->app;
    /* Each direction reads the other's ACKs (stream.h: ACK-based gaps, RST before any data).
     * Here because this is the first point that has the flow's app state in hand; idempotent. */
    stream_dir_pair(&app->st[0], &app->st[1]);
    if (!data) {
        app_anomaly(c, d->side, AN_GAP);
        app->proto->gap(c, app->proto_state, d->side, len);
        return;
    }
    if (!len)
        return;
    /* Before this side's next bytes are parsed, the other side's holes that this side has
     * acknowledged are skipped: a response lost in the capture is then known to be lost before
     * the next request is queued, and cannot take that request's status. */
    struct delivery o = {{c->s, c->f, app, NULL, 0}, !d->side};
    stream_ack_gaps(&c->s->streams, &app->st[!d->side], deliver, &o);
    for (;;) {
        if (!app->decided)
            select_entry(c, d->side, data, len);
        size_t k = app->proto->parse(c, app->proto_state, d->side, data, len);
        if (!c->switching)
            return;
        /* The entry handed the connection over after k bytes (app_proto.h "Switching"). */
        c->switching = 0;
        entry_set(c, c->switch_to);
        data += k;
        len -= k;
        if (!len)
            return;
    }
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
        if (pkt->tunnel_count) {
            app->pfx.tunnel = pkt->tunnel[0];
            app->pfx.tunnel_depth = pkt->tunnel_count;
        }
        app->proto = app_proto_fallback;
        struct app_ctx c = {s, f, app, NULL, 0};
        app->proto->init(&c, app->proto_state);
        f->app = app;
    }
    return app;
}

/* Direction `side` ended: the entry completes what it was sending. */
static void end_dir(struct delivery *d, int final)
{
    struct app_flow *app = d->c.app;
    app->proto->eof(&d->c, app->proto_state, d->side, final);
}

void applayer_packet(struct sensor *s, struct flow *f, int side, const struct packet *pkt)
{
    struct app_flow *app = app_of(s, f, pkt);
    if (!app)
        return;
    if (!app->cf.done &&
        classify_packet_charged(s->cls, &app->cf, s->flows, f, pkt, s->now_us) &&
        classify_is_not_http(&app->cf) && !app->tx_seen) {
        /* TLS, SSH, ...: nothing for the HTTP parser; stop reassembling the flow. A flow that
         * has already carried an HTTP request stays parsed whatever nDPI says, so a crafted
         * first packet cannot blind us to the requests behind it. */
        app->not_http = 1;
        stream_dir_reset(&s->streams, &app->st[0]);
        stream_dir_reset(&s->streams, &app->st[1]);
    }
    if (app->not_http)
        return;
    struct delivery d = {{s, f, app, NULL, 0}, side};
    uint64_t diff0 = s->streams.stats.overlap_diff;
    int ended = stream_segment(&s->streams, &app->st[side], pkt, deliver, &d);
    if (s->streams.stats.overlap_diff != diff0)
        app_anomaly(&d.c, side, AN_OVERLAP); /* a retransmission that differs: evasion? */
    if (ended && !app->ended[side]) {
        stream_flush(&s->streams, &app->st[side], deliver, &d);
        app->ended[side] = 1;
        end_dir(&d, 0); /* a body delimited by the connection's end is complete now */
        if (pkt->tcp_flags & TCP_RST) {
            /* RST ends both directions */
            struct delivery o = {{s, f, app, NULL, 0}, !side};
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
        struct delivery d = {{s, f, app, NULL, 0}, side};
        if (!app->ended[side])
            stream_flush(&s->streams, &app->st[side], deliver, &d);
        end_dir(&d, 1);
        stream_dir_reset(&s->streams, &app->st[side]);
    }
    struct app_ctx c = {s, f, app, NULL, 0};
    app_tx_flush(&c);
    app->proto->reset(&c, app->proto_state);
    if ((s->out_types & EVE_T_FLOW) && app->had_token)
        eve_write_flow(&s->eve, f, &app->pfx, reason, app->alerted);
    classify_flow_release(s->cls, &app->cf);
    eve_prefix_release(&app->pfx);
    free(app);
    f->app = NULL;
}
