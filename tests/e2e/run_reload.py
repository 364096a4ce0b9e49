#!/usr/bin/env python3
"""Hot reload, offline (no root): SIGHUP rereads the key sets and revoked keys while
`tokenwatch -r FIFO` keeps reading one capture from a named pipe.

The capture is written in four parts, each one HTTP transaction presenting the same token (a demo
token signed by a demo-organizations key) on its own connection:

  1. the key set lacks the token's key                        -> key_unknown
     rename eve.json (logrotate), swap the JWKS for the full one, SIGHUP, wait for "reloaded"
  2. the same token                                           -> verified (the cached key_unknown
                                                                 verdict is not reused), no findings
     break the JWKS (not JSON), SIGHUP -> "reload failed ... FILE:LINE: keysets.NAME.jwks: ..."
     break the YAML, SIGHUP           -> "reload failed ... FILE:LINE: ..."
  3. the same token                                           -> still verified (old store kept)
     fix both, add the key to revoked-keys, change policy.clock-skew, SIGHUP -> "reloaded ...
     1 revoked" and one line naming `policy` as changed but not applied
  4. the same token                                           -> key_revoked

Between parts the test waits until the sensor has read everything written and is blocked on the
pipe again (FIONREAD on the pipe is 0 and its thread sleeps), so "part N was judged before the
reload" is a fact, not a race. The sensor must exit 0 at end of file, and SIGHUP still reopens
eve.json (records after the first reload land in a new file). Stdlib only (tests/gen/pcapgen.py).
"""
import argparse
import base64
import fcntl
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
import pcapgen as P  # noqa: E402

DEMO = os.path.join(ROOT, "pcaps", "demo", "01-office-traffic.pcap")
ORG_JWKS = os.path.join(ROOT, "etc", "demo", "keys", "demo-organizations.jwks.json")
ISSUERS = ["https://login.microsoftonline.com/{tenantid}/v2.0",
           "https://sts.windows.net/{tenantid}/"]
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


def b64u_json(part):
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def pick_token():
    """A demo token signed by a demo-organizations key (kid in that JWKS): (token, kid, iat)."""
    kids = {k["kid"] for k in json.load(open(ORG_JWKS))["keys"]}
    data = open(DEMO, "rb").read()
    for m in re.findall(rb"Bearer (eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)", data):
        tok = m.decode()
        hdr, claims = b64u_json(tok.split(".")[0]), b64u_json(tok.split(".")[1])
        if hdr.get("kid") in kids and hdr.get("alg") == "RS256" and "nonce" not in hdr and \
                claims.get("iss", "").startswith("https://login.microsoftonline.com/"):
            return tok, hdr["kid"], int(claims["iat"])
    return None, None, None


def part_bytes(tok, cport, ts, header):
    """One connection presenting tok, as pcap records (with the file header when asked)."""
    c = P.TcpConn("10.77.0.1", cport, "203.0.113.77").handshake()  # one client: no token_replay
    c.request(P.http_request("GET", "/v1.0/me", "graph.example.com",
                             [("Authorization", "Bearer " + tok)]))
    c.response(P.http_response(200, b'{"id":"1"}'))
    c.close()
    cap = P.Capture()
    cap.add_conn(c, P.Link(), ts)
    b = cap.pcap_bytes()
    return b if header else b[24:]


def write_config(path, jwks, revoked_kid=None, skew=300, broken=False):
    lines = ["outputs:", "  eve:", "    filename: eve.json", "    types: [alert, token, stats]",
             "allow-test-keys: yes", "keysets:", "  - name: reload-org", "    jwks: %s" % jwks, "    issuers:"]
    lines += ['      - "%s"' % i for i in ISSUERS]
    if revoked_kid:
        lines += ["revoked-keys:", "  - kid: %s" % revoked_kid, "    reason: reload test"]
    lines += ["policy:", "  clock-skew: %d" % skew]
    if broken:
        lines += ["  max-lifetime: [unclosed"]
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(path + ".tmp", path)  # atomically: a reload never reads half a file


def write_json(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f)
    os.replace(path + ".tmp", path)


class Stderr:
    """Collects the sensor's stderr lines on a thread; wait_for() a line matching a pattern."""

    def __init__(self, stream):
        self.lines, self.cv = [], threading.Condition()
        self.t = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self.t.start()

    def _run(self, stream):
        for line in stream:
            with self.cv:
                self.lines.append(line.rstrip("\n"))
                self.cv.notify_all()

    def wait_for(self, pattern, after, timeout=20):
        end = time.time() + timeout
        with self.cv:
            while True:
                for line in self.lines[after:]:
                    if re.search(pattern, line):
                        return line
                left = end - time.time()
                if left <= 0:
                    return None
                self.cv.wait(left)


