#!/usr/bin/python3
"""make_i12_ws.py — the e2e cases of issue 12's WebSocket and CONNECT part: after a 101 the
frames are WebSocket's (never HTTP/1's), the first messages of each direction are read for
tokens in JSON (location `websocket`, a transaction of their own under the upgrade's URL), and
after a 2xx to CONNECT the tunnel's bytes are a new connection, probed like any other.

  ws_graphql_init   GraphQL over WebSocket (graphql-transport-ws): masked client frames, the
                    token in the connection_init payload's Authorization ("Bearer " stripped): a
                    token record with location websocket, its verdict and tx_id 1, under the
                    upgrade's host, URL and status 101
  ws_fragmented     the connection_init split over three frames, a ping between them, the frames
                    cut across small TCP segments
  ws_deflate        permessage-deflate agreed by the 101; two compressed messages sharing the
                    sliding window, the token in the second
  ws_authtoken      subscriptions-transport-ws' {"payload":{"authToken": ...}} with a forged
                    (Storm-0558 style) token: an alert with location websocket
  ws_no_anomaly     binary garbage frames both ways after the 101, and an HTTP request with a
                    token among them: no anomaly, no parser error, no token (it is a frame's
                    payload, not HTTP)
  connect_http      CONNECT answered 200, then an inner HTTP/1.1 request with a bearer token:
                    found, with the inner request's URL and status
  connect_tls       CONNECT answered 200, then a TLS ClientHello/ServerHello inside whose
                    application data holds an HTTP request with a token in clear: nothing
                    found, no anomaly
  connect_refused   CONNECT answered 407; the client's next bytes (sent before the answer) are a
                    normal HTTP request with a token to the proxy: found
  connect_early     the inner request sent before the 200 is in the capture: still found

Deterministic. Run all generators with /usr/bin/python3 tests/gen/make_captures.py
"""
import json
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pcapgen as P  # noqa: E402
import tokens as T  # noqa: E402
from make_captures import (TEST_DIR, Case, storm_alert, tok_storm_style,  # noqa: E402
                           tok_valid_org, write_capture, Req, STORM_MATCH)
from make_ndpi import client_hello, server_hello, tls_record  # noqa: E402

CLIENT, SERVER, PROXY = "10.41.0.13", "198.51.100.113", "198.51.100.114"
T_BASE = P.T0 + 32400
TYPES = ["--set", "outputs.eve.types=[alert, token, stats, http, anomaly]"]
HOST, PATH = "api.contoso.example", "/graphql"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
NO_ERRORS = {"event_type": "stats", "stats.app_layer.error.http.parser": 0}


# --- WebSocket ----------------------------------------------------------------------------------

def frame(payload, op=1, fin=True, rsv1=False, mask=None):
    """One RFC 6455 frame; masked (as clients send) when mask is 4 bytes."""
    payload = payload.encode() if isinstance(payload, str) else payload
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | op
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask:
        head += mask
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + payload


def masks():
    """Deterministic masking keys, a new one per frame."""
    i = 0
    while True:
        i += 1
        yield bytes([(i * 37) & 255, (i * 101 + 7) & 255, (i * 59 + 3) & 255, (i * 13 + 1) & 255])


def upgrade_request(protocol="graphql-transport-ws", extensions=None):
    hdrs = [("User-Agent", UA), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Protocol", protocol)]
    if extensions:
        hdrs.append(("Sec-WebSocket-Extensions", extensions))
    return P.http_request("GET", PATH, HOST, hdrs)


def upgrade_response(protocol="graphql-transport-ws", extensions=None):
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
             "Sec-WebSocket-Protocol: " + protocol]
    if extensions:
        lines.append("Sec-WebSocket-Extensions: " + extensions)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def ws_conn(cport):
    c = P.TcpConn(CLIENT, cport, SERVER, 80, isn_c=cport * 7919, isn_s=cport * 104729)
    c.handshake()
    return c


def ws_match(c, tok, tx_id=1):
    return {"event_type": "token", "token.sha256": T.sha256_hex(tok),
            "token.location": "websocket", "tx_id": tx_id, "src_ip": c.client,
            "src_port": c.cport, "dest_ip": c.server, "dest_port": c.sport, "proto": "TCP",
            "http.hostname": HOST, "http.url": PATH, "http.http_method": "GET",
            "http.protocol": "HTTP/1.1", "http.http_user_agent": UA, "http.status": 101}


def expect_upgrade_only(case, c):
    """One http record, the upgrade's (the messages' transactions write none)."""
    case.expect({"event_type": "http", "src_port": c.cport}, count=1)
    case.expect({"event_type": "http", "src_port": c.cport, "tx_id": 0, "http.url": PATH,
                 "http.status": 101}, count=1)


