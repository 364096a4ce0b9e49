/* app_tx.h — the protocol-neutral transaction path of the app layer (private to sensor/app).
 *
 * Pipeline: stream ─► applayer ─► protocol entry (app_proto.h: HTTP/1 ...) ─► [app_tx: token
 * scan ─► verdict ─► eve]. A protocol entry describes each message head it parses as a struct
 * app_head and hands it here; everything from there on knows nothing of framing: the
 * transaction (struct tx) and its arena, the flow's queue of transactions in flight, body
 * collection and scanning, token judging through the verification cache, the replay check,
 * alert counting, and the EVE records (token/alert, http, keyset, anomaly).
 *
 * Owns, per flow (struct app_flow, one allocation with the reassembly state): the transactions
 * in flight, the hashes of tokens already reported, the flow's EVE prefix and nDPI state. The
 * app_ctx of a call carries what an entry hands the next at a switch (struct app_handover).
 * A transaction is recycled through the sensor's free list (sensor_ctx.h tx_free), so the steady
 * state allocates nothing per request; each is charged to engine.http-memcap (app_mem) for the
 * struct, its arena and the bodies it collects.
 *
 * Life of a transaction:
 *
 *   app_tx_request ──► queued (in flight, oldest first) ──► app_tx_take ──► held by the entry
 *        │                │  (the app layer may close it on its own:   │  (response body)
 *        │                │   memcap, TX_MAX_PENDING, app_tx_flush)    │
 *        ▼                ▼                                            ▼
 *      app_tx_close: pending bodies scanned, records written, recycled (ops->forget first)
 *
 * An entry that answers in order (HTTP/1) takes the oldest queued transaction when its response
 * head arrives; one that multiplexes (HTTP/2 streams) keeps its transactions queued and closes
 * each when its stream ends, in any order (mapping its stream ids to transactions in its own
 * state). Either way every transaction is closed exactly once: one the entry holds by the entry,
 * at the latest at its final eof; one still queued by the entry or the app layer, at the
 * latest by app_tx_flush when the flow ends.
 */
#ifndef TW_APP_TX_H
#define TW_APP_TX_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "body.h"
#include "classify.h"
#include "eve.h"
#include "flow.h"
#include "parse.h"
#include "sensor_ctx.h"
#include "stream.h"
#include "token.h"
#include "websocket.h"

#define TX_MAX_TOKENS 32
#define TX_MAX_PENDING 64
#define SEEN_MAX 32

/* Room for a protocol entry's per-flow state inside struct app_flow, so that a flow's app state
 * is one allocation. HTTP/1's state fits exactly; an entry with more (HTTP/2: streams, HPACK
 * tables) allocates it from its init and keeps a pointer here. The flow's fixed footprint,
 * charged to engine.flow-memcap (applayer_flow_state_size), depends on this size. */
#define APP_PROTO_STATE_SIZE 160

/* Which message of a transaction: index of struct tx's bodies. */
enum { TX_REQUEST = 0, TX_RESPONSE = 1 };

/* struct tx.h2c: app_http1 marks an Upgrade: h2c request; the mark says what switched. */
enum { TX_H2C_ASKED = 1, /* switched on the client's preface: the 101 head is still to come */
       TX_H2C_101 = 2 }; /* switched on the 101: the server's frames come next */

/* Whether the server took the request's credentials (EVE token.accepted). */
enum tx_outcome {
    TX_OUTCOME_BY_STATUS = 0, /* by http.status: 2xx, 3xx and 101 accept; none: unknown */
    TX_OUTCOME_ACCEPTED,      /* the entry knows better: gRPC's grpc-status 0 in the trailers */
    TX_OUTCOME_REFUSED,       /* ... 16 or 7 (UNAUTHENTICATED, PERMISSION_DENIED) */
    TX_OUTCOME_UNKNOWN,       /* nothing tells: a grpc-status that does not (14 UNAVAILABLE),
                                 a WebSocket message's token (app_tx_message) */
};

struct tx_token {
    struct verdict *v;
    enum token_location loc;
    uint8_t server;              /* the server sent it (a response body): not a credential the
                                    client presented, so neither accepted nor a replay */
};

