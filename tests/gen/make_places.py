#!/usr/bin/python3
"""make_places.py — the e2e cases of issue 4: every place a token travels, which response the
server gave, and key sets learned from the wire.

One capture per case (pcaps/tests/place_*.pcap, tests/e2e/place_*/case.json): Authorization in
any letter case, Proxy-Authorization and the DPoP / PoP schemes, cookies (quoted or not), query
parameters (percent-encoded too), form and JSON request bodies, JSON responses of token endpoints
(an opaque refresh token is hashed, never logged), App Service / WebSocket headers, bodies that
are chunked and gzip / deflate encoded, a gzip bomb, pipelined requests answered 200/401/302,
one token in two places, JWKS and OpenID discovery documents (`keyset` records), and bodies
whose content type is never scanned. The cases whose tokens travel in message bodies (form_post,
JSON bodies, a token endpoint's response, chunked and encoded bodies, the gzip bomb, bodies never
scanned) are in make_places_bodies.py, written with the helpers here; make_all() runs them all.

Expectations follow the issue's rules: one token record per token per place (and one alert per
place when it has findings); `token.accepted` whenever the status is known, true for 2xx/3xx;
a severity-1 alert whose request got 2xx/3xx says ", accepted by the server". Deterministic:
re-running gives identical files. Run all generators with
    /usr/bin/python3 tests/gen/make_captures.py
"""
import base64
import email.utils
import gzip
import hashlib
import json
import os
import random
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

import make_keys  # noqa: E402
import pcapgen as P  # noqa: E402
import tokens as T  # noqa: E402
from make_captures import (FINDINGS, ORDER, STORM_MATCH, TEST_DIR, UA_EDGE, UA_OUTLOOK,  # noqa: E402
                           UA_PY, UA_STORM, Case, tok_alg_none, tok_storm_style, tok_valid_org,
                           write_capture)

K = T.keys()
T_BASE = P.T0 + 18000
KEYSET_ARGS = ["--set", "outputs.eve.types=[alert, token, stats, keyset]"]

# SPEC §4 signature texts of the findings used here (sensor/trust/policy.c), and the escalation.
SIGNATURE = {
    "key_issuer_mismatch": "TOKENWATCH token signed by a key outside its issuer scope",
    "signature_invalid": "TOKENWATCH token signature does not verify (forged or tampered)",
    "alg_none": "TOKENWATCH unsigned token (alg none)",
    "key_unknown": "TOKENWATCH token names a key its trusted issuer does not publish",
}
ACCEPTED = ", accepted by the server"

APP_ID = "1fec8e78-bce4-4aaf-ab1b-5451cc387264"     # the client app of entra_claims()
UA_SPA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
          "Gecko) Version/16.5 Safari/605.1.15")
UA_MSAL = "MSAL.Python/1.22.0 (Windows 10; x64)"
UA_APPSVC = "Microsoft-AppService-Frontend/1.0"

REASONS = {101: "Switching Protocols", 200: "OK", 302: "Found", 401: "Unauthorized"}


# --- HTTP messages ------------------------------------------------------------------------------

def encode(body, coding):
    """Content-Encoding as servers and clients write it: gzip (RFC 1952), deflate = zlib
    (RFC 1950, RFC 9110 §8.4.1.2). Fixed mtime, so the bytes are reproducible."""
    if coding == "gzip":
        return gzip.compress(body, compresslevel=9, mtime=0)
    if coding == "deflate":
        return zlib.compress(body, 9)
    raise ValueError(coding)


def request(method, url, host, headers=(), body=None, ctype=None, ua=UA_EDGE, coding=None,
            chunked=False):
    hdrs = [("User-Agent", ua)] + list(headers)
    if body is not None:
        body = body.encode() if isinstance(body, str) else body
        if ctype:
            hdrs.append(("Content-Type", ctype))
        if coding:
            hdrs.append(("Content-Encoding", coding))
            body = encode(body, coding)
    return P.http_request(method, url, host, hdrs, body=body, chunked=chunked, chunk_size=48)


