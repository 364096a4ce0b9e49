#!/usr/bin/python3
"""make_i12_h2.py — the synthetic HTTP/2 e2e cases of issue 12 (h2c, RFC 9113 / RFC 7541):
prior knowledge, many streams in flight, CONTINUATION and padding, Huffman and the dynamic
table, gzip'd DATA, a JWKS served over HTTP/2, gRPC and its grpc-status, RST_STREAM and
GOAWAY, server push, `Upgrade: h2c`, a capture that joins late, hostile frames, h2c on ports
80 and 8443, and a twin of the demo's Storm-0558 replay carried over HTTP/2.

One capture per case (pcaps/tests/h2_*.pcap, tests/e2e/h2_*/case.json). Frames and header
blocks come from h2gen.py (python3-hpack's encoder, frames by hand), read back there by
python3-h2 and a fresh HPACK decoder before a capture is written; the cases of the edges
(resets, push, upgrade, late join, hostile frames, ports, the twin) are in make_i12_h2_edges.py.

What EVE must say (SPEC §3, §5): every record of an HTTP/2 flow has app_proto "http2"; the
http object has protocol "HTTP/2" and http2.stream_id; tx_id counts the flow's requests in
the order their HEADERS arrive, from 0 (sensor/app/app_tx.c); token.accepted follows the
status, for gRPC grpc-status (0 accepted, 16 and 7 refused); stats.app_layer.tx.http2 counts
the HTTP/2 transactions. Counters of our own (stats.tokenwatch.http2.*) are not checked here:
COUNTS records, per case, the frames and fields they should count (printed when run alone).

Deterministic. Run all generators with /usr/bin/python3 tests/gen/make_captures.py
"""
import gzip
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h2gen as H  # noqa: E402
import pcapgen as P  # noqa: E402
import tokens as T  # noqa: E402
from make_captures import (FINDINGS, ORDER, TEST_DIR, UA_EDGE, UA_OUTLOOK, UA_PY,  # noqa: E402
                           UA_STORM, Case, tok_valid_org, write_capture)
from make_places import (APP_ID, KEYSET_ARGS, STORM, UA_MSAL, UA_SPA, VALID, dpop_proof,  # noqa: E402
                         idp_token, org_id_token, place, rotated_key_pair, storm, totals)
from make_places_bodies import signin_form  # noqa: E402

T_BASE = P.T0 + 32400
TYPES = "outputs.eve.types=[alert, token, stats, http, anomaly]"
ARGS = ["--set", TYPES]
DATE = "Thu, 01 Jun 2023 21:00:00 GMT"
JSON_CT = "application/json; charset=utf-8"
UA_GRPC = "grpc-python/1.51.1 grpc-c/29.0.0 (linux; chttp2)"
UA_CURL = "curl/7.88.1"
COUNTS = {}        # case -> what the sensor's HTTP/2 counters should show


class H2Tx:
    """One HTTP/2 stream's transaction and the EVE it must give (make_places.place() reads
    flow_match(), http_match() and accepted). tx_id None: not checked; url_in_eve None: the
    URL carries a token; status None: no response seen; grpc: the trailers' grpc-status."""

    def __init__(self, conn, sid, tx_id, method, path, authority, ua, status, grpc=None,
                 url_in_eve=""):
        self.conn, self.sid, self.tx_id, self.method, self.path = conn, sid, tx_id, method, path
        self.authority, self.ua, self.status, self.grpc = authority, ua, status, grpc
        self.url_in_eve = path if url_in_eve == "" else url_in_eve

    @property
    def accepted(self):
        if self.status is None:
            return None
        if self.grpc is not None:
            return self.grpc == 0
        return 200 <= self.status < 400

    def flow_match(self):
        c = self.conn
        m = {"src_ip": c.client, "src_port": c.cport, "dest_ip": c.server, "dest_port": c.sport,
             "proto": "TCP", "app_proto": "http2"}
        if self.tx_id is not None:
            m["tx_id"] = self.tx_id
        return m

    def http_match(self):
        m = {"http.http_method": self.method, "http.protocol": "HTTP/2",
             "http.http2.stream_id": self.sid}
        if self.authority is not None:
            m["http.hostname"] = self.authority.split(":")[0]   # as Host: without the port
        if self.ua is not None:
            m["http.http_user_agent"] = self.ua
        if self.url_in_eve is not None:
            m["http.url"] = self.url_in_eve
        if self.status is not None:
            m["http.status"] = self.status
        return m


