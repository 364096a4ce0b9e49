#!/usr/bin/python3
"""make_encap.py — the e2e cases for encapsulations and link types (issue 3): one capture per
tunnel or link type in pcaps/tests/encap_<name>.pcap and a case tests/e2e/encap_<name>/case.json.

Each capture carries two HTTP connections through the same wrapping: one with a valid demo token
(a `token` record, signature valid, no alert) and one with the same kind of token whose signature
was forged (one bit flipped: a signature_invalid alert). The expectations name the INNER flow's
addresses and ports and the HTTP fields, so an alert proves the sensor decoded through every
layer to the right flow; `stats.decoder.invalid` 0 proves no packet of the capture was refused.

Wrappings (wire formats as dissectors/decode/decode_tunnel.c's header comment lists them): MPLS (two
labels; and a pseudowire with control word + Ethernet), PPPoE, GRE (with key; with checksum and
sequence number; transparent Ethernet bridging), ERSPAN II and III, VXLAN (default port, inside
QinQ, and on a configured port), Geneve (with options, over IPv6), IP-in-IP 4in4/6in4/4in6/6in6,
and the link types PPP (DLT 9) and Cisco HDLC (DLT 104). Outer checksums (IPv4, UDP) are real.

Called by make_captures.py (which clears pcaps/tests first); deterministic.
"""
import ipaddress
import struct

import pcapgen as P
import tokens as T
from make_captures import TEST_DIR, Case, Req, simple_conn, tok_valid_org, write_capture

LINKTYPE_PPP = 9
LINKTYPE_C_HDLC = 104

CLIENT4, SERVER4 = "10.40.0.21", "198.51.100.40"
CLIENT6, SERVER6 = "fd00:40::21", "fd00:51::40"
# Tunnel endpoints: A on the client's side, B on the server's side.
A4, B4 = "192.0.2.101", "192.0.2.202"
A6, B6 = "2001:db8:a::1", "2001:db8:b::2"
HOST = "graph.example.com"
ROUTER_A, ROUTER_B = bytes.fromhex("0200000000a1"), bytes.fromhex("0200000000b2")


# --- headers ------------------------------------------------------------------------------------

def etype(v6):
    return 0x86DD if v6 else 0x0800


def eth(payload, typ, from_client, macs=(P.Link.CLIENT_MAC, P.Link.SERVER_MAC), tags=()):
    """tags: (tpid, vid) outermost first."""
    src, dst = macs if from_client else macs[::-1]
    hdr = dst + src
    for tpid, vid in tags:
        hdr += struct.pack("!HH", tpid, vid)
    return hdr + struct.pack("!H", typ) + payload