def response(t, status, body=b"", ctype="application/json; charset=utf-8", headers=(),
             coding=None, chunked=False, chunk_size=64, server="Microsoft-IIS/10.0"):
    body = body.encode() if isinstance(body, str) else body
    lines = ["HTTP/1.1 %d %s" % (status, REASONS[status]),
             "Date: " + email.utils.formatdate(t, usegmt=True), "Server: " + server]
    if body:
        lines.append("Content-Type: " + ctype)
        if coding:
            lines.append("Content-Encoding: " + coding)
            body = encode(body, coding)
    lines += ["%s: %s" % kv for kv in headers]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        raw = P.chunk_encode(body, chunk_size)
    elif status == 101:
        raw = b""
    else:
        lines.append("Content-Length: %d" % len(body))
        raw = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + raw


class Tx:
    """One HTTP transaction: request and response bytes, and the http object EVE must print.
    url_in_eve: the http.url expected, or None where the URL carries a token (how it is
    redacted is the sensor's business; the `secrets` check proves the token is not in it)."""

    def __init__(self, conn, method, url, host, req, resp, status, ua=UA_EDGE, url_in_eve=""):
        self.conn, self.method, self.url, self.host = conn, method, url, host
        self.raw, self.resp, self.status, self.ua = req, resp, status, ua
        self.url_in_eve = url if url_in_eve == "" else url_in_eve

    @property
    def accepted(self):
        # 2xx, 3xx, or 101: the server switched protocols on the strength of the request
        return None if self.status is None else (200 <= self.status < 400 or self.status == 101)

    def flow_match(self):
        c = self.conn
        return {"src_ip": c.client, "src_port": c.cport, "dest_ip": c.server,
                "dest_port": c.sport, "proto": "TCP", "app_proto": "http"}

    def http_match(self):
        m = {"http.hostname": self.host, "http.http_method": self.method,
             "http.protocol": "HTTP/1.1", "http.http_user_agent": self.ua}
        if self.url_in_eve is not None:
            m["http.url"] = self.url_in_eve
        if self.status is not None:
            m["http.status"] = self.status
        return m


def new_conn(client, cport, server, sport=80, mss=1460):
    c = P.TcpConn(client, cport, server, sport, isn_c=(cport * 7919) & 0xffffffff,
                  isn_s=(cport * 104729) & 0xffffffff, mss=mss)
    c.handshake()
    return c


def run(c, txs, resp_mss=None):
    """Sequential keep-alive: each request, then its response; then FIN."""
    for tx in txs:
        c.request(tx.raw)
        c.response(tx.resp, mss=resp_mss)
    c.close()


def capture(case, conns, t):
    cap = P.Capture()
    for i, c in enumerate(conns):
        cap.add_conn(c, P.Link(), t + i * 1.5)
    write_capture(cap, case.pcaps[0])


# --- expectations ---------------------------------------------------------------------------------

def place(case, tx, tok, loc, findings=(), extra=None, count=1):
    """The token record of `tok` at `loc` in tx, and its alert when it has findings."""
    findings = list(findings)
    assert findings == sorted(findings, key=ORDER.index), findings
    m = {"token.sha256": T.sha256_hex(tok), "token.location": loc, "token.findings": findings}
    m.update(tx.flow_match())
    m.update(tx.http_match())
    m.update(extra or {})
    absent = None
    # token.accepted speaks of tokens the client presented; a token the server returned
    # (response_body) has none.
    accepted = None if loc == "response_body" else tx.accepted
    if tx.accepted is None:
        absent = ["http.status", "token.accepted"]
    elif accepted is None:
        absent = ["token.accepted"]
    else:
        m["token.accepted"] = accepted
    case.expect(dict(m, event_type="token"), count=count, absent=absent)
    if findings:
        sid, sev = FINDINGS[findings[0]]
        sig = SIGNATURE[findings[0]] + (ACCEPTED if sev == 1 and accepted else "")
        case.expect(dict(m, **{"event_type": "alert", "alert.signature_id": sid,
                               "alert.severity": sev, "alert.signature": sig}),
                    count=count, absent=absent)
    case.secret(tok)


