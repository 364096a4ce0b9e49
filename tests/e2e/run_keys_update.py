#!/usr/bin/env python3
"""`tokenwatch keys update` against real TLS on loopback (no root): a test CA made here, a server
certificate for 127.0.0.1/localhost, python3's http.server wrapped in ssl serving OIDC discovery
documents and JWK Sets that change between runs. Runs `keys update --ca-file` through:

  1. first fetch (through a discovery document)     -> 3 keys added, file written with history
  2. rotation: one key added, one dropped, one with new material under the same kid
                                                     -> added / retired / changed; the dropped key
                                                        and the old material kept as retired,
                                                        first_seen kept
  3. an unreachable provider                         -> exit 1, one line, old file byte-identical
     libcurl absent (root: hidden in a private mount namespace; the binary opens it at the
     first fetch)                                   -> exit 1, one line, old file byte-identical
  4. a server whose certificate another CA signed    -> refused (exit 1), old file kept
  5. a redirect to plain http; a discovery document whose jwks_uri is http
                                                     -> refused (exit 1), old file kept
  6. an oversized document, a garbage one, a JSON document that is not a JWK Set
                                                     -> refused (exit 1), old file kept
  7. an `oct` key and a 1024-bit RSA key beside a good one
                                                     -> both reported refused, the good one written
  8. history bounded: a retired key last seen beyond keep-retired is pruned
  9. `--dry-run` writes nothing; a configuration with no URL, an http URL, or both a jwks-uri
     and a discovery URL is exit 2
Then a sensor reading a named pipe with --pidfile is told to reload by `keys update --pidfile`
and reloads the updated file; check-token -c with the updated configuration judges a token signed by the retired key
(issued before its retirement) valid, one signed by a live key and ones signed by a changed kid's new
and old material valid (every key under the kid is tried), and one signed by a key that was never
published not valid; `keys show` says "retired" for the retired keys. The keys
are made fresh each run (python3-cryptography, Debian's).
"""
import argparse
import base64
import datetime
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID

FAILS = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        FAILS.append(what)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def ec_jwk(priv, kid):
    n = priv.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": b64u(n.x.to_bytes(32, "big")), "y": b64u(n.y.to_bytes(32, "big"))}


