#!/usr/bin/env python3
"""Every EVE record tokenwatch shares with Suricata validates against Suricata's own schema
(../shared/eve-schema/etc/schema.json, the suricata-verify schema; skipped, exit 77, when absent).

The sensor runs over the demo and the capture of every e2e case (each with its case's config
and arguments) with every record type on ([alert, token, stats, http, flow, anomaly, keyset]), a
sensor-name, sensor-tags and `ethernet: yes`, so that `host`, alert.metadata and `ether` appear
too. Every record but those of our own types (token, keyset: OUR_TYPES), so today alert, http,
flow, stats and anomaly, is validated after removing ONLY our own members, listed in EXTENSIONS
below: whole
objects of ours (SPEC §3: the alert's `token`; stats.tokens, stats.alerts, stats.eve and
stats.tokenwatch, where every counter Suricata does not have lives), never single members
inside one of Suricata's objects. Everything else (types, nested objects, additionalProperties:
false, so a counter of ours put back inside Suricata's `stats.defrag` fails) must validate as
is, and every error is counted. The test also requires that each shared type was seen at least
once, that each extension member was really there to remove (no stale entry), and that flow
and anomaly records carry what the issue asks.

The schema has no $schema: it is checked with jsonschema's Draft 2020-12 validator (Debian's
python3-jsonschema; if the running interpreter lacks it, the script re-runs under
/usr/bin/python3, else skips).
"""
import argparse
import collections
import glob
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

try:
    import jsonschema
except ImportError:
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("SKIP: python3-jsonschema is not installed")
    sys.exit(77)

SHARED_TYPES = ("alert", "http", "flow", "stats", "anomaly")  # each must be seen
OUR_TYPES = ("token", "keyset")  # SPEC §3: record types of our own; every other is validated
ALL_TYPES = "[alert,token,stats,http,flow,anomaly,keyset]"

# Our extension members, by event_type, as dotted paths: removed before validation. Nothing else.
# Each is a whole object (or member) of our own; a counter of ours goes under stats.tokenwatch,
# never into one of Suricata's objects (sensor/output/eve_stats.c).
EXTENSIONS = {
    "alert": ["token", "http.head_oversized"],  # SPEC §3 token object; a streamed head
    "http": ["http.head_oversized"],
    "flow": [],
    "anomaly": [],
    "stats": [
        "stats.tokens",      # SPEC §3: tokens.seen/distinct/verified/cache_hits/...
        "stats.alerts",      # SPEC §3: alerts.<finding code>
        "stats.eve",         # per-output queue/drop counters (issue 6 outputs)
        "stats.tokenwatch",  # SPEC "Stats": every other counter of ours
    ],
}

def remove_path(rec, path):
    """Removes a dotted path; returns whether it was there."""
    parts = path.split(".")
    cur = rec
    for p in parts[:-1]:
        if not isinstance(cur, dict) or p not in cur:
            return False
        cur = cur[p]
    if isinstance(cur, dict) and parts[-1] in cur:
        del cur[parts[-1]]
        return True
    return False


def runs():
    """(name, pcap list, config, extra args) for each capture set."""
    yield "demo", ["pcaps/demo"], "etc/demo/tokenwatch.yaml", []
    for case in sorted(glob.glob(os.path.join(HERE, "*", "case.json"))):
        name = os.path.basename(os.path.dirname(case))
        with open(case) as f:
            c = json.load(f)
        if any(not os.path.exists(os.path.join(ROOT, r)) for r in c.get("requires", [])):
            continue
        yield name, c["pcap"], c.get("config", "etc/demo/tokenwatch.yaml"), c.get("args", [])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--schema", default=os.path.join(ROOT, "..", "shared", "eve-schema", "etc",
                                                     "schema.json"))
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    if not os.path.exists(a.schema):
        print(f"SKIP: {a.schema} is absent (../shared not checked out)")
        return 77
    with open(a.schema) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    cls.check_schema(schema)
    validator = cls(schema)

    checked = collections.Counter()
    removed = collections.Counter()
    errors = []
    seen_flow_ok = seen_tags = seen_ether = seen_host = seen_pcap_cnt = 0
    for name, pcaps, config, args in runs():
        wd = os.path.join(os.path.abspath(a.workdir), name)
        os.makedirs(wd, exist_ok=True)
        eve = os.path.join(wd, "eve.json")
        if os.path.exists(eve):
            os.unlink(eve)
        cmd = [a.sensor]
        if config is not None:
            cmd += ["-c", config]
        for p in pcaps:
            cmd += ["-r", p]
        cmd += ["-l", wd] + args + [
            "--set", "outputs.eve.types=" + ALL_TYPES, "--set", "outputs.eve.filename=eve.json",
            "--set", "outputs.eve.filetype=regular", "--set", "outputs.eve.ethernet=yes",
            "--set", "sensor-name=schema-test", "--set", "sensor-tags=[dc1, schema]"]
        r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if not os.path.exists(eve):
            errors.append(f"{name}: no eve.json (exit {r.returncode}): {r.stderr.decode()[-300:]}")
            continue
        with open(eve) as f:
            for ln, line in enumerate(f, 1):
                rec = json.loads(line)
                et = rec.get("event_type")
                if et in OUR_TYPES:
                    continue
                seen_host += rec.get("host") == "schema-test"
                seen_pcap_cnt += isinstance(rec.get("pcap_cnt"), int)
                seen_ether += "ether" in rec
                if et == "alert":
                    seen_tags += rec["alert"].get("metadata") == {"tags": ["dc1", "schema"]}
                if et == "flow":
                    fl = rec["flow"]
                    seen_flow_ok += (rec.get("app_proto") == "http" and fl["pkts_toserver"] > 0
                                     and fl["bytes_toserver"] > 0 and fl["state"] in
                                     ("new", "established", "closed"))
                for p in EXTENSIONS.get(et, []):
                    removed[et + ":" + p] += remove_path(rec, p)
                errs = sorted(validator.iter_errors(rec), key=lambda e: list(e.path))
                checked[et] += 1
                for e in errs:
                    errors.append(f"{name}:{ln}: {et}: /{'/'.join(map(str, e.path))}: "
                                  f"{e.message[:200]}")
    for et in sorted(checked):
        print(f"{et}: {checked[et]} records validated")
    print("extension members removed:", dict(sorted(removed.items())))
    ok = True
    for e in errors[:40]:
        print("FAIL", e)
    if errors:
        print(f"FAIL {len(errors)} schema errors")
        ok = False
    for et in SHARED_TYPES:
        if not checked[et]:
            print(f"FAIL no {et} record was produced")
            ok = False
        for p in EXTENSIONS[et]:
            if not removed[et + ":" + p]:
                print(f"FAIL extension {et}: {p} was never there: a stale entry, remove it")
                ok = False
    for what, n in (("flow records with counts", seen_flow_ok), ("alert.metadata.tags", seen_tags),
                    ("ether", seen_ether), ("host", seen_host), ("pcap_cnt", seen_pcap_cnt)):
        if not n:
            print(f"FAIL no record carried {what}")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