struct tx {
    struct tx *next;             /* the flow's in-flight queue, or the sensor's free list */
    struct arena a;
    uint64_t tx_id;
    uint64_t ts_us;
    struct eve_http http;
    struct tx_token tokens[TX_MAX_TOKENS];
    size_t ntokens;
    const char *method;          /* the request method, raw (http.method is redacted) */
    struct body body[2];         /* request and response bodies being collected for scanning */
    uint8_t body_kind[2];        /* what each body is scanned as; 0: not collected */
    uint8_t queued;              /* in the flow's in-flight queue */
    uint8_t outcome;             /* enum tx_outcome */
    uint8_t h2c;                 /* an HTTP/1 request asking for h2c (TX_H2C_*): the HTTP/2 entry
                                    adopts it as stream 1 when the connection switches */
    uint8_t message;             /* a message's transaction (app_tx_message): token and alert
                                    records only, no `http` record */
    size_t body_mem[2];          /* what each body being collected is charged to http-memcap */
    size_t mem;                  /* charged to app_mem for the struct and its arena (tx_charge) */
};

struct app_proto_ops;

#define APP_HEAD_DONE 0xff

/* A flow's `flow` record while replay answers of its tokens are pending (replay_defer.h):
 * `alerted` depends on them. Outlives the flow until they are all answered. */
struct app_fhold {
    uint32_t pending;            /* tickets filed on the flow, not released yet */
    uint8_t replayed;            /* one of those answered token_replay */
    uint8_t closed, held;        /* the flow ended; its record rendered both ways into hold */
    struct eve_hold hold[2];     /* [alerted] */
};

/* A flow's application state: reassembly and protocol selection (applayer.c), the selected
 * entry's state, and the transaction path's per-flow part (app_tx.c). One allocation, whose
 * size is the flow's fixed app-layer footprint: 8-byte members first, so that it has no holes. */
struct app_flow {
    struct stream_dir st[2];
    struct app_fhold *fh;        /* replay answers pending on this flow, or NULL */
    const struct app_proto_ops *proto; /* the entry parsing this flow (the fallback until one
                                          claims it: app_proto.h) */
    struct tx *q_head, *q_tail;  /* transactions in flight, oldest first */
    uint64_t next_tx_id;
    uint64_t seen[SEEN_MAX];     /* hashes of tokens already reported in this flow */
    uint64_t fleet_hash;         /* the last token this flow sighted for the fleet (its verdict's
                                    hash), and when the fleet last sent that sighting: within the
                                    window the next occurrence skips the fleet's cache */
    int64_t fleet_sent;
    struct vcache_memo vmemo;    /* where the verification cache last found this flow's token */
    struct eve_prefix pfx;       /* the flow's shared EVE members, rendered once */
    struct classify_flow cf;     /* nDPI's verdict on the flow */
    uint64_t proto_state[APP_PROTO_STATE_SIZE / 8]; /* the entry's state (8-byte aligned) */
    uint32_t nq;
    uint32_t anom_sent[2];       /* per direction: anomaly kinds already written (bit per kind) */
    uint8_t nseen, seen_next;
    uint8_t ended[2];
    uint8_t decided;             /* an entry claimed the flow: no more probing */
    uint8_t tx_seen;             /* a transaction was opened on this flow */
    uint8_t opaque;              /* the flow opened as TLS or SSH (app_proto_opaque) before any
                                    transaction: no entry parses it, nothing is reassembled */
    uint8_t head_len[2];         /* per direction: first bytes kept for app_proto_opaque, or
                                    APP_HEAD_DONE once it has answered */
    uint8_t head[2][8];          /* ... those bytes (APP_PROTO_OPAQUE_HEAD) */
    uint8_t hold_len[2];         /* per direction: bytes held while a probe asks for more ... */
    uint8_t hold[2][32];         /* ... (APP_PROBE_HOLD, app_proto.h "Selection") */
    uint8_t named;               /* pfx carries nDPI's final names */
    uint8_t had_token;           /* a token was reported on this flow: it gets a `flow` record */
    uint8_t alerted;             /* ... and one of them raised an alert */
};

/* The EVE http object of the transaction that switched the connection (a 101), as the entry the
 * connection switched to reports its own transactions under it (app_tx_message): so an alert
 * for a token in a WebSocket message names the host and URL of the upgrade. One allocation,
 * charged to engine.http-memcap (`mem`). */
