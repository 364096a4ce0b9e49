/* decode_tunnel.c — encapsulations of the packet decoder: what wraps the flow we inspect.
 *
 * Pipeline: capture ─► [decode: link ─► ip ─► (tunnel ─► link/ip)* ─► tcp] ─► flow. Pure byte
 * parsing over libpcap's buffer: owns nothing, allocates nothing, keeps no state; every read
 * goes through parse.h's reader. Each layer here notes itself in pkt->tunnel[] (outermost first,
 * with the outer IP addresses for IP tunnels) before decoding what it carries, so the inner
 * flow's addresses end up in the main fields and the outer ones stay recorded for EVE.
 *
 * Recursion is bounded: every way back into decode_ethernet()/decode_ip*() from here passes
 * through push(), which refuses a (DECODE_MAX_TUNNELS+1)th layer (EV_TOO_MANY_LAYERS),
 * and the loops (VLAN tags, MPLS labels) consume bytes on every turn.
 *
 * Implements:
 *   MPLS label stacks (RFC 3032 §2.1), to the bottom-of-stack entry. The payload's type is not
 *     on the wire; as Wireshark and Suricata do, it is guessed: bottom label 0 (IPv4 Explicit
 *     NULL) → IPv4 and 2 (IPv6 Explicit NULL) → IPv6; otherwise the first nibble: 4 → IPv4,
 *     6 → IPv6, 0 → a pseudowire control word (RFC 4385 §3, 4 bytes, first nibble 0) followed
 *     by Ethernet (RFC 4448); anything else is skipped. An Ethernet pseudowire without a
 *     control word starts with a MAC address and cannot be told from the rest, so it is not
 *     guessed at.
 *   PPPoE session stage (RFC 2516 §4: ver/type 0x11, code 0, session id, length) and PPP
 *     (RFC 1661 §2, with protocol-field compression; the RFC 1662 §3.1 FF 03 address/control
 *     bytes are skipped when present): protocols 0x0021 IPv4, 0x0057 IPv6 (RFC 5072),
 *     0x0281/0x0283 MPLS (RFC 3032 §4).
 *   GRE (RFC 2784 §2, RFC 2890 §2: checksum, key, sequence number present by their flags;
 *     the RFC 1701 routing and strict-source-route bits are refused as RFC 2784 §2.3 says;
 *     version 1 is PPTP's enhanced GRE, RFC 2637 §4.1, skipped). Protocol 0x6558 (transparent
 *     Ethernet bridging) carries Ethernet; 0x88BE is ERSPAN type II with a sequence number and
 *     type I without (no ERSPAN header); 0x22EB is ERSPAN type III; other protocols are
 *     EtherTypes (IPv4, IPv6, MPLS, ...). ERSPAN II/III headers as in draft-foschiano-erspan-03
 *     §4.2-§4.3 (version 1/2; III: 12 bytes, an 8-byte platform subheader when O is set, frame
 *     type 0 Ethernet or 2 IP).
 *   UDP (RFC 768) only to find VXLAN (RFC 7348 §5: 8 bytes, I flag, VNI, then Ethernet) and
 *     Geneve (RFC 8926 §3.4: version 0, options length in 4-byte units, protocol type 0x6558 →
 *     Ethernet, else an EtherType) on the configured destination ports; other UDP is skipped.
 *   IP-in-IP (RFC 2003 protocol 4, RFC 4213 §3 protocol 41), in IPv4 or IPv6 outer headers
 *     (RFC 2473).
 *
 *   GRE:       | C R K S s Recur | Flags | Ver | Protocol 2 | [csum 2 rsvd 2] [key 4] [seq 4]
 *   ERSPAN II: | Ver 4 | VLAN 12 | COS 3 En 2 T 1 Session 10 | Reserved 12 | Index 20 |
 *   ERSPAN III:| Ver 4 | VLAN 12 | COS 3 BSO 2 T 1 Session 10 | Timestamp 32 |
 *              | SGT 16 | P 1 FT 5 HwID 6 D 1 Gra 2 O 1 | [platform subheader 8 if O]
 *   VXLAN:     | flags 8 (I = 0x08) | rsvd 24 | VNI 24 | rsvd 8 |
 *   Geneve:    | Ver 2 OptLen 6 | O C rsvd 6 | Protocol 16 | VNI 24 | rsvd 8 | options |
 *   PPPoE:     | ver 4 type 4 | code 8 | session 16 | length 16 | PPP protocol ...
 */