# --- connections, messages, expectations ------------------------------------------------------

def new_case(name, description, args=ARGS):
    return Case(name, description, [TEST_DIR + "/%s.pcap" % name], args=list(args))


def new_h2(client, cport, server, sport=8080, mss=1460, open_=True, **kw):
    c = P.TcpConn(client, cport, server, sport, isn_c=(cport * 7919) & 0xffffffff,
                  isn_s=(cport * 104729) & 0xffffffff, mss=mss)
    c.handshake()
    h = H.H2(c, **kw)
    if open_:
        h.open()
    return h


def req(method, path, authority, ua, *fields):
    return H.request_headers(method, path, authority, ([("user-agent", ua)] if ua else []) + list(fields))


def resp(status, ctype=JSON_CT, *fields, server="nginx/1.22.1"):
    f = [(":status", str(status)), ("date", DATE), ("server", server)]
    if ctype:
        f.append(("content-type", ctype))
    return f + list(fields)


def bearer(tok):
    return H.never("authorization", "Bearer " + tok)


def stream_frames(h, from_client, sid, fields, body=b"", chunk=None, padlen=0, trailers=None):
    """A message's frames, made lazily: the HEADERS block is encoded when its frame is taken,
    so the HPACK state follows the order the frames go on the wire."""
    yield h.headers(from_client, sid, fields, end_stream=not body and not trailers)
    if body:
        yield from H.data_frames(sid, body, chunk, end_stream=not trailers, padlen=padlen)
    if trailers:
        yield h.headers(from_client, sid, trailers, end_stream=True)


def interleave(h, from_client, messages, width=3, per_send=3, mss=None):
    """Sends messages (stream_frames generators) with up to `width` in flight: each one's
    HEADERS when it opens (so streams open in order), then the frames of the open ones taken
    in turn; `per_send` frames make one TCP write."""
    todo, active, out, k = list(messages), [], [], 0
    while todo or active:
        while todo and len(active) < width:
            g = todo.pop(0)
            out.append(next(g))
            active.append(g)
        k %= len(active)
        try:
            out.append(next(active[k]))
            k += 1
        except StopIteration:
            active.pop(k)
        if len(out) >= per_send:
            h.send(from_client, *out, mss=mss)
            out = []
    if out:
        h.send(from_client, *out, mss=mss)


def finish(case, h2s, t, checked=None, late=None):
    """Reads every sound connection back (h2gen.check), records the counts, writes the capture.
    checked: the connections to read back (default all); late: {conn index: unresolved}."""
    counts = {}
    for i, h in enumerate(h2s):
        if checked is None or i in checked:
            H.check(h, counts)
    counts.update({"connections": len(h2s)}, **(late or {}))
    COUNTS[case.name] = counts
    cap = P.Capture()
    for i, h in enumerate(h2s):
        cap.add_conn(h.c, P.Link(), t + i * 1.5)
    write_capture(cap, case.pcaps[0])


def close(h, goaway_last=None):
    if goaway_last is not None:
        h.send(True, H.goaway(goaway_last))
    h.c.close()


def http_records(case, txs):
    for tx in txs:
        m = {"event_type": "http"}
        m.update(tx.flow_match())
        m.update(tx.http_match())
        case.expect(m, count=1, absent=None if tx.status is not None else ["http.status"])
    case.expect({"event_type": "http"}, count=len(txs))


