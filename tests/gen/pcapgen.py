#!/usr/bin/python3
"""pcapgen.py — a small, stdlib-only writer of synthetic TCP/HTTP captures for tokenwatch tests.

Writes classic pcap (microsecond timestamps) and pcapng (SHB/IDB/EPB) files with link types
Ethernet (optionally 802.1Q / QinQ 0x88a8 tagged), Linux SLL (113), SLL2 (276) and raw IP (101);
IPv4 (RFC 791) and IPv6 (RFC 8200, optionally with hop-by-hop and destination-options extension
headers), and fragments of either (RFC 791 §3.2, RFC 8200 §4.5); TCP (RFC 9293) with real
checksums, 3-way handshake, MSS-sized data segments, ACKs, FIN/RST. HTTP/1.1 (RFC 9112)
helpers build requests and responses, chunked or not.

A TcpConn is a list of abstract segments (direction, seq, ack, flags, payload); the perturbation
helpers (reorder, duplicate, overlap, drop) edit that list before a Capture serialises it, giving
timestamps in list order, so "out of order" means out of order in the capture too.
"""
import ipaddress
import struct

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

T0 = 1685620800  # 2023-06-01T12:00:00Z: token times are judged against packet time

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ipv4_packet(src, dst, proto, payload, ident=0, ttl=64):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xffff, 0x4000, ttl,
                      proto, 0, ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def ipv6_packet(src, dst, proto, payload, ext_headers=False, hlim=64):
    """With ext_headers: hop-by-hop (PadN) then destination options (PadN) before `proto`."""
    body, nh = payload, proto
    if ext_headers:
        # Destination options: next header, length 0 (8 bytes), PadN option of 4 bytes of padding.
        body = struct.pack("!BB", nh, 0) + b"\x01\x04\0\0\0\0" + body
        nh = 60
        # Hop-by-hop: 16 bytes (length 1): PadN filling 14 bytes.
        body = struct.pack("!BB", nh, 1) + b"\x01\x0c" + b"\0" * 12 + body
        nh = 0
    hdr = struct.pack("!IHBB16s16s", 0x60000000, len(body), nh, hlim,
                      ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed)
    return hdr + body


def ipv4_fragment(packet, offset, data, more):
    """One fragment (RFC 791 §3.2) of the IPv4 packet `packet`: its header (options and all) with
    DF cleared, MF and the offset set, total length and checksum fixed, carrying `data` as the
    payload bytes at `offset` (a multiple of 8) of the original payload."""
    assert offset % 8 == 0 and (not more or len(data) % 8 == 0)
    ihl = (packet[0] & 0x0f) * 4
    hdr = bytearray(packet[:ihl])
    struct.pack_into("!HH", hdr, 4, struct.unpack_from("!H", packet, 4)[0],
                     (0x2000 if more else 0) | offset // 8)
    struct.pack_into("!H", hdr, 2, ihl + len(data))
    struct.pack_into("!H", hdr, 10, 0)
    struct.pack_into("!H", hdr, 10, csum(bytes(hdr)))
    return bytes(hdr) + data


def ipv4_fragments(packet, size):
    """The IPv4 packet cut into fragments of `size` payload bytes (a multiple of 8), in order."""
    ihl = (packet[0] & 0x0f) * 4
    body = packet[ihl:]
    return [ipv4_fragment(packet, off, body[off:off + size], off + size < len(body))
            for off in range(0, len(body), size)]


def ipv6_fragment(packet, offset, data, more, ident):
    """One fragment (RFC 8200 §4.5) of the IPv6 packet `packet`, whose fixed header is taken as
    the whole unfragmentable part: a Fragment header (Next Header = the packet's) follows it,
    then `data`, the bytes at `offset` (a multiple of 8) of what followed the fixed header."""
    assert offset % 8 == 0 and (not more or len(data) % 8 == 0)
    hdr = bytearray(packet[:40])
    nh = hdr[6]
    hdr[6] = 44
    struct.pack_into("!H", hdr, 4, 8 + len(data))
    return bytes(hdr) + struct.pack("!BBHI", nh, 0, offset | (1 if more else 0), ident) + data


def ipv6_fragments(packet, size, ident):
    body = packet[40:]
    return [ipv6_fragment(packet, off, body[off:off + size], off + size < len(body), ident)
            for off in range(0, len(body), size)]


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload, win=64240, options=b""):
    off = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff, off << 4,
                      flags, win, 0, 0) + options
    a, b = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    length = len(hdr) + len(payload)
    if a.version == 4:
        pseudo = a.packed + b.packed + struct.pack("!BBH", 0, 6, length)
    else:
        pseudo = a.packed + b.packed + struct.pack("!I3xB", length, 6)
    c = csum(pseudo + hdr + payload)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload


class Seg:
    """One TCP segment of a connection, before framing. win=None: the connection's window."""

    def __init__(self, from_client, seq, ack, flags, payload=b"", options=b"", win=None):
        self.from_client, self.seq, self.ack = from_client, seq, ack
        self.flags, self.payload, self.options = flags, payload, options
        self.win = win

    def copy(self, **kw):
        s = Seg(self.from_client, self.seq, self.ack, self.flags, self.payload, self.options, self.win)
        for k, v in kw.items():
            setattr(s, k, v)
        return s


class Link:
    """How frames are encapsulated: linktype plus 802.1Q/QinQ tags for Ethernet."""

    def __init__(self, linktype=LINKTYPE_ETHERNET, vlans=(), qinq=False):
        self.linktype, self.vlans, self.qinq = linktype, list(vlans), qinq

    CLIENT_MAC = bytes.fromhex("020000000001")
    SERVER_MAC = bytes.fromhex("020000000002")

    def wrap(self, l3, v6, from_client):
        etype = 0x86DD if v6 else 0x0800
        src = self.CLIENT_MAC if from_client else self.SERVER_MAC
        dst = self.SERVER_MAC if from_client else self.CLIENT_MAC
        if self.linktype == LINKTYPE_ETHERNET:
            tags = b""
            for i, vid in enumerate(self.vlans):
                tpid = 0x88A8 if (self.qinq and i == 0 and len(self.vlans) > 1) else 0x8100
                tags += struct.pack("!HH", tpid, vid & 0x0fff)
            return dst + src + tags + struct.pack("!H", etype) + l3
        if self.linktype == LINKTYPE_LINUX_SLL:
            ptype = 4 if from_client else 0        # captured on the client: outgoing / to us
            return struct.pack("!HHH", ptype, 1, 6) + src + b"\0\0" + struct.pack("!H", etype) + l3
        if self.linktype == LINKTYPE_LINUX_SLL2:
            ptype = 4 if from_client else 0
            return struct.pack("!HHIHBB", etype, 0, 2, 1, ptype, 6) + src + b"\0\0" + l3
        if self.linktype == LINKTYPE_RAW:
            return l3
        raise ValueError(self.linktype)