#include "decode.h"

#include <string.h>

#include "parse.h"

#define ETHERTYPE_TEB 0x6558
#define ETHERTYPE_ERSPAN2 0x88be
#define ETHERTYPE_ERSPAN3 0x22eb

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057
#define PPP_MPLS 0x0281
#define PPP_MPLS_MCAST 0x0283

#define GRE_C 0x8000
#define GRE_R 0x4000
#define GRE_K 0x2000
#define GRE_S 0x1000
#define GRE_SSR 0x0800
#define GRE_VER 0x0007

#define MPLS_BOS 0x100
#define MPLS_IPV4_NULL 0
#define MPLS_IPV6_NULL 2

#define VXLAN_I 0x08
#define VXLAN_PORT 4789
#define GENEVE_PORT 6081

/* Notes one outer layer. with_ip: the layer rides on the IP header decoded last, whose
 * addresses are still in pkt's main fields (the inner header is about to overwrite them). */
static int push(struct packet *pkt, int kind, int with_ip, uint32_t id)
{
    if (pkt->tunnel_count >= DECODE_MAX_TUNNELS) {
        pkt->event = EV_TOO_MANY_LAYERS;
        return -1;
    }
    struct packet_tunnel *t = &pkt->tunnel[pkt->tunnel_count++];
    memset(t, 0, sizeof(*t));
    t->kind = (uint8_t)kind;
    if (with_ip) {
        t->ip_version = pkt->ip_version;
        memcpy(t->src, pkt->src, sizeof(t->src));
        memcpy(t->dst, pkt->dst, sizeof(t->dst));
    }
    t->id = id;
    return 0;
}

/* ---- MPLS -------------------------------------------------------------------------------- */

/* Walks the label stack at p to its bottom entry and decodes the payload by the heuristic in
 * the file comment. Returns enum decode_status; pkt->event set unless DECODE_OK. */
int decode_mpls(struct packet *pkt, const uint8_t *p, size_t len)
{
    struct reader r;
    rd_init(&r, p, len);
    uint32_t lse;
    do {
        lse = rd_be32(&r);
        if (r.err) {
            pkt->event = EV_MPLS_HEADER_TOO_SMALL;
            return DECODE_INVALID;
        }
    } while (!(lse & MPLS_BOS));
    uint32_t label = lse >> 12;
    /* The bottom label names the service (VPN, pseudowire); upper ones change per hop. */
    if (push(pkt, TUNNEL_MPLS, 0, label) < 0)
        return DECODE_INVALID;
    p += r.off;
    len = rd_left(&r);
    if (label == MPLS_IPV4_NULL)
        return decode_ipv4(pkt, p, len);
    if (label == MPLS_IPV6_NULL)
        return decode_ipv6(pkt, p, len);
    if (len < 1) {
        pkt->event = EV_MPLS_PAYLOAD_TRUNCATED;
        return DECODE_INVALID;
    }
    switch (p[0] >> 4) {
    case 4:
        return decode_ipv4(pkt, p, len);
    case 6:
        return decode_ipv6(pkt, p, len);
    case 0:
        if (len < 4) {
            pkt->event = EV_MPLS_CONTROL_WORD_TRUNCATED;
            return DECODE_INVALID;
        }
        return decode_ethernet(pkt, p + 4, len - 4);
    default:
        pkt->event = EV_MPLS_UNKNOWN_PAYLOAD_TYPE;
        return DECODE_SKIP;
    }
}

