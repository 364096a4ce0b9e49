#!/usr/bin/python3
"""Seed corpora for fuzz_jwt and fuzz_jwks (tokenwatch). Run once from the project root:
   /usr/bin/python3 gen_corpus.py tests/fuzz/corpus
Keys are generated fresh; nothing here is third-party key material."""
import base64, datetime, hashlib, json, os, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519, padding, utils

out = sys.argv[1]
def b64u(b): return base64.urlsafe_b64encode(b).rstrip(b'=').decode()
def j(o): return json.dumps(o, separators=(',', ':')).encode()
def w(sub, name, data):
    os.makedirs(os.path.join(out, sub), exist_ok=True)
    with open(os.path.join(out, sub, name), 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())

rsa_k = rsa.generate_private_key(65537, 2048)
p256 = ec.generate_private_key(ec.SECP256R1())
p384 = ec.generate_private_key(ec.SECP384R1())
p521 = ec.generate_private_key(ec.SECP521R1())
ed = ed25519.Ed25519PrivateKey.generate()
TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ENT = f"https://login.microsoftonline.com/{TID}/v2.0"
claims = {"iss": ENT, "tid": TID, "aud": "00000002-0000-0ff1-ce00-000000000000", "sub": "user",
          "appid": "app", "iat": 1685620500, "nbf": 1685620500, "exp": 1685624100}

def tok(hdr, cl, signer):
    si = (b64u(j(hdr)) + "." + b64u(j(cl) if isinstance(cl, dict) else cl)).encode()
    return si.decode() + "." + b64u(signer(si))

def rs(h): return lambda m: rsa_k.sign(m, padding.PKCS1v15(), h)
def ps(h): return lambda m: rsa_k.sign(m, padding.PSS(padding.MGF1(h), h.digest_size), h)
def es(k, h, n):
    def s(m):
        r, sv = utils.decode_dss_signature(k.sign(m, ec.ECDSA(h)))
        return r.to_bytes(n, 'big') + sv.to_bytes(n, 'big')
    return s

w("jwt", "rs256", tok({"alg": "RS256", "kid": "k1", "typ": "JWT"}, claims, rs(hashes.SHA256())))
w("jwt", "rs512", tok({"alg": "RS512", "x5t": "T1"}, claims, rs(hashes.SHA512())))
w("jwt", "ps256", tok({"alg": "PS256", "kid": "k1"}, claims, ps(hashes.SHA256())))
w("jwt", "es256", tok({"alg": "ES256", "kid": "p256"}, claims, es(p256, hashes.SHA256(), 32)))
w("jwt", "es384", tok({"alg": "ES384"}, claims, es(p384, hashes.SHA384(), 48)))
w("jwt", "es512", tok({"alg": "ES512"}, claims, es(p521, hashes.SHA512(), 66)))
w("jwt", "eddsa", tok({"alg": "EdDSA", "kid": "ed"}, claims, ed.sign))
w("jwt", "storm_like", tok({"alg": "RS256", "kid": "1LTMzakihiRla_8z2BEJVXeWMqo",
                            "x5t": "1LTMzakihiRla_8z2BEJVXeWMqo", "typ": "JWT"},
                           claims, rs(hashes.SHA256())))
w("jwt", "graph_nonce", tok({"alg": "RS256", "kid": "k1", "nonce": "abc", "typ": "JWT"},
                            dict(claims, aud=["https://graph.microsoft.com", "x"]),
                            rs(hashes.SHA256())))
w("jwt", "embedded_jwk", tok({"alg": "RS256", "jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
                              "jku": "https://x", "x5u": "https://y", "x5c": ["MII"],
                              "crit": ["exp"]}, claims, rs(hashes.SHA256())))
w("jwt", "alg_none", b64u(j({"alg": "none"})) + "." + b64u(j(claims)) + ".")
w("jwt", "alg_none_case", b64u(j({"alg": "nOnE"})) + "." + b64u(j(claims)) + ".")
w("jwt", "hs256", tok({"alg": "HS256"}, claims, lambda m: hashlib.sha256(m).digest()))
w("jwt", "numbers", tok({"alg": "RS256"}, {"iat": 1.5e9, "nbf": -1, "exp": 1e300,
                                           "aud": [1, "b"], "iss": None, "tid": 5},
                        lambda m: b"x"))
w("jwt", "prose_payload", tok({"alg": "RS256"}, b"It's a dangerous business, Frodo",
                              lambda m: b"sig"))
