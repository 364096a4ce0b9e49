#!/usr/bin/python3
"""make_observed.py — policy.verify-observed-keys end to end: an identity provider's JWKS seen on
the wire publishes a key no configured key set holds (the key rotated in), then a token of a
configured issuer signed by that key arrives. Without the switch: key_unknown; with it: the
signature verifies against the observed key set. One capture, two cases. Called by
make_captures.main(); run alone from the project root: /usr/bin/python3 tests/gen/make_observed.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

import tokens as T  # noqa: E402
from make_captures import K, TEST_DIR, Case  # noqa: E402
from make_places import (T_BASE, Tx, capture, new_conn, place, request, response,  # noqa: E402
                         rotated_key_pair, run)

HOST = "login.microsoftonline.com"
KEYS_URL = "/organizations/discovery/v2.0/keys"
PCAP = TEST_DIR + "/place_observed_verify.pcap"


def make_all():
    t = T_BASE + 20 * 60
    jwk, priv = rotated_key_pair()
    body = json.dumps({"keys": [K["org-1"].jwk, K["org-2"].jwk, jwk]})
    hdr = {"typ": "JWT", "alg": "RS256", "x5t": jwk["kid"], "kid": jwk["kid"]}
    tok = T.jws(hdr, T.entra_claims(t, T.ENTERPRISE_TID),
                signer=lambda m: priv.sign(m, padding.PKCS1v15(), hashes.SHA256()))
    c1 = new_conn("10.60.20.11", 51201, "203.0.113.60")
    jwks = Tx(c1, "GET", KEYS_URL, HOST, request("GET", KEYS_URL, HOST, [("Accept", "application/json")]),
              response(t, 200, body), 200)
    run(c1, [jwks])
    c2 = new_conn("10.60.20.12", 51202, "203.0.113.10")
    api = Tx(c2, "GET", "/v1.0/me", "graph.example.com",
             request("GET", "/v1.0/me", "graph.example.com", [("Authorization", "Bearer " + tok)]),
             response(t, 200, b'{"id":"1"}'), 200)
    run(c2, [api])

    off = Case("place_observed_unused", "A JWKS on the wire publishes a key no configured set holds; a "
               "token of a configured issuer signed by it: without policy.verify-observed-keys it is "
               "key_unknown (observed keys are never trusted automatically).", [PCAP])
    capture(off, [c1, c2], t)
    place(off, api, tok, "authorization", ["key_unknown"], {"token.signature": "not_checked"})
    off.write()
    on = Case("place_observed_verify", "The same capture with policy.verify-observed-keys: the token "
              "verifies against the observed key set of the provider's JWKS.", [PCAP],
              args=["--set", "policy.verify-observed-keys=yes"])
    place(on, api, tok, "authorization", [],
          {"token.signature": "valid", "token.keyset": "observed:%s%s" % (HOST, KEYS_URL)})
    on.write()


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    make_all()