def valid_match():
    return {"token.signature": "valid", "token.keyset": "demo-organizations", "token.type": "jwt",
            "token.findings": []}


def graphql_init():
    t = T_BASE
    case = Case("ws_graphql_init", "GraphQL over WebSocket (graphql-transport-ws): after the "
                "101, the client's masked connection_init carries a bearer JWT in its payload's "
                "Authorization: it is found with location websocket, judged (valid), and written "
                "as a transaction of its own (tx_id 1) under the upgrade's host, URL and status.",
                [TEST_DIR + "/ws_graphql_init.pcap"], args=TYPES)
    cap = P.Capture()
    tok = tok_valid_org(t, sub="ws-graphql-user")
    m = masks()
    c = ws_conn(52001)
    c.request(upgrade_request())
    c.response(upgrade_response())
    init = json.dumps({"type": "connection_init",
                       "payload": {"Authorization": "Bearer " + tok}}, separators=(",", ":"))
    c.request(frame(init, mask=next(m)))
    c.response(frame('{"type":"connection_ack"}'))
    sub = json.dumps({"id": "1", "type": "subscribe",
                      "payload": {"query": "subscription { messages { id body } }"}})
    c.request(frame(sub, mask=next(m)))
    c.response(frame('{"id":"1","type":"next","payload":{"data":{"messages":{"id":"7"}}}}'))
    c.request(frame(b"\x03\xe8", op=8, mask=next(m)))
    c.response(frame(b"\x03\xe8", op=8))
    c.close()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    mm = ws_match(c, tok)
    mm.update(valid_match())
    case.expect(mm, count=1, absent=["token.accepted"])
    case.expect({"event_type": "token"}, count=1)
    case.expect({"event_type": "alert"}, count=0)
    expect_upgrade_only(case, c)
    case.expect({"event_type": "anomaly"}, count=0)
    case.expect({"event_type": "stats", "stats.tokenwatch.websocket.messages": 4,
                 "stats.app_layer.error.http.parser": 0}, count=1)
    case.secret(tok)
    case.write()


def fragmented():
    t = T_BASE + 100
    case = Case("ws_fragmented", "The connection_init of a GraphQL WebSocket split over three "
                "masked frames with a ping between them, the frames cut across 7-byte TCP "
                "segments: the message is put back together and its token found once.",
                [TEST_DIR + "/ws_fragmented.pcap"], args=TYPES)
    cap = P.Capture()
    tok = tok_valid_org(t, sub="ws-fragmented-user")
    m = masks()
    c = ws_conn(52002)
    c.request(upgrade_request())
    c.response(upgrade_response())
    init = json.dumps({"type": "connection_init",
                       "payload": {"headers": {"Authorization": "Bearer " + tok}}})
    third = len(init) // 3
    data = (frame(init[:third], fin=False, mask=next(m)) + frame(b"ka", op=9, mask=next(m))
            + frame(init[third:2 * third], op=0, fin=False, mask=next(m))
            + frame(init[2 * third:], op=0, mask=next(m)))
    c.request(data, mss=7)
    c.response(frame(b"ka", op=10))
    c.response(frame('{"type":"connection_ack"}'))
    c.close()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    mm = ws_match(c, tok)
    mm.update(valid_match())
    case.expect(mm, count=1)
    case.expect({"event_type": "token"}, count=1)
    expect_upgrade_only(case, c)
    case.expect({"event_type": "anomaly"}, count=0)
    case.secret(tok)
    case.write()


def deflate():
    t = T_BASE + 200
    case = Case("ws_deflate", "permessage-deflate agreed by the 101 (client_max_window_bits): "
                "two compressed client messages that share the sliding window (the second "
                "refers back into the first), the token in the second: inflated with the window "
                "taken over, and found.", [TEST_DIR + "/ws_deflate.pcap"], args=TYPES)
    cap = P.Capture()
    tok = tok_valid_org(t, sub="ws-deflate-user")
    m = masks()
    c = ws_conn(52003)
    c.request(upgrade_request(extensions="permessage-deflate; client_max_window_bits"))
    c.response(upgrade_response(extensions="permessage-deflate; client_max_window_bits=15"))
    z = zlib.compressobj(9, zlib.DEFLATED, -15)

    def compress(msg):
        out = z.compress(msg.encode()) + z.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]
    first = json.dumps({"type": "connection_init", "payload": {"client": "web", "v": "1"}})
    second = json.dumps({"type": "connection_init", "payload": {"authToken": tok,
                                                                "client": "web", "v": "1"}})
    c.request(frame(compress(first), rsv1=True, mask=next(m)))
    comp = compress(second)
    c.request(frame(comp, rsv1=True, mask=next(m)))
    zs = zlib.compressobj(9, zlib.DEFLATED, -15)
    ack = zs.compress(b'{"type":"connection_ack"}') + zs.flush(zlib.Z_SYNC_FLUSH)
    c.response(frame(ack[:-4], rsv1=True))
    c.close()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    mm = ws_match(c, tok, tx_id=1)
    mm.update(valid_match())
    case.expect(mm, count=1)
    case.expect({"event_type": "token"}, count=1)
    expect_upgrade_only(case, c)
    case.expect({"event_type": "stats", "stats.tokenwatch.websocket.messages": 3,
                 "stats.tokenwatch.websocket.inflate_errors": 0}, count=1)
    case.secret(tok)
    case.write()


