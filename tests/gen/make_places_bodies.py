#!/usr/bin/python3
"""make_places_bodies.py — the e2e cases of issue 4 whose tokens travel in message bodies: the
OIDC form_post, JSON request bodies, a token endpoint's JSON response, bodies chunked and gzip /
deflate encoded, a gzip bomb, and bodies whose content type is never scanned.

A part of make_places.py, which holds the HTTP messages, the connections and the expectations
these cases are written with, and whose make_all() runs them among its own cases (in one fixed
order: each case's time depends on its position). Run all generators with
    /usr/bin/python3 tests/gen/make_captures.py
"""
import json
import os
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tokens as T  # noqa: E402
from make_captures import (UA_EDGE, UA_OUTLOOK, UA_PY, UA_STORM, tok_storm_style,  # noqa: E402
                           tok_valid_org)
from make_places import (APP_ID, STORM, UA_MSAL, UA_SPA, VALID, Tx, capture, idp_token,  # noqa: E402
                         new_case, new_conn, org_id_token, place, request, response, run, storm,
                         totals)


# --- tokens in request and response bodies --------------------------------------------------------

def signin_form(id_token, state):
    return ("code=0.AVMAv4j5cvGGr0GRqy180BHbR3iO7B_kvK9Kqxs6RRzOJ3xTAAA.AgABAAIAAAAtyolDObpQQ5VtlI4uGjEPAgDs"
            "&id_token=%s&state=%s&session_state=7c3d0f4e-2b1a-4c8d-9e6f-0a1b2c3d4e5f" % (id_token, state))


def case_form_post(t):
    case = new_case("place_form_post", "OIDC response_mode=form_post: the browser POSTs id_token to "
                    "/signin-oidc (application/x-www-form-urlencoded). A valid ID token and a forged "
                    "one (Storm pattern): both answered 302, so the forged one is an intrusion "
                    "(accepted by the server). The authorization code is not a token.")
    good = org_id_token(t)
    bad = tok_storm_style(t, aud=APP_ID, nonce="638212167582710000.YjU1ZmQ2ZGMtOGE5Zi00")
    conns, txs = [], []
    for i, (client, tok, ua) in enumerate((("10.60.3.11", good, UA_EDGE), ("51.89.156.153", bad, UA_STORM))):
        c = new_conn(client, 51031 + i, "203.0.113.30")
        body = signin_form(tok, "CfDJ8Mv3kQpXzYt2%2BnR7sA%3D%3D")
        tx = Tx(c, "POST", "/signin-oidc", "app.contoso.example",
                request("POST", "/signin-oidc", "app.contoso.example", ua=ua, body=body,
                        ctype="application/x-www-form-urlencoded",
                        headers=[("Origin", "https://login.microsoftonline.com"),
                                 ("Referer", "https://login.microsoftonline.com/")]),
                response(t, 302, headers=[("Location", "/dashboard"),
                                          ("Set-Cookie", ".AspNetCore.Cookies=CfDJ8Mv3; path=/; secure; "
                                                         "samesite=lax; httponly")]), 302, ua=ua)
        run(c, [tx])
        conns.append(c)
        txs.append(tx)
    capture(case, conns, t)
    place(case, txs[0], good, "body", [], dict(VALID, **{"token.aud": APP_ID}))
    place(case, txs[1], bad, "body", ["key_issuer_mismatch"], dict(STORM, **{"token.aud": APP_ID}))
    totals(case, 2, 1)
    case.write()