def totals(case, tokens, alerts, **stats):
    case.expect({"event_type": "token"}, count=tokens)
    case.expect({"event_type": "alert"}, count=alerts)
    st = {"event_type": "stats", "stats.tokens.seen": tokens}
    st.update({"stats." + k.replace("__", "."): v for k, v in stats.items()})
    case.expect(st, count=1)


def new_case(name, description, args=()):
    return Case(name, description, [TEST_DIR + "/%s.pcap" % name], args=args)


STORM = dict(STORM_MATCH)
VALID = {"token.signature": "valid", "token.type": "jwt"}


def storm(t, sub):
    return tok_storm_style(t, sub=sub)


def org_id_token(t, key="org-1", **kw):
    """An Entra v2.0 ID token for the app (aud = its client id, a nonce, no scp)."""
    kw.setdefault("aud", APP_ID)
    kw.setdefault("nonce", "638212167582710000.YjU1ZmQ2ZGMtOGE5Zi00")
    return tok_valid_org(t, key, **kw)


def idp_token(t, alg="ES256", key="idp-es256", **kw):
    return T.jws(T.header(alg, K[key]), T.idp_claims(t, **kw), K[key])


# --- cases ----------------------------------------------------------------------------------------

def case_cookie(t):
    case = new_case("place_cookie", "Cookies whose value is a JWT (RFC 6265 §4.2.1, lenient): an OWA "
                    "access_token cookie with a Storm-pattern token (alert, accepted by the server), "
                    "a framework session cookie and a quoted id_token cookie without spaces after "
                    "';' (the hash is of the unquoted token); opaque cookies are not tokens.")
    st, sess, idt = storm(t, "cookie"), idp_token(t, sub="user-cookie"), org_id_token(t)
    c1 = new_conn("10.60.1.11", 51011, "203.0.113.10")
    url = "/owa/service.svc?action=GetFolder&app=Mail"
    tx1 = Tx(c1, "GET", url, "outlook.example.com",
             request("GET", url, "outlook.example.com", ua=UA_STORM, headers=[
                 ("Accept", "application/json"),
                 ("Cookie", "ClientId=5F2C1B0E9A7D4C3B8E6F0A1D2C3B4A59; OpenIdConnect.nonce.v3.Qz8=Zm9vYmFy; "
                            "access_token=%s; X-OWA-CANARY=Xq2mT8kP4UeLb7vN1cR9wZ" % st)]),
             response(t, 200, '{"Header":{"ServerVersionInfo":{"MajorVersion":15}},"Body":{}}'),
             200, ua=UA_STORM)
    c2 = new_conn("10.60.1.12", 51012, "203.0.113.30")
    tx2 = Tx(c2, "GET", "/dashboard", "app.contoso.example",
             request("GET", "/dashboard", "app.contoso.example", ua=UA_SPA, headers=[
                 ("Accept", "text/html"),
                 ("Cookie", 'ai_user=Yf3kq|2023-06-01T11:58:01.000Z;appSession=%s;id_token="%s";theme=dark'
                  % (sess, idt))]),
             response(t, 200, "<!doctype html><title>Dashboard</title>", ctype="text/html; charset=utf-8"),
             200, ua=UA_SPA)
    run(c1, [tx1])
    run(c2, [tx2])
    capture(case, [c1, c2], t)
    place(case, tx1, st, "cookie", ["key_issuer_mismatch"], STORM)
    place(case, tx2, sess, "cookie", [], dict(VALID, **{"token.keyset": "demo-idp"}))
    place(case, tx2, idt, "cookie", [], dict(VALID, **{"token.keyset": "demo-organizations"}))
    totals(case, 3, 1)
    case.write()


