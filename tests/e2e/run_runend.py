#!/usr/bin/env python3
"""The end of a run (no root): the summary names every loss, stats.tokens.distinct is the true
distinct count, and SIGINT/SIGTERM end an offline run cleanly.

1. Losses: committed captures under tiny limits (flow memcap: hostile_syn_flood; defrag memcap:
   frag_flood; body limit: place_json_body). The summary line says "N dropped (KIND N, ...)"
   with the kind the final stats record counts, N equal to its member, and the sum of all loss
   members of the record equals the "dropped" total. The demo capture, which loses nothing,
   says "0 dropped" and names no kind.
2. Distinct: the demo's distinct Bearer tokens presented in four parts through a FIFO, a SIGHUP
   (hot reload, which clears the verification cache) between parts. stats.tokens.seen is four
   times the tokens, stats.tokens.distinct and the summary's "(N distinct)" exactly the tokens
   (exact below 12,288: hll.h).
3. SIGINT, then SIGTERM: through a FIFO the test keeps open, one finished connection and one
   still open (request sent, no response). Once the sensor is blocked reading, the signal: exit
   0, both connections' token events written, exactly one stats record (the final one), and the
   summary says the run was stopped.
Stdlib only (tests/gen/pcapgen.py); waits poll observable conditions (run_reload.drained).
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import pcapgen as P  # noqa: E402
from run_reload import Stderr, drained  # noqa: E402

CFG = os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml")
DEMO = os.path.join(ROOT, "pcaps", "demo", "01-office-traffic.pcap")
SUMMARY = re.compile(r"^tokenwatch: (\d+) packets?, (\d+) dropped(?: \(([^)]*)\))?, (\d+) flows?, "
                     r"(\d+) tokens? \((\d+) distinct\)")
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


def get(d, path):
    for k in path.split("."):
        d = d.get(k, {}) if isinstance(d, dict) else {}
    return d


# The summary's kinds of loss and the stats record members that count them (summary.h).
LOSSES = [("kernel", "capture.kernel_drops"), ("interface", "capture.kernel_ifdrops"),
          ("worker queue", "tokenwatch.capture.worker_drops"), ("flow memcap", "flow.memcap"),
          ("stream memcap", "tcp.segment_memcap_drop"),
          ("defrag memcap", "tokenwatch.defrag.memcap_drops"),
          ("body limit", "tokenwatch.body.truncated"), ("http memcap", "tokenwatch.http.memcap"),
          ("http head overflow", "tokenwatch.http.head_overflow"),
          ("output dropped", "eve.dropped"), ("output errors", "eve.errors")]


def records(wd):
    path = os.path.join(wd, "eve.json")
    return [json.loads(l) for l in open(path) if l.strip()] if os.path.exists(path) else []


def run(sensor, wd, pcap, sets):
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    args = [sensor, "-c", CFG, "-r", pcap, "-l", wd]
    for s in sets:
        args += ["--set", s]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    return r, records(wd)


def part_losses(sensor, wd):
    cases = [("flow memcap", "pcaps/tests/hostile_syn_flood.pcap", ["engine.flow-memcap=128kb"]),
             ("defrag memcap", "pcaps/tests/frag_flood.pcap", ["engine.defrag-memcap=65536"]),
             ("body limit", "pcaps/tests/place_json_body.pcap", ["engine.body-limit=16"]),
             (None, DEMO, [])]
    for kind, pcap, sets in cases:
        r, recs = run(sensor, os.path.join(wd, "losses"), os.path.join(ROOT, pcap), sets)
        what = kind or "no loss"
        stats = [x["stats"] for x in recs if x.get("event_type") == "stats"]
        m = SUMMARY.match(r.stderr)
        check(f"{what}: exit 0, one summary line, a final stats record",
              r.returncode == 0 and m is not None and len(stats) == 1, r.stderr)
        if not m or not stats:
            continue
        st = stats[-1]
        named = dict((n.rsplit(" ", 1)[0], int(n.rsplit(" ", 1)[1]))
                     for n in (m.group(3) or "").split(", ") if n)
        total = sum(get(st, member) for _, member in LOSSES)
        check(f"{what}: 'N dropped' is the sum of the record's loss counters ({total})",
              int(m.group(2)) == total, r.stderr)
        check(f"{what}: every non-zero loss named with the record's count, no other",
              named == {n: get(st, mb) for n, mb in LOSSES if get(st, mb)}, (named, r.stderr))
        if kind:
            check(f"{what}: the summary names it", named.get(kind, 0) > 0, r.stderr)
        else:
            check("no loss: '0 dropped' and no kind named",
                  m.group(2) == "0" and m.group(3) is None, r.stderr)


def demo_tokens():
    data = open(DEMO, "rb").read()
    toks = re.findall(rb"Bearer (eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)", data)
    return sorted({t.decode() for t in toks})


def conn_bytes(tok, cport, ts, header, finish=True):
    c = P.TcpConn("10.88.0.1", cport, "203.0.113.88").handshake()
    c.request(P.http_request("GET", "/v1.0/me", "graph.example.com",
                             [("Authorization", "Bearer " + tok)]))
    if finish:
        c.response(P.http_response(200, b'{"id":"1"}'))
        c.close()
    cap = P.Capture()
    cap.add_conn(c, P.Link(), ts)
    b = cap.pcap_bytes()
    return b if header else b[24:]


def start_fifo(sensor, wd):
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    fifo = os.path.join(wd, "capture.fifo")
    os.mkfifo(fifo)
    proc = subprocess.Popen([sensor, "-c", CFG, "-r", fifo, "-l", wd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=wd)
    err = Stderr(proc.stderr)
    w = os.open(fifo, os.O_WRONLY)  # blocks until the sensor opens the pipe
    return proc, err, w


def stop(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def part_distinct(sensor, wd):
    toks = demo_tokens()
    check("the demo capture has distinct tokens", len(toks) >= 5, str(len(toks)))
    wd = os.path.join(wd, "distinct")
    proc, err, w = start_fifo(sensor, wd)
    rc = None
    try:
        port, ts = 40000, 1685620800
        for part in range(4):
            if part:
                n = len(err.lines)
                proc.send_signal(signal.SIGHUP)
                check(f"reload {part}", err.wait_for(r"reloaded", n) is not None, err.lines)
            for i, t in enumerate(toks):
                os.write(w, conn_bytes(t, port, ts, header=(part == 0 and i == 0)))
                port, ts = port + 1, ts + 1
            check(f"part {part + 1} read", drained(proc.pid, w))
        os.close(w)
        rc = proc.wait(timeout=60)
    finally:
        stop(proc)
    err.t.join(timeout=5)
    stats = [x["stats"] for x in records(wd) if x.get("event_type") == "stats"]
    summ = [SUMMARY.match(l) for l in err.lines if SUMMARY.match(l)]
    check("distinct: exit 0, a final stats record, a summary", rc == 0 and stats and summ,
          (rc, err.lines))
    if not stats or not summ:
        return
    st = stats[-1]["tokens"]
    check("distinct: seen = 4 x %d" % len(toks), st.get("seen") == 4 * len(toks), st)
    check("distinct: stats.tokens.distinct = %d across 3 reloads" % len(toks),
          st.get("distinct") == len(toks), st)
    check("distinct: the summary says (%d distinct)" % len(toks),
          int(summ[-1].group(6)) == len(toks), err.lines)


def part_signal(sensor, wd, sig):
    name = signal.Signals(sig).name
    toks = demo_tokens()[:2]
    wd = os.path.join(wd, name.lower())
    proc, err, w = start_fifo(sensor, wd)
    rc = None
    try:
        os.write(w, conn_bytes(toks[0], 41001, 1685620800, header=True))
        os.write(w, conn_bytes(toks[1], 41002, 1685620810, header=False, finish=False))
        check(f"{name}: both connections read", drained(proc.pid, w))
        proc.send_signal(sig)
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = "still running 20 s after the signal"
    finally:
        os.close(w)
        stop(proc)
    err.t.join(timeout=5)
    recs = records(wd)
    ports = sorted(r.get("src_port") for r in recs if r.get("event_type") == "token")
    check(f"{name}: exit 0", rc == 0, (rc, err.lines))
    check(f"{name}: token events of the finished and the open connection", ports == [41001, 41002],
          ports)
    check(f"{name}: exactly one stats record, the final one",
          sum(r.get("event_type") == "stats" for r in recs) == 1 and
          recs[-1].get("event_type") == "stats", [r.get("event_type") for r in recs])
    check(f"{name}: the summary says the run was stopped",
          any(SUMMARY.match(l) and "stopped by a signal" in l for l in err.lines), err.lines)
    check(f"{name}: no capture error reported",
          not any("damaged" in l or "cannot" in l for l in err.lines), err.lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    if not os.path.isdir("/proc/self/task"):
        print("skip: needs Linux /proc")
        return 77
    sensor, wd = os.path.abspath(a.sensor), os.path.abspath(a.workdir)
    part_losses(sensor, wd)
    part_distinct(sensor, wd)
    part_signal(sensor, wd, signal.SIGINT)
    part_signal(sensor, wd, signal.SIGTERM)
    print("%d failure(s)" % len(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