def authtoken():
    t = T_BASE + 300
    case = Case("ws_authtoken", "subscriptions-transport-ws: the connection_init payload's "
                "authToken member holds a forged token (a consumer key signing an enterprise "
                "tenant's token, the Storm-0558 pattern): an alert with location websocket under "
                "the upgrade's URL.", [TEST_DIR + "/ws_authtoken.pcap"], args=TYPES)
    cap = P.Capture()
    tok = tok_storm_style(t, sub="ws-authtoken")
    m = masks()
    c = ws_conn(52004)
    c.request(upgrade_request("graphql-ws"))
    c.response(upgrade_response("graphql-ws"))
    c.request(frame(json.dumps({"type": "connection_init", "payload": {"authToken": tok}}),
                    mask=next(m)))
    c.response(frame('{"type":"connection_ack"}'))
    c.request(frame(json.dumps({"id": "1", "type": "start",
                                "payload": {"query": "subscription { inbox { id } }"}}),
                    mask=next(m)))
    c.close()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    mm = ws_match(c, tok)
    mm.update(STORM_MATCH)
    mm.update({"event_type": "alert", "token.findings": ["key_issuer_mismatch"],
               "alert.signature_id": 9100002, "alert.severity": 1})
    case.expect(mm, count=1)
    tm = ws_match(c, tok)
    tm["token.findings"] = ["key_issuer_mismatch"]
    case.expect(tm, count=1)
    expect_upgrade_only(case, c)
    case.secret(tok)
    case.write()


def no_anomaly():
    t = T_BASE + 400
    case = Case("ws_no_anomaly", "Binary frames of garbage both ways after a 101 to WebSocket, "
                "and an HTTP/1.1 request with a bearer token as one frame's payload: WebSocket "
                "frames are never parsed as HTTP, so no anomaly, no parser error and no token.",
                [TEST_DIR + "/ws_no_anomaly.pcap"], args=TYPES)
    cap = P.Capture()
    hidden = tok_storm_style(t, sub="ws-inside-binary")
    m = masks()
    c = ws_conn(52005)
    c.request(upgrade_request("mqtt"))
    c.response(upgrade_response("mqtt"))
    junk = bytes((i * 131 + 17) & 255 for i in range(700))
    for i in range(6):
        c.request(frame(junk[i * 50:i * 50 + 300], op=2, mask=next(m)))
        c.response(frame(junk[i * 70:], op=2))
    fake = P.http_request("GET", "/", HOST, [("Authorization", "Bearer " + hidden)])
    c.request(frame(fake, op=2, mask=next(m)))
    c.response(b"\x82" + junk[:40])  # a frame cut by the end of the capture
    c.close()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    case.expect({"event_type": "anomaly"}, count=0)
    case.expect({"event_type": "token"}, count=0)
    case.expect({"event_type": "http", "http.status": 101}, count=1)
    m = dict(NO_ERRORS)
    m["stats.app_layer.tx.http"] = 1
    case.expect(m, count=1)
    case.secret(hidden)
    case.write()


# --- CONNECT ------------------------------------------------------------------------------------

CONNECT = P.http_request("CONNECT", "graph.example.com:80", "graph.example.com:80",
                         [("User-Agent", "curl/7.88.1"), ("Proxy-Connection", "Keep-Alive")])
ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"


def proxy_conn(cport):
    c = P.TcpConn(CLIENT, cport, PROXY, 3128, isn_c=cport * 7919, isn_s=cport * 104729)
    c.handshake()
    return c


def connect_case(name, description, cport, t, build):
    case = Case(name, description, [TEST_DIR + "/%s.pcap" % name], args=TYPES)
    cap = P.Capture()
    c = proxy_conn(cport)
    r = build(case, c)
    c.close()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    return case, c, r


