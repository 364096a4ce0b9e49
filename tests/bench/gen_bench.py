#!/usr/bin/python3
"""gen_bench.py — writes the benchmark capture: HTTP/1.1 API traffic carrying signed JWTs.

A classic pcap (Ethernet/IPv4/TCP, microsecond timestamps, June 2023) of many concurrent
keep-alive connections from --clients clients to a few API servers, interleaved at packet
level the way a SPAN port sees them. Every request carries "Authorization: Bearer <RS256 JWT>"
from a pool of --tokens tokens signed with the demo-organizations key, so every token verifies
against etc/demo/keys/demo-organizations.jwks.json and the traffic raises no alert. Responses are
JSON bodies of 1-8 KB. TCP is well formed: handshake with MSS 1460, sequence/ack numbers,
delayed ACKs, FIN close, correct IPv4 and TCP checksums.

Everything is drawn from a seeded RNG; RSA PKCS#1 v1.5 signatures are deterministic too, so the
same parameters give the same file. A .meta JSON beside the output records the parameters and
counts (requests, packets, bytes); when it matches, generation is skipped (--force redoes it).

With --h2c-out it also writes the h2c twin (gen_bench_h2c.py): the same connections, requests,
tokens and responses over HTTP/2 with prior knowledge, replayed from a plan recorded while the
HTTP/1.1 capture is written (which stays byte for byte what it is without the option); both are
regenerated together when either's .meta does not match.

Only the Python standard library plus python3-cryptography (Debian's 38 is enough); the twin
needs python3-hpack, and --check python3-h2.
"""
import argparse
import base64
import hashlib
import json
import os
import random
import struct
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_JWKS = os.path.join(ROOT, "etc", "demo", "keys", "demo-organizations.jwks.json")
DEFAULT_KEY = os.path.join(ROOT, "tests", "gen", "keys", "TEST-ONLY-org-1.key.pem")
START_TS = 1685610000  # 2023-06-01T09:00:00Z
MSS = 1460
INFLIGHT = 64          # exchanges whose packets interleave at any time

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10

HOSTS = [
    "graph.contoso.example", "api.contoso.example", "orders.fabrikam.example",
    "inventory.fabrikam.example", "billing.northwind.example", "hr.woodgrove.example",
    "files.tailspin.example", "search.adatum.example",
]
USER_AGENTS = [
    "python-requests/2.31.0", "okhttp/4.11.0", "Go-http-client/1.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/114.0.0.0 Safari/537.36",
    "Microsoft.Graph.Client/5.11.0", "axios/1.4.0", "curl/8.1.2",
]
FIRST = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia",
         "Leslie", "Margaret", "Niklaus", "Shafi", "Tim", "Vint", "Whitfield"]
LAST = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
        "Perlman", "Lamport", "Hamilton", "Wirth", "Goldwasser", "Berners-Lee", "Cerf", "Diffie"]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def b64url_int(text):
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def guid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def csum_fold(data):
    """Ones' complement sum of 16-bit big-endian words, as an int mod 0xFFFF (2^16 = 1 there,
    so the big-endian integer of the whole buffer has the same residue as the word sum)."""
    if len(data) & 1:
        data += b"\0"
    return int.from_bytes(data, "big") % 0xFFFF


def csum_final(s):
    s %= 0xFFFF
    return 0 if s == 0 else 0xFFFF - s  # a residue of 0 means the sum was 0xFFFF


