#!/usr/bin/python3
"""gen_bench_h2c.py — writes the h2c twin of the benchmark capture: the requests, tokens and
responses of gen_bench.py's HTTP/1.1 capture, carried over HTTP/2 with prior knowledge
(RFC 9113 §3.3).

gen_bench.py records a plan while it writes the HTTP/1.1 capture (per client, its connections
in order, each with its server, port, host, user agent and exchanges); write() replays that plan:
the same clients, servers, ports and connections, each carrying exactly the exchanges it carried
over HTTP/1.1, so both captures hold the same tokens in the same requests with the same
responses. What differs is what HTTP/2 changes: each connection starts with the client preface,
SETTINGS both ways and a WINDOW_UPDATE, and ends with a GOAWAY; a client sends 1-4 requests at a
time as concurrent streams (as a client pool does), and the server answers them with their DATA
frames (at most 4 KB each) interleaved. Header blocks come from python3-hpack's encoder, one per
direction and connection: Huffman on, the dynamic table in use (host, user agent, accept,
content-type, cache-control are indexed after the first request), authorization sent never
indexed (its representation is the same every time, so it is encoded once per token). The
packet interleaving of connections and the timestamps are drawn from their own RNG (seeded from
--seed), in the same way as the HTTP/1.1 capture's.

check() reads a written capture back: it reassembles the first connections' bytes from the
pcap and parses them with python3-h2 (the client's, through a server-side H2Connection) and a
fresh HPACK decoder (the server's), comparing every request and response with the plan.
"""
import random
import struct

import hpack
from hpack.hpack import encode_integer
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, SETTINGS, GOAWAY, WINDOW_UPDATE = 0, 1, 4, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
DATA_MAX = 4096            # DATA frame payload: streams of one batch interleave frame by frame
BATCH = (1, 2, 2, 3, 4)    # streams a client sends at once
HUFF = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)