/* ---- PPPoE and PPP ----------------------------------------------------------------------- */

/* A PPP frame at p: [FF 03] protocol (1 or 2 bytes) information. PPP is a link, not a tunnel:
 * it notes nothing itself (PPPoE does). Returns enum decode_status. */
int decode_ppp(struct packet *pkt, const uint8_t *p, size_t len)
{
    struct reader r;
    rd_init(&r, p, len);
    /* A leading 0xFF is the RFC 1662 §3.1 All-Stations address, which the 0x03 control byte
     * must follow (Wireshark and tcpdump read it the same way). */
    if (len >= 1 && p[0] == 0xff && rd_be16(&r) != 0xff03) {
        pkt->event = r.err ? EV_PPP_PKT_TOO_SMALL : EV_PPP_HEADER_INVALID;
        return DECODE_INVALID;
    }
    uint16_t proto = rd_u8(&r);
    /* RFC 1661 §2: protocol numbers end in an odd octet and start with an even one, so an odd
     * first octet is a compressed one-octet field. */
    if ((proto & 1) == 0)
        proto = (uint16_t)(proto << 8 | rd_u8(&r));
    if (r.err) {
        pkt->event = EV_PPP_PKT_TOO_SMALL;
        return DECODE_INVALID;
    }
    p += r.off;
    len = rd_left(&r);
    switch (proto) {
    case PPP_IPV4:
        return decode_ipv4(pkt, p, len);
    case PPP_IPV6:
        return decode_ipv6(pkt, p, len);
    case PPP_MPLS:
    case PPP_MPLS_MCAST:
        return decode_mpls(pkt, p, len);
    default:
        pkt->event = EV_PPP_WRONG_TYPE;
        return DECODE_SKIP;
    }
}

/* A PPPoE session-stage packet (EtherType 0x8864) at p. The PPPoE length bounds the PPP frame
 * (Ethernet padding follows it). Returns enum decode_status. */
int decode_pppoe(struct packet *pkt, const uint8_t *p, size_t len)
{
    struct reader r;
    rd_init(&r, p, len);
    uint8_t vt = rd_u8(&r);
    uint8_t code = rd_u8(&r);
    uint16_t sid = rd_be16(&r);
    uint16_t plen = rd_be16(&r);
    if (r.err) {
        pkt->event = EV_PPPOE_PKT_TOO_SMALL;
        return DECODE_INVALID;
    }
    if (vt != 0x11 || code != 0) {
        pkt->event = EV_PPPOE_MALFORMED_TAGS;
        return DECODE_INVALID;
    }
    if (push(pkt, TUNNEL_PPPOE, 0, sid) < 0)
        return DECODE_INVALID;
    size_t n = rd_left(&r);
    if (plen < n)
        n = plen;
    return decode_ppp(pkt, p + r.off, n);
}

/* ---- GRE and ERSPAN ---------------------------------------------------------------------- */

static int erspan2(struct packet *pkt, const uint8_t *p, size_t len)
{
    struct reader r;
    rd_init(&r, p, len);
    uint16_t ver_vlan = rd_be16(&r);
    uint16_t sess = rd_be16(&r);
    rd_skip(&r, 4); /* reserved, index */
    if (r.err) {
        pkt->event = EV_ERSPAN_HEADER_TOO_SMALL;
        return DECODE_INVALID;
    }
    if ((ver_vlan >> 12) != 1) {
        pkt->event = EV_ERSPAN_UNSUPPORTED_VERSION;
        return DECODE_INVALID;
    }
    if (push(pkt, TUNNEL_ERSPAN2, 1, sess & 0x3ff) < 0)
        return DECODE_INVALID;
    return decode_ethernet(pkt, p + r.off, rd_left(&r));
}

