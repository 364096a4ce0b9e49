#!/usr/bin/python3
"""run_stress.py — peak memory of tokenwatch on a hostile capture, against its memcaps.

Generates the stress capture once (gen_stress.py: 1,000,000 mostly half-open or out-of-order
flows, a fragment storm, a few real token-carrying requests; cached in --workdir), then runs
tokenwatch over it with explicit memcaps (engine.flow-memcap, stream-memcap, http-memcap, and
engine.defrag-memcap when this build has that key: `tokenwatch --dump-config` says), measuring
the child's peak RSS (ru_maxrss from os.wait4). The same command on an empty capture (a pcap
header only) gives the fixed overhead: binary, libraries, OpenSSL, key store, the verification
cache's table, output buffers. The check is

    peak RSS  <=  sum of the configured memcaps + that fixed overhead

Prints PASS or FAIL for it, the stats counters that show the memcaps at work, and whether the
real requests' alerts were still found.

Every shape of gen_stress.py is run (--shapes), each with memcaps that its state fills many
times over: mixed (the capture above), ooo (100,000 flows, four out-of-order 1,400-byte segments
each, the flow and stream memcaps at their defaults, 128 MB and 64 MB), head (partial heads and
bodies in flight) and gzip (zlib streams in flight, body-limit 4 KB so that many fit).
--flows N scales every shape to N flows and its memcaps with it (N / the default), for a quick
run; --check makes a test of it (tests/e2e/run_stress_bound.py): exit 1 when any shape's peak
RSS is over its bound or a real alert is missing. Without --check a benchmark: exits 0 whatever
the verdict, 1 only when tokenwatch fails (then there is nothing to measure).
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MIB = 1 << 20


def run_timed(cmd, out_path, err_path):
    """(exit code, wall s, CPU s, peak RSS bytes) of cmd, output to files."""
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


def dump_config(sensor, config, sets):
    """The effective engine settings (name -> int) as tokenwatch itself reports them."""
    cmd = [sensor, "-c", config] + [x for s in sets for x in ("--set", s)] + ["--dump-config"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    eng, inside = {}, False
    for line in out.splitlines():
        if re.match(r"^\S", line):
            inside = line.startswith("engine:")
            continue
        m = re.match(r"^\s+([a-z0-9-]+):\s*(\d+)\s*$", line)
        if inside and m:
            eng[m.group(1)] = int(m.group(2))
    return eng


def read_eve(path, want_tokens):
    stats, found, with_status = None, set(), set()
    with open(path, "rb") as f:
        for line in f:
            rec = json.loads(line)
            kind = rec.get("event_type")
            if kind == "stats":
                stats = rec["stats"]
            elif kind == "alert":
                sha = rec.get("token", {}).get("sha256")
                if sha in want_tokens:
                    found.add(sha)
                    if "status" in rec.get("http", {}):
                        with_status.add(sha)
    return stats, found, with_status


def mib(n):
    return "%.1f MiB" % (n / MIB)


# Per shape: flows, fragments, memcaps in KiB (flow, stream, http, defrag), further settings.
SHAPES = {
    "mixed": (1000000, 150000, (16384, 1024, 128, 4096), []),
    "ooo": (100000, 0, (131072, 65536, 1024, 4096), []),
    "head": (100000, 0, (16384, 1024, 16384, 4096), []),
    "gzip": (100000, 0, (16384, 1024, 16384, 4096), ["engine.body-limit=4kb"]),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensor", default=os.path.join(ROOT, "build", "tokenwatch"))
    ap.add_argument("--workdir", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--config", default=os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"))
    ap.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated, of: " + ", ".join(SHAPES))
    ap.add_argument("--flows", type=int, default=0, help="flows per shape (memcaps scale with it)")
    ap.add_argument("--check", action="store_true", help="exit 1 on a FAIL or a missing alert")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VAL",
                    help="further configuration overrides, for every run")
    a = ap.parse_args()
    verdicts = []
    for shape in a.shapes.split(","):
        flows, frags, caps, sets = SHAPES[shape]
        scale = a.flows / flows if a.flows else 1.0
        caps = ["%dkb" % max(64, int(k * scale)) for k in caps]
        ok = run_shape(a, shape, int(flows * scale), int(frags * scale), caps, sets + a.set)
        if ok is None:
            return 1
        verdicts.append((shape, ok))
    print("verdicts     " + ", ".join("%s %s" % (s, "PASS" if ok else "FAIL") for s, ok in verdicts))
    return 1 if a.check and not all(ok for _, ok in verdicts) else 0


def run_shape(a, shape, flows, frags, caps_kb, extra):
    """Runs one shape; True/False for its verdict (bound and real alerts), None on an error."""
    a.flow_memcap, a.stream_memcap, a.http_memcap, a.defrag_memcap = caps_kb
    os.makedirs(a.workdir, exist_ok=True)
    name = "stress" if shape == "mixed" else "stress-" + shape
    pcap = os.path.join(a.workdir, "%s-%d.pcap" % (name, flows))
    gen = [sys.executable, os.path.join(HERE, "gen_stress.py"), "--out", pcap, "--flows", str(flows),
           "--frags", str(frags), "--shape", shape]
    if subprocess.run(gen).returncode != 0:
        print("run_stress: gen_stress.py failed", file=sys.stderr)
        return 1
    with open(pcap + ".meta") as f:
        meta = json.load(f)

    base = dump_config(a.sensor, a.config, [])
    sets = ["engine.flow-memcap=" + a.flow_memcap, "engine.stream-memcap=" + a.stream_memcap,
            "engine.http-memcap=" + a.http_memcap]
    has_defrag = "defrag-memcap" in base
    if has_defrag:
        sets.append("engine.defrag-memcap=" + a.defrag_memcap)
    sets += extra
    eng = dump_config(a.sensor, a.config, sets)
    caps = [(k, eng[k]) for k in ("flow-memcap", "stream-memcap", "http-memcap", "defrag-memcap") if k in eng]
    memcaps = sum(v for _, v in caps)

    empty = os.path.join(a.workdir, "empty.pcap")
    with open(empty, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    argv = [x for s in sets for x in ("--set", s)]

    def run(capture, name):
        logdir = os.path.join(a.workdir, name)
        os.makedirs(logdir, exist_ok=True)
        eve = os.path.join(logdir, "eve.json")
        if os.path.exists(eve):
            os.unlink(eve)
        # -j 1: the memcaps bound one sensor (with -j N each worker has its own).
        cmd = [a.sensor, "-c", a.config, "-r", capture, "-l", logdir, "-q", "-j", "1"] + argv
        rc, wall, cpu, rss = run_timed(cmd, os.path.join(logdir, "stdout"), os.path.join(logdir, "stderr"))
        if rc != 0:
            with open(os.path.join(logdir, "stderr"), errors="replace") as f:
                print("run_stress: tokenwatch exited %d on %s: %s" % (rc, capture, f.read()[-500:]),
                      file=sys.stderr)
            return None
        return wall, cpu, rss, eve

    print("run_stress: shape %s, empty capture (fixed overhead)" % shape, flush=True)
    r0 = run(empty, name + "-empty")
    print("run_stress: %s (%d packets, %.0f MB)" % (pcap, meta["packets"], meta["bytes"] / 1e6), flush=True)
    r1 = run(pcap, name + "-eve")
    if not r0 or not r1:
        return None
    overhead, (wall, cpu, rss, eve) = r0[2], r1
    stats, found, with_status = read_eve(eve, set(meta["real_tokens_sha256"]))
    bound = memcaps + overhead
    c = meta["counts"]

    print()
    if shape == "mixed":
        print("capture      %d flows (%d half-open, %d with out-of-order data in %d segments, %d of them "
              "ACKed past the hole, %d real), %d fragments of incomplete datagrams; %d packets, %.0f MB"
              % (meta["params"]["flows"], c["half_open"], c["ooo"], c["ooo_segments"], c["ooo_acked"],
                 c["real"], c["frags"], meta["packets"], meta["bytes"] / 1e6))
    else:
        print("capture      shape %s: %d flows (%d real) with %d data segments; %d packets, %.0f MB"
              % (shape, meta["params"]["flows"], c["real"], c["segments"], meta["packets"], meta["bytes"] / 1e6))
    print("memcaps      " + ", ".join("%s %s" % (k, mib(v)) for k, v in caps)
          + ("" if has_defrag else " (no engine.defrag-memcap in this build)") + " = " + mib(memcaps))
    print("overhead     %s peak RSS on an empty capture (verify-cache-entries %d: its table is "
          "allocated up front and counted here, verdicts only for tokens seen)"
          % (mib(overhead), eng.get("verify-cache-entries", 0)))
    print("peak RSS     %s, bound %s (memcaps + overhead): %s"
          % (mib(rss), mib(bound), "PASS" if rss <= bound else "FAIL"))
    print("time         %.1f s wall, %.1f s CPU, %.0f packets/s" % (wall, cpu, meta["packets"] / wall))
    if stats:
        fl, tcp, app = stats.get("flow", {}), stats.get("tcp", {}), stats.get("app_layer", {})
        print("flow         " + ", ".join("%s %s" % kv for kv in fl.items()))
        print("tcp          " + ", ".join("%s %s" % kv for kv in tcp.items()))
        if "defrag" in stats:
            print("defrag       " + ", ".join("%s %s" % kv for kv in stats["defrag"].items()))
        print("http         tx %s, errors %s" % (app.get("tx", {}).get("http"),
                                                 app.get("error", {}).get("http")))
        print("decoder      " + ", ".join("%s %s" % kv for kv in stats.get("decoder", {}).items()))
        for k, v in stats.get("tokenwatch", {}).items():  # our own counters, by stage
            print("%-12s " % ("ours." + k) + ", ".join("%s %s" % kv for kv in v.items()))
    n = len(meta["real_tokens_sha256"])
    print("real alerts  %d of %d found (%d with http.status): %s"
          % (len(found), n, len(with_status), "all found" if len(found) == n else "MISSING"))
    print()
    print("| shape | flows | fragments | packets | memcaps | overhead | peak RSS | verdict | flow.memcap | "
          "segment_memcap_drop | reassembly_gap | real alerts |")
    print("| %s | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %d/%d |"
          % (shape, meta["params"]["flows"], c["frags"], meta["packets"], mib(memcaps), mib(overhead), mib(rss),
             "PASS" if rss <= bound else "FAIL", stats and stats["flow"].get("memcap"),
             stats and stats["tcp"].get("segment_memcap_drop"), stats and stats["tcp"].get("reassembly_gap"),
             len(found), n))
    print()
    return rss <= bound and len(found) == n


if __name__ == "__main__":
    sys.exit(main())
