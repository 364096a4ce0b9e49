#!/usr/bin/python3
"""make_captures.py — writes the demo and test captures and the end-to-end test cases.

  pcaps/demo/*.pcap          the `make demo` traffic: ordinary token use plus a Storm-0558 replay
  pcaps/tests/*.pcap[ng]     one capture per e2e case (pcaps/tests/pcapdir/ for the -r DIR case)
  tests/e2e/<case>/case.json expectations over eve.json (format: tests/e2e/README.md)

Every expectation is derived from SPEC §4 for the token that was put on the wire; the findings
lists are in the order of SPEC §4's table. Deterministic: re-running gives identical files.
Needs the TEST-ONLY keys (tests/gen/make_keys.py). Run: /usr/bin/python3 tests/gen/make_captures.py
"""
import base64
import hashlib
import ipaddress
import json
import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as P          # noqa: E402
import tokens as T           # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO_DIR, TEST_DIR, E2E_DIR = "pcaps/demo", "pcaps/tests", "tests/e2e"
CONFIG = "etc/demo/tokenwatch.yaml"

# SPEC §4: code -> (signature_id, severity), in table order.
FINDINGS = {
    "key_revoked": (9100001, 1), "key_issuer_mismatch": (9100002, 1),
    "signature_invalid": (9100003, 1), "alg_none": (9100004, 1), "alg_mismatch": (9100005, 1),
    "embedded_key": (9100006, 1), "tenant_mismatch": (9100007, 1), "key_expired": (9100008, 2),
    "key_unknown": (9100009, 2), "token_not_yet_valid": (9100010, 2),
    "lifetime_excessive": (9100011, 2), "issuer_untrusted": (9100012, 3),
    "token_expired": (9100013, 3), "malformed": (9100014, 3),
}
ORDER = list(FINDINGS)

UA_EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/113.0.0.0 Safari/537.36 Edg/113.0.1774.57")
UA_OUTLOOK = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.16327; Pro)"
UA_PY = "python-requests/2.31.0"
UA_STORM = "Client=REST;Client=RESTSystem;;"

K = T.keys()
ENT_ISS = T.v2_issuer(T.ENTERPRISE_TID)
CONS_ISS = T.v2_issuer(T.CONSUMER_TID)


