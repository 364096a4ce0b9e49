#!/usr/bin/python3
"""make_i12_h2_edges.py — the HTTP/2 e2e cases of issue 12 at the edges of a connection's life:
RST_STREAM and GOAWAY, server push, `Upgrade: h2c` (and the client's preface captured before
the server's 101), a capture that joins a connection late (HPACK entries it never saw), hostile
frames, h2c recognised by content on ports 80 and 8443, and the HTTP/2 twin of the demo's
Storm-0558 replay.

A part of make_i12_h2.py, which holds the connections, the expectations and the ordinary cases,
and whose make_all() runs these after its own (CASES, in this order: each case's time is its
position's). Run all generators with /usr/bin/python3 tests/gen/make_captures.py
"""
import base64
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h2gen as H  # noqa: E402
import pcapgen as P  # noqa: E402
import tokens as T  # noqa: E402
from make_captures import (ENT_ISS, STORM_MATCH, UA_EDGE, UA_OUTLOOK, UA_STORM, Case,  # noqa: E402
                           tok_alg_none, tok_storm_kid, tok_storm_style, tok_valid_org)
from make_i12_h2 import (ARGS, COUNTS, JSON_CT, TYPES, UA_CURL, H2Tx, alert, bearer,  # noqa: E402
                         close, finish, http_records, new_case, new_h2, no_anomaly, req, resp)
from make_places import STORM, UA_SPA, VALID, place, storm, totals  # noqa: E402


def case_rst_goaway(t):
    case = new_case("h2_rst_goaway", "Stream 1 is reset by the client (RST_STREAM CANCEL) before "
                    "any response: its token (Storm pattern) is reported without status or "
                    "token.accepted; stream 3 is answered 200; the server's GOAWAY names last stream 3 "
                    "while stream 5 is open, so stream 5's token (Storm pattern) has no status either.")
    h = new_h2("10.62.8.11", 53801, "203.0.113.95")
    host = "outlook.example.com"
    a, b, c = storm(t, "h2-rst"), tok_valid_org(t, "org-1"), storm(t, "h2-goaway")
    h.send(True, h.headers(True, 1, req("GET", "/api/v2.0/me/messages/export", host, UA_STORM,
                                        bearer(a)), True),
           h.headers(True, 3, req("GET", "/api/v2.0/me/calendar", host, UA_OUTLOOK, bearer(b)), True))
    h.send(True, H.rst_stream(1, H.CANCEL))
    h.send(False, h.headers(False, 3, resp(200)), *H.data_frames(3, b'{"value":[]}'))
    h.send(True, h.headers(True, 5, req("GET", "/api/v2.0/me/contacts", host, UA_STORM, bearer(c)), True))
    h.send(False, H.goaway(3, H.NO_ERROR, b"graceful shutdown"))
    h.c.close(client_first=False)
    finish(case, [h], t)
    txs = [H2Tx(h.c, 1, 0, "GET", "/api/v2.0/me/messages/export", host, UA_STORM, None),
           H2Tx(h.c, 3, 1, "GET", "/api/v2.0/me/calendar", host, UA_OUTLOOK, 200),
           H2Tx(h.c, 5, 2, "GET", "/api/v2.0/me/contacts", host, UA_STORM, None)]
    place(case, txs[0], a, "authorization", ["key_issuer_mismatch"], STORM)
    place(case, txs[1], b, "authorization", [], VALID)
    place(case, txs[2], c, "authorization", ["key_issuer_mismatch"], STORM)
    http_records(case, txs)
    totals(case, 3, 2, app_layer__tx__http2=3)
    no_anomaly(case)
    case.write()


