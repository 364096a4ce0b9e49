#!/usr/bin/python3
"""make_i12_real.py — the e2e cases of the captures of real implementations (issue 12):
tests/e2e/real_<name>/case.json for each pcaps/real/<name>.pcap that record_i12_real.py
recorded (once, as root; committed), and the late-join copies pcaps/real/<name>_cut.pcap with
their cases real_<name>_cut.

The expectations come from the bytes on the wire, decoded here by real_pcap.py (TCP, HTTP/1
heads, HTTP/2 frames, HPACK, WebSocket frames), never from the sensor's output: which token went
in which request (stream), where (location), what the server answered (status, grpc-status),
and with pcaps/real/manifest.json what SPEC §4 says of each token (its findings; the recorder
minted them). Every occurrence is one `token` record, plus one `alert` when it has findings,
each counted exactly, so a double report fails.

Late-join copies: per HTTP/2 connection, every packet up to and including the one that ends the
client's first HEADERS block is dropped (the SYNs too). A token whose field is still decodable
from there (a literal, or an index to an entry added after the cut) must be found; one whose
field refers to an entry added before the cut cannot be, and must not be invented (count 0).
The number of fields a decoder starting at the cut cannot resolve is printed (the counters
`stats.tokenwatch.http2.*` are left to the lead).

Deterministic (reads the committed captures). Run: /usr/bin/python3 tests/gen/make_i12_real.py
"""
import json
import os
import sys
from urllib.parse import parse_qsl, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_pcap as R                                    # noqa: E402
import tokens as T                                       # noqa: E402
from make_captures import FINDINGS, ROOT, Case           # noqa: E402

OUT = "pcaps/real"
H2 = ("real_h2_prior_knowledge", "real_h2_upgrade", "real_h2_nghttp_multi", "real_grpc")
FIELD_LOC = {b"authorization": "authorization", b"proxy-authorization": "authorization",
             b"cookie": "cookie"}


def locate(fields, toks):
    """[(token, location)] in a request's fields (HTTP/2 or HTTP/1, names lower case bytes)."""
    out = []
    for n, v, *_ in fields:
        n = n if isinstance(n, bytes) else n.encode()
        v = v if isinstance(v, bytes) else v.encode()
        for tok in toks:
            if tok.encode() not in v:
                continue
            if n in FIELD_LOC:
                out.append((tok, FIELD_LOC[n]))
            elif n == b":path" and any(val == tok for _, val in
                                       parse_qsl(urlsplit(v.decode()).query)):
                out.append((tok, "query"))
            else:
                raise SystemExit("token in an unexpected field %r" % n)
    return out


def field(fields, name):
    for n, v, state, _ in fields:
        if n == name:
            return v.decode() if state == "ok" else None
    return None


def accepted(status, grpc_status):
    if grpc_status is not None:
        return status == 200 and grpc_status == "0"
    return status is not None and (200 <= status < 400 or status == 101)


class Real(Case):
    """A case whose every expectation is one token occurrence (token record, alert if any)."""

    def __init__(self, name, description, man):
        super().__init__(name, description, [man["pcap"]])
        self.findings = {t["raw"]: t["findings"] for t in man["tokens"].values()}
        self.n_tokens = self.n_alerts = 0
        self.found = set()
        for tok in self.findings:
            self.secret(tok)

    def occurrence(self, tok, loc, match, count=1):
        findings = self.findings[tok]
        if count:
            self.found.add(tok)
        m = {"token.sha256": T.sha256_hex(tok), "token.location": loc}
        m.update(match)
        if count:
            m["token.findings"] = findings
        if findings:
            sid, sev = FINDINGS[findings[0]]
            self.expect(dict({"event_type": "alert", "alert.signature_id": sid,
                              "alert.severity": sev}, **m), count=count)
            self.n_alerts += count
        self.expect(dict({"event_type": "token"}, **m), count=count)
        self.n_tokens += count

    def totals(self, hidden=()):
        """The totals; every recorded token must have been found on the wire (but `hidden`)."""
        missing = set(self.findings) - self.found - set(hidden)
        assert self.name.endswith("_cut") or not missing, (self.name, missing)
        self.expect({"event_type": "token"}, count=self.n_tokens)
        self.expect({"event_type": "alert"}, count=self.n_alerts)


