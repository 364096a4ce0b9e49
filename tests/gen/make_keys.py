#!/usr/bin/python3
"""make_keys.py — the demo PKI of tokenwatch's tests and demo (TEST ONLY, never trust it).

Creates, once, the private keys in tests/gen/keys/ (committed so that every later run signs
with the same keys), and from them writes the shipped demo key sets etc/demo/keys/*.jwks.json:

  demo-organizations  2 RSA-2048 keys (certs valid 2020-01-01..2030-01-01) + 1 RSA-2048 key
                      whose cert is valid only 2016-04-05..2021-04-04 (key_expired); each JWK
                      carries Entra's per-key "issuer" https://login.microsoftonline.com/{tenantid}/v2.0
  demo-consumers      1 RSA-2048 key, "issuer" = the consumer tenant's v2.0 issuer
  demo-idp            EC P-256, EC P-384, Ed25519 (OKP) and an RSA key used with PS256
  (attacker)          an RSA key in no key set: signs tokens that must not verify

Certificates are rebuilt deterministically (fixed serials, RSA PKCS#1 v1.5 signatures), so
re-running this script rewrites byte-identical JWKS files. Other scripts import KEYS/load().

Run with Debian's interpreter: /usr/bin/python3 tests/gen/make_keys.py
"""
import base64
import datetime
import hashlib
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KEYDIR = os.path.join(HERE, "keys")
JWKSDIR = os.path.join(ROOT, "etc", "demo", "keys")

CONSUMER_TID = "9188040d-6c67-4c5b-b112-36a304b66dad"
ORG_ISSUER_TMPL = "https://login.microsoftonline.com/{tenantid}/v2.0"
CONSUMER_ISSUER = "https://login.microsoftonline.com/%s/v2.0" % CONSUMER_TID
IDP_ISSUER = "https://idp.example.com"

D = datetime.datetime
# name -> (keyset or None, kind, cert validity or None, JWK issuer or None, kid or None=x5t)
KEYS = {
    "org-1": ("demo-organizations", "rsa", (D(2020, 1, 1), D(2030, 1, 1)), ORG_ISSUER_TMPL, None),
    "org-2": ("demo-organizations", "rsa", (D(2020, 1, 1), D(2030, 1, 1)), ORG_ISSUER_TMPL, None),
    "org-expired": ("demo-organizations", "rsa", (D(2016, 4, 5, 14, 43, 35), D(2021, 4, 4, 14, 43, 35)),
                    ORG_ISSUER_TMPL, None),
    "consumers-1": ("demo-consumers", "rsa", (D(2020, 1, 1), D(2030, 1, 1)), CONSUMER_ISSUER, None),
    "idp-es256": ("demo-idp", "p256", None, None, "idp-es256-2023"),
    "idp-es384": ("demo-idp", "p384", None, None, "idp-es384-2023"),
    "idp-ed25519": ("demo-idp", "ed25519", None, None, "idp-ed25519-2023"),
    "idp-ps256": ("demo-idp", "rsa", None, None, "idp-ps256-2023"),
    "attacker": (None, "rsa", None, None, "attacker-key-1"),
}
KEYSET_ORDER = ["demo-organizations", "demo-consumers", "demo-idp"]


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def uint_bytes(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return n.to_bytes(size, "big")


def key_path(name):
    return os.path.join(KEYDIR, "TEST-ONLY-%s.key.pem" % name)


def generate(kind):
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(kind)


def load_private(name, create=False):
    path = key_path(name)
    if not os.path.exists(path):
        if not create:
            sys.exit("missing %s: run tests/gen/make_keys.py first" % path)
        os.makedirs(KEYDIR, exist_ok=True)
        key = generate(KEYS[name][1])
        with open(path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        return key
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def make_cert(name, key, validity):
    """Self-signed, deterministic: same key + name -> same DER."""
    subj = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tokenwatch TEST ONLY - not a real key"),
        x509.NameAttribute(NameOID.COMMON_NAME, "tokenwatch demo signing key %s" % name),
    ])
    serial = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") | 1
    b = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(validity[0]).not_valid_after(validity[1])
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


class Key:
    """One demo key: private key object, its public JWK, and how tokens should name it."""

    def __init__(self, name, create=False):
        self.name = name
        self.keyset, self.kind, validity, issuer, kid = KEYS[name]
        self.priv = load_private(name, create)
        self.cert_der = make_cert(name, self.priv, validity) if validity else None
        self.x5t = b64u(hashlib.sha1(self.cert_der).digest()) if self.cert_der else None
        self.cert_sha1 = hashlib.sha1(self.cert_der).hexdigest() if self.cert_der else None
        self.kid = kid or self.x5t
        self.issuer = issuer
        self.jwk = self._jwk()

    def _jwk(self):
        pub = self.priv.public_key()
        if self.kind == "rsa":
            nums = pub.public_numbers()
            j = {"kty": "RSA", "use": "sig", "kid": self.kid}
            if self.x5t:
                j["x5t"] = self.x5t
            j["n"] = b64u(uint_bytes(nums.n))
            j["e"] = b64u(uint_bytes(nums.e))
        elif self.kind in ("p256", "p384"):
            nums = pub.public_numbers()
            size = 32 if self.kind == "p256" else 48
            j = {"kty": "EC", "use": "sig", "kid": self.kid,
                 "crv": "P-256" if self.kind == "p256" else "P-384",
                 "x": b64u(uint_bytes(nums.x, size)), "y": b64u(uint_bytes(nums.y, size))}
        else:
            raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            j = {"kty": "OKP", "use": "sig", "kid": self.kid, "crv": "Ed25519", "x": b64u(raw)}
        if self.cert_der:
            j["x5c"] = [base64.b64encode(self.cert_der).decode()]
        if self.issuer:
            j["issuer"] = self.issuer
        return j

    def public_pem(self):
        return self.priv.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def load(create=False):
    return {name: Key(name, create) for name in KEYS}


def main():
    keys = load(create=True)
    os.makedirs(JWKSDIR, exist_ok=True)
    for ks in KEYSET_ORDER:
        doc = {"keys": [k.jwk for k in keys.values() if k.keyset == ks]}
        path = os.path.join(JWKSDIR, ks + ".jwks.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print("wrote", os.path.relpath(path, ROOT))
    for k in keys.values():
        print("  %-12s %-20s kid=%s" % (k.name, k.keyset or "-", k.kid))


if __name__ == "__main__":
    main()
