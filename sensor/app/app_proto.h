/* app_proto.h — the app layer's protocol entries: one table of operations per protocol, and
 * the registry that picks one per flow by content (private to sensor/app).
 *
 * Pipeline: stream ─► applayer ─► [entry: framing] ─► app_tx (token scan ─► verdict ─► eve).
 * An entry owns one flow's framing state (what a direction is in the middle of: a head, a body,
 * a frame) and turns bytes into transactions through app_tx.h; it writes nothing itself and
 * knows nothing of verdicts. The app layer (applayer.c) owns reassembly and calls the entry.
 * Adding a protocol is one file with its `const struct app_proto_ops` and one line in the
 * registry table (app_proto.c); never a port number (Zeek's DPD, Suricata's probing parsers).
 *
 * The contract
 *
 * Selection. A flow starts with the fallback entry (HTTP/1, which resynchronises on garbage by
 * itself) parsing and no entry having claimed it. On each delivery of bytes, in either
 * direction, while the flow is unclaimed, the probes run in table order over that delivery's
 * bytes: the first answer other than APP_PROBE_NO decides. CLIENT/SERVER: the entry claims the
 * flow, and the answer names its client if no SYN did. YES: claimed, roles as the flow has them
 * (an entry answers YES only when told the client is known). MORE: nothing is claimed yet, and
 * later entries are not asked; the delivery is held back (up to APP_PROBE_HOLD bytes of the
 * direction) and probed again joined to the next one, so a start split across segments (the
 * HTTP/2 preface sent a byte at a time) is seen whole. While unclaimed, the bytes go to the
 * fallback: those held first, once the probes say NO, or the hold is full, or the direction
 * ends or has a hole. When the claiming entry is not the one parsing, the parsing one's
 * state is reset (what it held is dropped) and the claimer's initialised before it parses.
 *
 * Opaque flows. Whatever the entries say, the first bytes of each direction are also checked by
 * app_proto_opaque: a TLS ClientHello (from the client) or ServerHello (from the server), or an
 * SSH banner, before any transaction was opened, and no entry parses the flow any more (nor is
 * it reassembled). Nothing else stops the parsers: nDPI only names the flow for the records,
 * whatever it says and however it decided (a guess by port above all), so an HTTP request on
 * port 443 is parsed like one on port 80.
 *
 * State. `state_size` bytes (at most APP_PROTO_STATE_SIZE) inside the flow's app state
 * (app_flow.proto_state), zeroed, handed to init; reset closes the transactions the entry
 * holds and releases whatever init or parse allocated. Neither is called per packet.
 *
 * Bytes. parse gets each direction's bytes in order, once each, after reassembly; a hole in the
 * capture comes as gap(len) instead (the app layer has written the `stream` anomaly). The entry
 * returns how much of the delivery it consumed: all of it (keeping what it needs of an
 * incomplete unit in its own state), unless it asked for a switch (below). All accounting
 * against engine.http-memcap (s->app_mem) of what the entry holds is its own.
 *
 * Transactions. The entry opens them (app_tx_request), feeds their bodies, answers them
 * (app_tx_response) and closes them; several may be in flight at once (pipelining, streams).
 * The app layer may close a queued one on its own (memcap, too many in flight, app_tx_flush).
 * Whoever closes t, app_tx_close calls forget(t) before t is recycled: from then on the entry
 * holds no pointer to t.
 *
 * End of a direction and of the flow. eof(side, 0) when a direction ends (FIN, or a RST, which
 * ends both): what it was sending is complete (a body delimited by the connection's end).
 * When the flow goes away: for each direction in turn its last bytes (parse), then eof(side, 1):
 * complete what it was sending and release what the entry holds for that direction. Then the
 * app layer closes every transaction still queued (app_tx_flush, oldest first) and calls reset.
 * So every open transaction is reached: the entry closes those it holds by its eof, the app
 * layer the queued ones.
 *
 * Switching protocols. An entry that sees the connection change protocol (101 Switching
 * Protocols to h2c or WebSocket; a 2xx answer to CONNECT, after which the bytes are an inner
 * connection) calls applayer_switch(c, to) from parse, closes or hands over what it must, and
 * returns the number of bytes of the delivery that were still its own. What it hands the next
 * entry goes in c->ho (struct app_handover, app_tx.h): bytes of the other direction it held
 * for the new protocol (a client sends them before the answer is parsed: directions are
 * delivered independently), the switching transaction's http object, the extension a 101
 * agreed. The app layer then resets the entry, initialises `to` (which takes from c->ho what
 * it wants; the app layer releases the rest), delivers the held bytes as the other direction's
 * first bytes for `to`, then the rest of this delivery; the other direction's later bytes go to
 * the new entry too. The flow, its transaction ids and its EVE prefix go on.
 *   h2c: the upgrade request stays queued, marked in tx.h2c, and HTTP/2's init adopts it as
 * stream 1. Its client is not held (HTTP/2's preface, when it comes before the 101, is itself
 * the switch), and the 101 that then reaches HTTP/2's entry is skipped there.
 *   `to` NULL: the bytes after the switch are a new connection inside this one (a CONNECT
 * tunnel): the unclaimed state, so the probes pick the inner protocol as on a new flow, and the
 * start of each direction from here on is checked by app_proto_opaque as a flow's first bytes
 * are (a TLS session inside the tunnel is left alone; earlier transactions do not count).
 *   `to` &app_ignore_ops: a protocol no entry reads (a 101 to anything unknown): its bytes are
 * consumed and ignored, so they raise no HTTP anomaly.
 */