def case_query(t):
    case = new_case("place_query", "Tokens in the query string: access_token (a Storm-pattern token, "
                    "alert), token with an opaque value (type opaque), and a JWT in a parameter of "
                    "another name whose dots are percent-encoded (hashed as decoded). No token text "
                    "may reach http.url.")
    st = storm(t, "query")
    opaque = "pbi_r3X9qYt2L8mVn4Kc7wZs1eHjD0uAfGbNx5Ti6Ro"
    sso = idp_token(t, sub="user-zendesk", aud="https://support.contoso.example")
    c1 = new_conn("10.60.2.11", 51021, "203.0.113.10")
    u1 = "/api/v2.0/me/messages?$top=10&access_token=" + st
    tx1 = Tx(c1, "GET", u1, "outlook.example.com",
             request("GET", u1, "outlook.example.com", [("Accept", "application/json")], ua=UA_STORM),
             response(t, 200, '{"value":[]}'), 200, ua=UA_STORM, url_in_eve=None)
    c2 = new_conn("10.60.2.12", 51022, "203.0.113.31")
    u2 = "/embed/reports/7d1c4b2e?autoAuth=true&token=" + opaque
    tx2 = Tx(c2, "GET", u2, "reports.contoso.example",
             request("GET", u2, "reports.contoso.example", [("Accept", "text/html")]),
             response(t, 200, "<!doctype html><title>Report</title>", ctype="text/html"), 200,
             url_in_eve=None)
    u3 = ("/access/jwt?jwt=" + sso.replace(".", "%2E")
          + "&return_to=https%3A%2F%2Fsupport.contoso.example%2Fhc%2Fen-us")
    c3 = new_conn("10.60.2.13", 51023, "203.0.113.32")
    tx3 = Tx(c3, "GET", u3, "support.contoso.example",
             request("GET", u3, "support.contoso.example", [("Accept", "text/html")], ua=UA_SPA),
             response(t, 302, headers=[("Location", "https://support.contoso.example/hc/en-us")]), 302,
             ua=UA_SPA, url_in_eve=None)
    for c, tx in ((c1, tx1), (c2, tx2), (c3, tx3)):
        run(c, [tx])
    capture(case, [c1, c2, c3], t)
    place(case, tx1, st, "query", ["key_issuer_mismatch"], STORM)
    place(case, tx2, opaque, "query", [], {"token.type": "opaque"})
    place(case, tx3, sso, "query", [], dict(VALID, **{"token.keyset": "demo-idp"}))
    totals(case, 3, 1)
    case.write()


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                            .digest()).decode()


