#!/usr/bin/python3
"""make_decode_corpus.py — writes the seed corpus for fuzz_decode into tests/fuzz/corpus/decode/.

Each file is a 2-byte big-endian index into fuzz_decode.c's link type list, then a frame.
Valid frames for every link type plus edge cases (VLAN stacks, IPv6 extension chains,
fragments, truncations, bad lengths) and one frame per encapsulation (MPLS, PPPoE, GRE, ERSPAN,
VXLAN, Geneve, IP-in-IP, PPP, Cisco HDLC), nested ones and one nested too deep. Deterministic; stdlib only. Run from anywhere:
    /usr/bin/python3 tests/fuzz/make_decode_corpus.py
"""
import os
import struct

# Same order as linktypes[] in fuzz_decode.c.
ETH, SLL, SLL2, RAW, RAW12, RAW14, IPV4, IPV6, NULL, LOOP, PPP, PPP_HDLC, C_HDLC = range(13)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "decode")

PAYLOAD = b"GET /api HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer eyJ.e30.x\r\n\r\n"
SRC4, DST4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
SRC6 = bytes.fromhex("20010db8000000000000000000000001")
DST6 = bytes.fromhex("20010db8000000000000000000000002")


def tcp(payload=PAYLOAD, opts=b"", flags=0x18, doff=None):
    if doff is None:
        doff = (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", 40000, 80, 1000, 2000, doff << 4, flags, 65535, 0, 0) + opts + payload


def ipv4(l4, proto=6, opts=b"", frag=0x4000, total=None, vihl=None):
    hlen = 20 + len(opts)
    if total is None:
        total = hlen + len(l4)
    if vihl is None:
        vihl = 0x40 | (hlen // 4)
    return struct.pack("!BBHHHBBH", vihl, 0, total, 1, frag, 64, proto, 0) + SRC4 + DST4 + opts + l4


def ipv6(rest, nh=6, plen=None):
    if plen is None:
        plen = len(rest)
    return struct.pack("!IHBB", 0x60000000, plen, nh, 64) + SRC6 + DST6 + rest


def ext(nh, units=1):
    return bytes([nh, units - 1]) + bytes(units * 8 - 2)


def eth(body, etype=0x0800, tags=()):
    hdr = b"\x02" * 6 + b"\x04" * 6
    for tpid, vid in tags:
        hdr += struct.pack("!HH", tpid, vid)
    return hdr + struct.pack("!H", etype) + body


def sll(body, proto):
    return struct.pack("!HHH", 0, 1, 6) + b"\x02" * 8 + struct.pack("!H", proto) + body


def sll2(body, proto):
    return struct.pack("!HHIHBB", proto, 0, 2, 1, 0, 6) + b"\x02" * 8 + body


def fam_le(af, body):
    return struct.pack("<I", af) + body


def fam_be(af, body):
    return struct.pack("!I", af) + body


def udp(body, dport, sport=40000):
    return struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body


def gre(body, proto, flags=0, opts=b""):
    return struct.pack("!HH", flags, proto) + opts + body


def mpls(body, labels):
    out = b""
    for i, lbl in enumerate(labels):
        out += struct.pack("!I", lbl << 12 | (0x100 if i == len(labels) - 1 else 0) | 64)
    return out + body


def pppoe(ppp_body, proto, sid=0x1234):
    return struct.pack("!BBHHH", 0x11, 0, sid, 2 + len(ppp_body), proto) + ppp_body


V4 = ipv4(tcp())
V6 = ipv6(tcp())
VXLAN = eth(ipv4(udp(struct.pack("!BxxxI", 0x08, 5001 << 8) + eth(V4), 4789), proto=17))
SEEDS = {
    "eth_ipv4": (ETH, eth(V4)),
    "eth_ipv6": (ETH, eth(V6, 0x86DD)),
    "eth_vlan": (ETH, eth(V4, tags=[(0x8100, 100)])),
    "eth_qinq": (ETH, eth(V4, tags=[(0x88A8, 200), (0x8100, 10)])),
    "eth_5tags": (ETH, eth(V6, 0x86DD, tags=[(0x9100, 1), (0x88A8, 2), (0x8100, 3), (0x8100, 4), (0x8100, 5)])),
    "eth_arp": (ETH, eth(bytes(28), 0x0806)),
    "eth_padding": (ETH, eth(ipv4(tcp(b""))) + bytes(6)),
    "eth_snapped": (ETH, eth(V4)[:60]),
    "eth_vlan_cut": (ETH, eth(b"", 0x8100)[:14] + b"\x00"),
    "sll_ipv4": (SLL, sll(V4, 0x0800)),
    "sll2_ipv6": (SLL2, sll2(V6, 0x86DD)),
    "sll2_vlan": (SLL2, sll2(struct.pack("!HH", 7, 0x0800) + V4, 0x8100)),
    "raw_ipv4_opts": (RAW, ipv4(tcp(opts=b"\x02\x04\x05\xb4\x01\x03\x03\x07"), opts=b"\x01" * 8)),
    "raw12_ipv6": (RAW12, V6),
    "raw14_udp": (RAW14, ipv4(struct.pack("!HHHH", 53, 53, 12, 0) + b"abcd", proto=17)),
    "ipv4_first_frag": (IPV4, ipv4(tcp(), frag=0x2000)),
    "ipv4_later_frag": (IPV4, ipv4(PAYLOAD, frag=0x0010)),
    "ipv4_bad_ihl": (IPV4, ipv4(tcp(), vihl=0x43)),
    "ipv4_short_total": (RAW, ipv4(tcp(), total=12)),
    "ipv4_long_total": (RAW, ipv4(tcp(), total=1500)),
    "tcp_bad_doff": (RAW, ipv4(tcp(doff=3))),
    "tcp_doff_past_end": (RAW, ipv4(tcp(b"", doff=15))),
    "ipv6_ext_chain": (IPV6, ipv6(ext(60) + ext(43, 2) + ext(6, 3) + tcp(), nh=0)),
    "ipv6_ah": (IPV6, ipv6(bytes([6, 4]) + bytes(22) + tcp(), nh=51)),
    "ipv6_atomic_frag": (IPV6, ipv6(struct.pack("!BBHI", 6, 0, 0, 9) + tcp(), nh=44)),
    "ipv6_frag_mf": (RAW, ipv6(struct.pack("!BBHI", 6, 0, 1, 9) + tcp(), nh=44)),
    "ipv6_no_next": (RAW, ipv6(ext(59), nh=60)),
    "ipv6_chain9": (RAW, ipv6(b"".join(ext(60) for _ in range(8)) + ext(6) + tcp(), nh=60)),
    "ipv6_jumbo": (RAW, ipv6(bytes([6, 0, 0xC2, 4]) + struct.pack("!I", 8 + 20 + len(PAYLOAD)) + tcp(), nh=0, plen=0)),
    "ipv6_ext_overrun": (RAW, ipv6(bytes([6, 200]) + bytes(6) + tcp(), nh=0)),
    "null_le_ipv4": (NULL, fam_le(2, V4)),
    "null_be_ipv6_28": (NULL, fam_be(28, V6)),
    "null_le_ipv6_30": (NULL, fam_le(30, V6)),
    "null_le_ipv6_24": (NULL, fam_le(24, V6)),
    "loop_ipv4": (LOOP, fam_be(2, V4)),
    "loop_le_refused": (LOOP, fam_le(2, V4)),
    "empty_eth": (ETH, b""),
    "mpls_ipv4": (ETH, eth(mpls(V4, [16, 17]), 0x8847)),
    "mpls_cw_eth": (ETH, eth(mpls(b"\0\0\0\0" + eth(V6, 0x86DD), [99]), 0x8847)),
    "pppoe_ipv6": (ETH, eth(pppoe(V6, 0x0057), 0x8864, tags=[(0x8100, 5)])),
    "pppoe_discovery": (ETH, eth(bytes([0x11, 0x09, 0, 0, 0, 4, 1, 1, 0, 0]), 0x8863)),
    "gre_ipv4": (RAW, ipv4(gre(V4, 0x0800), proto=47)),
    "gre_teb_ckey_seq": (RAW, ipv6(gre(eth(V4), 0x6558, 0xB000, bytes(4) + struct.pack("!II", 42, 7)), nh=47)),
    "gre_pptp": (RAW, ipv4(gre(b"\xff\x03\x00\x21" + V4, 0x880B, 0x3001, struct.pack("!HHI", 28, 1, 9)), proto=47)),
    "erspan2": (ETH, eth(ipv4(gre(struct.pack("!HHI", 0x1000, 0x0123, 0) + eth(V4), 0x88BE, 0x1000, struct.pack("!I", 1)), proto=47))),
    "erspan3_subhdr": (ETH, eth(ipv4(gre(struct.pack("!HHIHH", 0x2000, 0x0123, 0, 0, 1) + bytes(8) + eth(V4), 0x22EB, 0x1000, struct.pack("!I", 1)), proto=47))),
    "vxlan": (ETH, VXLAN),
    "vxlan_in_qinq": (ETH, eth(VXLAN[14:], tags=[(0x88A8, 100), (0x8100, 200)])),
    "geneve_opts": (ETH, eth(ipv6(udp(struct.pack("!BBHI", 2, 0, 0x6558, 7 << 8) + bytes(8) + eth(V4), 6081), nh=17), 0x86DD)),
    "ipip_6in4": (RAW, ipv4(V6, proto=41)),
    "ipip_4in6_frag": (RAW, ipv6(ipv4(tcp(), frag=0x2001), nh=4)),
    "tunnel_depth5": (RAW, ipv4(ipv4(ipv4(ipv4(ipv4(V4, proto=4), proto=4), proto=4), proto=4), proto=4)),
    "ppp_ff03_ipv4": (PPP, b"\xff\x03\x00\x21" + V4),
    "ppp_hdlc_pfc_ipv6": (PPP_HDLC, b"\x57" + V6),
    "chdlc_mpls": (C_HDLC, b"\x0f\x00\x88\x47" + mpls(V4, [300])),
    "ppp_as_chdlc": (PPP, b"\x8f\x00\x08\x00" + V4),
    "raw_one_byte": (RAW, b"\x45"),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    # Seeds are overwritten by name; other files (inputs a fuzzer found) are left alone.
    for name, (idx, frame) in sorted(SEEDS.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(struct.pack("!H", idx) + frame)
    print("%d seeds written to %s" % (len(SEEDS), OUT))


if __name__ == "__main__":
    main()
