/* applayer.h — the application layer of one flow, between reassembly and EVE.
 *
 * Pipeline: stream ─► [applayer: protocol entry ─► transactions] ─► token scan ─► verdict ─►
 * eve. Owns each flow's two stream directions, the protocol entry chosen for it by content
 * (HTTP/1 today: sensor/app/app_proto.h is the contract an entry keeps) with that entry's
 * framing state, and the transactions in flight (so an alert can carry http.status). A
 * transaction's records are written when it completes (its response head, or its response body
 * when that is scanned), or when the flow ends.
 */
#ifndef TW_APPLAYER_H
#define TW_APPLAYER_H

#include "flow.h"
#include "sensor_ctx.h"

/* Feeds a decoded TCP packet of flow f, sent by `side`, through reassembly and its protocol. */
void applayer_packet(struct sensor *s, struct flow *f, int side, const struct packet *pkt);

/* The flow is going away: flush reassembly, write pending transactions, free the app state. */
void applayer_flow_end(struct sensor *s, struct flow *f, const char *reason);

/* Bytes one flow's application state takes at most besides struct flow (charged against the
 * flow memcap): the stream, entry and transaction state plus nDPI's while it inspects. */
size_t applayer_flow_state_size(void);

/* Releases the recycled transaction pool. */
void applayer_free_pool(struct sensor *s);

/* Reading files with -j N: counts and writes the records of this worker's token_replay checks
 * answered since (replay_defer.h), oldest first; a worker calls it between packets (app_tx.c). */
void app_tx_release_replay(struct sensor *s);

/* The fleet (fleet.h), app_fleet.c. app_fleet_drain: writes the alerts of the answers that
 * came back for s. app_fleet_settle: end of the run, waits (until deadline_ns, monotonic) for
 * the answers to s's requests and writes them; what did not come is dropped. app_fleet_wait:
 * the same wait and writing, nothing dropped (before the flows are written: their `alerted`).
 * app_fleet_discard: frees answers unwritten. */
void app_fleet_drain(struct sensor *s);
void app_fleet_settle(struct sensor *s, uint64_t deadline_ns);
void app_fleet_wait(struct sensor *s, uint64_t deadline_ns);
void app_fleet_discard(struct sensor *s);

#endif