# --- HTTP/2 -----------------------------------------------------------------------------------

def h2_layout(conn):
    """(client frames start, server frames start, upgraded request fields or None)."""
    c, s = conn.c2s.data, conn.s2c.data
    if c.startswith(R.PREFACE):
        return len(R.PREFACE), 0, None
    req = R.h1_head(c)
    resp = R.h1_head(s)
    assert req and resp and resp[0].startswith("HTTP/1.1 101"), "no h2c upgrade"
    assert c[req[2]:].startswith(R.PREFACE)
    method, target, _ = req[0].split(" ")
    fields = [(b":method", method.encode(), "ok", "h1"), (b":path", target.encode(), "ok", "h1")]
    fields += [(n.encode(), v.encode(), "ok", "h1") for n, v in req[1]]
    return req[2] + len(R.PREFACE), resp[2], fields


def h2_case(name, man, cut=False):
    ghdr, pkts = R.read_pcap(os.path.join(ROOT, man["pcap"]))
    conns = R.connections(pkts)
    toks = list(man["tokens"][k]["raw"] for k in man["tokens"])
    plan, unresolved = [], {"c": [0, 0], "s": [0, 0]}
    if cut:
        for conn in conns:
            cs, _, _ = h2_layout(conn)
            plan.append((conn, R.first_client_headers_end(conn, cs)))
        rel = "%s/%s_cut.pcap" % (OUT, name)
        R.write_pcap(os.path.join(ROOT, rel), ghdr, R.cut_pcap(ghdr, pkts, plan))
        case = Real(name + "_cut", "The capture %s cut so that it joins each HTTP/2 connection "
                    "late: every packet up to and including the one that ends the client's first "
                    "HEADERS block is dropped, the SYNs too. Every token whose field is still "
                    "decodable (a literal, or an index to an entry added after the cut) is found; "
                    "fields that refer to the dynamic table from before the cut are never "
                    "invented (those tokens: count 0)." % man["pcap"], man)
        case.pcaps = [rel]
    else:
        case = Real(name, man["description"], man)
    for ci, conn in enumerate(conns):
        cs, ss, upgraded = h2_layout(conn)
        cut_idx = plan[ci][1] if cut else -1
        R.check_hpack(conn.c2s, cs)
        R.check_hpack(conn.s2c, ss)
        if cut:
            assert R.joins_at_frame(conn.c2s, cs, cut_idx)
            assert R.joins_at_frame(conn.s2c, ss, cut_idx)
        streams, counts = R.h2_streams(conn, cs, ss, cut_idx)
        for side in "cs":
            for k in range(2):
                unresolved[side][k] += counts[side][k]
        if upgraded is not None:
            streams.setdefault(1, {"resp": []})["req"] = upgraded
            streams[1]["req_seen"] = not cut
        tx = 0
        for sid in sorted(streams):
            st = streams[sid]
            if st.get("req") is None:
                continue
            resp = [b for b, _ in st["resp"]]
            status = field(resp[0], b":status") if resp else None
            grpc = field(resp[-1], b"grpc-status") if resp else None
            status_seen = bool(st["resp"]) and st["resp"][0][1]
            status = int(status) if status is not None else None
            found = locate(st["req"], toks)
            # http.url only where no query token is in it (how it is redacted is not ours here)
            plain_url = not any(loc == "query" for _, loc in found)
            for tok, loc in found:
                m = {"app_proto": "http2", "http.http2.stream_id": sid,
                     "src_port": conn.cport, "dest_port": conn.sport}
                visible = all(f[2] == "ok" for f in st["req"] if tok.encode() in f[1])
                if cut:
                    visible = visible and st["req_seen"]
                    if not visible:
                        case.occurrence(tok, loc, m, count=0)
                        continue
                    if status is not None and status_seen:
                        m["http.status"] = status
                        # accepted when what decides it was decodable from the cut on
                        has_grpc = any(f[0] == b"grpc-status" for blk in resp for f in blk)
                        if grpc is not None or not has_grpc:
                            m["token.accepted"] = accepted(status, grpc)
                else:
                    m.update({"http.protocol": "HTTP/2", "tx_id": tx, "http.status": status,
                              "token.accepted": accepted(status, grpc)})
                    if upgraded is not None and sid == 1:
                        del m["http.protocol"]        # the request itself travelled as HTTP/1.1
                    if plain_url:
                        m["http.url"] = field(st["req"], b":path")
                    m["http.http_method"] = field(st["req"], b":method")
                case.occurrence(tok, loc, m)
            tx += 1
    case.totals()
    if cut:
        # what this script's own decoder could not resolve after the cut, counted by the sensor
        case.expect({"event_type": "stats",
                     "stats.tokenwatch.http2.hpack_unresolved":
                         unresolved["c"][0] + unresolved["s"][0],
                     "stats.tokenwatch.http2.hpack_name_unknown":
                         unresolved["c"][1] + unresolved["s"][1]}, count=1)
    case.write()
    if cut:
        print("  %s: fields a late joiner cannot resolve: client %d (+%d names unknown), "
              "server %d (+%d)" % (case.name, unresolved["c"][0], unresolved["c"][1],
                                   unresolved["s"][0], unresolved["s"][1]))
    return case


