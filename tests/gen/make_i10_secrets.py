#!/usr/bin/python3
"""make_i10_secrets.py — issue 10, secrets in the logs: one capture whose requests carry every
kind of credential the sensor must never log (tests/e2e/secrets_in_logs, with http, keyset, flow
and anomaly records on):

  * an absolute-form request target with userinfo, a ;jsessionid path parameter and
    refresh_token / client_secret / password / code query parameters (and an ordinary page=2 and
    state that must stay), a User-Agent holding a JWT, a Referer-style fragment
    (#id_token=..&access_token=..);
  * SAMLResponse, S3 presigned (X-Amz-Signature, X-Amz-Security-Token), Azure SAS (sig) and
    API key parameters, percent-encoded names;
  * a Host header with userinfo, a response Content-Type holding a JWT;
  * a token whose `sub` claim is itself a JWT (token.sub must be [jwt]);
  * an OpenID discovery document whose jwks_uri has userinfo and an api_key, served at a URL with
    ;jsessionid, and a JWKS whose kid is a JWT (keyset.kids must not hold it).

Every secret value is in the case's `secrets`, so run_case.py fails if any appears in eve.json,
stderr or stdout. A second case (secrets_in_logs_raw) runs the capture with raw-tokens: yes:
token.raw appears, every other field stays redacted. Called by make_captures.main(); run alone from the project root:
/usr/bin/python3 tests/gen/make_i10_secrets.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tokens as T  # noqa: E402
from make_captures import K, TEST_DIR, Case, tok_valid_org  # noqa: E402
from make_places import T_BASE, Tx, capture, idp_token, new_conn, request, response, run  # noqa: E402

NAME = "secrets_in_logs"
PCAP = TEST_DIR + "/%s.pcap" % NAME
ARGS = ["--set", "outputs.eve.types=[alert, token, http, stats, keyset, flow, anomaly]"]
UA = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/115.0"


def make_all():
    t = T_BASE + 40 * 60
    case = Case(NAME, "Issue 10: credentials in URLs (userinfo, ;jsessionid, OAuth/OIDC, SAML, "
                "S3/SAS signature and API key parameters, percent-encoded names, fragments), in "
                "User-Agent, Host and Content-Type, in a token claim and in observed key set "
                "documents are redacted in every record; ordinary parameters stay.", [PCAP],
                args=ARGS)
    bearer = tok_valid_org(t, sub="secrets-bearer")
    ua_jwt = tok_valid_org(t, sub="in-user-agent")
    frag_jwt = tok_valid_org(t, sub="in-fragment")
    ct_jwt = tok_valid_org(t, sub="in-content-type")
    inner = tok_valid_org(t, sub="inner-credential")
    nested = idp_token(t, sub=inner)
    kid_jwt = tok_valid_org(t, sub="kid-shaped")
    s = {
        "userinfo": "S3cretPassw0rd-userinfo", "jsession": "JSESS-0123456789ABCDEF",
        "refresh": "RT-opaque-7f3c9a1b2d", "csecret": "CS-9b8a7f6e5d4c", "password": "PW-hunter2-xyz",
        "code": "AUTHCODE-5e6f7a8b9c", "saml": "PHNhbWxwOlJlc3BvbnNlIElEPSJfc2VjcmV0Ij4",
        "amzsig": "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
        "amztok": "FQoGZXIvYXdzEXAMPLEsessiontoken", "sassig": "SAS-sig-r3l4x%2Bq9w%3D",
        "apikey": "AIzaSyEXAMPLE-apikey-0042", "hostpw": "HostPassw0rd-9911",
        "hostuser": "hostuser-bob", "ksess": "KS-SESSION-abc123", "jwkspw": "JwksPassw0rd-77",
        "jwkskey": "JWKS-APIKEY-4242",
    }
    host = "api.example.com"
    c1 = new_conn("10.60.40.11", 51401, "203.0.113.140")
    u1 = ("http://alice:%s@api.example.com/v1/items;jsessionid=%s.node7?page=2&refresh_token=%s"
          "&client_secret=%s&password=%s&state=st-keep-1" % (s["userinfo"], s["jsession"], s["refresh"],
                                                            s["csecret"], s["password"]))
    e1 = ("http://[redacted]@api.example.com/v1/items;jsessionid=[redacted]?page=2"
          "&refresh_token=[redacted]&client_secret=[redacted]&password=[redacted]&state=st-keep-1")
    ua1 = UA + " sso-helper/" + ua_jwt
    tx1 = Tx(c1, "GET", u1, host, request("GET", u1, host, [("Authorization", "Bearer " + bearer)], ua=ua1),
             response(t, 200, '{"value":[]}'), 200, ua=UA + " sso-helper/[jwt]", url_in_eve=e1)
    u2 = "/oauth2/callback?code=%s&state=xyz#id_token=%s&access_token=opaque-frag-0001" % (s["code"], frag_jwt)
    e2 = "/oauth2/callback?code=[redacted]&state=xyz#id_token=[redacted]&access_token=[redacted]"
    tx2 = Tx(c1, "GET", u2, host, request("GET", u2, host, ua=UA), response(t, 200, '{"ok":1}'), 200,
             ua=UA, url_in_eve=e2)
    u3 = ("/saml/acs?SAMLResponse=%s&RelayState=rs-keep&X-Amz-Credential=AKIDEXAMPLE%%2F20230601"
          "&X-Amz-Signature=%s&x-amz-security-token=%s&sig=%s&api%%5Fkey=%s&sp=r"
          % (s["saml"], s["amzsig"], s["amztok"], s["sassig"], s["apikey"]))
    e3 = ("/saml/acs?SAMLResponse=[redacted]&RelayState=rs-keep&X-Amz-Credential=AKIDEXAMPLE%2F20230601"
          "&X-Amz-Signature=[redacted]&x-amz-security-token=[redacted]&sig=[redacted]"
          "&api%5Fkey=[redacted]&sp=r")
    tx3 = Tx(c1, "POST", u3, host, request("POST", u3, host, ua=UA, body="x=1",
                                          ctype="application/x-www-form-urlencoded"),
             response(t, 200, '{"ok":2}', ctype="application/json; profile=" + ct_jwt), 200,
             ua=UA, url_in_eve=e3)
    run(c1, [tx1, tx2, tx3])

    c2 = new_conn("10.60.40.12", 51402, "203.0.113.141")
    raw_host = "%s:%s@files.example.com:8080" % (s["hostuser"], s["hostpw"])
    tx4 = Tx(c2, "GET", "/v1/me", "files.example.com",
             request("GET", "/v1/me", raw_host, [("Authorization", "Bearer " + nested)], ua=UA),
             response(t, 200, '{"id":"1"}'), 200, ua=UA)
    run(c2, [tx4])

    c3 = new_conn("10.60.40.13", 51403, "203.0.113.142")
    idp = "idp.example.org"
    disc_url = "/.well-known/openid-configuration;jsessionid=%s" % s["ksess"]
    disc = json.dumps({"issuer": "https://idp.example.org",
                       "jwks_uri": "https://svc:%s@idp.example.org/keys?api_key=%s" % (s["jwkspw"], s["jwkskey"])})
    jwk = dict(K["org-1"].jwk, kid=kid_jwt)
    jwks = json.dumps({"keys": [jwk]})
    tx5 = Tx(c3, "GET", disc_url, idp, request("GET", disc_url, idp, ua=UA), response(t, 200, disc), 200,
             ua=UA, url_in_eve="/.well-known/openid-configuration;jsessionid=[redacted]")
    tx6 = Tx(c3, "GET", "/keys", idp, request("GET", "/keys", idp, ua=UA), response(t, 200, jwks), 200, ua=UA)
    run(c3, [tx5, tx6])
    capture(case, [c1, c2, c3], t)

    def http(tx, **extra):
        m = {"event_type": "http"}
        m.update(tx.flow_match())
        m.update(tx.http_match())
        m.update(extra)
        return m
    case.expect(http(tx1), count=1)
    case.expect(http(tx2), count=1)
    case.expect(http(tx3, **{"http.http_content_type": "application/json; profile=[jwt]"}), count=1)
    case.expect(http(tx4), count=1)
    case.expect(http(tx5), count=1)
    case.expect(http(tx6), count=1)
    # the token records carry the same redacted http object
    case.expect({"event_type": "token", "token.sha256": T.sha256_hex(bearer), "http.url": e1,
                 "http.http_user_agent": tx1.ua}, count=1)
    case.expect({"event_type": "token", "token.sha256": T.sha256_hex(nested), "token.sub": "[jwt]",
                 "http.hostname": "files.example.com"}, count=1)
    case.expect({"event_type": "keyset", "keyset.kind": "openid-configuration",
                 "keyset.issuer": "https://idp.example.org",
                 "keyset.jwks_uri": "https://[redacted]@idp.example.org/keys?api_key=[redacted]",
                 "http.url": tx5.url_in_eve}, count=1)
    case.expect({"event_type": "keyset", "keyset.kind": "jwks", "keyset.kids": ["[jwt]"]}, count=1)
    case.expect({"event_type": "flow"}, count=3)
    case.secret(bearer, ua_jwt, frag_jwt, ct_jwt, inner, nested, kid_jwt, "opaque-frag-0001", *s.values())
    case.write()

    # raw-tokens: yes adds token.raw and nothing else: every other field stays redacted.
    raw = Case(NAME + "_raw", "The same capture with outputs.eve.raw-tokens=yes: token.raw is "
               "written, but http.url, http.http_user_agent, token.sub and keyset.jwks_uri stay "
               "redacted.", [PCAP], args=ARGS + ["--set", "outputs.eve.raw-tokens=yes"], allow_raw=True)
    raw.expect(http(tx1), count=1)
    raw.expect(http(tx2), count=1)
    raw.expect({"event_type": "token", "token.sha256": T.sha256_hex(bearer), "token.raw": bearer,
                "http.url": e1, "http.http_user_agent": tx1.ua}, count=1)
    raw.expect({"event_type": "token", "token.sha256": T.sha256_hex(nested), "token.raw": nested,
                "token.sub": "[jwt]"}, count=1)
    raw.expect({"event_type": "keyset", "keyset.kind": "openid-configuration",
                "keyset.jwks_uri": "https://[redacted]@idp.example.org/keys?api_key=[redacted]"}, count=1)
    raw.write()


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    make_all()