def case_header(t):
    case = new_case("place_header", "Tokens in other request headers: App Service Easy Auth's "
                    "X-MS-TOKEN-AAD-ACCESS-TOKEN (Storm pattern: alert) and X-MS-TOKEN-AAD-ID-TOKEN, "
                    "upper case as App Service writes them; a WebSocket upgrade carrying "
                    "authorization.bearer.<jwt> in Sec-WebSocket-Protocol, answered 101 (the server "
                    "switched protocols on its strength: accepted true).")
    st, idt = storm(t, "easyauth"), org_id_token(t, key="org-2")
    ws = tok_valid_org(t, "org-1", aud="https://signalr.contoso.example")
    c1 = new_conn("10.60.6.2", 51061, "10.60.6.50")
    tx1 = Tx(c1, "GET", "/api/orders?status=open", "contoso-app.azurewebsites.net",
             request("GET", "/api/orders?status=open", "contoso-app.azurewebsites.net", ua=UA_SPA, headers=[
                 ("Accept", "application/json"),
                 ("X-MS-CLIENT-PRINCIPAL-NAME", "adelev@contoso.example"),
                 ("X-MS-CLIENT-PRINCIPAL-IDP", "aad"),
                 ("X-MS-TOKEN-AAD-ACCESS-TOKEN", st),
                 ("X-MS-TOKEN-AAD-ID-TOKEN", idt),
                 ("X-ARR-LOG-ID", "1b7f6c2e-3d4a-4e5b-8c9d-0e1f2a3b4c5d")]),
             response(t, 200, '{"orders":[]}', server="Kestrel"), 200, ua=UA_SPA)
    key = base64.b64encode(hashlib.md5(b"place_header").digest()).decode()
    c2 = new_conn("10.60.6.11", 51062, "203.0.113.33")
    tx2 = Tx(c2, "GET", "/hubs/notifications?id=Qm9vdHN0cmFw", "signalr.contoso.example",
             request("GET", "/hubs/notifications?id=Qm9vdHN0cmFw", "signalr.contoso.example", ua=UA_SPA, headers=[
                 ("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
                 ("Sec-WebSocket-Key", key), ("Origin", "https://app.contoso.example"),
                 ("Sec-WebSocket-Protocol", "graphql-transport-ws, authorization.bearer." + ws)]),
             response(t, 101, headers=[("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                       ("Sec-WebSocket-Accept", ws_accept(key)),
                                       ("Sec-WebSocket-Protocol", "graphql-transport-ws")], server="Kestrel"),
             101, ua=UA_SPA)
    run(c1, [tx1])
    c2.request(tx2.raw)
    c2.response(tx2.resp)
    c2.request(b"\x81\x9e" + b"\x12\x34\x56\x78" + bytes(
        b ^ (0x12, 0x34, 0x56, 0x78)[i % 4] for i, b in enumerate(b'{"type":"connection_init"}    ')))
    c2.close()
    capture(case, [c1, c2], t)
    place(case, tx1, st, "header", ["key_issuer_mismatch"], STORM)
    place(case, tx1, idt, "header", [], dict(VALID, **{"token.aud": APP_ID}))
    place(case, tx2, ws, "header", [], VALID)
    totals(case, 3, 1)
    case.write()


def dpop_proof(t, htm, htu):
    """A DPoP proof (RFC 9449 §4.2): typ dpop+jwt with the client's public key in the header."""
    k = K["attacker"]
    jwk = {n: v for n, v in k.jwk.items() if n in ("kty", "n", "e")}
    hdr = {"typ": "dpop+jwt", "alg": "RS256", "jwk": jwk}
    return T.jws(hdr, {"jti": "e1j3V_bKic8-LAEB", "htm": htm, "htu": htu, "iat": t}, k)


def case_proxy_dpop(t):
    case = new_case("place_proxy_dpop", "Proxy-Authorization: Bearer, Authorization: DPoP (a Storm-"
                    "pattern token, answered 401: not accepted) and Authorization: PoP; all location "
                    "authorization. The DPoP proof header itself is not one of the token headers.")
    prox = tok_valid_org(t, "org-2", aud="https://proxy.contoso.example")
    st = storm(t, "dpop")
    pop = tok_valid_org(t, "org-1")
    host = "graph.example.com"
    c = new_conn("10.60.7.11", 51071, "203.0.113.40")
    tx1 = Tx(c, "GET", "/v1.0/me", host,
             request("GET", "/v1.0/me", host, [("Proxy-Authorization", "Bearer " + prox),
                                              ("Accept", "application/json")]),
             response(t, 200, '{"displayName":"Megan Bowen"}'), 200)
    proof = dpop_proof(t, "POST", "https://graph.example.com/v1.0/me/sendMail")
    tx2 = Tx(c, "POST", "/v1.0/me/sendMail", host,
             request("POST", "/v1.0/me/sendMail", host, ua=UA_STORM,
                     headers=[("Authorization", "DPoP " + st), ("DPoP", proof)],
                     body='{"message":{"subject":"Q2"}}', ctype="application/json"),
             response(t, 401, '{"error":{"code":"InvalidAuthenticationToken"}}',
                      headers=[("WWW-Authenticate", 'DPoP algs="RS256 ES256", error="invalid_token"')]),
             401, ua=UA_STORM)
    tx3 = Tx(c, "GET", "/v1.0/me/drive", host,
             request("GET", "/v1.0/me/drive", host, [("Authorization", "PoP " + pop),
                                                    ("Accept", "application/json")]),
             response(t, 200, '{"driveType":"business"}'), 200)
    run(c, [tx1, tx2, tx3])
    capture(case, [c], t)
    place(case, tx1, prox, "authorization", [], VALID)
    place(case, tx2, st, "authorization", ["key_issuer_mismatch"], STORM)
    place(case, tx3, pop, "authorization", [], VALID)
    case.secret(proof)
    totals(case, 3, 1)
    case.write()


def case_bearer_upper(t):
    case = new_case("place_bearer_upper", "The Bearer scheme in any letter case and spacing "
                    "(RFC 9110 §11.1: case-insensitive): 'BEARER <storm token>' (alert, accepted) and "
                    "'bearer   <valid token>' on one keep-alive connection.")
    st, ok = storm(t, "upper"), tok_valid_org(t, "org-1")
    host = "outlook.example.com"
    c = new_conn("10.60.8.11", 51081, "203.0.113.10")
    tx1 = Tx(c, "GET", "/api/v2.0/me/mailfolders", host,
             request("GET", "/api/v2.0/me/mailfolders", host, [("AUTHORIZATION", "BEARER " + st)],
                     ua=UA_STORM), response(t, 200, '{"value":[]}'), 200, ua=UA_STORM)
    tx2 = Tx(c, "GET", "/api/v2.0/me/calendar", host,
             request("GET", "/api/v2.0/me/calendar", host, [("authorization", "bearer   " + ok)],
                     ua=UA_OUTLOOK), response(t, 200, '{"value":[]}'), 200, ua=UA_OUTLOOK)
    run(c, [tx1, tx2])
    capture(case, [c], t)
    place(case, tx1, st, "authorization", ["key_issuer_mismatch"], dict(STORM, tx_id=0))
    place(case, tx2, ok, "authorization", [], dict(VALID, tx_id=1))
    totals(case, 2, 1)
    case.write()


def case_pipelined_status(t):
    case = new_case("place_pipelined_status", "Three pipelined requests in one segment, each with a "
                    "forged token (Storm pattern, flipped signature, alg none), answered 200, 401, 302 "
                    "in order (response boundaries mid-segment): accepted true / false / true, and "
                    "', accepted by the server' on the 200 and 302 alerts only.")
    host = "outlook.example.com"
    st = storm(t, "pipelined")
    flipped = T.flip_signature_byte(tok_valid_org(t, "org-2", aud="https://outlook.example.com"))
    none = tok_alg_none(t)
    c = new_conn("51.89.156.153", 51111, "203.0.113.10", mss=9000)
    specs = [("/api/v2.0/me/mailfolders/inbox/messages?$top=100", st, 200, '{"value":[]}', ()),
             ("/api/v2.0/me/messages", flipped, 401, '{"error":{"code":"InvalidAuthenticationToken"}}',
              [("WWW-Authenticate", 'Bearer realm="", error="invalid_token"')]),
             ("/owa/", none, 302, b"", [("Location", "https://outlook.example.com/owa/auth/logon.aspx")])]
    txs = [Tx(c, "GET", u, host, request("GET", u, host, [("Authorization", "Bearer " + tok)], ua=UA_STORM),
              response(t, status, body, headers=hdrs), status, ua=UA_STORM)
           for u, tok, status, body, hdrs in specs]
    c.request(b"".join(tx.raw for tx in txs))
    c.response(b"".join(tx.resp for tx in txs), mss=170)
    c.close()
    capture(case, [c], t)
    place(case, txs[0], st, "authorization", ["key_issuer_mismatch"], dict(STORM, tx_id=0))
    place(case, txs[1], flipped, "authorization", ["signature_invalid"],
          {"token.signature": "invalid", "tx_id": 1})
    place(case, txs[2], none, "authorization", ["alg_none", "alg_mismatch"], {"token.alg": "none", "tx_id": 2})
    totals(case, 3, 3)
    case.write()


def case_same_token_two_places(t):
    case = new_case("place_same_token_two_places", "One Storm-pattern token sent both as Authorization: "
                    "Bearer and as an access_token cookie in one request: a token record and an alert "
                    "per place, one verification (tokens.distinct 1).")
    st = storm(t, "two-places")
    host = "outlook.example.com"
    c = new_conn("51.89.156.153", 51121, "203.0.113.10")
    url = "/api/v2.0/me/mailfolders/inbox/messages"
    tx = Tx(c, "GET", url, host,
            request("GET", url, host, ua=UA_STORM, headers=[
                ("Authorization", "Bearer " + st),
                ("Cookie", "ClientId=5F2C1B0E9A7D4C3B8E6F0A1D2C3B4A59; access_token=" + st)]),
            response(t, 200, '{"value":[]}'), 200, ua=UA_STORM)
    run(c, [tx])
    capture(case, [c], t)
    place(case, tx, st, "authorization", ["key_issuer_mismatch"], STORM)
    place(case, tx, st, "cookie", ["key_issuer_mismatch"], STORM)
    case.expect({"event_type": "token", "token.sha256": T.sha256_hex(st)}, count=2)
    totals(case, 2, 2, tokens__distinct=1)
    case.write()


# --- keys learned from the wire ---------------------------------------------------------------

def _probable_prime(n, rng):
    if any(n % p == 0 for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)):
        return False
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(40):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def rotated_key():
    """A new RSA-2048 signing key 'the IdP rotated in', made from a fixed seed (so the JWKS is
    reproducible), with a deterministic self-signed certificate and Entra's per-key issuer."""
    return rotated_key_pair()[0]


def rotated_key_pair():
    """rotated_key()'s JWK and its private key (make_observed.py signs tokens with it)."""
    rng = random.Random("tokenwatch place_jwks_observed rotated key")

    def prime():
        while True:
            n = rng.getrandbits(1024) | (3 << 1022) | 1
            if _probable_prime(n, rng):
                return n
    e = 65537
    while True:
        p, q = prime(), prime()
        if p != q and (p - 1) % e and (q - 1) % e:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    priv = rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                 rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, p * q)).private_key()
    der = make_keys.make_cert("rotated-2023", priv, (make_keys.D(2023, 5, 1), make_keys.D(2028, 5, 1)))
    x5t = make_keys.b64u(hashlib.sha1(der).digest())
    return ({"kty": "RSA", "use": "sig", "kid": x5t, "x5t": x5t,
             "n": make_keys.b64u(make_keys.uint_bytes(p * q)), "e": "AQAB",
             "x5c": [base64.b64encode(der).decode()], "issuer": make_keys.ORG_ISSUER_TMPL}, priv)