static int erspan3(struct packet *pkt, const uint8_t *p, size_t len)
{
    struct reader r;
    rd_init(&r, p, len);
    uint16_t ver_vlan = rd_be16(&r);
    uint16_t sess = rd_be16(&r);
    rd_skip(&r, 4); /* timestamp */
    rd_skip(&r, 2); /* SGT */
    uint16_t bits = rd_be16(&r);
    if (bits & 1)
        rd_skip(&r, 8); /* O: platform-specific subheader */
    if (r.err) {
        pkt->event = EV_ERSPAN_HEADER_TOO_SMALL;
        return DECODE_INVALID;
    }
    if ((ver_vlan >> 12) != 2) {
        pkt->event = EV_ERSPAN_UNSUPPORTED_VERSION;
        return DECODE_INVALID;
    }
    if (push(pkt, TUNNEL_ERSPAN3, 1, sess & 0x3ff) < 0)
        return DECODE_INVALID;
    p += r.off;
    len = rd_left(&r);
    switch ((bits >> 10) & 0x1f) {
    case 0:
        return decode_ethernet(pkt, p, len);
    case 2:
        return decode_ip(pkt, p, len);
    default:
        pkt->event = EV_ERSPAN_FRAME_TYPE_UNSUPPORTED;
        return DECODE_SKIP;
    }
}

/* A GRE packet at p (the IP payload). Returns enum decode_status. */
int decode_gre(struct packet *pkt, const uint8_t *p, size_t len)
{
    struct reader r;
    rd_init(&r, p, len);
    uint16_t flags = rd_be16(&r);
    uint16_t proto = rd_be16(&r);
    if (r.err) {
        pkt->event = EV_GRE_PKT_TOO_SMALL;
        return DECODE_INVALID;
    }
    switch (flags & GRE_VER) {
    case 0:
        break;
    case 1:
        pkt->event = EV_GRE_VERSION_1_PPTP;
        return DECODE_SKIP;
    default:
        pkt->event = EV_GRE_WRONG_VERSION;
        return DECODE_INVALID;
    }
    if (flags & (GRE_R | GRE_SSR)) {
        pkt->event = EV_GRE_FLAGS_INVALID;
        return DECODE_INVALID;
    }
    uint32_t key = 0;
    if (flags & GRE_C)
        rd_skip(&r, 4); /* checksum, reserved1 */
    if (flags & GRE_K)
        key = rd_be32(&r);
    if (flags & GRE_S)
        rd_skip(&r, 4);
    if (r.err) {
        pkt->event = EV_GRE_PKT_TOO_SMALL;
        return DECODE_INVALID;
    }
    p += r.off;
    len = rd_left(&r);
    switch (proto) {
    case ETHERTYPE_ERSPAN2:
        if (flags & GRE_S)
            return erspan2(pkt, p, len);
        /* Type I: no ERSPAN header and no sequence number, the mirrored frame follows. */
        if (push(pkt, TUNNEL_ERSPAN2, 1, 0) < 0)
            return DECODE_INVALID;
        return decode_ethernet(pkt, p, len);
    case ETHERTYPE_ERSPAN3:
        return erspan3(pkt, p, len);
    case ETHERTYPE_TEB:
        if (push(pkt, TUNNEL_GRE, 1, key) < 0)
            return DECODE_INVALID;
        return decode_ethernet(pkt, p, len);
    default:
        if (push(pkt, TUNNEL_GRE, 1, key) < 0)
            return DECODE_INVALID;
        return decode_ethertype(pkt, proto, p, len);
    }
}

/* ---- UDP: VXLAN and Geneve --------------------------------------------------------------- */

static int port_in(uint16_t port, const uint16_t *list, uint8_t n, uint16_t dflt)
{
    if (!list)
        return port == dflt;
    for (uint8_t i = 0; i < n; i++)
        if (list[i] == port)
            return 1;
    return 0;
}

