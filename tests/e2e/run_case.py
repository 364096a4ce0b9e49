#!/usr/bin/env python3
"""run_case.py — runs one end-to-end case: the sensor over a capture, expectations over eve.json.

  run_case.py --sensor build/tokenwatch --case tests/e2e/<case> --workdir build/e2e/<case>

Runs `SENSOR [-c CONFIG] -r PCAP [-r PCAP ...] -l WORKDIR ARGS...` from the project root (so
capture paths, and pcap_filename in EVE, are as case.json writes them), 60 s timeout, then:
exit status, stderr_contains, every eve.json line is a JSON object, every check, no secret in
eve.json or stderr/stdout (unless allow_raw), no token.raw in any record (unless allow_raw).
Case format: tests/e2e/README.md. Exit 0 pass, 1 fail, 77 skip. Python >= 3.9, stdlib only.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP, FAIL = 77, 1
MISSING = object()


def lookup(rec, path):
    cur = rec
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return MISSING
        cur = cur[part]
    return cur


def same(a, b):
    """JSON equality without Python's 1 == True == 1.0 conflation."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def matches(rec, check):
    for path, want in check["match"].items():
        got = lookup(rec, path)
        if got is MISSING or not same(got, want):
            return False
    return all(lookup(rec, p) is MISSING for p in check.get("absent", []))


def compact(rec, limit=600):
    """One record, the fields a reader needs first, cut to `limit` characters."""
    keep = {}
    for k in ("event_type", "src_ip", "src_port", "dest_ip", "dest_port", "vlan", "pcap_filename",
              "alert", "http", "token", "stats"):
        if k in rec:
            keep[k] = rec[k]
    if "alert" in keep:
        keep["alert"] = {k: keep["alert"].get(k) for k in ("signature_id", "severity")}
    if "token" in keep and isinstance(keep["token"], dict):
        keep["token"] = dict(keep["token"])
        if "sha256" in keep["token"]:
            keep["token"]["sha256"] = str(keep["token"]["sha256"])[:16] + "…"
    s = json.dumps(keep, separators=(",", ":"))
    return s if len(s) <= limit else s[:limit] + "…"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    case_dir = os.path.abspath(a.case)
    name = os.path.basename(case_dir.rstrip("/"))
    try:
        with open(os.path.join(case_dir, "case.json")) as f:
            case = json.load(f)
    except (OSError, ValueError) as e:
        print("%s: cannot read case.json: %s" % (name, e))
        return FAIL
    for req in case.get("requires", []):
        if not os.path.exists(os.path.join(ROOT, req)):
            print("%s: SKIP: %s is absent" % (name, req))
            return SKIP
    sensor = os.path.abspath(a.sensor)
    if not os.access(sensor, os.X_OK):
        print("%s: sensor %s is not an executable" % (name, sensor))
        return FAIL
    workdir = os.path.abspath(a.workdir)
    os.makedirs(workdir, exist_ok=True)
    eve_path = os.path.join(workdir, "eve.json")
    for stale in os.listdir(workdir):
        p = os.path.join(workdir, stale)
        if os.path.isfile(p):
            os.remove(p)

    cmd = [sensor]
    if case.get("config", "etc/demo/tokenwatch.yaml") is not None:
        cmd += ["-c", case.get("config", "etc/demo/tokenwatch.yaml")]
    for p in case["pcap"]:
        cmd += ["-r", p]
    cmd += ["-l", workdir] + list(case.get("args", []))
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        print("%s: FAIL: sensor still running after 60 s: %s" % (name, " ".join(cmd)))
        return FAIL
    stderr = proc.stderr.decode("utf-8", "replace")
    stdout = proc.stdout.decode("utf-8", "replace")
    failures = []

    def fail(msg):
        failures.append(msg)

    want_exit = case.get("exit", 0)
    if proc.returncode != want_exit:
        how = ("killed by signal %d" % -proc.returncode) if proc.returncode < 0 else \
              "exit %d" % proc.returncode
        fail("%s, expected exit %d" % (how, want_exit))
    for s in case.get("stderr_contains", []):
        if s not in stderr:
            fail("stderr does not contain %r" % s)

    records, text = [], ""
    if os.path.exists(eve_path):
        with open(eve_path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8", "replace")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as e:
            fail("eve.json is not valid UTF-8: %s" % e)
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        elif lines:
            fail("eve.json does not end with a newline")
        for i, line in enumerate(lines, 1):
            try:
                rec = json.loads(line)
            except ValueError as e:
                fail("eve.json line %d is not JSON (%s): %s" % (i, e, line[:200]))
                continue
            if not isinstance(rec, dict):
                fail("eve.json line %d is not an object" % i)
                continue
            records.append(rec)
    elif want_exit == 0:
        fail("no eve.json written in %s" % workdir)

    for chk in case.get("checks", []):
        n = sum(1 for r in records if matches(r, chk))
        if "count" in chk:
            ok, want = n == chk["count"], "exactly %d" % chk["count"]
        else:
            ok, want = n >= chk["min_count"], "at least %d" % chk["min_count"]
        if ok:
            continue
        msg = ["check failed: %s matching record(s) wanted, %d found" % (want, n),
               "  match:  " + json.dumps(chk["match"], separators=(",", ":"))]
        if chk.get("absent"):
            msg.append("  absent: " + json.dumps(chk["absent"]))
        et = chk["match"].get("event_type")
        same_type = [r for r in records if et is None or r.get("event_type") == et]
        msg.append("  %d record(s) with event_type %s:" % (len(same_type), et or "(any)"))
        msg += ["    " + compact(r) for r in same_type[:25]]
        if len(same_type) > 25:
            msg.append("    … %d more" % (len(same_type) - 25))
        fail("\n".join(msg))

    if not case.get("allow_raw", False):
        raw = [i for i, r in enumerate(records, 1) if lookup(r, "token.raw") is not MISSING]
        if raw:
            fail("%d record(s) carry token.raw (first: line %d) but the case does not allow raw "
                 "tokens" % (len(raw), raw[0]))
        for s in case.get("secrets", []):
            parts = [s] + [p for p in s.split(".")[1:] if len(p) >= 24]
            for where, blob in (("eve.json", text), ("stderr", stderr), ("stdout", stdout)):
                leaked = [p for p in parts if p in blob]
                if leaked:
                    fail("%s contains token text %s…%s" % (where, leaked[0][:12], leaked[0][-6:]))

    if failures:
        print("%s: FAIL (%s)" % (name, case.get("description", "")))
        print("  command: " + " ".join(cmd))
        for f in failures:
            print("  " + f.replace("\n", "\n  "))
        if stderr.strip():
            print("  sensor stderr (last lines):")
            for line in stderr.strip().splitlines()[-15:]:
                print("    " + line)
        return FAIL
    print("%s: PASS (%d records, %d checks)" % (name, len(records), len(case.get("checks", []))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
