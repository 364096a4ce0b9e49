#!/usr/bin/env python3
"""`tokenwatch keys show` / `keys check` and `revoked-keys-file` (ctest e2e_keys_cli).

  1. The shipped demo configuration (etc/demo/tokenwatch.yaml): show lists its 8 keys, each marked
     test-key (and the expired one expired); check exits 1 naming every one as a test key. That is
     by design: the demo trusts published keys, and `keys check` says so whatever the config.
  2. Every private key under tests/gen/keys/ is recognised as a test key (the compiled-in table,
     sensor/trust/testkeys.c, must follow the directory).
  3. Small configurations written here, with keys made here (EC keys from fixed scalars, so no
     test key): clean -> exit 0; an expired x5c certificate, an empty keyset, two keysets claiming
     one issuer, a revoked key still listed (inline and from the file) -> exit 1, one line each
     naming file, keyset and kid; bad configurations (unknown key, missing JWKS, bad revocation
     file line) -> exit 2 with file, line and key.
  3b. The gate: the sensor refuses a configuration trusting a test key (exit 2, one line) unless
     allow-test-keys is set; a keyset with a URL not fetched yet starts with a warning.
  4. revoked-keys-file in verdicts: check-token -c on a demo token whose key is listed only in the
     file (by kid, by JWK thumbprint, by the certificate's SHA-1 with colons) -> key_revoked.
  5. SIGHUP rereads the file (the reload harness of run_reload.py: `-r FIFO`): a token valid
     before, key_revoked after the file names its key; a broken file keeps the running store;
     emptied again, the token is valid again.
Needs python3-cryptography (Debian's interpreter is used when the one running lacks it).
"""
import argparse
import base64
import datetime
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.x509.oid import NameOID
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("skip: python3-cryptography is not installed")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import run_reload as R  # noqa: E402  (the reload harness: token, capture parts, pipe draining)