# --- WebSocket ------------------------------------------------------------------------------------

def ws_case(name, man):
    case = Real(name, man["description"], man)
    ghdr, pkts = R.read_pcap(os.path.join(ROOT, man["pcap"]))
    toks = [t["raw"] for t in man["tokens"].values()]
    for conn in R.connections(pkts):
        req, resp = R.h1_head(conn.c2s.data), R.h1_head(conn.s2c.data)
        assert resp[0].startswith("HTTP/1.1 101"), resp[0]
        ext = dict(resp[1]).get("sec-websocket-extensions", "")
        deflate = "permessage-deflate" in ext
        c_msgs = R.ws_messages(conn.c2s.data[req[2]:], deflate,
                               "client_no_context_takeover" in ext)
        s_msgs = R.ws_messages(conn.s2c.data[resp[2]:], deflate,
                               "server_no_context_takeover" in ext)
        # The upgrade request is tx 0; each message that carries tokens is a transaction of its
        # own after it (the flow's transaction ids go on across a switch: app_proto.h).
        msg_tx = {}
        for op, msg in c_msgs:
            if op == 1 and any(t.encode() in msg for t in toks):
                msg_tx[msg] = 1 + len(msg_tx)
        for tok in toks:
            found = [m for op, m in c_msgs if op == 1 and tok.encode() in m]
            if not found:
                continue
            assert len(found) == 1
            case.occurrence(tok, "websocket", {"app_proto": "http", "tx_id": msg_tx[found[0]],
                                               "http.status": 101,
                                               "http.url": req[0].split(" ")[1],
                                               "src_port": conn.cport, "dest_port": conn.sport})
        kinds = [json.loads(m)["type"] if op == 1 else "close" for op, m in s_msgs]
        print("  %s %d: %s; server: %s" % (name, conn.cport, ext or "no extension",
                                           " ".join(kinds)))
    case.totals()
    case.write()
    return case


# --- CONNECT ------------------------------------------------------------------------------------

