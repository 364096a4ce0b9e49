#!/usr/bin/python3
"""make_ndpi.py — e2e cases for flow classification (nDPI): HTTP is found on any port, and a TLS
flow is recognised and never parsed as HTTP, even when its application data happens to hold
bytes shaped like an HTTP request with a bearer token. Run from the project root:
    /usr/bin/python3 tests/gen/make_ndpi.py
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pcapgen as P  # noqa: E402
from make_captures import (TEST_DIR, Case, Req, simple_conn, storm_alert,  # noqa: E402
                           tok_storm_style, write_capture)

CLIENT, SERVER = "10.40.0.7", "198.51.100.40"


def tls_record(ctype, body):
    return struct.pack(">BHH", ctype, 0x0303, len(body)) + body


def handshake(htype, body):
    return struct.pack(">B", htype) + struct.pack(">I", len(body))[1:] + body


def client_hello(sni):
    name = sni.encode()
    sni_ext = struct.pack(">HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    groups = struct.pack(">HHH", 10, 4, 2) + struct.pack(">H", 0x001d)
    exts = sni_ext + groups
    body = (struct.pack(">H", 0x0303) + bytes(range(32)) + b"\x00" +
            struct.pack(">H", 4) + struct.pack(">HH", 0x1301, 0xc02f) + b"\x01\x00" +
            struct.pack(">H", len(exts)) + exts)
    return tls_record(22, handshake(1, body))


def server_hello():
    body = (struct.pack(">H", 0x0303) + bytes(range(32, 64)) + b"\x00" +
            struct.pack(">H", 0xc02f) + b"\x00" + struct.pack(">H", 0))
    return tls_record(22, handshake(2, body))


def http_on_odd_port():
    t = P.T0 + 4000
    case = Case("ndpi_http_any_port", "HTTP on port 5601 (no HTTP port): nDPI classifies it as "
                "HTTP and the token still alerts; the EVE records carry the ndpi object.",
                [TEST_DIR + "/ndpi_http_any_port.pcap"])
    cap = P.Capture()
    tok = tok_storm_style(t, sub="odd-port")
    c, r = simple_conn(lambda c: Req(c, tok, url="/api/status", host="kibana.example.com"),
                       CLIENT, 50601, server=SERVER, sport=5601)
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    storm_alert(case, r, extra={"ndpi.protocol": "HTTP", "dest_port": 5601})
    case.write()


def tls_on_port_80():
    t = P.T0 + 4100
    case = Case("ndpi_tls_not_http", "A TLS session on port 80 whose 'application data' is an "
                "HTTP request with a bearer token in clear: nDPI says TLS, so the flow is not "
                "parsed as HTTP (no token, no HTTP transaction, no parser errors); an HTTP flow "
                "beside it still alerts.", [TEST_DIR + "/ndpi_tls_not_http.pcap"])
    cap = P.Capture()
    hidden = tok_storm_style(t, sub="inside-tls")
    c = P.TcpConn(CLIENT, 50443, SERVER, 80, isn_c=777, isn_s=999)
    c.handshake()
    c.request(client_hello("outlook.example.com"))
    c.response(server_hello())
    fake = P.http_request("GET", "/hidden", "outlook.example.com",
                          headers=[("Authorization", "Bearer " + hidden)])
    # a line break first, so a parser resynchronising line by line would find the request
    c.request(tls_record(23, b"\r\n" + fake))
    c.close()
    cap.add_conn(c, P.Link(), t)
    tok = tok_storm_style(t, sub="plain-http")
    c2, r2 = simple_conn(lambda c: Req(c, tok), CLIENT, 50444, server=SERVER, sport=80)
    cap.add_conn(c2, P.Link(), t + 1)
    write_capture(cap, case.pcaps[0])
    storm_alert(case, r2)
    case.expect({"event_type": "token", "src_port": 50443}, count=0)
    case.expect({"event_type": "stats", "stats.app_layer.tx.http": 1,
                 "stats.app_layer.error.http.parser": 0}, count=1)
    case.secret(hidden)
    case.write()


def make_all():
    http_on_odd_port()
    tls_on_port_80()


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    make_all()
