#!/usr/bin/env python3
"""Outputs that fail (ctest e2e_output_sigpipe, e2e_output_fullfs).

--part sigpipe: `tokenwatch -r ... --set outputs.eve.filename=- | head -c 10`: the reader goes
   away; the sensor is not killed by SIGPIPE: exit status 1 and exactly two lines on stderr (the
   write failure, reported once, then the exit summary naming the output errors).
--part fullfs (root; 77 otherwise or when mount fails): -l on a 64 KiB tmpfs the test mounts,
   a second output (stats only) in a roomy directory. Exit status 1, exactly two lines on stderr
   (the failure once, then the summary with the same output errors as the final stats),
   every line of the full file parses as JSON (no torn record), and the final stats record
   (second output) says for the full file: written == the lines in it, written + errors ==
   the records a run into a roomy directory writes (the same capture, the same types).
   The tmpfs is always unmounted. Stdlib only.
"""
import argparse
import glob
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TYPES = "[alert, token, http, flow, anomaly]"
failures = []


def check(name, cond, detail=""):
    print("%s: %s%s" % ("ok" if cond else "FAIL", name, "" if cond or not detail else
                        " -- " + str(detail)[:800]))
    if not cond:
        failures.append(name)


def captures():
    """Many records: every test capture except the deliberately broken transport_* ones."""
    out = []
    for p in sorted(glob.glob(os.path.join(ROOT, "pcaps", "tests", "*.pcap"))):
        if not os.path.basename(p).startswith("transport_"):
            out += ["-r", p]
    return out


def part_sigpipe(sensor):
    cmd = [sensor] + captures() + ["--set", "outputs.eve.filename=-"]
    p1 = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p2 = subprocess.Popen(["head", "-c", "10"], stdin=p1.stdout, stdout=subprocess.PIPE)
    p1.stdout.close()
    head = p2.communicate(timeout=120)[0]
    err = p1.stderr.read().decode(errors="replace")
    rc = p1.wait(timeout=120)
    check("head got its 10 bytes", len(head) == 10, head)
    check("exit status 1 (not killed by SIGPIPE)", rc == 1, rc)
    lines = err.splitlines()
    check("two lines on stderr: the failure, then the summary", len(lines) == 2, err)
    check("it says the write failed", lines and "stdout: write failed: Broken pipe" in lines[0],
          err)
    check("the summary names the output errors", len(lines) == 2 and
          re.search(r"output errors [1-9]", lines[1]), err)


def run(sensor, logdir, statsdir):
    outs = ("[{eve: {filename: eve.json, types: %s}},"
            " {eve: {filename: %s/stats.json, types: [stats]}}]" % (TYPES, statsdir))
    # -j 1: one writer, so one failure line (with -j N each worker's output says it once).
    p = subprocess.run([sensor] + captures() + ["-l", logdir, "-j", "1", "--set", "outputs=" + outs],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return p.returncode, p.stderr.decode(errors="replace")


def part_fullfs(sensor, workdir):
    if os.geteuid() != 0:
        print("skip: mounting a tmpfs needs root")
        return 77
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    roomy, full, stats = (os.path.join(workdir, d) for d in ("roomy", "full", "stats"))
    for d in (roomy, full, stats):
        os.makedirs(d)
    rc, err = run(sensor, roomy, stats)
    with open(os.path.join(roomy, "eve.json"), "rb") as f:
        produced = len(f.read().splitlines())
    check("reference run: exit 0", rc == 0, err)
    check("reference run: more than 64 KiB of records",
          os.path.getsize(os.path.join(roomy, "eve.json")) > 65536)
    os.unlink(os.path.join(stats, "stats.json"))
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tw-fullfs", full]).returncode:
        print("skip: cannot mount a tmpfs here")
        return 77
    try:
        rc, err = run(sensor, full, stats)
        check("exit status 1", rc == 1, rc)
        lines = err.splitlines()
        check("two lines on stderr: the failure, then the summary", len(lines) == 2, err)
        check("it names the file and the reason", lines and "eve.json: write failed: No space "
              "left on device" in lines[0], err)
        with open(os.path.join(full, "eve.json"), "rb") as f:
            data = f.read()
        rows = data.splitlines()
        bad = []
        for r in rows:
            try:
                json.loads(r)
            except ValueError:
                bad.append(r[-80:])
        check("every line is a whole JSON record", not bad and data.endswith(b"\n"), bad)
        with open(os.path.join(stats, "stats.json"), "rb") as f:
            last = json.loads(f.read().splitlines()[-1])
        per = last["stats"]["eve"]["outputs"][0]
        check("stats: written == the lines in the file", per["written"] == len(rows),
              (per, len(rows)))
        check("stats: written + dropped + errors == records produced",
              per["written"] + per["dropped"] + per["errors"] == produced, (per, produced))
        check("stats: records were lost", per["errors"] > 0, per)
        m = re.search(r"output errors (\d+)", lines[-1] if lines else "")
        check("the summary counts the same output errors as the stats", m and
              int(m.group(1)) == sum(o["errors"] for o in last["stats"]["eve"]["outputs"]),
              (lines, last["stats"]["eve"]["outputs"]))
    finally:
        subprocess.run(["umount", full])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--part", choices=("sigpipe", "fullfs"), required=True)
    ap.add_argument("--workdir", default="/tmp/tw-output-failures")
    a = ap.parse_args()
    if a.part == "sigpipe":
        part_sigpipe(a.sensor)
    elif part_fullfs(a.sensor, a.workdir) == 77:
        return 77
    if failures:
        print("%d check(s) failed: %s" % (len(failures), ", ".join(failures)))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