def connect_case(name, man):
    case = Real(name, man["description"], man)
    ghdr, pkts = R.read_pcap(os.path.join(ROOT, man["pcap"]))
    toks = [t["raw"] for t in man["tokens"].values()]
    for conn in R.connections(pkts):
        c, s = conn.c2s.data, conn.s2c.data
        creq, sresp = R.h1_head(c), R.h1_head(s)
        assert creq[0].startswith("CONNECT ") and sresp[0].split(" ")[1] == "200"
        base = {"app_proto": "http", "src_port": conn.cport, "dest_port": conn.sport}
        for tok, loc in locate(creq[1], toks):
            case.occurrence(tok, loc, dict(base, **{
                "tx_id": 0, "http.http_method": "CONNECT", "http.url": creq[0].split(" ")[1],
                "http.status": 200, "token.accepted": True}))
        inner_c, inner_s = c[creq[2]:], s[sresp[2]:]
        if inner_c[:1] == b"\x16":                  # TLS inside: nothing can be read
            assert inner_s[:1] == b"\x16"
            continue
        reqs, _ = R.h1_messages(inner_c)
        resps, _ = R.h1_messages(inner_s)
        for tx, (start, fields, _, _) in enumerate(reqs):
            status = int(resps[tx][0].split(" ")[1])
            for tok, loc in locate(fields, toks):
                case.occurrence(tok, loc, dict(base, **{
                    "tx_id": 1 + tx, "http.http_method": start.split(" ")[0],  # CONNECT is 0
                    "http.url": start.split(" ")[1], "http.protocol": "HTTP/1.1",
                    "http.status": status, "token.accepted": accepted(status, None)}))
    hidden = [tok for tok in toks if tok not in case.found]   # inside TLS: never seen
    for tok in hidden:
        case.occurrence(tok, "authorization", {"app_proto": "http"}, count=0)
    assert len(hidden) == 1
    case.totals(hidden)
    case.write()
    return case


DESCRIPTIONS = {
    "real_h2_prior_knowledge": "curl 7.88.1 --http2-prior-knowledge against nghttpd 1.52.0 "
    "--no-tls, recorded on loopback: four transfers multiplexed on one connection (streams "
    "1-7): a valid bearer token, a Storm-0558-style forgery (key_issuer_mismatch, accepted: "
    "nghttpd checks nothing), a token in a cookie and one in ?access_token=.",
    "real_h2_upgrade": "curl 7.88.1 --http2 (Upgrade: h2c) against a python3-h2 server (nghttpd "
    "does not answer the upgrade with 101): the upgraded request is stream 1 with a valid "
    "token (200); the next transfers reuse the connection: stream 3 with a forgery (401), "
    "stream 5 with the valid token again (200).",
    "real_h2_nghttp_multi": "nghttp 1.52.0 -n -m 8 against nghttpd 1.52.0: 24 concurrent "
    "streams, every one with the same bearer token, two of the three URIs with a query token "
    "of their own (a valid ES256 one, a forgery as id_token).",
    "real_grpc": "python3-grpcio 1.51.1 client and server on plaintext h2c (local credentials), "
    "each call passing its token as call credentials: valid (grpc-status 0), forged "
    "(UNAUTHENTICATED, 16), expired (PERMISSION_DENIED, 7), and a server-streaming call with a "
    "second valid token (0).",
    "real_websocket": "python3-websockets 10.4 client and server with permessage-deflate (its "
    "default), GraphQL over WebSocket: connection_init with payload.Authorization (valid, "
    "acknowledged), then a connection whose connection_init carries payload.authToken (a "
    "forgery, closed with 4403). Client frames are masked and compressed.",
    "real_websocket_nocomp": "The same as real_websocket with compression=None: client frames "
    "are masked only.",
    "real_connect_proxy": "curl 7.88.1 through tinyproxy 1.11.1 (-p -x, only the client-proxy "
    "leg captured): each CONNECT carries a Proxy-Authorization bearer token (200 Connection "
    "established); inside the tunnel plain HTTP/1.1 with a valid token (200) and a forged one "
    "(401), and TLS (openssl s_server) whose bearer token is never visible.",
}


def make_all():
    """The cases and cut copies from the committed captures (make_captures.py calls it)."""
    with open(os.path.join(ROOT, OUT, "manifest.json")) as f:
        manifest = json.load(f)
    for name, man in sorted(manifest.items()):
        man["description"] = DESCRIPTIONS[name]
        if name in H2:
            h2_case(name, man)
            h2_case(name, man, cut=True)
        elif name.startswith("real_websocket"):
            ws_case(name, man)
        else:
            connect_case(name, man)


if __name__ == "__main__":
    make_all()
