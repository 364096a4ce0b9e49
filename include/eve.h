/* eve.h — Suricata-style EVE records (SPEC §3): alert, token, http, stats, flow, anomaly.
 *
 * Pipeline: verdict ─► [eve] ─► outputs. A worker's EVE writer (struct eve_writer) builds each
 * record once in its JSON builder and hands it to every output whose `types` include it. Raw
 * token text is added only for outputs with `raw-tokens: yes`. The writer is handed what it
 * writes (a flow, a transaction's http fields, a verdict, a counters snapshot); it knows nothing
 * of the worker that owns it.
 */
#ifndef TW_EVE_H
#define TW_EVE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "eve_writer.h"
#include "events.h"
#include "flow.h"
#include "jb.h"
#include "policy.h"
#include "token.h"

struct sensor_counters;

/* What an HTTP/2 stream adds to its http object (http.http2, Suricata 7's members): per message
 * ([0] the request, [1] the response) the settings its sender announced before it, the error
 * code of a RST_STREAM or GOAWAY that ended it, the request's priority weight. */
#define EVE_H2_SETTINGS 10
struct eve_h2_msg {
    uint16_t set_id[EVE_H2_SETTINGS]; /* RFC 9113 §6.5.2 identifiers */
    uint32_t set_val[EVE_H2_SETTINGS];
    uint8_t nset;
    uint8_t has_error, error_goaway; /* error_code set; it came in a GOAWAY (else RST_STREAM) */
    uint8_t multiple;                /* a second error code or priority came (has_multiple) */
    uint32_t error_code;
    int16_t priority;                /* the weight as sent (0..255), -1: none */
};

struct eve_http2 {
    uint32_t stream_id;
    struct eve_h2_msg msg[2];
};

/* The http object of one transaction; strings NUL-terminated or NULL; status 0 = not seen. */
struct eve_http {
    const char *hostname, *url, *method, *protocol, *user_agent, *content_type;
    int status;
    uint64_t length;
    int has_length;
    int head_oversized; /* a head over engine.http-max-head, read streamed (ours, not SPEC) */
    const struct eve_http2 *http2; /* an HTTP/2 stream's members, or NULL */
};

/* The members every record of one flow shares (flow_id, pcap_filename, vlan, addresses, ports,
 * proto, community_id, app_proto), rendered once per flow: the owner (the flow's app state)
 * zero-initialises it and releases it with eve_prefix_release(). */
struct eve_prefix {
    char *buf;
    size_t len;
    int client;          /* the client side it was rendered for; re-rendered if the flow's changes */
    /* Set by the owner before writing a record; a change re-renders the prefix. */
    char ndpi_proto[48]; /* nDPI's protocol name, "" while unknown */
    const char *ndpi_category;
    char rendered_proto[48];
    const char *app_proto;          /* EVE app_proto ("http", "http2"; NULL: "http"): the entry
                                       parsing the flow; a change re-renders the prefix */
    const char *rendered_app;
    /* The outermost encapsulation the flow arrived in (tunnel_depth 0: none), noted as
     * Suricata's `tunnel` object. Set by the owner when the flow starts. */
    struct packet_tunnel tunnel;
    uint8_t tunnel_depth;
};

void eve_prefix_release(struct eve_prefix *p);

/* The `http` object of a record (Suricata's names), appended to j. */
void eve_http_object(struct jb *j, const struct eve_http *h);

/* One token occurrence: writes `token` (per token-events) and, with findings, `alert`.
 * accepted: -1 no response seen, else whether the status was 2xx/3xx (token.accepted; a
 * severity-1 alert that was accepted says so in its signature text). */
void eve_write_token(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                     uint64_t ts_us, uint64_t tx_id, const struct eve_http *http,
                     struct verdict *v, enum token_location loc, uint32_t findings,
                     int first_in_flow, int accepted);

/* With w->lazy set (eve_writer.h) for a token with no finding: eve_write_token() also keeps a
 * copy of each token record it renders. Whether what it kept can make the token's records with
 * a finding added: every raw class that has outputs got its token record (not so when no
 * output of a class takes token records, token-events: first later in a flow, or no memory). */
int eve_lazy_complete(const struct eve_lazy *lz);
/* Writes, to the outputs, the records eve_write_token() would have written for that token
 * occurrence with finding `finding` (enum finding) as its only one: an `alert` and the `token`
 * record, each where eve_write_token would send it. lz must be complete. */
void eve_lazy_write(struct eve_writer *w, const struct eve_lazy *lz, int finding);

/* An alert about one token occurrence that the fleet (fleet.h) raised: as eve_write_token's
 * alert record, but for finding `top` (not necessarily among `findings`, which the token
 * object shows), its signature text followed by `note`, and `extra` (top-level members, e.g.
 * "\"fleet\":{...}", or NULL) appended. Written to the outputs that take alerts, or into
 * w->hold. */
void eve_write_fleet_alert(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                           uint64_t ts_us, uint64_t tx_id, const struct eve_http *http,
                           struct verdict *v, enum token_location loc, uint32_t findings,
                           int accepted, int top, const char *note, const char *extra,
                           size_t extra_len);

/* One HTTP transaction, for outputs with the http type. */
void eve_write_http(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                    uint64_t ts_us, uint64_t tx_id, const struct eve_http *http);

/* The `flow` record of a flow ending (flow.h's reason: timeout, closed, memcap, reuse,
 * shutdown, written as Suricata's timeout/forced/shutdown), with its packet and byte counts
 * client-relative. */
void eve_write_flow(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                    const char *reason, int alerted);

/* An `anomaly` record about flow f: {"app_proto"?, "type", "event", "layer"?}. The caller bounds
 * how many it writes (applayer: one per kind per flow and direction). */
void eve_write_anomaly(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
                       const char *type, const char *event, const char *layer,
                       const char *app_proto);

/* An `anomaly` record of type decode for the packet being processed, which decode found broken
 * for `event` (pkt->event); its name and layer are the events table's (events.h). Rate-limited:
 * one per event per second of packet time, 16 a second in all. */
void eve_anomaly_decode(struct eve_writer *w, enum event_id event, int linktype,
                        const uint8_t *data, uint32_t caplen);

/* The stats record at time ts_us of counters c (one worker's, or a sum over workers), through
 * w's outputs; stats.eve.outputs names w's outputs. Written by eve_stats.c. */
void eve_write_stats(struct eve_writer *w, uint64_t ts_us, const struct sensor_counters *c);

/* For record types defined elsewhere (eve_keyset.c, eve_stats.c): starts a record in w->jb with
 * the common fields (f and pfx may be NULL for records not about a flow) and leaves the
 * top-level object open; eve_emit() closes nothing: the caller closes the object, then calls it
 * to hand the record to every output whose types include `type` (EVE_T_*). */
void eve_begin(struct eve_writer *w, const struct flow *f, struct eve_prefix *pfx,
               uint64_t ts_us, const char *type);
void eve_emit(struct eve_writer *w, uint32_t type);

/* "2023-06-01T12:00:00.123456+0000" into buf (>= 32 bytes); a time past year 9999 as
 * 9999-12-31T23:59:59. */
void eve_format_time(uint64_t ts_us, char *buf, size_t buflen);

/* The token object (SPEC §3); raw adds token.raw. Renders the verdict's time-independent
 * members once and keeps them in v->json. */
void eve_token_object(struct jb *j, const char *key, struct verdict *v,
                      const char *location, uint32_t findings, int raw, int accepted);

#endif
