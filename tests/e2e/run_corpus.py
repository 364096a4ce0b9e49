#!/usr/bin/python3
"""run_corpus.py — robustness of tokenwatch over a corpus of real-world captures.

Runs the sensor once per capture file (*.pcap, *.pcapng, *.cap under --corpus, recursively,
in sorted order), at most two at a time, each with a 60 s timeout and its own log directory
--workdir/<n>/. A file passes when:
  - the process ended by itself: no signal, no timeout;
  - it exited 0, or 1 with exactly one non-empty line on stderr (SPEC §1: a capture libpcap
    cannot open, or a link type we do not decode, is a runtime failure with one clear line);
  - stderr holds no sanitizer report (ASan, UBSan "runtime error:", LeakSanitizer);
  - eve.json, when written, is valid JSON objects one per line (strict UTF-8, no NaN), ending
    with the stats record that an offline run writes once at its end; after exit 0 that stats
    record must be there.
Prints a summary, writes it to --workdir/summary.json, exits 1 on any failure, 77 (skip) when
the corpus directory is absent.
"""
import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXTENSIONS = (".pcap", ".pcapng", ".cap")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer")
TIMEOUT_S = int(os.environ.get("TW_CORPUS_TIMEOUT", "60"))


def find_captures(corpus):
    found = []
    for dirpath, dirnames, filenames in os.walk(corpus):
        dirnames.sort()
        for name in filenames:
            if name.lower().endswith(EXTENSIONS):
                found.append(os.path.join(dirpath, name))
    return sorted(found, key=lambda p: os.path.relpath(p, corpus))


def reject_constant(name):
    raise ValueError(f"non-JSON constant {name}")


def check_eve(path, exit_code):
    """Returns (problem or None, number of records)."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        if exit_code == 0:
            return "exit 0 but no eve.json stats record", 0
        return None, 0
    last = None
    n = 0
    with open(path, "rb") as f:
        data = f.read()
    if not data.endswith(b"\n"):
        return "eve.json does not end with a newline (partial last record)", 0
    for lineno, line in enumerate(data.split(b"\n")[:-1], 1):
        try:
            rec = json.loads(line.decode("utf-8"), parse_constant=reject_constant)
        except (UnicodeDecodeError, ValueError) as e:
            return f"eve.json line {lineno} is not valid JSON: {e}", n
        if not isinstance(rec, dict) or "event_type" not in rec:
            return f"eve.json line {lineno} is not an object with event_type", n
        last = rec
        n += 1
    if last is None or last.get("event_type") != "stats":
        return "eve.json does not end with a stats record", n
    return None, n


def run_one(sensor, config, capture, logdir):
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    cmd = [sensor] + (["-c", config] if config else []) + ["-r", capture, "-l", logdir]
    res = {"file": capture, "logdir": logdir, "cmd": cmd}
    env = dict(os.environ)
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    t0 = time.perf_counter()
    with open(os.path.join(logdir, "stdout"), "wb") as out, \
            open(os.path.join(logdir, "stderr"), "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        try:
            proc.wait(timeout=TIMEOUT_S)
            timed_out = False
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            timed_out = True
    res["seconds"] = round(time.perf_counter() - t0, 3)
    res["exit"] = proc.returncode
    with open(os.path.join(logdir, "stderr"), "rb") as f:
        stderr = f.read().decode("utf-8", "replace")
    lines = [l for l in stderr.splitlines() if l.strip()]
    res["stderr_head"] = lines[:3]
    problems = []
    if timed_out:
        problems.append(f"timeout after {TIMEOUT_S} s")
    elif proc.returncode < 0:
        problems.append(f"killed by signal {-proc.returncode}")
    elif proc.returncode == 1:
        if len(lines) != 1:
            problems.append(f"exit 1 with {len(lines)} stderr lines (want exactly one)")
    elif proc.returncode != 0:
        problems.append(f"exit {proc.returncode}")
    for marker in SANITIZER_MARKERS:
        if marker in stderr:
            problems.append(f"sanitizer report on stderr: {marker!r}")
            break
    if not timed_out and proc.returncode >= 0:
        problem, res["records"] = check_eve(os.path.join(logdir, "eve.json"), proc.returncode)
        if problem:
            problems.append(problem)
    res["problems"] = problems
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--config", help="default: etc/demo/tokenwatch.yaml (built-in defaults if absent)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel runs, at most 2")
    args = ap.parse_args()

    if not os.path.isdir(args.corpus):
        print(f"run_corpus: skipped: corpus {args.corpus} is absent")
        return 77
    if not os.access(args.sensor, os.X_OK):
        print(f"run_corpus: {args.sensor} is not an executable")
        return 1
    config = args.config
    if config is None:
        config = os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml")
        if not os.path.exists(config):
            print(f"run_corpus: note: {config} absent, running on built-in defaults")
            config = None
    elif not os.path.exists(config):
        print(f"run_corpus: config {config} not found")
        return 1
    captures = find_captures(args.corpus)
    if not captures:
        print(f"run_corpus: no capture files under {args.corpus}")
        return 1
    os.makedirs(args.workdir, exist_ok=True)
    jobs = max(1, min(2, args.jobs))
    width = len(str(len(captures) - 1))
    results = [None] * len(captures)
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_one, os.path.abspath(args.sensor), config, cap,
                               os.path.join(args.workdir, str(i).zfill(width))): i
                   for i, cap in enumerate(captures)}
        for fut in concurrent.futures.as_completed(futures):
            results[futures[fut]] = fut.result()

    failed = [r for r in results if r["problems"]]
    exit1 = [r for r in results if r["exit"] == 1 and not r["problems"]]
    rel = lambda r: os.path.relpath(r["file"], args.corpus)  # noqa: E731
    print(f"run_corpus: {len(results)} files, {len(results) - len(failed)} passed, "
          f"{len(failed)} failed, {len(exit1)} refused with exit 1, "
          f"{time.perf_counter() - t0:.1f} s")
    if exit1:
        print("exit 1 (refused with one line):")
        for r in exit1:
            print(f"  {rel(r)}: {r['stderr_head'][0]}")
    slow = sorted(results, key=lambda r: -r["seconds"])[:3]
    print("slowest: " + ", ".join(f"{rel(r)} {r['seconds']:.2f} s" for r in slow))
    if failed:
        print("FAILURES:")
        for r in failed:
            print(f"  {rel(r)} [{r['logdir']}]: {'; '.join(r['problems'])}")
            for line in r["stderr_head"]:
                print(f"      stderr: {line[:200]}")
    summary = {"sensor": args.sensor, "corpus": os.path.abspath(args.corpus), "config": config,
               "files": len(results), "passed": len(results) - len(failed),
               "failed": len(failed), "exit1": len(exit1), "results": results}
    with open(os.path.join(args.workdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
