#!/usr/bin/python3
"""make_i10_evasion.py — the e2e cases of issue 10's evasion part: oversized request heads and
stacked content codings must not hide a token.

  evasion_head_padding   a 70 KB padding header before, and one after, Authorization: Bearer
                         <forged>, both answered 200 (the second with a 70 KB response head)
  evasion_head_line      a 1 MB header line before a Storm-pattern token, answered 200
  evasion_head_fields    10,000 headers before the token (a 140 KB head), and 80 small headers
                         (under http-max-head, past the 64 fields http1 keeps) before another
  evasion_head_big_jwt   a 100 KB JWT (forged) in Authorization, answered 200
  evasion_stacked_coding a form body coded "gzip, gzip" carrying an assertion, answered by a JSON
                         token response coded "deflate, gzip"

Each token here was missed before (the head dropped whole as head_overflow, or the body left
undecoded). An oversized head's records carry http.head_oversized. Deterministic. Run all
generators with /usr/bin/python3 tests/gen/make_captures.py
"""
import gzip
import json
import os
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pcapgen as P  # noqa: E402
import tokens as T  # noqa: E402
from make_places import (APP_ID, STORM, Tx, UA_SPA, capture, new_case, new_conn,  # noqa: E402
                         place, request, response, run, storm, totals, tok_valid_org)
from make_captures import UA_STORM  # noqa: E402

T_BASE = P.T0 + 30000
OVERSIZED = {"http.head_oversized": True}
FORGED = {"token.signature": "invalid", "token.type": "jwt"}


def padding(n, seed):
    """n bytes of header-value text (no token shape: never reported)."""
    return (("pad%d-" % seed) + "x" * 61)[:64].encode().ljust(64, b"x") * (n // 64) + b"y" * (n % 64)


def raw_request(method, url, host, fields, body=b""):
    """A request head written field by field (values may be bytes of any size)."""
    lines = [("%s %s HTTP/1.1" % (method, url)).encode(), b"Host: " + host.encode()]
    for k, v in fields:
        lines.append(k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()))
    if body:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def forged(t, sub, **kw):
    return T.flip_signature_byte(tok_valid_org(t, "org-2", sub=sub, **kw))


def case_head_padding(t):
    case = new_case("evasion_head_padding", "A 70 KB padding header before, and another after, "
                    "Authorization: Bearer <forged> (heads over http-max-head, which Go's net/http "
                    "accepts up to 1 MiB), both answered 200, the second with a 70 KB response "
                    "head: each forged token is judged (signature_invalid alert with http.status "
                    "200, http.head_oversized), the response status is read, REQUEST_FIELD_TOO_LONG "
                    "is still reported.", args=["--set", "outputs.eve.types=[alert, token, stats, anomaly]"])
    host, ua = "graph.example.com", "python-requests/2.31.0"
    before, after = forged(t, "pad-before"), forged(t, "pad-after")
    c = new_conn("10.60.20.11", 52001, "203.0.113.20")
    body = '{"value":[]}'
    req1 = raw_request("GET", "/v1.0/me/messages", host,
                       [("User-Agent", ua), ("X-Padding", padding(70000, 1)),
                        ("Authorization", "Bearer " + before), ("Accept", "application/json")])
    req2 = raw_request("GET", "/v1.0/me/drive", host,
                       [("User-Agent", ua), ("Authorization", "Bearer " + after),
                        ("X-Padding", padding(70000, 2)), ("Accept", "application/json")])
    big_resp = response(t, 200, body, headers=[("X-Debug", padding(70000, 3).decode())])
    tx1 = Tx(c, "GET", "/v1.0/me/messages", host, req1, response(t, 200, body), 200, ua=ua)
    tx2 = Tx(c, "GET", "/v1.0/me/drive", host, req2, big_resp, 200, ua=ua)
    run(c, [tx1, tx2])
    capture(case, [c], t)
    place(case, tx1, before, "authorization", ["signature_invalid"], dict(FORGED, **OVERSIZED))
    place(case, tx2, after, "authorization", ["signature_invalid"], dict(FORGED, **OVERSIZED))
    case.expect({"event_type": "anomaly", "anomaly.event": "REQUEST_FIELD_TOO_LONG"}, count=1)
    case.expect({"event_type": "anomaly", "anomaly.event": "RESPONSE_FIELD_TOO_LONG"}, count=1)
    totals(case, 2, 2, tokenwatch__http__head_overflow=3)
    case.write()


def case_head_line(t):
    case = new_case("evasion_head_line", "A 1 MB header line before a Storm-pattern token "
                    "(consumer key, enterprise tenant), answered 200: the line is skipped without "
                    "being kept, the token judged (key_issuer_mismatch, accepted by the server).")
    host = "outlook.example.com"
    tok = storm(t, "one-mb-line")
    c = new_conn("10.60.20.12", 52002, "203.0.113.21")
    req = raw_request("GET", "/api/v2.0/me/messages", host,
                      [("User-Agent", UA_STORM), ("X-Huge", padding(1 << 20, 4)),
                       ("Authorization", "Bearer " + tok)])
    tx = Tx(c, "GET", "/api/v2.0/me/messages", host, req, response(t, 200, '{"value":[]}'), 200,
            ua=UA_STORM)
    run(c, [tx])
    capture(case, [c], t)
    place(case, tx, tok, "authorization", ["key_issuer_mismatch"], dict(STORM, **OVERSIZED))
    totals(case, 1, 1, tokenwatch__http__head_overflow=1)
    case.write()


