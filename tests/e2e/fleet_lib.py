#!/usr/bin/env python3
"""fleet_lib.py — what tests/e2e/run_fleet.py and tests/live/run_fleet_live.py share: the
checks and their failure list, the sensors' configurations (the demo one with a fleet section),
reading EVE records and stats.fleet, the Redis helpers (run_redis.py's client and server), and
validating the fleet's records against Suricata's EVE schema."""
import hashlib
import ipaddress
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
import run_redis as RD  # noqa: E402  (Resp, Server, free_port, wait_until, open_writer)
RR = RD.RR                # run_reload: drained, Stderr

DEMO_CFG = os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml")
DEMO_DIR = os.path.dirname(DEMO_CFG)
IDP_JWKS = os.path.join(DEMO_DIR, "keys", "demo-idp.jwks.json")
GEN_BENCH = os.path.join(ROOT, "tests", "bench", "gen_bench.py")
SITES = ["site-a", "site-b", "site-c"]
SID_REPLAY, SID_SIGNATURE_INVALID = 9100015, 9100003
STATS_KEYS = ["sightings", "published", "sent", "errors", "dropped", "batched", "reconnects",
              "lookups", "indicators", "replay_alerts", "indicator_alerts", "limited"]
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+0000$")
SUMMARY_RE = re.compile(r"^tokenwatch: \d+ packets")
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


# --- configuration -----------------------------------------------------------------------------

def config_text(name, port=None, idp_only=False, flows=False):
    """The demo configuration (paths made absolute) with sensor-name `name` and, when port is
    given, a fleet section for redis on 127.0.0.1:port. idp_only: the keysets replaced by the
    demo-idp keyset alone (no key of the demo-organizations tokens is trusted). flows: `flow`
    records too."""
    text = open(DEMO_CFG).read()
    if flows:
        text, n = re.subn(r"types: \[alert, token, stats\]", "types: [alert, token, stats, flow]",
                          text, count=1)
        assert n == 1, "the demo configuration's EVE types line changed"
    text = re.sub(r"^(\s*(?:- )?(?:jwks|revoked-keys-file):\s*)(\S+)",
                  lambda m: m.group(1) + os.path.normpath(os.path.join(DEMO_DIR, m.group(2))),
                  text, flags=re.M)
    if idp_only:
        out, skip = [], False
        for line in text.split("\n"):
            if line.startswith("keysets:"):
                skip = True
                out += ["keysets:", "  - name: demo-idp", "    jwks: " + IDP_JWKS,
                        "    issuers:", '      - "https://idp.example.com"']
                continue
            if skip and re.match(r"^[A-Za-z]", line):
                skip = False
            if not skip:
                out.append(line)
        text = "\n".join(out)
    text = text.rstrip("\n") + "\n\nsensor-name: %s\n" % name
    if port is not None:
        text += ("fleet:\n"
                 "  redis: {server: 127.0.0.1, port: %d}\n"
                 "  window: 3600\n"
                 "  clients: 3\n"
                 "  networks: 24\n"
                 "  networks-v6: 64\n"
                 "  queue-size: 4096\n" % port)
    return text


def write_config(path, name, port=None, idp_only=False, flows=False):
    with open(path, "w") as f:
        f.write(config_text(name, port, idp_only, flows))
    return path


# --- EVE ---------------------------------------------------------------------------------------

def load(out):
    path = os.path.join(out, "eve.json")
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip()]


def fleet_of(r):
    f = r.get("fleet")
    return f if isinstance(f, dict) else None


def fleet_alerts(recs, kind, sha=None):
    return [r for r in recs if r.get("event_type") == "alert" and fleet_of(r) is not None and
            fleet_of(r).get("type") == kind and
            (sha is None or r.get("token", {}).get("sha256") == sha)]


def fleet_stats(recs):
    st = [r for r in recs if r.get("event_type") == "stats"]
    f = st[-1].get("stats", {}).get("fleet") if st else None
    return f if isinstance(f, dict) else None


def token_ts(recs, src_ip, sha):
    for r in recs:
        if r.get("event_type") == "token" and r.get("src_ip") == src_ip and \
                r.get("token", {}).get("sha256") == sha:
            return r.get("timestamp")
    return None


def net24(ip):
    return str(ipaddress.ip_network(ip + "/24", strict=False)) if ip else None


def packet_times(ts):
    """The EVE timestamp ts, and ts cut to its second (.000000): what a first_seen.timestamp of
    the occurrence at ts may say (the fleet keeps packet times in whole seconds or finer)."""
    return [] if not ts else [ts, ts[:19] + ".000000" + ts[26:]]


def brief(r):
    return json.dumps({k: r.get(k) for k in ("timestamp", "event_type", "host", "src_ip", "alert",
                                             "fleet") if k in r} |
                      {"token": {k: r.get("token", {}).get(k) for k in ("sha256", "findings")}})


def check_stats(tag, recs, exact=None, zero=("dropped", "errors", "limited")):
    """stats.fleet present with every counter; the invariant; the `zero` counters 0; `exact`
    {counter: value, or a tuple of the values allowed}. Returns the object (None when
    absent)."""
    f = fleet_stats(recs)
    check("%s: final stats record has stats.fleet with every counter" % tag,
          f is not None and all(isinstance(f.get(k), int) for k in STATS_KEYS), json.dumps(f))
    if f is None:
        return None
    print("     %s stats.fleet: %s" % (tag, json.dumps(f, sort_keys=True)))
    g = lambda k: f.get(k) if isinstance(f.get(k), int) else 0  # noqa: E731
    check("%s: sent %s + errors %s + dropped %s == sightings %s + published %s" %
          (tag, f.get("sent"), f.get("errors"), f.get("dropped"), f.get("sightings"),
           f.get("published")),
          g("sent") + g("errors") + g("dropped") == g("sightings") + g("published"), json.dumps(f))
    for k in zero:
        check("%s: stats.fleet.%s == 0" % (tag, k), f.get(k) == 0, json.dumps(f))
    for k, v in (exact or {}).items():
        check("%s: stats.fleet.%s == %s" % (tag, k, v),
              f.get(k) in v if isinstance(v, tuple) else f.get(k) == v, json.dumps(f))
    return f


