#!/usr/bin/env python3
"""The command line as SPEC §1 states it: check-token, --version, --help, --dump-config, exit
statuses and their one-line messages. Tokens are taken from the committed demo capture (the
Authorization headers of its requests), so nothing here needs a crypto library."""
import argparse
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml")
DEMO = os.path.join(ROOT, "pcaps", "demo", "01-office-traffic.pcap")
AT = "2023-06-01T12:05:00Z"  # inside the demo tokens' lifetime
failures = []


def run(sensor, args, stdin=None):
    return subprocess.run([sensor] + args, input=stdin, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


def demo_tokens():
    data = open(DEMO, "rb").read()
    return [t.decode() for t in re.findall(rb"Bearer (eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*)", data)]


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwks_keys():
    keys = {}
    for name in ("demo-organizations", "demo-consumers", "demo-idp"):
        for k in json.load(open(os.path.join(ROOT, "etc", "demo", "keys", name + ".jwks.json")))["keys"]:
            keys[k["kid"]] = (name, k)
    return keys


def expected_key(keyset, jwk):
    """The "key" member check-token must print for this JWK (RFC 7638 thumbprint, x5c hashes)."""
    req = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
    members = {m: jwk[m] for m in req[jwk["kty"]]}
    jkt = b64u(hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True)
                              .encode()).digest())
    want = {"keyset": keyset, "kid": jwk["kid"]}
    if "x5c" in jwk:
        der = base64.b64decode(jwk["x5c"][0])
        want["x5t"] = b64u(hashlib.sha1(der).digest())
        want["x5t#S256"] = b64u(hashlib.sha256(der).digest())
    want["jkt"] = jkt
    want["kty"] = jwk["kty"]
    if jwk["kty"] == "RSA":
        n = base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4))
        want["bits"] = len(n.lstrip(b"\0")) * 8
    else:
        want["crv"] = jwk["crv"]
    if "issuer" in jwk:
        want["issuer"] = jwk["issuer"]
    return want


def check_token(sensor, tok, *extra):
    r = run(sensor, ["check-token", "-c", CONFIG, "--at", AT, *extra, tok])
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, None


def refused(s, tmp, name, args, expect, cfg_text=None):
    """Runs the demo with cfg_text (else the shipped configuration) into a fresh log dir:
    exit 2, one error line (besides warnings) naming each of `expect`, no output file created."""
    logdir = tempfile.mkdtemp(dir=tmp)
    cfg = CONFIG
    if cfg_text is not None:
        cfg = logdir + ".yaml"
        open(cfg, "w").write(cfg_text)
    r = run(s, ["-c", cfg, "-r", DEMO, "-l", logdir] + args)
    want = [e.replace("CFG", cfg) for e in expect]
    errors = [l for l in r.stderr.splitlines() if not l.startswith("tokenwatch: warning: ")]
    check(name, r.returncode == 2 and len(errors) == 1 and
          all(w in r.stderr for w in want) and os.listdir(logdir) == [],
          f"rc {r.returncode}, files {os.listdir(logdir)}, stderr {r.stderr!r}, want {want}")
    return r


