#!/usr/bin/python3
"""gen_flood.py — a token flood capture: --count HTTP/1.1 requests, each carrying its own forged
RS256 bearer token (or, with --same, one token for all of them).

Every token names the demo-organizations key (kid IUrbLfDoSMUtofNmDGCh6woGrdM) with an issuer
that key may sign for, so the sensor runs a real RSA verification for each distinct token, and
the signature (random bytes) fails it: each is `signature_invalid`. Tokens differ in `jti`,
`oid` and the signature; their size is that of a real Entra access token (~1.2 KB). With
--storm N, every Nth request instead carries a token naming the Storm-0558 key (kid
1LTMzakihiRla_8z2BEJVXeWMqo): key_revoked, caught without a signature check. With --scope N,
every Nth request (half a period later) carries the other Storm-0558 shape: the demo-consumers
key's kid on an enterprise tenant's token, key_issuer_mismatch, also caught without one. The
.meta lists both kinds' token SHA-256 (EVE's token.sha256) under "storm_sha256" and
"scope_sha256" (tests/live/run_shed.py checks their alerts).

--body B pads the 401's JSON body to B bytes, split into segments of at most 1460 bytes (the
flood's bytes per token, hence tokens per second at a given Mbit/s; frames stay within a
1500-byte MTU for tcpreplay). Without it the answer is the 27-byte body.

Connections: --per-conn requests each (keep-alive), from 4,096 client address/port pairs to 8
servers, so a symmetric flow hash spreads them over workers; each request is one segment
answered by a small 401. Ethernet/IPv4/TCP with correct checksums, microsecond timestamps from
2023-06-01T09:00:00Z, 20 µs apart (the capture's own rate is not what is measured). Deterministic
for a given --seed. A .meta JSON beside the output records the parameters; when it matches, the
file is not rewritten (--force).

Standard library only.
"""
import argparse
import array
import base64
import hashlib
import json
import os
import random
import struct
import sys