def case_push_promise(t):
    case = new_case("h2_push_promise", "Server push (RFC 9113 §8.4): the client's GET (bearer token) "
                    "on stream 1 is answered with a PUSH_PROMISE of stream 2 (GET /api/session.json), "
                    "stream 1's HTML, then the pushed JSON response holding an access_token: the "
                    "pushed stream is a transaction of its own (stream 2, tx 1, the promised request's "
                    "method and URL, status 200) with a response-body token.")
    h = new_h2("10.62.9.11", 53901, "203.0.113.96", open_=False)
    h.open(client_settings=((H.S_ENABLE_PUSH, 1), (H.S_INITIAL_WINDOW_SIZE, 6291456)))
    host = "app.contoso.example"
    a, pushed = tok_valid_org(t, "org-1", aud="https://app.contoso.example"), storm(t, "h2-pushed")
    h.send(True, h.headers(True, 1, req("GET", "/portal", host, UA_SPA, ("accept", "text/html"),
                                        bearer(a)), True))
    promise = h.block(False, H.request_headers("GET", "/api/session.json", host))
    h.send(False, H.frame(H.PUSH_PROMISE, H.END_HEADERS, 1, (2).to_bytes(4, "big") + promise),
           h.headers(False, 1, resp(200, "text/html; charset=utf-8")),
           *H.data_frames(1, b"<!doctype html><title>Portal</title><script src=/app.js></script>"))
    h.send(False, h.headers(False, 2, resp(200)),
           *H.data_frames(2, ('{"user":"meganb","access_token":"%s","expires_in":3599}' % pushed).encode()))
    close(h, goaway_last=2)
    finish(case, [h], t)
    tx1 = H2Tx(h.c, 1, 0, "GET", "/portal", host, UA_SPA, 200)
    tx2 = H2Tx(h.c, 2, 1, "GET", "/api/session.json", host, None, 200)
    place(case, tx1, a, "authorization", [], VALID)
    place(case, tx2, pushed, "response_body", ["key_issuer_mismatch"], STORM)
    http_records(case, [tx1, tx2])
    totals(case, 2, 1, app_layer__tx__http2=2)
    no_anomaly(case)
    case.write()


