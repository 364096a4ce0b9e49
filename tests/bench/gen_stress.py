#!/usr/bin/python3
"""gen_stress.py — writes the stress capture: a hostile SPAN port's worth of state in one file.

A classic pcap (Ethernet/IPv4, microsecond timestamps, June 2023) with --flows TCP flows to a
few servers, from random clients, in --seconds of packet time (less than the default 120 s flow
timeout, so only the memcaps can make room):

  half-open    a bare SYN, or SYN and SYN+ACK (SYN-flood and scan debris)          --syn-share
  ooo          handshake, then 1-4 client data segments after a hole that never fills, with
               random offsets, sometimes overlapping; some have the server ACK past the hole
               (an ACK-declared gap), some never do (held until a memcap or the flow's end)
  real         --real complete keep-alive connections, spread evenly through the file, each
               with one request carrying a Storm-0558-pattern token (key_issuer_mismatch
               against etc/demo/tokenwatch.yaml) and a 200 response: these must still alert

and, interleaved with the middle third of the flows, a fragment storm: --frags IPv4 fragments
of distinct datagrams that never complete (first, middle or last pieces only, random ids).

That is --shape mixed (the default). The other shapes hold one kind of state per flow, each
where a memcap must bound it (run_stress.py checks every shape against its memcaps):

  ooo          handshake, then four 1,400-byte client segments after a hole that never fills,
               in the order 2, 4, 1, 3: out-of-order segments (stream memcap) on many flows
  head         handshake, then three in-order 1,400-byte client segments: on even flows a
               request head that never ends (a partial head, http memcap), on odd ones a JSON
               request whose body has far to go (a body being collected, http memcap)
  gzip         handshake, then a JSON request with Content-Encoding: gzip and the first 1,400
               bytes of its compressed body: a zlib stream in flight per flow (http memcap)

with --real token-carrying connections spread through them as above, and no fragments.

Deterministic (seeded RNG; RSA PKCS#1 v1.5 signatures are deterministic). A .meta JSON beside the
output records the parameters and counts and the sha256 of each real token; when it matches,
generation is skipped (--force redoes it). Needs the TEST-ONLY keys in tests/gen/keys/.
"""
import argparse
import hashlib
import json
import os
import random
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))

GENERATOR_VERSION = 1
START_TS = 1685620800 + 6 * 3600   # 2023-06-01T18:00:00Z
SERVERS = [bytes([198, 51, 100, 60 + i]) for i in range(4)]
MAC_C, MAC_S = bytes.fromhex("020000000011"), bytes.fromhex("020000000022")
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
SHAPES = ("mixed", "ooo", "head", "gzip")


def fold(data):
    """Ones' complement sum of big-endian 16-bit words, as a residue mod 0xFFFF."""
    if len(data) & 1:
        data += b"\0"
    return int.from_bytes(data, "big") % 0xFFFF


def final(s):
    s %= 0xFFFF
    return 0 if s == 0 else 0xFFFF - s


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        self.buf, self.packets, self.bytes = [], 0, 24

    def frame(self, ts_us, l3, to_server=True):
        eth = (MAC_S + MAC_C if to_server else MAC_C + MAC_S) + b"\x08\x00"
        n = 14 + len(l3)
        self.buf.append(struct.pack("<IIII", ts_us // 1000000, ts_us % 1000000, n, n))
        self.buf.append(eth)
        self.buf.append(l3)
        self.packets += 1
        self.bytes += 16 + n
        if len(self.buf) > 30000:
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.buf))
        self.buf = []

    def close(self):
        self.flush()
        self.f.close()


def ipv4(src, dst, proto, payload, ident, frag=0):
    """frag: the 16-bit flags/offset field (DF for ordinary packets)."""
    hdr = struct.pack("!BBHHHBB", 0x45, 0, 20 + len(payload), ident & 0xffff, frag, 64, proto)
    rest = src + dst
    c = final(fold(hdr) + fold(rest))
    return hdr + struct.pack("!H", c) + rest + payload


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", win=64240, pay_sum=None):
    hdr = struct.pack("!HHIIBBH", sport, dport, seq & 0xffffffff, ack & 0xffffffff, 0x50, flags, win)
    ln = 20 + len(payload)
    s = fold(src + dst + struct.pack("!BBH", 0, 6, ln)) + fold(hdr)
    s += fold(payload) if pay_sum is None else pay_sum
    return hdr + struct.pack("!HH", final(s), 0) + payload