def case_json_body(t):
    case = new_case("place_json_body", "JSON request bodies: a client_assertion JWT in a JSON token "
                    "request (any member holding a JWT), with the access_token of the JSON response; "
                    "and a forged ID token nested in an application/vnd.contoso.session+json body, "
                    "answered 401 (not accepted, signature text unchanged).")
    assertion = idp_token(t, sub="portal-web", aud="https://idp.example.com/oauth/token",
                          jti="4f2c8a1e-0b7d-4e3a-9c6f-1d2e3f4a5b6c")
    issued = idp_token(t, alg="EdDSA", key="idp-ed25519", sub="portal-web",
                       aud="https://portal.example.com")
    bad = storm(t, "json-session")
    c1 = new_conn("10.60.4.11", 51041, "203.0.113.20")
    body1 = json.dumps({"grant_type": "client_credentials", "client_id": "portal-web",
                        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        "client_assertion": assertion, "audience": "https://portal.example.com"})
    tx1 = Tx(c1, "POST", "/oauth/token", "idp.example.com",
             request("POST", "/oauth/token", "idp.example.com", ua=UA_PY, body=body1,
                     ctype="application/json", headers=[("Accept", "application/json")]),
             response(t, 200, json.dumps({"access_token": issued, "token_type": "Bearer",
                                          "expires_in": 900}), server="nginx"), 200, ua=UA_PY)
    c2 = new_conn("51.89.156.153", 51042, "203.0.113.30")
    body2 = json.dumps({"provider": "aad", "credentials": {"idToken": bad, "nonce": "n-0S6_WzA2Mj"}})
    tx2 = Tx(c2, "POST", "/api/auth/session", "app.contoso.example",
             request("POST", "/api/auth/session", "app.contoso.example", ua=UA_STORM, body=body2,
                     ctype="application/vnd.contoso.session+json; charset=utf-8"),
             response(t, 401, '{"error":"invalid_token"}'), 401, ua=UA_STORM)
    run(c1, [tx1])
    run(c2, [tx2])
    capture(case, [c1, c2], t)
    place(case, tx1, assertion, "body", [], dict(VALID, **{"token.sub": "portal-web"}))
    place(case, tx1, issued, "response_body", [], dict(VALID, **{"token.alg": "EdDSA"}))
    place(case, tx2, bad, "body", ["key_issuer_mismatch"], STORM)
    totals(case, 3, 1)
    case.write()


def case_response_token_endpoint(t):
    case = new_case("place_response_token_endpoint", "A token endpoint response (POST "
                    "/<tenant>/oauth2/v2.0/token, authorization code grant): access_token (Storm "
                    "pattern: alert), id_token (valid) and an opaque refresh_token (type opaque, "
                    "hashed, never logged raw), all in the request's transaction (tx_id 0, src the "
                    "client, http of the request with status 200; no token.accepted: the server issued "
                    "these tokens, nobody presented them). The code in the request is not a token.")
    access = storm(t, "token-endpoint")
    idt = org_id_token(t)
    refresh = ("0.AVMAv4j5cvGGr0GRqy180BHbR3iO7B_kvK9Kqxs6RRzOJ3xTAAA.AgABAAEAAAAtyolDObpQQ5VtlI4uGjEP"
               "AgDs_wUA9P8Xq2mT8kP4UeLb7vN1cR9wZ-Hj3QeYt6uKp0aLm2nB5vC8xD1fG4hJ7kL0zM3pN6qR9sT2uV5wX8yZ")
    c = new_conn("10.60.5.11", 51051, "203.0.113.60")
    url = "/%s/oauth2/v2.0/token" % T.ENTERPRISE_TID
    form = ("client_id=%s&scope=openid%%20profile%%20offline_access%%20https%%3A%%2F%%2Foutlook.example.com"
            "%%2FMail.ReadWrite&code=0.AVMAv4j5cvGGr0GRqy180BHbR3iO7B_kvK9Kqxs6RRzOJ3xTAAA.AgABAAIAAAAtyolD"
            "&redirect_uri=http%%3A%%2F%%2Flocalhost%%3A8400&grant_type=authorization_code"
            "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" % APP_ID)
    resp = json.dumps({"token_type": "Bearer", "scope": "https://outlook.example.com/Mail.ReadWrite "
                       "https://outlook.example.com/Mail.Send", "expires_in": 4799, "ext_expires_in": 4799,
                       "access_token": access, "refresh_token": refresh, "id_token": idt})
    tx = Tx(c, "POST", url, "login.microsoftonline.com",
            request("POST", url, "login.microsoftonline.com", ua=UA_MSAL, body=form,
                    ctype="application/x-www-form-urlencoded",
                    headers=[("Accept", "application/json"), ("x-client-sku", "MSAL.Python"),
                             ("x-client-ver", "1.22.0")]),
            response(t, 200, resp, headers=[("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")]),
            200, ua=UA_MSAL)
    run(c, [tx], resp_mss=700)
    capture(case, [c], t)
    same_tx = {"tx_id": 0}
    place(case, tx, access, "response_body", ["key_issuer_mismatch"], dict(STORM, **same_tx))
    place(case, tx, idt, "response_body", [], dict(VALID, **same_tx))
    place(case, tx, refresh, "response_body", [], {"token.type": "opaque", "tx_id": 0})
    totals(case, 3, 1)
    case.write()