static int vxlan(struct packet *pkt, const uint8_t *p, size_t len)
{
    struct reader r;
    rd_init(&r, p, len);
    uint8_t flags = rd_u8(&r);
    rd_skip(&r, 3);
    uint32_t vni = rd_be32(&r) >> 8;
    if (r.err) {
        pkt->event = EV_VXLAN_HEADER_TRUNCATED;
        return DECODE_INVALID;
    }
    if (!(flags & VXLAN_I)) {
        pkt->event = EV_VXLAN_FLAGS_INVALID;
        return DECODE_INVALID;
    }
    if (push(pkt, TUNNEL_VXLAN, 1, vni) < 0)
        return DECODE_INVALID;
    return decode_ethernet(pkt, p + r.off, rd_left(&r));
}

static int geneve(struct packet *pkt, const uint8_t *p, size_t len)
{
    struct reader r;
    rd_init(&r, p, len);
    uint8_t ver_opt = rd_u8(&r);
    rd_skip(&r, 1); /* O, C, reserved */
    uint16_t proto = rd_be16(&r);
    uint32_t vni = rd_be32(&r) >> 8;
    if (r.err) {
        pkt->event = EV_GENEVE_HEADER_TRUNCATED;
        return DECODE_INVALID;
    }
    if ((ver_opt >> 6) != 0) {
        pkt->event = EV_GENEVE_VERSION_INVALID;
        return DECODE_INVALID;
    }
    if (!rd_skip(&r, (size_t)(ver_opt & 0x3f) * 4)) {
        pkt->event = EV_GENEVE_OPTIONS_TRUNCATED;
        return DECODE_INVALID;
    }
    if (push(pkt, TUNNEL_GENEVE, 1, vni) < 0)
        return DECODE_INVALID;
    p += r.off;
    len = rd_left(&r);
    if (proto == ETHERTYPE_TEB)
        return decode_ethernet(pkt, p, len);
    return decode_ethertype(pkt, proto, p, len);
}

/* A UDP datagram at p (the IP payload): decoded only when its destination port is a configured
 * VXLAN or Geneve port; any other UDP is DECODE_SKIP EV_IP_PROTO_NOT_TCP. The UDP length bounds
 * the tunnel (0 is read as "to the end", as an IPv6 jumbogram has it). */
int decode_udp(struct packet *pkt, const uint8_t *p, size_t len)
{
    struct reader r;
    rd_init(&r, p, len);
    rd_skip(&r, 2); /* source port: tunnel endpoints pick it for entropy */
    uint16_t dport = rd_be16(&r);
    uint16_t ulen = rd_be16(&r);
    rd_skip(&r, 2); /* checksum, not verified */
    if (r.err) {
        pkt->event = EV_UDP_PKT_TOO_SMALL;
        return DECODE_INVALID;
    }
    pkt->ip_proto = 17;
    if (ulen != 0 && ulen < 8) {
        pkt->event = EV_UDP_HLEN_INVALID;
        return DECODE_INVALID;
    }
    size_t n = rd_left(&r);
    if (ulen != 0 && (size_t)ulen - 8 < n)
        n = (size_t)ulen - 8;
    p += r.off;
    if (port_in(dport, pkt->vxlan_ports, pkt->nvxlan_ports, VXLAN_PORT))
        return vxlan(pkt, p, n);
    if (port_in(dport, pkt->geneve_ports, pkt->ngeneve_ports, GENEVE_PORT))
        return geneve(pkt, p, n);
    pkt->event = EV_IP_PROTO_NOT_TCP;
    return DECODE_SKIP;
}

/* ---- IP in IP ---------------------------------------------------------------------------- */

/* proto 4 → IPv4 inside, 41 → IPv6 inside; the outer header's addresses are noted. */
int decode_ipip(struct packet *pkt, uint8_t proto, const uint8_t *p, size_t len)
{
    if (push(pkt, proto == 4 ? TUNNEL_IPIP : TUNNEL_IP6IP, 1, 0) < 0)
        return DECODE_INVALID;
    return proto == 4 ? decode_ipv4(pkt, p, len) : decode_ipv6(pkt, p, len);
}