def real_conn(w, ts, d, client, cport, server, token, ident):
    """Handshake, one request with the token, a 200 response, FIN close. Returns the new ts."""
    import pcapgen as P
    req = P.http_request("GET", "/api/v2.0/me/mailfolders/inbox/messages?$top=10", "outlook.example.com",
                         [("Authorization", "Bearer " + token), ("User-Agent", "Client=REST;Client=RESTSystem;;"),
                          ("Accept", "application/json")])
    resp = P.http_response(200, '{"value":[]}')
    c, s = 0x1000 + cport * 7, 0x9000 + cport * 13
    segs = [(True, c, 0, SYN, b""), (False, s, c + 1, SYN | ACK, b""), (True, c + 1, s + 1, ACK, b"")]
    c += 1
    s += 1
    for off in range(0, len(req), 1460):
        part = req[off:off + 1460]
        segs.append((True, c, s, ACK | PSH, part))
        c += len(part)
    segs.append((False, s, c, ACK, b""))
    segs.append((False, s, c, ACK | PSH, resp))
    s += len(resp)
    segs.append((True, c, s, ACK, b""))
    segs += [(True, c, s, FIN | ACK, b""), (False, s, c + 1, FIN | ACK, b""), (True, c + 1, s + 1, ACK, b"")]
    for to_server, seq, ack, fl, pay in segs:
        src, dst, sp, dp = (client, server, cport, 80) if to_server else (server, client, 80, cport)
        ident += 1
        w.frame(ts, ipv4(src, dst, 6, tcp(src, dst, sp, dp, seq, ack, fl, pay), ident, 0x4000), to_server)
        ts += d
    return ts, ident


def payload_pool(rng):
    """Data for the out-of-order segments: header-like text without a line end (so that after a
    gap it sits in the HTTP head buffer), JSON-ish text and random bytes; with checksums."""
    pool = []
    for i in range(96):
        n = rng.randint(100, 600)
        kind = i % 3
        if kind == 0:
            p = (b"X-Trace-%d: " % i + bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789")
                                              for _ in range(n)))[:n]
        elif kind == 1:
            p = (b'{"id":%d,"payload":"' % i + b"A" * n)[:n]
        else:
            p = bytes(rng.getrandbits(8) for _ in range(n))
        pool.append((p, fold(p)))
    return pool


