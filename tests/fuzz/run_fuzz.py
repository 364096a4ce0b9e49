#!/usr/bin/env python3
"""Runs every libFuzzer target built by `make fuzz` for a while, each starting from its committed
corpus (tests/fuzz/corpus/<target>/, read-only here: new inputs go to a scratch directory).
A crash leaves its input in the build directory and makes this script exit 1."""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build-fuzz")
    ap.add_argument("--seconds", type=int, default=60, help="per target")
    ap.add_argument("targets", nargs="*", help="default: every fuzz_* binary")
    a = ap.parse_args()
    bins = sorted(glob.glob(os.path.join(a.build, "fuzz_*")))
    if a.targets:
        bins = [b for b in bins if os.path.basename(b)[5:] in a.targets]
    if not bins:
        print(f"no fuzz_* binaries in {a.build}: run `make fuzz`", file=sys.stderr)
        return 1
    failed = []
    for b in bins:
        name = os.path.basename(b)[5:]
        corpus = os.path.join(ROOT, "tests", "fuzz", "corpus", name)
        with tempfile.TemporaryDirectory(prefix=f"fuzz-{name}-") as scratch:
            cmd = [b, scratch, corpus, f"-max_total_time={a.seconds}", "-print_final_stats=1",
                   f"-artifact_prefix={os.path.abspath(a.build)}/crash-{name}-"]
            print("==>", " ".join(cmd), flush=True)
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace")
            tail = [l for l in r.stdout.splitlines() if l.startswith(("stat::", "#", "=="))][-4:]
            print("\n".join(tail))
            if r.returncode != 0:
                failed.append(name)
                print(r.stdout[-4000:])
    print(f"fuzz: {len(bins) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
