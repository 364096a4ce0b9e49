/* decode.h — link, network and transport decoding of one captured packet.
 *
 * Pipeline: capture ─► [decode] ─► flow. Pure byte parsing over libpcap's buffer: no state,
 * no allocation, no I/O. Every span/pointer in struct packet points into `data` and is valid
 * only during the pipeline call that owns the packet (DESIGN "Ownership" 1).
 *
 * Files: decode_link.c (Ethernet, 802.1Q/QinQ, Linux SLL/SLL2, raw IP, BSD null/loop, PPP,
 *          Cisco HDLC),
 *        decode_ip.c (IPv4 RFC 791, IPv6 RFC 8200 with extension headers skipped, fragments
 *          reported),
 *        decode_tunnel.c (MPLS, PPPoE/PPP, GRE, ERSPAN II/III, UDP to find VXLAN and Geneve,
 *          IP-in-IP),
 *        decode_tcp.c (TCP RFC 9293 header and options length),
 *        events.c (what pkt->event means: events.h).
 */
#ifndef TW_DECODE_H
#define TW_DECODE_H

#include <stdint.h>
#include <stddef.h>

#include "events.h"

/* libpcap DLT_/LINKTYPE_ values we accept (numbers as in pcap/dlt.h). */
#define DECODE_LINK_NULL 0        /* BSD loopback: 4-byte host-order family */
#define DECODE_LINK_ETHERNET 1
#define DECODE_LINK_PPP 9         /* PPP: optional FF 03, then the protocol (RFC 1661) */
#define DECODE_LINK_PPP_HDLC 50   /* PPP in HDLC-like framing (RFC 1662) or Cisco HDLC */
#define DECODE_LINK_C_HDLC 104    /* Cisco HDLC: address, control, EtherType */
#define DECODE_LINK_RAW 101       /* LINKTYPE_RAW: raw IPv4/IPv6 */
#define DECODE_LINK_RAW_DLT 12    /* DLT_RAW on some platforms */
#define DECODE_LINK_RAW_DLT14 14  /* DLT_RAW on OpenBSD */
#define DECODE_LINK_LOOP 108      /* OpenBSD loopback: 4-byte network-order family */
#define DECODE_LINK_SLL 113       /* Linux cooked v1 */
#define DECODE_LINK_SLL2 276      /* Linux cooked v2 */
#define DECODE_LINK_IPV4 228
#define DECODE_LINK_IPV6 229

#define DECODE_MAX_VLAN 3

enum decode_status {
    DECODE_OK = 0,      /* a TCP segment over IPv4/IPv6: every field below is filled */
    DECODE_SKIP = 1,    /* well-formed but not for us (ARP, UDP, ICMP, a non-first fragment...) */
    DECODE_INVALID = 2, /* broken: `event` says why (events.h: an id EVE names) */
    DECODE_FRAGMENT = 3,/* an IPv4/IPv6 fragment: `frag` is filled; hand it to defrag, then
                           decode the reassembled datagram with decode_ip() */
};

/* One IP fragment as decode found it (RFC 791 §3.2, RFC 8200 §4.5). Spans point into the packet. */
struct packet_frag {
    uint8_t ip_version;       /* 4 or 6 */
    uint8_t proto;            /* IPv4 protocol / IPv6 next header after the Fragment header */
    uint8_t more;             /* MF flag */
    uint32_t id;              /* IPv4 identification (16 bits) or IPv6 identification */
    uint32_t offset;          /* fragment offset in bytes */
    const uint8_t *hdr;       /* IPv4: the IP header; IPv6: the unfragmentable part (the fixed
                                 header and extension headers before the Fragment header) */
    uint32_t hdr_len;
    const uint8_t *data;      /* the fragment's payload */
    uint32_t data_len;
};

/* Tunnels and encapsulations the packet came through, outermost first (the inner flow's
 * addresses are in the main fields; these note the outer layers for EVE). */
#define DECODE_MAX_TUNNELS 4
enum decode_tunnel_kind {
    TUNNEL_NONE = 0, TUNNEL_MPLS, TUNNEL_PPPOE, TUNNEL_GRE, TUNNEL_ERSPAN2, TUNNEL_ERSPAN3,
    TUNNEL_VXLAN, TUNNEL_GENEVE, TUNNEL_IPIP, TUNNEL_IP6IP,
};
/* TUNNEL_IPIP carries IPv4 (protocol 4), TUNNEL_IP6IP IPv6 (protocol 41); `ip_version` tells
 * the outer header's version. ERSPAN entries stand for their GRE header too (one entry). */
