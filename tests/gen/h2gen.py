#!/usr/bin/python3
"""h2gen.py — HTTP/2 (RFC 9113) frames and HPACK (RFC 7541) header blocks for the synthetic
h2c captures of make_i12_h2.py, and the checks that read those bytes back.

Header blocks come from Debian's python3-hpack (hpack.Encoder: Huffman, the dynamic table,
never-indexed fields as NeverIndexedHeaderTuple); frames are written here by hand (nine bytes
of header, RFC 9113 §4.1), so that padding, priority, CONTINUATION splits and broken frames are
ours to place. TCP comes from pcapgen.TcpConn: each H2.send() is one write of one side.

Read back (check()): every frame of both directions is parsed again, every header block
decoded with a fresh hpack.Decoder per direction, and the client's bytes are fed to a
python3-h2 server connection (h2.connection.H2Connection), which enforces the RFC's stream and
header rules; check() returns the decoded requests and responses per stream and counts of the
frames by type (what the sensor's HTTP/2 counters should show). late_fields() decodes header
blocks as a sensor that joined the connection late must: entries from before the join unknown,
references to them counted as unresolved, never invented.
"""
import struct

import h2.config
import h2.connection
import h2.events
import hpack
from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
TYPE_NAMES = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING",
              "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"]
END_STREAM = ACK = 0x1
END_HEADERS, F_PADDED, F_PRIORITY = 0x4, 0x8, 0x20
NO_ERROR, PROTOCOL_ERROR, CANCEL = 0x0, 0x1, 0x8
S_HEADER_TABLE_SIZE, S_ENABLE_PUSH, S_MAX_CONCURRENT_STREAMS, S_INITIAL_WINDOW_SIZE, \
    S_MAX_FRAME_SIZE, S_MAX_HEADER_LIST_SIZE = range(1, 7)


def frame(ftype, flags, sid, payload=b"", length=None):
    """One frame; `length` overrides the header's length field (a lying frame)."""
    n = len(payload) if length is None else length
    return struct.pack("!I", n)[1:] + bytes([ftype, flags]) + struct.pack("!I", sid) + payload


def settings(pairs=(), ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack("!HI", k, v) for k, v in pairs))


def window_update(sid, inc):
    return frame(WINDOW_UPDATE, 0, sid, struct.pack("!I", inc))


def rst_stream(sid, code=CANCEL):
    return frame(RST_STREAM, 0, sid, struct.pack("!I", code))


def goaway(last_sid, code=NO_ERROR, debug=b""):
    return frame(GOAWAY, 0, 0, struct.pack("!II", last_sid, code) + debug)


def ping(opaque=b"\0" * 8, ack=False):
    return frame(PING, ACK if ack else 0, 0, opaque)


def pad(payload, padlen):
    """RFC 9113 §6.1: Pad Length byte, payload, that many zero bytes."""
    return bytes([padlen]) + payload + b"\0" * padlen


def data_frames(sid, body, chunk=None, end_stream=True, padlen=0):
    """body as DATA frames of at most `chunk` bytes (padded when padlen), END_STREAM on the last."""
    chunk = chunk or max(1, len(body))
    parts = [body[i:i + chunk] for i in range(0, len(body), chunk)] or [b""]
    out = []
    for i, p in enumerate(parts):
        flags = END_STREAM if end_stream and i == len(parts) - 1 else 0
        if padlen:
            out.append(frame(DATA, flags | F_PADDED, sid, pad(p, padlen)))
        else:
            out.append(frame(DATA, flags, sid, p))
    return out


def request_headers(method, path, authority, fields=(), scheme="http"):
    return [(":method", method), (":scheme", scheme), (":authority", authority),
            (":path", path)] + list(fields)


def never(name, value):
    """A field sent 'never indexed' (RFC 7541 §6.2.3), as clients send authorization."""
    return hpack.NeverIndexedHeaderTuple(name, value)


class H2:
    """One HTTP/2 connection over a pcapgen.TcpConn: an HPACK encoder per direction, frames
    written as TCP sends; wire[side] keeps each direction's bytes for check()."""

    def __init__(self, conn, huffman=True):
        self.c, self.huffman = conn, huffman
        self.enc = {True: hpack.Encoder(), False: hpack.Encoder()}
        self.wire = {True: bytearray(), False: bytearray()}

    def block(self, from_client, fields):
        return self.enc[from_client].encode(fields, huffman=self.huffman)

    def headers(self, from_client, sid, fields, end_stream=False):
        flags = END_HEADERS | (END_STREAM if end_stream else 0)
        return frame(HEADERS, flags, sid, self.block(from_client, fields))

    def send(self, from_client, *frames, mss=None):
        data = b"".join(frames)
        self.c.send(from_client, data, mss)
        self.wire[from_client] += data
        return data

    def open(self, client_settings=((S_ENABLE_PUSH, 0), (S_INITIAL_WINDOW_SIZE, 6291456)),
             server_settings=((S_MAX_CONCURRENT_STREAMS, 100), (S_MAX_FRAME_SIZE, 16384))):
        """The prior-knowledge start (RFC 9113 §3.4): the client preface and SETTINGS, the
        server's SETTINGS and ACK, the client's ACK (as curl and nghttp send them)."""
        self.send(True, PREFACE, settings(client_settings), window_update(0, 15663105))
        self.send(False, settings(server_settings), settings(ack=True))
        self.send(True, settings(ack=True))