def case_jwks_observed(t):
    case = new_case("place_jwks_observed", "JWKS and OpenID discovery documents in responses give "
                    "`keyset` records: Entra-like organizations keys without the expired key and with "
                    "a new one (missing / untrusted), the same document again (no record), then "
                    "changed (changed true); the discovery document; demo-idp's keys as "
                    "application/jwk-set+json; a JSON {\"keys\": [strings]} that is no JWKS (no record).",
                    args=KEYSET_ARGS)
    org1, org2, expired = K["org-1"].jwk, K["org-2"].jwk, K["org-expired"].jwk
    new = rotated_key()
    host = "login.microsoftonline.com"
    keys_url = "/organizations/discovery/v2.0/keys"
    disc_url = "/organizations/v2.0/.well-known/openid-configuration"
    v1 = json.dumps({"keys": [org1, org2, new]})
    v2 = json.dumps({"keys": [org1, new]})
    disc = json.dumps({
        "token_endpoint": "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": "https://login.microsoftonline.com/organizations/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0", "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": "https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize",
        "tenant_region_scope": None, "cloud_instance_name": "microsoftonline.com"})
    idp = open(os.path.join(make_keys.JWKSDIR, "demo-idp.jwks.json")).read()
    idp_kids = [k["kid"] for k in json.loads(idp)["keys"]]

    def get(c, h, url, body, ctype="application/json; charset=utf-8", ua=UA_MSAL):
        return Tx(c, "GET", url, h, request("GET", url, h, [("Accept", "application/json")], ua=ua),
                  response(t, 200, body, ctype=ctype, chunked=len(body) > 4000, chunk_size=1024), 200, ua=ua)
    c1 = new_conn("10.60.12.11", 51131, "203.0.113.60")
    a1, a2 = get(c1, host, disc_url, disc), get(c1, host, keys_url, v1)
    run(c1, [a1, a2])
    c2 = new_conn("10.60.12.12", 51132, "203.0.113.60")
    b1, b2 = get(c2, host, keys_url, v1), get(c2, host, keys_url, v2)
    run(c2, [b1, b2])
    c3 = new_conn("10.60.12.13", 51133, "203.0.113.20")
    d1 = get(c3, "idp.example.com", "/.well-known/jwks.json", idp, ctype="application/jwk-set+json",
             ua=UA_PY)
    d2 = get(c3, "idp.example.com", "/api/cache/keys", '{"keys":["session:4711","session:4712"]}', ua=UA_PY)
    run(c3, [d1, d2])
    capture(case, [c1, c2, c3], t)

    def ks(tx, tx_id, **kv):
        m = {"event_type": "keyset", "tx_id": tx_id}
        m.update(tx.flow_match())
        m.update(tx.http_match())
        m.update({"keyset." + k: v for k, v in kv.items()})
        return m
    case.expect(ks(a1, 0, kind="openid-configuration", changed=False,
                   issuer="https://login.microsoftonline.com/{tenantid}/v2.0",
                   jwks_uri="https://login.microsoftonline.com/organizations/discovery/v2.0/keys"),
                count=1, absent=["keyset.keys", "keyset.kids"])
    case.expect(ks(a2, 1, kind="jwks", keys=3, kids=[org1["kid"], org2["kid"], new["kid"]],
                   configured_keyset="demo-organizations", untrusted=[new["kid"]],
                   missing=[expired["kid"]], changed=False), count=1)
    case.expect({"event_type": "keyset", "src_port": c2.cport, "tx_id": 0}, count=0)
    case.expect(ks(b2, 1, kind="jwks", keys=2, kids=[org1["kid"], new["kid"]],
                   configured_keyset="demo-organizations", untrusted=[new["kid"]],
                   missing=[org2["kid"], expired["kid"]], changed=True), count=1)
    case.expect(ks(d1, 0, kind="jwks", keys=4, kids=idp_kids, configured_keyset="demo-idp",
                   untrusted=[], missing=[], changed=False), count=1)
    case.expect({"event_type": "keyset", "http.url": "/api/cache/keys"}, count=0)
    case.expect({"event_type": "keyset"}, count=4)
    totals(case, 0, 0)
    case.write()


def make_all():
    # Imported here, not at the top: make_places_bodies imports its helpers from this module, which
    # is complete by now. The order is the cases' (each case's time is its position's).
    import make_places_bodies as B
    cases = [case_cookie, case_query, B.case_form_post, B.case_json_body,
             B.case_response_token_endpoint, case_header, case_proxy_dpop, case_bearer_upper,
             B.case_chunked_gzip, B.case_gzip_bomb, case_pipelined_status,
             case_same_token_two_places, case_jwks_observed, B.case_not_scanned]
    for i, fn in enumerate(cases):
        fn(T_BASE + i * 60)


if __name__ == "__main__":
    import make_captures         # one module instance, as make_captures.main() uses
    make_all()
    for p, n in make_captures.WRITTEN:
        print("%7d  %s" % (n, p))