struct packet_tunnel {
    uint8_t kind;             /* enum decode_tunnel_kind */
    uint8_t ip_version;       /* of the outer IP header, 0 for MPLS/PPPoE */
    uint8_t src[16], dst[16]; /* outer addresses (IP tunnels) */
    uint32_t id;              /* VNI (VXLAN/Geneve), ERSPAN session, GRE key, MPLS label,
                                 PPPoE session id; 0 if none */
};

/* TCP flag bits as on the wire. */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

struct packet {
    /* input, set by the caller */
    const uint8_t *data;
    uint32_t caplen;     /* bytes present in data */
    uint32_t wirelen;    /* original length on the wire */
    int linktype;        /* DECODE_LINK_* */

    /* output */
    uint16_t vlan[DECODE_MAX_VLAN]; /* VLAN ids, outermost first */
    uint8_t vlan_count;
    uint8_t ip_version;  /* 4 or 6 */
    uint8_t ip_proto;    /* final upper-layer protocol (6 for TCP) */
    uint8_t src[16], dst[16]; /* addresses; IPv4 uses the first 4 bytes, rest zero */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint16_t window;
    uint8_t tcp_flags;   /* TCP_* bits */
    const uint8_t *l3;   /* the (innermost) IP header, for classifiers that want layer 3 */
    uint32_t l3_len;     /* bytes from l3 to the end of the capture */
    const uint8_t *payload; /* TCP payload, clipped to what was captured and to the IP length */
    uint32_t payload_len;
    uint8_t truncated;   /* payload shorter than the IP header says (snaplen) */
    uint16_t event;      /* enum event_id (events.h): why, for every result but DECODE_OK */
    struct packet_frag frag;                           /* for DECODE_FRAGMENT */
    struct packet_tunnel tunnel[DECODE_MAX_TUNNELS];   /* outer layers, outermost first */
    uint8_t tunnel_count;
    /* Configuration the caller sets (NULL = defaults: VXLAN 4789, Geneve 6081; a non-NULL
     * pointer with a count of 0 turns that tunnel off): */
    const uint16_t *vxlan_ports, *geneve_ports;
    uint8_t nvxlan_ports, ngeneve_ports;
};

/* Decodes pkt->data according to pkt->linktype down to TCP. Never reads past caplen.
 * Fills the output fields; returns enum decode_status. */
int decode_packet(struct packet *pkt);

/* Layer entry points, used by decode_packet() and by tests/fuzz targets. Each returns
 * enum decode_status and fills the fields of its layer and those below it. */
int decode_ethernet(struct packet *pkt, const uint8_t *p, size_t len);
int decode_ip(struct packet *pkt, const uint8_t *p, size_t len); /* by version nibble */
int decode_ipv4(struct packet *pkt, const uint8_t *p, size_t len);
int decode_ipv6(struct packet *pkt, const uint8_t *p, size_t len);
int decode_tcp(struct packet *pkt, const uint8_t *p, size_t len);
/* What follows an EtherType (Ethernet, SLL, GRE, Cisco HDLC): VLAN tags, IPv4, IPv6, MPLS,
 * PPPoE. p/len start right after the type field. */
int decode_ethertype(struct packet *pkt, uint16_t type, const uint8_t *p, size_t len);
/* Encapsulations (decode_tunnel.c). Each notes its layer in pkt->tunnel[] (DECODE_INVALID
 * EV_TOO_MANY_LAYERS past DECODE_MAX_TUNNELS) and decodes what it carries. */
int decode_udp(struct packet *pkt, const uint8_t *p, size_t len);  /* VXLAN/Geneve, else SKIP */
int decode_gre(struct packet *pkt, const uint8_t *p, size_t len);
int decode_mpls(struct packet *pkt, const uint8_t *p, size_t len);
int decode_pppoe(struct packet *pkt, const uint8_t *p, size_t len); /* session stage */
int decode_ppp(struct packet *pkt, const uint8_t *p, size_t len);   /* [FF 03] protocol ... */
/* IP-in-IP: proto 4 (IPv4 inside) or 41 (IPv6 inside), the outer header already decoded into
 * pkt's address fields. */
int decode_ipip(struct packet *pkt, uint8_t proto, const uint8_t *p, size_t len);

/* True when the linktype is one decode_packet() understands. */
int decode_linktype_supported(int linktype);

#endif