def load_signer(key_path, kid, jwks_path):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    with open(key_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        sys.exit(f"gen_bench: {key_path}: not an RSA private key")
    if kid is None:
        # The kid must be the one the JWKS gives this key: find it by the public modulus.
        if not os.path.exists(jwks_path):
            sys.exit(f"gen_bench: {jwks_path} not found: pass --kid (or --jwks)")
        with open(jwks_path) as f:
            jwks = json.load(f)
        n = key.public_key().public_numbers().n
        for jwk in jwks.get("keys", []):
            if jwk.get("kty") == "RSA" and b64url_int(jwk.get("n", "")) == n:
                kid = jwk.get("kid")
                break
        if kid is None:
            sys.exit(f"gen_bench: no key in {jwks_path} matches {key_path}: pass --kid")

    def sign(data):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    return sign, kid


def make_tokens(rng, count, sign, kid):
    """The token pool: a few tenants, apps and audiences; valid for the whole capture."""
    header = b64url(json.dumps({"typ": "JWT", "alg": "RS256", "kid": kid},
                               separators=(",", ":")).encode())
    tenants = [guid(rng) for _ in range(4)]
    apps = [guid(rng) for _ in range(12)]
    audiences = ["api://" + guid(rng) for _ in range(6)] + ["https://graph.contoso.example"]
    tokens = []
    for i in range(count):
        tid = rng.choice(tenants)
        iat = START_TS - rng.randint(0, 1800)
        first, last = rng.choice(FIRST), rng.choice(LAST)
        claims = {
            "aud": rng.choice(audiences),
            "iss": f"https://login.microsoftonline.com/{tid}/v2.0",
            "iat": iat, "nbf": iat, "exp": iat + 3600 + rng.randint(0, 1800),
            "aio": b64url(rng.randbytes(48)).decode(),
            "azp": rng.choice(apps), "azpacr": "1",
            "name": f"{first} {last}",
            "oid": guid(rng),
            "preferred_username": f"{first.lower()}.{last.lower()}{i}@contoso.example",
            "rh": "0.A" + b64url(rng.randbytes(30)).decode() + ".",
            "scp": rng.choice(["User.Read", "Orders.ReadWrite", "Files.Read.All Sites.Read.All",
                               "access_as_user"]),
            "sub": b64url(rng.randbytes(32)).decode(),
            "tid": tid,
            "uti": b64url(rng.randbytes(16)).decode(),
            "ver": "2.0",
        }
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = header + b"." + payload
        tokens.append(signing_input + b"." + b64url(sign(signing_input)))
    return tokens


def make_bodies(rng, count):
    """Response bodies: JSON collections of 1-8 KB, sizes spread evenly."""
    bodies = []
    for _ in range(count):
        target = rng.randint(1024, 8192)
        items, size = [], 40
        while True:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            item = {"id": guid(rng), "displayName": f"{first} {last}",
                    "mail": f"{first.lower()}.{last.lower()}@contoso.example",
                    "createdDateTime": f"2023-0{rng.randint(1, 5)}-{rng.randint(10, 28)}"
                                       f"T{rng.randint(10, 23)}:{rng.randint(10, 59)}:00Z",
                    "quota": rng.randint(0, 1 << 40), "enabled": rng.random() < 0.8}
            enc = json.dumps(item, separators=(",", ":"))
            if size + len(enc) + 1 > target and items:
                break
            items.append(enc)
            size += len(enc) + 1
        body = '{"@odata.context":"https://' + rng.choice(HOSTS) + '/v1.0/$metadata#users",' \
               '"value":[' + ",".join(items) + "]}"
        bodies.append(body.encode())
    return bodies


class Conn:
    """One TCP connection; builds its frames with correct sequence numbers and checksums."""
    __slots__ = ("cmac", "smac", "cip", "sip", "cport", "sport", "cseq", "sseq", "cid", "sid",
                 "host", "ua", "token", "left", "pseudo_cs", "pseudo_sc")

    def __init__(self, rng, client, server, cport, host, ua, token, nreq):
        self.cmac = b"\x02\x00" + client[0]
        self.smac = b"\x02\x01" + server[0]
        self.cip, self.sip = client[0], server[0]
        self.cport, self.sport = cport, server[1]
        self.cseq, self.sseq = rng.getrandbits(32), rng.getrandbits(32)
        self.cid, self.sid = rng.getrandbits(16), rng.getrandbits(16)
        self.host, self.ua, self.token, self.left = host, ua, token, nreq
        # src, dst, zero, proto: the part of the pseudo-header that never changes
        self.pseudo_cs = csum_fold(self.cip + self.sip + b"\0\x06")
        self.pseudo_sc = csum_fold(self.sip + self.cip + b"\0\x06")

    def frame(self, from_client, flags, payload=b"", opts=b""):
        thl = 20 + len(opts)
        tcp_len = thl + len(payload)
        if from_client:
            src, dst, sport, dport, seq, ack = (self.cip, self.sip, self.cport, self.sport,
                                                self.cseq, self.sseq)
            macs, pseudo = self.smac + self.cmac, self.pseudo_cs
            ipid = self.cid = (self.cid + 1) & 0xFFFF
        else:
            src, dst, sport, dport, seq, ack = (self.sip, self.cip, self.sport, self.cport,
                                                self.sseq, self.cseq)
            macs, pseudo = self.cmac + self.smac, self.pseudo_sc
            ipid = self.sid = (self.sid + 1) & 0xFFFF
        if not flags & ACK:
            ack = 0
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tcp_len, ipid, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum_final(csum_fold(ip))) + ip[12:]
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (thl // 4) << 4, flags, 502, 0,
                          0) + opts
        cs = csum_final(pseudo + tcp_len + csum_fold(tcp) + csum_fold(payload))
        tcp = tcp[:16] + struct.pack("!H", cs) + tcp[18:]
        consumed = len(payload) + (1 if flags & (SYN | FIN) else 0)
        if from_client:
            self.cseq = (self.cseq + consumed) & 0xFFFFFFFF
        else:
            self.sseq = (self.sseq + consumed) & 0xFFFFFFFF
        return macs + b"\x08\x00" + ip + tcp + payload

    def open(self):
        mss = struct.pack("!BBH", 2, 4, MSS)
        return [self.frame(True, SYN, opts=mss), self.frame(False, SYN | ACK, opts=mss),
                self.frame(True, ACK)]

    def close(self):
        return [self.frame(True, FIN | ACK), self.frame(False, FIN | ACK), self.frame(True, ACK)]

    def exchange(self, request, response):
        out = []
        for off in range(0, len(request), MSS):
            out.append(self.frame(True, PSH | ACK if off + MSS >= len(request) else ACK,
                                  request[off:off + MSS]))
        segs = [response[off:off + MSS] for off in range(0, len(response), MSS)]
        for i, seg in enumerate(segs):
            last = i == len(segs) - 1
            out.append(self.frame(False, PSH | ACK if last else ACK, seg))
            if last or i % 2 == 1:  # delayed ACK: every second segment, and the last
                out.append(self.frame(True, ACK))
        return out


