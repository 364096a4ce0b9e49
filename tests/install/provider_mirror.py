"""provider_mirror.py — the installed configuration's identity providers, played on loopback.

The installed /etc/tokenwatch/tokenwatch.yaml names the real providers' discovery and jwks-uri
URLs (login.microsoftonline.com, accounts.google.com, ...) and ships no key material. This test
machine reaches no provider, so one TLS server on 127.0.0.1 answers for all of them: a test CA
made here signs a certificate naming every provider host, each keyset gets a fresh key (RSA 2048,
or P-256 for every other keyset), discovery documents point at a mirror path on the same host,
and `tokenwatch keys update --ca-file CA --connect-to HOST:443:127.0.0.1:PORT` (curl's
--connect-to: the URL, the Host header and the certificate check stay the provider's) fetches them.

check_installed_keys(binary, config, check) runs, on the configuration as installed:
  keys check before any update  -> exit 1, one "not fetched yet" line per keyset with a URL,
                                   no test key, nothing else;
  keys update through the mirror -> exit 0, every keyset "1 added", a file each with history;
  keys check                     -> exit 0, no finding;
  keys show --json               -> one live key per keyset, none a test key.
Python >= 3.9; python3-cryptography (Debian's).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import run_keys_update as K  # noqa: E402  (the test CA, certificates, the TLS server)

from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402


def keysets_of(config):
    """[(name, url kind, url, [issuers])] of the keysets naming a discovery or jwks-uri URL, read
    from the YAML as the shipped file writes it (one key a line; issuers inline or as a list)."""
    out, cur, in_issuers = [], None, False
    for line in open(config):
        s = line.split("#", 1)[0].rstrip()  # the shipped URLs and issuers hold no '#'

        m = re.match(r"^  - name: (\S+)", s)
        if m:
            cur = {"name": m.group(1), "issuers": []}
            out.append(cur)
            in_issuers = False
            continue
        if cur is None or (s and not s.startswith("    ")):
            if s and not s.startswith(" "):
                cur = None
            continue
        m = re.match(r'^    (discovery|jwks-uri): "?([^"\s]+)"?', s)
        if m:
            cur["kind"], cur["url"] = m.group(1), m.group(2)
        m = re.match(r"^    issuers: \[(.*)\]", s)
        if m:
            cur["issuers"] = [i.strip().strip('"') for i in m.group(1).split(",")]
        elif re.match(r"^    issuers:\s*$", s):
            in_issuers = True
        elif in_issuers and re.match(r'^      - "?([^"]+)"?', s):
            cur["issuers"].append(re.match(r'^      - "?([^"]+)"?', s).group(1))
        elif s.startswith("    ") and not s.startswith("      "):
            in_issuers = False
    return [(k["name"], k["kind"], k["url"], k["issuers"]) for k in out if "url" in k]


def build_mirror(keysets, srv):
    """Fills srv.docs for every keyset; returns {name: kid} and the set of host names."""
    kids, hosts = {}, set()
    for i, (name, kind, url, issuers) in enumerate(keysets):
        u = urllib.parse.urlsplit(url)
        hosts.add(u.hostname)
        kid = "mirror-%s-1" % name
        if i % 2:
            jwk = K.ec_jwk(ec.generate_private_key(ec.SECP256R1()), kid)
        else:
            jwk = K.rsa_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid)
        jwks_path = u.path
        if kind == "discovery":
            jwks_path = "/tw-mirror/%s/keys" % name
            disc = {"issuer": issuers[0], "jwks_uri": "https://%s%s" % (u.hostname, jwks_path)}
            srv.docs[u.hostname + u.path] = (200, {"Content-Type": "application/json"},
                                             json.dumps(disc).encode())
        srv.docs[u.hostname + jwks_path] = (200, {"Content-Type": "application/json"},
                                            json.dumps({"keys": [jwk]}).encode())
        kids[name] = kid
    return kids, hosts


def check_installed_keys(binary, config, check, label):
    keysets = keysets_of(config)
    check(f"{label}: the installed configuration names providers to fetch "
          f"({', '.join(k[0] for k in keysets)})", len(keysets) >= 4, keysets)
    r = subprocess.run([binary, "keys", "check", "-c", config], capture_output=True, text=True,
                       timeout=60)
    lines = r.stdout.splitlines()
    pending = [l for l in lines if "not fetched yet: run `tokenwatch keys update`" in l]
    check(f"{label}: keys check before the first update: exit 1, one 'not fetched yet' line "
          f"per keyset, no test key", r.returncode == 1 and len(pending) == len(keysets) and
          len(lines) == len(pending) and "test key" not in r.stdout, r.stdout + r.stderr)
    with tempfile.TemporaryDirectory(prefix="tw-mirror-") as d:
        ca_key, ca_cert = K.make_ca("tokenwatch install test CA")
        ca = os.path.join(d, "ca.crt")
        with open(ca, "wb") as f:
            f.write(ca_cert.public_bytes(K.serialization.Encoding.PEM))
        hosts = sorted({urllib.parse.urlsplit(k[2]).hostname for k in keysets})
        crt, key = K.make_server_cert(ca_key, ca_cert, d, "mirror", names=hosts)
        srv = K.serve(crt, key)
        try:
            kids, hosts = build_mirror(keysets, srv)
            port = srv.server_address[1]
            cmd = [binary, "keys", "update", "-c", config, "--ca-file", ca]
            for h in sorted(hosts):
                cmd += ["--connect-to", "%s:443:127.0.0.1:%d" % (h, port)]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        finally:
            srv.shutdown()
    added = re.findall(r"^  1 added, 0 retired, 0 changed, 0 refused, 0 pruned; 1 live, 0 retired$",
                       r.stdout, re.M)
    check(f"{label}: keys update through the mirror: exit 0, every keyset 1 key added",
          r.returncode == 0 and len(added) == len(keysets), r.stdout + r.stderr)
    cfgdir = os.path.dirname(config)
    files = sorted(os.listdir(os.path.join(cfgdir, "keys")))
    check(f"{label}: one key set file each in keys/, with history",
          files == sorted("%s.jwks.json" % k[0] for k in keysets) and
          all("x-tokenwatch" in json.load(open(os.path.join(cfgdir, "keys", f)))["keys"][0]
              for f in files), files)
    r = subprocess.run([binary, "keys", "check", "-c", config], capture_output=True, text=True,
                       timeout=60)
    check(f"{label}: keys check after the update: exit 0, no finding",
          r.returncode == 0 and r.stdout == "" and "0 findings" in r.stderr, r.stdout + r.stderr)
    r = subprocess.run([binary, "keys", "show", "--json", "-c", config], capture_output=True,
                       text=True, timeout=60)
    try:
        shown = [json.loads(l) for l in r.stdout.splitlines()]
    except ValueError:
        shown = []
    check(f"{label}: keys show: one live key per keyset, the mirror's, no test key",
          r.returncode == 0 and sorted((s["keyset"], s["kid"], s["state"]) for s in shown) ==
          sorted((n, kids[n], "live") for n in kids) and
          not any(s.get("test_key") for s in shown), r.stdout + r.stderr)