w("jwt", "payload_array", tok({"alg": "RS256"}, b"[1,2,3]", lambda m: b"sig"))
w("jwt", "bad_utf8", b64u(b'{"alg":"R\xffS"}') + "." + b64u(b"{}") + ".c2ln")
w("jwt", "nul_escape", b64u(j({"alg": "RS256"})) + "." + b64u(b'{"sub":"a\\u0000b"}') + ".c2ln")
w("jwt", "header_truncated", b64u(b'{"alg":"RS25') + "." + b64u(b"{}") + ".c2ln")
w("jwt", "bad_lengths", "eyJhbGciOiJSUzI1NiJ9.e30a1.c")
w("jwt", "jwe", b64u(j({"alg": "RSA-OAEP", "enc": "A256GCM"})) +
  ".OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b."
  "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji.XFBoMYUZodetZdvTiFvSkQ")
w("jwt", "opaque_google", "ya29.a0AfH6SMBx3-example_opaque_token")
w("jwt", "opaque_dots", "not.a.jwt")
w("jwt", "six_parts", "eyJhIjoxfQ.e30.e30.e30.e30.e30")
w("jwt", "dots_only", "....")
w("jwt", "empty", b"")
w("jwt", "binary", bytes(range(256)))
w("jwt", "long_kid", tok({"alg": "RS256", "kid": "k" * 3000}, claims, lambda m: b"s" * 512))

# ---- JWKS ----
def n_of(k): return k.public_key().public_numbers()
def ib(i, n=None): return i.to_bytes(n or (i.bit_length() + 7) // 8, 'big')
rn = n_of(rsa_k)
rsa_jwk = {"kty": "RSA", "use": "sig", "kid": "k1", "n": b64u(ib(rn.n)), "e": b64u(ib(rn.e))}
def ec_jwk(k, crv, n):
    p = n_of(k)
    return {"kty": "EC", "crv": crv, "kid": crv, "x": b64u(ib(p.x, n)), "y": b64u(ib(p.y, n))}
ed_jwk = {"kty": "OKP", "crv": "Ed25519", "kid": "ed",
          "x": b64u(ed.public_key().public_bytes(serialization.Encoding.Raw,
                                                 serialization.PublicFormat.Raw))}
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tokenwatch fuzz seed")])
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(rsa_k.public_key()).serial_number(0x80788D5549DC17AE)
        .not_valid_before(datetime.datetime(2016, 4, 5, 14, 43, 35))
        .not_valid_after(datetime.datetime(2031, 4, 4, 14, 43, 35))
        .sign(rsa_k, hashes.SHA256()))
der = cert.public_bytes(serialization.Encoding.DER)
x5c_jwk = dict(rsa_jwk, kid="x5c", x5c=[base64.b64encode(der).decode()],
               issuer="https://login.microsoftonline.com/{tenantid}/v2.0")
other = rsa.generate_private_key(65537, 2048)
on = n_of(other)
small = rsa.generate_private_key(65537, 1024)

w("jwks", "rsa", j({"keys": [rsa_jwk]}))
w("jwks", "ec_all_curves", j({"keys": [ec_jwk(p256, "P-256", 32), ec_jwk(p384, "P-384", 48),
                                       ec_jwk(p521, "P-521", 66)]}))
w("jwks", "ed25519", j({"keys": [ed_jwk]}))
w("jwks", "x5c_entra_like", json.dumps({"keys": [x5c_jwk]}, indent=1))
w("jwks", "x5c_mismatch", j({"keys": [dict(x5c_jwk, n=b64u(ib(on.n)))]}))
w("jwks", "x5c_garbage", j({"keys": [dict(rsa_jwk, x5c=["MIIBAAAA", 5])]}))
w("jwks", "consumer_issuer", j({"keys": [dict(rsa_jwk, issuer="https://login.microsoftonline.com/"
                                              "9188040d-6c67-4c5b-b112-36a304b66dad/v2.0")]}))
w("jwks", "lenient_b64", j({"keys": [dict(rsa_jwk, n=base64.b64encode(b"\0" + ib(rn.n)).decode(),
                                          e="AAEAAQ==")]}))
w("jwks", "skipped_kinds", j({"keys": [
    {"kty": "oct", "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"},
    dict(rsa_jwk, use="enc"), dict(rsa_jwk, kid=7),
    {"kty": "RSA", "n": b64u(ib(n_of(small).n)), "e": "AQAB"},
    {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
    {"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"},
    {"kty": "OKP", "crv": "X25519", "x": ed_jwk["x"]}, {"kty": "RSA"}, {}, [], None, "k"]}))
w("jwks", "off_curve", j({"keys": [dict(ec_jwk(p256, "P-256", 32), y=b64u(b"\1" * 32))]}))
w("jwks", "empty_keys", b'{"keys":[]}')
w("jwks", "keys_not_array", b'{"keys":{}}')
w("jwks", "no_keys", b'{"issuer":"x"}')
w("jwks", "invalid_json", b'{"keys": [\n {"kty": "RSA",}\n]}')
w("jwks", "not_object", b'[1,2,3]')
w("jwks", "empty", b"")
w("jwks", "deep_nesting", b'{"keys":[' + b'[' * 200 + b']' * 200 + b']}')
