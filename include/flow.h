/* flow.h — the flow table: one entry per TCP connection, both directions to one flow.
 *
 * Pipeline: decode ─► [flow] ─► stream. Owns every flow and, through the on_free callback, the
 * stream and application state hanging off it (DESIGN "Ownership" 2). Keyed SipHash over the
 * canonical 5-tuple (plus VLAN ids); a memcap on the number of bytes flows take; idle timeouts
 * driven by packet time, never the wall clock.
 *
 * Sides: a flow's two endpoints are side 0 (`a`) and side 1 (`b`) in canonical order (the
 * lower address/port pair first). `client` says which side is the client: the sender of a SYN,
 * the receiver of a SYN+ACK, otherwise provisionally the first sender; the application layer may
 * correct it (flow_set_client) when the other side turns out to send the requests.
 *
 * Port reuse: a SYN (without ACK) on a 5-tuple whose flow is closed, or has seen a FIN, or whose
 * client sent a SYN with another initial sequence number (or, picked up mid-stream, whose known
 * client sends a SYN) begins a new connection: the old flow is ended first (on_free, "reuse").
 */
#ifndef TW_FLOW_H
#define TW_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

struct flow_key {
    uint8_t addr[2][16];
    uint16_t port[2];
    uint16_t vlan[DECODE_MAX_VLAN];
    uint8_t vlan_count;
    uint8_t ip_version;
    uint8_t proto;
};

struct flow {
    struct flow *hnext;              /* bucket chain */
    struct flow *older, *newer;      /* idle list, least recently seen first */
    struct flow_key key;
    uint64_t hash;
    uint64_t flow_id;                /* Suricata-style: positive 51-bit id, unique per table */
    uint64_t first_us, last_us;      /* packet time, microseconds */
    uint64_t pkts[2], bytes[2];      /* per side */
    uint8_t client;                  /* side index of the client */
    uint8_t client_known;            /* 1 once a SYN/SYN+ACK or a request decided it */
    uint8_t closed;                  /* both FINs or a RST seen: expires after a short timeout */
    uint32_t pcap_file;              /* index of the capture file the flow started in */
    void *app;                       /* stream + app-layer state, owned via the on_free callback */
    uint32_t syn_isn;                /* sequence number of the first SYN (no ACK), if syn_seen */
    uint8_t syn_seen, syn_side;      /* ... and the side that sent it */
    uint8_t fin_seen;                /* bit (1 << side) once that side sent a FIN */
    uint32_t charged;                /* bytes of owner state charged beyond the fixed cost */
};

/* Called before a flow is freed (timeout, memcap eviction, port reuse, table teardown): the owner
 * writes pending events and releases f->app. `reason` is "timeout", "memcap", "closed",
 * "reuse" or "shutdown". */
typedef void (*flow_free_fn)(void *user, struct flow *f, const char *reason);

struct flow_stats {
    uint64_t total;         /* flows created */
    uint64_t active;
    uint64_t memcap;        /* flows not created or evicted because of the memcap */
    uint64_t timed_out;
    uint64_t reused;        /* flows ended by a new connection on their 5-tuple (port reuse) */
};

struct flow_table;

/* memcap: bytes the table may use for flows and buckets; timeout_s: idle timeout for open flows;
 * closed_timeout_s for closed ones. seed: SipHash key (16 bytes, copied). NULL on no memory. */
struct flow_table *flow_table_new(size_t memcap, uint32_t timeout_s, uint32_t closed_timeout_s,
                                  const uint8_t seed[16], flow_free_fn on_free, void *user);
/* Bytes of owner state (what f->app holds) to charge against the memcap with every flow, on top
 * of struct flow itself, so that the memcap bounds the whole per-flow footprint. Takes effect
 * only while the table holds no flow (call it right after flow_table_new): 0, or -1 if flows
 * exist. The default is 0. */
int flow_table_set_state_size(struct flow_table *ft, size_t bytes);

/* Charges `delta` more bytes (negative: fewer) of f's owner state against the memcap, for state
 * that grows with traffic (nDPI's buffers). To make room it evicts the least recently seen other
 * flows (closed ones first; on_free is called for each, never for f), at most a few per call.
 * 0 when charged; -1, with nothing charged, when the memcap still has no room (counted in
 * stats.memcap): the owner then must not grow the state. A release (delta <= 0) always
 * succeeds. Whatever is still charged is released with the flow. */
int flow_charge(struct flow_table *ft, struct flow *f, long delta);

/* Frees every flow (calling on_free with "shutdown"), then the table. */
void flow_table_free(struct flow_table *ft);

/* The flow of a decoded TCP packet, created if absent (or replaced, on port reuse: see above).
 * *side is set to the side index (0/1) of the packet's sender. Updates last_us, counters, and
 * the client side from SYN/SYN+ACK.
 * NULL when a new flow cannot be made within the memcap even after evicting the least recently
 * seen flow (counted in stats.memcap). */
struct flow *flow_lookup(struct flow_table *ft, const struct packet *pkt, uint64_t now_us,
                         int *side);

/* The table's flow of key k, or NULL; touches nothing (no counters, no idle order). For
 * answers that come after their packet (the fleet's): the caller checks flow_id, since the
 * 5-tuple may carry a newer connection by then. */
struct flow *flow_find(struct flow_table *ft, const struct flow_key *k);

/* Declares `side` the client (the application layer saw it send a request). */
void flow_set_client(struct flow *f, int side);

/* Marks a flow closed (FIN both ways, or RST): it expires after closed_timeout_s. */
void flow_mark_closed(struct flow_table *ft, struct flow *f);

/* Expires flows idle past their timeout at packet time now_us (calls on_free, "timeout" or
 * "closed"). Cheap when nothing is due: call it once per packet or per batch. */
void flow_expire(struct flow_table *ft, uint64_t now_us);

/* The smallest packet time at which flow_expire() would end a flow the table holds now,
 * UINT64_MAX when it holds none (offline -j N: the reader's clock ticks). */
uint64_t flow_next_due(const struct flow_table *ft);

const struct flow_stats *flow_table_stats(const struct flow_table *ft);

/* Community ID v1 (seed 0) for the flow, "1:<base64>", client side as the originator;
 * buf needs at least 40 bytes. */
void flow_community_id(const struct flow *f, char *buf, size_t buflen);

#endif