def alert(case, tx, tok, findings, extra=None, loc="authorization"):
    """A token and its alert where make_places.place() has no signature text for the finding."""
    assert findings == sorted(findings, key=ORDER.index), findings
    sid, sev = FINDINGS[findings[0]]
    m = {"token.sha256": T.sha256_hex(tok), "token.location": loc, "token.findings": findings}
    m.update(tx.flow_match())
    m.update(tx.http_match())
    m.update(extra or {})
    if tx.accepted is not None:
        m["token.accepted"] = tx.accepted
    absent = ["http.status", "token.accepted"] if tx.accepted is None else None
    case.expect(dict(m, event_type="token"), count=1, absent=absent)
    case.expect(dict(m, **{"event_type": "alert", "alert.signature_id": sid,
                           "alert.severity": sev}), count=1, absent=absent)
    case.secret(tok)


def no_anomaly(case, port=None):
    m = {"event_type": "anomaly"}
    if port:
        m["src_port"] = port
    case.expect(m, count=0)


# --- cases ----------------------------------------------------------------------------------------

def case_prior_knowledge(t):
    case = new_case("h2_prior_knowledge", "h2c with prior knowledge (RFC 9113 §3.3) on port 8080: "
                    "the client preface, SETTINGS both ways and their ACKs, WINDOW_UPDATE, one GET "
                    "with a forged bearer JWT (Storm pattern, never-indexed authorization) answered "
                    "200: the alert and token name stream 1, tx 0, status 200, app_proto http2, "
                    "protocol HTTP/2; one http record; no anomaly.")
    h = new_h2("10.62.1.11", 53101, "203.0.113.90")
    st = storm(t, "h2-prior")
    url = "/api/v2.0/me/mailfolders/inbox/messages?$top=25"
    h.send(True, h.headers(True, 1, req("GET", url, "outlook.example.com", UA_STORM,
                                        ("accept", "application/json"), bearer(st)), True))
    h.send(False, h.headers(False, 1, resp(200)), *H.data_frames(1, b'{"value":[]}'))
    close(h, goaway_last=0)
    finish(case, [h], t)
    tx = H2Tx(h.c, 1, 0, "GET", url, "outlook.example.com", UA_STORM, 200)
    place(case, tx, st, "authorization", ["key_issuer_mismatch"], STORM)
    http_records(case, [tx])
    totals(case, 1, 1, app_layer__tx__http2=1)
    no_anomaly(case)
    case.write()