def make_request(rng, conn):
    n = rng.random()
    if n < 0.35:
        path = f"/v1.0/users/{guid(rng)}?$select=displayName,mail"
    elif n < 0.6:
        path = f"/v1.0/me/messages?$top={rng.choice((10, 25, 50))}&$skip={rng.randint(0, 500)}"
    elif n < 0.8:
        path = f"/api/orders/{rng.randint(100000, 999999)}/lines"
    else:
        path = f"/api/inventory/items?sku={rng.randint(1000, 99999)}&warehouse=wh{rng.randint(1, 9)}"
    body = b""
    method = "GET"
    if rng.random() < 0.15:
        method = "POST"
        path = path.split("?")[0]
        body = json.dumps({"quantity": rng.randint(1, 50), "note": "bench"}).encode()
    crid = guid(rng)
    head = (f"{method} {path} HTTP/1.1\r\nHost: {conn.host}\r\nUser-Agent: {conn.ua}\r\n"
            f"Accept: application/json\r\nAuthorization: Bearer ").encode()
    tail = f"\r\nclient-request-id: {crid}\r\n".encode()
    if body:
        tail += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n".encode()
    # the request as the h2c twin sends it (gen_bench_h2c.py): the same fields, in this order
    return head + conn.token + tail + b"\r\n" + body, (method, path, conn.token, crid, body)


def make_response(rng, bodies, ts):
    body = rng.choice(bodies)
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(ts))
    rid = guid(rng)
    head = (f"HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: application/json; "
            f"odata.metadata=minimal\r\nContent-Length: {len(body)}\r\n"
            f"request-id: {rid}\r\nCache-Control: no-cache\r\n\r\n").encode()
    return head + body, (date, rid, body)