# --- reading the bytes back ---------------------------------------------------------------------

def frames_of(data):
    """[(type, flags, stream, payload)]; asserts the bytes are whole frames."""
    out, off = [], 0
    while off < len(data):
        assert off + 9 <= len(data), "truncated frame header at %d" % off
        n = int.from_bytes(data[off:off + 3], "big")
        ftype, flags = data[off + 3], data[off + 4]
        sid = int.from_bytes(data[off + 5:off + 9], "big") & 0x7fffffff
        assert off + 9 + n <= len(data), "truncated frame at %d" % off
        out.append((ftype, flags, sid, bytes(data[off + 9:off + 9 + n])))
        off += 9 + n
    return out


def _unpad(ftype, flags, payload):
    if flags & F_PADDED:
        padlen = payload[0]
        payload = payload[1:len(payload) - padlen]
        assert padlen < 256
    if ftype == HEADERS and flags & F_PRIORITY:
        payload = payload[5:]
    if ftype == PUSH_PROMISE:
        payload = payload[4:]
    return payload


def decode_side(data, counts=None):
    """Decodes one direction's frames: {stream: [[(name, value)], ...]} (a header list per
    block, PUSH_PROMISE blocks under the promised stream), and adds frame counts to `counts`."""
    dec = hpack.Decoder()
    blocks, pending, sid_of_block, frame_sid = {}, None, None, None
    for ftype, flags, sid, payload in frames_of(data):
        if counts is not None:
            name = TYPE_NAMES[ftype] if ftype < len(TYPE_NAMES) else "unknown"
            counts[name] = counts.get(name, 0) + 1
            if flags & F_PADDED and ftype in (DATA, HEADERS, PUSH_PROMISE):
                counts["padded"] = counts.get("padded", 0) + 1
        if ftype in (HEADERS, PUSH_PROMISE):
            assert pending is None, "header block interrupted"
            target = int.from_bytes(payload[(1 if flags & F_PADDED else 0):][:4], "big") \
                if ftype == PUSH_PROMISE else sid
            pending, sid_of_block = bytearray(_unpad(ftype, flags, payload)), target
            frame_sid = sid
        elif ftype == CONTINUATION:
            assert pending is not None and sid == frame_sid, "CONTINUATION out of place"
            pending += payload
        else:
            assert pending is None, "frame inside a header block"
            continue
        if flags & END_HEADERS:
            fields = [(n.decode() if isinstance(n, bytes) else n, v.decode() if isinstance(v, bytes) else v)
                      for n, v in dec.decode(bytes(pending), raw=False)]
            blocks.setdefault(sid_of_block, []).append(fields)
            pending = None
    return blocks


def check(h2c, counts=None, h2_server=True):
    """Both directions of an H2 read back; the client's bytes through python3-h2's server side.
    Returns (client blocks, server blocks)."""
    cb = bytes(h2c.wire[True])
    assert cb.startswith(PREFACE) or not h2_server
    req = decode_side(cb[len(PREFACE):] if cb.startswith(PREFACE) else cb, counts)
    resp = decode_side(bytes(h2c.wire[False]), counts)
    if h2_server:
        srv = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        srv.initiate_connection()
        events = srv.receive_data(cb)
        got = [e.stream_id for e in events if isinstance(e, h2.events.RequestReceived)]
        assert got == sorted(req), (got, sorted(req))
    return req, resp


def field(fields, name):
    return [v for n, v in fields if n == name]


# --- a late joiner's view of HPACK (RFC 7541 §2.3, §6) ----------------------------------------

STATIC = [(n.decode(), v.decode()) for n, v in HeaderTable.STATIC_TABLE]


def _int(buf, off, prefix):
    mask = (1 << prefix) - 1
    v = buf[off] & mask
    off += 1
    if v < mask:
        return v, off
    shift = 0
    while True:
        b = buf[off]
        off += 1
        v += (b & 0x7f) << shift
        shift += 7
        if not b & 0x80:
            return v, off


def _str(buf, off):
    huff = buf[off] & 0x80
    n, off = _int(buf, off, 7)
    raw = bytes(buf[off:off + n])
    return (decode_huffman(raw) if huff else raw).decode(), off + n


class LateDecoder:
    """Decodes header blocks knowing only the entries added since it started: a reference to an
    older entry is unresolved (None), an entry added with an unresolved name keeps its value.
    Evictions are not modelled (the late-join case keeps its table small)."""

    def __init__(self):
        self.table = []          # newest first: (name or None, value or None)
        self.unresolved = 0

    def _get(self, idx):
        if idx <= len(STATIC):
            return STATIC[idx - 1]
        i = idx - len(STATIC) - 1
        return self.table[i] if i < len(self.table) else (None, None)

    def decode(self, block):
        out, off = [], 0
        while off < len(block):
            b = block[off]
            if b & 0x80:
                idx, off = _int(block, off, 7)
                n, v = self._get(idx)
            elif b & 0x20 and not b & 0x40:  # dynamic table size update
                _, off = _int(block, off, 5)
                continue
            else:  # literal: with incremental indexing, without indexing, never indexed
                incr = bool(b & 0x40)
                idx, off = _int(block, off, 6 if incr else 4)
                if idx:
                    n = self._get(idx)[0]
                else:
                    n, off = _str(block, off)
                v, off = _str(block, off)
                if incr:
                    self.table.insert(0, (n, v))
            if n is None or v is None:
                self.unresolved += 1
            out.append((n, v))
        return out