def check_no_secrets(tag, toks, outs, stderrs):
    parts = secret_parts(toks)
    leaks = []
    for out in outs:
        path = os.path.join(out, "eve.json")
        data = open(path).read() if os.path.exists(path) else ""
        leaks += ["%s/eve.json" % os.path.basename(out) for p in parts if p in data]
    leaks += ["stderr" for s in stderrs for p in parts if p in s]
    check("%s: no raw token text (nor payload or signature part) in EVE or stderr" % tag,
          not leaks, str(sorted(set(leaks))))


def sha256_hex(tok):
    return hashlib.sha256(tok.encode()).hexdigest()


def secret_parts(toks):
    parts = []
    for t in toks:
        parts += [t, t.split(".")[1], t.split(".")[2]]
    return parts


# --- Redis -------------------------------------------------------------------------------------

def start_server(rbin, wd, name):
    d = os.path.join(wd, name)
    os.makedirs(d, exist_ok=True)
    srv = RD.Server(rbin, RD.free_port(), d)
    ok = srv.start()
    check("%s: redis-server started on port %d" % (name, srv.port), ok)
    return srv if ok else None


def scan_keys(c, match=None):
    keys, cursor = [], b"0"
    while True:
        args = ["SCAN", cursor, "COUNT", 1000] + (["MATCH", match] if match else [])
        cursor, batch = c.cmd(*args)
        keys += batch
        if cursor == b"0":
            return keys


def key_values(c, key):
    """Every byte string a key holds, whatever its type."""
    t = c.cmd("TYPE", key)
    if t == "string":
        return [c.cmd("GET", key)]
    if t == "hash":
        return c.cmd("HGETALL", key)
    if t == "zset":
        return c.cmd("ZRANGE", key, 0, -1, "WITHSCORES")
    if t == "list":
        return c.cmd("LRANGE", key, 0, -1)
    if t == "set":
        return c.cmd("SMEMBERS", key)
    if t == "stream":
        out = []
        for _id, fields in c.cmd("XRANGE", key, "-", "+"):
            out += [_id] + fields
        return out
    return []


def check_redis_keys(tag, c, toks=()):
    """Every key has an expiry; no key or value holds token text. Returns the key list."""
    keys = scan_keys(c)
    no_ttl = [(k, c.cmd("PTTL", k)) for k in keys]
    no_ttl = [(k.decode(errors="replace"), t) for k, t in no_ttl
              if not (isinstance(t, int) and t > 0)]
    check("%s: every one of the %d keys in redis has an expiry (PTTL > 0)" % (tag, len(keys)),
          keys and not no_ttl, "%d keys; without: %s" % (len(keys), no_ttl[:10]))
    if toks:
        parts = [p.encode() for p in secret_parts(toks)]
        leaks = []
        for k in keys:
            vals = [k] + [v for v in key_values(c, k) if isinstance(v, bytes)]
            if any(p in v for v in vals for p in parts):
                leaks.append(k.decode(errors="replace"))
        check("%s: no key name or value in redis holds a raw token text (nor its payload or "
              "signature part)" % tag, not leaks, str(leaks[:10]))
    return keys


def sightings_key(sha):
    return "tokenwatch:{%s}:sightings" % sha


def info_field(c, section, field):
    for line in c.cmd("INFO", section).decode().splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    return None


# Suricata's EVE schema (../shared/eve-schema, as ctest eve_schema reads it): the fleet's alerts
# and the stats record with stats.fleet validate once our own members are set aside, so the
# `fleet` object is the only new member of an alert and stats.fleet the only new stats object.
SCHEMA = os.path.join(ROOT, "..", "shared", "eve-schema", "etc", "schema.json")
OURS = {"alert": ["token", "fleet", "http.head_oversized"],
        "stats": ["stats.tokens", "stats.alerts", "stats.eve", "stats.tokenwatch", "stats.fleet"]}


def check_schema(tag, recs):
    try:
        import jsonschema
    except ImportError:
        print("     %s: schema not checked: python3-jsonschema is not installed" % tag)
        return
    if not os.path.exists(SCHEMA):
        print("     %s: schema not checked: %s is absent" % (tag, SCHEMA))
        return
    with open(SCHEMA) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    v = cls(schema)
    errors, n, fleet_seen = [], 0, 0
    for r in recs:
        et = r.get("event_type")
        if et not in OURS:
            continue
        r = json.loads(json.dumps(r))
        fleet_seen += "fleet" in r or "fleet" in r.get("stats", {})
        for path in OURS[et]:
            cur, parts = r, path.split(".")
            for p in parts[:-1]:
                cur = cur.get(p, {})
            cur.pop(parts[-1], None)
        errors += ["%s: %s" % (et, e.message[:160]) for e in v.iter_errors(r)]
        n += 1
    check("%s: %d alert and stats records (%d with fleet objects) valid against Suricata's "
          "EVE schema, ours set aside" % (tag, n, fleet_seen), not errors and fleet_seen >= 3,
          "; ".join(errors[:5]))
