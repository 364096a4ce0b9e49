/* decode_tcp.c — transport layer of the packet decoder: the TCP header and where the payload is.
 *
 * Pipeline: capture ─► [decode: link ─► ip ─► tcp] ─► flow. Pure byte parsing; owns nothing,
 * allocates nothing, keeps no state. Options are skipped by the data offset, not parsed: the
 * stream stage needs only sequence numbers, flags and the payload.
 *
 * Implements RFC 9293 §3.1 (header format, data offset). The checksum is not verified, since
 * offload NICs hand libpcap segments whose checksums are not filled in yet.
 *
 *   | sport 2 | dport 2 | seq 4 | ack 4 | doff:4 rsvd:4 | flags 1 | window 2 | csum 2 | urg 2 |
 *   | options (doff*4 - 20) | payload ...
 */
#include "decode.h"

#include "parse.h"

/* Decodes the TCP segment at p. len is the segment length as the IP layer bounded it (the IP
 * payload, already clipped to what was captured; the IP layer sets pkt->truncated when it
 * clipped). Fills ports, seq, ack, window, flags and payload (a span into p). Returns
 * DECODE_OK, or DECODE_INVALID with pkt->event when the header does not fit. */
int decode_tcp(struct packet *pkt, const uint8_t *p, size_t len)
{
    struct reader r;
    rd_init(&r, p, len);
    uint16_t sport = rd_be16(&r);
    uint16_t dport = rd_be16(&r);
    uint32_t seq = rd_be32(&r);
    uint32_t ack = rd_be32(&r);
    uint8_t doff = rd_u8(&r);
    uint8_t flags = rd_u8(&r);
    uint16_t window = rd_be16(&r);
    rd_skip(&r, 4); /* checksum, urgent pointer */
    if (r.err) {
        pkt->event = EV_TCP_PKT_TOO_SMALL;
        return DECODE_INVALID;
    }
    size_t hlen = (size_t)(doff >> 4) * 4;
    if (hlen < 20) {
        pkt->event = EV_TCP_HLEN_TOO_SMALL;
        return DECODE_INVALID;
    }
    if (hlen > len) {
        /* Options cut off by the snap length are a capture artifact, not a broken sender. */
        pkt->event = pkt->truncated ? EV_TCP_PKT_TOO_SMALL : EV_TCP_HLEN_TOO_SMALL;
        return DECODE_INVALID;
    }
    pkt->ip_proto = 6;
    pkt->sport = sport;
    pkt->dport = dport;
    pkt->seq = seq;
    pkt->ack = ack;
    pkt->tcp_flags = flags;
    pkt->window = window;
    pkt->payload = p + hlen;
    pkt->payload_len = (uint32_t)(len - hlen);
    return DECODE_OK;
}