class TcpConn:
    """A TCP connection between a client and a server, as a list of segments (self.segs)."""

    def __init__(self, client, cport, server, sport=80, isn_c=1000, isn_s=5000, mss=1460,
                 ipv6_ext=False, win=64240):
        self.client, self.cport, self.server, self.sport = client, cport, server, sport
        self.v6 = ipaddress.ip_address(client).version == 6
        self.ipv6_ext, self.mss, self.win = ipv6_ext, mss, win
        self.isn = {True: isn_c, False: isn_s}
        self.nxt = {True: isn_c, False: isn_s}   # next sequence number per direction
        self.segs = []
        self.ipid = {True: 0x1000 + cport % 997, False: 0x5000 + cport % 991}

    def _seg(self, from_client, flags, payload=b"", options=b""):
        s = Seg(from_client, self.nxt[from_client], self.nxt[not from_client], flags, payload, options)
        self.nxt[from_client] = (self.nxt[from_client] + len(payload)
                                 + (1 if flags & (SYN | FIN) else 0)) & 0xffffffff
        return s

    def handshake(self):
        mss_opt = struct.pack("!BBH", 2, 4, self.mss) + b"\x01\x01\x04\x02"  # MSS, NOP NOP SACKOK
        syn = self._seg(True, SYN, options=mss_opt)
        syn.ack = 0
        self.segs.append(syn)
        self.segs.append(self._seg(False, SYN | ACK, options=mss_opt))
        self.segs.append(self._seg(True, ACK))
        return self

    def send(self, from_client, data, mss=None, ack=True):
        """Data segments of at most mss bytes (PSH on the last), then an ACK from the peer.
        Returns the data segments (already appended) for perturbation."""
        mss = mss or self.mss
        out = []
        for off in range(0, len(data), mss):
            chunk = data[off:off + mss]
            last = off + mss >= len(data)
            out.append(self._seg(from_client, ACK | (PSH if last else 0), chunk))
        self.segs.extend(out)
        if ack:
            self.segs.append(self._seg(not from_client, ACK))
        return out

    def request(self, data, mss=None):
        return self.send(True, data, mss)

    def response(self, data, mss=None):
        return self.send(False, data, mss)

    def close(self, client_first=True):
        a = client_first
        self.segs.append(self._seg(a, FIN | ACK))
        self.segs.append(self._seg(not a, FIN | ACK))
        self.segs.append(self._seg(a, ACK))
        return self

    def rst(self, from_client=True):
        self.segs.append(self._seg(from_client, RST | ACK))
        return self

    def frame_l3(self, s):
        src, dst = (self.client, self.server) if s.from_client else (self.server, self.client)
        sp, dp = (self.cport, self.sport) if s.from_client else (self.sport, self.cport)
        win = self.win if s.win is None else s.win
        seg = tcp_segment(src, dst, sp, dp, s.seq, s.ack, s.flags, s.payload, win, s.options)
        if self.v6:
            return ipv6_packet(src, dst, 6, seg, self.ipv6_ext)
        self.ipid[s.from_client] += 1
        return ipv4_packet(src, dst, 6, seg, self.ipid[s.from_client], 64 if s.from_client else 57)


# --- perturbations of a connection's segment list -------------------------------------------

def reorder(conn, segs, order):
    """Puts segs[order[0]], segs[order[1]], ... into the slots the given segments occupy in
    conn.segs (segs need not be adjacent)."""
    assert sorted(order) == list(range(len(segs))), "order must be a permutation"
    slots = sorted(conn.segs.index(s) for s in segs)
    for slot, i in zip(slots, order):
        conn.segs[slot] = segs[i]


def duplicate(conn, seg, after=None):
    """Retransmits seg (identical bytes), placed right after `after` (default: after seg)."""
    pos = conn.segs.index(after if after is not None else seg) + 1
    conn.segs.insert(pos, seg.copy())


def overlap(conn, seg, offset, data, after=None):
    """A retransmission starting `offset` bytes into seg, carrying DIFFERENT bytes `data`."""
    pos = conn.segs.index(after if after is not None else seg) + 1
    conn.segs.insert(pos, seg.copy(seq=(seg.seq + offset) & 0xffffffff, payload=data, flags=ACK | PSH))


def drop(conn, seg):
    conn.segs.remove(seg)


def raw_seg(conn, from_client, seq, ack, flags, payload=b"", win=None):
    """Appends a segment with explicit numbers (an injected packet, a probe), leaving the
    connection's own sequence numbers untouched."""
    s = Seg(from_client, seq & 0xffffffff, ack & 0xffffffff, flags, payload, win=win)
    conn.segs.append(s)
    return s


def syn_frame(link, src, sport, dst, dport, seq, ident=0):
    """One bare SYN (no options) framed for `link`, IPv4: the unit of a SYN flood."""
    seg = tcp_segment(src, dst, sport, dport, seq, 0, SYN, b"")
    return link.wrap(ipv4_packet(src, dst, 6, seg, ident), False, True)


# --- capture files ---------------------------------------------------------------------------