def inner_token_case(case, c, r):
    """The inner request: its token alerts, its http record has its URL and status."""
    m = {"dest_port": 3128}
    storm_alert(case, r, extra=m)
    case.token(r, extra=m)
    case.expect({"event_type": "anomaly"}, count=0)


def connect_http():
    def build(case, c):
        tok = tok_storm_style(T_BASE + 500, sub="inside-connect")
        c.request(CONNECT)
        c.response(ESTABLISHED)
        r = Req(c, tok, url="/v1.0/me/messages")
        c.request(r.raw)
        c.response(r.response_bytes())
        return r
    case, c, r = connect_case(
        "connect_http", "CONNECT through a forward proxy answered 200, then a plain HTTP/1.1 "
        "request with a forged bearer JWT inside the tunnel: the tunnel is a new connection, "
        "probed and parsed as HTTP; the token alerts with the inner request's URL and status.",
        52101, T_BASE + 500, build)
    inner_token_case(case, c, r)
    case.expect({"event_type": "http", "http.http_method": "CONNECT", "http.status": 200,
                 "tx_id": 0}, count=1)
    case.expect({"event_type": "http", "http.url": "/v1.0/me/messages", "tx_id": 1}, count=1)
    case.write()


def connect_tls():
    def build(case, c):
        hidden = tok_storm_style(T_BASE + 600, sub="inside-connect-tls")
        c.request(CONNECT)
        c.response(ESTABLISHED)
        c.request(client_hello("graph.example.com"))
        c.response(server_hello())
        fake = P.http_request("GET", "/", "graph.example.com",
                              [("Authorization", "Bearer " + hidden)])
        c.request(tls_record(23, b"\r\n" + fake))
        c.request(b"\r\n" + fake)
        c.response(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        case.secret(hidden)
    case, c, r = connect_case(
        "connect_tls", "CONNECT answered 200, then a TLS ClientHello and ServerHello inside the "
        "tunnel, whose 'application data' holds an HTTP request with a bearer token in clear: "
        "the inner start is TLS, so it is left alone: no token, no inner HTTP transaction, no "
        "anomaly.", 52102, T_BASE + 600, build)
    case.expect({"event_type": "token"}, count=0)
    case.expect({"event_type": "anomaly"}, count=0)
    case.expect({"event_type": "http"}, count=1)
    case.expect({"event_type": "http", "http.http_method": "CONNECT", "http.status": 200},
                count=1)
    m = dict(NO_ERRORS)
    m["stats.app_layer.tx.http"] = 1
    case.expect(m, count=1)
    case.write()


def connect_refused():
    def build(case, c):
        tok = tok_storm_style(T_BASE + 700, sub="after-407")
        c.request(CONNECT)
        r = Req(c, tok, url="http://graph.example.com/v1.0/me", host="graph.example.com")
        c.request(r.raw)  # sent before the answer: held, then HTTP/1 to the proxy
        c.response(P.http_response(407, "", headers=[("Proxy-Authenticate", 'Basic realm="p"')]))
        c.response(r.response_bytes())
        return r
    case, c, r = connect_case(
        "connect_refused", "CONNECT answered 407 Proxy Authentication Required: no tunnel. The "
        "client's next bytes, sent before the answer, are an ordinary HTTP request to the proxy "
        "with a forged bearer JWT: held until the answer, then parsed as HTTP: the token alerts.",
        52103, T_BASE + 700, build)
    inner_token_case(case, c, r)
    case.expect({"event_type": "http", "http.http_method": "CONNECT", "http.status": 407},
                count=1)
    case.write()


def connect_early():
    def build(case, c):
        tok = tok_storm_style(T_BASE + 800, sub="before-200")
        c.request(CONNECT)
        r = Req(c, tok, url="/v1.0/me/events")
        c.request(r.raw)  # the inner request is in the capture before the 200
        c.response(ESTABLISHED)
        c.response(r.response_bytes())
        return r
    case, c, r = connect_case(
        "connect_early", "CONNECT whose inner HTTP request (a forged bearer JWT) is in the "
        "capture before the proxy's 200: the client's bytes are held until the answer, then "
        "handed to the tunnel's new connection: the token alerts.", 52104, T_BASE + 800, build)
    inner_token_case(case, c, r)
    case.expect({"event_type": "http", "http.url": "/v1.0/me/events", "tx_id": 1,
                 "http.status": 200}, count=1)
    case.write()


def make_all():
    graphql_init()
    fragmented()
    deflate()
    authtoken()
    no_anomaly()
    connect_http()
    connect_tls()
    connect_refused()
    connect_early()


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    make_all()
