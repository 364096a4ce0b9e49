#!/usr/bin/python3
"""compare_builds.py — CPU time of two tokenwatch builds on the same capture, in one run.

Runs build A and build B alternately (A, B, B, A, A, B, ...: neither always goes first) --runs
times each over the capture with the shipped configuration and the same output types, and prints
each build's median CPU time (user + system of the child), wall time and peak RSS, and the ratio
B / A. A benchmark, not a test: exits 1 only when a child fails.

    /usr/bin/python3 tests/bench/compare_builds.py --a OLD/tokenwatch --b build/tokenwatch \\
        --capture build/bench/bench-200mb.pcap --runs 9
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run_timed(cmd):
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        err = proc.stderr.read()
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    proc.returncode = rc
    if rc != 0:
        sys.exit("compare_builds: %s failed (exit %d): %s" % (cmd[0], rc, err.decode()[-500:]))
    return ru.ru_utime + ru.ru_stime, wall, ru.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True, help="the reference build's tokenwatch")
    ap.add_argument("--b", required=True, help="the build measured against it")
    ap.add_argument("--capture", required=True)
    ap.add_argument("--config", default=os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"))
    ap.add_argument("--runs", type=int, default=9)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="tw-compare-")
    res = {"A": [], "B": []}
    try:
        order = []
        for i in range(a.runs):
            order += ["A", "B"] if i % 2 == 0 else ["B", "A"]
        run_timed([a.a, "-c", a.config, "-r", a.capture, "-l", work, "-q", "-j", "1"])  # warm the cache
        for k in order:
            exe = a.a if k == "A" else a.b
            d = os.path.join(work, k)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            res[k].append(run_timed([exe, "-c", a.config, "-r", a.capture, "-l", d, "-q", "-j", "1"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = {k: [statistics.median(x[i] for x in v) for i in range(3)] for k, v in res.items()}
    for k, exe in (("A", a.a), ("B", a.b)):
        cpu = ", ".join("%.3f" % x[0] for x in res[k])
        print("%s  %-40s CPU median %.3f s (runs: %s), wall %.3f s, peak RSS %.1f MiB" %
              (k, exe, med[k][0], cpu, med[k][1], med[k][2]))
    print("ratio B/A  CPU %.3f, wall %.3f  (%d runs each, interleaved; load average %.2f)" %
          (med["B"][0] / med["A"][0], med["B"][1] / med["A"][1], a.runs, os.getloadavg()[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
