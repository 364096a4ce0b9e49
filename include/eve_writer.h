/* eve_writer.h — one worker's EVE writer: the state every EVE record is built with (eve.h).
 *
 * Pipeline: verdict ─► [eve] ─► outputs; this is the object the eve stage runs on. Owns the
 * record under construction and the capture file names; borrows the outputs, the owner's packet
 * clock and the sensor name and tags. Kept apart from eve.h so that its owner (struct sensor)
 * can embed it without taking in what records are made of (tokens, verdicts, flows).
 */
#ifndef TW_EVE_WRITER_H
#define TW_EVE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "jb.h"

struct flow;
struct output;

#define EVE_ANOM_SLOTS 16 /* decode anomaly events remembered for the rate limit */

/* The owner (struct sensor) embeds it, sets it up with eve_writer_init(), keeps the capture
 * context and the packet fields current, and tears it down with eve_writer_reset(). Not shared
 * between threads.
 *
 *   what it writes to and stamps on every record (set once by the owner, borrowed):
 *     outputs[0..noutputs), types, host, tags, now_us
 *   the capture (owner-set): in_iface (live) or pcap_names[pcap_index] (offline, owned here)
 *   the packet being processed (set by the pipeline, valid during that packet only):
 *     pcap_cnt, pkt_eth, pkt_flow, pkt_side
 *   its own: the record under construction (jb), the timestamp cache, the anomaly rate limit
 */
/* Records held back instead of written (eve_writer.hold): each with the output it was for. A
 * token record whose token_replay answer is not known yet is rendered both ways into two holds
 * and one of them is written once it is (reading files with -j N: include/replay_defer.h). */
struct eve_hold {
    char *buf;                         /* entries: uint32 output index, uint32 length, bytes */
    size_t len, cap;
};

/* A token's records with one finding more, derived later from its token record instead of
 * rendered a second time (reading files with -j N: a token with no finding whose
 * token_replay answer is pending gets this and one hold, not two holds). Filled by
 * eve_write_token() while eve_writer.lazy points at it; written by eve_lazy_write() (eve.h). */
struct eve_lazy {
    char *rec[2];                      /* the token record for plain [0] and raw [1] outputs */
    uint32_t len[2];
    uint32_t at_type[2];               /* the event_type value's 5 letters ("token") */
    uint32_t at_alert[2];              /* after tx_id: where an alert record's `alert` goes */
    uint32_t at_finding[2];            /* inside the empty "findings":[] */
    uint8_t need, have;                /* raw classes that have outputs / whose record is kept */
    uint8_t first, ether, ether_swap;  /* first in its flow; the record's MACs (rec_ether) */
    int8_t accepted;
    uint8_t eth[12];
};

struct eve_writer {
    struct jb jb;                      /* the record under construction */
    struct eve_hold *hold;             /* not NULL: records go there, not to the outputs */
    struct eve_lazy *lazy;             /* not NULL: eve_write_token keeps its token records */
    uint32_t mark_alert, mark_finding; /* where token_record() put tx_id's end, the findings */
    struct output *outputs;            /* borrowed: the owner opens, settles and closes them */
    size_t noutputs;
    uint32_t types;                    /* union of the outputs' types (EVE_T_*) */
    const char *host;                  /* sensor-name: every record's `host`, or NULL */
    char *const *tags;                 /* sensor-tags: alert.metadata.tags */
    size_t ntags;
    const uint64_t *now_us;            /* the owner's packet clock: flow and anomaly records */
    /* capture context for the common fields */
    const char *in_iface;              /* live: interface name (borrowed), else NULL */
    char **pcap_names;                 /* offline: every file name seen, by index (owned) */
    size_t npcap_names;
    uint32_t pcap_index;               /* the current file's index in pcap_names */
    /* The packet being processed, for pcap_cnt and ether. */
    uint64_t pcap_cnt;                 /* offline: the packet's number in its file, from 1 */
    uint32_t pcap_cnt_file;            /* the pcap_index pcap_cnt counts in */
    const uint8_t *pkt_eth;            /* its Ethernet header (dest MAC, src MAC), or NULL */
    const struct flow *pkt_flow;       /* its flow once looked up, else NULL */
    uint8_t pkt_side;                  /* the side of pkt_flow that sent it */
    /* The record being built. */
    uint8_t rec_ether, rec_ether_swap; /* the record gets pkt_eth's MACs, swapped to client */
    uint64_t tcache_sec;               /* timestamps: the second last formatted ... */
    char tcache[32];                   /* ... as "YYYY-MM-DDTHH:MM:SS." */
    uint64_t anom_sec[EVE_ANOM_SLOTS]; /* decode anomalies written: per event, the second */
    uint16_t anom_event[EVE_ANOM_SLOTS]; /* enum event_id of each slot, EV_NONE (0): free */
    uint64_t anom_count_sec, anom_count; /* ... and how many in that second (all events) */
};

/* Empties w and gives its builder memory; now_us is the owner's clock (read, never written).
 * The outputs, host and tags are set with eve_writer_set_outputs() and directly. */
void eve_writer_init(struct eve_writer *w, const uint64_t *now_us);
/* Borrows the outputs records go to (the owner keeps them open while records are written) and
 * derives `types` from their configurations. */
void eve_writer_set_outputs(struct eve_writer *w, struct output *outputs, size_t noutputs);
/* Starts a new capture file (offline): later flows and packets name it. The name is copied;
 * on allocation failure the file is not added and records go on naming the previous one. */
void eve_writer_add_pcap(struct eve_writer *w, const char *name);
/* Frees what w owns (builder, file names); the outputs stay the owner's. */
void eve_writer_reset(struct eve_writer *w);
/* Writes what h holds to w's outputs, in the order it was held, then empties it. (A record
 * that found no memory in the hold was counted in its output's errors then.) */
void eve_hold_release(struct eve_writer *w, struct eve_hold *h);
/* As eve_hold_release(), each record extended by `extra` (top-level members, "\"a\":1")
 * before its closing brace. */
void eve_hold_release_with(struct eve_writer *w, struct eve_hold *h, const char *extra,
                           size_t extra_len);
/* Empties h without writing it. */
void eve_hold_free(struct eve_hold *h);
/* Frees what lz kept and empties it (its own memory is the caller's). */
void eve_lazy_reset(struct eve_lazy *lz);

#endif
