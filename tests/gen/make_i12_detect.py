#!/usr/bin/python3
"""make_i12_detect.py — the e2e cases of issue 12's first part: a flow is parsed as HTTP because
its bytes say so, on any port; nDPI only names flows, and its guess (by port above all) never
stops the parsers; a flow that truly is TLS (a ClientHello is seen) is still never parsed.

  detect_http_on_443      a plain HTTP/1.1 request with a forged bearer JWT to port 443: the
                          token and its alert
  detect_port_guess_443   the same request on port 443 behind 30 small binary messages (neither
                          TLS nor HTTP), so that nDPI gives up and guesses by port: TLS. Before
                          issue 12 that guess switched the parser off and the token was missed
  detect_tls_on_443       a TLS session on port 443 (its ClientHello cut in two segments, then a
                          ServerHello) whose "application data" holds an HTTP request with a
                          bearer token in clear, both inside a record and bare: no token, no HTTP
                          transaction; a plain HTTP flow beside it still alerts
  detect_ssh_on_80        an SSH session on port 80 whose later bytes hold such a request: the
                          banners take it away from the parsers

Deterministic. Run all generators with /usr/bin/python3 tests/gen/make_captures.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pcapgen as P  # noqa: E402
from make_captures import (TEST_DIR, Case, Req, simple_conn, storm_alert,  # noqa: E402
                           tok_storm_style, write_capture)
from make_ndpi import client_hello, server_hello, tls_record  # noqa: E402

CLIENT, SERVER = "10.41.0.12", "198.51.100.112"
T_BASE = P.T0 + 31200
NO_PARSER_ERRORS = {"event_type": "stats", "stats.app_layer.error.http.parser": 0}


def http_on_443():
    t = T_BASE
    case = Case("detect_http_on_443", "A plain HTTP/1.1 request on port 443 (no TLS at all) "
                "carrying a forged bearer JWT: its bytes make it HTTP whatever the port says, so "
                "the token is reported and alerts.", [TEST_DIR + "/detect_http_on_443.pcap"])
    cap = P.Capture()
    tok = tok_storm_style(t, sub="plain-on-443")
    c, r = simple_conn(lambda c: Req(c, tok, url="/api/v2/mail"), CLIENT, 51443,
                       server=SERVER, sport=443)
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    storm_alert(case, r, extra={"dest_port": 443})
    case.token(r, extra={"dest_port": 443})
    case.expect({"event_type": "stats", "stats.app_layer.tx.http": 1}, count=1)
    case.write()


def port_guess_443():
    t = T_BASE + 100
    case = Case("detect_port_guess_443", "An HTTP/1.1 request on port 443 behind 30 small "
                "binary messages that are neither TLS nor HTTP: nDPI gives up on them and guesses "
                "TLS by the port (ndpi.protocol), which once switched the parser off for good. "
                "The bytes decide now: the token behind them is reported and alerts.",
                [TEST_DIR + "/detect_port_guess_443.pcap"])
    cap = P.Capture()
    tok = tok_storm_style(t, sub="behind-port-guess")
    c = P.TcpConn(CLIENT, 51444, SERVER, 443, isn_c=4431, isn_s=4432)
    c.handshake()
    r = Req(c, tok, url="/api/v2/calendar")
    for i in range(15):  # a made-up binary ping, each answered: 30 packets with payload
        c.request(b"\x00\x07\xbe\xef" + bytes([i, 0, 0, 1]))
        c.response(b"\x00\x07\xbe\xef" + bytes([i, 0, 0, 2]))
    c.request(r.raw)
    c.response(r.response_bytes())
    c.close()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    guess = {"dest_port": 443, "ndpi.protocol": "TLS"}
    storm_alert(case, r, extra=guess)
    case.token(r, extra=guess)
    case.write()


def tls_on_443():
    t = T_BASE + 200
    case = Case("detect_tls_on_443", "A TLS session on port 443 (its ClientHello in two "
                "segments, the first only 3 bytes, then a ServerHello) whose 'application data' "
                "holds an HTTP request with a bearer token in clear, inside a record and bare: "
                "the hellos make it TLS, so it is never parsed as HTTP (no token, no HTTP "
                "transaction, no parser error). A plain HTTP flow beside it still alerts.",
                [TEST_DIR + "/detect_tls_on_443.pcap"])
    cap = P.Capture()
    hidden = tok_storm_style(t, sub="inside-tls-443")
    c = P.TcpConn(CLIENT, 51445, SERVER, 443, isn_c=4451, isn_s=4452)
    c.handshake()
    hello = client_hello("outlook.example.com")
    c.send(True, hello[:3], ack=False)
    c.request(hello[3:])
    c.response(server_hello())
    fake = P.http_request("GET", "/", "outlook.example.com",
                          headers=[("Authorization", "Bearer " + hidden)])
    c.request(tls_record(23, b"\r\n" + fake))
    c.request(b"\r\n" + fake)
    c.response(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.close()
    cap.add_conn(c, P.Link(), t)
    tok = tok_storm_style(t, sub="plain-beside-tls")
    c2, r2 = simple_conn(lambda c: Req(c, tok), CLIENT, 51446, server=SERVER, sport=80)
    cap.add_conn(c2, P.Link(), t + 1)
    write_capture(cap, case.pcaps[0])
    storm_alert(case, r2)
    case.expect({"event_type": "token", "src_port": 51445}, count=0)
    case.expect({"event_type": "http", "src_port": 51445}, count=0)
    m = dict(NO_PARSER_ERRORS)
    m["stats.app_layer.tx.http"] = 1
    case.expect(m, count=1)
    case.secret(hidden)
    case.write()


def ssh_on_80():
    t = T_BASE + 300
    case = Case("detect_ssh_on_80", "An SSH session on port 80 (server banner first, as SSH "
                "servers do) whose later client bytes hold an HTTP request with a bearer token: "
                "the banners make it SSH, so it is never parsed as HTTP. A plain HTTP flow beside "
                "it still alerts.", [TEST_DIR + "/detect_ssh_on_80.pcap"])
    cap = P.Capture()
    hidden = tok_storm_style(t, sub="inside-ssh-80")
    c = P.TcpConn(CLIENT, 51447, SERVER, 80, isn_c=4471, isn_s=4472)
    c.handshake()
    c.response(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    c.request(b"SSH-2.0-OpenSSH_9.6\r\n")
    fake = P.http_request("GET", "/", "intranet.example.com",
                          headers=[("Authorization", "Bearer " + hidden)])
    c.request(b"\r\n" + fake)
    c.close()
    cap.add_conn(c, P.Link(), t)
    tok = tok_storm_style(t, sub="plain-beside-ssh")
    c2, r2 = simple_conn(lambda c: Req(c, tok), CLIENT, 51448, server=SERVER, sport=80)
    cap.add_conn(c2, P.Link(), t + 1)
    write_capture(cap, case.pcaps[0])
    storm_alert(case, r2)
    case.expect({"event_type": "token", "src_port": 51447}, count=0)
    case.expect({"event_type": "http", "src_port": 51447}, count=0)
    m = dict(NO_PARSER_ERRORS)
    m["stats.app_layer.tx.http"] = 1
    case.expect(m, count=1)
    case.secret(hidden)
    case.write()


def make_all():
    http_on_443()
    port_guess_443()
    tls_on_443()
    ssh_on_80()


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    make_all()