def community_id(saddr, daddr, sport, dport, proto=6, seed=0):
    """Community ID v1 (corelight/community-id-spec)."""
    a, b = ipaddress.ip_address(saddr).packed, ipaddress.ip_address(daddr).packed
    if (a, sport) > (b, dport):
        a, b, sport, dport = b, a, dport, sport
    data = struct.pack("!H", seed) + a + b + struct.pack("!BBHH", proto, 0, sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


# --- requests on connections ------------------------------------------------------------------

class Req:
    """One HTTP request that carries a token, with what EVE must say about it."""

    def __init__(self, conn, token, method="GET", url="/v1.0/me", host="graph.example.com",
                 ua=UA_EDGE, status=200, auth=None, extra_headers=(), body=None, chunked=False):
        self.conn, self.token, self.method, self.url = conn, token, method, url
        self.host, self.ua, self.status = host, ua, status
        hdrs = [("Authorization", auth if auth is not None else "Bearer " + token),
                ("User-Agent", ua), ("Accept", "application/json"),
                ("client-request-id", hashlib.md5(token.encode()).hexdigest()[:8] + "-4f2a-4c1e-9d3b-"
                 + hashlib.md5(url.encode()).hexdigest()[:12])]
        hdrs += list(extra_headers)
        self.raw = P.http_request(method, url, host, hdrs, body=body, chunked=chunked)

    def response_bytes(self):
        if self.status == 200:
            body = '{"@odata.context":"https://%s/v1.0/$metadata","value":[]}' % self.host
            return P.http_response(200, body)
        hdrs = ()
        if self.status == 401:
            hdrs = [("WWW-Authenticate", 'Bearer realm="", error="invalid_token"')]
        body = '{"error":{"code":"%s","message":"Access denied."}}' % (
            "InvalidAuthenticationToken" if self.status == 401 else "ErrorAccessDenied")
        return P.http_response(self.status, body, headers=hdrs)

    def http_match(self, with_status=True):
        m = {"http.hostname": self.host, "http.url": self.url, "http.http_method": self.method,
             "http.protocol": "HTTP/1.1", "http.http_user_agent": self.ua}
        if with_status and self.status is not None:
            m["http.status"] = self.status
        return m

    def flow_match(self):
        c = self.conn
        return {"src_ip": c.client, "src_port": c.cport, "dest_ip": c.server,
                "dest_port": c.sport, "proto": "TCP", "app_proto": "http"}


def simple_conn(req_fn, client, cport, server="203.0.113.80", sport=80, mss=1460, **kw):
    """A whole connection: handshake, one request/response, FIN. req_fn(conn) -> Req."""
    c = P.TcpConn(client, cport, server, sport, isn_c=(cport * 7919) & 0xffffffff,
                  isn_s=(cport * 104729) & 0xffffffff, mss=mss, **kw)
    c.handshake()
    r = req_fn(c)
    c.request(r.raw)
    if r.status is not None:
        c.response(r.response_bytes())
    c.close()
    return c, r


# --- cases --------------------------------------------------------------------------------------

class Case:
    def __init__(self, name, description, pcaps, exit_code=0, args=(), stderr_contains=None,
                 allow_raw=False):
        self.name, self.description, self.pcaps = name, description, list(pcaps)
        self.exit, self.args, self.stderr_contains = exit_code, list(args), stderr_contains
        self.allow_raw = allow_raw
        self.checks, self.secrets = [], []

    def expect(self, match, count=None, min_count=None, absent=None):
        c = {"count": count} if count is not None else {"min_count": min_count}
        c["match"] = match
        if absent:
            c["absent"] = absent
        self.checks.append(c)

    def secret(self, *toks):
        for t in toks:
            if t not in self.secrets:
                self.secrets.append(t)

    def alert(self, req, findings, extra=None, with_status=True, absent=None):
        sid, sev = FINDINGS[findings[0]]
        assert findings == sorted(findings, key=ORDER.index), findings
        m = {"event_type": "alert", "token.sha256": T.sha256_hex(req.token),
             "token.findings": findings, "alert.signature_id": sid, "alert.severity": sev}
        m.update(req.flow_match())
        m.update(req.http_match(with_status))
        m.update(extra or {})
        self.expect(m, count=1, absent=absent)
        self.secret(req.token)

    def token(self, req, extra=None, with_status=True, count=1):
        m = {"event_type": "token", "token.sha256": T.sha256_hex(req.token),
             "token.location": "authorization"}
        m.update(req.flow_match())
        m.update(req.http_match(with_status))
        m.update(extra or {})
        self.expect(m, count=count)
        self.secret(req.token)

    def write(self):
        d = os.path.join(ROOT, E2E_DIR, self.name)
        os.makedirs(d, exist_ok=True)
        doc = {"description": self.description, "pcap": self.pcaps, "config": CONFIG,
               "args": self.args, "exit": self.exit}
        if self.stderr_contains:
            doc["stderr_contains"] = self.stderr_contains
        if self.allow_raw:
            doc["allow_raw"] = True
        doc["checks"] = self.checks
        doc["secrets"] = self.secrets
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


WRITTEN = []


def write_capture(cap, relpath, fmt="pcap", cut=0):
    path = os.path.join(ROOT, relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    n = cap.write(path, fmt, cut)
    WRITTEN.append((relpath, n))
    return relpath


# --- tokens used across cases -----------------------------------------------------------------

def tok_valid_org(t, key="org-1", **kw):
    return T.jws(T.header("RS256", K[key]), T.entra_claims(t, T.ENTERPRISE_TID, **kw), K[key])


def tok_storm_style(t, **kw):
    """The Storm-0558 pattern: a consumer key signing an enterprise-tenant token."""
    kw.setdefault("aud", "https://outlook.example.com")
    kw.setdefault("scp", "Mail.ReadWrite Mail.Send")
    kw.setdefault("name", "Adele Vance")
    kw.setdefault("upn", "adelev@contoso.example")
    return T.jws(T.header("RS256", K["consumers-1"]), T.entra_claims(t, T.ENTERPRISE_TID, **kw),
                 K["consumers-1"])


def tok_storm_kid(t, iss_tid=T.ENTERPRISE_TID, use_x5t=False):
    """Names the real Storm-0558 key (kid, or x5t only); signed by the attacker's key."""
    h = T.header("RS256", x5t=T.STORM_KID) if use_x5t else T.header("RS256", kid=T.STORM_KID,
                                                                     x5t=T.STORM_KID)
    return T.jws(h, T.entra_claims(t, iss_tid, aud="https://outlook.example.com"), K["attacker"])


def tok_alg_none(t, alg="none"):
    return T.jws(T.header(alg, K["org-1"]), T.entra_claims(t, T.ENTERPRISE_TID), None, alg="none")


STORM_MATCH = {"token.keyset": "demo-consumers", "token.signature": "valid",
               "token.key_issuer": CONS_ISS, "token.iss": ENT_ISS, "token.tid": T.ENTERPRISE_TID,
               "token.kid": K["consumers-1"].kid, "token.alg": "RS256", "token.type": "jwt"}


def storm_alert(case, req, with_status=True, extra=None, absent=None):
    m = dict(STORM_MATCH)
    m.update(extra or {})
    case.alert(req, ["key_issuer_mismatch"], m, with_status, absent)


# --- the demo -----------------------------------------------------------------------------------

def make_demo():
    case = Case("demo", "The demo traffic of `make demo`: ordinary Entra/IdP token use passes "
                "silently; the Storm-0558 replay raises key_issuer_mismatch, key_revoked, "
                "signature_invalid and alg_none alerts.", [DEMO_DIR])
    # 1: ordinary office traffic.
    cap = P.Capture()
    link = P.Link()
    t = P.T0
    valid = []
    ordinary = [
        ("10.10.1.21", lambda c: Req(c, tok_valid_org(t, "org-1"), url="/v1.0/me/messages?$top=10")),
        ("10.10.1.22", lambda c: Req(c, tok_valid_org(t, "org-2", aud="https://outlook.example.com",
                                                      name="Alex Wilber", upn="alexw@contoso.example"),
                                     url="/api/v2.0/me/mailfolders/inbox/messages", host="outlook.example.com",
                                     ua=UA_OUTLOOK)),
        ("10.10.1.23", lambda c: Req(c, T.jws(T.header("RS256", K["consumers-1"]),
                                              T.entra_claims(t, T.CONSUMER_TID, aud="https://outlook.example.com",
                                                             name="Pat Doe", upn="pat@outlook.example"),
                                              K["consumers-1"]),
                                     url="/api/v2.0/me/calendar", host="outlook.example.com", ua=UA_OUTLOOK)),
        ("10.10.1.31", lambda c: Req(c, T.jws(T.header("ES256", K["idp-es256"]), T.idp_claims(t), K["idp-es256"]),
                                     url="/api/orders?page=2", host="portal.example.com")),
        ("10.10.1.32", lambda c: Req(c, T.jws(T.header("PS256", K["idp-ps256"]), T.idp_claims(t, sub="svc-billing"),
                                              K["idp-ps256"]),
                                     method="POST", url="/api/invoices", host="portal.example.com", ua=UA_PY,
                                     body='{"customer":"C-1042","amount":"129.00"}')),
        ("10.10.1.33", lambda c: Req(c, T.jws(T.header("EdDSA", K["idp-ed25519"]), T.idp_claims(t, sub="user-17"),
                                              K["idp-ed25519"]),
                                     url="/api/profile", host="portal.example.com")),
    ]
    for i, (client, fn) in enumerate(ordinary):
        c, r = simple_conn(fn, client, 52100 + i * 7, server="203.0.113.10" if i < 3 else "203.0.113.20")
        cap.add_conn(c, link, t + 1 + i * 2.5)
        valid.append(r)
    # A Graph token with a nonce header (not verifiable by third parties) and an opaque token.
    nonce_tok = graph_nonce_token(t)
    c, r_nonce = simple_conn(lambda c: Req(c, nonce_tok, url="/v1.0/me/drive/root/children"),
                             "10.10.1.24", 52190)
    cap.add_conn(c, link, t + 20)
    opaque = "EwBwA8l6BAAUbDba3x2OMJElkF7gJ4z/VbCPEz0AAXA9mZ2kVbVmG1oxXk6JwT0k8tZpfUyNmq+7Pz3lQ=="
    c, r_opaque = simple_conn(lambda c: Req(c, opaque, url="/api/v2.0/me/contacts", host="outlook.example.com",
                                            ua=UA_OUTLOOK), "10.10.1.25", 52197)
    cap.add_conn(c, link, t + 23)
    write_capture(cap, DEMO_DIR + "/01-office-traffic.pcap")

    # 2: the Storm-0558 replay, from one of the published SoftEther proxy addresses.
    cap = P.Capture()
    attacker = "51.89.156.153"
    t2 = P.T0 + 600
    owa = "outlook.example.com"
    storm = [
        lambda c: Req(c, tok_storm_style(t2), url="/api/v2.0/me/mailfolders/inbox/messages?$top=100",
                      host=owa, ua=UA_STORM),
        lambda c: Req(c, tok_storm_kid(t2), url="/owa/service.svc?action=FindItem&app=Mail",
                      method="POST", host=owa, ua=UA_STORM, body='{"__type":"FindItemJsonRequest:#Exchange"}'),
        lambda c: Req(c, T.flip_signature_byte(tok_valid_org(t2, "org-2", aud="https://outlook.example.com")),
                      url="/api/v2.0/me/messages", host=owa, ua=UA_STORM, status=401),
        lambda c: Req(c, tok_alg_none(t2), url="/api/v2.0/me/messages", host=owa, ua=UA_STORM, status=401),
    ]
    reqs = []
    for i, fn in enumerate(storm):
        c, r = simple_conn(fn, attacker, 61000 + i * 11, server="203.0.113.10")
        cap.add_conn(c, link, t2 + i * 3.1)
        reqs.append(r)
    write_capture(cap, DEMO_DIR + "/02-storm-0558.pcap")

    storm_file = {"pcap_filename": DEMO_DIR + "/02-storm-0558.pcap"}
    case.expect({"event_type": "alert"}, count=4)
    storm_alert(case, reqs[0], extra=dict(storm_file, **{"http.http_user_agent": UA_STORM}))
    case.alert(reqs[1], ["key_revoked", "key_unknown"], {"token.kid": T.STORM_KID, "token.iss": ENT_ISS})
    case.alert(reqs[2], ["signature_invalid"], {"token.signature": "invalid", "token.keyset": "demo-organizations"})
    case.alert(reqs[3], ["alg_none", "alg_mismatch"], {"token.alg": "none"})
    for r in valid:
        case.token(r, {"token.signature": "valid", "token.type": "jwt",
                       "pcap_filename": DEMO_DIR + "/01-office-traffic.pcap"})
    case.token(r_nonce, {"token.signature": "unverifiable"})
    case.token(r_opaque, {"token.type": "opaque"})
    case.expect({"event_type": "token"}, count=len(valid) + 2 + len(reqs))
    case.expect({"event_type": "stats", "stats.tokens.seen": len(valid) + 2 + len(reqs)}, count=1)
    case.write()


def graph_nonce_token(t):
    """Like a Microsoft Graph token: the header carries `nonce`, the signature covers a header
    where nonce was replaced by its SHA-256, so the standard JWS check cannot succeed."""
    nonce = "bmRfVlJ3c2tqZ0Y4a3ZaR3N0UXBsM1V4Qkh1M2N6aGlHb1ZNdWh0dA"
    k = K["org-1"]
    claims = T.entra_claims(t, T.ENTERPRISE_TID, aud="00000003-0000-0000-c000-000000000000")
    hdr = T.header("RS256", k, nonce=nonce)
    signed_hdr = T.header("RS256", k, nonce=hashlib.sha256(nonce.encode()).hexdigest())
    signed = T.jws(signed_hdr, claims, k)
    sig = signed.split(".")[2]
    return "%s.%s.%s" % (T.b64u(T.compact_json(hdr)), T.b64u(T.compact_json(claims)), sig)


# --- one case per finding -------------------------------------------------------------------------

def finding_case(name, description, items, t):
    """items: list of (token, findings, extra_match, status). Each token on its own connection."""
    case = Case(name, description, [TEST_DIR + "/%s.pcap" % name])
    cap, link = P.Capture(), P.Link()
    for i, (tok, findings, extra, status) in enumerate(items):
        c, r = simple_conn(lambda c: Req(c, tok, url="/v1.0/me/messages", status=status),
                           "192.168.20.%d" % (10 + i), 50200 + i, server="198.51.100.7")
        cap.add_conn(c, link, t + i * 2)
        if findings:
            case.alert(r, findings, extra)
            case.token(r, {"token.findings": findings})
        else:
            case.token(r, extra)
    write_capture(cap, case.pcaps[0])
    n_alerts = sum(1 for it in items if it[1])
    case.expect({"event_type": "alert"}, count=n_alerts)
    primary = {}
    for it in items:
        if it[1]:
            primary[it[1][0]] = primary.get(it[1][0], 0) + 1
    stats = {"event_type": "stats", "stats.tokens.seen": len(items)}
    for code, n in primary.items():
        stats["stats.alerts." + code] = n
    case.expect(stats, count=1)
    case.write()
    return case


def make_finding_cases():
    t = P.T0 + 3600
    org = K["org-1"]
    finding_case("finding_key_revoked",
                 "Tokens naming the Storm-0558 key (by kid, and by x5t alone), signed by a key in no key "
                 "set, for trusted issuers: key_revoked, and key_unknown since no trusted key has that kid.",
                 [(tok_storm_kid(t, T.CONSUMER_TID), ["key_revoked", "key_unknown"],
                   {"token.kid": T.STORM_KID, "token.iss": CONS_ISS}, 200),
                  (tok_storm_kid(t + 1, T.ENTERPRISE_TID, use_x5t=True), ["key_revoked", "key_unknown"],
                   {"token.x5t": T.STORM_KID, "token.iss": ENT_ISS}, 200)], t)
    finding_case("finding_key_issuer_mismatch",
                 "The Storm-0558 pattern: a consumer key signing an enterprise-tenant token; and an "
                 "organizations key signing for the consumer tenant, which belongs to demo-consumers alone.",
                 [(tok_storm_style(t), ["key_issuer_mismatch"],
                   dict(STORM_MATCH, **{"alert.signature": "TOKENWATCH token signed by a key outside its issuer scope"
                                                           ", accepted by the server",
                                        "alert.category": "Attempted User Privilege Gain",
                                        "alert.action": "allowed", "alert.gid": 1, "alert.rev": 1}), 200),
                  (T.jws(T.header("RS256", org), T.entra_claims(t, T.CONSUMER_TID), org), ["key_issuer_mismatch"],
                   {"token.keyset": "demo-organizations", "token.signature": "valid", "token.iss": CONS_ISS}, 200)],
                 t)
    finding_case("finding_signature_invalid",
                 "Valid tokens (RS256 and ES256) with one signature bit flipped.",
                 [(T.flip_signature_byte(tok_valid_org(t, "org-2")), ["signature_invalid"],
                   {"token.signature": "invalid", "token.keyset": "demo-organizations"}, 401),
                  (T.flip_signature_byte(T.jws(T.header("ES256", K["idp-es256"]), T.idp_claims(t), K["idp-es256"]), 40),
                   ["signature_invalid"], {"token.signature": "invalid", "token.keyset": "demo-idp"}, 401)], t)
    finding_case("finding_alg_none",
                 "alg none (and NONE) with the kid of a trusted RSA key and an empty signature: alg_none, "
                 "and alg_mismatch since none fits no key and is not in policy.algorithms.",
                 [(tok_alg_none(t), ["alg_none", "alg_mismatch"], {"token.alg": "none"}, 401),
                  (tok_alg_none(t + 1, "NONE"), ["alg_none", "alg_mismatch"], {"token.alg": "NONE"}, 401)], t)
    pem = org.public_pem()
    confusion = T.hs256(pem, T.header("HS256", org), T.entra_claims(t, T.ENTERPRISE_TID))
    finding_case("finding_alg_mismatch",
                 "Key confusion: HS256 with the kid of a trusted RSA key, HMAC keyed with that key's PEM.",
                 [(confusion, ["alg_mismatch"], {"token.alg": "HS256", "token.kid": org.kid}, 401)], t)
    pub_jwk = {k: v for k, v in org.jwk.items() if k in ("kty", "kid", "n", "e")}
    finding_case("finding_embedded_key",
                 "Validly signed tokens whose header also carries key material (jwk; jku).",
                 [(T.jws(T.header("RS256", org, jwk=pub_jwk), T.entra_claims(t, T.ENTERPRISE_TID), org),
                   ["embedded_key"], {"token.signature": "valid"}, 200),
                  (T.jws(T.header("ES256", K["idp-es256"], jku="https://attacker.example.net/jwks.json"),
                         T.idp_claims(t), K["idp-es256"]), ["embedded_key"], {"token.signature": "valid"}, 200)], t)
    finding_case("finding_tenant_mismatch",
                 "tid differs from the tenant in iss (organizations key, valid signature). {tenantid} must "
                 "equal tid, so iss also matches no keyset template (issuer_untrusted) and the key's own "
                 "issuer with tid substituted is not iss (key_issuer_mismatch).",
                 [(T.jws(T.header("RS256", org), T.entra_claims(t, T.OTHER_TID, iss=ENT_ISS), org),
                   ["key_issuer_mismatch", "tenant_mismatch", "issuer_untrusted"],
                   {"token.tid": T.OTHER_TID, "token.iss": ENT_ISS, "token.signature": "valid"}, 200)], t)
    finding_case("finding_key_expired",
                 "A 2023 token signed by the demo key whose certificate is valid 2016-04-05..2021-04-04.",
                 [(tok_valid_org(t, "org-expired"), ["key_expired"],
                   {"token.signature": "valid", "token.kid": K["org-expired"].kid}, 200)], t)
    unknown = T.jws(T.header("RS256", kid="nOo3ZDrODXEK1jKWhXslHR_KXEg"), T.entra_claims(t, T.ENTERPRISE_TID),
                    K["attacker"])
    finding_case("finding_key_unknown", "Trusted issuer, kid in no key set.",
                 [(unknown, ["key_unknown"], {"token.kid": "nOo3ZDrODXEK1jKWhXslHR_KXEg"}, 401)], t)
    finding_case("finding_token_not_yet_valid", "iat = nbf = packet time + 1 h (skew 300 s).",
                 [(tok_valid_org(t, iat=3600), ["token_not_yet_valid"], {"token.signature": "valid"}, 401)], t)
    finding_case("finding_lifetime_excessive", "exp - iat = 2 days (max-lifetime 90000).",
                 [(tok_valid_org(t, iat=-60, lifetime=2 * 86400), ["lifetime_excessive"],
                   {"token.signature": "valid"}, 200)], t)
    untrusted = T.jws(T.header("RS256", kid="attacker-key-1"),
                      {"iss": "https://login.evil.example/", "sub": "admin", "aud": "https://graph.example.com",
                       "iat": t - 60, "nbf": t - 60, "exp": t + 3000}, K["attacker"])
    finding_case("finding_issuer_untrusted", "iss in no key set, kid in no key set.",
                 [(untrusted, ["issuer_untrusted"], {"token.iss": "https://login.evil.example/"}, 401)], t)
    finding_case("finding_token_expired", "exp = packet time - 1 h (skew 300 s).",
                 [(tok_valid_org(t, iat=-7200, lifetime=3600), ["token_expired"], {"token.signature": "valid"}, 401)],
                 t)
    bad_head = T.b64u(b'{"alg":"RS256","kid":"' + org.kid.encode() + b'",')
    malformed = bad_head + "." + tok_valid_org(t).split(".", 1)[1]
    assert malformed.startswith("eyJ")
    finding_case("finding_malformed", "Three base64url parts, header starting eyJ that is not JSON.",
                 [(malformed, ["malformed"], {}, 401)], t)


def make_token_type_cases():
    t = P.T0 + 7200
    rnd = hashlib.sha256(b"jwe").digest()
    jwe = ".".join([T.b64u(b'{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"enc-2023"}'),
                    T.b64u(rnd * 8), T.b64u(rnd[:12]), T.b64u(hashlib.sha512(b"ct").digest() * 3),
                    T.b64u(rnd[:16])])
    finding_case("token_jwe", "A JWE (five parts) is recognised as such, not an alert.",
                 [(jwe, [], {"token.type": "jwe"}, 200)], t)
    finding_case("token_opaque", "An opaque bearer token is logged as type opaque, no alert.",
                 [("EwBwA8l6BAAUbDba3x2OMJElkF7gJ4z/VbCPEz0AAXA9mZ2kVbVmG1oxXk6JwT0k8tZpfUyNmq+7Pz3lQ==", [],
                   {"token.type": "opaque"}, 200)], t)
    finding_case("token_nonce_unverifiable",
                 "A Microsoft Graph style token with a JOSE nonce header: signature unverifiable, no alert.",
                 [(graph_nonce_token(t), [], {"token.signature": "unverifiable", "token.type": "jwt"}, 200)], t)
    items = [
        (tok_valid_org(t), [], {"token.alg": "RS256", "token.keyset": "demo-organizations"}, 200),
        (T.jws(T.header("RS256", K["consumers-1"]), T.entra_claims(t, T.CONSUMER_TID), K["consumers-1"]), [],
         {"token.alg": "RS256", "token.keyset": "demo-consumers", "token.iss": CONS_ISS}, 200),
    ]
    for alg, kn in [("PS256", "idp-ps256"), ("ES256", "idp-es256"), ("ES384", "idp-es384"),
                    ("EdDSA", "idp-ed25519"), ("Ed25519", "idp-ed25519")]:
        items.append((T.jws(T.header(alg, K[kn]), T.idp_claims(t, sub="user-" + alg), K[kn]), [],
                      {"token.alg": alg, "token.keyset": "demo-idp", "token.kid": K[kn].kid}, 200))
    for it in items:
        it[2]["token.signature"] = "valid"
        it[2]["token.type"] = "jwt"
    finding_case("token_valid_algorithms",
                 "Valid tokens for RS256 (organizations and consumers), PS256, ES256, ES384, EdDSA and "
                 "Ed25519: signature valid, no alert.", items, t)


def main():
    """Regenerates every committed capture (each generator module's make_all)."""
    import make_encap
    import make_frag
    import make_hostile
    import make_ndpi
    import make_observed
    import make_places
    import make_replay
    import make_transport
    import make_verdict
    for d in (DEMO_DIR, TEST_DIR):
        shutil.rmtree(os.path.join(ROOT, d), ignore_errors=True)
    make_demo()
    make_finding_cases()
    make_token_type_cases()
    make_transport.make_all()
    make_encap.make_all()
    make_frag.make_all()
    make_ndpi.make_all()
    make_places.make_all()
    make_observed.make_all()
    make_hostile.make_all()
    make_verdict.make_all()
    make_replay.make_all()
    __import__("make_eve").make_all()
    __import__("make_i10_secrets").make_all()
    __import__("make_i10_memory").make_all()
    __import__("make_i10_evasion").make_all()
    __import__("make_i12_detect").make_all()
    __import__("make_i12_h2").make_all()
    __import__("make_i12_ws").make_all()
    __import__("make_i12_real").make_all()      # from the committed pcaps/real (recorded once)
    __import__("make_i13_verdicts").make_all()
    for p, n in WRITTEN:
        print("%7d  %s" % (n, p))


if __name__ == "__main__":
    import make_captures         # one module instance, shared with make_transport
    make_captures.main()
