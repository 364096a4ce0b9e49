#!/usr/bin/python3
"""tokens.py — builds JWS compact tokens (RFC 7515 §7.1) with the TEST-ONLY demo keys.

Algorithms: RS256 (RFC 7518 §3.3), PS256 (§3.5, salt = hash length), ES256/ES384 (§3.4, raw
r||s), EdDSA/Ed25519 (RFC 8037 §3.1), HS256 (key-confusion tests), none. Signing is
deterministic so that re-running the generators gives byte-identical captures: PKCS#1 v1.5 and
Ed25519 are deterministic already; ECDSA takes its nonce from a hash of key and message (the
idea of RFC 6979, simplified: fine for test keys) and PSS its salt from a hash of the message.
Every signature is checked with `cryptography` before it is returned.
"""
import base64
import hashlib
import hmac
import json

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

import make_keys

CONSUMER_TID = make_keys.CONSUMER_TID
ENTERPRISE_TID = "3f5a1b2c-8d4e-4f6a-9b7c-0d1e2f3a4b5c"     # fictitious "Contoso" tenant
OTHER_TID = "a6c1e0d2-4b3f-4e5a-8c7d-9e0f1a2b3c4d"
STORM_KID = "1LTMzakihiRla_8z2BEJVXeWMqo"

_KEYS = None


