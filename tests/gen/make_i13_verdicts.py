#!/usr/bin/python3
"""make_i13_verdicts.py — issue 13's verdicts on genuine tokens, on the wire: tokens that name
no key (no kid, x5t or x5t#S256; what single-key issuers send) are tried against the keys that
may sign for their issuer (policy.kidless-max-keys), and a token whose lifetime is a real
Microsoft consumer id_token's (exp - iat = 86,700 s) raises nothing under the default
max-lifetime (90,000 s).

One capture (pcaps/tests/i13_kidless.pcap, tests/e2e/i13_kidless/case.json), signed with the
TEST-ONLY demo keys. Expectations follow sensor/trust/policy.c's kidless_key(): a key that
verifies is reported as a kid match would be (keyset, key_issuer); none among the candidates is
signature_invalid; no key of the alg's type is key_unknown with the signature not checked.
Deterministic (RSA PKCS#1 v1.5 and deterministic ECDSA). Called by make_captures.main(); run
alone from the project root: /usr/bin/python3 tests/gen/make_i13_verdicts.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pcapgen as P  # noqa: E402
import tokens as T  # noqa: E402
from make_captures import K  # noqa: E402
from make_verdict import one_case  # noqa: E402

T_I13 = P.T0 + 25200
ENT_ISS = T.v2_issuer(T.ENTERPRISE_TID)
CONS_ISS = T.v2_issuer(T.CONSUMER_TID)


def case_kidless(t):
    org2, cons, es = K["org-2"], K["consumers-1"], K["idp-es256"]
    ent = T.entra_claims(t, T.ENTERPRISE_TID)
    kidless = {"typ": "JWT", "alg": "RS256"}
    valid = T.jws(kidless, ent, org2)
    forged = T.jws(kidless, ent, K["attacker"])
    consumer = T.jws(kidless, T.entra_claims(t, T.CONSUMER_TID), cons)
    es256 = T.jws({"typ": "JWT", "alg": "ES256"}, ent, es)
    # a Microsoft consumer id_token's lifetime: 24 h plus 5 minutes
    msa = T.jws(T.header("RS256", cons), T.entra_claims(t, T.CONSUMER_TID, lifetime=86700), cons)
    one_case("i13_kidless",
             "Tokens naming no key ({alg, typ} only): one signed by the second organizations key "
             "is found among the issuer's keys and verifies (no alert, keyset and key_issuer "
             "reported); one forged with a key the issuer does not publish is signature_invalid; "
             "the consumer tenant's token is tried against the consumer key alone and verifies; "
             "an ES256 token for an issuer with RSA keys only is key_unknown, signature not "
             "checked. A consumer token living 86,700 s (a real Microsoft id_token's lifetime) "
             "raises nothing under the default max-lifetime.",
             [(valid, 200, [], {"token.signature": "valid", "token.keyset": "demo-organizations",
                                "token.key_issuer": ENT_ISS}),
              (forged, 401, ["signature_invalid"], {"token.signature": "invalid",
                                                    "token.iss": ENT_ISS}),
              (consumer, 200, [], {"token.signature": "valid", "token.keyset": "demo-consumers",
                                   "token.key_issuer": CONS_ISS}),
              (es256, 401, ["key_unknown"], {"token.signature": "not_checked"}),
              (msa, 200, [], {"token.signature": "valid", "token.keyset": "demo-consumers"})],
             t, "10.70.13.11")


def make_all():
    case_kidless(T_I13)


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    make_all()
