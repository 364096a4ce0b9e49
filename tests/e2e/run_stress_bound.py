#!/usr/bin/env python3
"""run_stress_bound.py — peak RSS stays within the memcaps plus a fixed overhead, per stress shape.

  run_stress_bound.py --sensor build/tokenwatch --workdir build/stress-bound [--sanitized]

CI's small variant of `make bench`'s stress run (tests/bench/run_stress.py --check): 20,000
flows of each shape that holds per-flow state (ooo: four out-of-order 1,400-byte segments per
flow; head: partial heads and bodies in flight; gzip: a zlib stream in flight per flow), with
the memcaps scaled down so that each is filled many times over. Peak RSS is the child's
ru_maxrss (packet time drives everything, so the result does not depend on the machine's
speed); the fixed overhead is the same run on an empty capture. Exit 0 pass, 1 fail, 77 skip:
a sanitizer build (--sanitized) pays shadow memory and quarantine that no memcap accounts for.
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--sanitized", action="store_true")
    a = ap.parse_args()
    if a.sanitized:
        print("skip: a sanitizer build's RSS is not bounded by the memcaps (shadow memory, quarantine)")
        return 77
    cmd = [sys.executable, os.path.join(ROOT, "tests", "bench", "run_stress.py"), "--sensor", a.sensor,
           "--workdir", a.workdir, "--flows", "20000", "--shapes", "ooo,head,gzip", "--check"]
    return subprocess.run(cmd).returncode


if __name__ == "__main__":
    sys.exit(main())