def config_refused(s, tmp):
    """Configuration that used to be accepted silently (issue 10): refused before any output is
    opened, naming file, line and key (or the option), or warned about."""
    refused(s, tmp, "engine.flow-memcap: 1kb: exit 2 naming the key",
            [], ["CFG:3: engine.flow-memcap", "out of range"],
            "# tiny\nengine:\n  flow-memcap: 1kb\n")
    refused(s, tmp, "outputs.eve.types: []: exit 2 naming the key",
            [], ["CFG:4: outputs.eve.types: needs at least one record type"],
            "outputs:\n  eve:\n    filename: x.json\n    types: []\n")
    refused(s, tmp, "two outputs writing one file: exit 2 naming both",
            [], ["CFG:4: outputs[1].eve.filename", "also written by CFG:2: outputs[0].eve.filename"],
            "outputs:\n  - eve: {filename: eve.json}\n  - eve:\n      filename: ./eve.json\n")
    refused(s, tmp, "two outputs on stdout: exit 2", [],
            ["outputs[1].eve.filename: stdout is also written by"],
            "outputs:\n  - eve: {filename: '-'}\n  - eve: {filename: '-'}\n")
    refused(s, tmp, "--set outputs.eve.filename= (empty): exit 2 naming the key",
            ["--set", "outputs.eve.filename="], ["--set outputs.eve.filename: must not be empty"])
    text = open(CONFIG).read().replace("jwks: keys/", "jwks: %s/etc/demo/keys/" % ROOT)
    refused(s, tmp, "bad capture.bpf: exit 2 naming file, line and key, no eve.json", [],
            ["CFG:%d: capture.bpf: bad BPF filter 'tcp port'" % (text.count("\n") + 2)],
            text + "capture:\n  bpf: tcp port\n")
    refused(s, tmp, "bad capture.bpf from --set: exit 2 naming it, no eve.json",
            ["--set", "capture.bpf=tcp port"], ["--set capture.bpf: bad BPF filter"])
    refused(s, tmp, "bad -f: exit 2 naming -f, no eve.json", ["-f", "tcp port"],
            ["-f: bad BPF filter 'tcp port'"])
    refused(s, tmp, "-l naming a file: exit 2 naming -l", ["-l", DEMO],
            ["-l %s: not a directory" % DEMO])

    # A key set whose keys are all refused can never verify anything: an error. One with no
    # keys at all may be filled later and reloaded: a warning naming file, line and key.
    oct_jwks = os.path.join(tmp, "oct.jwks.json")
    json.dump({"keys": [{"kty": "oct", "kid": "s1", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"}]},
              open(oct_jwks, "w"))
    empty_jwks = os.path.join(tmp, "empty.jwks.json")
    json.dump({"keys": []}, open(empty_jwks, "w"))
    ks = "keysets:\n  - name: idp\n    jwks: %s\n    issuers: [\"https://idp.example.com\"]\n"
    r = refused(s, tmp, "key set with no usable key: exit 2 naming file, line and key", [],
                ["CFG:2: keysets.idp.jwks: %s: no usable key (1 refused)" % oct_jwks], ks % oct_jwks)
    for text, name, want in (
            (ks % empty_jwks, "key set file with no keys: warning naming file, line and key",
             ":2: keysets.idp.jwks: %s holds no key" % empty_jwks),
            ("# nothing trusted\nkeysets: []\n", "keysets: []: warning naming file, line and key",
             ":2: keysets: empty: no issuer is trusted")):
        cfg = os.path.join(tmp, "warn.yaml")
        open(cfg, "w").write(text)
        r = run(s, ["-c", cfg, "-r", DEMO, "-l", tmp, "--set", "outputs.eve.filename=w.json"])
        check(name, r.returncode == 0 and ("warning: " + cfg + want) in r.stderr, r.stderr)

    # A symlink planted at LOGDIR/eve.json (by the --user account, which may write there) is
    # not followed: exit 1, one line, the target never created.
    sl = os.path.join(tmp, "planted")
    os.makedirs(sl)
    target = os.path.join(tmp, "planted-target")
    os.symlink(target, os.path.join(sl, "eve.json"))
    r = run(s, ["-c", CONFIG, "-r", DEMO, "-l", sl])
    check("a symlink at LOGDIR/eve.json is refused: exit 1, one line, not followed",
          r.returncode == 1 and "is a symbolic link" in r.stderr and
          len(r.stderr.strip().splitlines()) == 1 and not os.path.lexists(target), r.stderr)

    ro = os.path.join(tmp, "ro")
    os.makedirs(ro)
    if os.geteuid() != 0:
        print("skip -l on a read-only directory: needs root to mount a read-only tmpfs")
        return
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tw-cli-ro", ro],
                       capture_output=True, text=True)
    if m.returncode != 0:
        print("skip -l on a read-only directory: mount failed: " + m.stderr.strip())
        return
    try:
        r = run(s, ["-c", CONFIG, "-r", DEMO, "-l", ro])
        check("-l on a read-only tmpfs: exit 2 naming -l", r.returncode == 2 and
              ("-l %s: cannot write there" % ro) in r.stderr and
              len(r.stderr.strip().splitlines()) == 1, r.stderr)
    finally:
        subprocess.run(["umount", ro])


RSA1024_N = ("tFtDXqELyyW2QU5ZXHggKZC7J-839E2GbnR3M7_38kNvGt1VuoHGwuGXJ6EYGZOLPFXp6QLWvxp_Qrr8ldLK5T"
             "mWjHga_tMWaomGS15iocxkG1pR6ISHIqX4zlLwejx7R5601RI3eajkE3r5ls7_hhAL-_nXQ5KwMLGjnlDAEX8")


def refusals_every_mode(s, tmp, toks):
    """Issue 13: every refusal and note on a key set is reported in all three modes (sensor
    start, check-token -c, check-token --jwks), one line each; the noted keys are used (a token
    of the org-1 key, whose alg says "SHA256", verifies); --jwks takes a single JWK."""
    org = json.load(open(os.path.join(ROOT, "etc", "demo", "keys", "demo-organizations.jwks.json")))["keys"]
    sha = dict(org[0], alg="SHA256")                      # not a JOSE algorithm: ignored
    std = dict(org[1])                                    # n in standard base64, padded
    std["n"] = base64.b64encode(base64.urlsafe_b64decode(std["n"] + "=" * (-len(std["n"]) % 4))).decode()
    rsa = {"kty": "RSA", "n": org[1]["n"], "e": "AQAB"}
    doc = {"keys": [sha, std,
                    {"kty": "oct", "kid": "oct-1", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"},
                    dict(rsa, kid="ops-1", key_ops=["signing"]),
                    {"kty": "RSA", "kid": "small-1", "n": RSA1024_N, "e": "AQAB"},
                    dict(rsa, kid="enc-1", use="enc")]}
    jwks = os.path.join(tmp, "refusals.jwks.json")
    json.dump(doc, open(jwks, "w"))
    msgs = [("warning", "oct-1", " refused: symmetric (oct) key"),
            ("warning", "ops-1", ' refused: key_ops does not include "verify"'),
            ("warning", "small-1", " refused: RSA key shorter than 2048 bits (1024)"),
            ("warning", "enc-1", ' refused: use is "enc", not "sig"'),
            ("note", sha["kid"], ': alg "SHA256" is not a JOSE algorithm: ignored'),
            ("note", std["kid"], ": n is standard or padded base64, not base64url: accepted")]
    cfg = os.path.join(tmp, "refusals.yaml")
    open(cfg, "w").write("allow-test-keys: yes\nkeysets:\n  - name: org\n    jwks: %s\n    issuers: "
                         "[\"https://login.microsoftonline.com/{tenantid}/v2.0\"]\n" % jwks)
    logdir = tempfile.mkdtemp(dir=tmp)
    t = next((t for t in toks
              if json.loads(b64u_dec(t.split(".")[0])).get("kid") == sha["kid"]), None)
    check("refusals: a demo token of the org-1 key", t is not None)
    modes = (("sensor start", ["-c", cfg, "-r", DEMO, "-l", logdir], "keysets.org"),
             ("check-token -c", ["check-token", "-c", cfg, "--at", AT, t or "x"], "keysets.org"),
             ("check-token --jwks", ["check-token", "-c", "/dev/null", "--jwks", jwks, "--at", AT,
                                     t or "x"], "--jwks"))
    for mode, args, label in modes:
        r = run(s, args)
        for kind, kid, what in msgs:
            line = "tokenwatch: %s: %s: %s: key %s%s" % (kind, jwks, label, kid, what)
            check("%s reports: key %s%s" % (mode, kid, what), r.returncode == 0 and
                  line in r.stderr.splitlines(), "rc %d, want %r in %r" % (r.returncode, line, r.stderr))
        if mode != "sensor start":
            o = json.loads(r.stdout) if r.returncode == 0 else {}
            check("%s: the noted key verifies (alg SHA256 ignored)" % mode,
                  o.get("signature") == "valid" and "alg_mismatch" not in o.get("findings", []),
                  r.stdout[:300])
    # --jwks FILE holding one JWK, not a set
    one = os.path.join(tmp, "one.jwk.json")
    json.dump(org[0], open(one, "w"))
    r = run(s, ["check-token", "-c", "/dev/null", "--jwks", one, "--at", AT, t or "x"])
    o = json.loads(r.stdout) if r.returncode == 0 else {}
    check("check-token --jwks: a single JWK", o.get("signature") == "valid" and
          o.get("keyset") == "cli" and r.stderr == "", r.stdout[:300] + r.stderr)
    # every key refused: an error in --jwks as in a configuration, the refusals still printed
    json.dump({"kty": "oct", "kid": "oct-1", "k": "c2VjcmV0"}, open(one, "w"))
    r = run(s, ["check-token", "-c", "/dev/null", "--jwks", one, t or "x"])
    check("check-token --jwks: no usable key: exit 2, refusal then error",
          r.returncode == 2 and r.stderr.splitlines() == [
              "tokenwatch: warning: %s: --jwks: key oct-1 refused: symmetric (oct) key" % one,
              "tokenwatch: --jwks: %s: no usable key (1 refused)" % one], r.stderr)


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    a = ap.parse_args()
    s = os.path.abspath(a.sensor)

    toks = demo_tokens()
    check("demo capture holds bearer tokens", len(toks) >= 3, f"{len(toks)} found")
    valid = None
    for t in toks:
        r, obj = check_token(s, t)
        if obj and obj.get("signature") == "valid" and obj.get("findings") == []:
            valid = (t, obj)
            break
    check("check-token: a demo token verifies, no findings", valid is not None)
    # "key": the key that matched, inside the token object.
    keys = jwks_keys()
    kinds = {}
    for t in toks:
        _, obj = check_token(s, t)
        if obj and obj.get("kid") in keys:
            kinds.setdefault(keys[obj["kid"]][1]["kty"] + ("+x5c" if "x5c" in keys[obj["kid"]][1]
                                                          else ""), (t, obj))
    check("check-token: demo tokens signed by RSA (x5c) and EC/OKP keys", "RSA+x5c" in kinds and
          ("EC" in kinds or "OKP" in kinds), str(sorted(kinds)))
    for kind, (t, obj) in sorted(kinds.items()):
        keyset, jwk = keys[obj["kid"]]
        got = dict(obj.get("key") or {})
        subject = got.pop("subject", None)
        nb, na = got.pop("not_before", None), got.pop("not_after", None)
        want = expected_key(keyset, jwk)
        check("check-token: key member for a %s key" % kind, got == want,
              "got %s, want %s" % (json.dumps(got), json.dumps(want)))
        if "x5c" in jwk:
            check("check-token: %s key: certificate subject and validity" % kind,
                  subject is not None and subject.startswith("CN=tokenwatch demo signing key") and
                  nb == "2020-01-01T00:00:00Z" and na == "2030-01-01T00:00:00Z",
                  "%s %s %s" % (subject, nb, na))
        else:
            check("check-token: %s key: no certificate members" % kind,
                  subject is None and nb is None and na is None, json.dumps(obj.get("key")))
    if valid:
        t = valid[0]
        h64 = t.split(".")[0]
        hdr = json.loads(base64.urlsafe_b64decode(h64 + "=" * (-len(h64) % 4)))
        hdr["kid"] = hdr["x5t"] = "no-such-key-anywhere"
        unknown = b64u(json.dumps(hdr).encode()) + "." + ".".join(t.split(".")[1:])
        _, obj = check_token(s, unknown)
        check("check-token: no key matched, no key member", obj is not None and
              "key_unknown" in obj.get("findings", []) and "key" not in obj, str(obj)[:300])
    if valid:
        t, obj = valid
        check("check-token: token object fields", obj.get("type") == "jwt" and
              len(obj.get("sha256", "")) == 64 and "kid" in obj and "iss" in obj and
              "raw" not in obj and t not in json.dumps(obj), json.dumps(obj)[:300])
        r = run(s, ["check-token", "-c", CONFIG, "--at", AT, "-"], stdin=t + "\n")
        check("check-token: token on stdin", r.returncode == 0 and json.loads(r.stdout) == obj,
              r.stderr)
        epoch = "1685621100"  # = AT
        r3 = run(s, ["check-token", "-c", CONFIG, "--at", epoch, t])
        check("check-token: --at as Unix seconds", r3.returncode == 0 and
              json.loads(r3.stdout) == obj, r3.stdout[:200])
        _, late = check_token(s, t, "--at", "2030-01-01T00:00:00Z")
        check("check-token: the clock decides token_expired",
              late is not None and "token_expired" in late.get("findings", []), str(late))
        forged = t[:-8] + ("AAAAAAAA" if not t.endswith("AAAAAAAA") else "BBBBBBBB")
        _, bad = check_token(s, forged)
        check("check-token: a tampered signature is signature_invalid",
              bad is not None and bad.get("signature") == "invalid" and
              "signature_invalid" in bad.get("findings", []), str(bad))
        # --jwks trusts that file's keys for any issuer (and /dev/null as config trusts nothing
        # else): the token verifies against the "cli" key set with no issuer finding.
        r = run(s, ["check-token", "-c", "/dev/null", "--jwks",
                    os.path.join(ROOT, "etc", "demo", "keys", "demo-organizations.jwks.json"),
                    "--at", AT, t])
        o = json.loads(r.stdout) if r.returncode == 0 else None
        check("check-token --jwks: trusted for any issuer", o is not None and
              o.get("signature") == "valid" and o.get("keyset") == "cli" and
              "issuer_untrusted" not in o.get("findings", []), r.stdout[:300] + r.stderr)
        check("check-token --jwks: key member names the cli key set", o is not None and
              (o.get("key") or {}).get("keyset") == "cli" and
              (o.get("key") or {}).get("kid") == o.get("kid"), r.stdout[:300])
    r = run(s, ["check-token", "-c", CONFIG, "not-a-jwt-at-all"])
    o = json.loads(r.stdout) if r.returncode == 0 else {}
    check("check-token: opaque", o.get("type") == "opaque" and o.get("findings") == [] and
          "key" not in o, r.stdout)
    r = run(s, ["check-token", "-c", CONFIG, "--at", "yesterday", "x"])
    check("check-token: bad --at is a usage error (2)", r.returncode == 2 and
          "--at" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr)
    r = run(s, ["check-token", "-c", CONFIG])
    check("check-token: no token is a usage error (2)", r.returncode == 2, r.stderr)

    r = run(s, ["--version"])
    check("--version", r.returncode == 0 and r.stdout.startswith("tokenwatch "), r.stdout)
    r = run(s, ["--help"])
    check("--help", r.returncode == 0 and "check-token" in r.stdout and "-r PATH" in r.stdout)
    r = run(s, ["--bogus"])
    check("unknown option: exit 2", r.returncode == 2, r.stderr)
    r = run(s, ["-c", CONFIG])
    check("neither -r nor -i: exit 2", r.returncode == 2, r.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        r = run(s, ["-c", CONFIG, "--dump-config"])
        dumped = os.path.join(tmp, "dumped.yaml")
        open(dumped, "w").write(r.stdout)
        r2 = run(s, ["-c", dumped, "--dump-config"])
        check("--dump-config loads back unchanged", r.returncode == 0 and r2.returncode == 0 and
              r.stdout == r2.stdout, r2.stderr)

        bad = os.path.join(tmp, "bad.yaml")
        open(bad, "w").write("outputs:\n  eve:\n    filename: x.json\npolicy:\n  clock-skew: soon\n")
        r = run(s, ["-c", bad, "-r", DEMO, "-l", tmp])
        check("bad configuration: exit 2 naming file, line and key", r.returncode == 2 and
              f"{bad}:5" in r.stderr and "policy.clock-skew" in r.stderr, r.stderr)
        open(bad, "w").write("keysets:\n  - name: k\n    jwks: missing.json\n    issuers: [x]\n")
        r = run(s, ["-c", bad, "-r", DEMO, "-l", tmp])
        check("missing key set file: exit 2 naming it", r.returncode == 2 and
              "missing.json" in r.stderr, r.stderr)

        r = run(s, ["-c", CONFIG, "-r", os.path.join(tmp, "nope.pcap"), "-l", tmp])
        check("unreadable capture: exit 1, one line", r.returncode == 1 and
              len(r.stderr.strip().splitlines()) == 1 and "nope.pcap" in r.stderr, r.stderr)
        r = run(s, ["-c", CONFIG, "-r", DEMO, "-l", os.path.join(tmp, "no", "such", "dir")])
        check("missing log dir: exit 2, one line naming -l", r.returncode == 2 and
              len(r.stderr.strip().splitlines()) == 1 and "-l " in r.stderr, r.stderr)
        r = run(s, ["-c", CONFIG, "-r", DEMO, "-l", tmp, "--set", "outputs.eve.filename=-", "-q"])
        lines = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        check("--set outputs.eve.filename=- writes EVE to stdout", r.returncode == 0 and
              any(l.get("event_type") == "stats" for l in lines) and r.stderr == "", r.stderr)
        r = run(s, ["-c", CONFIG, "-r", DEMO, "-l", tmp, "-f", "tcp port 9"])
        ev = [json.loads(l) for l in open(os.path.join(tmp, "eve.json"))]
        st = [e for e in ev if e["event_type"] == "stats"][-1]["stats"]
        check("-f BPF filter applies", r.returncode == 0 and st["decoder"]["pkts"] == 0, str(st))
        r = run(s, ["-c", CONFIG, "-r", DEMO, "-l", tmp, "-f", "tcp port"])
        check("bad BPF filter: exit 2", r.returncode == 2, r.stderr)
        config_refused(s, tmp)
        refusals_every_mode(s, tmp, toks)

    print(f"cli: {len(failures)} failed" if failures else "cli: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