CONFIG = os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml")
ORG_JWKS = os.path.join(ROOT, "etc", "demo", "keys", "demo-organizations.jwks.json")
ISS = "https://api.example.net"
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"[:3000]))
    if not cond:
        failures.append(name)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def uint_bytes(n, size=None):
    return n.to_bytes(size or max(1, (n.bit_length() + 7) // 8), "big")


def jwk_of(pub, kid):
    """The public JWK of a cryptography public key."""
    if isinstance(pub, rsa.RSAPublicKey):
        n = pub.public_numbers()
        return {"kty": "RSA", "kid": kid, "n": b64u(uint_bytes(n.n)), "e": b64u(uint_bytes(n.e))}
    if isinstance(pub, ec.EllipticCurvePublicKey):
        n = pub.public_numbers()
        size = (pub.curve.key_size + 7) // 8
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[pub.curve.name]
        return {"kty": "EC", "kid": kid, "crv": crv, "x": b64u(uint_bytes(n.x, size)),
                "y": b64u(uint_bytes(n.y, size))}
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64u(raw)}


def jkt(j):
    req = {"RSA": ["e", "kty", "n"], "EC": ["crv", "kty", "x", "y"], "OKP": ["crv", "kty", "x"]}
    s = json.dumps({m: j[m] for m in req[j["kty"]]}, separators=(",", ":"), sort_keys=True)
    return b64u(hashlib.sha256(s.encode()).digest())


def ec_key(scalar):
    return ec.derive_private_key(scalar, ec.SECP256R1())


def with_cert(key, kid, nb, na):
    """The key's JWK with an x5c self-signed certificate valid nb..na."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keys-cli test %s" % kid)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(0x5eed)
            .not_valid_before(nb).not_valid_after(na).sign(key, hashes.SHA256()))
    j = jwk_of(key.public_key(), kid)
    j["x5c"] = [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]
    return j


def run(sensor, args, cwd=ROOT):
    return subprocess.run([sensor] + args, capture_output=True, text=True, timeout=60, cwd=cwd)


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def config(wd, name, keysets, extra=""):
    """A configuration of keysets [(name, jwks document or None for a missing file, issuers)]."""
    lines = ["keysets:"]
    for ks, doc, issuers in keysets:
        path = os.path.join(wd, "%s-%s.jwks.json" % (name, ks))
        if doc is not None:
            write(path, json.dumps(doc))
        lines += ["  - name: %s" % ks, "    jwks: %s" % path, "    issuers:"]
        lines += ['      - "%s"' % i for i in issuers]
    path = os.path.join(wd, name + ".yaml")
    write(path, "\n".join(lines) + "\n" + extra)
    return path


def part_demo(sensor):
    r = run(sensor, ["keys", "show", "-c", CONFIG])
    rows = r.stdout.splitlines()
    check("demo show: exit 0", r.returncode == 0, r.stderr)
    check("demo show: a header and 8 key rows", len(rows) == 9 and rows[0].startswith("KEYSET"),
          r.stdout)
    check("demo show: every key marked test-key",
          all(l.rstrip().endswith("test-key") for l in rows[1:]), r.stdout)
    check("demo show: one expired key", sum("expired,test-key" in l for l in rows) == 1, r.stdout)
    r = run(sensor, ["keys", "show", "--json", "-c", CONFIG])
    objs = [json.loads(l) for l in r.stdout.splitlines()]
    check("demo show --json: 8 objects", r.returncode == 0 and len(objs) == 8, r.stdout)
    want = {k["kid"]: jkt(k) for f in glob.glob(os.path.join(ROOT, "etc", "demo", "keys", "*.jwks.json"))
            for k in json.load(open(f))["keys"]}
    check("demo show --json: kid, jkt (RFC 7638) of every demo key",
          {o.get("kid"): o.get("jkt") for o in objs} == want, r.stdout)
    org1 = [o for o in objs if o.get("keyset") == "demo-organizations" and "x5c" not in o]
    check("demo show --json: certificate validity, x5t, source, age, revoked false",
          all(o.get("not_after") and o.get("x5t") and o.get("source", "").endswith(
              "demo-organizations.jwks.json") and isinstance(o.get("source_age"), int) and
              o.get("revoked") is False and o.get("bits") == 2048 for o in org1), str(org1))
    check("demo show --json: curves named",
          sorted(o.get("crv") for o in objs if "crv" in o) == ["Ed25519", "P-256", "P-384"],
          r.stdout)
    r = run(sensor, ["keys", "check", "-c", CONFIG])
    lines = r.stdout.splitlines()
    check("demo check: exit 1 (the demo trusts published test keys, by design)",
          r.returncode == 1, r.stderr)
    check("demo check: each of the 8 keys named as a test key",
          sorted(l.split(": kid ")[1].split(":")[0] for l in lines if "test key" in l) ==
          sorted(want), r.stdout)
    check("demo check: the expired certificate named",
          sum("certificate expired (not after 2021-04-04T14:43:35Z)" in l for l in lines) == 1,
          r.stdout)
    check("demo check: a summary line on stderr", "9 findings" in r.stderr, r.stderr)


def part_testkeys(sensor, wd):
    keys = []
    for pem in sorted(glob.glob(os.path.join(ROOT, "tests", "gen", "keys", "*.pem"))):
        priv = serialization.load_pem_private_key(open(pem, "rb").read(), password=None)
        keys.append(jwk_of(priv.public_key(), os.path.basename(pem)))
    cfg = config(wd, "testkeys", [("all-test-keys", {"keys": keys}, [ISS])])
    r = run(sensor, ["keys", "check", "-c", cfg])
    named = {l.split(": kid ")[1].split(":")[0] for l in r.stdout.splitlines() if "test key" in l}
    check("every tests/gen/keys/*.pem is a known test key (%d)" % len(keys),
          r.returncode == 1 and len(keys) >= 9 and named == {k["kid"] for k in keys},
          "%s\n%s" % (r.stdout, r.stderr))


def part_rfc_keys(sensor, wd):
    """The example keys printed in RFC 7520 (section 3.2 EC, 3.4 RSA) and RFC 8037 (Ed25519),
    read from ../shared's copy of the JOSE cookbook when present: each is a known test key."""
    book = os.path.join(ROOT, "..", "shared", "corpora", "rfc7520-jose-cookbook")
    if not os.path.isdir(book):
        print("skip  RFC example keys: %s absent" % book)
        return
    keys = []
    for f, src in (("jwk/3_2.ec_private_key.json", "RFC 7520 section 3.2"),
                   ("jwk/3_4.rsa_private_key.json", "RFC 7520 section 3.4"),
                   ("curve25519/jws.json", "RFC 8037 appendix A.1")):
        d = json.load(open(os.path.join(book, f)))
        k = d["input"]["key"] if "input" in d else d
        pub = {m: v for m, v in k.items() if m in ("kty", "crv", "x", "y", "n", "e")}
        pub["kid"] = "rfc-%d" % len(keys)
        keys.append((pub, src))
    cfg = config(wd, "rfckeys", [("rfc", {"keys": [k for k, _ in keys]}, [ISS])])
    r = run(sensor, ["keys", "check", "-c", cfg])
    for k, src in keys:
        check("%s's example key is a known test key" % src,
              any(": kid %s: test key: its private half is published (%s" % (k["kid"], src) in l
                  for l in r.stdout.splitlines()), r.stdout + r.stderr)


def part_gate(sensor, wd):
    """The sensor refuses to start on a published test key unless allow-test-keys is set, and
    starts (warning) on a keyset keys update has not fetched yet."""
    org = json.load(open(ORG_JWKS))
    cfg = config(wd, "gate", [("org", org, [ISS])])
    pem = "tests/gen/keys/TEST-ONLY-org-1.key.pem"
    r = run(sensor, ["-c", cfg, "-r", "pcaps/demo", "-l", wd, "-q"])
    err = [l for l in r.stderr.splitlines() if l.strip()]
    check("test key without allow-test-keys: exit 2, one line naming file:line, keyset, kid and "
          "the private half", r.returncode == 2 and len(err) == 1 and err[0] ==
          "tokenwatch: %s:2: keysets.org.jwks: key %s is a published TEST key (private half: "
          "%s): anyone can sign tokens it accepts; trust it only in a demo or test "
          "configuration, with allow-test-keys: yes" % (cfg, org["keys"][0]["kid"], pem),
          r.stderr)
    logdir = os.path.join(wd, "gate-logs")
    os.makedirs(logdir)
    r = run(sensor, ["-c", cfg, "--set", "allow-test-keys=yes", "-r", "pcaps/demo", "-l",
                     logdir, "-q"])
    check("the same with allow-test-keys: yes: the sensor runs (exit 0)", r.returncode == 0,
          r.stderr)
    r = run(sensor, ["check-token", "-c", cfg, "--jwks", ORG_JWKS, "x.y.z"])
    check("check-token is not gated (it reports, it does not trust in production)",
          "published TEST key" not in r.stderr, r.stderr)
    # jwks-uri named, file not there yet: the installed configuration before its first update
    pend = os.path.join(wd, "pending.yaml")
    missing = os.path.join(wd, "never-fetched.jwks.json")
    write(pend, "keysets:\n  - name: idp\n    jwks-uri: https://idp.test/jwks\n"
          "    jwks: %s\n    issuers: [\"%s\"]\n" % (missing, ISS))
    logdir = os.path.join(wd, "pending-logs")
    os.makedirs(logdir)
    r = run(sensor, ["-c", pend, "-r", "pcaps/demo", "-l", logdir, "-q"])
    check("a keyset with a URL whose file is not fetched yet: the sensor starts and warns "
          "what to run", r.returncode == 0 and
          "tokenwatch: warning: %s:2: keysets.idp.jwks: %s not fetched yet: run `tokenwatch keys "
          "update`; until then tokens of its issuers are judged key_unknown" % (pend, missing)
          in r.stderr, r.stderr)
    r = run(sensor, ["keys", "check", "-c", pend])
    check("keys check on it: exit 1, 'not fetched yet'", r.returncode == 1 and
          r.stdout == "%s:2: keyset idp: %s not fetched yet: run `tokenwatch keys update` (until "
          "then tokens of its issuers are judged key_unknown)\n" % (pend, missing),
          r.stdout + r.stderr)


def part_lint(sensor, wd):
    good, other = ec_key(0x1f2e3d4c5b6a79881f2e3d4c5b6a7988), ec_key(0x2c3b4a5968778695a4b3c2d1)
    gj, oj = jwk_of(good.public_key(), "good-1"), jwk_of(other.public_key(), "other-1")
    clean = config(wd, "clean", [("api", {"keys": [gj]}, [ISS]),
                                 ("partner", {"keys": [oj]}, ["https://partner.example.org"])])
    r = run(sensor, ["keys", "check", "-c", clean])
    check("clean config: check exit 0, no output", r.returncode == 0 and r.stdout == "",
          "%d %s %s" % (r.returncode, r.stdout, r.stderr))
    r = run(sensor, ["keys", "show", "--json", "-c", clean])
    objs = [json.loads(l) for l in r.stdout.splitlines()]
    check("clean config: show --json live keys, issuer scope from the keyset",
          r.returncode == 0 and [o.get("state") for o in objs] == ["live", "live"] and
          objs[0].get("issuers") == [ISS] and objs[0].get("jkt") == jkt(gj), r.stdout)

    D = datetime.datetime
    exp = with_cert(good, "old-1", D(2015, 1, 1), D(2016, 1, 1))
    cfg = config(wd, "expired", [("api", {"keys": [exp]}, [ISS])])
    r = run(sensor, ["keys", "check", "-c", cfg])
    check("expired x5c: check exit 1, one line with file, keyset and kid",
          r.returncode == 1 and r.stdout.splitlines() == [
              "%s: keyset api: kid old-1: certificate expired (not after 2016-01-01T00:00:00Z)"
              % os.path.join(wd, "expired-api.jwks.json")], r.stdout + r.stderr)
    r = run(sensor, ["keys", "show", "-c", cfg])
    check("expired x5c: show marks it expired, with its validity",
          r.returncode == 0 and "2015-01-01  2016-01-01" in r.stdout and
          r.stdout.splitlines()[1].rstrip().endswith("expired"), r.stdout)

    cfg = config(wd, "empty", [("api", {"keys": [gj]}, [ISS]),
                               ("nothing", {"keys": []}, ["https://nothing.example"])])
    r = run(sensor, ["keys", "check", "-c", cfg])
    check("empty keyset: check exit 1, the config's file and line, the keyset",
          r.returncode == 1 and r.stdout.startswith("%s:6: keyset nothing: no key in " % cfg) and
          len(r.stdout.splitlines()) == 1, r.stdout + r.stderr)

    cfg = config(wd, "twice", [("api", {"keys": [gj]}, [ISS, "https://x.example/{tenantid}"]),
                               ("api-copy", {"keys": [oj]}, ["https://x.example/{tenantid}"])])
    r = run(sensor, ["keys", "check", "-c", cfg])
    check("one issuer pattern claimed by two keysets: check exit 1, both named",
          r.returncode == 1 and r.stdout.splitlines() == [
              "%s:7: keyset api-copy: issuer https://x.example/{tenantid} is also claimed by "
              "keyset api (line 2)" % cfg], r.stdout + r.stderr)

    rev = os.path.join(wd, "revoked.txt")
    write(rev, "# test\nkid other-1 leaked in a test\n")
    cfg = config(wd, "revoked", [("api", {"keys": [gj]}, [ISS]),
                                 ("partner", {"keys": [oj]}, ["https://partner.example.org"])],
                 "revoked-keys-file: %s\nrevoked-keys:\n  - jkt: %s\n" % (rev, jkt(gj)))
    r = run(sensor, ["keys", "check", "-c", cfg])
    check("revoked keys listed (file: kid, inline: jkt): check exit 1, one line each",
          r.returncode == 1 and sorted(r.stdout.splitlines()) == sorted([
              "%s: keyset api: kid good-1: revoked key still trusted" %
              os.path.join(wd, "revoked-api.jwks.json"),
              "%s: keyset partner: kid other-1: revoked key still trusted: leaked in a test" %
              os.path.join(wd, "revoked-partner.jwks.json")]), r.stdout + r.stderr)
    r = run(sensor, ["keys", "show", "--json", "-c", cfg])
    objs = [json.loads(l) for l in r.stdout.splitlines()]
    check("revoked keys: show --json marks them, with the file's reason",
          [(o.get("revoked"), o.get("state"), o.get("revoked_reason")) for o in objs] ==
          [(True, "revoked", None), (True, "revoked", "leaked in a test")], r.stdout)
    r = run(sensor, ["keys", "show", "-c", cfg])
    check("revoked keys: the table marks them",
          [l.split()[-1] for l in r.stdout.splitlines()[1:]] == ["revoked", "revoked"], r.stdout)

    nokeys = os.path.join(wd, "nokeysets.yaml")
    write(nokeys, "keysets: []\n")
    r = run(sensor, ["keys", "check", "-c", nokeys])
    check("no keyset at all: check exit 1, one line", r.returncode == 1 and r.stdout.splitlines()
          == ["%s: no keyset: nothing is trusted, every token is judged issuer_untrusted" % nokeys],
          r.stdout + r.stderr)
    r = run(sensor, ["keys", "show", "-c", nokeys])
    check("no keyset at all: show prints the header only, exit 0",
          r.returncode == 0 and len(r.stdout.splitlines()) == 1, r.stdout + r.stderr)

    # Configuration errors: exit 2, file, line and key.
    bad = config(wd, "unknownkey", [("api", {"keys": [gj]}, [ISS])], "policy:\n  clok-skew: 5\n")
    for sub in ("show", "check"):
        r = run(sensor, ["keys", sub, "-c", bad])
        check("unknown key: keys %s exit 2, file:line: key" % sub,
              r.returncode == 2 and "%s:7: policy.clok-skew" % bad in r.stderr and not r.stdout,
              "%d %s" % (r.returncode, r.stderr))
    bad = config(wd, "nojwks", [("api", None, [ISS])])
    r = run(sensor, ["keys", "check", "-c", bad])
    check("missing JWKS file: exit 2, file:line: keysets.api.jwks",
          r.returncode == 2 and "%s:2: keysets.api.jwks" % bad in r.stderr, r.stderr)
    badrev = os.path.join(wd, "badrev.txt")
    write(badrev, "# ok\nkid fine\nsha1 12:34 not a thumbprint\n")
    bad = config(wd, "badrev", [("api", {"keys": [gj]}, [ISS])], "revoked-keys-file: %s\n" % badrev)
    r = run(sensor, ["keys", "show", "-c", bad])
    check("bad revocation file: exit 2, the config's line and key, the file's line",
          r.returncode == 2 and "%s:6: revoked-keys-file: %s:3: sha1: expected 40 hex digits"
          % (bad, badrev) in r.stderr, r.stderr)
    bad = config(wd, "norev", [("api", {"keys": [gj]}, [ISS])],
                 "revoked-keys-file: %s\n" % os.path.join(wd, "absent.txt"))
    r = run(sensor, ["keys", "check", "-c", bad])
    check("missing revocation file: exit 2", r.returncode == 2 and "absent.txt" in r.stderr,
          r.stderr)
    r = run(sensor, ["keys", "list"])
    check("keys list: usage error, exit 2", r.returncode == 2 and "keys show" in r.stderr,
          r.stderr)
    r = run(sensor, ["keys", "check", "--json"])
    check("keys check --json: usage error, exit 2", r.returncode == 2, r.stderr)
    r = run(sensor, ["--help"])
    check("--help lists keys show and keys check",
          "tokenwatch keys show" in r.stdout and "tokenwatch keys check" in r.stdout, r.stdout)


def org_config(wd, name, rev):
    issuers = ["https://login.microsoftonline.com/{tenantid}/v2.0",
               "https://sts.windows.net/{tenantid}/"]
    return config(wd, name, [("org", json.load(open(ORG_JWKS)), issuers)],
                  "outputs:\n  eve:\n    filename: eve.json\n    types: [alert, token, stats]\n"
                  "revoked-keys-file: %s\nallow-test-keys: yes\n" % rev)


def part_verdicts(sensor, wd):
    tok, kid, iat = R.pick_token()
    check("a demo-organizations token in the demo capture", tok is not None)
    if not tok:
        return
    key = [k for k in json.load(open(ORG_JWKS))["keys"] if k["kid"] == kid][0]
    der = base64.b64decode(key["x5c"][0])
    sha1 = hashlib.sha1(der).hexdigest().upper()
    rev = os.path.join(wd, "verdict-revoked.txt")
    cfg = org_config(wd, "verdict", rev)
    at = str(iat + 60)
    cases = [("none", "# nothing revoked\n", []),
             ("kid", "kid %s\n" % kid, ["key_revoked"]),
             ("jkt", "jkt %s  compromised\n" % jkt(key), ["key_revoked"]),
             ("sha1 with colons", "sha1 %s\n" % ":".join(sha1[i:i + 2] for i in range(0, 40, 2)),
              ["key_revoked"]),
             ("another key's kid", "kid someone-else\n", [])]
    for what, text, want in cases:
        write(rev, text)
        r = run(sensor, ["check-token", "-c", cfg, "--at", at, tok])
        try:
            o = json.loads(r.stdout)
        except ValueError:
            o = {}
        check("check-token, revoked-keys-file lists %s: findings %s" % (what, want),
              r.returncode == 0 and o.get("findings") == want and o.get("signature") == "valid",
              r.stdout + r.stderr)


def part_reload(sensor, wd):
    tok, kid, iat = R.pick_token()
    if not tok:
        return
    rd = os.path.join(wd, "reload")
    os.makedirs(rd)
    rev = os.path.join(rd, "revoked.txt")
    write(rev, "# nothing yet\n")
    cfg = org_config(rd, "reload", rev)
    fifo = os.path.join(rd, "capture.fifo")
    os.mkfifo(fifo)
    ports, t0 = [53001, 53002, 53003, 53004], iat + 60
    proc = subprocess.Popen([sensor, "-c", cfg, "-r", fifo, "-l", rd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=rd)
    err = R.Stderr(proc.stderr)
    rc = None
    try:
        w = os.open(fifo, os.O_WRONLY)
        os.write(w, R.part_bytes(tok, ports[0], t0, header=True))
        check("reload part 1 read", R.drained(proc.pid, w))

        write(rev, "kid %s reload test\n" % kid)
        n = len(err.lines)
        proc.send_signal(signal.SIGHUP)
        line = err.wait_for(r"reload", n)
        check("reload 1 (file names the key): 1 revoked", line is not None and
              "reloaded the key sets" in line and ", 1 revoked" in line, str(line))
        os.write(w, R.part_bytes(tok, ports[1], t0 + 10, header=False))
        check("reload part 2 read", R.drained(proc.pid, w))

        write(rev, "kid %s\nbogus line\n" % kid)
        n = len(err.lines)
        proc.send_signal(signal.SIGHUP)
        line = err.wait_for(r"reload", n)
        check("reload 2 (broken file): failure naming config line, file and line",
              line is not None and line.startswith(
                  "tokenwatch: reload failed, keeping the running key sets: %s:" % cfg) and
              "revoked-keys-file: %s:2: " % rev in line, str(line))
        os.write(w, R.part_bytes(tok, ports[2], t0 + 20, header=False))
        check("reload part 3 read", R.drained(proc.pid, w))

        write(rev, "# emptied\n")
        n = len(err.lines)
        proc.send_signal(signal.SIGHUP)
        line = err.wait_for(r"reload", n)
        check("reload 3 (emptied): 0 revoked", line is not None and ", 0 revoked" in line,
              str(line))
        check("reload: no setting reported as not applied",
              not any("not applied" in l for l in err.lines), str(err.lines))
        os.write(w, R.part_bytes(tok, ports[3], t0 + 30, header=False))
        os.close(w)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err.t.join(timeout=5)
    check("reload: exit 0 at end of file", rc == 0, "%s %s" % (rc, err.lines))
    recs = []
    for p in glob.glob(os.path.join(rd, "eve.json*")):
        recs += [json.loads(l) for l in open(p) if l.strip()]
    by_port = {}
    for r in recs:
        if r.get("event_type") == "token":
            by_port.setdefault(r.get("src_port"), []).append(r["token"].get("findings"))
    check("reload: valid, key_revoked after the file named it, still after a broken file, "
          "valid once emptied",
          [by_port.get(p) for p in ports] == [[[]], [["key_revoked"]], [["key_revoked"]], [[]]],
          str(by_port))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    sensor = os.path.abspath(a.sensor)
    wd = os.path.abspath(a.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    part_demo(sensor)
    part_testkeys(sensor, wd)
    part_rfc_keys(sensor, wd)
    part_gate(sensor, wd)
    part_lint(sensor, wd)
    part_verdicts(sensor, wd)
    if os.path.isdir("/proc/self/task"):
        part_reload(sensor, wd)
    else:
        print("skip: the reload part needs Linux /proc")
    print(f"keys cli: {len(failures)} failed" if failures else "keys cli: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
