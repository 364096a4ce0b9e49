/* decode_ip.c — network layer of the packet decoder: IPv4 and IPv6 down to the TCP header.
 *
 * Pipeline: capture ─► [decode: link ─► ip ─► tcp] ─► flow. Pure byte parsing; owns nothing,
 * allocates nothing, keeps no state. Reads go through parse.h's reader, so nothing past `len`
 * (what the link layer found captured) is touched.
 *
 * Implements: RFC 791 §3.1 (IPv4 header: version, IHL, total length, flags and fragment
 * offset), RFC 8200 §3-§4 (IPv6 header, the extension header chain: Hop-by-Hop, Routing,
 * Fragment, Destination Options, No Next Header), RFC 4302 §2 (AH length in 4-byte units),
 * RFC 2675 §3 (jumbograms: payload length 0). Fragments are not reassembled here (that needs
 * state: sensor/flow/defrag.c): a packet that is part of a fragmented datagram is DECODE_FRAGMENT
 * with pkt->frag describing it (RFC 791 §3.2, RFC 8200 §4.5); an atomic IPv6 fragment, offset 0
 * without M, is a whole datagram (RFC 6946) and is decoded. The upper layer may be TCP, UDP
 * (looked at for VXLAN/Geneve), GRE (47) or IP itself (4, 41): the tunnels are decode_tunnel.c's.
 * Checksums are not verified: offload NICs hand libpcap packets whose checksums are not yet
 * filled in.
 *
 *   IPv6 fragment, as pkt->frag describes it:
 *   | fixed header 40 | ext headers ... | Fragment 8 | fragment data ...
 *   |<------------ frag.hdr_len ------->|            |<- frag.data_len ->|
 *   frag.proto is the Fragment header's Next Header; the Next Header field that named the
 *   Fragment header (in the fixed header or the last extension header) is left as it is.
 */
#include "decode.h"

#include <string.h>

#include "parse.h"

#define IPPROTO_IPIP_ 4
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_IPV6_ 41
#define IPPROTO_GRE_ 47

/* IPv6 extension headers we walk (RFC 8200 §4, IANA "IPv6 Extension Header Types"). */
#define IP6_HOPOPTS 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_AH 51
#define IP6_NONE 59
#define IP6_DSTOPTS 60

/* A legitimate chain has at most one of each header but Destination Options (twice); more than
 * this is an evasion attempt or garbage, not traffic worth the loop. */
#define IP6_MAX_EXT 8

static int to_transport(struct packet *pkt, uint8_t proto, const uint8_t *p, size_t len)
{
    pkt->ip_proto = proto;
    switch (proto) {
    case IPPROTO_TCP_:
        return decode_tcp(pkt, p, len);
    case IPPROTO_UDP_:
        return decode_udp(pkt, p, len);
    case IPPROTO_GRE_:
        return decode_gre(pkt, p, len);
    case IPPROTO_IPIP_:
    case IPPROTO_IPV6_:
        return decode_ipip(pkt, proto, p, len);
    default:
        pkt->event = EV_IP_PROTO_NOT_TCP;
        return DECODE_SKIP;
    }
}

/* Chooses IPv4 or IPv6 by the version nibble (raw-IP link types carry no other hint). */
int decode_ip(struct packet *pkt, const uint8_t *p, size_t len)
{
    if (len < 1) {
        pkt->event = EV_IP_HEADER_TRUNCATED;
        return DECODE_INVALID;
    }
    switch (p[0] >> 4) {
    case 4:
        return decode_ipv4(pkt, p, len);
    case 6:
        return decode_ipv6(pkt, p, len);
    default:
        pkt->event = EV_IP_VERSION_INVALID;
        return DECODE_INVALID;
    }
}