#ifndef TW_APP_PROTO_H
#define TW_APP_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* An entry works with these through app_tx.h; the contract itself needs only their names, so
 * that app_tx.c can call an entry back (forget) without a loop between the two headers. */
struct app_ctx;
struct app_flow;
struct tx;

enum app_probe {
    APP_PROBE_NO = 0,  /* not this protocol (on these bytes) */
    APP_PROBE_MORE,    /* cannot tell yet: ask again with the next delivery */
    APP_PROBE_CLIENT,  /* this protocol, and the sender is its client */
    APP_PROBE_SERVER,  /* this protocol, and the sender is its server */
    APP_PROBE_YES,     /* this protocol, sender's role not shown (the client is known) */
};

struct app_proto_ops {
    const char *name;    /* "http1", for people reading a debugger or a log */
    const char *app_proto; /* EVE app_proto of the flow's records while it parses ("http",
                              "http2"); NULL: the flow's keeps what it was */
    uint8_t ndpi_packets;  /* nDPI gives up (with its guess) once it has had this many packets
                              of a flow this entry parses; 0: CLASSIFY_MAX_PACKETS. For a
                              protocol nDPI cannot name, which it would inspect to the limit */
    size_t state_size;   /* bytes of per-flow state, <= APP_PROTO_STATE_SIZE */

    /* Looks at the first bytes `p[0..n)` a direction sent on an unclaimed flow; client_known:
     * the flow's client was named by a SYN. Pure: no state, no allocation. */
    enum app_probe (*probe)(const uint8_t *p, size_t n, int client_known);

    /* Per-flow state: st is state_size zeroed bytes. init cannot fail (an entry that allocates
     * and cannot, parses nothing and says so in a counter); reset frees and may be called on a
     * state whose init was not followed by any parse. */
    void (*init)(struct app_ctx *c, void *st);
    void (*reset)(struct app_ctx *c, void *st);

    /* Bytes p[0..n) of direction `side`, in order; returns how many were the entry's (n unless
     * it called applayer_switch). */
    size_t (*parse)(struct app_ctx *c, void *st, int side, const uint8_t *p, size_t n);

    /* `len` bytes of direction `side` are missing from the capture. */
    void (*gap)(struct app_ctx *c, void *st, int side, size_t len);

    /* Direction `side` ended; final: the flow is going away (release that direction). */
    void (*eof)(struct app_ctx *c, void *st, int side, int final);

    /* t is being closed (by the entry or by the app layer): drop every pointer to it. */
    void (*forget)(struct app_ctx *c, void *st, struct tx *t);
};

/* The registry (app_proto.c). */
extern const struct app_proto_ops *const app_proto_table[];
extern const struct app_proto_ops *const app_proto_fallback;

/* The entries, one file each. */
extern const struct app_proto_ops app_http1_ops;
extern const struct app_proto_ops app_http2_ops;
extern const struct app_proto_ops app_ws_ops;     /* WebSocket: only by a 101 (never probed) */

/* Reads nothing, never claims a flow: the entry of a connection switched to a protocol we do
 * not know (app_proto.c). */
extern const struct app_proto_ops app_ignore_ops;

/* Runs the probes of the table over a delivery of an unclaimed flow. Returns the entry that
 * claims the flow and sets *role (APP_PROBE_CLIENT/SERVER/YES), or NULL when none does yet
 * (*role APP_PROBE_MORE when an entry asked to see more). */
const struct app_proto_ops *app_proto_probe(const uint8_t *p, size_t n, int client_known,
                                            enum app_probe *role);

/* The first bytes p[0..n) of a direction (n may be short) start a TLS or SSH session, whose
 * bytes are for no entry: APP_PROBE_CLIENT (a ClientHello: the sender is the client),
 * APP_PROBE_SERVER (a ServerHello), APP_PROBE_YES (an SSH banner, which both sides send);
 * APP_PROBE_MORE: what there is could still be one (ask again with at least
 * APP_PROTO_OPAQUE_HEAD bytes); APP_PROBE_NO: not one. Pure, and reads at most
 * APP_PROTO_OPAQUE_HEAD bytes. */
#define APP_PROTO_OPAQUE_HEAD 8
#define APP_PROBE_HOLD 32
enum app_probe app_proto_opaque(const uint8_t *p, size_t n);

/* From inside an entry's parse: the connection changes protocol after the bytes parse says it
 * consumed (see "Switching protocols" above), with what the entry put in c->ho. `to` NULL:
 * probe the rest as a new connection (its directions' starts checked by app_proto_opaque). */
void applayer_switch(struct app_ctx *c, const struct app_proto_ops *to);

#endif
