/* decode_link.c — link layer of the packet decoder, and its entry point decode_packet().
 *
 * Pipeline: capture ─► [decode: link ─► ip ─► tcp] ─► flow. Pure byte parsing over libpcap's
 * buffer: owns nothing, allocates nothing, keeps no state. Every read is bounds-checked
 * through parse.h's reader, so nothing past caplen is touched.
 *
 * Link types (numbers from libpcap's pcap/dlt.h and the tcpdump.org LINKTYPE_ list):
 *   Ethernet II (IEEE 802.3 framing, EtherType ≥ 0x0600), with any number of IEEE 802.1Q
 *     (0x8100), 802.1ad (0x88a8) and pre-standard QinQ (0x9100) tags; the first
 *     DECODE_MAX_VLAN ids are kept, outermost first, further tags are skipped.
 *   Linux cooked capture v1 (SLL, 16-byte header, protocol at offset 14) and v2 (SLL2,
 *     20-byte header, protocol at offset 0).
 *   Raw IP (LINKTYPE_RAW 101, DLT_RAW 12 / 14, LINKTYPE_IPV4 228, LINKTYPE_IPV6 229).
 *   BSD null (DLT_NULL 0: 4-byte address family in the capturing host's byte order) and
 *     OpenBSD loop (DLT_LOOP 108: the same in network order).
 *   PPP (DLT_PPP 9, LINKTYPE_PPP_HDLC 50): RFC 1661 §2 frames, with or without the RFC 1662 §3.1
 *     FF 03 address/control bytes; decoded by decode_ppp() in decode_tunnel.c. Cisco routers'
 *     captures often carry Cisco HDLC under these numbers too (nDPI's corpus has such files):
 *     a first byte 0x0F/0x8F cannot start a PPP frame (RFC 1661 §2: the protocol's first octet
 *     is even, and 0xFF 0x03 is the HDLC header), so it is read as Cisco HDLC.
 *   Cisco HDLC (DLT_C_HDLC 104): address 0x0F/0x8F, control 0, then an EtherType.
 *   After any EtherType: MPLS (0x8847/0x8848) and PPPoE sessions (0x8864) as well, handed to
 *     decode_tunnel.c; PPPoE discovery (0x8863) is skipped.
 *
 *   Ethernet:  | dst 6 | src 6 | type 2 | [ TCI 2 | type 2 ]* | payload
 *   SLL:       | pkttype 2 | hatype 2 | halen 2 | addr 8 | protocol 2 | payload
 *   SLL2:      | protocol 2 | rsvd 2 | ifindex 4 | hatype 2 | pkttype 1 | halen 1 | addr 8 | ...
 *   C-HDLC:    | address 1 | control 1 | type 2 | payload
 */
#include "decode.h"

#include <string.h>

#include "parse.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_8021Q 0x8100
#define ETHERTYPE_8021AD 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_MPLS 0x8847
#define ETHERTYPE_MPLS_MCAST 0x8848
#define ETHERTYPE_PPPOE_DISC 0x8863
#define ETHERTYPE_PPPOE_SESS 0x8864

#define CHDLC_UNICAST 0x0f
#define CHDLC_BCAST 0x8f

/* BSD address families as they appear in null/loop headers. AF_INET is 2 everywhere; AF_INET6
 * differs per OS (NetBSD/OpenBSD/BSD/OS 24, FreeBSD/DragonFly 28, Darwin 30), and a capture
 * may be read on a different OS than it was written on, so all three are accepted. */
#define BSD_AF_INET 2
#define BSD_AF_INET6_BSD 24
#define BSD_AF_INET6_FREEBSD 28
#define BSD_AF_INET6_DARWIN 30

static int is_vlan_type(uint16_t t)
{
    return t == ETHERTYPE_8021Q || t == ETHERTYPE_8021AD || t == ETHERTYPE_QINQ_OLD;
}

/* Shared by Ethernet, both cooked formats, GRE and Cisco HDLC: `type` has just been read and p
 * is what follows it. VLAN tags may sit here in all of them (Linux leaves them in when the NIC
 * does not strip them). */