struct tx_origin {
    struct eve_http http;
    size_t mem;
};

/* What an entry that asks for a switch (applayer_switch, app_proto.h) hands the next one, set in
 * the call's context before it returns. The app layer clears it after the switch: what the new
 * entry's init did not take it releases. */
struct app_handover {
    /* Bytes of the other direction that the entry held for the new protocol (a client's bytes
     * sent after a CONNECT or Upgrade request, before its answer was parsed): a malloc'd buffer,
     * held_mem of it charged to app_mem. The app layer delivers them as that direction's first
     * bytes after the switch, before the rest of this delivery, then frees them. */
    uint8_t *held;
    size_t held_len, held_mem;
    struct tx_origin *origin;    /* app_tx_origin of the switching transaction, or NULL: the new
                                    entry's init takes it (then owns it) */
    struct ws_deflate ws;        /* WebSocket: the permessage-deflate the 101 agreed */
};

/* What every call into the app layer's protocol entries and the transaction path carries; made
 * on the stack for each delivery. */
struct app_ctx;
struct tx;
/* An alert record written with these findings: stats.alerts counts it and each finding. */
void app_tx_count_alerts(struct sensor *s, uint32_t findings);
/* app_fleet.c: token i of t, presented by client (16 bytes) at packet time now with the local
 * findings, goes to the fleet: indicator lookup (an alert now), publish, sighting. */
void app_fleet_token(struct app_ctx *c, const struct tx *t, size_t i, const uint8_t client[16],
                     int64_t now, uint32_t findings, int accepted);

struct app_ctx {
    struct sensor *s;
    struct flow *f;
    struct app_flow *app;
    const struct app_proto_ops *switch_to; /* applayer_switch() during this call ... */
    int switching;                         /* ... was called */
    struct app_handover ho;                /* ... and what goes with it */
};

/* One message head, described by the entry that parsed it. Spans point into the entry's buffer
 * and are read during the call only (what a transaction keeps is copied into its arena). */
struct app_head {
    /* request */
    struct span method, target;  /* target: HTTP/1 request-target, HTTP/2 :path */
    struct span host;            /* Host, or :authority */
    struct span protocol;        /* "HTTP/1.1" ... as EVE prints it */
    /* response */
    int status;
    /* both */
    uint64_t length;             /* Content-Length, when has_length (a response's is EVE's
                                    http.length; either sizes the body's buffer) */
    uint8_t has_length;
    uint8_t body;                /* a body follows on this message that the entry will feed */
    uint8_t oversized;           /* the head was reduced to fit (http_head_stream.h) */
    uint8_t keep;                /* response: more of the message follows that the entry must
                                    see (HTTP/2 trailers): t stays open even with no body */
    const struct token_field *fields; /* the head's fields in message order */
    size_t nfields;
    uint64_t *tx_counter;        /* request: the protocol's transaction counter in s->st
                                    (stats.app_layer.tx.<proto>), or NULL */
};

/* Opens a transaction for a request head the flow's client sent: copies what EVE prints,
 * judges the tokens of its fields and target, starts collecting its body when worth scanning
 * (then the entry feeds it with app_tx_body), and queues it. Returns the transaction while it
 * is in flight; NULL when none could be made, or when the memcap had it written at once
 * (without a status). */
struct tx *app_tx_request(struct app_ctx *c, const struct app_head *h);

/* The response head of t, which the entry has taken off the queue or holds: the status and
 * content type for EVE; a request body still being collected is scanned as far as it came; the
 * response body is collected when worth scanning. Returns 1 when it is, or when h->keep: t
 * stays open for the entry to feed and close; 0 when t was closed (written and recycled) here. */
int app_tx_response(struct app_ctx *c, struct tx *t, const struct app_head *h);

/* The oldest transaction in flight, or NULL. */
static inline struct tx *app_tx_oldest(const struct app_flow *app)
{
    return app->q_head;
}

/* Takes the oldest transaction off the queue (its response has begun): the entry holds it from
 * then on and must close it. NULL when nothing is in flight. */
struct tx *app_tx_take(struct app_flow *app);

/* Whether t's body `which` (TX_REQUEST/TX_RESPONSE) is being collected. */
static inline int app_tx_collecting(const struct tx *t, int which)
{
    return t->body_kind[which] != 0;
}

