/* events.h — every event an anomaly record can carry: the packet decoder's (one id per thing
 * that can be wrong with, or skipped in, a packet), TCP reassembly's and the app layer's; one
 * table gives each id its Suricata event name, EVE layer, text and anomaly type.
 *
 * Pipeline: [decode] sets pkt->event ─► pipeline ─► eve (anomaly records, by id); the app layer
 * names its stream and protocol anomalies by id the same way (app_tx.c). The table
 * (dissectors/decode/events.c) is the only place a name or a text is spelled: decoders set an
 * id, EVE indexes the table with it, rate limiting keys on it, tests compare ids. So the text
 * can be reworded without touching EVE, and EVE's names cannot drift apart from the decoders
 * (Suricata's decode-events.h/.c, same idea). Owns nothing: the table is constant.
 *
 * Adding an event: one enum line here, one table line in events.c, in the same order
 * (test_events checks the table dense and in step with the enum).
 */
#ifndef TW_EVENTS_H
#define TW_EVENTS_H

#include <stdint.h>

/* Named after the Suricata event name where Suricata has one meaning the same
 * (EV_IPV4_PKT_TOO_SMALL is decoder.ipv4.pkt_too_small), else after our own name. */
enum event_id {
    EV_NONE = 0, /* no event: a packet decoded whole (EVE: decoder.unknown, should it get there) */

    /* link layers (decode_link.c) */
    EV_ETHERNET_PKT_TOO_SMALL,
    EV_VLAN_HEADER_TOO_SMALL,
    EV_SLL_PKT_TOO_SMALL,
    EV_SLL2_HEADER_TRUNCATED,
    EV_C_HDLC_HEADER_TRUNCATED,
    EV_NULL_HEADER_TRUNCATED,
    EV_NULL_FAMILY_NOT_IP,          /* skip */
    EV_ETHERTYPE_NOT_IP,            /* skip */
    EV_LINKTYPE_UNSUPPORTED,        /* skip */

    /* IP (decode_ip.c) */
    EV_IP_HEADER_TRUNCATED,
    EV_IP_VERSION_INVALID,
    EV_IP_PROTO_NOT_TCP,            /* skip */
    EV_IPV4_PKT_TOO_SMALL,
    EV_IPV4_WRONG_IP_VERSION,
    EV_IPV4_HLEN_TOO_SMALL,
    EV_IPV4_IPLEN_SMALLER_THAN_HLEN,
    EV_IPV4_FRAGMENT,               /* a fragment, for defrag */
    EV_IPV6_PKT_TOO_SMALL,
    EV_IPV6_WRONG_IP_VERSION,
    EV_IPV6_NO_NEXT_HEADER,         /* skip */
    EV_IPV6_EXTHDR_TOO_MANY,
    EV_IPV6_TRUNC_EXTHDR,
    EV_IPV6_FRAGMENT,               /* a fragment, for defrag */

    /* TCP (decode_tcp.c) */
    EV_TCP_PKT_TOO_SMALL,
    EV_TCP_HLEN_TOO_SMALL,

    /* encapsulations (decode_tunnel.c) */
    EV_TOO_MANY_LAYERS,
    EV_MPLS_HEADER_TOO_SMALL,
    EV_MPLS_PAYLOAD_TRUNCATED,
    EV_MPLS_CONTROL_WORD_TRUNCATED,
    EV_MPLS_UNKNOWN_PAYLOAD_TYPE,   /* skip */
    EV_PPP_PKT_TOO_SMALL,
    EV_PPP_HEADER_INVALID,
    EV_PPP_WRONG_TYPE,              /* skip */
    EV_PPPOE_PKT_TOO_SMALL,
    EV_PPPOE_MALFORMED_TAGS,
    EV_PPPOE_DISCOVERY,             /* skip */
    EV_ERSPAN_HEADER_TOO_SMALL,
    EV_ERSPAN_UNSUPPORTED_VERSION,
    EV_ERSPAN_FRAME_TYPE_UNSUPPORTED, /* skip */
    EV_GRE_PKT_TOO_SMALL,
    EV_GRE_VERSION_1_PPTP,          /* skip */
    EV_GRE_WRONG_VERSION,
    EV_GRE_FLAGS_INVALID,
    EV_VXLAN_HEADER_TRUNCATED,
    EV_VXLAN_FLAGS_INVALID,
    EV_GENEVE_HEADER_TRUNCATED,
    EV_GENEVE_VERSION_INVALID,
    EV_GENEVE_OPTIONS_TRUNCATED,
    EV_UDP_PKT_TOO_SMALL,
    EV_UDP_HLEN_INVALID,

    /* TCP reassembly: anomaly type "stream" */
    EV_STREAM_REASSEMBLY_SEQ_GAP,
    EV_STREAM_REASSEMBLY_OVERLAP_DIFFERENT_DATA,

    /* the app layer (HTTP): anomaly type "applayer", libhtp's names */
    EV_HTTP_REQUEST_HEADER_INVALID,
    EV_HTTP_RESPONSE_HEADER_INVALID,
    EV_HTTP_REQUEST_FIELD_TOO_LONG,
    EV_HTTP_RESPONSE_FIELD_TOO_LONG,
    EV_HTTP_INVALID_REQUEST_CHUNK_LEN,
    EV_HTTP_INVALID_RESPONSE_CHUNK_LEN,
    EV_HTTP_UNABLE_TO_MATCH_RESPONSE_TO_REQUEST,
    EV_HTTP_COMPRESSION_BOMB,

    /* the app layer (HTTP/2): anomaly type "applayer", Suricata's http2 event names */
    EV_HTTP2_INVALID_FRAME_HEADER,
    EV_HTTP2_INVALID_CLIENT_MAGIC,
    EV_HTTP2_INVALID_FRAME_DATA,
    EV_HTTP2_INVALID_HEADER,
    EV_HTTP2_INVALID_FRAME_LENGTH,
    EV_HTTP2_LONG_FRAME_DATA,
    EV_HTTP2_STREAM_ID_REUSE,
    EV_HTTP2_TOO_MANY_STREAMS,
    EV_HTTP2_REASSEMBLY_LIMIT_REACHED,
    EV_HTTP2_INVALID_HTTP1_SETTINGS,

    EV__COUNT
};

/* One event. Strings are static and never NULL, but layer, which is NULL where the anomaly
 * record has no layer member. */
struct event_info {
    uint16_t id;       /* its own enum event_id: entry i has id i */
    const char *name;  /* Suricata event name, EVE anomaly.event ("decoder.ipv4.pkt_too_small") */
    const char *layer; /* EVE anomaly.layer ("ipv4"), or NULL */
    const char *text;  /* what went wrong, for people and test failures; not in EVE */
    const char *type;  /* EVE anomaly.type: "decode", "stream" or "applayer" */
};

/* The table entry of id. An id out of range gets EV_NONE's entry, so the result is never NULL. */
const struct event_info *events_get(unsigned id);

/* events_get(id)->text, for messages. */
const char *events_text(unsigned id);

#endif