class Outer:
    """The outer IP header of an IP tunnel, between endpoints a and b, with its own IP ids."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.v6 = ipaddress.ip_address(a).version == 6
        self.ident = 0x2200

    def ends(self, from_client):
        return (self.a, self.b) if from_client else (self.b, self.a)

    def ip(self, proto, payload, from_client):
        src, dst = self.ends(from_client)
        if self.v6:
            return P.ipv6_packet(src, dst, proto, payload)
        self.ident += 1
        return P.ipv4_packet(src, dst, proto, payload, self.ident)

    def udp(self, sport, dport, payload, from_client):
        """UDP (RFC 768) with its checksum over the pseudo-header (RFC 8200 §8.1 for IPv6)."""
        src, dst = self.ends(from_client)
        length = 8 + len(payload)
        a, b = ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed
        pseudo = a + b + (struct.pack("!I3xB", length, 17) if self.v6 else struct.pack("!BBH", 0, 17, length))
        hdr = struct.pack("!HHHH", sport, dport, length, 0)
        c = P.csum(pseudo + hdr + payload) or 0xffff
        return self.ip(17, struct.pack("!HHHH", sport, dport, length, c) + payload, from_client)


def gre(proto, payload, key=None, seq=None, checksum=False):
    """RFC 2784 / RFC 2890 header; the checksum covers the GRE header and payload."""
    flags = (0x8000 if checksum else 0) | (0x2000 if key is not None else 0) | (0x1000 if seq is not None else 0)
    opts = b""
    if key is not None:
        opts += struct.pack("!I", key)
    if seq is not None:
        opts += struct.pack("!I", seq & 0xffffffff)
    if checksum:
        c = P.csum(struct.pack("!HHHH", flags, proto, 0, 0) + opts + payload)
        return struct.pack("!HHHH", flags, proto, c, 0) + opts + payload
    return struct.pack("!HH", flags, proto) + opts + payload


def mpls(labels, payload):
    out = b""
    for i, lbl in enumerate(labels):
        out += struct.pack("!I", lbl << 12 | (0x100 if i == len(labels) - 1 else 0) | 64)
    return out + payload


def vxlan(vni, frame):
    return struct.pack("!BxxxI", 0x08, vni << 8) + frame


def geneve(vni, proto, payload, options=b""):
    assert len(options) % 4 == 0
    return struct.pack("!BBHI", len(options) // 4, 0, proto, vni << 8) + options + payload


def erspan2(session, frame, index=0):
    return struct.pack("!HHI", 0x1000 | 0, (0 << 13) | (3 << 11) | session, index & 0xfffff) + frame


def erspan3(session, frame, ts, platform=None):
    """Frame type 0 (Ethernet); with `platform` (8 bytes) the O bit and subheader."""
    last = (0 << 15) | (0 << 10) | (1 << 4) | (1 if platform else 0)   # P, FT, HW ID, D, Gra, O
    return struct.pack("!HHIHH", 0x2000, session, ts & 0xffffffff, 0, last) + (platform or b"") + frame


# --- links: each wraps one inner IP packet of a connection into a frame ------------------------

class Encap:
    def __init__(self, linktype, fn):
        self.linktype, self.fn = linktype, fn

    def wrap(self, l3, v6, from_client):
        return self.fn(l3, v6, from_client)


def ip_tunnel_over_eth(outer, inner_fn, tags=()):
    """Ethernet between the tunnel routers, outer IP, then inner_fn(l3, v6, from_client) ->
    (ip protocol, payload)."""
    def wrap(l3, v6, fc):
        proto, payload = inner_fn(l3, v6, fc)
        return eth(outer.ip(proto, payload, fc), etype(outer.v6), fc, (ROUTER_A, ROUTER_B), tags)
    return Encap(P.LINKTYPE_ETHERNET, wrap)


def links():
    """name -> (description, Encap, inner v6?, extra case args, extra alert match)."""
    out = {}

    def ethv(l3, v6, fc):
        return eth(l3, etype(v6), fc)

    out["mpls"] = ("MPLS: a two-label stack (transport 16004, service 3001) over Ethernet, IPv4 inside, "
                   "its type guessed from the first nibble.",
                   Encap(P.LINKTYPE_ETHERNET, lambda l3, v6, fc: eth(mpls([16004, 3001], l3), 0x8847, fc,
                                                                   (ROUTER_A, ROUTER_B))), False)
    out["mpls_pw"] = ("MPLS Ethernet pseudowire: label 500, control word, then the customer's Ethernet frame "
                      "(IPv6).",
                      Encap(P.LINKTYPE_ETHERNET, lambda l3, v6, fc: eth(mpls([500], b"\0\0\0\0" + ethv(l3, v6, fc)),
                                                                      0x8847, fc, (ROUTER_A, ROUTER_B))), True)
    out["pppoe"] = ("PPPoE session 0x2a17 (RFC 2516) carrying PPP IPv4, on VLAN 35.",
                    Encap(P.LINKTYPE_ETHERNET,
                          lambda l3, v6, fc: eth(struct.pack("!BBHHH", 0x11, 0, 0x2a17, 2 + len(l3),
                                                             0x0057 if v6 else 0x0021) + l3, 0x8864, fc,
                                                 tags=[(0x8100, 35)])), False)
    o = Outer(A4, B4)
    out["gre"] = ("GRE with key 1001 (RFC 2890) between 192.0.2.101 and 192.0.2.202, IPv4 inside.",
                  ip_tunnel_over_eth(o, lambda l3, v6, fc: (47, gre(etype(v6), l3, key=1001))), False)
    o2, seq = Outer(A6, B6), [0]

    def gre_cs(l3, v6, fc):
        seq[0] += 1
        return 47, gre(etype(v6), l3, seq=seq[0], checksum=True)
    out["gre_csum_seq"] = ("GRE over IPv6 with checksum and sequence number, IPv6 inside.",
                           ip_tunnel_over_eth(o2, gre_cs), True)
    o3 = Outer(A4, B4)
    out["gre_teb"] = ("GRE transparent Ethernet bridging (0x6558), key 7: a whole Ethernet frame inside.",
                      ip_tunnel_over_eth(o3, lambda l3, v6, fc: (47, gre(0x6558, ethv(l3, v6, fc), key=7))), False)
    o4, idx = Outer(A4, B4), [0]

    def span2(l3, v6, fc):
        idx[0] += 1
        # A mirror session sends both directions from the switch (A) to the collector (B).
        return 47, gre(0x88BE, erspan2(121, ethv(l3, v6, fc), idx[0]), seq=idx[0])
    out["erspan2"] = ("ERSPAN type II, session 121: both directions mirrored from 192.0.2.101 to 192.0.2.202.",
                      Encap(P.LINKTYPE_ETHERNET, lambda l3, v6, fc: eth(o4.ip(*span2(l3, v6, fc), True), 0x0800,
                                                                      True, (ROUTER_A, ROUTER_B))), False)
    o5, idx3 = Outer(A4, B4), [0]

    def span3(l3, v6, fc):
        idx3[0] += 1
        return 47, gre(0x22EB, erspan3(802, ethv(l3, v6, fc), 0x1000 + idx3[0], platform=bytes.fromhex("0300000012345678")),
                       seq=idx3[0])
    out["erspan3"] = ("ERSPAN type III, session 802, with the 8-byte platform subheader (O bit), IPv6 inside.",
                      Encap(P.LINKTYPE_ETHERNET, lambda l3, v6, fc: eth(o5.ip(*span3(l3, v6, fc), True), 0x0800,
                                                                      True, (ROUTER_A, ROUTER_B))), True)

    def vx(outer, dport, tags=()):
        def wrap(l3, v6, fc):
            sport = 49152 + (len(l3) * 7919) % 16384     # VTEPs pick the source port by flow hash
            return eth(outer.udp(sport, dport, vxlan(0x00beef, ethv(l3, v6, fc)), fc), etype(outer.v6), fc,
                       (ROUTER_A, ROUTER_B), tags)
        return Encap(P.LINKTYPE_ETHERNET, wrap)
    out["vxlan"] = ("VXLAN VNI 0xbeef on UDP 4789 between 192.0.2.101 and 192.0.2.202.", vx(Outer(A4, B4), 4789),
                    False)
    out["vxlan_qinq"] = ("VXLAN inside QinQ (802.1ad 300, 802.1Q 400 on the underlay).",
                         vx(Outer(A4, B4), 4789, [(0x88A8, 300), (0x8100, 400)]), False,
                         [], {"vlan": [300, 400]})
    out["vxlan_port"] = ("VXLAN on UDP 8472 (Linux's old default), decoded because decode.vxlan-ports says so.",
                         vx(Outer(A4, B4), 8472), False, ["--set", "decode.vxlan-ports=[4789, 8472]"])

    def gnv(l3, v6, fc):
        opts = struct.pack("!HBB", 0x0102, 0x80, 1) + bytes.fromhex("0a0b0c0d")   # one 4-byte option
        return eth(o6.udp(50000, 6081, geneve(0x00cafe, 0x6558, ethv(l3, v6, fc), opts), fc), 0x86DD, fc,
                   (ROUTER_A, ROUTER_B))
    o6 = Outer(A6, B6)
    out["geneve"] = ("Geneve VNI 0xcafe with one option on UDP 6081, over IPv6, Ethernet inside.",
                     Encap(P.LINKTYPE_ETHERNET, gnv), False)
    for name, outer, v6 in (("ipip_4in4", Outer(A4, B4), False), ("ipip_6in4", Outer(A4, B4), True),
                            ("ipip_4in6", Outer(A6, B6), False), ("ipip_6in6", Outer(A6, B6), True)):
        out[name] = ("IP-in-IP %s: protocol %d in an IPv%d outer header." % (name[5:], 41 if v6 else 4,
                                                                            6 if outer.v6 else 4),
                     ip_tunnel_over_eth(outer, lambda l3, v6_, fc: (41 if v6_ else 4, l3)), v6)
    out["ppp"] = ("Link type PPP (DLT 9): FF 03 address/control, protocol 0x0021 (IPv4).",
                  Encap(LINKTYPE_PPP, lambda l3, v6, fc: b"\xff\x03" + struct.pack("!H", 0x0057 if v6 else 0x0021)
                        + l3), False)
    out["chdlc"] = ("Link type Cisco HDLC (DLT 104): unicast address, EtherType 0x86DD (IPv6).",
                    Encap(LINKTYPE_C_HDLC, lambda l3, v6, fc: b"\x0f\x00" + struct.pack("!H", etype(v6)) + l3), True)
    return out


def encap_case(name, spec, t):
    description, link, v6 = spec[:3]
    args = spec[3] if len(spec) > 3 else []
    extra = spec[4] if len(spec) > 4 else {}
    case = Case("encap_" + name, description, [TEST_DIR + "/encap_%s.pcap" % name], args=args)
    client, server = (CLIENT6, SERVER6) if v6 else (CLIENT4, SERVER4)
    good = tok_valid_org(t, "org-1", sub="encap-%s" % name)
    forged = T.flip_signature_byte(tok_valid_org(t, "org-2", sub="encap-%s-forged" % name))
    cap = P.Capture(link.linktype)
    c1, r_good = simple_conn(lambda c: Req(c, good, url="/v1.0/me/messages?$top=5", host=HOST), client, 52001,
                             server=server)
    c2, r_forged = simple_conn(lambda c: Req(c, forged, url="/v1.0/me/drive/root", host=HOST, status=401), client,
                               52002, server=server)
    end = cap.add_conn(c1, link, t)
    cap.add_conn(c2, link, end + 0.5)
    write_capture(cap, case.pcaps[0])
    case.alert(r_forged, ["signature_invalid"], dict({"token.signature": "invalid",
                                                     "token.keyset": "demo-organizations"}, **extra))
    case.token(r_good, dict({"token.signature": "valid", "token.keyset": "demo-organizations"}, **extra))
    case.token(r_forged, {"token.findings": ["signature_invalid"]})
    case.expect({"event_type": "alert"}, count=1)
    case.expect({"event_type": "stats", "stats.decoder.invalid": 0, "stats.tokens.seen": 2}, count=1)
    case.write()


def make_all():
    t = P.T0 + 14400
    for i, (name, spec) in enumerate(links().items()):
        encap_case(name, spec, t + i * 60)


if __name__ == "__main__":
    import make_captures     # noqa: F401  (one module instance, as make_captures.main() has it)
    make_all()
    for p, n in make_captures.WRITTEN:
        print("%7d  %s" % (n, p))