def case_head_fields(t):
    case = new_case("evasion_head_fields", "10,000 headers before Authorization (a ~200 KB head), "
                    "answered 200; and on a second connection 80 small headers (under "
                    "http-max-head, but past the 64 fields http1 keeps) before Authorization, "
                    "answered 200: both Storm-pattern tokens are judged and alerted.")
    host = "outlook.example.com"
    tok1, tok2 = storm(t, "ten-thousand"), storm(t, "eighty")
    c1 = new_conn("10.60.20.13", 52003, "203.0.113.22")
    many = [("X-Field-%05d" % i, "v%d" % i) for i in range(10000)]
    req1 = raw_request("GET", "/api/v2.0/me/events", host,
                       [("User-Agent", UA_STORM)] + many + [("Authorization", "Bearer " + tok1)])
    tx1 = Tx(c1, "GET", "/api/v2.0/me/events", host, req1, response(t, 200, '{"value":[]}'), 200,
             ua=UA_STORM)
    c2 = new_conn("10.60.20.14", 52004, "203.0.113.22")
    req2 = raw_request("GET", "/api/v2.0/me/contacts", host,
                       [("User-Agent", UA_STORM)] + many[:80] + [("Authorization", "Bearer " + tok2)])
    tx2 = Tx(c2, "GET", "/api/v2.0/me/contacts", host, req2, response(t, 200, '{"value":[]}'),
             200, ua=UA_STORM)
    run(c1, [tx1])
    run(c2, [tx2])
    capture(case, [c1, c2], t)
    place(case, tx1, tok1, "authorization", ["key_issuer_mismatch"], dict(STORM, **OVERSIZED))
    place(case, tx2, tok2, "authorization", ["key_issuer_mismatch"], STORM)
    case.expect({"event_type": "alert", "token.sha256": T.sha256_hex(tok2)}, count=1,
                absent=["http.head_oversized"])
    totals(case, 2, 2, tokenwatch__http__head_overflow=1)
    case.write()


def case_head_big_jwt(t):
    case = new_case("evasion_head_big_jwt", "A 100 KB forged JWT (a large claim, one signature bit "
                    "flipped) in Authorization, answered 200: the head is over http-max-head, the "
                    "token is kept whole, judged (signature_invalid) and alerted with http.status "
                    "200.")
    host, ua = "graph.example.com", "python-requests/2.31.0"
    tok = forged(t, "big-jwt", groups=["g-%06d" % i for i in range(7500)])
    assert 95000 < len(tok) < 140000, len(tok)
    c = new_conn("10.60.20.15", 52005, "203.0.113.23")
    req = raw_request("GET", "/v1.0/me/memberOf", host,
                      [("User-Agent", ua), ("Authorization", "Bearer " + tok)])
    tx = Tx(c, "GET", "/v1.0/me/memberOf", host, req, response(t, 200, '{"value":[]}'), 200, ua=ua)
    run(c, [tx])
    capture(case, [c], t)
    place(case, tx, tok, "authorization", ["signature_invalid"], dict(FORGED, **OVERSIZED))
    totals(case, 1, 1, tokenwatch__http__head_overflow=1)
    case.write()


def case_stacked_coding(t):
    case = new_case("evasion_stacked_coding", "Stacked content codings decoded layer by layer as "
                    "the server would: an on-behalf-of token request whose form body is coded "
                    "\"gzip, gzip\" (assertion: Storm pattern, alert, accepted), answered by a JSON "
                    "token response coded \"deflate, gzip\" holding an access_token.")
    assertion = storm(t, "stacked")
    issued = tok_valid_org(t, "org-2", aud="https://graph.example.com", sub="stacked-issued")
    c = new_conn("10.60.20.16", 52006, "203.0.113.60")
    url = "/%s/oauth2/v2.0/token" % T.ENTERPRISE_TID
    host = "login.microsoftonline.com"
    form = ("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer&client_id=%s"
            "&assertion=%s&requested_token_use=on_behalf_of" % (APP_ID, assertion)).encode()
    body = gzip.compress(gzip.compress(form, mtime=0), mtime=0)
    req = raw_request("POST", url, host, [("User-Agent", UA_STORM),
                                          ("Content-Type", "application/x-www-form-urlencoded"),
                                          ("Content-Encoding", "gzip, gzip")], body)
    obo = json.dumps({"token_type": "Bearer", "expires_in": 3599, "access_token": issued}).encode()
    rbody = gzip.compress(zlib.compress(obo, 9), mtime=0)  # deflate first, then gzip
    resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
            b"Content-Encoding: deflate, gzip\r\nContent-Length: %d\r\n\r\n" % len(rbody)) + rbody
    tx = Tx(c, "POST", url, host, req, resp, 200, ua=UA_STORM)
    run(c, [tx])
    capture(case, [c], t)
    place(case, tx, assertion, "body", ["key_issuer_mismatch"], STORM)
    place(case, tx, issued, "response_body", [], {"token.signature": "valid", "token.type": "jwt"})
    totals(case, 2, 1)
    case.write()


def make_all():
    cases = [case_head_padding, case_head_line, case_head_fields, case_head_big_jwt,
             case_stacked_coding]
    for i, fn in enumerate(cases):
        fn(T_BASE + i * 60)


if __name__ == "__main__":
    import make_captures         # one module instance, as make_captures.main() uses
    make_all()
    for p, n in make_captures.WRITTEN:
        print("%7d  %s" % (n, p))