# --- encoded bodies -------------------------------------------------------------------------------

def case_chunked_gzip(t):
    case = new_case("place_chunked_gzip", "Bodies decoded as the server would: an on-behalf-of token "
                    "request whose form body is gzip'd (assertion: Storm pattern, alert, accepted) "
                    "answered by a chunked gzip'd JSON response with an access_token; and App "
                    "Service's /.auth/me answered chunked with Content-Encoding deflate (zlib), a "
                    "JSON array holding access_token and id_token.")
    assertion = storm(t, "obo")
    issued = tok_valid_org(t, "org-2", aud="https://graph.example.com")
    me_access, me_id = tok_valid_org(t, "org-1", aud="https://contoso-app.example"), org_id_token(t)
    c1 = new_conn("10.60.9.11", 51091, "203.0.113.60")
    url = "/%s/oauth2/v2.0/token" % T.ENTERPRISE_TID
    form = ("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3Ajwt-bearer&client_id=%s"
            "&assertion=%s&scope=https%%3A%%2F%%2Fgraph.example.com%%2Fuser.read+offline_access"
            "&requested_token_use=on_behalf_of" % (APP_ID, assertion))
    obo = json.dumps({"token_type": "Bearer", "scope": "https://graph.example.com/User.Read",
                      "expires_in": 3599, "ext_expires_in": 3599, "access_token": issued})
    tx1 = Tx(c1, "POST", url, "login.microsoftonline.com",
             request("POST", url, "login.microsoftonline.com", ua=UA_STORM, body=form, coding="gzip",
                     ctype="application/x-www-form-urlencoded"),
             response(t, 200, obo, coding="gzip", chunked=True, chunk_size=100), 200, ua=UA_STORM)
    c2 = new_conn("10.60.9.12", 51092, "203.0.113.30")
    me = json.dumps([{"access_token": me_access, "expires_on": "2023-06-01T17:00:00.0000000Z",
                      "id_token": me_id, "provider_name": "aad",
                      "user_claims": [{"typ": "name", "val": "Megan Bowen"}],
                      "user_id": "meganb@contoso.example"}])
    tx2 = Tx(c2, "GET", "/.auth/me", "app.contoso.example",
             request("GET", "/.auth/me", "app.contoso.example", ua=UA_SPA,
                     headers=[("Cookie", "AppServiceAuthSession=Wm9vYmFyQmF6UXV4"),
                              ("Accept-Encoding", "gzip, deflate")]),
             response(t, 200, me, coding="deflate", chunked=True, chunk_size=128), 200, ua=UA_SPA)
    run(c1, [tx1], resp_mss=300)
    run(c2, [tx2], resp_mss=300)
    capture(case, [c1, c2], t)
    place(case, tx1, assertion, "body", ["key_issuer_mismatch"], STORM)
    place(case, tx1, issued, "response_body", [], VALID)
    place(case, tx2, me_access, "response_body", [], VALID)
    place(case, tx2, me_id, "response_body", [], VALID)
    totals(case, 4, 1)
    case.write()