/* Body bytes of t's message `which`, decoded of any transfer framing (chunks, frames): appended
 * to what is collected, up to the body limit. */
static inline void app_tx_body(struct tx *t, int which, const uint8_t *p, size_t n)
{
    if (n)
        body_feed(&t->body[which], p, n);
}

/* The entry's word on whether the server took t's credentials, when the status does not say
 * it (gRPC answers 200 and puts its verdict in the trailers); before t is closed. */
static inline void app_tx_set_outcome(struct tx *t, enum tx_outcome o)
{
    t->outcome = (uint8_t)o;
}

/* t's body `which` has ended, or can no longer be followed: scans what came of it (tokens; a
 * response may be a key set document, written as a `keyset` record) and frees it. Nothing when
 * the body was not being collected. */
void app_tx_body_end(struct app_ctx *c, struct tx *t, int which);

/* Closes t: scans a body still being collected as far as it came, writes its records (token or
 * alert per token, http) and recycles it. Unqueues it if queued, and tells the flow's entry to
 * forget it (ops->forget) so no pointer to it survives. */
void app_tx_close(struct app_ctx *c, struct tx *t);
/* A worker's pending replay checks before it waits for the answers: each holds its token's
 * records twice (a few KiB), so this bounds that memory per worker (~16 MiB); workers far apart
 * enough to reach it wait as the older gate made every check wait. */
#define REPLAY_DEFER_MAX 4096

/* Closes every transaction in flight, oldest first, without a status when none came: a lost
 * response, or the flow's end. */
void app_tx_flush(struct app_ctx *c);

/* A copy of t's http object as answered by `status`, for the transactions of the protocol the
 * connection switched to (struct app_handover); NULL when engine.http-memcap has no room
 * (counted). Freed with app_tx_origin_free. */
struct tx_origin *app_tx_origin(struct app_ctx *c, const struct tx *t, int status);
void app_tx_origin_free(struct app_ctx *c, struct tx_origin *o);

/* One message of a protocol that carries credentials inside its messages (WebSocket): the
 * tokens of msg read as JSON (token_scan_json_auth) at `loc`, sent by the server when `server`,
 * are judged and written at once as the records (token, alert) of a transaction of their own:
 * a new tx_id, the http object of `o` (NULL: none), token.accepted unknown, and no `http`
 * record, since it is no HTTP transaction. A message without a token writes nothing and takes
 * no tx_id. Returns the number of tokens. */
size_t app_tx_message(struct app_ctx *c, const struct tx_origin *o, struct span msg,
                      enum token_location loc, int server);

/* Releases the recycled transaction pool (sensor teardown). */
void app_tx_free_pool(struct sensor *s);

/* Anomalies this layer writes (`anomaly` records), with Suricata's names: stream events and
 * libhtp's HTTP events, Suricata's http2 events. One of each kind per flow and direction at most,
 * so that hostile traffic cannot multiply output. A new protocol adds its kinds here (anom_sent
 * has 32 bits). */
enum anomaly_kind {
    AN_GAP, AN_OVERLAP, AN_REQ_HEAD, AN_RESP_HEAD, AN_REQ_TOO_LONG, AN_RESP_TOO_LONG,
    AN_REQ_CHUNK, AN_RESP_CHUNK, AN_NO_REQUEST, AN_BOMB,
    /* HTTP/2 (app_http2*.c) */
    AN_H2_FRAME_HEADER, AN_H2_CLIENT_MAGIC, AN_H2_FRAME_DATA, AN_H2_HEADER, AN_H2_FRAME_LENGTH,
    AN_H2_LONG_FRAME, AN_H2_STREAM_REUSE, AN_H2_TOO_MANY_STREAMS, AN_H2_REASSEMBLY_LIMIT,
    AN_H2_HTTP1_SETTINGS,
    AN__COUNT
};

/* Writes one `anomaly` record of this kind for direction `side`, unless one was already. */
void app_anomaly(struct app_ctx *c, int side, enum anomaly_kind kind);

/* Room left under engine.http-memcap. */
static inline size_t app_mem_room(const struct sensor *s)
{
    return s->app_mem < s->cfg->http_memcap ? (size_t)(s->cfg->http_memcap - s->app_mem) : 0;
}

#endif
