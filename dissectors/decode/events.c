/* events.c — the table of every event an anomaly record can carry (events.h): the packet
 * decoder's, TCP reassembly's and the app layer's; id, Suricata event name, EVE layer, text,
 * anomaly type.
 *
 * Pipeline: decode sets an id ─► eve looks it up here. Constant data, no state; it sits with
 * the decoders so that dissectors/ links without sensor/ and EVE reads the same table.
 *
 * Names: Suricata's decoder event names where Suricata has an event that means the same; the
 * others are ours, spelled as Suricata would: decoder.<layer>.<what>. The names, layers and
 * texts below are what EVE has always printed for these events: changing a name or a layer
 * changes EVE output, changing a text does not.
 */
#include "events.h"

#include <stddef.h>

/* In enum order, one line per id, with the id spelled out (test_events checks entry i has id
 * i), as Suricata's DEvents[] lists its codes. */
static const struct event_info events[] = {
    {EV_NONE, "decoder.unknown", NULL, "no event", "decode"},

    {EV_ETHERNET_PKT_TOO_SMALL, "decoder.ethernet.pkt_too_small", "ethernet",
     "ethernet header truncated", "decode"},
    {EV_VLAN_HEADER_TOO_SMALL, "decoder.vlan.header_too_small", "vlan", "vlan header truncated", "decode"},
    {EV_SLL_PKT_TOO_SMALL, "decoder.sll.pkt_too_small", "sll", "sll header truncated", "decode"},
    {EV_SLL2_HEADER_TRUNCATED, "decoder.sll2.header_truncated", "sll2", "sll2 header truncated", "decode"},
    {EV_C_HDLC_HEADER_TRUNCATED, "decoder.c_hdlc.header_truncated", "c-hdlc",
     "c-hdlc header truncated", "decode"},
    {EV_NULL_HEADER_TRUNCATED, "decoder.null.header_truncated", "null", "null header truncated", "decode"},
    {EV_NULL_FAMILY_NOT_IP, "decoder.null.family_not_ip", "null", "null family not ip", "decode"},
    {EV_ETHERTYPE_NOT_IP, "decoder.ethertype.not_ip", "ethertype", "ethertype not ip", "decode"},
    {EV_LINKTYPE_UNSUPPORTED, "decoder.linktype.unsupported", "linktype", "linktype unsupported", "decode"},

    {EV_IP_HEADER_TRUNCATED, "decoder.ip.header_truncated", "ip", "ip header truncated", "decode"},
    {EV_IP_VERSION_INVALID, "decoder.ip.version_invalid", "ip", "ip version invalid", "decode"},
    {EV_IP_PROTO_NOT_TCP, "decoder.ip.proto_not_tcp", "ip", "ip proto not tcp", "decode"},
    {EV_IPV4_PKT_TOO_SMALL, "decoder.ipv4.pkt_too_small", "ipv4", "ipv4 header truncated", "decode"},
    {EV_IPV4_WRONG_IP_VERSION, "decoder.ipv4.wrong_ip_version", "ipv4", "ipv4 version invalid", "decode"},
    {EV_IPV4_HLEN_TOO_SMALL, "decoder.ipv4.hlen_too_small", "ipv4", "ipv4 header length invalid", "decode"},
    {EV_IPV4_IPLEN_SMALLER_THAN_HLEN, "decoder.ipv4.iplen_smaller_than_hlen", "ipv4",
     "ipv4 total length invalid", "decode"},
    {EV_IPV4_FRAGMENT, "decoder.ipv4.fragment", "ipv4", "ipv4 fragment", "decode"},
    {EV_IPV6_PKT_TOO_SMALL, "decoder.ipv6.pkt_too_small", "ipv6", "ipv6 header truncated", "decode"},
    {EV_IPV6_WRONG_IP_VERSION, "decoder.ipv6.wrong_ip_version", "ipv6", "ipv6 version invalid", "decode"},
    {EV_IPV6_NO_NEXT_HEADER, "decoder.ipv6.no_next_header", "ipv6", "ipv6 no next header", "decode"},
    {EV_IPV6_EXTHDR_TOO_MANY, "decoder.ipv6.exthdr_too_many", "ipv6",
     "ipv6 extension chain too long", "decode"},
    {EV_IPV6_TRUNC_EXTHDR, "decoder.ipv6.trunc_exthdr", "ipv6", "ipv6 extension header truncated", "decode"},
    {EV_IPV6_FRAGMENT, "decoder.ipv6.fragment", "ipv6", "ipv6 fragment", "decode"},

    {EV_TCP_PKT_TOO_SMALL, "decoder.tcp.pkt_too_small", "tcp", "tcp header truncated", "decode"},
    {EV_TCP_HLEN_TOO_SMALL, "decoder.tcp.hlen_too_small", "tcp", "tcp data offset invalid", "decode"},

    {EV_TOO_MANY_LAYERS, "decoder.too_many_layers", "tunnel", "tunnel nesting too deep", "decode"},
    {EV_MPLS_HEADER_TOO_SMALL, "decoder.mpls.header_too_small", "mpls", "mpls header truncated", "decode"},
    {EV_MPLS_PAYLOAD_TRUNCATED, "decoder.mpls.payload_truncated", "mpls",
     "mpls payload truncated", "decode"},
    {EV_MPLS_CONTROL_WORD_TRUNCATED, "decoder.mpls.control_word_truncated", "mpls",
     "mpls control word truncated", "decode"},
    {EV_MPLS_UNKNOWN_PAYLOAD_TYPE, "decoder.mpls.unknown_payload_type", "mpls",
     "mpls payload unknown", "decode"},
    {EV_PPP_PKT_TOO_SMALL, "decoder.ppp.pkt_too_small", "ppp", "ppp header truncated", "decode"},
    {EV_PPP_HEADER_INVALID, "decoder.ppp.header_invalid", "ppp", "ppp header invalid", "decode"},
    {EV_PPP_WRONG_TYPE, "decoder.ppp.wrong_type", "ppp", "ppp protocol not ip", "decode"},
    {EV_PPPOE_PKT_TOO_SMALL, "decoder.pppoe.pkt_too_small", "pppoe", "pppoe header truncated", "decode"},
    {EV_PPPOE_MALFORMED_TAGS, "decoder.pppoe.malformed_tags", "pppoe", "pppoe header invalid", "decode"},
    {EV_PPPOE_DISCOVERY, "decoder.pppoe.discovery", "pppoe", "pppoe discovery", "decode"},
    {EV_ERSPAN_HEADER_TOO_SMALL, "decoder.erspan.header_too_small", "erspan",
     "erspan header truncated", "decode"},
    {EV_ERSPAN_UNSUPPORTED_VERSION, "decoder.erspan.unsupported_version", "erspan",
     "erspan version invalid", "decode"},
    {EV_ERSPAN_FRAME_TYPE_UNSUPPORTED, "decoder.erspan.frame_type_unsupported", "erspan",
     "erspan frame type unsupported", "decode"},
    {EV_GRE_PKT_TOO_SMALL, "decoder.gre.pkt_too_small", "gre", "gre header truncated", "decode"},
    {EV_GRE_VERSION_1_PPTP, "decoder.gre.version_1__pptp_", "gre", "gre version 1 (pptp)", "decode"},
    {EV_GRE_WRONG_VERSION, "decoder.gre.wrong_version", "gre", "gre version invalid", "decode"},
    {EV_GRE_FLAGS_INVALID, "decoder.gre.flags_invalid", "gre", "gre flags invalid", "decode"},
    {EV_VXLAN_HEADER_TRUNCATED, "decoder.vxlan.header_truncated", "vxlan",
     "vxlan header truncated", "decode"},
    {EV_VXLAN_FLAGS_INVALID, "decoder.vxlan.flags_invalid", "vxlan", "vxlan flags invalid", "decode"},
    {EV_GENEVE_HEADER_TRUNCATED, "decoder.geneve.header_truncated", "geneve",
     "geneve header truncated", "decode"},
    {EV_GENEVE_VERSION_INVALID, "decoder.geneve.version_invalid", "geneve",
     "geneve version invalid", "decode"},
    {EV_GENEVE_OPTIONS_TRUNCATED, "decoder.geneve.options_truncated", "geneve",
     "geneve options truncated", "decode"},
    {EV_UDP_PKT_TOO_SMALL, "decoder.udp.pkt_too_small", "udp", "udp header truncated", "decode"},
    {EV_UDP_HLEN_INVALID, "decoder.udp.hlen_invalid", "udp", "udp length invalid", "decode"},

    /* TCP reassembly (sensor/flow/stream.c, reported by the app layer that meets the gap) */
    {EV_STREAM_REASSEMBLY_SEQ_GAP, "stream.reassembly_seq_gap", NULL,
     "bytes missing in a TCP stream", "stream"},
    {EV_STREAM_REASSEMBLY_OVERLAP_DIFFERENT_DATA, "stream.reassembly_overlap_different_data",
     NULL, "a retransmission carries different bytes", "stream"},

    /* HTTP (sensor/app/app_http1.c, app_tx.c): libhtp's event names, as Suricata prints them */
    {EV_HTTP_REQUEST_HEADER_INVALID, "REQUEST_HEADER_INVALID", "proto_parser",
     "http request head invalid", "applayer"},
    {EV_HTTP_RESPONSE_HEADER_INVALID, "RESPONSE_HEADER_INVALID", "proto_parser",
     "http response head invalid", "applayer"},
    {EV_HTTP_REQUEST_FIELD_TOO_LONG, "REQUEST_FIELD_TOO_LONG", "proto_parser",
     "http request head over engine.http-max-head", "applayer"},
    {EV_HTTP_RESPONSE_FIELD_TOO_LONG, "RESPONSE_FIELD_TOO_LONG", "proto_parser",
     "http response head over engine.http-max-head", "applayer"},
    {EV_HTTP_INVALID_REQUEST_CHUNK_LEN, "INVALID_REQUEST_CHUNK_LEN", "proto_parser",
     "http request chunk size invalid", "applayer"},
    {EV_HTTP_INVALID_RESPONSE_CHUNK_LEN, "INVALID_RESPONSE_CHUNK_LEN", "proto_parser",
     "http response chunk size invalid", "applayer"},
    {EV_HTTP_UNABLE_TO_MATCH_RESPONSE_TO_REQUEST, "UNABLE_TO_MATCH_RESPONSE_TO_REQUEST",
     "proto_parser", "http response without a request", "applayer"},
    {EV_HTTP_COMPRESSION_BOMB, "COMPRESSION_BOMB", "proto_parser",
     "http body inflates past engine.inflate-ratio", "applayer"},

    /* HTTP/2 (sensor/app/app_http2*.c): Suricata's http2 events, named as its EVE prints them
     * (rust/src/http2/http2.rs HTTP2Event, in snake case) */
    {EV_HTTP2_INVALID_FRAME_HEADER, "invalid_frame_header", "proto_parser",
     "http2 frame header breaks a stream id or sequence rule", "applayer"},
    {EV_HTTP2_INVALID_CLIENT_MAGIC, "invalid_client_magic", "proto_parser",
     "http2 client preface missing or wrong", "applayer"},
    {EV_HTTP2_INVALID_FRAME_DATA, "invalid_frame_data", "proto_parser",
     "http2 frame padding longer than its payload", "applayer"},
    {EV_HTTP2_INVALID_HEADER, "invalid_header", "proto_parser",
     "http2 header block does not decode (hpack)", "applayer"},
    {EV_HTTP2_INVALID_FRAME_LENGTH, "invalid_frame_length", "proto_parser",
     "http2 frame length wrong for its type", "applayer"},
    {EV_HTTP2_LONG_FRAME_DATA, "long_frame_data", "proto_parser",
     "http2 frame over the receiver's max frame size", "applayer"},
    {EV_HTTP2_STREAM_ID_REUSE, "stream_id_reuse", "proto_parser",
     "http2 request on a stream id already used", "applayer"},
    {EV_HTTP2_TOO_MANY_STREAMS, "too_many_streams", "proto_parser",
     "http2 streams in flight over the tracked limit", "applayer"},
    {EV_HTTP2_REASSEMBLY_LIMIT_REACHED, "reassembly_limit_reached", "proto_parser",
     "http2 header block over engine.http-max-head or the memcap", "applayer"},
    {EV_HTTP2_INVALID_HTTP1_SETTINGS, "invalid_http1_settings", "proto_parser",
     "h2c upgrade's HTTP2-Settings is not a base64url SETTINGS payload", "applayer"},
};

_Static_assert(sizeof(events) / sizeof(events[0]) == EV__COUNT,
              "events[] has one entry per enum event_id");

const struct event_info *events_get(unsigned id)
{
    return &events[id < EV__COUNT ? id : EV_NONE];
}

const char *events_text(unsigned id)
{
    return events_get(id)->text;
}
