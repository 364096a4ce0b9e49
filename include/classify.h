/* classify.h — flow classification with nDPI (Debian's libndpi): what protocol a flow speaks,
 * whatever its port.
 *
 * Pipeline: flow ─► [classify] ─► stream/applayer. Owns one nDPI detection module per worker
 * and, per flow, nDPI's flow state only until the flow is classified (or given up on after a few
 * packets): then the state is freed and only the two protocol ids are kept, so a classified flow
 * costs a few bytes. nDPI is fed the first packets of each flow, both directions, at layer 3.
 * Its answer names the flow in the records (app_proto); it never decides what is parsed.
 */
#ifndef TW_CLASSIFY_H
#define TW_CLASSIFY_H

#include <stdint.h>

#include "decode.h"
#include "flow.h"

#define CLASSIFY_MAX_PACKETS 24 /* packets fed before giving up (and guessing by port) */

struct classify;

struct classify_flow {
    void *state;              /* nDPI flow state while inspecting, else NULL */
    uint16_t master, app;     /* nDPI protocol ids (0 = unknown) */
    uint16_t category;
    uint8_t packets;          /* packets fed */
    uint8_t done;             /* classification final: nDPI is not called again */
    uint32_t mem;             /* payload bytes fed to nDPI, charged to the flow memcap */
};

/* What one flow's nDPI state costs at most while inspecting: nDPI's flow struct plus an
 * allowance for the TLS reassembly buffer nDPI allocates inside it (~2 KiB). */
size_t classify_flow_state_size(void);

/* NULL when nDPI cannot be initialised (out of memory). */
struct classify *classify_new(void);
void classify_free(struct classify *c);

/* Feeds one packet of the flow (pkt->l3 set by decode) at packet time ts_us, unless the flow is
 * done; returns 1 when this call made the classification final (packets beyond
 * CLASSIFY_MAX_PACKETS end it with nDPI's give-up guess). What nDPI may keep of pkt is charged
 * to f's owner state in ft while it inspects: nDPI holds payload it was fed (its TLS dissector grows a buffer up to every byte of
 * it) until it decides, so each fed packet's payload is charged (flow_charge: may evict other
 * flows), and all of it released once cf->done. A charge the memcap refuses ends inspection
 * undecided (counted in the flow table's stats.memcap); returns 1 then, as on a decision. */
int classify_packet_charged(struct classify *c, struct classify_flow *cf, struct flow_table *ft,
                            struct flow *f, const struct packet *pkt, uint64_t ts_us);

/* Ends inspection now (flow teardown, or the caller has seen enough): frees nDPI's state. */
void classify_flow_release(struct classify *c, struct classify_flow *cf);

/* Ends inspection now with nDPI's give-up guess (as after CLASSIFY_MAX_PACKETS), releasing what
 * was charged to f's owner state in ft: for a flow whose protocol nDPI cannot name (cleartext
 * HTTP/2) and would otherwise inspect to the limit. Nothing when already done. */
void classify_giveup(struct classify *c, struct classify_flow *cf, struct flow_table *ft,
                     struct flow *f);

/* Names for EVE: "HTTP", "TLS", "HTTP.Google"...; nDPI's category name ("Web"...). Write into buf
 * (NUL-terminated). The protocol name is empty while unknown. */
void classify_proto_name(struct classify *c, const struct classify_flow *cf, char *buf,
                         size_t buflen);
const char *classify_category_name(struct classify *c, const struct classify_flow *cf);

#endif