def case_streams(t):
    case = new_case("h2_streams", "Ten streams in flight on one connection, request and response "
                    "DATA frames of different streams interleaved, responses out of order; a token "
                    "in a different place on each: authorization (Bearer, DPoP), proxy-authorization, "
                    "a cookie split over three `cookie` fields, :path's query, a form body, a JSON "
                    "body, a token endpoint's response, a configured header. Each token once, with "
                    "its own stream id, status and tx_id (the order of the HEADERS); the DPoP proof "
                    "header is no token.")
    h = new_h2("10.62.2.11", 53201, "203.0.113.91")
    c = h.c
    host, owa = "graph.example.com", "outlook.example.com"
    st1, st5, st9, st13 = (storm(t, s) for s in ("h2-auth", "h2-dpop", "h2-query", "h2-json"))
    prox = tok_valid_org(t, "org-2", aud="https://proxy.contoso.example")
    cookie = idp_token(t, sub="user-h2-cookie")
    idt = org_id_token(t)
    edd = idp_token(t, alg="EdDSA", key="idp-ed25519", sub="svc-h2")
    issued = tok_valid_org(t, "org-1", aud="https://graph.example.com")
    easy = tok_valid_org(t, "org-2", aud="https://contoso-app.example")
    proof = dpop_proof(t, "POST", "https://graph.example.com/v1.0/me/sendMail")
    q = "/api/v2.0/me/messages?$top=10&access_token=" + st9
    form = signin_form(idt, "CfDJ8Mv3kQpXzYt2%2BnR7sA%3D%3D").encode()
    sess = json.dumps({"provider": "aad", "credentials": {"idToken": st13, "nonce": "n-0S6_WzA2Mj"},
                       "padding": "x" * 700}).encode()
    tok_url = "/%s/oauth2/v2.0/token" % T.ENTERPRISE_TID
    tok_form = ("client_id=%s&scope=https%%3A%%2F%%2Fgraph.example.com%%2F.default"
                "&grant_type=client_credentials&client_assertion_type=none" % APP_ID).encode()
    sendmail = json.dumps({"message": {"subject": "Q2", "body": {"content": "y" * 900}}}).encode()
    # sid: (method, path, authority, ua, fields, body, status, response body, tx expectations)
    spec = [
        (1, "GET", "/v1.0/me", host, UA_EDGE, [bearer(st1)], b"", 200, b'{"displayName":"Megan"}'),
        (3, "GET", "/v1.0/me/drive", host, UA_EDGE, [("proxy-authorization", "Bearer " + prox)], b"",
         200, b'{"driveType":"business"}'),
        (5, "POST", "/v1.0/me/sendMail", host, UA_STORM,
         [H.never("authorization", "DPoP " + st5), ("dpop", proof), ("content-type", "application/json")],
         sendmail, 401, b'{"error":{"code":"InvalidAuthenticationToken"}}'),
        (7, "GET", "/dashboard", "app.contoso.example", UA_SPA,
         [("cookie", "ai_user=Yf3kq|2023-06-01T11:58:01.000Z"), ("cookie", "appSession=" + cookie),
          ("cookie", "theme=dark")], b"", 200, b'{"page":"dashboard"}'),
        (9, "GET", q, owa, UA_STORM, [("accept", "application/json")], b"", 200, b'{"value":[]}'),
        (11, "POST", "/signin-oidc", "app.contoso.example", UA_SPA,
         [("content-type", "application/x-www-form-urlencoded"), ("content-length", str(len(form)))],
         form, 302, b""),
        (13, "POST", "/api/auth/session", "app.contoso.example", UA_STORM,
         [("content-type", "application/vnd.contoso.session+json; charset=utf-8")], sess, 401,
         b'{"error":"invalid_token"}'),
        (15, "GET", "/api/orders?page=2", "portal.example.com", UA_PY, [bearer(edd)], b"", 200,
         b'{"orders":[]}'),
        (17, "POST", tok_url, "login.microsoftonline.com", UA_MSAL,
         [("content-type", "application/x-www-form-urlencoded")], tok_form, 200,
         json.dumps({"token_type": "Bearer", "expires_in": 3599, "access_token": issued,
                     "scope": "https://graph.example.com/.default"}).encode()),
        (19, "GET", "/api/orders?status=open", "contoso-app.azurewebsites.net", UA_SPA,
         [("x-ms-token-aad-access-token", easy)], b"", 204, b""),
    ]
    msgs = [stream_frames(h, True, sid, req(m, p, a, ua, *f), body, chunk=256)
            for sid, m, p, a, ua, f, body, _, _ in spec]
    interleave(h, True, msgs, width=4, per_send=2)
    by_sid = {s[0]: s for s in spec}
    order = [7, 1, 19, 3, 11, 5, 15, 9, 17, 13]
    rmsgs = []
    for sid in order:
        status, rbody = by_sid[sid][7], by_sid[sid][8]
        fields = resp(status, JSON_CT if rbody else None,
                      *([("location", "/dashboard")] if status == 302 else []))
        rmsgs.append(stream_frames(h, False, sid, fields, rbody, chunk=64))
    interleave(h, False, rmsgs, width=3, per_send=3)
    close(h, goaway_last=0)
    finish(case, [h], t)
    txs = {sid: H2Tx(c, sid, (sid - 1) // 2, m, p, a, ua, status,
                     url_in_eve=None if sid == 9 else "")
           for sid, m, p, a, ua, f, body, status, _ in spec}
    place(case, txs[1], st1, "authorization", ["key_issuer_mismatch"], STORM)
    place(case, txs[3], prox, "authorization", [], VALID)
    place(case, txs[5], st5, "authorization", ["key_issuer_mismatch"], STORM)
    place(case, txs[7], cookie, "cookie", [], dict(VALID, **{"token.keyset": "demo-idp"}))
    place(case, txs[9], st9, "query", ["key_issuer_mismatch"], STORM)
    place(case, txs[11], idt, "body", [], dict(VALID, **{"token.aud": APP_ID}))
    place(case, txs[13], st13, "body", ["key_issuer_mismatch"], STORM)
    place(case, txs[15], edd, "authorization", [], dict(VALID, **{"token.alg": "EdDSA"}))
    place(case, txs[17], issued, "response_body", [], VALID)
    place(case, txs[19], easy, "header", [], VALID)
    case.secret(proof)
    http_records(case, [txs[s] for s in sorted(txs)])
    totals(case, 10, 4, app_layer__tx__http2=10)
    no_anomaly(case)
    case.write()


