#!/usr/bin/env python3
"""Issue 13: the installed configuration (etc/tokenwatch.yaml) judged with the real providers'
documents. Its keys/ is filled in a temporary copy from ../shared/keys/idp-snapshots (Entra
organizations; Microsoft accounts: the consumer-tenant keys of Entra's common document, as the
consumers endpoint publishes them, plus the Storm-0558 key as published; Google, Apple, Slack);
GitHub Actions is left unfetched. No real private key is at hand, so the tokens are forged (a
signature of the right length that cannot verify), which is exactly what tells whether the
installed issuer lists find the right keys:

  an enterprise token (v2 and v1 issuer) naming a real organizations key  -> signature_invalid,
                                                         the signature checked (no scope finding)
  an enterprise token naming a consumer-tenant key (the Storm-0558 shape) -> key_issuer_mismatch
  a consumer token naming the Storm-0558 key                              -> key_revoked
  a consumer token naming a real consumer key                             -> signature_invalid
  Google (both issuer spellings), Apple, Slack tokens naming their keys   -> signature_invalid
  a GitHub Actions token (keyset not fetched yet)                         -> key_unknown
  an issuer no keyset names                                               -> issuer_untrusted
and `keys show` lists every real key live (none a test key). Skips (77) without ../shared.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONSUMER_TID = "9188040d-6c67-4c5b-b112-36a304b66dad"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
AT = "2024-10-15T12:00:00Z"
IAT = 1728993600  # AT
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)[:600]))
    if not cond:
        failures.append(name)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def forged(kid, claims, alg="RS256", siglen=256):
    head = {"alg": alg, "typ": "JWT", "kid": kid}
    body = dict({"iat": IAT - 60, "nbf": IAT - 60, "exp": IAT + 3000}, **claims)
    return "%s.%s.%s" % (b64u(json.dumps(head).encode()), b64u(json.dumps(body).encode()),
                         b64u(b"\x5a" * siglen))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--shared", required=True)
    a = ap.parse_args()
    snaps = os.path.join(a.shared, "keys", "idp-snapshots")
    storm = os.path.join(a.shared, "keys", "indicators", "storm-0558-msa-2016.jwk.json")
    if not os.path.isdir(snaps) or not os.path.exists(storm):
        print("skip: %s absent (a fresh clone has no ../shared)" % snaps)
        return 77
    load = lambda f: json.load(open(os.path.join(snaps, f)))  # noqa: E731
    common = load("entra-common.jwks.json")["keys"]
    consumer = [k for k in common if CONSUMER_TID in k.get("issuer", "")]
    org = load("entra-organizations.jwks.json")["keys"]
    docs = {"entra-organizations": {"keys": org},
            "entra-consumers": {"keys": consumer + [json.load(open(storm))]},
            "google": load("google.jwks.json"), "apple": load("apple.jwks.json"),
            "slack": load("slack.jwks.json")}
    with tempfile.TemporaryDirectory(prefix="tw-installed-real-") as d:
        cfg = os.path.join(d, "tokenwatch.yaml")
        shutil.copy(os.path.join(ROOT, "etc", "tokenwatch.yaml"), cfg)
        shutil.copy(os.path.join(ROOT, "etc", "revoked-keys.txt"), d)
        os.makedirs(os.path.join(d, "keys"))
        for name, doc in docs.items():
            with open(os.path.join(d, "keys", name + ".jwks.json"), "w") as f:
                json.dump(doc, f)

        r = subprocess.run([a.sensor, "keys", "show", "--json", "-c", cfg], capture_output=True,
                           text=True, timeout=60)
        rows = [json.loads(l) for l in r.stdout.splitlines()]
        want = sum(len(x["keys"]) for x in docs.values())
        check("keys show: every real key loaded (%d), none a test key, only the Storm-0558 key "
              "revoked" % want, r.returncode == 0 and len(rows) == want and
              not any(x.get("test_key") for x in rows) and
              [x["kid"] for x in rows if x.get("revoked")] == ["1LTMzakihiRla_8z2BEJVXeWMqo"],
              r.stdout[-400:] + r.stderr)
        check("start-up: the unfetched GitHub Actions keyset named in a warning",
              "keysets.github-actions.jwks: " in r.stderr and "not fetched yet" in r.stderr,
              r.stderr)

        def judge(tok):
            r = subprocess.run([a.sensor, "check-token", "-c", cfg, "--at", AT, tok],
                               capture_output=True, text=True, timeout=60)
            try:
                return json.loads(r.stdout)
            except ValueError:
                return {"error": r.stdout + r.stderr}

        v2 = "https://login.microsoftonline.com/%s/v2.0" % TENANT
        v1 = "https://sts.windows.net/%s/" % TENANT
        cons = "https://login.microsoftonline.com/%s/v2.0" % CONSUMER_TID
        cases = [
            ("enterprise v2 token, a real organizations key", org[0]["kid"],
             {"iss": v2, "tid": TENANT, "aud": "00000002-0000-0ff1-ce00-000000000000"},
             ["signature_invalid"], "invalid"),
            ("enterprise v1 token, a real organizations key", org[1]["kid"],
             {"iss": v1, "tid": TENANT}, ["signature_invalid"], "invalid"),
            ("enterprise token signed (so it claims) by a consumer-tenant key: Storm-0558 shape",
             consumer[0]["kid"], {"iss": v2, "tid": TENANT}, ["key_issuer_mismatch"], None),
            ("consumer token naming the Storm-0558 key", "1LTMzakihiRla_8z2BEJVXeWMqo",
             {"iss": cons, "tid": CONSUMER_TID}, ["key_revoked"], None),
            ("consumer token, a real consumer key", consumer[0]["kid"],
             {"iss": cons, "tid": CONSUMER_TID}, ["signature_invalid"], "invalid"),
            ("Google id_token (https://accounts.google.com)", docs["google"]["keys"][0]["kid"],
             {"iss": "https://accounts.google.com", "aud": "x.apps.googleusercontent.com"},
             ["signature_invalid"], "invalid"),
            ("Google id_token (accounts.google.com)", docs["google"]["keys"][1]["kid"],
             {"iss": "accounts.google.com"}, ["signature_invalid"], "invalid"),
            ("Apple identity token", docs["apple"]["keys"][0]["kid"],
             {"iss": "https://appleid.apple.com"}, ["signature_invalid"], "invalid"),
            ("Slack id_token", docs["slack"]["keys"][0]["kid"], {"iss": "https://slack.com"},
             ["signature_invalid"], "invalid"),
            ("GitHub Actions token, keyset not fetched yet", "gh-kid",
             {"iss": "https://token.actions.githubusercontent.com"}, ["key_unknown"],
             "not_checked"),
            ("an issuer no keyset names", "k", {"iss": "https://evil.example"},
             ["issuer_untrusted"], "not_checked"),
        ]
        for what, kid, claims, findings, sig in cases:
            o = judge(forged(kid, claims))
            got = o.get("findings")
            ok = isinstance(got, list) and all(f in got for f in findings) and \
                not ({"key_unknown", "issuer_untrusted", "key_issuer_mismatch"} - set(findings)) \
                & set(got) and (sig is None or o.get("signature") == sig)
            check("%s: %s%s" % (what, findings, "" if sig is None else ", signature " + sig), ok,
                  o)
    print("installed_real: %d failed" % len(failures) if failures else "installed_real: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