/* Decodes the IPv4 datagram at p, of which len bytes were captured, and what it carries.
 * Trailing bytes past the total length (Ethernet padding) are ignored; a datagram longer than
 * what was captured is decoded as far as it goes and marked pkt->truncated. A fragment (MF set
 * or offset != 0) is DECODE_FRAGMENT with pkt->frag pointing into p; its data is clipped to the
 * capture (pkt->truncated set then). Returns enum decode_status, with pkt->event set unless
 * DECODE_OK. */
int decode_ipv4(struct packet *pkt, const uint8_t *p, size_t len)
{
    pkt->l3 = p;
    pkt->l3_len = (uint32_t)len;
    struct reader r;
    rd_init(&r, p, len);
    uint8_t vihl = rd_u8(&r);
    rd_skip(&r, 1); /* DSCP/ECN */
    uint16_t total = rd_be16(&r);
    uint16_t ident = rd_be16(&r);
    uint16_t frag = rd_be16(&r);
    rd_skip(&r, 1); /* TTL */
    uint8_t proto = rd_u8(&r);
    rd_skip(&r, 2); /* checksum, not verified */
    const uint8_t *src = rd_bytes(&r, 4);
    const uint8_t *dst = rd_bytes(&r, 4);
    if (r.err) {
        pkt->event = EV_IPV4_PKT_TOO_SMALL;
        return DECODE_INVALID;
    }
    if ((vihl >> 4) != 4) {
        pkt->event = EV_IPV4_WRONG_IP_VERSION;
        return DECODE_INVALID;
    }
    size_t hlen = (size_t)(vihl & 0x0f) * 4;
    if (hlen < 20) {
        pkt->event = EV_IPV4_HLEN_TOO_SMALL;
        return DECODE_INVALID;
    }
    if (hlen > len) {
        pkt->event = EV_IPV4_PKT_TOO_SMALL;
        return DECODE_INVALID;
    }
    /* A total length of 0 also shows up in captures of TSO-sent packets; it is still not a
     * datagram we can bound, so it is counted as invalid like any other short length. */
    if (total < hlen) {
        pkt->event = EV_IPV4_IPLEN_SMALLER_THAN_HLEN;
        return DECODE_INVALID;
    }

    pkt->ip_version = 4;
    memset(pkt->src, 0, sizeof(pkt->src));
    memset(pkt->dst, 0, sizeof(pkt->dst));
    memcpy(pkt->src, src, 4);
    memcpy(pkt->dst, dst, 4);
    pkt->ip_proto = proto;

    size_t end = total;
    pkt->truncated = 0;
    if (end > len) {
        end = len;
        pkt->truncated = 1;
    }

    /* Offset in the low 13 bits, MF is 0x2000; the reserved bit and DF do not matter here. */
    if ((frag & 0x1fff) != 0 || (frag & 0x2000) != 0) {
        struct packet_frag *fr = &pkt->frag;
        fr->ip_version = 4;
        fr->proto = proto;
        fr->more = (frag & 0x2000) != 0;
        fr->id = ident;
        fr->offset = (uint32_t)(frag & 0x1fff) * 8;
        fr->hdr = p;
        fr->hdr_len = (uint32_t)hlen;
        fr->data = p + hlen;
        fr->data_len = (uint32_t)(end - hlen); /* clipped to the capture: pkt->truncated says so */
        pkt->event = EV_IPV4_FRAGMENT;
        return DECODE_FRAGMENT;
    }
    return to_transport(pkt, proto, p + hlen, end - hlen);
}

/* Length in bytes of the extension header `nh` starting at q (2 bytes readable), per its own
 * length rule: AH counts 4-byte units minus 2, Fragment is fixed, the rest count 8-byte units
 * not including the first. */
static size_t ext_len(uint8_t nh, const uint8_t *q)
{
    if (nh == IP6_FRAGMENT)
        return 8;
    if (nh == IP6_AH)
        return ((size_t)q[1] + 2) * 4;
    return ((size_t)q[1] + 1) * 8;
}

