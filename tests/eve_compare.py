#!/usr/bin/env python3
"""eve_compare.py — runs two tokenwatch builds over the same captures and diffs their EVE output.

  tests/eve_compare.py --old OLD/tokenwatch --new NEW/tokenwatch [--bench PCAP] [--workdir DIR]

For a change that must not change behaviour (a refactoring), the EVE output of every e2e case
(tests/e2e/<case>/case.json: its captures, config and arguments, run as run_case.py runs them)
and, with --bench, of the benchmark capture must be byte-identical between the two builds. Run
from anywhere; the sensors run from the project root as run_case.py does. Cases whose `requires`
are absent are skipped. Cases that expect a non-zero exit are compared too (stderr is not).

Only what differs between two runs of one build is masked before comparing: `flow_id`, which
is a keyed hash with a key drawn at start-up (so that traffic cannot aim at the flow table),
is replaced by the order in which each flow id first appears in the file; every other byte
is compared as written. Runs use one worker (-j 1) unless the case names its own -j: with
several, the order of the records between workers is not fixed. --runs-twice first checks on the old build that this is enough.

Exit 0: identical; 1: a difference (the first differing line of each case is printed); 2: usage.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def case_runs(bench):
    e2e = os.path.join(ROOT, "tests", "e2e")
    for name in sorted(os.listdir(e2e)):
        path = os.path.join(e2e, name, "case.json")
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            case = json.load(f)
        if any(not os.path.exists(os.path.join(ROOT, r)) for r in case.get("requires", [])):
            continue
        args = []
        if case.get("config", "etc/demo/tokenwatch.yaml") is not None:
            args += ["-c", case.get("config", "etc/demo/tokenwatch.yaml")]
        for p in case["pcap"]:
            args += ["-r", p]
        yield name, args, list(case.get("args", []))
    if bench:
        yield "bench", ["-c", "etc/demo/tokenwatch.yaml", "-r", bench], []


FLOW_ID = re.compile(rb'"flow_id":([0-9]+)')


def mask(data):
    """flow_id values renumbered by first appearance (1, 2, ...), the rest untouched."""
    ids = {}

    def sub(m):
        return b'"flow_id":%d' % ids.setdefault(m.group(1), len(ids) + 1)
    return FLOW_ID.sub(sub, data)


def run(sensor, args, extra, workdir):
    if os.path.isdir(workdir):
        shutil.rmtree(workdir)
    os.makedirs(workdir)
    # One worker unless the case asks for more: files are read by as many workers as CPUs by
    # default, and the order in which several workers write their records is not fixed.
    jobs = [] if any(a == "-j" or a.startswith("--jobs") for a in extra) else ["-j", "1"]
    cmd = [sensor] + args + ["-l", workdir] + jobs + extra
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=600)
    out = b""
    for name in sorted(os.listdir(workdir)):
        with open(os.path.join(workdir, name), "rb") as f:
            out += b"== " + name.encode() + b"\n" + mask(f.read())
    return p.returncode, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--bench", help="also compare on this capture (the benchmark capture)")
    ap.add_argument("--workdir", default="/tmp/tw-eve-compare")
    ap.add_argument("--runs-twice", action="store_true",
                    help="first check that two runs of the old build are identical")
    a = ap.parse_args()
    old, new = os.path.abspath(a.old), os.path.abspath(a.new)
    for s in (old, new):
        if not os.access(s, os.X_OK):
            print("eve_compare: %s is not an executable" % s, file=sys.stderr)
            return 2
    differ, n = 0, 0
    for name, args, extra in case_runs(a.bench and os.path.abspath(a.bench)):
        n += 1
        rc_old, out_old = run(old, args, extra, os.path.join(a.workdir, "old", name))
        if a.runs_twice:
            rc_again, out_again = run(old, args, extra, os.path.join(a.workdir, "again", name))
            if (rc_again, out_again) != (rc_old, out_old):
                print("%s: two runs of the OLD build differ: not deterministic" % name)
                differ += 1
                continue
        rc_new, out_new = run(new, args, extra, os.path.join(a.workdir, "new", name))
        if rc_old != rc_new:
            print("%s: exit %d (old) vs %d (new)" % (name, rc_old, rc_new))
            differ += 1
            continue
        if out_old != out_new:
            lo, ln = out_old.split(b"\n"), out_new.split(b"\n")
            i = next((i for i, (x, y) in enumerate(zip(lo, ln)) if x != y), min(len(lo), len(ln)))
            print("%s: EVE differs at line %d (%d vs %d lines)" % (name, i + 1, len(lo), len(ln)))
            print("  old: %s" % (lo[i][:300] if i < len(lo) else b"<end>"))
            print("  new: %s" % (ln[i][:300] if i < len(ln) else b"<end>"))
            differ += 1
    print("eve_compare: %d run(s), %d identical, %d differ" % (n, n - differ, differ))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
