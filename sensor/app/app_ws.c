/* app_ws.c — the WebSocket entry of the app layer: the first messages of each direction of a
 * connection that a 101 switched to WebSocket, read for tokens.
 *
 * Pipeline: stream ─► applayer ─► app_http1 (the 101) ─► applayer_switch ─► [app_ws: websocket
 * reader per direction] ─► app_tx_message (token scan ─► verdict ─► eve). One entry of the
 * registry (app_proto.h), never probed: a flow becomes WebSocket only by a 101 (nothing in a
 * WebSocket's bytes says so reliably), never by its content.
 * Owns per flow (allocated at init, charged to engine.http-memcap): a reader per direction
 * (dissectors/http/websocket.c: its message buffer and zlib stream, charged as `mem` says) and
 * the upgrade request's http object (struct tx_origin, handed over by the entry that switched).
 * What a direction sends is read up to WS_MESSAGES_MAX data messages, each up to
 * engine.body-limit bytes (decompressed: permessage-deflate as the 101 agreed, with the bomb
 * ratio engine.inflate-ratio); then, or after a framing error, a gap or a close frame, its bytes
 * are consumed and ignored. Text messages, and binary ones that are UTF-8 JSON, are scanned as
 * JSON for credentials (token_scan_json_auth: GraphQL over WebSocket connection_init) and their
 * tokens written at once, location `websocket`, each message with tokens a transaction of its
 * own under the upgrade's host and URL. Nothing here is an anomaly: WebSocket frames are not
 * HTTP, and a peer's framing error is its peer's business.
 * RFC 6455 §5 (framing), §5.6 (text is UTF-8); RFC 7692 (permessage-deflate); graphql-ws and
 * subscriptions-transport-ws (connection_init payloads).
 */
#include <stdlib.h>
#include <string.h>

#include "app_proto.h"
#include "app_tx.h"
#include "websocket.h"

/* Data messages read per direction: a GraphQL client's connection_init is its first, and a
 * server's first answers (connection_ack, a first result) come right after. */
#define WS_MESSAGES_MAX 8

struct ws_dir {
    struct ws_reader r;
    size_t charged;     /* r.mem as charged to app_mem */
    uint8_t done;       /* nothing more is read in this direction */
};

struct ws_flow {
    struct ws_dir d[2]; /* by sender: WS_CLIENT, WS_SERVER */
    struct tx_origin *origin;
};

struct ws_state {
    struct ws_flow *w;  /* NULL: nothing is read (body-limit 0, or no memory) */
};
_Static_assert(sizeof(struct ws_state) <= APP_PROTO_STATE_SIZE, "fits the flow's app state");

#define WS_FLOW_MEM (sizeof(struct ws_flow) + 16)

static void charge(struct app_ctx *c, struct ws_dir *d)
{
    c->s->app_mem += d->r.mem;
    c->s->app_mem -= d->charged;
    d->charged = d->r.mem;
}

/* The direction reads no more: its reader and what it holds go. */
static void dir_done(struct app_ctx *c, struct ws_dir *d)
{
    if (d->done)
        return;
    d->done = 1;
    ws_reader_reset(&d->r);
    charge(c, d);
}

/* Binary messages are scanned when they are JSON text after all (some clients send their
 * JSON protocol messages as binary frames). */
static int json_text(const struct ws_message *m)
{
    size_t i = 0;
    while (i < m->len && (m->p[i] == ' ' || m->p[i] == '\t' || m->p[i] == '\r' || m->p[i] == '\n'))
        i++;
    return i < m->len && (m->p[i] == '{' || m->p[i] == '[') && ws_utf8_valid(m->p, m->len);
}

struct message_ctx {
    struct app_ctx *c;
    struct ws_flow *w;
    int sender;
};

