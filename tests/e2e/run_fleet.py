#!/usr/bin/env python3
"""The fleet: several sensors sharing token sightings and indicators through Redis (the
configuration's `fleet` section), against real redis-servers the test starts on free loopback
ports (skipped, exit 77, when redis-server is not installed).

Captures: tests/gen/make_fleet.py (three sites; T presented at all three from one /24 each, U
only at site A, F a forged token of the demo-organizations key). Every sensor runs with the
demo configuration (or, for site B, one whose only keyset cannot verify F), `sensor-name` of
its site and `fleet: {redis: ..., window: 3600, clients: 3, networks: 24, networks-v6: 64,
queue-size: 4096}`; `tokenwatch -c CFG -r CAPTURE -l OUTDIR -j 1`, exit 0 expected.

1. sites (sequential): A, then B, then C against one fresh redis-server (a SUBSCRIBEd reader
   on the channel tokenwatch:indicators the whole time); run twice, with -j 1 and again with
   -j 2 against another fresh server (tag sites-j2: one fleet shared by two workers). Site B trusts only the demo-idp keyset:
   its own verdict on F is issuer_untrusted (severity 3), no severity-1 finding.
     - exactly one fleet replay alert (`fleet.type` "replay") in the three outputs together: at
       site C, for T, sid 9100015, token.findings holding token_replay, fleet.client_networks 3,
       sensor_count 3, sensors ["site-a","site-b","site-c"], its flow's `flow` record
       `alerted` (the sites write flow records), first_seen {sensor site-a,
       network 10.1.0.0/24, timestamp = the packet time of A's first T (its token record's
       timestamp, to the microsecond or cut to the second)};
     - none for U anywhere;
     - site B: one fleet indicator alert (`fleet.type` "indicator") for F: sid 9100003, fleet
       {sensor site-a, findings [signature_invalid], first_seen {sensor site-a, timestamp =
       A's F}}; site A: its own signature_invalid alert for F, no fleet indicator alert;
     - the indicator was PUBLISHed on tokenwatch:indicators naming F's sha256;
     - stats.fleet at every site: sent + errors + dropped == sightings + published, dropped 0,
       errors 0; sightings once per (token, /24): A 3 (T's two clients share a /24), B 2, C 1;
       published: A 1 (F), B and C 0; replay_alerts C 1, indicator_alerts B 1, others 0;
     - Redis: T's `tokenwatch:{sha}:sightings` is a hash, F's `...:indicator` a string,
       `tokenwatch:indicators` a sorted set; every key has an expiry (PTTL > 0, SCAN over all);
       no key name nor value (GET/HGETALL/ZRANGE/LRANGE/SMEMBERS) holds a raw token text, its
       payload part or its signature part; nor do the EVE files or stderr.
2. concurrent: the three sites started together against a fresh redis: the order of sightings
   is the scheduler's, so: at least one fleet replay alert for T, each with client_networks
   >= 3; none for U; the stats invariant at every site.
3. absent: site A with the fleet pointed at a port nobody listens on: exit 0; its alert and
   token records equal those of the same run without the `fleet` section (flow_id masked: it is
   random per run; `fleet` objects removed; stats records not compared); stats.fleet: sent 0,
   dropped == sightings + published (3 + 1); the unreachable Redis is said in one line on
   stderr (besides the exit summary).
4. restart: redis killed (SIGKILL) and restarted (same port, empty) while the sensor (site-d)
   reads `-r FIFO` (a capture written in parts, as run_redis.py scenario 3 does):
     part 1: tokens P1a (two /24s) and P1b; wait until their sightings hashes are in Redis;
             kill -9 redis-server
     part 2: tokens P2a and P2b; wait until the sensor has read it and said something on
             stderr (the lost connection); restart redis-server
             -> wait until P2a's or P2b's sightings arrive (queued, sent after the reconnect)
     part 3: V from 10.43.1.5, 10.43.2.5, 10.43.3.5 -> one fleet replay alert for V at its
             third client, client_networks 3, sensors ["site-d"], first_seen 10.43.1.0/24
   Then: exit 0, every token record of every part present (capture went on), stats.fleet
   reconnects >= 1, sightings 9 (one per token and /24), sent + errors + dropped == sightings
   + published exactly, every key has an expiry, stderr has two lines besides the summary (one
   for the loss, one for the recovery). Every wait polls an observable condition; no fixed
   sleeps.
5. memory: the benchmark capture (tests/bench/gen_bench.py --size-mb 20 into the workdir;
   demo-organizations tokens, each presented by at most two clients in two /24s) read by
   bench-1, then bench-2 against a fresh redis: prints INFO memory's used_memory and DBSIZE;
   every key has an expiry; used_memory < the empty server's + 4 KiB per distinct token + 2 MiB
   (a sightings hash holds at most 2 networks x 2 sensors; capped at 64 MiB); the number of
   `tokenwatch:{*}:sightings` hashes == the distinct token.sha256 of both runs' token records;
   no fleet replay alert (two networks per token); per run stats.fleet.sightings == the
   distinct (token.sha256, client /24) pairs of its token records (at most once per token and
   network per window: the capture spans a second of packet time); the stats invariant,
   dropped and errors 0 (fewer sightings than queue-size).
6. flood: 2,000 requests with distinct forged tokens in one second of packet time
   (tests/bench/gen_flood.py): every one judged and alerted locally; sightings and publishes
   together at fleet.unverified-rate (50), the other 3,950 counted in stats.fleet.limited;
   Redis holds at most 51 keys.
7. hostile: Redis holding what a broken or hostile writer put there (an indicator with a time
   past year 9999, a sensor name with quotes, a newline, invalid UTF-8 and 300 characters, an
   unknown finding code; junk fields in a sightings hash): the sensor exits 0, writes valid
   JSON with the time held and the name escaped and cut, and the script drops the junk.
Stdlib only, plus python3-cryptography for the generators (skip, 77, without it); the helpers
shared with tests/live/run_fleet_live.py are in fleet_lib.py.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
from fleet_lib import *  # noqa: E402,F401,F403  (checks, configurations, EVE and Redis helpers)


JOBS = "1"  # workers per sensor; scenario 1 runs again with 2 (one fleet shared by both)


def sensor_cmd(sensor, cfg, capture, out):
    return [sensor, "-c", cfg, "-r", capture, "-l", out, "-j", JOBS]


def run_sensor(sensor, cfg, capture, out):
    os.makedirs(out, exist_ok=True)
    return subprocess.run(sensor_cmd(sensor, cfg, capture, out), cwd=out, capture_output=True,
                          text=True, timeout=120)


# --- 1. three sites, one after the other --------------------------------------------------------

def sites_sequential(sensor, rbin, wd, toks, pcaps):
    tag = "sites" if JOBS == "1" else "sites-j" + JOBS
    srv = start_server(rbin, wd, "redis-" + tag)
    if srv is None:
        return
    sha = {k: sha256_hex(v) for k, v in toks.items()}
    sub = srv.client()
    try:
        check("%s: subscribed to tokenwatch:indicators" % tag,
              sub.cmd("SUBSCRIBE", "tokenwatch:indicators") ==
              [b"subscribe", b"tokenwatch:indicators", 1])
        recs, outs, errs = {}, {}, []
        for site in SITES:
            out = os.path.join(wd, tag, site)
            os.makedirs(out, exist_ok=True)
            cfg = write_config(os.path.join(out, "tokenwatch.yaml"), site, srv.port,
                               idp_only=(site == "site-b"), flows=True)
            p = run_sensor(sensor, cfg, pcaps[site], out)
            check("%s: %s exit 0" % (tag, site), p.returncode == 0,
                  "exit %s: %s" % (p.returncode, p.stderr.strip()[-800:]))
            errs.append(p.stderr)
            outs[site], recs[site] = out, load(out)
            if site == "site-a":
                msgs = []
                sub.s.settimeout(5)
                try:
                    while True:
                        m = sub.reply()
                        if m and m[0] == b"message":
                            msgs.append(m[2])
                            if sha["F"].encode() in m[2]:
                                break
                except (OSError, ConnectionError) as e:
                    print("     subscriber: %s" % e)
                check("%s: site-a published the indicator of F on tokenwatch:indicators" % tag,
                      any(sha["F"].encode() in m for m in msgs), str(msgs)[:400])
                check("%s: the published indicators hold no raw token text" % tag,
                      not any(p.encode() in m for m in msgs for p in secret_parts(toks.values())))
    finally:
        sub.close()

    # fleet replay alerts
    replays = [(s, r) for s in SITES for r in fleet_alerts(recs[s], "replay")]
    check("%s: exactly one fleet replay alert in the three outputs" % tag, len(replays) == 1,
          "%d: %s" % (len(replays), [(s, brief(r)) for s, r in replays]))
    at_c = [r for s, r in replays if s == "site-c" and r.get("token", {}).get("sha256") == sha["T"]]
    check("%s: the fleet replay alert is at site-c, for T" % tag, len(at_c) == 1,
          str([(s, brief(r)) for s, r in replays]))
    if at_c:
        r = at_c[0]
        f = fleet_of(r)
        print("     site-c replay alert: %s" % brief(r))
        check("%s: replay alert: alert.signature_id %d" % (tag, SID_REPLAY),
              r.get("alert", {}).get("signature_id") == SID_REPLAY, brief(r))
        check("%s: replay alert: token.findings holds token_replay" % tag,
              "token_replay" in (r.get("token", {}).get("findings") or []), brief(r))
        check("%s: replay alert: host site-c" % tag, r.get("host") == "site-c", brief(r))
        flows = [x for x in recs["site-c"] if x.get("event_type") == "flow" and
                 x.get("flow_id") == r.get("flow_id")]
        check("%s: the replay alert's flow record says alerted" % tag,
              len(flows) == 1 and flows[0].get("flow", {}).get("alerted") is True,
              json.dumps(flows)[:400])
        check("%s: fleet.client_networks == 3" % tag, f.get("client_networks") == 3, json.dumps(f))
        check("%s: fleet.sensor_count == 3" % tag, f.get("sensor_count") == 3, json.dumps(f))
        check("%s: fleet.sensors == [site-a, site-b, site-c]" % tag,
              f.get("sensors") == SITES, json.dumps(f))
        fs = f.get("first_seen") if isinstance(f.get("first_seen"), dict) else {}
        check("%s: fleet.first_seen.sensor == site-a" % tag, fs.get("sensor") == "site-a",
              json.dumps(f))
        check("%s: fleet.first_seen.network == 10.1.0.0/24" % tag,
              fs.get("network") == "10.1.0.0/24", json.dumps(f))
        want = token_ts(recs["site-a"], "10.1.0.5", sha["T"])
        check("%s: fleet.first_seen.timestamp is EVE-formatted" % tag,
              isinstance(fs.get("timestamp"), str) and TS_RE.match(fs["timestamp"]) is not None,
              json.dumps(f))
        check("%s: fleet.first_seen.timestamp == the packet time of site-a's first T (%s)" %
              (tag, want), fs.get("timestamp") in packet_times(want), json.dumps(f))
    u = [(s, brief(r)) for s in SITES for r in fleet_alerts(recs[s], "replay", sha["U"])]
    check("%s: no fleet replay alert for U" % tag, not u, str(u))

    # fleet indicators
    ind_b = fleet_alerts(recs["site-b"], "indicator", sha["F"])
    check("%s: site-b has one fleet indicator alert for F" % tag, len(ind_b) == 1,
          str([brief(r) for r in recs["site-b"] if r.get("event_type") == "alert"]))
    if ind_b:
        r = ind_b[0]
        f = fleet_of(r)
        print("     site-b indicator alert: %s" % brief(r))
        check("%s: indicator alert: alert.signature_id %d (signature_invalid)" %
              (tag, SID_SIGNATURE_INVALID),
              r.get("alert", {}).get("signature_id") == SID_SIGNATURE_INVALID, brief(r))
        check("%s: indicator alert: src_ip 10.2.0.9" % tag, r.get("src_ip") == "10.2.0.9",
              brief(r))
        check("%s: fleet.sensor == site-a" % tag, f.get("sensor") == "site-a", json.dumps(f))
        check("%s: fleet.findings == [signature_invalid]" % tag,
              f.get("findings") == ["signature_invalid"], json.dumps(f))
        fs = f.get("first_seen") if isinstance(f.get("first_seen"), dict) else {}
        want = token_ts(recs["site-a"], "10.1.0.8", sha["F"])
        check("%s: indicator first_seen == {sensor site-a, timestamp %s}" % (tag, want),
              fs.get("sensor") == "site-a" and fs.get("timestamp") in packet_times(want),
              json.dumps(f))
    b_own = [r for r in recs["site-b"] if r.get("event_type") == "token" and
             r.get("token", {}).get("sha256") == sha["F"]]
    check("%s: site-b's own verdict on F has no severity-1 finding (issuer_untrusted)" % tag,
          len(b_own) == 1 and b_own[0]["token"].get("findings") == ["issuer_untrusted"],
          str([brief(r) for r in b_own]))
    a_ind = [brief(r) for r in recs["site-a"] if r.get("event_type") == "alert" and
             fleet_of(r) is not None and fleet_of(r).get("type") == "indicator"]
    check("%s: site-a has no fleet indicator alert" % tag, not a_ind, str(a_ind))
    a_own = [r for r in recs["site-a"] if r.get("event_type") == "alert" and
             r.get("token", {}).get("sha256") == sha["F"] and fleet_of(r) is None]
    check("%s: site-a has its own signature_invalid alert for F (no fleet object)" % tag,
          len(a_own) == 1 and a_own[0].get("alert", {}).get("signature_id") ==
          SID_SIGNATURE_INVALID, str([brief(r) for r in a_own]))
    c_ind = [brief(r) for r in recs["site-c"]
             if fleet_of(r) and fleet_of(r).get("type") == "indicator"]
    check("%s: site-c (never saw F) has no indicator alert" % tag, not c_ind, str(c_ind))

    # stats
    want = {"site-a": {"sightings": 3, "published": 1, "replay_alerts": 0, "indicator_alerts": 0},
            "site-b": {"sightings": 2, "published": 0, "replay_alerts": 0, "indicator_alerts": 1},
            "site-c": {"sightings": 1, "published": 0, "replay_alerts": 1, "indicator_alerts": 0}}
    if JOBS != "1":
        # T's two occurrences at site A (10.1.0.5 at 09:00:00, 10.1.0.6 five seconds later, one
        # /24) reach different workers; when the later one is sighted first, the earlier one
        # goes out too, so the fleet's first sighting stays the earliest (checked above).
        want["site-a"]["sightings"] = (3, 4)
    for site in SITES:
        check_stats("%s: %s" % (tag, site), recs[site], want[site])

    # redis
    c = srv.client()
    try:
        check("%s: T's %s is a hash" % (tag, sightings_key(sha["T"])[:24] + "...}:sightings"),
              c.cmd("TYPE", sightings_key(sha["T"])) == "hash")
        check("%s: F's tokenwatch:{sha}:indicator is a string" % tag,
              c.cmd("TYPE", "tokenwatch:{%s}:indicator" % sha["F"]) == "string")
        check("%s: tokenwatch:indicators is a sorted set" % tag,
              c.cmd("TYPE", "tokenwatch:indicators") == "zset")
        keys = check_redis_keys(tag, c, list(toks.values()))
        print("     %s: redis keys: %s" % (tag, sorted(k.decode(errors="replace") for k in keys)))
    finally:
        c.close()
        srv.kill()
    check_no_secrets(tag, list(toks.values()), list(outs.values()), errs)
    check_schema(tag, [r for site in SITES for r in recs[site]])


# --- 2. three sites at once ---------------------------------------------------------------------

def sites_concurrent(sensor, rbin, wd, toks, pcaps):
    tag = "concurrent"
    srv = start_server(rbin, wd, "redis-concurrent")
    if srv is None:
        return
    sha = {k: sha256_hex(v) for k, v in toks.items()}
    procs, outs = {}, {}
    try:
        for site in SITES:
            out = outs[site] = os.path.join(wd, "concurrent", site)
            os.makedirs(out)
            cfg = write_config(os.path.join(out, "tokenwatch.yaml"), site, srv.port,
                               idp_only=(site == "site-b"))
            procs[site] = subprocess.Popen(sensor_cmd(sensor, cfg, pcaps[site], out), cwd=out,
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           text=True)
        errs = {s: p.communicate(timeout=120)[1] for s, p in procs.items()}
        for site, p in procs.items():
            check("%s: %s exit 0" % (tag, site), p.returncode == 0,
                  "exit %s: %s" % (p.returncode, errs[site].strip()[-800:]))
        c = srv.client()
        check_redis_keys(tag, c)
        c.close()
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        srv.kill()
    recs = {s: load(outs[s]) for s in SITES}
    replays = [(s, r) for s in SITES for r in fleet_alerts(recs[s], "replay", sha["T"])]
    print("     %s: %d fleet replay alert(s) for T: %s" %
          (tag, len(replays), [(s, fleet_of(r)) for s, r in replays]))
    check("%s: at least one fleet replay alert for T" % tag, len(replays) >= 1)
    check("%s: each with fleet.client_networks >= 3" % tag,
          all(isinstance(fleet_of(r).get("client_networks"), int) and
              fleet_of(r)["client_networks"] >= 3 for _, r in replays),
          str([fleet_of(r) for _, r in replays]))
    u = [(s, brief(r)) for s in SITES for r in fleet_alerts(recs[s], "replay", sha["U"])]
    check("%s: no fleet replay alert for U" % tag, not u, str(u))
    for site in SITES:
        check_stats("%s: %s" % (tag, site), recs[site], zero=())


# --- 3. Redis absent ----------------------------------------------------------------------------

def masked(recs):
    out = []
    for r in recs:
        if r.get("event_type") == "stats":
            continue
        r = dict(r)
        r.pop("flow_id", None)   # random per run
        r.pop("fleet", None)
        out.append(r)
    return out


def absent(sensor, wd, pcaps):
    tag = "absent"
    port = RD.free_port()  # nobody listens there
    base = os.path.join(wd, "absent", "no-fleet")
    out = os.path.join(wd, "absent", "fleet")
    os.makedirs(base)
    os.makedirs(out)
    cfg0 = write_config(os.path.join(base, "tokenwatch.yaml"), "site-a")
    cfg1 = write_config(os.path.join(out, "tokenwatch.yaml"), "site-a", port)
    p0 = run_sensor(sensor, cfg0, pcaps["site-a"], base)
    check("%s: the run without fleet exits 0" % tag, p0.returncode == 0, p0.stderr)
    t = time.time()
    p1 = run_sensor(sensor, cfg1, pcaps["site-a"], out)
    took = time.time() - t
    check("%s: exit 0 with redis absent (%.1f s)" % (tag, took), p1.returncode == 0,
          "exit %s: %s" % (p1.returncode, p1.stderr.strip()[-800:]))
    lines = [l for l in p1.stderr.splitlines() if not SUMMARY_RE.match(l)]
    print("     %s: stderr: %s" % (tag, lines))
    check("%s: the unreachable redis is said in one line on stderr" % tag,
          len(lines) == 1, str(lines))
    r0, r1 = load(base), load(out)
    a, b = masked(r0), masked(r1)
    check("%s: %d alert/token records (flow_id masked, fleet objects removed) == the run "
          "without fleet" % (tag, len(a)), a and a == b,
          "%d vs %d; first differing: %s" % (len(a), len(b), next(
              ((json.dumps(x)[:300], json.dumps(y)[:300]) for x, y in zip(a, b) if x != y),
              None)))
    fl = [brief(r) for r in r1 if fleet_of(r) is not None]
    check("%s: no record with a fleet object" % tag, not fl, str(fl))
    f = check_stats(tag, r1, {"sightings": 3, "published": 1, "sent": 0}, zero=())
    if f is not None:
        check("%s: dropped %s == sightings %s + published %s" %
              (tag, f.get("dropped"), f.get("sightings"), f.get("published")),
              isinstance(f.get("dropped"), int) and isinstance(f.get("sightings"), int) and
              isinstance(f.get("published"), int) and
              f["dropped"] == f["sightings"] + f["published"], json.dumps(f))


# --- 4. Redis killed and restarted mid-run -----------------------------------------------------

def restart(sensor, rbin, wd):
    import make_fleet as MF
    tag = "restart"
    srv = start_server(rbin, wd, "redis-restart")
    if srv is None:
        return
    t0 = MF.START
    names = ["P1a", "P1b", "P2a", "P2b", "V"]
    tok = {n: MF.token(n, t0) for n in names}
    sha = {n: sha256_hex(v) for n, v in tok.items()}
    parts = [
        [("10.41.1.5", 41101, "P1a", t0 + 1), ("10.41.2.5", 41102, "P1a", t0 + 2),
         ("10.41.3.5", 41103, "P1b", t0 + 3)],
        [("10.42.1.5", 42101, "P2a", t0 + 31), ("10.42.2.5", 42102, "P2b", t0 + 32),
         ("10.42.3.5", 42103, "P2b", t0 + 33)],
        [("10.43.1.5", 43101, "V", t0 + 61), ("10.43.2.5", 43102, "V", t0 + 62),
         ("10.43.3.5", 43103, "V", t0 + 63)],
    ]
    out = os.path.join(wd, "restart")
    os.makedirs(out)
    fifo = os.path.join(out, "capture.fifo")
    os.mkfifo(fifo)
    cfg = write_config(os.path.join(out, "tokenwatch.yaml"), "site-d", srv.port)
    proc = subprocess.Popen(sensor_cmd(sensor, cfg, fifo, out), cwd=out, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    err = RR.Stderr(proc.stderr)
    rc = None
    c = None
    try:
        w = RD.open_writer(fifo, proc)
        if w is None:
            check("%s: the sensor opens the pipe" % tag, False,
                  "exit %s: %s" % (proc.poll(), err.lines))
            return
        conns = lambda i: [(cl, cp, tok[n], ts) for cl, cp, n, ts in parts[i]]  # noqa: E731
        os.write(w, MF.capture_bytes(conns(0), header=True))
        check("%s: part 1 read" % tag, RR.drained(proc.pid, w))
        c = srv.client()
        check("%s: part 1: P1a's and P1b's sightings in redis" % tag,
              RD.wait_until(lambda: c.cmd("EXISTS", sightings_key(sha["P1a"]),
                                          sightings_key(sha["P1b"])) == 2),
              str(scan_keys(c)))
        c.close()
        c = None
        n_err = len(err.lines)
        srv.kill()
        os.write(w, MF.capture_bytes(conns(1), header=False))
        check("%s: part 2 read (redis down)" % tag, RR.drained(proc.pid, w))
        lost = err.wait_for(r".", n_err, timeout=15)
        check("%s: the lost connection reported on stderr" % tag, lost is not None,
              str(err.lines))
        print("     %s: stderr after the kill: %s" % (tag, lost))
        check("%s: redis restarted on port %d" % (tag, srv.port), srv.start())
        c = srv.client()
        p2 = [sightings_key(sha["P2a"]), sightings_key(sha["P2b"])]
        check("%s: after the restart: queued part-2 sightings arrive (reconnected)" % tag,
              RD.wait_until(lambda: c.cmd("EXISTS", *p2) > 0, timeout=30),
              "keys: %s; stderr: %s" % (scan_keys(c), err.lines))
        os.write(w, MF.capture_bytes(conns(2), header=False))
        check("%s: part 3 read" % tag, RR.drained(proc.pid, w))
        os.close(w)
        rc = proc.wait(timeout=60)
        check_redis_keys(tag, c, list(tok.values()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if c is not None:
            c.close()
        srv.kill()
    err.t.join(timeout=5)
    check("%s: exit 0 at end of file" % tag, rc == 0, "%s; stderr: %s" % (rc, err.lines))
    print("     %s: stderr: %s" % (tag, err.lines))
    lines = [l for l in err.lines if not SUMMARY_RE.match(l)]
    check("%s: the outage takes two lines on stderr (one lost, one recovered)" % tag,
          len(lines) == 2, str(lines))

    recs = load(out)
    got = sorted((r.get("src_ip"), r.get("token", {}).get("sha256")) for r in recs
                 if r.get("event_type") == "token")
    want = sorted((cl, sha[n]) for part in parts for cl, _, n, _ in part)
    check("%s: every token record of the three parts present (capture went on)" % tag,
          got == want, "got %s" % got)
    v = fleet_alerts(recs, "replay", sha["V"])
    check("%s: one fleet replay alert for V (the reconnected fleet works)" % tag, len(v) == 1,
          str([brief(r) for r in fleet_alerts(recs, "replay")]))
    if v:
        f = fleet_of(v[0])
        print("     %s: V's replay alert: %s" % (tag, brief(v[0])))
        fs = f.get("first_seen") if isinstance(f.get("first_seen"), dict) else {}
        check("%s: V's replay alert at its third client (10.43.3.5), sid %d" % (tag, SID_REPLAY),
              v[0].get("src_ip") == "10.43.3.5" and
              v[0].get("alert", {}).get("signature_id") == SID_REPLAY, brief(v[0]))
        check("%s: V: client_networks 3, sensors [site-d], sensor_count 1, first_seen "
              "{site-d, 10.43.1.0/24}" % tag,
              f.get("client_networks") == 3 and f.get("sensors") == ["site-d"] and
              f.get("sensor_count") == 1 and fs.get("sensor") == "site-d" and
              fs.get("network") == "10.43.1.0/24", json.dumps(f))
    others = [brief(r) for r in fleet_alerts(recs, "replay") if r.get("token", {}).get("sha256")
              != sha["V"]]
    check("%s: no other fleet replay alert (P1a, P2b: two networks each)" % tag, not others,
          str(others))
    f = check_stats(tag, recs, zero=())
    if f is not None:
        check("%s: stats.fleet.reconnects >= 1" % tag,
              isinstance(f.get("reconnects"), int) and f["reconnects"] >= 1, json.dumps(f))
        check("%s: stats.fleet.sightings == 9 (one per token and /24)" % tag,
              f.get("sightings") == 9, json.dumps(f))


# --- 5. memory ----------------------------------------------------------------------------------

def memory(sensor, rbin, wd):
    tag = "memory"
    bench = os.path.join(wd, "bench", "bench.pcap")
    os.makedirs(os.path.dirname(bench))
    g = subprocess.run([sys.executable, GEN_BENCH, "--out", bench, "--size-mb", "20"],
                       capture_output=True, text=True, timeout=300)
    check("%s: gen_bench.py --size-mb 20" % tag, g.returncode == 0, g.stderr[-500:])
    if g.returncode != 0:
        return
    print("     %s: %s" % (tag, (g.stdout + g.stderr).strip()))
    srv = start_server(rbin, wd, "redis-memory")
    if srv is None:
        return
    c = srv.client()
    recs = {}
    try:
        empty = info_field(c, "memory", "used_memory")
        for name in ("bench-1", "bench-2"):
            out = os.path.join(wd, "bench", name)
            os.makedirs(out)
            cfg = write_config(os.path.join(out, "tokenwatch.yaml"), name, srv.port)
            t = time.time()
            p = run_sensor(sensor, cfg, bench, out)
            check("%s: %s exit 0 (%.1f s)" % (tag, name, time.time() - t), p.returncode == 0,
                  "exit %s: %s" % (p.returncode, p.stderr.strip()[-800:]))
            recs[name] = load(out)
        used = info_field(c, "memory", "used_memory")
        peak = info_field(c, "memory", "used_memory_peak")
        dbsize = c.cmd("DBSIZE")
        keys = check_redis_keys(tag, c)
        sightings = [k for k in keys if re.match(rb"^tokenwatch:\{[0-9a-f]{64}\}:sightings$", k)]
    finally:
        c.close()
        srv.kill()
    distinct = {r["token"]["sha256"] for rs in recs.values() for r in rs
                if r.get("event_type") == "token" and "sha256" in r.get("token", {})}
    bound = min(empty + 4096 * len(distinct) + (2 << 20), 64 << 20)
    print("     %s: INFO memory used_memory %d (empty server %d, peak %d), DBSIZE %d, "
          "%d distinct tokens, %.0f bytes per token; bound %d" %
          (tag, used, empty, peak, dbsize, len(distinct),
           (used - empty) / max(1, len(distinct)), bound))
    check("%s: used_memory %d < %d (empty + 4 KiB per distinct token + 2 MiB, at most 64 MiB)"
          % (tag, used, bound), used < bound)
    check("%s: sightings hashes (%d) == distinct tokens seen (%d)" %
          (tag, len(sightings), len(distinct)), len(sightings) == len(distinct) > 0)
    for name, rs in recs.items():
        fr = fleet_alerts(rs, "replay")
        check("%s: %s: no fleet replay alert (each token from two /24s)" % (tag, name),
              not fr, str([brief(r) for r in fr[:3]]))
        pairs = {(r["token"].get("sha256"), net24(r.get("src_ip"))) for r in rs
                 if r.get("event_type") == "token"}
        check_stats("%s: %s" % (tag, name), rs, {"sightings": len(pairs)})


# --- 6. a flood of forged tokens ----------------------------------------------------------------

def flood(sensor, rbin, wd):
    """tests/bench/gen_flood.py: 2,000 requests, each with its own forged token (signature
    invalid, severity 1), in one second of packet time, fleet.unverified-rate 50: at most 50
    sightings and publishes together reach Redis, the rest are counted as limited; every
    occurrence is still judged and alerted locally."""
    tag = "flood"
    pcap = os.path.join(wd, "flood", "flood.pcap")
    os.makedirs(os.path.dirname(pcap))
    g = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "bench", "gen_flood.py"),
                        "--count", "2000", "--out", pcap], capture_output=True, text=True,
                       timeout=120)
    check("%s: gen_flood.py --count 2000" % tag, g.returncode == 0, g.stderr[-500:])
    if g.returncode != 0:
        return
    srv = start_server(rbin, wd, "redis-flood")
    if srv is None:
        return
    c = srv.client()
    try:
        out = os.path.join(wd, "flood", "site-f")
        cfg = write_config(os.path.join(os.path.dirname(pcap), "tokenwatch.yaml"), "site-f",
                           srv.port)
        p = run_sensor(sensor, cfg, pcap, out)
        check("%s: exit 0" % tag, p.returncode == 0, p.stderr.strip()[-800:])
        dbsize = c.cmd("DBSIZE")
    finally:
        c.close()
        srv.kill()
    recs = load(out)
    alerts = [r for r in recs if r.get("event_type") == "alert" and "fleet" not in r]
    check("%s: 2,000 local signature_invalid alerts (every occurrence judged)" % tag,
          len(alerts) == 2000 and all(r["alert"]["signature_id"] == 9100003 for r in alerts),
          "%d alerts" % len(alerts))
    f = check_stats(tag, recs, zero=("dropped", "errors"))
    if f:
        check("%s: sightings + published == 50, limited == 3,950 (4,000 asked)" % tag,
              f["sightings"] + f["published"] == 50 and f["limited"] == 3950, json.dumps(f))
    check("%s: Redis holds at most 51 keys (50 requests and the set of indicators): %s"
          % (tag, dbsize), isinstance(dbsize, int) and dbsize <= 51)


# --- 7. what Redis holds is not trusted ---------------------------------------------------------

def hostile(sensor, rbin, wd, toks, pcaps):
    """Another writer of the Redis (a broken or hostile sensor) stored, before site-c runs: an
    indicator of T with a time past year 9999, a sensor name of quotes, a newline, a NUL-free
    invalid UTF-8 byte and 300 characters, and a finding code unknown beside a known one; and
    junk fields in T's sightings hash (a value that is no pair of numbers, a field without '|').
    site-c: exit 0, its indicator alert for T valid JSON with the time held at 9999-12-31 and the
    name escaped and cut; the junk fields dropped by the script and counted for nothing (one
    network: site-c's)."""
    tag = "hostile"
    srv = start_server(rbin, wd, "redis-" + tag)
    if srv is None:
        return
    sha = sha256_hex(toks["T"])
    c = srv.client()
    out = os.path.join(wd, tag, "site-c")
    try:
        name = b'evil "quoted"\n\xff' + b"x" * 300
        value = (sha.encode() + b" 99999999999999999 no_such_code,signature_invalid " + name)
        c.cmd("SET", "tokenwatch:{%s}:indicator" % sha, value, "EX", "600")
        c.cmd("ZADD", "tokenwatch:indicators", str(int(time.time()) + 600), sha)
        c.cmd("HSET", "tokenwatch:{%s}:sightings" % sha, "10.9.0.0/24|x", "not numbers",
              "no-bar-here", "1 2", "10.8.0.0/24|y", "-5 99999999999999999999")
        c.cmd("EXPIRE", "tokenwatch:{%s}:sightings" % sha, "600")
        os.makedirs(out)
        cfg = write_config(os.path.join(out, "tokenwatch.yaml"), "site-c", srv.port)
        p = run_sensor(sensor, cfg, pcaps["site-c"], out)
        check("%s: site-c exit 0" % tag, p.returncode == 0, p.stderr.strip()[-500:])
        left = c.cmd("HGETALL", "tokenwatch:{%s}:sightings" % sha)
    finally:
        c.close()
        srv.kill()
    recs = load(out)
    ind = fleet_alerts(recs, "indicator")
    f = ind[0]["fleet"] if ind else {}
    check("%s: one indicator alert for T, the time held at 9999-12-31, the name escaped and cut"
          % tag, len(ind) == 1 and f.get("first_seen", {}).get("timestamp", "").startswith(
              "9999-12-31T23:59:59") and f.get("findings") == ["signature_invalid"] and
          f.get("sensor", "").startswith('evil "quoted"\n') and len(f.get("sensor", "")) < 80,
          json.dumps(ind)[:500])
    fields = sorted(left[i].decode(errors="replace") for i in range(0, len(left or []), 2))
    check("%s: the junk sightings fields are gone, site-c's is there: %s" % (tag, fields),
          fields == ["10.3.0.0/24|site-c"])
    check("%s: no fleet replay alert from the junk" % tag, not fleet_alerts(recs, "replay"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    sensor = os.path.abspath(a.sensor)
    rbin = shutil.which("redis-server")
    if not rbin:
        print("skip: redis-server not installed")
        return 77
    if not os.path.isdir("/proc/self/task"):
        print("skip: needs Linux /proc")
        return 77
    try:
        import make_fleet as MF
    except ImportError as e:
        print("skip: the capture generator needs python3-cryptography (%s)" % e)
        return 77
    wd = os.path.abspath(a.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    t = time.time()
    pcaps = MF.main(os.path.join(wd, "pcaps"))
    toks = MF.tokens()
    toks3 = {k: toks[k] for k in ("T", "U", "F")}
    global JOBS
    sites_sequential(sensor, rbin, wd, toks3, pcaps)
    JOBS = "2"
    sites_sequential(sensor, rbin, wd, toks3, pcaps)
    JOBS = "1"
    sites_concurrent(sensor, rbin, wd, toks3, pcaps)
    absent(sensor, wd, pcaps)
    restart(sensor, rbin, wd)
    memory(sensor, rbin, wd)
    flood(sensor, rbin, wd)
    hostile(sensor, rbin, wd, toks3, pcaps)
    print("fleet: %.1f s" % (time.time() - t))
    print(f"fleet: {len(failures)} failed" if failures else "fleet: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