def case_gzip_bomb(t):
    case = new_case("place_gzip_bomb", "A gzip bomb in a JSON response (4 MiB from ~4 KiB): "
                    "inflation stops and is counted (stats.tokenwatch.body.inflate_bombs), the token "
                    "placed after the padding is never reached; the transactions before, the bomb's "
                    "own request and the one after on the same connection are reported intact.")
    host = "outlook.example.com"
    before, own, after = storm(t, "before-bomb"), tok_valid_org(t, "org-1"), storm(t, "after-bomb")
    hidden = storm(t, "inside-bomb")
    c = new_conn("10.60.10.11", 51101, "203.0.113.10")
    bomb = b'{"value":"' + b"A" * (4 << 20) + b'","access_token":"' + hidden.encode() + b'"}'

    def get(url, tok, status, body, coding=None, ua=UA_OUTLOOK):
        return Tx(c, "GET", url, host,
                  request("GET", url, host, [("Authorization", "Bearer " + tok),
                                             ("Accept-Encoding", "gzip")], ua=ua),
                  response(t, status, body, coding=coding), status, ua=ua)
    tx1 = get("/api/v2.0/me/messages", before, 200, '{"value":[]}', ua=UA_STORM)
    tx2 = get("/api/v2.0/me/export", own, 200, bomb, coding="gzip")
    tx3 = get("/api/v2.0/me/contacts", after, 401, '{"error":{"code":"InvalidAuthenticationToken"}}',
              ua=UA_STORM)
    run(c, [tx1, tx2, tx3])
    capture(case, [c], t)
    place(case, tx1, before, "authorization", ["key_issuer_mismatch"], dict(STORM, tx_id=0))
    place(case, tx2, own, "authorization", [], dict(VALID, tx_id=1))
    place(case, tx3, after, "authorization", ["key_issuer_mismatch"], dict(STORM, tx_id=2))
    case.expect({"token.sha256": T.sha256_hex(hidden)}, count=0)
    case.secret(hidden)
    totals(case, 3, 2, tokenwatch__body__inflate_bombs=1)
    case.write()


# --- bodies that are never scanned ----------------------------------------------------------------

def png_with_text(text):
    """A 1x1 PNG (RFC 2083) with a tEXt chunk: bytes shaped like a token inside an image."""
    def chunk(kind, data):
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    idat = zlib.compress(b"\x00\xff\x80\x00", 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tEXt", b"Comment\x00" + text.encode())
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def case_not_scanned(t):
    case = new_case("place_not_scanned", "Token-shaped text in bodies of other content types is not "
                    "scanned: an image/png response (tEXt chunk), the IdP's form_post auto-submit "
                    "page (text/html with a hidden id_token field) and a text/plain request body: no "
                    "token records, no alerts.")
    in_png, in_html, in_text = storm(t, "png"), org_id_token(t), storm(t, "text-plain")
    host = "app.contoso.example"
    c1 = new_conn("10.60.13.11", 51141, "203.0.113.30")
    tx1 = Tx(c1, "GET", "/images/avatar.png", host,
             request("GET", "/images/avatar.png", host, [("Accept", "image/avif,image/webp,*/*")]),
             response(t, 200, png_with_text(in_png), ctype="image/png"), 200)
    url = ("/organizations/oauth2/v2.0/authorize?client_id=%s&response_type=id_token&response_mode=form_post"
           "&scope=openid&nonce=638212167582710000&redirect_uri=https%%3A%%2F%%2Fapp.contoso.example%%2Fsignin-oidc"
           % APP_ID)
    page = ('<html><head><title>Working...</title></head><body><form method="POST" name="hiddenform" '
            'action="https://app.contoso.example/signin-oidc"><input type="hidden" name="id_token" '
            'value="%s" /><input type="hidden" name="state" value="CfDJ8Mv3" /><noscript><p>Script is '
            'disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript>'
            '</form><script>document.forms[0].submit();</script></body></html>' % in_html)
    c2 = new_conn("10.60.13.11", 51142, "203.0.113.60")
    tx2 = Tx(c2, "GET", url, "login.microsoftonline.com",
             request("GET", url, "login.microsoftonline.com", [("Accept", "text/html")]),
             response(t, 200, page, ctype="text/html; charset=utf-8"), 200)
    c3 = new_conn("10.60.13.11", 51143, "203.0.113.30")
    tx3 = Tx(c3, "POST", "/api/support/notes", host,
             request("POST", "/api/support/notes", host, body="pasted from the console: " + in_text,
                     ctype="text/plain; charset=utf-8"),
             response(t, 200, '{"id":42}'), 200)
    for c, tx in ((c1, tx1), (c2, tx2), (c3, tx3)):
        run(c, [tx])
    capture(case, [c1, c2, c3], t)
    case.secret(in_png, in_html, in_text)
    totals(case, 0, 0, app_layer__tx__http=3)
    case.write()
