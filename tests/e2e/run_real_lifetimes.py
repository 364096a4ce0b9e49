#!/usr/bin/env python3
"""Issue 13: the default max-lifetime is quiet on genuine provider tokens. Every compact JWT
found in ../shared/keys (real tokens kept beside the real key sets, when there are any) is
judged with `check-token` and the shipped configuration at a clock inside its lifetime, and
must not raise lifetime_excessive; so must tokens with the lifetimes real providers issue
(README, lifetime_excessive: a Microsoft consumer id_token's exp - iat = 86,700 s, Entra access
tokens at most 5,400 s, Google id_tokens 3,600 s), and a token living longer than the default
bound (90,000 s) must still raise it. Skips (77) without ../shared."""
import argparse
import base64
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml")
JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*")
failures = []


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def claims_of(tok):
    p = tok.split(".")[1]
    try:
        return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    except ValueError:
        return None


def judge(sensor, tok, at):
    r = subprocess.run([sensor, "check-token", "-c", CONFIG, "--at", str(at), tok],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr}


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail))
    if not cond:
        failures.append(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--shared", required=True)
    a = ap.parse_args()
    keys = os.path.join(a.shared, "keys")
    if not os.path.isdir(keys):
        print("skip: %s absent (a fresh clone has no ../shared)" % keys)
        return 77
    real = {}
    for d, _, files in os.walk(keys):
        for f in files:
            path = os.path.join(d, f)
            if os.path.getsize(path) > 16 << 20:
                continue
            for m in JWT.findall(open(path, "rb").read()):
                c = claims_of(m.decode())
                if c and isinstance(c.get("exp"), int) and isinstance(c.get("iat"), int):
                    real[m.decode()] = os.path.relpath(path, a.shared)
    print("%d real token(s) with iat and exp under %s" % (len(real), keys))
    for tok, where in sorted(real.items(), key=lambda kv: kv[1]):
        c = claims_of(tok)
        o = judge(a.sensor, tok, c["iat"] + 60)
        check("%s (%s, lifetime %d s): no lifetime_excessive" % (where, c.get("iss"),
                                                                  c["exp"] - c["iat"]),
              "findings" in o and "lifetime_excessive" not in o["findings"], str(o)[:300])
    # The lifetimes real providers issue, on unsigned tokens (the lifetime check needs no key).
    iat = 1700000000
    for what, life, want in (("Microsoft consumer id_token", 86700, False),
                             ("Entra access token, longest default", 5400, False),
                             ("Google id_token", 3600, False),
                             ("over the default bound", 90001, True)):
        tok = "%s.%s." % (b64u(b'{"alg":"RS256","typ":"JWT"}'),
                          b64u(json.dumps({"iss": "https://lifetime.example", "iat": iat,
                                           "exp": iat + life}).encode()))
        o = judge(a.sensor, tok, iat + 60)
        check("%s (%d s): lifetime_excessive %s" % (what, life, "raised" if want else "quiet"),
              "findings" in o and ("lifetime_excessive" in o["findings"]) == want, str(o)[:300])
    print("real_lifetimes: %d failed" % len(failures) if failures else "real_lifetimes: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