class Capture:
    def __init__(self, linktype=LINKTYPE_ETHERNET, snaplen=65535):
        self.linktype, self.snaplen = linktype, snaplen
        self.frames = []      # (ts float, bytes)

    def add_conn(self, conn, link, start, step=0.0007, l3_map=None):
        """Frames every segment of conn with `link`, timestamps start, start+step, ...
        l3_map(seg, ip_packet) -> [ip_packet, ...] may replace a segment's IP packet by several
        (its fragments, in the order they are to arrive), each framed at its own time step."""
        assert link.linktype == self.linktype
        if l3_map is None:
            for i, s in enumerate(conn.segs):
                self.frames.append((start + i * step, link.wrap(conn.frame_l3(s), conn.v6, s.from_client)))
            return start + len(conn.segs) * step
        t = start
        for s in conn.segs:
            for l3 in l3_map(s, conn.frame_l3(s)):
                self.frames.append((t, link.wrap(l3, conn.v6, s.from_client)))
                t += step
        return t

    def add_frame(self, ts, data):
        self.frames.append((ts, data))

    def _sorted(self):
        return sorted(self.frames, key=lambda f: f[0])

    @staticmethod
    def _split_ts(ts):
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        if usec >= 1000000:
            sec, usec = sec + 1, usec - 1000000
        return sec, usec

    def pcap_bytes(self):
        out = [struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, self.snaplen, self.linktype)]
        for ts, data in self._sorted():
            sec, usec = self._split_ts(ts)
            out.append(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)
        return b"".join(out)

    def pcapng_bytes(self, if_name="eth0", comment="tokenwatch synthetic test capture"):
        def opt(code, val):
            return struct.pack("<HH", code, len(val)) + val + b"\0" * (-len(val) % 4)

        def block(btype, body):
            n = 12 + len(body)
            return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

        shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
                    + opt(1, comment.encode()) + opt(4, b"tokenwatch pcapgen.py") + opt(0, b""))
        idb = block(1, struct.pack("<HHI", self.linktype, 0, self.snaplen)
                    + opt(2, if_name.encode()) + opt(9, b"\x06") + opt(0, b""))
        out = [shb, idb]
        for ts, data in self._sorted():
            t = int(round(ts * 1e6))
            body = struct.pack("<IIIII", 0, t >> 32, t & 0xffffffff, len(data), len(data))
            out.append(block(6, body + data + b"\0" * (-len(data) % 4)))
        return b"".join(out)

    def write(self, path, fmt="pcap", cut_last_record=0):
        """fmt pcap|pcapng. cut_last_record=N removes N bytes from the end of the file, i.e. cuts
        the last record mid-way (a capture that was being written when the disk filled up)."""
        data = self.pcapng_bytes() if fmt == "pcapng" else self.pcap_bytes()
        if cut_last_record:
            data = data[:-cut_last_record]
        with open(path, "wb") as f:
            f.write(data)
        return len(data)


# --- HTTP/1.1 ----------------------------------------------------------------------------------

def http_request(method, url, host, headers=(), body=None, chunked=False, chunk_size=40):
    lines = ["%s %s HTTP/1.1" % (method, url), "Host: %s" % host]
    lines += ["%s: %s" % kv for kv in headers]
    raw_body = b""
    if body is not None:
        body = body.encode() if isinstance(body, str) else body
        if chunked:
            lines.append("Transfer-Encoding: chunked")
            raw_body = chunk_encode(body, chunk_size)
        else:
            lines.append("Content-Length: %d" % len(body))
            raw_body = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw_body


REASONS = {200: "OK", 204: "No Content", 301: "Moved Permanently", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found"}


def http_response(status, body=b"", ctype="application/json; charset=utf-8", headers=(),
                  chunked=False, chunk_size=64, date="Thu, 01 Jun 2023 12:00:00 GMT"):
    body = body.encode() if isinstance(body, str) else body
    lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status")), "Date: " + date,
             "Server: Microsoft-IIS/10.0"]
    if body or chunked:
        lines.append("Content-Type: " + ctype)
    lines += ["%s: %s" % kv for kv in headers]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        raw = chunk_encode(body, chunk_size)
    else:
        lines.append("Content-Length: %d" % len(body))
        raw = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


def chunk_encode(body, size):
    out = b""
    for off in range(0, len(body), size):
        part = body[off:off + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"