static int on_message(void *user, const struct ws_message *m)
{
    struct message_ctx *mc = user;
    struct sensor *s = mc->c->s;
    if (m->opcode == WS_OP_CLOSE)
        return 1; /* nothing follows a close frame */
    if (m->opcode & 0x8)
        return 0; /* ping, pong */
    s->st.ws_messages++;
    s->st.ws_truncated += m->truncated || m->capped;
    s->st.ws_inflate_errors += m->bomb || m->error;
    if (m->opcode == WS_OP_TEXT || json_text(m))
        app_tx_message(mc->c, mc->w->origin, span_make(m->p, m->len), TOKEN_LOC_WEBSOCKET,
                       mc->sender == WS_SERVER);
    return mc->w->d[mc->sender].r.messages >= WS_MESSAGES_MAX;
}

/* ---- the entry's operations ---- */

static enum app_probe ws_probe(const uint8_t *p, size_t n, int client_known)
{
    (void)p, (void)n, (void)client_known;
    return APP_PROBE_NO; /* only a 101 makes a flow WebSocket */
}

static void ws_init(struct app_ctx *c, void *st)
{
    struct ws_state *ws = st;
    struct sensor *s = c->s;
    if (!s->cfg->body_limit)
        return; /* no message is kept: nothing to read */
    if (app_mem_room(s) < WS_FLOW_MEM || !(ws->w = calloc(1, sizeof(*ws->w)))) {
        s->st.http_memcap++;
        return;
    }
    s->app_mem += WS_FLOW_MEM;
    ws->w->origin = c->ho.origin; /* ours from now on */
    c->ho.origin = NULL;
    for (int k = WS_CLIENT; k <= WS_SERVER; k++)
        ws_reader_init(&ws->w->d[k].r, s->cfg->body_limit, (uint32_t)s->cfg->inflate_ratio,
                       &c->ho.ws, k);
}

static size_t ws_parse(struct app_ctx *c, void *st, int side, const uint8_t *p, size_t n)
{
    struct ws_flow *w = ((struct ws_state *)st)->w;
    if (!w)
        return n;
    int sender = side == c->f->client ? WS_CLIENT : WS_SERVER;
    struct ws_dir *d = &w->d[sender];
    if (d->done)
        return n;
    struct message_ctx mc = {c, w, sender};
    enum ws_status r = ws_reader_feed(&d->r, p, n, app_mem_room(c->s), on_message, &mc);
    charge(c, d);
    if (r != WS_OK)
        dir_done(c, d); /* enough messages, a close, or frames it cannot follow */
    return n;
}

/* A hole: where the next frame starts is unknown, so the direction is read no more. */
static void ws_gap(struct app_ctx *c, void *st, int side, size_t len)
{
    (void)len;
    struct ws_flow *w = ((struct ws_state *)st)->w;
    if (w)
        dir_done(c, &w->d[side == c->f->client ? WS_CLIENT : WS_SERVER]);
}

static void ws_eof(struct app_ctx *c, void *st, int side, int final)
{
    if (final)
        ws_gap(c, st, side, 0); /* a message cut by the end is not handed on */
}

static void ws_reset(struct app_ctx *c, void *st)
{
    struct ws_state *ws = st;
    struct ws_flow *w = ws->w;
    if (!w)
        return;
    dir_done(c, &w->d[WS_CLIENT]);
    dir_done(c, &w->d[WS_SERVER]);
    app_tx_origin_free(c, w->origin);
    free(w);
    c->s->app_mem -= WS_FLOW_MEM;
    ws->w = NULL;
}

static void ws_forget(struct app_ctx *c, void *st, struct tx *t)
{
    (void)c, (void)st, (void)t; /* a message's transaction is closed where it is made */
}

const struct app_proto_ops app_ws_ops = {
    .name = "websocket",
    .state_size = sizeof(struct ws_state),
    .probe = ws_probe,
    .init = ws_init,
    .reset = ws_reset,
    .parse = ws_parse,
    .gap = ws_gap,
    .eof = ws_eof,
    .forget = ws_forget,
};