def frame(ftype, flags, sid, payload=b""):
    return struct.pack("!I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack("!I", sid) + payload


def never_indexed_authorization(token):
    """RFC 7541 §6.2.3 with the static table's name `authorization` (index 23), the value
    Huffman-coded: the field's bytes do not depend on the table, so one encoding per token."""
    value = HUFF.encode(b"Bearer " + token)
    length = encode_integer(len(value), 7)
    length[0] |= 0x80
    name = encode_integer(23, 4)
    name[0] |= 0x10
    return bytes(name) + bytes(length) + value


class H2Conn:
    """One planned connection replayed over HTTP/2 (gen_bench.Conn builds its TCP packets)."""

    def __init__(self, tcp, planned, auth_cache):
        self.tcp, self.p, self.auth = tcp, planned, auth_cache
        self.enc = {True: hpack.Encoder(), False: hpack.Encoder()}
        self.sid, self.done = 1, 0

    def segments(self, from_client, data, mss, psh_ack):
        """data as MSS-sized segments; from the server with delayed ACKs as gen_bench does."""
        out = []
        n = (len(data) + mss - 1) // mss
        for i in range(n):
            last = i == n - 1
            out.append(self.tcp.frame(from_client, psh_ack if last else 0x10, data[i * mss:(i + 1) * mss]))
            if not from_client and (last or i % 2 == 1):
                out.append(self.tcp.frame(True, 0x10))
        return out

    def open(self, mss):
        pkts = self.tcp.open()
        pkts += self.segments(True, PREFACE + frame(SETTINGS, 0, 0, struct.pack("!HIHI", 2, 0, 4, 6291456))
                              + frame(WINDOW_UPDATE, 0, 0, struct.pack("!I", 15663105)), mss, 0x18)
        pkts += self.segments(False, frame(SETTINGS, 0, 0, struct.pack("!HIHI", 3, 100, 5, 16384))
                              + frame(SETTINGS, ACK, 0), mss, 0x18)
        self.pending_ack = frame(SETTINGS, ACK, 0)
        return pkts

    def request_block(self, req):
        method, path, token, crid, body = req
        auth = self.auth.get(token)
        if auth is None:
            auth = self.auth[token] = never_indexed_authorization(token)
        enc = self.enc[True]
        head = enc.encode([(":method", method), (":scheme", "http"), (":authority", self.p["host"]),
                           (":path", path), ("user-agent", self.p["ua"]), ("accept", "application/json")])
        tail = [("client-request-id", crid)]
        if body:
            tail += [("content-type", "application/json"), ("content-length", str(len(body)))]
        return head + auth + enc.encode(tail)

    def batch(self, rng, mss):
        """The next 1-4 exchanges as concurrent streams: the client's HEADERS (and DATA) in one
        write, then the server's HEADERS and DATA frames interleaved across the streams."""
        k = min(rng.choice(BATCH), len(self.p["exchanges"]) - self.done)
        exs = self.p["exchanges"][self.done:self.done + k]
        self.done += k
        sids = list(range(self.sid, self.sid + 2 * k, 2))
        self.sid += 2 * k
        out = [self.pending_ack] if self.pending_ack else []
        self.pending_ack = b""
        for sid, (req, _) in zip(sids, exs):
            body = req[4]
            out.append(frame(HEADERS, END_HEADERS | (0 if body else END_STREAM), sid, self.request_block(req)))
            if body:
                out.append(frame(DATA, END_STREAM, sid, body))
        pkts = self.segments(True, b"".join(out), mss, 0x18)
        queues = []
        for sid, (_, resp) in zip(sids, exs):
            date, rid, body = resp
            block = self.enc[False].encode([
                (":status", "200"), ("date", date),
                ("content-type", "application/json; odata.metadata=minimal"),
                ("content-length", str(len(body))), ("request-id", rid), ("cache-control", "no-cache")])
            q = [frame(HEADERS, END_HEADERS, sid, block)]
            for off in range(0, len(body), DATA_MAX):
                q.append(frame(DATA, END_STREAM if off + DATA_MAX >= len(body) else 0, sid,
                               body[off:off + DATA_MAX]))
            queues.append(q)
        out = []
        while queues:                      # round robin, one frame per stream at a time
            for q in list(queues):
                out.append(q.pop(0))
                if not q:
                    queues.remove(q)
        return pkts + self.segments(False, b"".join(out), mss, 0x18)

    def close(self, mss):
        return self.segments(True, frame(GOAWAY, 0, 0, struct.pack("!II", 0, 0)), mss, 0x18) + self.tcp.close()


def write(out_path, plan, seed, conn_cls, mss, inflight_max, start_ts):
    """Writes the twin of the capture whose plan this is; returns its stats."""
    rng = random.Random("h2c twin %d" % seed)
    auth_cache = {}
    nslots = len(plan)
    nextc = [0] * nslots
    cur = [None] * nslots
    ready = [s for s in range(nslots) if plan[s]]
    inflight = []
    ts_us = start_ts * 1000000
    stats = {"requests": 0, "connections": 0, "packets": 0, "streams": 0, "batches": 0}
    buf, buf_len = [], 0
    with open(out_path + ".tmp", "wb") as f:
        buf.append(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        while inflight or ready:
            while len(inflight) < inflight_max and ready:
                k = rng.randrange(len(ready))
                ready[k], ready[-1] = ready[-1], ready[k]
                slot = ready.pop()
                c = cur[slot]
                if c is None:
                    if nextc[slot] == len(plan[slot]):
                        continue                      # this client is done
                    p = plan[slot][nextc[slot]]
                    nextc[slot] += 1
                    tcp = conn_cls(rng, (p["client"],), p["server"], p["port"], p["host"], p["ua"], b"", 0)
                    c = cur[slot] = H2Conn(tcp, p, auth_cache)
                    pkts = c.open(mss)
                    stats["connections"] += 1
                elif c.done == len(c.p["exchanges"]):
                    pkts = c.close(mss)
                    cur[slot] = None
                else:
                    before = c.done
                    pkts = c.batch(rng, mss)
                    stats["requests"] += c.done - before
                    stats["batches"] += 1
                inflight.append([slot, pkts, 0])
            if not inflight:
                break
            k = rng.randrange(len(inflight))
            entry = inflight[k]
            pkt = entry[1][entry[2]]
            entry[2] += 1
            ts_us += rng.randint(2, 40)
            buf.append(struct.pack("<IIII", ts_us // 1000000, ts_us % 1000000, len(pkt), len(pkt)))
            buf.append(pkt)
            buf_len += 16 + len(pkt)
            stats["packets"] += 1
            if entry[2] == len(entry[1]):
                inflight[k] = inflight[-1]
                inflight.pop()
                if cur[entry[0]] is not None or nextc[entry[0]] < len(plan[entry[0]]):
                    ready.append(entry[0])
            if buf_len >= 1 << 22:
                f.write(b"".join(buf))
                buf, buf_len = [], 0
        f.write(b"".join(buf))
    stats["streams"] = stats["requests"]
    stats["duration_s"] = round(ts_us / 1e6 - start_ts, 3)
    return stats


# --- reading a twin back ----------------------------------------------------------------------

def tcp_streams(path, want):
    """{(client ip, client port): {True: client bytes, False: server bytes}} for the first `want`
    connections of a classic pcap (Ethernet/IPv4/TCP as written here), in sequence order."""
    streams, order = {}, []
    with open(path, "rb") as f:
        f.read(24)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            n = struct.unpack("<IIII", rec)[2]
            pkt = f.read(n)
            ip = pkt[14:]
            ihl = (ip[0] & 15) * 4
            tcp = ip[ihl:struct.unpack("!H", ip[2:4])[0]]
            sport, dport = struct.unpack("!HH", tcp[:4])
            flags = tcp[13]
            payload = tcp[(tcp[12] >> 4) * 4:]
            from_client = sport >= 32768          # clients use 32768-60767 (gen_bench.py)
            key = (ip[12:16], sport) if from_client else (ip[16:20], dport)
            if key not in streams:
                if len(order) == want or not flags & 0x02:
                    continue
                streams[key] = {True: bytearray(), False: bytearray()}
                order.append(key)
            streams[key][from_client] += payload
            if len(order) == want and all(s[True].endswith(frame(GOAWAY, 0, 0, bytes(8)))
                                          for s in streams.values()):
                break
    return [(k, streams[k]) for k in order]


def frames_of(data):
    off = 0
    while off < len(data):
        n = int.from_bytes(data[off:off + 3], "big")
        yield data[off + 3], data[off + 4], int.from_bytes(data[off + 5:off + 9], "big"), bytes(data[off + 9:off + 9 + n])
        off += 9 + n


def check(path, plan, want=3):
    """Parses the first `want` connections of the twin with python3-h2 and hpack and compares
    them with the plan; returns the number of requests checked (raises on a mismatch)."""
    import h2.config
    import h2.connection
    import h2.events
    planned = {}
    for conns in plan:
        for p in conns:
            planned.setdefault((p["client"], p["port"]), []).append(p)
    checked = 0
    for key, st in tcp_streams(path, want):
        p = planned[key].pop(0)
        srv = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        srv.initiate_connection()
        events = srv.receive_data(bytes(st[True]))
        reqs = [e for e in events if isinstance(e, h2.events.RequestReceived)]
        assert len(reqs) == len(p["exchanges"]), (key, len(reqs), len(p["exchanges"]))
        dec, resps = hpack.Decoder(), {}
        for ftype, flags, sid, payload in frames_of(bytes(st[False])):
            if ftype == HEADERS:
                resps[sid] = dict(dec.decode(payload, raw=False))
            elif ftype == DATA:
                resps[sid]["body"] = resps[sid].get("body", b"") + payload
        for e, (req, resp) in zip(reqs, p["exchanges"]):
            h = dict((n.decode(), v.decode()) for n, v in e.headers)
            assert h[":path"] == req[1] and h["authorization"] == "Bearer " + req[2].decode(), (key, e.stream_id)
            assert h[":authority"] == p["host"] and h["client-request-id"] == req[3]
            r = resps[e.stream_id]
            assert r[":status"] == "200" and r["request-id"] == resp[1] and r["body"] == resp[2]
            checked += 1
    return checked
