#!/usr/bin/python3
"""real_pcap.py — reads the captures of real implementations (pcaps/real/, recorded by
record_i12_real.py) back, for make_i12_real.py: what each connection carried, decoded here
independently of the sensor, so that the e2e expectations come from the bytes on the wire.

  read_pcap / write_pcap  classic pcap (tcpdump -w on lo: DLT_EN10MB), pure Python
  connections()           TCP connections (client = who sent the SYN), each direction
                          reassembled by sequence number with the packet that carried each byte
  h2_frames()             RFC 9113 frames of one direction (HEADERS + CONTINUATION joined,
                          padding and priority removed)
  Hpack                   RFC 7541 decoder (static + dynamic table, Huffman via Debian's
                          python3-hpack) that also says, for a capture cut so that it joins the
                          connection late, which fields a decoder starting at the cut could still
                          resolve: literals always, indexed fields only when their entry was
                          added after the cut
  ws_messages()           RFC 6455 frames after a 101 (unmasked, reassembled, permessage-deflate
                          inflated)
  cut_pcap()              the late-join copy: per HTTP/2 connection, every packet up to and
                          including the one that ends the client's first HEADERS block is dropped

Test tooling only; nothing here is used by the sensor.
"""
import struct
import zlib

from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
STATIC = HeaderTable.STATIC_TABLE  # 61 (name, value) pairs, index 1..61


# --- pcap ---------------------------------------------------------------------------------------

def read_pcap(path):
    """(global header bytes, [(record header bytes, packet bytes)])."""
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        raise ValueError("%s: not a little-endian classic pcap" % path)
    ghdr, pos, pkts = data[:24], 24, []
    while pos + 16 <= len(data):
        rec = data[pos:pos + 16]
        incl = struct.unpack("<I", rec[8:12])[0]
        pkts.append((rec, data[pos + 16:pos + 16 + incl]))
        pos += 16 + incl
    return ghdr, pkts


def write_pcap(path, ghdr, pkts):
    with open(path, "wb") as f:
        f.write(ghdr)
        for rec, pkt in pkts:
            f.write(rec)
            f.write(pkt)


def ts_of(rec):
    sec, frac = struct.unpack("<II", rec[:8])
    return sec + frac / 1e6


