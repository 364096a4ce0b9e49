#!/usr/bin/python3
"""run_zeek.py — conformance of tokenwatch's HTTP/1.x transactions with Zeek's http.log.

For every Zeek btest in the corpus (INDEX.tsv) that has an http log baseline and whose traces
are present, runs tokenwatch with `--set outputs.eve.types=[http]` over the trace(s) that
produced that baseline (read from the test's `@TEST-EXEC` lines) and compares Zeek's
(method, host, uri, status_code) tuples with ours (http.http_method, http.hostname, http.url,
http.status) as multisets. A unit of comparison is one baseline file, named
"<baseline dir>/<file>", e.g. "scripts.base.protocols.http.http-pipelining/http.log".

Our URI is percent-decoded as Zeek decodes the one it logs (%XX, %uXXXX). Both sides are then
normalized the same way: host cut at the first ':' (Zeek drops the port this
way) and lower-cased; status 0 (Zeek's value for an HTTP/0.9 reply) and a missing status are
the same. A baseline cut down to fewer columns (zeek-cut) is compared on the columns it has.

Zeek logs transactions that tokenwatch may rightly not (responses without a request, HTTP/0.9,
CONNECT tunnels, ...), so what must match comes from an expectations file (default
tests/e2e/zeek_expect.json):
  {"full": ["<unit>", ...],            units whose multisets must be equal
   "min_ratio": {"<unit>": 0.8, ...}}   matched / max(zeek, ours) must reach the ratio
Exits 1 when an expectation fails, a listed unit is missing, or the sensor crashes (signal or
sanitizer report) on any trace; 77 when the corpus is absent; 0 otherwise. --suggest prints the
units that match fully, as a ready-made "full" list.
"""
import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLUMNS = ("method", "host", "uri", "status_code")
OURS = {"method": "http_method", "host": "hostname", "uri": "url", "status_code": "status"}
HTTP_LOG = re.compile(r"^http(-[\w-]+)?\.log(\.[\w-]+)?$")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
TIMEOUT_S = 60


def read_index(corpus):
    tests = []
    with open(os.path.join(corpus, "INDEX.tsv")) as f:
        next(f)
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 4:
                tests.append({"script": cols[0], "traces": [t for t in cols[1].split(",") if t],
                              "baselines": [b for b in cols[2].split(",") if b]})
    return tests


