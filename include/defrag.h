/* defrag.h — IPv4 and IPv6 fragment reassembly (RFC 791 §3.2, RFC 8200 §4.5, RFC 5722).
 *
 * Pipeline: decode ─► [defrag] ─► decode_ip (the reassembled datagram) ─► flow. Owns the
 * fragments it holds, under a memcap, in a table keyed by SipHash over (version, src, dst, id,
 * VLANs, and proto for IPv4 only: RFC 8200 §4.5 lets IPv6 fragments' Next Header differ) so a
 * flood cannot target one bucket. Datagrams that do not complete within the timeout (packet
 * time) are dropped and counted. Overlaps: the first copy of each byte wins (the policy Suricata
 * calls "first", which most end hosts' stacks approximate); an overlap whose bytes differ is counted as an anomaly (RFC 5722 says IPv6 overlaps must drop the whole datagram: IPv6
 * datagrams with overlaps are dropped and counted).
 */
#ifndef TW_DEFRAG_H
#define TW_DEFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* Per IP version, as Suricata counts them (stats.defrag.ipv4.* / ipv6.*). */
struct defrag_ip_stats {
    uint64_t fragments;        /* fragments seen (atomic ones apart: see `atomic`) */
    uint64_t reassembled;      /* datagrams completed from fragments */
    uint64_t timeouts;         /* datagrams dropped incomplete at their timeout */
};

struct defrag_stats {
    struct defrag_ip_stats ipv4, ipv6;
    uint64_t atomic;           /* atomic fragments (RFC 6946: offset 0, no MF), each a datagram
                                  by itself; Suricata decodes them in place, counting neither a
                                  fragment nor a reassembly, so neither do `ipv4`/`ipv6` */
    uint64_t memcap_drops;     /* fragments dropped at the memcap */
    uint64_t overlaps;         /* fragments overlapping held data */
    uint64_t overlap_diff;     /* ... whose overlapping bytes differed (anomaly) */
    uint64_t invalid;          /* too large (> 65535), inconsistent last fragment, IPv6 overlap */
};

struct defrag;

/* memcap: bytes held across all datagrams (data plus per-fragment overhead); timeout_s in packet
 * time; seed: SipHash key (16 bytes, copied). NULL on no memory. */
struct defrag *defrag_new(size_t memcap, uint32_t timeout_s, const uint8_t seed[16]);
void defrag_free(struct defrag *d);

/* Adds one fragment (from a DECODE_FRAGMENT packet) at packet time now_us. When it completes a
 * datagram, returns 1 and sets *out and *out_len to the whole reassembled IP datagram (a rebuilt
 * IPv4 header with offset/MF cleared and total length and checksum fixed, or the IPv6
 * unfragmentable part with payload length fixed and the Fragment header removed, followed by
 * the payload). The buffer is owned by defrag and valid until the next defrag call. Returns 0
 * when more fragments are needed or the fragment was dropped (counted). */
int defrag_add(struct defrag *d, const struct packet *pkt, uint64_t now_us, const uint8_t **out,
               size_t *out_len);

/* Drops datagrams older than the timeout at packet time now_us. Cheap when nothing is due. */
void defrag_expire(struct defrag *d, uint64_t now_us);

/* The smallest packet time at which defrag_expire() would drop a datagram held now, UINT64_MAX
 * when none is held. */
uint64_t defrag_next_due(const struct defrag *d);

const struct defrag_stats *defrag_stats(const struct defrag *d);
/* Bytes charged to the memcap: the bucket array (512 bytes at least) plus what datagrams hold.
 * Never above the memcap once the memcap exceeds the bucket array. */
size_t defrag_memuse(const struct defrag *d);

#endif