int decode_ethertype(struct packet *pkt, uint16_t type, const uint8_t *p, size_t len)
{
    struct reader r;
    rd_init(&r, p, len);
    while (is_vlan_type(type)) {
        uint16_t tci = rd_be16(&r);
        type = rd_be16(&r);
        if (r.err) {
            pkt->event = EV_VLAN_HEADER_TOO_SMALL;
            return DECODE_INVALID;
        }
        if (pkt->vlan_count < DECODE_MAX_VLAN)
            pkt->vlan[pkt->vlan_count++] = tci & 0x0fff;
    }
    p = r.p + r.off;
    len = rd_left(&r);
    switch (type) {
    case ETHERTYPE_IPV4:
        return decode_ipv4(pkt, p, len);
    case ETHERTYPE_IPV6:
        return decode_ipv6(pkt, p, len);
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLS_MCAST:
        return decode_mpls(pkt, p, len);
    case ETHERTYPE_PPPOE_SESS:
        return decode_pppoe(pkt, p, len);
    case ETHERTYPE_PPPOE_DISC:
        pkt->event = EV_PPPOE_DISCOVERY;
        return DECODE_SKIP;
    default:
        pkt->event = EV_ETHERTYPE_NOT_IP;
        return DECODE_SKIP;
    }
}

/* A fixed link header of hlen bytes with the payload's EtherType at type_off: Ethernet II, both
 * Linux cooked formats and Cisco HDLC differ only in where it sits (nothing else in their
 * headers changes how the payload is read). Inline: the constants fold at each caller, and
 * Ethernet is every packet's first read. */
static inline int ethertype_at(struct packet *pkt, const uint8_t *p, size_t len, size_t type_off,
                               size_t hlen, enum event_id truncated)
{
    struct reader r;
    rd_init(&r, p, len);
    rd_skip(&r, type_off);
    uint16_t type = rd_be16(&r);
    rd_skip(&r, hlen - type_off - 2);
    if (r.err) {
        pkt->event = truncated;
        return DECODE_INVALID;
    }
    return decode_ethertype(pkt, type, p + r.off, rd_left(&r));
}

/* Fills the link and lower layers from an Ethernet II frame of len bytes at p (no FCS). Reads
 * nothing past len; returns enum decode_status with pkt->event set unless DECODE_OK. */
int decode_ethernet(struct packet *pkt, const uint8_t *p, size_t len)
{
    return ethertype_at(pkt, p, len, 12, 14, EV_ETHERNET_PKT_TOO_SMALL);
}

static int decode_sll(struct packet *pkt, const uint8_t *p, size_t len)
{
    return ethertype_at(pkt, p, len, 14, 16, EV_SLL_PKT_TOO_SMALL);
}

static int decode_sll2(struct packet *pkt, const uint8_t *p, size_t len)
{
    return ethertype_at(pkt, p, len, 0, 20, EV_SLL2_HEADER_TRUNCATED);
}

/* Address and control first: nothing in them changes how the payload is read. */
static int decode_chdlc(struct packet *pkt, const uint8_t *p, size_t len)
{
    return ethertype_at(pkt, p, len, 2, 4, EV_C_HDLC_HEADER_TRUNCATED);
}

static int decode_ppp_link(struct packet *pkt, const uint8_t *p, size_t len)
{
    if (len >= 1 && (p[0] == CHDLC_UNICAST || p[0] == CHDLC_BCAST))
        return decode_chdlc(pkt, p, len);
    return decode_ppp(pkt, p, len);
}

static int family_dispatch(struct packet *pkt, uint32_t family, const uint8_t *p, size_t len)
{
    switch (family) {
    case BSD_AF_INET:
        return decode_ipv4(pkt, p, len);
    case BSD_AF_INET6_BSD:
    case BSD_AF_INET6_FREEBSD:
    case BSD_AF_INET6_DARWIN:
        return decode_ipv6(pkt, p, len);
    default:
        return -1;
    }
}

/* DLT_NULL's family is in the writer's byte order, which the file does not record; the values
 * we accept are all < 256, so trying both orders cannot mistake one family for another. DLT_LOOP
 * is always network order. */
