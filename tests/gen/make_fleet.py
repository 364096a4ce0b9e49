#!/usr/bin/python3
"""make_fleet.py — captures for the fleet test (tests/e2e/run_fleet.py): several sensors ("sites")
sharing token sightings and indicators through Redis.

Three sites, each a classic pcap of HTTP/1.1 connections (Ethernet/IPv4/TCP, one request with
"Authorization: Bearer <token>" answered 200 per connection), packet times on 2023-06-01 from
09:00:00Z, the sites a minute apart:

  site-a.pcap   T from 10.1.0.5 and again from 10.1.0.6 (the same /24: one client network),
                U (seen nowhere else) from 10.1.0.7, the forged F from 10.1.0.8
  site-b.pcap   T from 10.2.0.5, F from 10.2.0.9
  site-c.pcap   T from 10.3.0.5  -> T's third client network fleet-wide: a fleet replay

T, U and V (the restart scenario's token) are valid RS256 tokens signed by the TEST-ONLY
demo-organizations key org-1 (etc/demo/tokenwatch.yaml trusts it): iat/nbf 300 s before their
packet time, lifetime 3600 s (policy.max-lifetime is 90000). F is a valid token of the same key
(header with its kid, valid claims) with one bit of the signature flipped: signature_invalid
(severity 1) under the demo configuration.

Importable (tokens(), conn_capture(), capture_bytes(), SITES) for captures the test writes into
a pipe in parts; `main(DIR)` writes the three site captures into DIR. Deterministic: RSA PKCS#1
v1.5 signatures and fixed sequence numbers give the same bytes on every run.
Run: /usr/bin/python3 tests/gen/make_fleet.py OUTDIR
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pcapgen as P  # noqa: E402
import tokens as T  # noqa: E402

START = 1685610000            # 2023-06-01T09:00:00Z (packet time of the first site-a request)
SERVER = "203.0.113.50"
HOST, URL = "graph.example.com", "/v1.0/me/messages?$top=10"
UA = "python-requests/2.31.0"
BODY = ('{"@odata.context":"https://graph.example.com/v1.0/$metadata#users(\'me\')/messages",'
        '"value":[]}')
KEY = "org-1"


def token(name, t=START, lifetime=3600):
    """A valid demo-organizations token for `name` (its own sub/uti), issued 300 s before t."""
    return T.jws(T.header("RS256", T.keys()[KEY]),
                 T.entra_claims(t, T.ENTERPRISE_TID, iat=-300, lifetime=lifetime,
                                sub="AAAAAAAAAAAAAAAAAAAAAFleet%s" % name,
                                uti="fleet-%s" % name, upn="%s@contoso.example" % name.lower()),
                 T.keys()[KEY])


def forged(name, t=START):
    """The valid token of `name` with one bit of its signature flipped: signature_invalid."""
    return T.flip_signature_byte(token(name, t))


def tokens(t=START):
    """The test's tokens by letter: T (replayed across sites), U (site A only), F (forged), V."""
    return {"T": token("T", t), "U": token("U", t), "F": forged("F", t), "V": token("V", t)}


# site -> [(client address, client port, token letter, seconds after START)]
SITES = {
    "site-a": [("10.1.0.5", 40101, "T", 0.0), ("10.1.0.6", 40102, "T", 5.0),
               ("10.1.0.7", 40103, "U", 10.0), ("10.1.0.8", 40104, "F", 15.0)],
    "site-b": [("10.2.0.5", 40201, "T", 60.0), ("10.2.0.9", 40202, "F", 70.0)],
    "site-c": [("10.3.0.5", 40301, "T", 120.0)],
}


def conn(client, cport, tok, server=SERVER):
    """One connection: handshake, a GET presenting tok in Authorization, 200 with JSON, FIN."""
    c = P.TcpConn(client, cport, server, 80, isn_c=(cport * 7919) & 0xffffffff,
                  isn_s=(cport * 104729) & 0xffffffff)
    c.handshake()
    c.request(P.http_request("GET", URL, HOST, [("Authorization", "Bearer " + tok),
                                                 ("User-Agent", UA),
                                                 ("Accept", "application/json")]))
    c.response(P.http_response(200, BODY))
    c.close()
    return c


def conn_capture(conns):
    """A Capture of [(client, cport, token text, absolute start time)]."""
    cap = P.Capture()
    for client, cport, tok, ts in conns:
        cap.add_conn(conn(client, cport, tok), P.Link(), ts)
    return cap


def capture_bytes(conns, header=True):
    """pcap bytes of conn_capture(conns), without the 24-byte file header when header is
    false (a later part of a capture written into a pipe)."""
    b = conn_capture(conns).pcap_bytes()
    return b if header else b[24:]


def site_conns(site, toks=None, start=START):
    toks = toks or tokens(start)
    return [(cl, cp, toks[letter], start + off) for cl, cp, letter, off in SITES[site]]


def main(outdir):
    """Writes site-a.pcap, site-b.pcap, site-c.pcap into outdir; returns their paths."""
    os.makedirs(outdir, exist_ok=True)
    toks = tokens()
    paths = {}
    for site in SITES:
        path = os.path.join(outdir, site + ".pcap")
        conn_capture(site_conns(site, toks)).write(path)
        paths[site] = path
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_fleet.py OUTDIR")
    for site, path in main(sys.argv[1]).items():
        print("%7d  %s" % (os.path.getsize(path), path))