def keys():
    global _KEYS
    if _KEYS is None:
        _KEYS = make_keys.load()
    return _KEYS


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def compact_json(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def v2_issuer(tid):
    return "https://login.microsoftonline.com/%s/v2.0" % tid


# --- deterministic ECDSA (short-Weierstrass, a = -3) -------------------------------------

CURVES = {
    "P-256": dict(
        p=2**256 - 2**224 + 2**192 + 2**96 - 1,
        n=0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551,
        gx=0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296,
        gy=0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5, size=32),
    "P-384": dict(
        p=2**384 - 2**128 - 2**96 + 2**32 - 1,
        n=0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973,
        gx=0xaa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7,
        gy=0x3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f,
        size=48),
}


def _ec_add(P, Q, p):
    if P is None:
        return Q
    if Q is None:
        return P
    if P[0] == Q[0]:
        if (P[1] + Q[1]) % p == 0:
            return None
        lam = (3 * P[0] * P[0] - 3) * pow(2 * P[1], -1, p) % p
    else:
        lam = (Q[1] - P[1]) * pow(Q[0] - P[0], -1, p) % p
    x = (lam * lam - P[0] - Q[0]) % p
    return (x, (lam * (P[0] - x) - P[1]) % p)


def _ec_mul(k, P, p):
    R = None
    while k:
        if k & 1:
            R = _ec_add(R, P, p)
        P = _ec_add(P, P, p)
        k >>= 1
    return R


def _ecdsa_sign(priv, crv, hashfn, msg):
    c = CURVES[crv]
    d = priv.private_numbers().private_value
    h = int.from_bytes(hashfn(msg).digest(), "big") % c["n"]
    k = int.from_bytes(hashlib.sha512(b"tw-k" + d.to_bytes(c["size"], "big") + msg).digest()
                       + hashlib.sha512(b"tw-k2" + msg).digest(), "big") % (c["n"] - 1) + 1
    r = _ec_mul(k, (c["gx"], c["gy"]), c["p"])[0] % c["n"]
    s = pow(k, -1, c["n"]) * (h + r * d) % c["n"]
    sig = r.to_bytes(c["size"], "big") + s.to_bytes(c["size"], "big")
    hcls = hashes.SHA256() if hashfn is hashlib.sha256 else hashes.SHA384()
    priv.public_key().verify(utils.encode_dss_signature(r, s), msg, ec.ECDSA(hcls))
    return sig


def _mgf1(seed, length, hashfn):
    out = b""
    for i in range((length + hashfn().digest_size - 1) // hashfn().digest_size):
        out += hashfn(seed + i.to_bytes(4, "big")).digest()
    return out[:length]


def _pss_sign(priv, msg):
    """RSASSA-PSS with SHA-256, MGF1-SHA-256, 32-byte salt (RFC 8017 §9.1.1), salt from msg."""
    nums = priv.private_numbers()
    n, d = nums.public_numbers.n, nums.d
    em_bits = n.bit_length() - 1
    em_len = (em_bits + 7) // 8
    mhash = hashlib.sha256(msg).digest()
    salt = hashlib.sha256(b"tw-salt" + msg).digest()
    h = hashlib.sha256(b"\0" * 8 + mhash + salt).digest()
    db = b"\0" * (em_len - len(salt) - len(h) - 2) + b"\x01" + salt
    masked = bytes(a ^ b for a, b in zip(db, _mgf1(h, len(db), hashlib.sha256)))
    masked = bytes([masked[0] & (0xff >> (8 * em_len - em_bits))]) + masked[1:]
    em = masked + h + b"\xbc"
    s = pow(int.from_bytes(em, "big"), d, n).to_bytes((n.bit_length() + 7) // 8, "big")
    priv.public_key().verify(s, msg, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                             hashes.SHA256())
    return s


def sign(alg, key, msg):
    """Signature bytes of msg under alg with demo key `key` (a make_keys.Key)."""
    p = key.priv if key is not None else None
    if alg == "RS256":
        return p.sign(msg, padding.PKCS1v15(), hashes.SHA256())
    if alg == "PS256":
        return _pss_sign(p, msg)
    if alg == "ES256":
        return _ecdsa_sign(p, "P-256", hashlib.sha256, msg)
    if alg == "ES384":
        return _ecdsa_sign(p, "P-384", hashlib.sha384, msg)
    if alg in ("EdDSA", "Ed25519"):
        return p.sign(msg)
    raise ValueError("cannot sign " + alg)


def jws(header, claims, key=None, alg=None, signer=None):
    """Compact JWS. header/claims are dicts (or bytes, used as-is). `alg` picks the signing
    procedure (default: header["alg"]); `signer(msg) -> bytes` overrides it entirely."""
    h = header if isinstance(header, bytes) else compact_json(header)
    c = claims if isinstance(claims, bytes) else compact_json(claims)
    msg = (b64u(h) + "." + b64u(c)).encode()
    if signer is not None:
        sig = signer(msg)
    else:
        alg = alg or header["alg"]
        sig = b"" if alg.lower() == "none" else sign(alg, key, msg)
    return msg.decode() + "." + b64u(sig)


def hs256(secret, header, claims):
    return jws(header, claims, signer=lambda m: hmac.new(secret, m, hashlib.sha256).digest())


def flip_signature_byte(token, index=10):
    """The same token with one bit of the decoded signature flipped (re-encoded canonically)."""
    head, payload, sig = token.split(".")
    raw = bytearray(b64u_dec(sig))
    raw[index] ^= 0x01
    return "%s.%s.%s" % (head, payload, b64u(bytes(raw)))


def header(alg, key=None, kid=None, x5t=None, typ="JWT", **extra):
    """JOSE header as Entra writes it: typ, alg, x5t (= kid for certificate keys), kid."""
    h = {"typ": typ, "alg": alg}
    if key is not None:
        if key.x5t:
            h["x5t"] = key.x5t
        h["kid"] = key.kid
    if x5t is not None:
        h["x5t"] = x5t
    if kid is not None:
        h["kid"] = kid
    h.update(extra)
    return h


def entra_claims(t, tid, iss=None, aud="https://graph.example.com", sub="AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
                 appid="1fec8e78-bce4-4aaf-ab1b-5451cc387264", iat=-300, lifetime=3600, nbf=None,
                 name="Megan Bowen", upn="meganb@contoso.example", scp="Mail.Read User.Read", **extra):
    """Claims like an Entra v2.0 access token, times relative to packet time t (seconds)."""
    iat_abs = t + iat
    c = {"aud": aud, "iss": iss or v2_issuer(tid), "iat": iat_abs,
         "nbf": iat_abs if nbf is None else t + nbf, "exp": iat_abs + lifetime,
         "aio": "E2ZgYJj8mW/4u1J+bVqZzt8A", "azp": appid, "azpacr": "0", "name": name,
         "oid": "6e4f1b8e-3f1d-4a0e-9c53-2b7b6d3c9f10", "preferred_username": upn,
         "rh": "0.AVMA", "scp": scp, "sub": sub, "tid": tid,
         "uti": "c2hvcnQtdXRpLTAx", "ver": "2.0"}
    if appid:
        c["appid"] = appid
    c.update(extra)
    return c


def idp_claims(t, sub="user-4711", aud="https://portal.example.com", iat=-120, lifetime=900, **extra):
    c = {"iss": make_keys.IDP_ISSUER, "sub": sub, "aud": aud, "iat": t + iat, "nbf": t + iat,
         "exp": t + iat + lifetime, "azp": "portal-web", "scope": "openid profile"}
    c.update(extra)
    return c


def sha256_hex(token):
    return hashlib.sha256(token.encode() if isinstance(token, str) else token).hexdigest()


# --- issue 5 shapes (make_verdict.py) -------------------------------------------------------

def x5t256(key):
    """x5t#S256 of a demo key's certificate (RFC 7515 §4.1.8): base64url SHA-256 of the DER."""
    return b64u(hashlib.sha256(key.cert_der).digest())


def jws_unencoded(header, payload, key, alg=None):
    """Compact JWS with RFC 7797 b64:false: `payload` (bytes without '.') goes on the wire as
    is and the signature covers header "." payload as sent. header must carry b64/crit."""
    assert b"." not in payload
    h = header if isinstance(header, bytes) else compact_json(header)
    msg = b64u(h).encode() + b"." + payload
    return msg.decode() + "." + b64u(sign(alg or header["alg"], key, msg))


def nested(header, inner, key):
    """Nested JWT (RFC 7519 §5.2): a JWS whose payload is the compact token `inner`; header
    should say cty "JWT"."""
    return jws(header, inner.encode(), key)