static int decode_null_loop(struct packet *pkt, const uint8_t *p, size_t len, int either_order)
{
    struct reader r;
    rd_init(&r, p, len);
    uint32_t be = rd_be32(&r);
    if (r.err) {
        pkt->event = EV_NULL_HEADER_TRUNCATED;
        return DECODE_INVALID;
    }
    int rc = family_dispatch(pkt, be, p + 4, len - 4);
    if (rc < 0 && either_order) {
        uint32_t le = ((be & 0xff) << 24) | ((be & 0xff00) << 8) | ((be >> 8) & 0xff00) | (be >> 24);
        rc = family_dispatch(pkt, le, p + 4, len - 4);
    }
    if (rc < 0) {
        pkt->event = EV_NULL_FAMILY_NOT_IP;
        return DECODE_SKIP;
    }
    return rc;
}

static void reset_output(struct packet *pkt)
{
    memset(pkt->vlan, 0, sizeof(pkt->vlan));
    pkt->vlan_count = 0;
    pkt->ip_version = 0;
    pkt->ip_proto = 0;
    memset(pkt->src, 0, sizeof(pkt->src));
    memset(pkt->dst, 0, sizeof(pkt->dst));
    pkt->sport = pkt->dport = 0;
    pkt->seq = pkt->ack = 0;
    pkt->window = 0;
    pkt->tcp_flags = 0;
    pkt->payload = NULL;
    pkt->payload_len = 0;
    pkt->truncated = 0;
    pkt->event = EV_NONE;
    memset(&pkt->frag, 0, sizeof(pkt->frag));
    memset(pkt->tunnel, 0, sizeof(pkt->tunnel));
    pkt->tunnel_count = 0;
}

/* Decodes pkt->data[0..caplen) as pkt->linktype, through any tunnels, down to TCP. Clears
 * every output field first (not the vxlan/geneve port settings, which are input), so a struct
 * packet can be reused across packets. The outputs point into pkt->data and live as long as it
 * does; nothing is allocated. Returns DECODE_OK for a TCP segment, DECODE_FRAGMENT for an IP
 * fragment (pkt->frag filled, for defrag), DECODE_SKIP for well-formed traffic we do not
 * inspect (and for an unsupported linktype), DECODE_INVALID for broken packets; the last three
 * set pkt->event (events.h). */
int decode_packet(struct packet *pkt)
{
    reset_output(pkt);
    const uint8_t *p = pkt->data;
    size_t len = p ? pkt->caplen : 0;
    if (!p)
        p = (const uint8_t *)"";

    switch (pkt->linktype) {
    case DECODE_LINK_ETHERNET:
        return decode_ethernet(pkt, p, len);
    case DECODE_LINK_SLL:
        return decode_sll(pkt, p, len);
    case DECODE_LINK_SLL2:
        return decode_sll2(pkt, p, len);
    case DECODE_LINK_RAW:
    case DECODE_LINK_RAW_DLT:
    case DECODE_LINK_RAW_DLT14:
        return decode_ip(pkt, p, len);
    case DECODE_LINK_IPV4:
        return decode_ipv4(pkt, p, len);
    case DECODE_LINK_IPV6:
        return decode_ipv6(pkt, p, len);
    case DECODE_LINK_NULL:
        return decode_null_loop(pkt, p, len, 1);
    case DECODE_LINK_LOOP:
        return decode_null_loop(pkt, p, len, 0);
    case DECODE_LINK_PPP:
    case DECODE_LINK_PPP_HDLC:
        return decode_ppp_link(pkt, p, len);
    case DECODE_LINK_C_HDLC:
        return decode_chdlc(pkt, p, len);
    default:
        pkt->event = EV_LINKTYPE_UNSUPPORTED;
        return DECODE_SKIP;
    }
}

int decode_linktype_supported(int linktype)
{
    switch (linktype) {
    case DECODE_LINK_NULL:
    case DECODE_LINK_ETHERNET:
    case DECODE_LINK_RAW:
    case DECODE_LINK_RAW_DLT:
    case DECODE_LINK_RAW_DLT14:
    case DECODE_LINK_LOOP:
    case DECODE_LINK_SLL:
    case DECODE_LINK_SLL2:
    case DECODE_LINK_IPV4:
    case DECODE_LINK_IPV6:
    case DECODE_LINK_PPP:
    case DECODE_LINK_PPP_HDLC:
    case DECODE_LINK_C_HDLC:
        return 1;
    default:
        return 0;
    }
}