def baseline_traces(script_path):
    """Maps each file the test diffs to the traces of the zeek run before that diff."""
    mapping, current = {}, []
    try:
        with open(script_path, errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return mapping
    for line in lines:
        m = re.match(r"\s*#\s*@TEST-EXEC(?:-FAIL)?:\s*(.*)", line)
        if not m:
            continue
        cmd = m.group(1)
        if re.match(r"(\S*/)?zeek\s", cmd) and "$TRACES/" in cmd:
            current = re.findall(r"\$TRACES/(\S+)", cmd)
        diff = re.match(r"btest-diff(?:-cut)?\s.*?(\S+)\s*$", cmd)
        if diff and current:
            mapping.setdefault(diff.group(1), list(current))
    return mapping


def unescape_zeek(value):
    """Zeek writes non-printable bytes as \\xNN; "-" is unset and "(empty)" the empty value."""
    if value == "-":
        return None
    if value == "(empty)":
        return ""
    raw = re.sub(rb"\\x([0-9a-fA-F]{2})", lambda m: bytes([int(m.group(1), 16)]),
                 value.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "surrogateescape")


def zeek_unescape_uri(uri):
    """Zeek logs the URI percent-decoded (its http_request's unescaped_URI); Suricata-style EVE
    keeps it raw. Decodes ours the way Zeek's HTTP analyzer does: %XX and %uXXXX (as two bytes)
    are decoded, any other '%' is kept literally with what follows it."""
    raw = uri.encode("utf-8", "surrogateescape")
    out, i, n = bytearray(), 0, len(raw)
    hexdigits = b"0123456789abcdefABCDEF"
    while i < n:
        c = raw[i]
        if c != 0x25:  # '%'
            out.append(c)
            i += 1
        elif i + 2 < n and raw[i + 1] in hexdigits and raw[i + 2] in hexdigits:
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        elif (i + 5 < n and raw[i + 1] in b"uU" and
              all(d in hexdigits for d in raw[i + 2:i + 6])):
            out += bytes.fromhex(raw[i + 2:i + 6].decode())
            i += 6
        else:
            out += raw[i:i + 2]  # '%' and the character after it (if any), uninterpreted
            i += 2
    return out.decode("utf-8", "surrogateescape")


def normalize(column, value):
    if column == "host" and value is not None:
        return value.split(":", 1)[0].lower()
    if column == "status_code":
        if value in (None, "", 0, "0"):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    return value


def read_zeek_log(path):
    """Returns (columns compared, list of tuples), or (None, reason) when unusable."""
    fields, rows = None, []
    with open(path, errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#fields\t"):
                fields = line.split("\t")[1:]
                continue
            if line.startswith("#") or not line:
                continue
            cells = line.split("\t")
            if fields is None:
                # zeek-cut -m: the first line names the columns
                if any(c in ("uid", "ts", "method", "uri", "host", "status_code") for c in cells):
                    fields = cells
                    continue
                return None, "no column header"
            rows.append(dict(zip(fields, cells)))
    if fields is None:
        return None, "empty"
    cols = tuple(c for c in COLUMNS if c in fields)
    if not cols:
        return None, "none of method/host/uri/status_code"
    return cols, [tuple(normalize(c, unescape_zeek(r.get(c, "-"))) for c in cols) for r in rows]


def run_sensor(args, config, traces, logdir):
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    cmd = [args.sensor] + (["-c", config] if config else [])
    for t in traces:
        cmd += ["-r", t]
    cmd += ["-l", logdir, "--set", "outputs.eve.types=[http]"]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, f"timeout after {TIMEOUT_S} s", True
    stderr = proc.stderr.decode("utf-8", "replace")
    with open(os.path.join(logdir, "stderr"), "w") as f:
        f.write(stderr)
    crashed = proc.returncode < 0 or any(m in stderr for m in SANITIZER_MARKERS)
    if proc.returncode != 0:
        first = next((l for l in stderr.splitlines() if l.strip()), "")
        return None, f"exit {proc.returncode}: {first[:160]}", crashed
    records = []
    eve = os.path.join(logdir, "eve.json")
    if os.path.exists(eve):
        with open(eve, "rb") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    return None, "eve.json has an invalid line", True
                if rec.get("event_type") == "http":
                    records.append(rec.get("http", {}))
    return records, None, crashed


def compare(cols, zeek_rows, our_http):
    def ours_value(h, c):
        v = h.get(OURS[c])
        return zeek_unescape_uri(v) if c == "uri" and isinstance(v, str) else v

    ours = [tuple(normalize(c, ours_value(h, c)) for c in cols) for h in our_http]
    z, o = collections.Counter(zeek_rows), collections.Counter(ours)
    matched = sum((z & o).values())
    return len(ours), matched, sorted((z - o).elements(), key=repr), \
        sorted((o - z).elements(), key=repr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpora", "zeek-http"))
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--config", help="default: etc/demo/tokenwatch.yaml (built-in defaults if absent)")
    ap.add_argument("--expect", default=os.path.join(ROOT, "tests", "e2e", "zeek_expect.json"))
    ap.add_argument("--suggest", action="store_true", help="print the fully matching units")
    ap.add_argument("-v", "--verbose", action="store_true", help="show unmatched tuples of all")
    args = ap.parse_args()

    btest = os.path.join(args.corpus, "testing", "btest")
    if not os.path.isdir(btest) or not os.path.exists(os.path.join(args.corpus, "INDEX.tsv")):
        print(f"run_zeek: skipped: corpus {args.corpus} is absent")
        return 77
    if not os.access(args.sensor, os.X_OK):
        print(f"run_zeek: {args.sensor} is not an executable")
        return 1
    config = args.config or os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml")
    if not os.path.exists(config):
        if args.config:
            print(f"run_zeek: config {config} not found")
            return 1
        config = None
    expect = {"full": [], "min_ratio": {}}
    if os.path.exists(args.expect):
        with open(args.expect) as f:
            expect.update(json.load(f))
    os.makedirs(args.workdir, exist_ok=True)

    units, skipped = [], []
    for test in read_index(args.corpus):
        bdir = re.sub(r"\.(zeek|test)$", "", test["script"]).replace("/", ".")
        traced = baseline_traces(os.path.join(btest, test["script"]))
        for base in test["baselines"]:
            if not HTTP_LOG.match(base):
                continue
            unit = f"{bdir}/{base}"
            traces = traced.get(base) or test["traces"]
            paths = [os.path.join(btest, "Traces", t) for t in traces]
            missing = [t for t, p in zip(traces, paths) if not os.path.exists(p)]
            if not traces or missing:
                skipped.append((unit, "traces absent: " + ",".join(missing or ["(none)"])))
                continue
            cols, rows = read_zeek_log(os.path.join(btest, "Baseline", bdir, base))
            if cols is None:
                skipped.append((unit, f"baseline unusable: {rows}"))
                continue
            units.append({"unit": unit, "traces": traces, "paths": paths, "cols": cols,
                          "zeek": rows})

    failures, results, crashes = [], [], []
    width = max((len(u["unit"]) for u in units), default=10)
    print(f"{'unit':<{width}}  zeek  ours  matched  compared")
    for i, u in enumerate(units):
        records, error, crashed = run_sensor(args, config, u["paths"],
                                             os.path.join(args.workdir, str(i)))
        r = {"unit": u["unit"], "traces": u["traces"], "columns": list(u["cols"]),
             "zeek": len(u["zeek"]), "no_request": sum(1 for t in u["zeek"]
                                                      if u["cols"][0] == "method" and t[0] is None)}
        if crashed:
            crashes.append(f"{u['unit']}: {error or 'sanitizer report on stderr'}")
        if error:
            r.update(ours=None, matched=0, error=error)
            print(f"{u['unit']:<{width}}  {r['zeek']:>4}     -        -  sensor {error}")
        else:
            r["ours"], r["matched"], only_zeek, only_ours = compare(u["cols"], u["zeek"], records)
            r["only_zeek"] = [list(t) for t in only_zeek]
            r["only_ours"] = [list(t) for t in only_ours]
            full = r["matched"] == r["zeek"] == r["ours"]
            note = f"  (zeek lines without a request: {r['no_request']})" \
                if r["no_request"] and not full else ""
            print(f"{u['unit']:<{width}}  {r['zeek']:>4}  {r['ours']:>4}  {r['matched']:>7}  "
                  f"{','.join(u['cols'])}{'  FULL' if full else ''}{note}")
            listed = u["unit"] in expect["full"] or u["unit"] in expect["min_ratio"]
            if (args.verbose or listed) and not full:
                for t in only_zeek[:10]:
                    print(f"    only zeek: {t}")
                for t in only_ours[:10]:
                    print(f"    only ours: {t}")
        r["full"] = r.get("ours") is not None and r["matched"] == r["zeek"] == r["ours"]
        results.append(r)
        if u["unit"] in expect["full"] and not r["full"]:
            failures.append(f"{u['unit']}: must match fully, matched {r['matched']} of zeek "
                            f"{r['zeek']} / ours {r['ours']}")
        if u["unit"] in expect["min_ratio"]:
            want = float(expect["min_ratio"][u["unit"]])
            got = r["matched"] / max(r["zeek"], r.get("ours") or 0, 1)
            if got < want:
                failures.append(f"{u['unit']}: match ratio {got:.2f} < {want}")

    known = {u["unit"] for u in units}
    for unit in list(expect["full"]) + list(expect["min_ratio"]):
        if unit not in known:
            failures.append(f"{unit}: listed in {args.expect} but not run (absent or renamed)")
    for unit, why in skipped:
        print(f"{unit:<{width}}  skipped: {why}")
    nfull = sum(1 for r in results if r["full"])
    print(f"\nrun_zeek: {len(results)} baselines compared, {nfull} match fully, "
          f"{sum(r['matched'] for r in results)} of {sum(r['zeek'] for r in results)} zeek "
          f"transactions matched, {len(skipped)} skipped; expectations: "
          f"{len(expect['full'])} full, {len(expect['min_ratio'])} ratio")
    with open(os.path.join(args.workdir, "summary.json"), "w") as f:
        json.dump({"results": results, "skipped": skipped, "failures": failures,
                   "crashes": crashes}, f, indent=1)
        f.write("\n")
    if args.suggest:
        print(json.dumps({"full": sorted(r["unit"] for r in results if r["full"])}, indent=1))
    for line in crashes:
        print(f"CRASH: {line}")
    for line in failures:
        print(f"FAIL: {line}")
    return 1 if failures or crashes else 0


if __name__ == "__main__":
    sys.exit(main())
