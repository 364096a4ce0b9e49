#!/usr/bin/env python3
"""Our eve.json through FEVER (DCSO's EVE event router, Debian package `fever`): every record is
accepted and forwarded unchanged (skipped, exit 77, when fever is not installed).

How FEVER consumes EVE: `fever run` listens on a unix stream socket (-i, where Suricata's
`filetype: unix_stream` output writes), parses each line with its EVE parser (util.ParseJSON:
event_type, addresses, integer ports, flow/http members, flow_id; a record it cannot parse is
logged as a warning and dropped) and dispatches it to its handlers; a multi-forward output with
`all: true` writes every accepted record, one per line, to a unix socket that FEVER connects to.
(FEVER has no file input: `fever alertify` reads stdin but only rewrites records matching an
indicator, so the socket path is the real consumer.)

The test:
  1. runs the sensor over pcaps/demo and the eve_records case's capture with every record type
     (alert, token, stats, http, flow, anomaly, keyset), sensor-name, sensor-tags, ethernet;
  2. starts a listener for FEVER's forward socket and `fever run` with a config whose only
     output is that socket (database, flow reports, metrics all off);
  3. writes every line to FEVER's input socket, then one deliberately broken record (src_port
     as a string: FEVER's parser rejects it), the control that shows a rejection is seen;
  4. waits until FEVER has forwarded as many records as it was given good ones, and checks:
     the forwarded lines equal the input lines (same multiset, byte for byte), counts per
     event_type match, FEVER logged exactly one warning, about the broken record, and no error.
Stdlib only.
"""
import argparse
import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ALL_TYPES = "[alert,token,stats,http,flow,anomaly,keyset]"
RUNS = [("demo", ["pcaps/demo"], []),
        ("eve_records", ["pcaps/tests/eve_records.pcap"], ["--set", "engine.http-max-head=2048"]),
        ("place_jwks_observed", ["pcaps/tests/place_jwks_observed.pcap"], [])]
BROKEN = ('{"timestamp":"2023-06-01T12:00:00.000000+0000","event_type":"alert",'
          '"src_ip":"192.0.2.1","src_port":"not-a-port","dest_ip":"192.0.2.2","dest_port":80,'
          '"proto":"TCP","flow_id":1,"fever_control":"broken-record"}')


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    print(f"FAIL timed out waiting for {what}")
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--fever", default=shutil.which("fever") or "/usr/bin/fever")
    a = ap.parse_args()
    if not os.path.exists(a.fever):
        print("SKIP: fever is not installed (Debian package fever)")
        return 77
    wd = os.path.abspath(a.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)

    lines = []
    for name, pcaps, args in RUNS:
        d = os.path.join(wd, name)
        os.makedirs(d)
        cmd = [a.sensor, "-c", "etc/demo/tokenwatch.yaml"]
        for p in pcaps:
            cmd += ["-r", p]
        cmd += ["-l", d] + args + [
            "--set", "outputs.eve.types=" + ALL_TYPES, "--set", "outputs.eve.ethernet=yes",
            "--set", "sensor-name=fever-test", "--set", "sensor-tags=[dc1]"]
        r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            print(f"FAIL sensor exit {r.returncode} on {name}: {r.stderr.decode()[-300:]}")
            return 1
        with open(os.path.join(d, "eve.json"), "rb") as f:
            lines += [ln.rstrip(b"\n") for ln in f if ln.strip()]
    sent_types = collections.Counter(json.loads(ln)["event_type"] for ln in lines)
    print("records fed:", len(lines), dict(sorted(sent_types.items())))
    for t in ("alert", "token", "http", "flow", "anomaly", "stats", "keyset"):
        if not sent_types[t]:
            print(f"FAIL the sensor produced no {t} record to feed")
            return 1

    # Sockets under a short path (sun_path is 108 bytes).
    sockdir = os.path.join("/tmp", "tw-fever-%d" % os.getpid())
    shutil.rmtree(sockdir, ignore_errors=True)
    os.makedirs(sockdir)
    in_sock, out_sock = os.path.join(sockdir, "in.sock"), os.path.join(sockdir, "out.sock")
    mgmt = os.path.join(sockdir, "mgmt.sock")
    cfg = os.path.join(wd, "fever.yaml")
    with open(cfg, "w") as f:
        f.write("multi-forward:\n  all:\n    socket: %s\n    all: true\n"
                "    buffer-length: 100000\n    types: []\n" % out_sock)
    log = os.path.join(wd, "fever.log")

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(out_sock)
    srv.listen(4)
    got = bytearray()
    conns = []
    lock = threading.Lock()

    def reader():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            conns.append(c)
            threading.Thread(target=drain, args=(c,), daemon=True).start()

    def drain(c):
        while True:
            try:
                b = c.recv(65536)
            except OSError:
                return
            if not b:
                return
            with lock:
                got.extend(b)

    threading.Thread(target=reader, daemon=True).start()
    fever = subprocess.Popen([a.fever, "run", "--config", cfg, "-i", in_sock, "-o", "",
                              "--mgmt-socket", mgmt, "--logfile", log, "-v",
                              "--in-buffer-drop=false", "--reconnect-retries", "3"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=wd)
    ok = True
    try:
        if not (wait_for(lambda: os.path.exists(in_sock), 20, "fever's input socket") and
                wait_for(lambda: conns, 20, "fever to connect to the forward socket")):
            return 1
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(in_sock)
        c.sendall(b"".join(ln + b"\n" for ln in lines) + BROKEN.encode() + b"\n")
        c.close()

        def forwarded():
            with lock:
                return got.count(b"\n")
        wait_for(lambda: forwarded() >= len(lines), 60, "every record to be forwarded")
        time.sleep(0.5)  # anything beyond the expected count would show now
    finally:
        fever.send_signal(signal.SIGTERM)
        try:
            out = fever.communicate(timeout=20)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            fever.kill()
            out = fever.communicate()[0].decode(errors="replace")
        srv.close()
        shutil.rmtree(sockdir, ignore_errors=True)

    with lock:
        fwd = [ln for ln in bytes(got).split(b"\n") if ln]
    logtext = open(log, errors="replace").read() if os.path.exists(log) else out
    warnings = [ln for ln in logtext.splitlines() if "level=warning" in ln]
    errors = [ln for ln in logtext.splitlines()
              if "level=error" in ln or "level=fatal" in ln or "level=panic" in ln]
    fwd_types = collections.Counter(json.loads(ln)["event_type"] for ln in fwd)
    print("records forwarded:", len(fwd), dict(sorted(fwd_types.items())))

    def check(name, cond, detail=""):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + detail))
        ok = ok and cond
    check("fever forwarded every record", len(fwd) == len(lines), f"{len(fwd)} != {len(lines)}")
    check("forwarded records equal the input, byte for byte",
          collections.Counter(fwd) == collections.Counter(lines),
          str(next((ln[:200] for ln in lines if ln not in set(fwd)), "")))
    check("counts per event_type match", fwd_types == sent_types)
    check("the broken control record was rejected, nothing else",
          len(warnings) == 1 and "broken-record" in warnings[0], "\n".join(warnings[:5]))
    check("no errors in fever's log", not errors, "\n".join(errors[:5]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