def rsa_jwk(priv, kid):
    n = priv.public_key().public_numbers()
    return {"kty": "RSA", "use": "sig", "kid": kid,
            "n": b64u(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big")),
            "e": b64u(n.e.to_bytes(3, "big"))}


def es256(priv, kid, claims):
    h = b64u(json.dumps({"alg": "ES256", "typ": "JWT", "kid": kid}).encode())
    c = b64u(json.dumps(claims).encode())
    der = priv.sign((h + "." + c).encode(), ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    return h + "." + c + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


# --- a test CA and server certificates -------------------------------------------------------

def make_ca(name):
    key = ec.generate_private_key(ec.SECP256R1())
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def make_server_cert(ca_key, ca_cert, d, stem, names=()):
    """A server certificate for localhost, 127.0.0.1 and the DNS names given."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    import ipaddress
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))] +
                [x509.DNSName(n) for n in names]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    crt, kf = os.path.join(d, stem + ".crt"), os.path.join(d, stem + ".key")
    with open(crt, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kf, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return crt, kf


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        # by host and path (several providers behind one server), else by path alone
        host = (self.headers.get("Host") or "").split(":")[0]
        doc = self.server.docs.get(host + self.path, self.server.docs.get(self.path))
        if doc is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, headers, body = doc
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def serve(crt, key, tls=True):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.handle_error = lambda request, address: None  # clients that hang up (size limit, bad CA)
    srv.docs = {}
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="tw-keys-update-")
    try:
        run_all(os.path.abspath(args.sensor), d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        return 1
    print("all checks passed")
    return 0


def run_all(sensor, d):
    ca_key, ca_cert = make_ca("tokenwatch TEST CA")
    ca_file = os.path.join(d, "ca.pem")
    with open(ca_file, "wb") as f:
        f.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    srv = serve(*make_server_cert(ca_key, ca_cert, d, "server"))
    other_key, other_cert = make_ca("another CA")
    wrong = serve(*make_server_cert(other_key, other_cert, d, "wrong"))
    plain = serve(None, None, tls=False)
    base = "https://127.0.0.1:%d" % srv.server_address[1]
    env = dict(os.environ)
    for v in ("CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        env.pop(v, None)

    def cfg(name, jwks, **urls):
        path = os.path.join(d, name + ".yaml")
        lines = ["keysets:", "  - name: %s" % name, "    jwks: %s" % jwks,
                 '    issuers: ["https://idp.test"]']
        for k, v in urls.items():
            lines.append("    %s: %s" % (k.replace("_", "-"), v))
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def update(conf, *extra):
        r = subprocess.run([sensor, "keys", "update", "-c", conf, "--ca-file", ca_file, *extra],
                           capture_output=True, text=True, env=env, timeout=120)
        print("  $ keys update -c %s %s -> %d" % (os.path.basename(conf), " ".join(extra),
                                                   r.returncode))
        for line in (r.stdout + r.stderr).splitlines():
            print("    | " + line)
        return r

    def jwks_doc(*keys):
        return (200, {"Content-Type": "application/json"}, json.dumps({"keys": list(keys)}).encode())

    def load(path):
        with open(path) as f:
            return json.load(f)["keys"]

    def by_kid(keys):
        out = {}
        for k in keys:
            out.setdefault(k.get("kid"), []).append(k)
        return out

    priv = {n: ec.generate_private_key(ec.SECP256R1()) for n in ("A", "B", "C", "C2", "D", "E", "X")}
    jwk = {n: ec_jwk(priv[n], n if n != "C2" else "C") for n in priv}

    # 1. first fetch, through discovery
    rot = os.path.join(d, "rot.jwks.json")
    srv.docs["/rot/.well-known/openid-configuration"] = (200, {}, json.dumps(
        {"issuer": "https://idp.test", "jwks_uri": base + "/rot/jwks"}).encode())
    srv.docs["/rot/jwks"] = jwks_doc(jwk["A"], jwk["B"], jwk["C"])
    rot_cfg = cfg("rot", rot, discovery=base + "/rot/.well-known/openid-configuration")
    r = update(rot_cfg)
    check(r.returncode == 0, "first fetch: exit 0")
    check(all("added %s" % k in r.stdout for k in "ABC"), "first fetch: A, B, C added")
    keys = load(rot) if os.path.exists(rot) else []
    check(sorted(k["kid"] for k in keys) == ["A", "B", "C"], "first fetch: the file holds A, B, C")
    check(all("first_seen" in k.get("x-tokenwatch", {}) and "last_seen" in k["x-tokenwatch"]
              and not k["x-tokenwatch"].get("retired") for k in keys),
          "first fetch: every key has first_seen and last_seen, none retired")
    first_b = by_kid(keys).get("B", [{}])[0].get("x-tokenwatch", {}).get("first_seen")

    # --dry-run writes nothing
    srv.docs["/rot/jwks"] = jwks_doc(jwk["A"])
    before = open(rot, "rb").read()
    r = update(rot_cfg, "--dry-run")
    check(r.returncode == 0 and "retired B" in r.stdout and open(rot, "rb").read() == before,
          "--dry-run: the diff printed, the file untouched")

    # 2. rotation: D added, B dropped (retired), C's material changed
    time.sleep(1.1)  # last_seen of the retired key must be the earlier run's
    srv.docs["/rot/jwks"] = jwks_doc(jwk["A"], jwk["C2"], jwk["D"])
    r = update(rot_cfg)
    check(r.returncode == 0, "rotation: exit 0")
    check("added D" in r.stdout and "retired B" in r.stdout and "changed C" in r.stdout,
          "rotation: D added, B retired, C changed")
    check("added A" not in r.stdout and "retired A" not in r.stdout, "rotation: A unchanged")
    keys = by_kid(load(rot))
    b = keys.get("B", [{}])[0].get("x-tokenwatch", {})
    check(b.get("retired") is True and b.get("first_seen") == first_b
          and b.get("last_seen", "") < keys["A"][0]["x-tokenwatch"]["last_seen"],
          "rotation: B kept as retired, first_seen kept, last_seen the earlier run's")
    cs = keys.get("C", [])
    check(len(cs) == 2 and sorted(bool(c["x-tokenwatch"].get("retired")) for c in cs) == [False, True]
          and [c["x"] for c in cs if not c["x-tokenwatch"].get("retired")] == [jwk["C2"]["x"]],
          "rotation: C's new material live, the old kept as retired")
    check(not keys["D"][0]["x-tokenwatch"].get("retired"), "rotation: D live")

    # keys show says retired
    r = subprocess.run([sensor, "keys", "show", "-c", rot_cfg, "--json"], capture_output=True,
                       text=True, timeout=60)
    rows = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    states = {(x.get("kid"), x.get("state")) for x in rows}
    check(r.returncode == 0 and ("B", "retired") in states and ("A", "live") in states,
          "keys show: B retired, A live")

    # History is bounded by keep-retired (seconds since a retired key's last sighting): B made
    # 500 days stale is pruned under the default (365 days), C's old material (retired just now)
    # kept; keep-retired: 0 drops every retired key at once. Live keys are never pruned.
    pr = os.path.join(d, "prune.jwks.json")
    keys = load(rot)
    for k in keys:
        if k["kid"] == "B":
            k["x-tokenwatch"]["last_seen"] = "2020-01-01T00:00:00Z"
    with open(pr, "w") as f:
        json.dump({"keys": keys}, f)
    srv.docs["/prune/jwks"] = jwks_doc(jwk["A"], jwk["C2"], jwk["D"])
    r = update(cfg("prune", pr, jwks_uri=base + "/prune/jwks"))
    kept = sorted((k["kid"], bool(k["x-tokenwatch"].get("retired"))) for k in load(pr))
    check(r.returncode == 0 and "pruned B (retired, last seen 2020-01-01T00:00:00Z: beyond "
          "keep-retired)" in r.stdout and "0 added, 0 retired, 0 changed, 0 refused, 1 pruned; "
          "3 live, 1 retired" in r.stdout and
          kept == [("A", False), ("C", False), ("C", True), ("D", False)],
          "keep-retired default (365 days): B last seen in 2020 pruned, the rest kept: %s" % kept)
    path = cfg("prune0", pr, jwks_uri=base + "/prune/jwks")
    with open(path, "a") as f:
        f.write("    keep-retired: 0\n")
    r = update(path)
    kept = sorted((k["kid"], bool(k["x-tokenwatch"].get("retired"))) for k in load(pr))
    check(r.returncode == 0 and "pruned C" in r.stdout and
          kept == [("A", False), ("C", False), ("D", False)],
          "keep-retired: 0: every retired key pruned, the live ones kept: %s" % kept)

    def untouched(name, url_kw, url, want_in_line):
        path = os.path.join(d, name + ".jwks.json")
        shutil.copy(rot, path)
        before = open(path, "rb").read()
        r = update(cfg(name, path, **{url_kw: url}))
        err = [l for l in r.stderr.splitlines() if l.strip()]
        check(r.returncode == 1 and len(err) == 1 and want_in_line.lower() in err[0].lower(),
              "%s: exit 1, one line naming %r" % (name, want_in_line))
        check(open(path, "rb").read() == before, "%s: old file untouched" % name)

    # 3. unreachable
    untouched("unreachable", "jwks_uri", "https://127.0.0.1:%d/jwks" % closed_port(), "127.0.0.1")
    # 3b. libcurl absent (it is opened at the first fetch, not linked): exit 1, one line naming
    # it, the old file untouched. Root only: a private mount namespace hides the library.
    lib = libcurl_path()
    if os.geteuid() == 0 and lib and shutil.which("unshare"):
        path = os.path.join(d, "nocurl.jwks.json")
        shutil.copy(rot, path)
        before = open(path, "rb").read()
        conf = cfg("nocurl", path, jwks_uri="https://127.0.0.1:%d/jwks" % srv.server_address[1])
        r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            'mount --bind /dev/null "$0" && exec "$@"', lib, sensor, "keys",
                            "update", "-c", conf, "--ca-file", ca_file],
                           capture_output=True, text=True, env=env, timeout=120)
        err = [l for l in r.stderr.splitlines() if l.strip()]
        print("  $ keys update -c nocurl.yaml (libcurl hidden) -> %d" % r.returncode)
        for line in (r.stdout + r.stderr).splitlines():
            print("    | " + line)
        check(r.returncode == 1 and len(err) == 1 and "cannot load libcurl" in err[0],
              "libcurl absent: exit 1, one line saying it cannot load libcurl")
        check(open(path, "rb").read() == before, "libcurl absent: old file untouched")
    else:
        print("  (libcurl absent: not run, it needs root, unshare and libcurl.so.4's path)")
    # 4. a certificate from another CA
    wrong.docs["/jwks"] = jwks_doc(jwk["A"])
    untouched("wrong-cert", "jwks_uri", "https://127.0.0.1:%d/jwks" % wrong.server_address[1],
              "certificate")
    # 5. redirect to plain http; discovery naming an http jwks_uri
    plain.docs["/jwks"] = jwks_doc(jwk["A"])
    http_url = "http://127.0.0.1:%d/jwks" % plain.server_address[1]
    srv.docs["/to-http"] = (302, {"Location": http_url}, b"")
    untouched("redirect-http", "jwks_uri", base + "/to-http", "redirected to a URL that is not https")
    srv.docs["/http-disc"] = (200, {}, json.dumps({"jwks_uri": http_url}).encode())
    untouched("discovery-http", "discovery", base + "/http-disc", "not an https URL")
    # a redirect to https is followed
    srv.docs["/to-https"] = (302, {"Location": base + "/rot/jwks"}, b"")
    r = update(cfg("redirect-https", os.path.join(d, "rh.jwks.json"), jwks_uri=base + "/to-https"))
    check(r.returncode == 0, "a redirect to https is followed")
    # 6. oversized, garbage, not a JWK Set
    big = {"keys": [jwk["A"]], "pad": "x" * (2 << 20)}
    srv.docs["/big"] = (200, {}, json.dumps(big).encode())
    untouched("oversized", "jwks_uri", base + "/big", "larger than")
    srv.docs["/garbage"] = (200, {}, b"\x00\xffnot json{{{")
    untouched("garbage", "jwks_uri", base + "/garbage", "not JSON")
    srv.docs["/notset"] = (200, {}, b'{"issuer": "https://idp.test"}')
    untouched("not-a-set", "jwks_uri", base + "/notset", "not a JWK Set")
    srv.docs["/404"] = None
    untouched("http-404", "jwks_uri", base + "/404", "404")

    # 7. refused keys reported, the good one kept
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    srv.docs["/mixed"] = jwks_doc({"kty": "oct", "kid": "sym", "k": b64u(b"0123456789abcdef")},
                                  rsa_jwk(weak, "rsa1024"), jwk["E"])
    mixed = os.path.join(d, "mixed.jwks.json")
    r = update(cfg("mixed", mixed, jwks_uri=base + "/mixed"))
    check(r.returncode == 0 and "refused sym" in r.stdout and "refused rsa1024" in r.stdout,
          "mixed: the oct key and the 1024-bit RSA key reported refused")
    check(os.path.exists(mixed) and [k["kid"] for k in load(mixed)] == ["E"],
          "mixed: only the usable key written")
    srv.docs["/allbad"] = jwks_doc({"kty": "oct", "kid": "sym", "k": b64u(b"0123456789abcdef")})
    untouched("all-refused", "jwks_uri", base + "/allbad", "no usable key")

    # 8. no URL at all, an http URL, both URLs: usage/configuration
    r = update(cfg("nourl", rot))
    check(r.returncode == 2, "no keyset with a URL: exit 2")
    r = update(cfg("httpurl", rot, jwks_uri=http_url))
    check(r.returncode == 2 and "keysets[0].jwks-uri: not an https URL" in r.stderr,
          "an http jwks-uri: exit 2 naming the key")
    r = update(cfg("both", rot, jwks_uri=base + "/rot/jwks",
                   discovery=base + "/rot/.well-known/openid-configuration"))
    check(r.returncode == 2 and "jwks-uri or discovery, not both" in r.stderr,
          "jwks-uri and discovery together: exit 2")

    # the sensor's verdicts on the updated file
    now = int(time.time())
    claims = {"iss": "https://idp.test", "sub": "u", "aud": "api", "iat": now - 120,
              "exp": now + 600}

    def judge(tok):
        r = subprocess.run([sensor, "check-token", "-c", rot_cfg, tok], capture_output=True,
                           text=True, timeout=60)
        try:
            return json.loads(r.stdout)
        except ValueError:
            print("    | " + r.stdout + r.stderr)
            return {}

    for name, key, kid, want in (("retired B", "B", "B", "valid"), ("live A", "A", "A", "valid"),
                                 ("changed C's new material", "C2", "C", "valid"),
                                 ("changed C's old (retired) material", "C", "C", "valid"),
                                 ("never published X", "X", "B", None)):
        v = judge(es256(priv[key], kid, claims))
        sig = v.get("signature")
        print("    verdict %s: signature=%s findings=%s" % (name, sig, v.get("findings")))
        if want:
            check(sig == want and not v.get("findings"), "check-token: %s -> valid, no finding" % name)
        else:
            check(sig not in ("valid", None), "check-token: %s -> not valid" % name)

    # a running sensor (--pidfile) told to reload by keys update --pidfile
    sensor_reload(sensor, d, rot_cfg, rot, update, srv, jwks_doc, jwk)


def sensor_reload(sensor, d, rot_cfg, rot, update, srv, jwks_doc, jwk):
    fifo, pidfile = os.path.join(d, "capture.fifo"), os.path.join(d, "tokenwatch.pid")
    os.mkfifo(fifo)
    proc = subprocess.Popen([sensor, "-c", rot_cfg, "-r", fifo, "-l", d, "--pidfile", pidfile],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    w = None
    try:
        # the pidfile is written once SIGHUP is handled, before the capture is opened: once the
        # sensor opens the pipe, it can be signalled
        w = os.open(fifo, os.O_WRONLY)
        os.write(w, bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
        pid = open(pidfile).read().strip()
        check(pid == str(proc.pid), "--pidfile: the sensor's pid written")
        srv.docs["/rot/jwks"] = jwks_doc(jwk["A"], jwk["C2"], jwk["D"], jwk["E"])
        r = update(rot_cfg, "--pidfile", pidfile)
        want = len(load_keys(rot))
        check(r.returncode == 0 and "told to reload" in r.stderr, "keys update --pidfile: SIGHUP sent")
        end = time.time() + 20
        while time.time() < end and not any("reloaded the key sets" in l for l in lines):
            time.sleep(0.1)
        got = [l.strip() for l in lines if "reloaded the key sets" in l]
        check(len(got) == 1 and ("1 keysets, %d keys" % want) in got[0],
              "the sensor reloaded the updated file (%d keys, retired ones included): %s"
              % (want, got))
    finally:
        if w is not None:
            os.close(w)  # end of file: the sensor ends
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = None
        reader.join(5)
    check(rc == 0, "the sensor exits 0 at end of file")
    check(not os.path.exists(pidfile), "the sensor removed its pidfile")


def libcurl_path():
    """Where the dynamic linker finds libcurl.so.4 (ldconfig's cache), or None."""
    r = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.split() and line.split()[0] == "libcurl.so.4" and "=>" in line:
            return line.split("=>")[-1].strip()
    return None


def load_keys(path):
    with open(path) as f:
        return json.load(f)["keys"]


if __name__ == "__main__":
    sys.exit(main())