def generate(args, out_path, sign, kid, plan=None):
    """Writes the HTTP/1.1 capture. plan: a list with one (empty) list per client, filled with
    that client's connections in order, each {server, port, host, ua, exchanges: [(request
    fields, response fields)]}: what the h2c twin carries (gen_bench_h2c.py)."""
    rng = random.Random(args.seed)
    tokens = make_tokens(rng, args.tokens, sign, kid)
    bodies = make_bodies(rng, 256)
    servers = [(bytes([192, 0, 2, 10 + i]), 80 if i % 3 else 8080) for i in range(len(HOSTS))]
    clients = [(bytes([10, 20, i // 250, 1 + i % 250]),) for i in range(args.clients)]
    target = args.size_mb * 1000 * 1000
    # One slot per client: closed (None) or an open connection; ready = not in flight.
    slots = [None] * args.clients
    next_port = [32768 + rng.randint(0, 20000) for _ in range(args.clients)]
    ready = list(range(args.clients))
    inflight = []  # [slot, frames, position]
    ts_us = START_TS * 1000000
    written = 24
    stats = {"requests": 0, "connections": 0, "packets": 0}
    used_tokens = set()
    buf, buf_len = [], 0

    with open(out_path + ".tmp", "wb") as f:
        buf.append(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        while inflight or ready:
            draining = written + buf_len >= target
            while len(inflight) < INFLIGHT and ready:
                k = rng.randrange(len(ready))
                ready[k], ready[-1] = ready[-1], ready[k]
                slot = ready.pop()
                conn = slots[slot]
                if conn is None:
                    if draining:
                        continue  # finished: never reopens
                    srv = rng.randrange(len(servers))
                    port = next_port[slot]
                    next_port[slot] = 32768 + (port - 32768 + 1) % 28000
                    tok = tokens[slot % len(tokens)]
                    conn = slots[slot] = Conn(rng, clients[slot], servers[srv], port, HOSTS[srv],
                                              rng.choice(USER_AGENTS), tok, rng.randint(25, 75))
                    frames = conn.open()
                    stats["connections"] += 1
                    if plan is not None:
                        plan[slot].append({"client": clients[slot][0], "server": servers[srv],
                                           "port": port, "host": conn.host,
                                           "ua": conn.ua, "exchanges": []})
                elif draining or conn.left == 0:
                    frames = conn.close()
                    slots[slot] = None
                else:
                    if rng.random() < 0.1:
                        # now and then a client switches to its other token (a second app or
                        # user on the host): a token pair is shared by two clients at most, so
                        # honest traffic stays under token_replay's default of three clients
                        own = tokens[slot % len(tokens)]
                        other = tokens[(slot + len(tokens) // 2) % len(tokens)]
                        conn.token = other if conn.token == own else own
                    conn.left -= 1
                    used_tokens.add(conn.token)
                    stats["requests"] += 1
                    request, req_fields = make_request(rng, conn)
                    response, resp_fields = make_response(rng, bodies, ts_us // 1000000)
                    frames = conn.exchange(request, response)
                    if plan is not None:
                        plan[slot][-1]["exchanges"].append((req_fields, resp_fields))
                inflight.append([slot, frames, 0])
            if not inflight:
                break
            k = rng.randrange(len(inflight))
            entry = inflight[k]
            frame = entry[1][entry[2]]
            entry[2] += 1
            ts_us += rng.randint(2, 40)
            rec = struct.pack("<IIII", ts_us // 1000000, ts_us % 1000000, len(frame), len(frame))
            buf.append(rec)
            buf.append(frame)
            buf_len += 16 + len(frame)
            stats["packets"] += 1
            if entry[2] == len(entry[1]):
                inflight[k] = inflight[-1]
                inflight.pop()
                if slots[entry[0]] is not None or not draining:
                    ready.append(entry[0])
            if buf_len >= 1 << 22:
                f.write(b"".join(buf))
                written += buf_len
                buf, buf_len = [], 0
        f.write(b"".join(buf))
        written += buf_len
    os.replace(out_path + ".tmp", out_path)
    stats["bytes"] = os.path.getsize(out_path)
    stats["tokens_distinct"] = len(used_tokens)
    stats["duration_s"] = round(ts_us / 1e6 - START_TS, 3)
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="capture to write (a .meta JSON goes beside it)")
    ap.add_argument("--size-mb", type=int, default=200, help="approximate size in MB (10^6 B)")
    ap.add_argument("--clients", type=int, default=2000, help="concurrent client connections")
    ap.add_argument("--tokens", type=int, default=2000, help="size of the token pool")
    ap.add_argument("--seed", type=int, default=20230601)
    ap.add_argument("--key", default=DEFAULT_KEY, help="RSA private key PEM (default: the "
                    "demo-organizations key tests/gen/keys/TEST-ONLY-org-1.key.pem)")
    ap.add_argument("--kid", help="kid of that key (default: looked up in --jwks by modulus)")
    ap.add_argument("--jwks", default=DEFAULT_JWKS, help="JWKS holding the public key")
    ap.add_argument("--force", action="store_true", help="regenerate even if cached")
    ap.add_argument("--h2c-out", help="also write the h2c twin (gen_bench_h2c.py): the same "
                    "requests, tokens and responses over HTTP/2 with prior knowledge")
    ap.add_argument("--check", type=int, default=0, metavar="N",
                    help="read the twin's first N connections back with python3-h2 (after writing)")
    args = ap.parse_args()

    key = args.key
    if not os.path.exists(key):
        sys.exit(f"gen_bench: signing key {key} not found: pass --key PEM")
    with open(key, "rb") as f:
        key_sha = hashlib.sha256(f.read()).hexdigest()
    sign, kid = load_signer(key, args.kid, args.jwks)
    with open(os.path.abspath(__file__), "rb") as f:
        gen_sha = hashlib.sha256(f.read()).hexdigest()[:16]  # a changed generator regenerates
    params = {"generator": gen_sha, "size_mb": args.size_mb, "clients": args.clients,
              "tokens": args.tokens, "seed": args.seed, "key_sha256": key_sha, "kid": kid}
    outs = [(args.out, params)]
    if args.h2c_out:
        with open(os.path.join(HERE, "gen_bench_h2c.py"), "rb") as f:
            twin = dict(params, h2c=hashlib.sha256(f.read()).hexdigest()[:16])
        outs.append((args.h2c_out, twin))
    if not args.force and all(up_to_date(path, p) for path, p in outs):
        for path, _ in outs:
            with open(path + ".meta") as f:
                meta = json.load(f)
            print(f"gen_bench: {path} is up to date ({meta['bytes']} bytes, "
                  f"{meta['requests']} requests)")
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    t0 = time.perf_counter()
    plan = [[] for _ in range(args.clients)] if args.h2c_out else None
    stats = generate(args, args.out, sign, kid, plan)
    write_meta(args.out, stats, params, key, t0)
    if args.h2c_out:
        import gen_bench_h2c
        t1 = time.perf_counter()
        twin_stats = gen_bench_h2c.write(args.h2c_out, plan, args.seed, Conn, MSS, INFLIGHT, START_TS)
        os.replace(args.h2c_out + ".tmp", args.h2c_out)
        twin_stats["bytes"] = os.path.getsize(args.h2c_out)
        twin_stats["tokens_distinct"] = stats["tokens_distinct"]
        twin_stats["twin_of"] = os.path.abspath(args.out)
        write_meta(args.h2c_out, twin_stats, twin, key, t1)
        if args.check:
            t2 = time.perf_counter()
            n = gen_bench_h2c.check(args.h2c_out, plan, args.check)
            print(f"gen_bench: {args.h2c_out}: the first {args.check} connections read back "
                  f"with python3-h2: {n} requests and responses as planned "
                  f"({time.perf_counter() - t2:.1f} s)")
    return 0


def up_to_date(path, params):
    try:
        with open(path + ".meta") as f:
            meta = json.load(f)
        return meta.get("params") == params and meta.get("bytes") == os.path.getsize(path)
    except (OSError, ValueError):
        return False


def write_meta(path, stats, params, key, t0):
    meta = dict(stats, params=params, key=os.path.abspath(key),
                generate_s=round(time.perf_counter() - t0, 1))
    with open(path + ".meta", "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    extra = f", {stats['batches']} batches of streams" if "batches" in stats else ""
    print(f"gen_bench: wrote {path}: {stats['bytes']} bytes, {stats['packets']} packets, "
          f"{stats['connections']} connections, {stats['requests']} requests{extra}, "
          f"{stats['tokens_distinct']} distinct tokens, {meta['generate_s']} s")


if __name__ == "__main__":
    sys.exit(main())