def upgrade(t, name, early):
    desc = ("`Upgrade: h2c` (RFC 7540 §3.2): an HTTP/1.1 GET with a bearer token (Storm pattern), "
            "Connection: Upgrade, HTTP2-Settings, answered 101; the server's SETTINGS and the "
            "response of stream 1 (the upgraded request) follow as HTTP/2, its JSON body with an "
            "access_token; the client's preface, then stream 3 with another token. The request's "
            "token once (accepted: 101 then 200); stream 1's response-body token and stream 3's "
            "token on app_proto http2 records with their stream ids and status 200.")
    if early:
        desc += (" Here the client's preface and SETTINGS reach the capture before the server's "
                 "101 (as a tap may see two directions), the flow must still switch at the 101.")
    case = new_case(name, desc)
    h = new_h2("10.62.10.11", 54001 + early, "203.0.113.97", sport=80, open_=False)
    host = "app.contoso.example"
    a, r, b = storm(t, "h2-upgrade-%d" % early), tok_valid_org(t, "org-2"), storm(t, "h2-up-s3-%d" % early)
    cs = ((H.S_ENABLE_PUSH, 0), (H.S_INITIAL_WINDOW_SIZE, 33554432))
    b64 = base64.urlsafe_b64encode(H.settings(cs)[9:]).rstrip(b"=").decode()
    up = P.http_request("GET", "/.auth/me", host, [
        ("User-Agent", UA_CURL), ("Accept", "*/*"), ("Connection", "Upgrade, HTTP2-Settings"),
        ("Upgrade", "h2c"), ("HTTP2-Settings", b64), ("Authorization", "Bearer " + a)])
    h.c.request(up)
    if early:
        h.send(True, H.PREFACE, H.settings(cs))
    body = ('[{"access_token":"%s","provider_name":"aad","user_id":"meganb@contoso.example"}]' % r).encode()
    h.c.response(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
    h.send(False, H.settings(((H.S_MAX_CONCURRENT_STREAMS, 100),)),
           h.headers(False, 1, resp(200)), *H.data_frames(1, body))
    if not early:
        h.send(True, H.PREFACE, H.settings(cs))
    h.send(True, H.settings(ack=True),
           h.headers(True, 3, req("GET", "/api/orders", host, UA_CURL, bearer(b)), True))
    h.send(False, H.settings(ack=True), h.headers(False, 3, resp(200)), *H.data_frames(3, b'{"orders":[]}'))
    close(h, goaway_last=0)
    finish(case, [h], t)
    case.expect({"event_type": "token", "token.sha256": T.sha256_hex(a)}, count=1)
    case.expect({"event_type": "token", "token.sha256": T.sha256_hex(a), "token.location": "authorization",
                 "token.accepted": True, "src_port": h.c.cport}, count=1)
    case.expect({"event_type": "alert", "token.sha256": T.sha256_hex(a), "token.findings": ["key_issuer_mismatch"]},
                count=1)
    case.secret(a)
    s1 = H2Tx(h.c, 1, None, "GET", "/.auth/me", host, None, 200)
    s3 = H2Tx(h.c, 3, None, "GET", "/api/orders", host, UA_CURL, 200)
    place(case, s1, r, "response_body", [], VALID)
    place(case, s3, b, "authorization", ["key_issuer_mismatch"], STORM)
    totals(case, 3, 2)
    case.write()


def case_upgrade(t):
    upgrade(t, "h2_upgrade", 0)


def case_upgrade_early(t):
    upgrade(t, "h2_upgrade_early", 1)


def case_late_join(t):
    case = new_case("h2_late_join", "A connection whose SYN, preface and first two requests are not "
                    "in the capture: their authorization (token X, indexed) and :authority and "
                    "user-agent sit in the dynamic table the sensor never saw. Stream 5 refers to X by "
                    "index: not found, nothing invented. Stream 7 and 9 send tokens never indexed "
                    "(found); stream 11 sends W as a literal with indexing (found) and stream 13 "
                    "refers to that new entry by index (found again: entries added after the join "
                    "are known). Host and user agent stay unresolved; :path, :method and :status "
                    "resolve.")
    h = new_h2("10.62.11.11", 54101, "203.0.113.98")
    host = "graph.example.com"
    x, y, z, w = storm(t, "h2-late-x"), storm(t, "h2-late-y"), tok_valid_org(t, "org-1"), storm(t, "h2-late-w")

    def get(sid, url, auth):
        h.send(True, h.headers(True, sid, req("GET", url, host, UA_EDGE, ("accept", "application/json"),
                                              auth), True))
        h.send(False, h.headers(False, sid, resp(200, JSON_CT, ("cache-control", "private"))),
               *H.data_frames(sid, b'{"value":[]}'))
    get(1, "/v1.0/me", ("authorization", "Bearer " + x))
    get(3, "/v1.0/me/photo", ("authorization", "Bearer " + x))
    join = len(h.c.segs)
    cut = {True: len(h.wire[True]), False: len(h.wire[False])}
    get(5, "/v1.0/me/drive", ("authorization", "Bearer " + x))
    get(7, "/v1.0/me/events", H.never("authorization", "Bearer " + y))
    h.send(True, h.headers(True, 9, req("GET", "/v1.0/me/todo", host, UA_EDGE, ("x-request-tag", "batch-7"),
                                        H.never("authorization", "Bearer " + z)), True))
    h.send(False, h.headers(False, 9, resp(200)), *H.data_frames(9, b'{"value":[]}'))
    get(11, "/v1.0/me/people", ("authorization", "Bearer " + w))
    h.send(True, h.headers(True, 13, req("GET", "/v1.0/me/notes", host, UA_EDGE, ("x-request-tag", "batch-7"),
                                         ("authorization", "Bearer " + w)), True))
    h.send(False, h.headers(False, 13, resp(200)), *H.data_frames(13, b'{"value":[]}'))
    close(h, goaway_last=0)
    H.check(h)                                   # the whole connection reads back
    # what the sensor can know from the join on: decode the captured blocks without the old table
    unresolved = {}
    found = {}
    for side in (True, False):
        late = H.LateDecoder()
        for ftype, flags, sid, payload in H.frames_of(bytes(h.wire[side][cut[side]:])):
            if ftype == H.HEADERS:
                before = late.unresolved
                fields = late.decode(H._unpad(ftype, flags, payload))
                unresolved[(side, sid)] = late.unresolved - before
                found[(side, sid)] = [v for n, v in fields if n == "authorization"]
    assert found[(True, 5)] == [] and found[(True, 7)] == ["Bearer " + y], found
    assert found[(True, 13)] == ["Bearer " + w], found
    h.c.segs = h.c.segs[join:]
    finish(case, [h], t, checked=(), late={
        "late_join": 1, "unresolved_fields": sum(unresolved.values()),
        "unresolved_by_stream": " ".join("%s%d:%d" % ("c" if s else "s", i, n)
                                         for (s, i), n in sorted(unresolved.items()) if n)})
    txs = {sid: H2Tx(h.c, sid, k, "GET", url, None, None, 200)
           for k, (sid, url) in enumerate([(5, "/v1.0/me/drive"), (7, "/v1.0/me/events"),
                                           (9, "/v1.0/me/todo"), (11, "/v1.0/me/people"),
                                           (13, "/v1.0/me/notes")])}
    case.expect({"token.sha256": T.sha256_hex(x)}, count=0)
    # the sensor counts exactly the fields the model above could not resolve
    case.expect({"event_type": "stats",
                 "stats.tokenwatch.http2.hpack_unresolved": sum(unresolved.values())}, count=1)
    case.secret(x)
    place(case, txs[7], y, "authorization", ["key_issuer_mismatch"], STORM)
    place(case, txs[9], z, "authorization", [], VALID)
    place(case, txs[11], w, "authorization", ["key_issuer_mismatch"], STORM)
    place(case, txs[13], w, "authorization", ["key_issuer_mismatch"], STORM)
    http_records(case, [txs[s] for s in sorted(txs)])
    case.expect({"event_type": "http", "http.hostname": host}, count=0)
    totals(case, 4, 3, app_layer__tx__http2=5)
    case.write()


def case_hostile(t):
    args = ["--set", TYPES, "--set", "engine.http-max-head=4096"]
    case = new_case("h2_hostile", "Broken HTTP/2, one connection each: a frame whose length "
                    "(16 MiB - 1) is over SETTINGS_MAX_FRAME_SIZE after a sound request; unknown frame "
                    "types (ignored, RFC 9113 §4.1: no anomaly, the next request's token found); "
                    "HEADERS on stream 0; a header block of 8 KB over engine.http-max-head=4096 "
                    "followed by a sound stream 3 on the same connection; an HPACK block that does "
                    "not decode. The sensor survives, writes applayer anomalies for http2 on the "
                    "broken connections, and finds the tokens of the sound streams, including a "
                    "last, sound connection.", args)
    host = "graph.example.com"
    toks = [storm(t, "h2-hostile-%d" % i) for i in range(4)]
    hs = []
    # 1: oversized frame length after a sound request
    h = new_h2("10.62.12.11", 54201, "203.0.113.99")
    h.send(True, h.headers(True, 1, req("GET", "/v1.0/me", host, UA_EDGE, bearer(toks[0])), True))
    h.send(False, h.headers(False, 1, resp(200)), *H.data_frames(1, b'{"id":"1"}'))
    h.send(True, H.frame(H.DATA, 0, 3, bytes(range(64)), length=0xffffff))
    h.c.close()
    hs.append(h)
    # 2: unknown frame types, ignored
    h = new_h2("10.62.12.12", 54202, "203.0.113.99")
    h.send(True, H.frame(0xfa, 0x5f, 0, b"\x00" * 20), H.frame(0x0b, 0, 1, b"extension"),
           h.headers(True, 1, req("GET", "/v1.0/me/drive", host, UA_EDGE, bearer(toks[1])), True))
    h.send(False, H.frame(0xfb, 0, 1, b"\x01\x02"), h.headers(False, 1, resp(200)),
           *H.data_frames(1, b'{"id":"2"}'))
    close(h, goaway_last=0)
    hs.append(h)
    # 3: HEADERS on stream 0
    h = new_h2("10.62.12.13", 54203, "203.0.113.99")
    h.send(True, h.headers(True, 0, req("GET", "/v1.0/me/events", host, UA_EDGE), True))
    h.send(False, H.goaway(0, H.PROTOCOL_ERROR, b"HEADERS on stream 0"))
    h.c.close(client_first=False)
    hs.append(h)
    # 4: a header block over engine.http-max-head, then a sound stream
    h = new_h2("10.62.12.14", 54204, "203.0.113.99")
    filler = [("x-filler-%03d" % i, ("%0120x" % (i * 0xc2b2ae3d27d4eb4f ** 7))[-120:]) for i in range(90)]
    block = h.block(True, req("GET", "/v1.0/me/big", host, UA_EDGE, *filler))
    assert len(block) > 8000, len(block)
    parts = [block[i:i + 3000] for i in range(0, len(block), 3000)]
    frames = [H.frame(H.HEADERS, H.END_STREAM | (H.END_HEADERS if len(parts) == 1 else 0), 1, parts[0])]
    frames += [H.frame(H.CONTINUATION, H.END_HEADERS if i == len(parts) - 1 else 0, 1, p)
               for i, p in enumerate(parts) if i]
    h.send(True, *frames)
    h.send(False, h.headers(False, 1, resp(431, None), True))
    h.send(True, h.headers(True, 3, req("GET", "/v1.0/me/small", host, UA_EDGE, bearer(toks[2])), True))
    h.send(False, h.headers(False, 3, resp(200)), *H.data_frames(3, b'{"id":"4"}'))
    close(h, goaway_last=0)
    hs.append(h)
    # 5: HPACK that does not decode: an index far past both tables, then a bad Huffman string
    h = new_h2("10.62.12.15", 54205, "203.0.113.99")
    h.send(True, H.frame(H.HEADERS, H.END_HEADERS | H.END_STREAM, 1, b"\x82\x86\xff\xff\xff\xff\x0f"),
           H.frame(H.HEADERS, H.END_HEADERS | H.END_STREAM, 3, b"\x82\x04\x85\xff\xff\xff\xff\xff"))
    h.send(False, H.goaway(0, 0x9, b"COMPRESSION_ERROR"))
    h.c.close(client_first=False)
    hs.append(h)
    # 6: a sound connection after all that
    h = new_h2("10.62.12.16", 54206, "203.0.113.99")
    h.send(True, h.headers(True, 1, req("GET", "/v1.0/me/people", host, UA_EDGE, bearer(toks[3])), True))
    h.send(False, h.headers(False, 1, resp(200)), *H.data_frames(1, b'{"id":"6"}'))
    close(h, goaway_last=0)
    hs.append(h)
    finish(case, hs, t, checked=(1, 3, 5))
    COUNTS[case.name].update(oversized_frame=1, headers_stream0=1, over_max_head=1, hpack_errors=1)
    for i, (h, tok, sid, tx_id) in enumerate([(hs[0], toks[0], 1, 0), (hs[1], toks[1], 1, 0),
                                              (hs[3], toks[2], 3, None), (hs[5], toks[3], 1, 0)]):
        tx = H2Tx(h.c, sid, tx_id, "GET", ["/v1.0/me", "/v1.0/me/drive", "/v1.0/me/small",
                                           "/v1.0/me/people"][i], host, UA_EDGE, 200)
        place(case, tx, tok, "authorization", ["key_issuer_mismatch"], STORM)
    for h in (hs[0], hs[2], hs[3], hs[4]):
        case.expect({"event_type": "anomaly", "src_port": h.c.cport, "app_proto": "http2",
                     "anomaly.type": "applayer", "anomaly.app_proto": "http2"}, min_count=1)
    no_anomaly(case, hs[1].c.cport)
    no_anomaly(case, hs[5].c.cport)
    totals(case, 4, 4)
    case.write()


def case_on_port_80(t):
    case = new_case("h2_on_port_80", "h2c with prior knowledge on port 80 (where HTTP/1 is expected) "
                    "and on port 8443 (where TLS is expected): both parsed as HTTP/2 because their "
                    "bytes start with the client preface; one token each.")
    hs, txs, toks = [], [], [storm(t, "h2-port-80"), tok_valid_org(t, "org-2")]
    for i, port in enumerate((80, 8443)):
        h = new_h2("10.62.13.11", 54301 + i, "203.0.113.100", sport=port)
        h.send(True, h.headers(True, 1, req("GET", "/api/v2.0/me/messages", "outlook.example.com", UA_OUTLOOK,
                                            bearer(toks[i])), True))
        h.send(False, h.headers(False, 1, resp(200)), *H.data_frames(1, b'{"value":[]}'))
        close(h, goaway_last=0)
        hs.append(h)
        txs.append(H2Tx(h.c, 1, 0, "GET", "/api/v2.0/me/messages", "outlook.example.com", UA_OUTLOOK, 200))
    finish(case, hs, t)
    place(case, txs[0], toks[0], "authorization", ["key_issuer_mismatch"], STORM)
    place(case, txs[1], toks[1], "authorization", [], VALID)
    http_records(case, txs)
    totals(case, 2, 1, app_layer__tx__http2=2)
    no_anomaly(case)
    case.write()


def case_twin_small(t):
    t2 = P.T0 + 600          # make_demo's Storm-0558 replay: the same tokens, byte for byte
    case = Case("h2_twin_small", "The demo's Storm-0558 replay (pcaps/demo/02-storm-0558.pcap) carried "
                "over h2c: the same four requests from the same client and ports, the same tokens, "
                "statuses 200/200/401/401, the same four alerts (key_issuer_mismatch; key_revoked + "
                "key_unknown; signature_invalid; alg_none + alg_mismatch), now on app_proto http2.",
                ["pcaps/tests/h2_twin_small.pcap"], args=ARGS)
    owa = "outlook.example.com"
    specs = [(tok_storm_style(t2), "GET", "/api/v2.0/me/mailfolders/inbox/messages?$top=100", 200, None),
             (tok_storm_kid(t2), "POST", "/owa/service.svc?action=FindItem&app=Mail", 200,
              b'{"__type":"FindItemJsonRequest:#Exchange"}'),
             (T.flip_signature_byte(tok_valid_org(t2, "org-2", aud="https://outlook.example.com")), "GET",
              "/api/v2.0/me/messages", 401, None),
             (tok_alg_none(t2), "GET", "/api/v2.0/me/messages", 401, None)]
    hs, txs = [], []
    for i, (tok, method, url, status, body) in enumerate(specs):
        h = new_h2("51.89.156.153", 61000 + i * 11, "203.0.113.10", sport=80)
        fields = req(method, url, owa, UA_STORM, bearer(tok), ("accept", "application/json"))
        if body:
            fields.append(("content-type", "application/json"))
            h.send(True, h.headers(True, 1, fields), *H.data_frames(1, body))
        else:
            h.send(True, h.headers(True, 1, fields, True))
        rbody = (b'{"value":[]}' if status == 200 else
                 b'{"error":{"code":"InvalidAuthenticationToken","message":"Access denied."}}')
        extra = [] if status == 200 else [("www-authenticate", 'Bearer realm="", error="invalid_token"')]
        h.send(False, h.headers(False, 1, resp(status, JSON_CT, *extra)), *H.data_frames(1, rbody))
        close(h, goaway_last=0)
        hs.append(h)
        txs.append(H2Tx(h.c, 1, 0, method, url, owa, UA_STORM, status))
    finish(case, hs, t2)
    alert(case, txs[0], specs[0][0], ["key_issuer_mismatch"], STORM_MATCH)
    alert(case, txs[1], specs[1][0], ["key_revoked", "key_unknown"], {"token.kid": T.STORM_KID, "token.iss": ENT_ISS})
    alert(case, txs[2], specs[2][0], ["signature_invalid"], {"token.signature": "invalid",
                                                             "token.keyset": "demo-organizations"})
    alert(case, txs[3], specs[3][0], ["alg_none", "alg_mismatch"], {"token.alg": "none"})
    http_records(case, txs)
    totals(case, 4, 4, app_layer__tx__http2=4)
    no_anomaly(case)
    case.write()


CASES = [case_rst_goaway, case_push_promise, case_upgrade, case_upgrade_early, case_late_join,
         case_hostile, case_on_port_80, case_twin_small]