def case_continuation(t):
    case = new_case("h2_continuation", "A 5 KB request header block split over HEADERS (PADDED and "
                    "PRIORITY flags) and three CONTINUATION frames, the authorization field cut "
                    "between the second and third; then a PRIORITY frame and a POST whose HEADERS "
                    "and DATA are padded, its JSON body holding an ID token; TCP segments of 536 "
                    "bytes cut through the frames. Both tokens found with their stream, tx and status.")
    h = new_h2("10.62.3.11", 53301, "203.0.113.92", mss=536)
    st = storm(t, "h2-continuation")
    idt = org_id_token(t, key="org-2")
    url = "/api/v2.0/me/mailfolders/inbox/messages?$select=subject,from&$top=50"
    before = req("GET", url, "outlook.example.com", UA_OUTLOOK, ("accept", "application/json"))
    before += [("x-ms-trace-%02d" % i, ("%064x" % (i * 0x9e3779b97f4a7c15 ** 3))[:96])
               for i in range(24)]
    after = [("x-ms-trace-%02d" % i, ("%064x" % (i * 0x85ebca6b ** 5))[:96]) for i in range(24, 48)]
    enc = h.enc[True]
    b1, b2, b3 = enc.encode(before), enc.encode([bearer(st)]), enc.encode(after)
    block = b1 + b2 + b3
    cuts = [len(b1) // 2, len(b1) + len(b2) // 2, len(b1) + len(b2) + len(b3) // 2]
    frags = [block[:cuts[0]], block[cuts[0]:cuts[1]], block[cuts[1]:cuts[2]], block[cuts[2]:]]
    prio = (0x80000000 | 0).to_bytes(4, "big") + bytes([199])     # exclusive on 0, weight 200
    h.send(True, H.frame(H.HEADERS, H.F_PADDED | H.F_PRIORITY | H.END_STREAM, 1,
                         H.pad(prio + frags[0], 17)),
           H.frame(H.CONTINUATION, 0, 1, frags[1]), H.frame(H.CONTINUATION, 0, 1, frags[2]),
           H.frame(H.CONTINUATION, H.END_HEADERS, 1, frags[3]))
    h.send(False, h.headers(False, 1, resp(200)), *H.data_frames(1, b'{"value":[]}'))
    body = json.dumps({"id_token": idt, "client_info": "eyJ1aWQiOiIxIn0", "state": "s-7"}).encode()
    h.send(True, H.frame(H.PRIORITY, 0, 3, (1).to_bytes(4, "big") + bytes([15])),
           H.frame(H.HEADERS, H.F_PADDED | H.END_HEADERS, 3,
                   H.pad(h.block(True, req("POST", "/api/session", "app.contoso.example", UA_SPA,
                                           ("content-type", "application/json"))), 40)),
           *H.data_frames(3, body, chunk=300, padlen=23))
    h.send(False, h.headers(False, 3, resp(201)), *H.data_frames(3, b'{"ok":true}', padlen=9))
    close(h, goaway_last=0)
    finish(case, [h], t)
    tx1 = H2Tx(h.c, 1, 0, "GET", url, "outlook.example.com", UA_OUTLOOK, 200)
    tx3 = H2Tx(h.c, 3, 1, "POST", "/api/session", "app.contoso.example", UA_SPA, 201)
    place(case, tx1, st, "authorization", ["key_issuer_mismatch"], STORM)
    place(case, tx3, idt, "body", [], VALID)
    http_records(case, [tx1, tx3])
    totals(case, 2, 1, app_layer__tx__http2=2)
    no_anomaly(case)
    case.write()


def case_huffman_dynamic(t):
    case = new_case("h2_huffman_dynamic", "Twelve requests on one connection, every string Huffman-"
                    "coded, :authority, user-agent and accept indexed in the dynamic table after the "
                    "first (responses too), authorization never indexed; a dynamic table size update "
                    "to 256 after the sixth request (entries evicted) and back to 4096 after the "
                    "ninth. Three tokens in turn: each request's token with its stream, tx and the "
                    "host and user agent resolved from the table.")
    h = new_h2("10.62.4.11", 53401, "203.0.113.93")
    toks = [storm(t, "h2-hpack"), tok_valid_org(t, "org-1"), idp_token(t, sub="user-hpack")]
    host = "graph.example.com"
    txs = []
    for i in range(12):
        sid = 2 * i + 1
        if i == 6:
            h.enc[True].header_table_size = 256
        elif i == 9:
            h.enc[True].header_table_size = 4096
        url = "/v1.0/me/events?$skip=%d" % (i * 10)
        h.send(True, h.headers(True, sid, req("GET", url, host, UA_OUTLOOK,
                                              ("accept", "application/json"),
                                              bearer(toks[i % 3])), True))
        h.send(False, h.headers(False, sid, resp(200, JSON_CT, ("cache-control", "private"))),
               *H.data_frames(sid, b'{"value":[]}'))
        txs.append(H2Tx(h.c, sid, i, "GET", url, host, UA_OUTLOOK, 200))
    close(h, goaway_last=0)
    finish(case, [h], t)
    for i, tx in enumerate(txs):
        if i % 3 == 0:
            place(case, tx, toks[0], "authorization", ["key_issuer_mismatch"], STORM)
        else:
            place(case, tx, toks[i % 3], "authorization", [], VALID)
    http_records(case, txs)
    totals(case, 12, 4, app_layer__tx__http2=12, tokens__distinct=3)
    no_anomaly(case)
    case.write()


def case_gzip_body(t):
    case = new_case("h2_gzip_body", "A token endpoint answers over HTTP/2 with content-encoding gzip, "
                    "the gzip'd JSON cut into padded DATA frames of 200 bytes: access_token (Storm "
                    "pattern: alert), id_token and an opaque refresh_token are response-body tokens of "
                    "stream 1 (tx 0, status 200, no token.accepted).")
    h = new_h2("10.62.5.11", 53501, "203.0.113.94")
    access, idt = storm(t, "h2-gzip"), org_id_token(t)
    refresh = ("0.AVMAv4j5cvGGr0GRqy180BHbR3iO7B_kvK9Kqxs6RRzOJ3xTAAA.AgABAAEAAAAtyolDObpQQ5VtlI4uGjEP"
               "AgDs_wUA9P8Xq2mT8kP4UeLb7vN1cR9wZ-Hj3QeYt6uKp0aLm2nB5vC8xD1fG4hJ7kL0zM3pN6qR9sT2uV5wX8yZ-h2")
    url = "/%s/oauth2/v2.0/token" % T.ENTERPRISE_TID
    form = ("client_id=%s&scope=openid%%20offline_access&grant_type=authorization_code"
            "&code=0.AVMAv4j5cvGGr0GRqy180BHbR3iO7B_kvK9Kqxs6RRzOJ3xTAAA.AgABAAIAAAAtyolD"
            "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" % APP_ID).encode()
    body = json.dumps({"token_type": "Bearer", "expires_in": 4799, "access_token": access,
                       "refresh_token": refresh, "id_token": idt}).encode()
    gz = gzip.compress(body, compresslevel=9, mtime=0)
    h.send(True, h.headers(True, 1, req("POST", url, "login.microsoftonline.com", UA_MSAL,
                                        ("content-type", "application/x-www-form-urlencoded"),
                                        ("accept-encoding", "gzip, deflate"))),
           *H.data_frames(1, form, chunk=120))
    h.send(False, h.headers(False, 1, resp(200, JSON_CT, ("content-encoding", "gzip"),
                                           ("cache-control", "no-store"))),
           *H.data_frames(1, gz, chunk=200, padlen=31), mss=700)
    close(h, goaway_last=0)
    finish(case, [h], t)
    tx = H2Tx(h.c, 1, 0, "POST", url, "login.microsoftonline.com", UA_MSAL, 200)
    place(case, tx, access, "response_body", ["key_issuer_mismatch"], STORM)
    place(case, tx, idt, "response_body", [], VALID)
    place(case, tx, refresh, "response_body", [], {"token.type": "opaque"})
    http_records(case, [tx])
    totals(case, 3, 1, app_layer__tx__http2=1)
    no_anomaly(case)
    case.write()


def case_jwks_observed(t):
    args = KEYSET_ARGS[:1] + ["outputs.eve.types=[alert, token, stats, keyset, anomaly]",
                              "--set", "policy.verify-observed-keys=yes"]
    case = new_case("h2_jwks_observed", "OpenID discovery and JWKS documents served over HTTP/2 (the "
                    "JWKS in DATA frames of 4 KB): keyset records as over HTTP/1 (the organizations "
                    "keys without the expired one, with a new key: missing / untrusted), with tx_id "
                    "and stream; then, on another h2c connection, a token signed by the new key "
                    "verifies against the observed key set (policy.verify-observed-keys).", args)
    from make_places import K  # noqa: E402
    org1, org2, expired = K["org-1"].jwk, K["org-2"].jwk, K["org-expired"].jwk
    new, priv = rotated_key_pair()
    host = "login.microsoftonline.com"
    keys_url = "/organizations/discovery/v2.0/keys"
    disc_url = "/organizations/v2.0/.well-known/openid-configuration"
    jwks = json.dumps({"keys": [org1, org2, new]}).encode()
    disc = json.dumps({"token_endpoint": "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
                       "jwks_uri": "https://login.microsoftonline.com" + keys_url,
                       "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
                       "id_token_signing_alg_values_supported": ["RS256"],
                       "response_types_supported": ["code", "id_token", "code id_token"]}).encode()
    h = new_h2("10.62.6.11", 53601, "203.0.113.60", sport=8080)
    h.send(True, h.headers(True, 1, req("GET", disc_url, host, UA_MSAL, ("accept", "application/json")), True))
    h.send(False, h.headers(False, 1, resp(200)), *H.data_frames(1, disc))
    h.send(True, h.headers(True, 3, req("GET", keys_url, host, UA_MSAL, ("accept", "application/json")), True))
    h.send(False, h.headers(False, 3, resp(200)), *H.data_frames(3, jwks, chunk=4096))
    close(h, goaway_last=0)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    tok = T.jws({"typ": "JWT", "alg": "RS256", "x5t": new["kid"], "kid": new["kid"]},
                T.entra_claims(t, T.ENTERPRISE_TID),
                signer=lambda m: priv.sign(m, padding.PKCS1v15(), hashes.SHA256()))
    h2 = new_h2("10.62.6.12", 53602, "203.0.113.10")
    h2.send(True, h2.headers(True, 1, req("GET", "/v1.0/me", "graph.example.com", UA_EDGE, bearer(tok)), True))
    h2.send(False, h2.headers(False, 1, resp(200)), *H.data_frames(1, b'{"id":"1"}'))
    close(h2, goaway_last=0)
    finish(case, [h, h2], t)
    a1 = H2Tx(h.c, 1, 0, "GET", disc_url, host, UA_MSAL, 200)
    a2 = H2Tx(h.c, 3, 1, "GET", keys_url, host, UA_MSAL, 200)

    def ks(tx, **kv):
        m = {"event_type": "keyset"}
        m.update(tx.flow_match())
        m.update(tx.http_match())
        m.update({"keyset." + k: v for k, v in kv.items()})
        return m
    case.expect(ks(a1, kind="openid-configuration", changed=False,
                   issuer="https://login.microsoftonline.com/{tenantid}/v2.0",
                   jwks_uri="https://login.microsoftonline.com" + keys_url),
                count=1, absent=["keyset.keys", "keyset.kids"])
    case.expect(ks(a2, kind="jwks", keys=3, kids=[org1["kid"], org2["kid"], new["kid"]],
                   configured_keyset="demo-organizations", untrusted=[new["kid"]],
                   missing=[expired["kid"]], changed=False), count=1)
    case.expect({"event_type": "keyset"}, count=2)
    api = H2Tx(h2.c, 1, 0, "GET", "/v1.0/me", "graph.example.com", UA_EDGE, 200)
    place(case, api, tok, "authorization", [],
          {"token.signature": "valid", "token.keyset": "observed:%s%s" % (host, keys_url)})
    totals(case, 1, 0, app_layer__tx__http2=3)
    no_anomaly(case)
    case.write()


def grpc_msg(payload):
    """A gRPC length-prefixed message (gRPC over HTTP/2, uncompressed)."""
    return b"\x00" + len(payload).to_bytes(4, "big") + payload


def case_grpc(t):
    args = ARGS + ["--set", "tokens.headers=[x-api-token]"]
    case = new_case("h2_grpc", "gRPC calls (application/grpc, te: trailers) on port 50051, each with "
                    "a token in its metadata: grpc-status 0 in the trailers (accepted, ', accepted by "
                    "the server'), 16 UNAUTHENTICATED and 7 PERMISSION_DENIED (refused), a trailers-only "
                    "answer with 16 (refused), and a valid token in custom metadata x-api-token "
                    "(tokens.headers) with status 0. http.status is 200 for every call; token.accepted "
                    "follows grpc-status.", args)
    h = new_h2("10.62.7.11", 53701, "10.62.7.50", sport=50051)
    host = "orders.internal.example:50051"
    path = "/orders.v1.OrderService/GetOrder"
    toks = [storm(t, "grpc-%d" % i) for i in range(4)] + [tok_valid_org(t, "org-1", aud="api://orders")]
    codes = [0, 16, 7, "only16", 0]
    txs = []
    for i, (tok, code) in enumerate(zip(toks, codes)):
        sid = 2 * i + 1
        meta = [H.never("x-api-token", tok)] if i == 4 else [bearer(tok)]
        fields = req("POST", path, host, None, ("content-type", "application/grpc"), ("te", "trailers"),
                     ("grpc-accept-encoding", "identity,deflate,gzip"), ("user-agent", UA_GRPC), *meta)
        h.send(True, *stream_frames(h, True, sid, fields, grpc_msg(b"\x0a\x08ORD-%04d" % (1001 + i))))
        ok = resp(200, "application/grpc")
        if code == "only16":
            h.send(False, h.headers(False, sid, ok + [("grpc-status", "16"),
                                                      ("grpc-message", "invalid token")], True))
        else:
            trailers = [("grpc-status", str(code))] + ([("grpc-message", "denied")] if code else [])
            h.send(False, *stream_frames(h, False, sid, ok, grpc_msg(b"\x0a\x08ORD-%04d\x10\x02" % (1001 + i))
                                         if code == 0 else b"", trailers=trailers))
        txs.append(H2Tx(h.c, sid, i, "POST", path, host, UA_GRPC, 200,
                        grpc=16 if code == "only16" else code))
    close(h, goaway_last=0)
    finish(case, [h], t)
    for tx, tok in zip(txs[:4], toks):
        place(case, tx, tok, "authorization", ["key_issuer_mismatch"], STORM)
    place(case, txs[4], toks[4], "header", [], VALID)
    http_records(case, txs)
    totals(case, 5, 4, app_layer__tx__http2=5)
    no_anomaly(case)
    case.write()


def make_all():
    import make_i12_h2_edges as E
    cases = [case_prior_knowledge, case_streams, case_continuation, case_huffman_dynamic,
             case_gzip_body, case_jwks_observed, case_grpc] + E.CASES
    for i, fn in enumerate(cases):
        fn(T_BASE + i * 60)


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    import make_captures         # one module instance, as make_captures.main() uses
    import make_i12_h2           # and one of this module, shared with make_i12_h2_edges
    make_i12_h2.make_all()
    for p, n in make_captures.WRITTEN:
        print("%7d  %s" % (n, p))
    for name, c in make_i12_h2.COUNTS.items():
        print("%-22s %s" % (name, ", ".join("%s %s" % kv for kv in sorted(c.items()))))