/* Decodes the IPv6 packet at p, of which len bytes were captured, walking extension headers to
 * the upper-layer header. Payload length 0 with a Hop-by-Hop header first is taken to be a
 * jumbogram (RFC 2675) and runs to the end of the capture. A Fragment header with an offset or
 * M set makes it DECODE_FRAGMENT, pkt->frag as drawn at the top of this file. Returns enum
 * decode_status, with pkt->event set unless DECODE_OK. */
int decode_ipv6(struct packet *pkt, const uint8_t *p, size_t len)
{
    pkt->l3 = p;
    pkt->l3_len = (uint32_t)len;
    struct reader r;
    rd_init(&r, p, len);
    uint8_t v = rd_u8(&r);
    rd_skip(&r, 3); /* traffic class, flow label */
    uint16_t plen = rd_be16(&r);
    uint8_t nh = rd_u8(&r);
    rd_skip(&r, 1); /* hop limit */
    const uint8_t *src = rd_bytes(&r, 16);
    const uint8_t *dst = rd_bytes(&r, 16);
    if (r.err) {
        pkt->event = EV_IPV6_PKT_TOO_SMALL;
        return DECODE_INVALID;
    }
    if ((v >> 4) != 6) {
        pkt->event = EV_IPV6_WRONG_IP_VERSION;
        return DECODE_INVALID;
    }
    pkt->ip_version = 6;
    memcpy(pkt->src, src, 16);
    memcpy(pkt->dst, dst, 16);
    pkt->ip_proto = nh;

    size_t avail = len - 40;
    size_t payload_len = plen;
    pkt->truncated = 0;
    if (plen == 0 && nh == IP6_HOPOPTS)
        payload_len = avail;
    if (payload_len > avail) {
        payload_len = avail;
        pkt->truncated = 1;
    }

    /* The chain is bounded by the payload, not by what follows it in the capture. */
    struct reader ext;
    rd_init(&ext, p + 40, payload_len);
    for (int n = 0;; n++) {
        switch (nh) {
        case IP6_HOPOPTS:
        case IP6_ROUTING:
        case IP6_DSTOPTS:
        case IP6_FRAGMENT:
        case IP6_AH:
            break;
        case IP6_NONE:
            pkt->ip_proto = nh;
            pkt->event = EV_IPV6_NO_NEXT_HEADER;
            return DECODE_SKIP;
        default:
            return to_transport(pkt, nh, ext.p + ext.off, rd_left(&ext));
        }
        if (n == IP6_MAX_EXT) {
            pkt->event = EV_IPV6_EXTHDR_TOO_MANY;
            return DECODE_INVALID;
        }
        const uint8_t *h = NULL;
        if (rd_need(&ext, 2))
            h = rd_bytes(&ext, ext_len(nh, ext.p + ext.off));
        if (!h) {
            pkt->event = EV_IPV6_TRUNC_EXTHDR;
            return DECODE_INVALID;
        }
        if (nh == IP6_FRAGMENT) {
            /* Offset in the top 13 bits (8-byte units), M is bit 0. */
            uint16_t off_m = (uint16_t)((h[2] << 8) | h[3]);
            if ((off_m & 0xfff8) != 0 || (off_m & 1) != 0) {
                struct packet_frag *fr = &pkt->frag;
                fr->ip_version = 6;
                fr->proto = h[0];
                fr->more = off_m & 1;
                fr->id = ((uint32_t)h[4] << 24) | ((uint32_t)h[5] << 16) | ((uint32_t)h[6] << 8) | h[7];
                fr->offset = off_m & 0xfff8;
                fr->hdr = p;
                fr->hdr_len = (uint32_t)(h - p);
                fr->data = h + 8;
                fr->data_len = (uint32_t)rd_left(&ext);
                pkt->ip_proto = nh;
                pkt->event = EV_IPV6_FRAGMENT;
                return DECODE_FRAGMENT;
            }
        }
        nh = h[0];
    }
}