START_TS = 1685610000
KID = "IUrbLfDoSMUtofNmDGCh6woGrdM"
STORM_KID = "1LTMzakihiRla_8z2BEJVXeWMqo"
TENANT = "3f5a1b2c-8d4e-4f6a-9b7c-0d1e2f3a4b5c"
ISS = "https://login.microsoftonline.com/%s/v2.0" % TENANT
CONSUMERS = "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
CONSUMER_KID = "vSRLoYKPVLuAAegn1sNEUe_eoBQ"  # demo-consumers: signs for CONSUMERS alone
MSS = 1460
SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(array.array("H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def packet(src, dst, sport, dport, seq, ack, flags, payload):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp) + len(payload))
    c = (~csum(pseudo + tcp + payload)) & 0xFFFF
    # array sums in host order: swap to network order on little-endian hosts
    if sys.byteorder == "little":
        c = ((c & 0xFF) << 8) | (c >> 8)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6,
                     0, src, dst)
    ic = (~csum(ip)) & 0xFFFF
    if sys.byteorder == "little":
        ic = ((ic & 0xFF) << 8) | (ic >> 8)
    ip = ip[:10] + struct.pack("!H", ic) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + tcp + payload


def token(rng, i, kid, iss):
    head = b64u(json.dumps({"typ": "JWT", "alg": "RS256", "kid": kid},
                           separators=(",", ":")).encode())
    iat = START_TS - 300
    claims = {"aud": "https://graph.microsoft.com", "iss": iss, "iat": iat, "nbf": iat,
              "exp": iat + 3600, "tid": TENANT if iss == ISS else iss.split("/")[3],
              "oid": "%08x-0000-4000-8000-%012x" % (i, rng.getrandbits(48)),
              "jti": b64u(rng.getrandbits(128).to_bytes(16, "big")).decode(),
              "scp": "Mail.Read Mail.Send User.Read Files.ReadWrite.All Calendars.Read",
              "name": "Flood User %d" % i, "upn": "user%d@contoso.example" % i,
              "app_displayname": "Graph Explorer", "ver": "2.0",
              "wids": ["b79fbf4d-3ef9-4689-8143-76b194e85509"],
              "xms_tcdt": 1600000000, "uti": b64u(rng.getrandbits(96).to_bytes(12, "big")).decode()}
    body = b64u(json.dumps(claims, separators=(",", ":")).encode())
    sig = b64u(rng.getrandbits(2048).to_bytes(256, "big"))
    return head + b"." + body + b"." + sig


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, required=True, help="requests (= distinct tokens)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--same", action="store_true", help="one token for every request")
    ap.add_argument("--storm", type=int, default=0, help="every Nth request: a Storm-0558 kid")
    ap.add_argument("--scope", type=int, default=0,
                    help="every Nth request: a consumer kid on an enterprise token")
    ap.add_argument("--body", type=int, default=0, help="401 body bytes (0: the short one)")
    ap.add_argument("--per-conn", type=int, default=100)
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()
    params = {"count": a.count, "seed": a.seed, "same": a.same, "storm": a.storm,
              "per_conn": a.per_conn, "version": 1}
    if a.scope or a.body:  # only then, so that earlier files' .meta still match
        params.update(scope=a.scope, body=a.body)
    meta_path = a.out + ".meta"
    if not a.force and os.path.exists(a.out):
        try:
            if json.load(open(meta_path)).get("params") == params:
                return 0
        except (OSError, ValueError):
            pass
    rng = random.Random(a.seed)
    out = open(a.out + ".tmp", "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    t = [START_TS * 1000000]
    npk = [0]

    def emit(frame):
        t[0] += 20
        out.write(struct.pack("<IIII", t[0] // 1000000, t[0] % 1000000, len(frame), len(frame)))
        out.write(frame)
        npk[0] += 1

    same = token(rng, 0, KID, ISS) if a.same else None
    resp = (b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
            b"WWW-Authenticate: Bearer error=\"invalid_token\"\r\nContent-Length: 27\r\n\r\n"
            b"{\"error\":\"invalid_token\"}\r\n")
    if a.body:
        body = b'{"error":"invalid_token","pad":"' + b"x" * max(0, a.body - 36) + b'"}\r\n'
        resp = (b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                b"WWW-Authenticate: Bearer error=\"invalid_token\"\r\nContent-Length: %d\r\n\r\n"
                % len(body) + body)
    i = conn = storms = 0
    storm_sha, scope_sha = [], []
    while i < a.count:
        cip = bytes([10, 1 + (conn >> 16) % 200, (conn >> 8) & 0xFF, conn & 0xFF])
        sip = bytes([192, 0, 2, 10 + conn % 8])
        sport = 20000 + (conn * 7) % 40000
        cs, ss = rng.getrandbits(32), rng.getrandbits(32)
        emit(packet(cip, sip, sport, 80, cs, 0, SYN, b""))
        emit(packet(sip, cip, 80, sport, ss, cs + 1, SYN | ACK, b""))
        cs += 1
        ss += 1
        emit(packet(cip, sip, sport, 80, cs, ss, ACK, b""))
        for _ in range(min(a.per_conn, a.count - i)):
            if a.storm and i % a.storm == a.storm - 1:
                tok = token(rng, i, STORM_KID, CONSUMERS)
                storms += 1
                storm_sha.append(hashlib.sha256(tok).hexdigest())
            elif a.scope and i % a.scope == a.scope // 2:
                tok = token(rng, i, CONSUMER_KID, ISS)
                scope_sha.append(hashlib.sha256(tok).hexdigest())
            else:
                tok = same or token(rng, i, KID, ISS)
            req = (b"GET /v1.0/me/messages?$top=%d HTTP/1.1\r\nHost: graph.contoso.example\r\n"
                   b"User-Agent: flood/1.0\r\nAccept: application/json\r\n"
                   b"Authorization: Bearer " % (i % 50) + tok + b"\r\n\r\n")
            emit(packet(cip, sip, sport, 80, cs, ss, PSH | ACK, req))
            cs = (cs + len(req)) & 0xFFFFFFFF
            for off in range(0, len(resp), MSS):
                seg = resp[off:off + MSS]
                emit(packet(sip, cip, 80, sport, ss, cs,
                            PSH | ACK if off + MSS >= len(resp) else ACK, seg))
                ss = (ss + len(seg)) & 0xFFFFFFFF
            i += 1
        emit(packet(cip, sip, sport, 80, cs, ss, FIN | ACK, b""))
        emit(packet(sip, cip, 80, sport, ss, cs + 1, FIN | ACK, b""))
        emit(packet(cip, sip, sport, 80, cs + 1, ss + 1, ACK, b""))
        conn += 1
    out.close()
    os.replace(a.out + ".tmp", a.out)
    with open(meta_path, "w") as f:
        json.dump({"params": params, "requests": a.count, "connections": conn, "packets": npk[0],
                   "storm_tokens": storms, "bytes": os.path.getsize(a.out),
                   "storm_sha256": storm_sha, "scope_sha256": scope_sha}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