def parse_tcp(pkt, linktype=1):
    """(src, sport, dst, dport, seq, flags, payload) of an Ethernet/IPv4/TCP packet, else None."""
    if linktype != 1 or len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
        return None
    ip = pkt[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 6:
        return None
    total = struct.unpack("!H", ip[2:4])[0]
    tcp = ip[ihl:total]
    src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
    sport, dport, seq = struct.unpack("!HHI", tcp[:8])
    off = (tcp[12] >> 4) * 4
    return src, sport, dst, dport, seq, tcp[13], tcp[off:]


# --- TCP connections ----------------------------------------------------------------------------

class Direction:
    """One direction's bytes, reassembled; owner[i] = index of the packet that carried byte i."""

    def __init__(self):
        self.isn, self.segs = None, []
        self.data, self.owner = b"", []

    def finish(self):
        buf, owner, nxt = bytearray(), [], 0
        for rel, payload, idx in sorted(self.segs, key=lambda s: (s[0], s[2])):
            if rel + len(payload) <= nxt:
                continue                        # a retransmission
            skip = max(0, nxt - rel)
            if rel > nxt:                       # a hole: the capture lost bytes
                raise ValueError("hole in a recorded stream at %d" % nxt)
            buf += payload[skip:]
            owner += [idx] * (len(payload) - skip)
            nxt = len(buf)
        self.data, self.owner = bytes(buf), owner


class Conn:
    def __init__(self, client, cport, server, sport):
        self.client, self.cport, self.server, self.sport = client, cport, server, sport
        self.c2s, self.s2c = Direction(), Direction()
        self.packets = []                       # indices into the capture


def connections(pkts):
    """TCP connections of a capture in order of their SYN."""
    conns, by_key = [], {}
    for i, (_, pkt) in enumerate(pkts):
        p = parse_tcp(pkt)
        if p is None:
            continue
        src, sport, dst, dport, seq, flags, payload = p
        key = frozenset([(src, sport), (dst, dport)])
        syn, ack = flags & 0x02, flags & 0x10
        if syn and not ack:
            c = Conn(src, sport, dst, dport)
            conns.append(c)
            by_key[key] = c
        c = by_key.get(key)
        if c is None:
            continue
        c.packets.append(i)
        d = c.c2s if (src, sport) == (c.client, c.cport) else c.s2c
        if syn:
            d.isn = seq
            continue
        if payload and d.isn is not None:
            d.segs.append(((seq - d.isn - 1) & 0xffffffff, payload, i))
    for c in conns:
        c.c2s.finish()
        c.s2c.finish()
    return conns


# --- HTTP/1 heads -------------------------------------------------------------------------------

def h1_head(data, pos=0):
    """(start line, [(name lower, value)], end offset) of the head at pos, or None."""
    end = data.find(b"\r\n\r\n", pos)
    if end < 0:
        return None
    lines = data[pos:end].decode("latin-1").split("\r\n")
    fields = []
    for ln in lines[1:]:
        n, _, v = ln.partition(":")
        fields.append((n.strip().lower(), v.strip()))
    return lines[0], fields, end + 4


def h1_messages(data, pos=0, stop_after=None):
    """HTTP/1 messages with Content-Length bodies from pos: [(start, fields, body, start_off)].
    Stops at bytes that are no HTTP head, or after a start line for which stop_after() is true."""
    out = []
    while pos < len(data):
        h = h1_head(data, pos)
        if h is None or not (h[0].startswith("HTTP/") or " HTTP/1." in h[0]):
            break
        start, fields, end = h
        n = int(dict(fields).get("content-length", "0"))
        out.append((start, fields, data[end:end + n], pos))
        pos = end + n
        if stop_after and stop_after(start):
            break
    return out, pos


# --- HTTP/2 frames and HPACK --------------------------------------------------------------------

def h2_frames(data, pos):
    """[(type, flags, stream, payload, first byte offset, end offset)]; HEADERS/PUSH_PROMISE are
    joined with their CONTINUATIONs (type 1/5, payload = the header block fragment joined)."""
    out, open_block = [], None
    while pos + 9 <= len(data):
        ln = int.from_bytes(data[pos:pos + 3], "big")
        typ, flags = data[pos + 3], data[pos + 4]
        sid = int.from_bytes(data[pos + 5:pos + 9], "big") & 0x7fffffff
        if pos + 9 + ln > len(data):
            break
        p = data[pos + 9:pos + 9 + ln]
        if typ in (0, 1, 5) and flags & 0x08:   # PADDED
            p = p[1:len(p) - p[0]]
        if typ == 1 and flags & 0x20:           # PRIORITY
            p = p[5:]
        if typ == 5:
            p = p[4:]
        if typ == 9 and open_block is not None:
            open_block[3] += p
            open_block[5] = pos + 9 + ln
            if flags & 0x04:
                open_block[1] |= 0x04
                out.append(tuple(open_block))
                open_block = None
        elif typ in (1, 5) and not flags & 0x04:
            open_block = [typ, flags, sid, p, pos, pos + 9 + ln]
        else:
            out.append((typ, flags, sid, p, pos, pos + 9 + ln))
        pos += 9 + ln
    return out


def _int(b, pos, prefix):
    mask = (1 << prefix) - 1
    v = b[pos] & mask
    pos += 1
    if v < mask:
        return v, pos
    m = 0
    while True:
        c = b[pos]
        pos += 1
        v += (c & 127) << m
        m += 7
        if not c & 128:
            return v, pos


def _str(b, pos):
    huff = b[pos] & 0x80
    n, pos = _int(b, pos, 7)
    s = b[pos:pos + n]
    return (decode_huffman(s) if huff else s), pos + n


class Hpack:
    """Decodes every block of one direction; `seen` says whether the block lies after the cut.
    Each field comes back as (name, value, state, kind): state "ok", "unresolved" (an indexed
    field whose entry was added before the cut) or "name_unknown" (a literal whose name is such
    an entry); kind "indexed", "literal", "never" (never indexed) or "noindex"."""

    def __init__(self):
        self.table, self.size, self.max = [], 0, 4096   # entries: [name, value, known]

    def _evict(self):
        while self.size > self.max and self.table:
            n, v, _ = self.table.pop()
            self.size -= len(n) + len(v) + 32

    def _get(self, i):
        if 1 <= i <= len(STATIC):
            n, v = STATIC[i - 1]
            return n, v, True
        return tuple(self.table[i - len(STATIC) - 1])

    def block(self, b, seen):
        out, pos = [], 0
        while pos < len(b):
            c = b[pos]
            if c & 0x80:
                i, pos = _int(b, pos, 7)
                n, v, known = self._get(i)
                out.append((n, v, "ok" if (not seen or known) else "unresolved", "indexed"))
                continue
            if c & 0xe0 == 0x20:
                self.max, pos = _int(b, pos, 5)
                self._evict()
                continue
            inc = c & 0xc0 == 0x40
            kind = "literal" if inc else ("never" if c & 0x10 else "noindex")
            i, pos = _int(b, pos, 6 if inc else 4)
            if i:
                n, _, name_known = self._get(i)
            else:
                n, pos = _str(b, pos)
                name_known = True
            v, pos = _str(b, pos)
            state = "ok" if (not seen or name_known) else "name_unknown"
            out.append((n, v, state, kind))
            if inc:
                self.table.insert(0, [n, v, seen and name_known])
                self.size += len(n) + len(v) + 32
                self._evict()
        return out


def check_hpack(d, start):
    """Our decoding of every header block of direction d equals python3-hpack's Decoder's."""
    from hpack import Decoder
    ours, ref = Hpack(), Decoder()
    ref.max_allowed_table_size = 65536
    for typ, _, _, p, _, _ in h2_frames(d.data, start):
        if typ in (1, 5):
            a = [(n, v) for n, v, _, _ in ours.block(p, False)]
            b = [(bytes(n), bytes(v)) for n, v in ref.decode(p, raw=True)]
            assert a == b, (a, b)


def h2_streams(conn, client_start, server_start, cut_idx=-1):
    """Per stream: {"req": [fields], "resp": [[fields] per block], "data": {"c": b"", "s": b""}}
    plus the connection's unresolved counts, decoding both directions; a block is `seen` when the
    packet holding its first byte is after cut_idx."""
    streams, counts = {}, {"c": [0, 0], "s": [0, 0]}     # [unresolved, name_unknown]
    for side, d, start in (("c", conn.c2s, client_start), ("s", conn.s2c, server_start)):
        dec = Hpack()
        for typ, flags, sid, p, first, _ in h2_frames(d.data, start):
            seen = d.owner[first] > cut_idx
            st = streams.setdefault(sid, {"req": None, "resp": [], "data": {"c": b"", "s": b""},
                                          "req_seen": True, "first_c": None})
            if typ in (1, 5):
                fields = dec.block(p, seen)
                if seen:
                    counts[side][0] += sum(1 for f in fields if f[2] == "unresolved")
                    counts[side][1] += sum(1 for f in fields if f[2] == "name_unknown")
                if side == "c" and st["req"] is None:
                    st["req"], st["req_seen"], st["first_c"] = fields, seen, first
                elif side == "s":
                    st["resp"].append((fields, seen))
            elif typ == 0:
                st["data"][side] += p
    streams.pop(0, None)
    return streams, counts


def first_client_headers_end(conn, client_start):
    """Packet index holding the last byte of the client's first HEADERS block."""
    for typ, _, _, _, _, end in h2_frames(conn.c2s.data, client_start):
        if typ == 1:
            return conn.c2s.owner[end - 1]
    return None


def joins_at_frame(d, start, cut_idx):
    """True when the first byte a late joiner sees in direction d (after packet cut_idx) is the
    first byte of a frame (or nothing is left): the cut copies then test HPACK, not resync."""
    kept = [i for i, idx in enumerate(d.owner) if idx > cut_idx]
    if not kept:
        return True
    pos = start
    while pos < kept[0]:
        pos += 9 + int.from_bytes(d.data[pos:pos + 3], "big")
    return pos == kept[0]


def cut_pcap(ghdr, pkts, plan):
    """plan: [(conn, cut_idx)]: drops each conn's packets with index <= cut_idx."""
    drop = set()
    for conn, cut in plan:
        drop.update(i for i in conn.packets if i <= cut)
    return [p for i, p in enumerate(pkts) if i not in drop]


# --- WebSocket ------------------------------------------------------------------------------------

def ws_messages(data, deflate, no_takeover=False):
    """Messages of one direction: [(opcode, payload after unmasking and inflating)]."""
    out, pos, parts, op0, rsv1 = [], 0, [], None, False
    inflater = zlib.decompressobj(-15)
    while pos + 2 <= len(data):
        b0, b1 = data[pos], data[pos + 1]
        n, pos = b1 & 127, pos + 2
        if n == 126:
            n, pos = struct.unpack("!H", data[pos:pos + 2])[0], pos + 2
        elif n == 127:
            n, pos = struct.unpack("!Q", data[pos:pos + 8])[0], pos + 8
        key = b""
        if b1 & 0x80:
            key, pos = data[pos:pos + 4], pos + 4
        p = data[pos:pos + n]
        pos += n
        if key:
            p = bytes(x ^ key[i % 4] for i, x in enumerate(p))
        op = b0 & 15
        if op >= 8:                              # control frames are never compressed
            out.append((op, p))
            continue
        if op:
            op0, rsv1, parts = op, bool(b0 & 0x40), []
        parts.append(p)
        if b0 & 0x80:
            msg = b"".join(parts)
            if rsv1 and deflate:
                if no_takeover:
                    inflater = zlib.decompressobj(-15)
                msg = inflater.decompress(msg + b"\x00\x00\xff\xff")
            out.append((op0, msg))
    return out
