#!/usr/bin/python3
"""make_verdict.py — the verdict-engine cases of issue 5 on the wire: a key named only by
x5t#S256 (RFC 7515 §4.1.8), nested JWTs (RFC 7519 §5.2) judged on the inner token, an
unencoded-payload JWS (RFC 7797 b64:false) that is a JWS but not a JWT, and per-keyset audience
and token-type expectations (keysets[].audiences / token-types, given with --set).

One capture per case (pcaps/tests/verdict_*.pcap, tests/e2e/verdict_*/case.json), signed with the
TEST-ONLY demo keys. Expectations follow SPEC §4 and sensor/trust/policy.c's header comment: findings
in table order, a severity-1 alert on a request the server answered 2xx says ", accepted by the
server". Deterministic (RSA PKCS#1 v1.5 only). Called by make_captures.main(); run alone from
the project root: /usr/bin/python3 tests/gen/make_verdict.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pcapgen as P  # noqa: E402
import tokens as T  # noqa: E402
from make_captures import K, TEST_DIR, Case  # noqa: E402
from make_places import Tx, capture, new_conn, request, response, run, totals  # noqa: E402

T_VERDICT = P.T0 + 21600
ENT_ISS = T.v2_issuer(T.ENTERPRISE_TID)
CONS_ISS = T.v2_issuer(T.CONSUMER_TID)
GRAPH = "graph.example.com"

# SPEC §4 plus issue 5's findings, in sensor/trust/policy.c's order (the order EVE lists them):
# code -> (signature_id, severity, signature text).
FINDINGS = {
    "key_revoked": (9100001, 1, "TOKENWATCH token signed by a revoked key"),
    "key_issuer_mismatch": (9100002, 1, "TOKENWATCH token signed by a key outside its issuer scope"),
    "signature_invalid": (9100003, 1, "TOKENWATCH token signature does not verify (forged or tampered)"),
    "alg_none": (9100004, 1, "TOKENWATCH unsigned token (alg none)"),
    "alg_mismatch": (9100005, 1, "TOKENWATCH token algorithm does not fit its key or the policy"),
    "embedded_key": (9100006, 1, "TOKENWATCH token header carries its own key (jwk/jku/x5u/x5c)"),
    "tenant_mismatch": (9100007, 1, "TOKENWATCH token tenant differs from its issuer's tenant"),
    "key_expired": (9100008, 2, "TOKENWATCH token signed by a key outside its validity window"),
    "key_unknown": (9100009, 2, "TOKENWATCH token names a key its trusted issuer does not publish"),
    "token_not_yet_valid": (9100010, 2, "TOKENWATCH token not yet valid"),
    "lifetime_excessive": (9100011, 2, "TOKENWATCH token lifetime exceeds policy"),
    "token_replay": (9100015, 2, "TOKENWATCH token replayed from several client addresses"),
    "audience_mismatch": (9100016, 2, "TOKENWATCH token audience outside its keyset's audiences"),
    "type_mismatch": (9100017, 2, "TOKENWATCH token type (typ) outside its keyset's token types"),
    "issuer_untrusted": (9100012, 3, "TOKENWATCH token from an untrusted issuer"),
    "token_expired": (9100013, 3, "TOKENWATCH expired token presented"),
    "malformed": (9100014, 3, "TOKENWATCH malformed token"),
}
ORDER = list(FINDINGS)
ACCEPTED = ", accepted by the server"


def expect_token(case, tx, tok, findings=(), extra=None):
    """The token record of `tok` (Authorization header of tx) and its alert when it has
    findings; the raw token is a secret."""
    findings = list(findings)
    assert findings == sorted(findings, key=ORDER.index), findings
    m = {"token.sha256": T.sha256_hex(tok), "token.location": "authorization",
         "token.findings": findings, "token.type": "jwt", "token.accepted": tx.accepted}
    m.update(tx.flow_match())
    m.update(tx.http_match())
    m.update(extra or {})
    case.expect(dict(m, event_type="token"), count=1)
    if findings:
        sid, sev, sig = FINDINGS[findings[0]]
        if sev == 1 and tx.accepted:
            sig += ACCEPTED
        case.expect(dict(m, **{"event_type": "alert", "alert.signature_id": sid,
                               "alert.severity": sev, "alert.signature": sig}), count=1)
    case.secret(tok)


def one_case(name, description, items, t, client, args=()):
    """items: (token, status, findings, extra match); each token on its own connection."""
    case = Case(name, description, [TEST_DIR + "/%s.pcap" % name], args=args)
    conns, alerts, per_finding = [], 0, {}
    for i, (tok, status, findings, extra) in enumerate(items):
        c = new_conn(client, 52300 + i, "203.0.113.90")
        url = "/v1.0/me/messages?$top=%d" % (i + 1)
        body = b'{"value":[]}' if status == 200 else b'{"error":"invalid_token"}'
        req = request("GET", url, GRAPH, [("Authorization", "Bearer " + tok)])
        tx = Tx(c, "GET", url, GRAPH, req, response(t, status, body), status)
        run(c, [tx])
        conns.append(c)
        expect_token(case, tx, tok, findings, extra)
        if findings:
            alerts += 1
        for f in findings:  # stats.alerts.<code> counts every finding of every alert
            per_finding[f] = per_finding.get(f, 0) + 1
    capture(case, conns, t)
    totals(case, len(items), alerts, **{"alerts__" + k: v for k, v in per_finding.items()})
    case.write()


def case_x5t256(t):
    org, cons = K["org-1"], K["consumers-1"]
    valid = T.jws({"typ": "JWT", "alg": "RS256", "x5t#S256": T.x5t256(org)},
                  T.entra_claims(t, T.ENTERPRISE_TID), org)
    storm = T.jws({"typ": "JWT", "alg": "RS256", "x5t#S256": T.x5t256(cons)},
                  T.entra_claims(t, T.ENTERPRISE_TID), cons)
    one_case("verdict_x5t256",
             "Tokens naming their key only by x5t#S256 (no kid, no x5t): the organizations key is "
             "found and verifies (no alert); the consumer key found that way still cannot sign for "
             "an enterprise tenant (key_issuer_mismatch).",
             [(valid, 200, [], {"token.signature": "valid", "token.keyset": "demo-organizations",
                                "token.key_issuer": ENT_ISS}),
              (storm, 200, ["key_issuer_mismatch"],
               {"token.signature": "valid", "token.keyset": "demo-consumers",
                "token.key_issuer": CONS_ISS, "token.iss": ENT_ISS})],
             t, "10.70.1.11")


def case_nested(t):
    org, org2, cons = K["org-1"], K["org-2"], K["consumers-1"]
    claims = T.entra_claims(t, T.ENTERPRISE_TID)
    outer = {"typ": "JWT", "alg": "RS256", "cty": "JWT", "kid": org2.kid}
    inner = T.jws(T.header("RS256", org), claims, org)
    forged_inner = T.jws(T.header("RS256", org), claims, K["attacker"])
    storm_inner = T.jws(T.header("RS256", cons), claims, cons)
    one_case("verdict_nested",
             "Nested JWTs (cty JWT): the outer JWS (organizations key 2, valid) wraps an inner "
             "token whose claims, key and keyset the verdict reports. A valid inner: no alert; an "
             "inner forged with the organizations key's kid: signature_invalid; an inner signed "
             "by the consumer key for an enterprise tenant: key_issuer_mismatch.",
             [(T.nested(outer, inner, org2), 200, [],
               {"token.signature": "valid", "token.kid": org.kid, "token.iss": ENT_ISS,
                "token.keyset": "demo-organizations"}),
              (T.nested(outer, forged_inner, org2), 401, ["signature_invalid"],
               {"token.signature": "invalid", "token.kid": org.kid, "token.iss": ENT_ISS}),
              (T.nested(outer, storm_inner, org2), 200, ["key_issuer_mismatch"],
               {"token.signature": "valid", "token.kid": cons.kid, "token.keyset": "demo-consumers",
                "token.key_issuer": CONS_ISS})],
             t, "10.70.1.12")


def case_b64_false(t):
    org = K["org-1"]
    hdr = {"typ": "JWT", "alg": "RS256", "kid": org.kid, "b64": False, "crit": ["b64"]}
    unencoded = T.jws_unencoded(hdr, b"not_a_claims_set-sent_as_is_0123456789", org)
    tampered = unencoded.replace("sent_as_is", "sent_as_IS")
    hdr_nocrit = {"typ": "JWT", "alg": "RS256", "kid": org.kid, "b64": False}
    nocrit = T.jws_unencoded(hdr_nocrit, b"no_crit_so_not_understood", org)
    one_case("verdict_b64_false",
             "JWS with an unencoded payload (RFC 7797 b64:false, crit [b64]): the key and the "
             "signature over the text as sent are checked, but it is no JWT claims set: malformed "
             "(signature valid; a tampered payload also signature_invalid). b64:false without crit "
             "is not understood: malformed, signature not checked. Never a crash, never the raw "
             "token in the log.",
             [(unencoded, 401, ["malformed"],
               {"token.signature": "valid", "token.kid": org.kid,
                "token.keyset": "demo-organizations"}),
              (tampered, 401, ["signature_invalid", "malformed"], {"token.signature": "invalid"}),
              (nocrit, 401, ["malformed"], {"token.signature": "not_checked", "token.kid": org.kid})],
             t, "10.70.1.13")


def keysets_set(org_audiences, org_types):
    """--set keysets=[...]: the demo organizations key set with expectations, and the consumers
    one without (the only two this case needs)."""
    def flow(xs):
        return "[" + ", ".join('"%s"' % x for x in xs) + "]"
    org = ('{name: demo-organizations, jwks: etc/demo/keys/demo-organizations.jwks.json, issuers: '
           '["https://login.microsoftonline.com/{tenantid}/v2.0", '
           '"https://sts.windows.net/{tenantid}/"], audiences: %s, token-types: %s}'
           % (flow(org_audiences), flow(org_types)))
    cons = ('{name: demo-consumers, jwks: etc/demo/keys/demo-consumers.jwks.json, issuers: ["%s"]}'
            % CONS_ISS)
    return ["--set", "keysets=[%s, %s]" % (org, cons)]


def case_audience_type(t):
    org, cons = K["org-1"], K["consumers-1"]

    def tok(typ, aud, key=org, tid=T.ENTERPRISE_TID):
        h = T.header("RS256", key, typ=typ) if typ else {"alg": "RS256", "kid": key.kid}
        return T.jws(h, T.entra_claims(t, tid, aud=aud), key)
    both = ["https://other.example.com", "https://graph.example.com"]
    one_case("verdict_audience_type",
             "keysets[].audiences and token-types (set with --set): the organizations keyset "
             "expects aud https://graph.example.com and typ at+jwt. Any aud value may match (here "
             "the second); typ compares case-insensitively without \"application/\". A foreign "
             "aud: audience_mismatch; typ JWT or none: type_mismatch. The consumers keyset has no "
             "expectations.",
             [(tok("at+jwt", both), 200, [], {"token.signature": "valid", "token.aud": both[0]}),
              (tok("application/AT+JWT", "https://graph.example.com"), 200, [],
               {"token.typ": "application/AT+JWT"}),
              (tok("at+jwt", "https://outlook.example.com"), 200, ["audience_mismatch"],
               {"token.aud": "https://outlook.example.com"}),
              (tok("JWT", "https://graph.example.com"), 200, ["type_mismatch"],
               {"token.typ": "JWT"}),
              (tok(None, "https://outlook.example.com"), 200,
               ["audience_mismatch", "type_mismatch"], {}),
              (tok("JWT", "https://outlook.example.com", cons, T.CONSUMER_TID), 200, [],
               {"token.keyset": "demo-consumers"})],
             t, "10.70.1.14", args=keysets_set(["https://graph.example.com"], ["at+jwt"]))


def make_all():
    case_x5t256(T_VERDICT)
    case_nested(T_VERDICT + 60)
    case_b64_false(T_VERDICT + 120)
    case_audience_type(T_VERDICT + 180)


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    make_all()