def shape_segments(shape, i, rng, gz):
    """The client data (list of (offset from the first data byte, payload)) of flow i of a
    non-mixed shape, in the order sent."""
    if shape == "ooo":
        pay = [bytes([65 + (i + k) % 26]) * 1400 for k in range(4)]
        hole = 1 + rng.randint(0, 1000)
        return [(hole + 1400 * k, pay[k]) for k in (1, 3, 0, 2)]
    if shape == "head":
        if i & 1:
            head = (b"POST /api/token HTTP/1.1\r\nHost: login.example.com\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
            data = head + b'{"pad":"' + b"x" * (4200 - len(head) - 8)
        else:
            head = b"GET /api/v2.0/me HTTP/1.1\r\nHost: outlook.example.com\r\nX-Pad: "
            data = head + b"y" * (4200 - len(head))
        return [(1400 * k, data[1400 * k:1400 * (k + 1)]) for k in range(3)]
    head = (b"POST /api/token HTTP/1.1\r\nHost: login.example.com\r\n"
            b"Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n" % len(gz))
    return [(0, head), (len(head), gz[:1400])]


def gzip_body(rng):
    """A gzip'd JSON body that does not compress much (random hex), so its first 1,400 bytes
    make zlib produce output: it then holds its 32 KiB window as well as its state."""
    import gzip
    text = b'{"data":"' + b"".join(b"%08x" % rng.getrandbits(32) for _ in range(4000)) + b'"}'
    return gzip.compress(text, 6, mtime=0)


def generate(path, flows, frags, seconds, real, syn_share, seed, shape="mixed"):
    import make_captures as M
    rng = random.Random(seed)
    pool = payload_pool(rng)
    w = Writer(path)
    t0 = START_TS * 1000000
    step = seconds * 1000000 // max(flows, 1)
    d = max(1, step // 16)       # between the packets of one flow: all of it before the next flow
    real_at = {flows * (k + 1) // (real + 1): k for k in range(real)}
    frag_lo, frag_hi = flows // 3, 2 * flows // 3
    frag_done = 0
    counts = {"half_open": 0, "ooo": 0, "ooo_acked": 0, "ooo_segments": 0, "real": 0}
    gz = gzip_body(rng) if shape == "gzip" else b""
    if shape != "mixed":
        frags = 0
    tokens = []
    ident = 0
    for i in range(flows):
        ts = t0 + i * step
        if i in real_at:
            k = real_at[i]
            tok = M.tok_storm_style(START_TS + i * seconds // flows, sub="stress-real-%d" % k)
            tokens.append(hashlib.sha256(tok.encode()).hexdigest())
            _, ident = real_conn(w, ts, d, bytes([10, 77, 0, 10 + k]), 40000 + k, SERVERS[k % 4], tok, ident)
            counts["real"] += 1
            continue
        client = bytes([rng.randint(1, 223), rng.getrandbits(8), rng.getrandbits(8), rng.randint(1, 254)])
        cport = rng.randint(1024, 65535)
        server = SERVERS[i & 3]
        c, s = rng.getrandbits(32), rng.getrandbits(32)
        ident = (ident + 1) & 0xffff
        w.frame(ts, ipv4(client, server, 6, tcp(client, server, cport, 80, c, 0, SYN), ident, 0x4000))
        if shape != "mixed":
            w.frame(ts + d, ipv4(server, client, 6, tcp(server, client, 80, cport, s, c + 1, SYN | ACK),
                                  ident, 0x4000), False)
            w.frame(ts + 2 * d, ipv4(client, server, 6, tcp(client, server, cport, 80, c + 1, s + 1, ACK),
                                  ident, 0x4000))
            segs = shape_segments(shape, i, rng, gz)
            for k, (off, p) in enumerate(segs):
                w.frame(ts + (3 + k) * d, ipv4(client, server, 6, tcp(client, server, cport, 80, c + 1 + off,
                                                                       s + 1, ACK | PSH, p), ident, 0x4000))
            counts[shape] = counts.get(shape, 0) + 1
            counts["segments"] = counts.get("segments", 0) + len(segs)
            continue
        r = rng.random()
        if r < syn_share:
            if r < syn_share / 2:
                w.frame(ts + d, ipv4(server, client, 6, tcp(server, client, 80, cport, s, c + 1, SYN | ACK),
                                      ident, 0x4000), False)
            counts["half_open"] += 1
        else:
            w.frame(ts + d, ipv4(server, client, 6, tcp(server, client, 80, cport, s, c + 1, SYN | ACK),
                                  ident, 0x4000), False)
            w.frame(ts + 2 * d, ipv4(client, server, 6, tcp(client, server, cport, 80, c + 1, s + 1, ACK),
                                  ident, 0x4000))
            hole = rng.randint(1, 3000)
            nseg = rng.randint(1, 4)
            off = c + 1 + hole
            end = off
            for k in range(nseg):
                p, psum = pool[rng.randrange(len(pool))]
                seq = off + rng.randint(-100, 600)     # random offsets, some overlapping
                w.frame(ts + (3 + k) * d, ipv4(client, server, 6, tcp(client, server, cport, 80, seq, s + 1,
                                                                       ACK | PSH, p, pay_sum=psum), ident, 0x4000))
                off = seq + len(p)
                end = max(end, off)
            counts["ooo_segments"] += nseg
            counts["ooo"] += 1
            if rng.random() < 0.3:      # the server got the hole: an ACK past it
                w.frame(ts + 8 * d, ipv4(server, client, 6, tcp(server, client, 80, cport, s + 1, end, ACK),
                                       ident, 0x4000), False)
                counts["ooo_acked"] += 1
        if frags and frag_lo <= i < frag_hi:
            due = frags * (i - frag_lo + 1) // (frag_hi - frag_lo)
            while frag_done < due:
                frag_done += 1
                src = bytes([rng.randint(1, 223), rng.getrandbits(8), rng.getrandbits(8), rng.randint(1, 254)])
                p, _ = pool[rng.randrange(len(pool))]
                p = p[:len(p) & ~7] or p[:8]
                kind = rng.randrange(3)       # first, middle or last piece: never all of one
                off8 = 0 if kind == 0 else rng.randint(1, 7000)
                mf = 0 if kind == 2 else 0x2000
                w.frame(ts + 9 * d, ipv4(src, SERVERS[frag_done & 3], 6, p, rng.getrandbits(16), mf | off8))
    w.close()
    counts["frags"] = frag_done
    return w.packets, w.bytes, counts, tokens


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench", "stress.pcap"))
    ap.add_argument("--flows", type=int, default=1000000)
    ap.add_argument("--frags", type=int, default=150000)
    ap.add_argument("--seconds", type=int, default=100)
    ap.add_argument("--real", type=int, default=8)
    ap.add_argument("--syn-share", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=20230601)
    ap.add_argument("--shape", choices=SHAPES, default="mixed")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    params = {"flows": a.flows, "frags": a.frags, "seconds": a.seconds, "real": a.real,
              "syn_share": a.syn_share, "seed": a.seed, "generator": GENERATOR_VERSION}
    if a.shape != "mixed":
        params.update(shape=a.shape, frags=0)
    meta_path = a.out + ".meta"
    if not a.force and os.path.exists(a.out) and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get("params") == params and os.path.getsize(a.out) == meta.get("bytes"):
            print("gen_stress: %s is up to date" % a.out)
            return 0
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    t = time.time()
    packets, nbytes, counts, tokens = generate(a.out, a.flows, a.frags, a.seconds, a.real, a.syn_share, a.seed,
                                               a.shape)
    meta = {"params": params, "packets": packets, "bytes": nbytes, "counts": counts,
            "real_tokens_sha256": tokens}
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    print("gen_stress: %d packets, %.0f MB, %s in %.0f s -> %s" % (packets, nbytes / 1e6, counts,
                                                                   time.time() - t, a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