def drained(pid, wfd, timeout=20):
    """True once the sensor has read all bytes written to the pipe and its main thread sleeps
    (blocked reading the pipe for more: everything before has been processed)."""
    end = time.time() + timeout
    stable = 0
    while time.time() < end:
        buf = fcntl.ioctl(wfd, termios.FIONREAD, b"\0\0\0\0")
        left = struct.unpack("i", buf)[0]
        try:
            state = open("/proc/%d/task/%d/stat" % (pid, pid)).read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        stable = stable + 1 if left == 0 and state == "S" else 0
        if stable >= 3:
            return True
        time.sleep(0.05)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    sensor = os.path.abspath(a.sensor)
    if not os.path.isdir("/proc/self/task"):
        print("skip: needs Linux /proc")
        return 77
    tok, kid, iat = pick_token()
    if not tok:
        print("FAIL: no demo-organizations token in the demo capture")
        return 1

    wd = os.path.abspath(a.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    cfg, jwks, fifo = (os.path.join(wd, n)
                       for n in ("reload.yaml", "org.jwks.json", "capture.fifo"))
    full = json.load(open(ORG_JWKS))
    without = {"keys": [k for k in full["keys"] if k["kid"] != kid]}
    write_json(jwks, without)
    write_config(cfg, jwks)
    os.mkfifo(fifo)

    ports = [52001, 52002, 52003, 52004]
    t0 = iat + 60
    proc = subprocess.Popen([sensor, "-c", cfg, "-r", fifo, "-l", wd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=wd)
    err = Stderr(proc.stderr)
    try:
        w = os.open(fifo, os.O_WRONLY)  # blocks until the sensor opens the pipe
        os.write(w, part_bytes(tok, ports[0], t0, header=True))
        check("part 1 read", drained(proc.pid, w))

        os.rename(os.path.join(wd, "eve.json"), os.path.join(wd, "eve.json.1"))
        write_json(jwks, full)
        n = len(err.lines)
        proc.send_signal(signal.SIGHUP)
        line = err.wait_for(r"reloaded", n)
        check("reload 1: one line with the counts",
              line == "tokenwatch: reloaded the key sets: 1 keysets, %d keys, 0 revoked (%s)"
              % (len(full["keys"]), cfg), str(line))
        os.write(w, part_bytes(tok, ports[1], t0 + 10, header=False))
        check("part 2 read", drained(proc.pid, w))

        with open(jwks, "w") as f:
            f.write('{"keys": [ {"kty": "RSA", \n')
        n = len(err.lines)
        proc.send_signal(signal.SIGHUP)
        line = err.wait_for(r"reload", n)
        check("reload 2 (JWKS not JSON): failure line naming the file, line and key",
              line is not None and line.startswith(
                  "tokenwatch: reload failed, keeping the running key sets: %s:7: "
                  "keysets.reload-org.jwks: " % cfg), str(line))
        write_json(jwks, full)
        write_config(cfg, jwks, broken=True)
        n = len(err.lines)
        proc.send_signal(signal.SIGHUP)
        line = err.wait_for(r"reload", n)
        check("reload 3 (YAML broken): failure line naming the file",
              line is not None and line.startswith(
                  "tokenwatch: reload failed, keeping the running key sets: %s:" % cfg), str(line))
        os.write(w, part_bytes(tok, ports[2], t0 + 20, header=False))
        check("part 3 read", drained(proc.pid, w))

        write_config(cfg, jwks, revoked_kid=kid, skew=301)
        n = len(err.lines)
        proc.send_signal(signal.SIGHUP)
        line = err.wait_for(r"reloaded", n)
        check("reload 4: revoked key counted", line is not None and
              ", %d keys, 1 revoked" % len(full["keys"]) in line, str(line))
        ign = err.wait_for(r"not applied", n, timeout=1)
        check("reload 4: changed policy named as not applied",
              ign == "tokenwatch: reload: changed settings not applied until restart: policy",
              str(ign))
        os.write(w, part_bytes(tok, ports[3], t0 + 30, header=False))
        os.close(w)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err.t.join(timeout=5)
    check("exit 0 at end of file", rc == 0, "%s; stderr: %s" % (rc, err.lines))
    check("no capture error", not any("damaged" in l or "cannot" in l for l in err.lines),
          str(err.lines))
    check("stderr: exactly two reloads and two failures",
          sum("reloaded the key sets" in l for l in err.lines) == 2 and
          sum("reload failed" in l for l in err.lines) == 2, str(err.lines))

    recs = []
    for name in ("eve.json.1", "eve.json"):
        path = os.path.join(wd, name)
        check("SIGHUP reopened %s" % name, os.path.exists(path))
        if os.path.exists(path):
            recs += [json.loads(l) for l in open(path) if l.strip()]
    check("the token never appears in the logs",
          not any(tok.split(".")[2] in json.dumps(r) for r in recs) and
          not any(tok.split(".")[2] in l for l in err.lines))
    by_port = {}
    for r in recs:
        if r.get("event_type") == "token":
            by_port.setdefault(r.get("src_port"), []).append(r["token"])
    want = {ports[0]: (["key_unknown"], "not_checked"), ports[1]: ([], "valid"),
            ports[2]: ([], "valid"), ports[3]: (["key_revoked"], "valid")}
    for i, p in enumerate(ports):
        t = by_port.get(p, [])
        f, sig = want[p]
        check("part %d: one token record, findings %s, signature %s" % (i + 1, f, sig),
              len(t) == 1 and t[0].get("findings") == f and t[0].get("signature") == sig,
              json.dumps(t)[:400])
    alerts = sorted((r["src_port"], r["alert"]["signature_id"]) for r in recs
                    if r.get("event_type") == "alert")
    check("alerts: key_unknown before the reload, key_revoked after the last",
          alerts == [(ports[0], 9100009), (ports[3], 9100001)], str(alerts))
    stats = [r for r in recs if r.get("event_type") == "stats"]
    check("stats: 4 tokens seen", len(stats) == 1 and stats[0]["stats"]["tokens"]["seen"] == 4,
          json.dumps(stats)[:300])

    if failures:
        print("sensor stderr:\n  " + "\n  ".join(err.lines))
    print(f"reload: {len(failures)} failed" if failures else "reload: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
