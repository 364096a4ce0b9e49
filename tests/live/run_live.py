#!/usr/bin/env python3
"""run_live.py — tokenwatch on a real interface, for real (a ctest; CI runs it as root).

Creates a network namespace of its own (unique name), a veth pair tw0/tw1 inside it, starts
tokenwatch (-i tw0, -l a temporary directory, the shipped etc/demo/tokenwatch.yaml) in the namespace
with `ip netns exec`, and replays the demo captures into tw1 with tcpreplay. Scenarios:

  rates     -j 1: the demo replayed at --mbps 10, --mbps 100 and --topspeed into one running
            sensor; every replay yields the 4 Storm-0558 alerts (key_issuer_mismatch,
            key_revoked, signature_invalid, alg_none) again; stats records every second carry
            kernel_packets/kernel_drops/kernel_ifdrops; SIGTERM -> exit 0.
  workers   -j 2 --user nobody: every alert arrives exactly once, every eve.json line parses
            (two workers append to one file), the stats record sums both workers, and the
            process really runs as nobody.
  fanout    -j 2 with capture.fanout yes (each worker its own handle in a PACKET_FANOUT group)
            and no (a capture thread and rings): a generated capture of ~280 connections
            replayed gives offline -j 1's token records (no flow split between workers: each
            record has its response), each worker got packets, kernel counters summed.
  sighup    -j 1 and -j 2: eve.json renamed mid-run, SIGHUP, the next replay's records land in a
            new eve.json; nothing is lost or duplicated across the two files.
  reload    -j 1 and -j 2: the demo-organizations key set starts empty (office tokens signed by
            its keys: key_unknown); the full JWKS swapped in, SIGHUP, "reloaded" on stderr: the
            next replay has no key_unknown on any worker; a broken JWKS and SIGHUP: one "reload
            failed" line, the sensor keeps running and verdicts do not change;
            stats.tokens.distinct counts each token once across the reload and the workers.
  vanish    -j 1 and -j 2: the veth deleted under a running capture: exit 1 with one line
            naming the interface, within seconds (not a spin).

Why "contained", not "equal": tcpreplay sends the packets now, and live packet time is the
time of capture, not the June 2023 timestamps in the files. The demo tokens expired in June
2023, so live they also raise token_expired (and every demo token alerts). The checks look for
the expected findings inside token.findings and count the four demo alerts by token hash.

Always cleans up: the namespace (and the veth in it) is deleted in a finally block, and a
sensor still running is killed. Exits 77 with one line when not root, or when `ip netns` or
tcpreplay is unavailable.
"""
import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml")
OFFICE = os.path.join(ROOT, "pcaps", "demo", "01-office-traffic.pcap")
STORM = os.path.join(ROOT, "pcaps", "demo", "02-storm-0558.pcap")
# The four alerts of 02-storm-0558.pcap (tests/e2e/demo/case.json), by token SHA-256.
STORM_ALERTS = {
    "e85181bac350384d77dbf5ae14b98c8507c846660d5feca4b0662cab2a75f5d7": "key_issuer_mismatch",
    "c3f8bf1b4ccbbece8aa16c20f5cab7a3065d1ba34b8dba832f3f50f1362f1ff6": "key_revoked",
    "caaafaf0b37163c10beb06ac2efca05b1c67c0bd1e17fd68c2a079e7cca71632": "signature_invalid",
    "490b0db48f1bcdd399bafc8fa148c833425e8a5ad6ecace2184878cc97c23199": "alg_none",
}
OFFICE_TOKENS, STORM_TOKENS = 8, 4
# Short flow timeouts let one replay's flows end before the next replay reuses their 5-tuples;
# stats every second so that a short run still writes periodic records.
SETS = ["engine.stats-interval=1", "engine.flow-timeout=1", "engine.flow-closed-timeout=1"]

failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"), flush=True)
    if not cond:
        failures.append(name)
    return cond


def skip(reason):
    print(f"skipped: {reason}")
    sys.exit(77)


def require_netns():
    """Skips (exit 77) unless a network namespace can be made here."""
    probe = f"twprobe-{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        skip(f"`ip netns add` fails here: {r.stderr.strip()}")
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)


def fresh_workdir(given, prefix):
    """The test's work directory: `given` emptied, or a new temporary one; readable by the
    sensor's unprivileged user."""
    work = os.path.abspath(given) if given else tempfile.mkdtemp(prefix=prefix)
    if given:
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    os.chmod(work, 0o755)
    return work


def sh(*cmd, check_rc=True):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


class Netns:
    """A namespace named uniquely, holding the veth pair tw0 (sensor) / tw1 (tcpreplay)."""

    def __init__(self):
        self.name = f"twlive-{os.getpid()}-{secrets.token_hex(3)}"
        sh("ip", "netns", "add", self.name)
        # No IPv6 in the namespace: no router solicitations or MLD reports mixed into counts.
        sh("ip", "netns", "exec", self.name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
           check_rc=False)
        sh("ip", "netns", "exec", self.name, "sysctl", "-qw",
           "net.ipv6.conf.default.disable_ipv6=1", check_rc=False)
        self.veth()

    def veth(self):
        sh("ip", "-n", self.name, "link", "add", "tw0", "type", "veth", "peer", "name", "tw1")
        for dev in ("tw0", "tw1"):
            sh("ip", "-n", self.name, "link", "set", dev, "up")

    def delete_veth(self):
        sh("ip", "-n", self.name, "link", "del", "tw1")

    def exec_argv(self, argv):
        return ["ip", "netns", "exec", self.name] + argv

    def replay(self, rate, *pcaps):
        r = subprocess.run(self.exec_argv(["tcpreplay", "-q", "-i", "tw1", rate, *pcaps]),
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"tcpreplay {rate}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=60)


class Sensor:
    def __init__(self, ns, sensor, logdir, jobs, extra=(), config=CONFIG, iface="tw0"):
        self.logdir = logdir
        self.eve = os.path.join(logdir, "eve.json")
        self.errpath = os.path.join(logdir, "stderr.txt")
        self.err = open(self.errpath, "w")
        argv = [sensor, "-c", config, "-i", iface, "-l", logdir, "-j", str(jobs), "-v"]
        for s in SETS:
            argv += ["--set", s]
        self.proc = subprocess.Popen(ns.exec_argv(argv + list(extra)), stdout=subprocess.DEVNULL,
                                     stderr=self.err, stdin=subprocess.DEVNULL)
        deadline = time.time() + 15
        while "capturing" not in self.stderr():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"sensor did not start: {self.stderr().strip()}")
            time.sleep(0.05)

    def stderr(self):
        with open(self.errpath) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.err.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def records(path, strict=False):
    """The records of an eve file. While the sensor runs the last line may be half-written by
    the reader's timing; strict (after exit) makes any unparseable line a failure."""
    out, bad = [], []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return out, bad
    lines = data.split(b"\n")
    if not strict and not data.endswith(b"\n"):
        lines = lines[:-1]
    for line in lines:
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            bad.append(line[:120])
    return out, bad


def of_type(recs, t):
    return [r for r in recs if r.get("event_type") == t]


def storm_counts(recs):
    """{sha256: number of alerts whose findings contain the expected finding}."""
    counts = dict.fromkeys(STORM_ALERTS, 0)
    for r in of_type(recs, "alert"):
        tok = r.get("token", {})
        want = STORM_ALERTS.get(tok.get("sha256"))
        if want and want in tok.get("findings", []):
            counts[tok["sha256"]] += 1
    return counts


def wait_for(pred, path, timeout=20):
    """Polls the eve file (outputs are flushed about once a second) until pred(records)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        recs, _ = records(path)
        if pred(recs):
            return True
        time.sleep(0.2)
    return False


def kernel_fields(stats_rec):
    cap = stats_rec.get("stats", {}).get("capture", {})
    return all(isinstance(cap.get(k), int) for k in ("kernel_packets", "kernel_drops",
                                                     "kernel_ifdrops"))


def scenario_rates(ns, sensor, work):
    d = os.path.join(work, "rates")
    os.makedirs(d)
    s = Sensor(ns, sensor, d, 1)
    rates = ["--mbps=10", "--mbps=100", "--topspeed"]
    try:
        for i, rate in enumerate(rates, 1):
            ns.replay(rate, OFFICE, STORM)
            got = wait_for(lambda recs: len(of_type(recs, "token")) >= 12 * i and
                           all(v >= i for v in storm_counts(recs).values()), s.eve)
            check(f"rates: replay {i} ({rate}): all 12 tokens and the 4 demo alerts arrive", got,
                  storm_counts(records(s.eve)[0]))
            time.sleep(2.5)  # the replay's flows time out before the next reuses their ports
        time.sleep(1.2)      # at least one more periodic stats record
        rc = s.stop()
    finally:
        s.kill()
    recs, bad = records(s.eve, strict=True)
    check("rates: exit status 0 after SIGTERM", rc == 0, s.stderr())
    check("rates: every eve.json line parses", not bad, bad[:3])
    n = len(rates)
    check(f"rates: each demo alert exactly {n} times, with its finding",
          storm_counts(recs) == dict.fromkeys(STORM_ALERTS, n), storm_counts(recs))
    check(f"rates: {12 * n} token records", len(of_type(recs, "token")) == 12 * n,
          len(of_type(recs, "token")))
    stats = of_type(recs, "stats")
    check("rates: periodic stats records (interval 1 s)", len(stats) >= 5, len(stats))
    check("rates: every stats record has kernel_packets/kernel_drops/kernel_ifdrops",
          stats and all(kernel_fields(r) for r in stats))
    last = stats[-1]["stats"] if stats else {}
    kp = last.get("capture", {}).get("kernel_packets", 0)
    kd = last.get("capture", {}).get("kernel_drops", -1)
    check("rates: final stats: kernel_packets counts every replayed packet",
          kp >= 127 * n and last.get("decoder", {}).get("pkts", 0) >= 127 * n, last.get("capture"))
    check("rates: final stats: no kernel drops", kd == 0, last.get("capture"))
    check("rates: kernel counters in the exit summary",
          "kernel: " in s.stderr() and " drops" in s.stderr(), s.stderr())
    print(f"     rates: kernel_packets={kp} kernel_drops={kd}")


def scenario_workers(ns, sensor, work):
    d = os.path.join(work, "workers")
    os.makedirs(d)
    # The log directory stays root's (0755): eve.json is created owned by the --user account
    # before the drop, so the SIGHUP reopen after the drop works without a writable directory.
    try:
        nobody = pwd.getpwnam("nobody").pw_uid
        extra = ["--user", "nobody"]
    except KeyError:
        nobody, extra = None, []
        print("     workers: no user 'nobody': privilege drop not tested")
    s = Sensor(ns, sensor, d, 2, extra)
    try:
        if nobody is not None:
            # "capturing" is printed as each interface opens, just before the privilege drop:
            # give the drop (a setxid broadcast to every thread already running: the reload
            # control thread, output writers) a moment instead of racing it.
            deadline = time.time() + 5
            while True:
                uids = set()
                for task in os.listdir(f"/proc/{s.proc.pid}/task"):
                    with open(f"/proc/{s.proc.pid}/task/{task}/status") as f:
                        for line in f:
                            if line.startswith("Uid:"):
                                uids.update(int(x) for x in line.split()[1:])
                if uids == {nobody} or time.time() > deadline:
                    break
                time.sleep(0.05)
            check("workers: every thread runs as nobody (--user)", uids == {nobody}, uids)
            nnp, capbnd = set(), set()
            for task in os.listdir(f"/proc/{s.proc.pid}/task"):
                with open(f"/proc/{s.proc.pid}/task/{task}/status") as f:
                    for line in f:
                        if line.startswith("NoNewPrivs:"):
                            nnp.add(line.split()[1])
                        elif line.startswith("CapBnd:"):
                            capbnd.add(line.split()[1])
            check("workers: every thread has NoNewPrivs 1 and an empty CapBnd (--user)",
                  nnp == {"1"} and capbnd == {"0000000000000000"}, (nnp, capbnd))
            st = os.stat(s.eve)
            check("workers: eve.json created owned by nobody (--user), for SIGHUP reopen",
                  st.st_uid == nobody, st.st_uid)
            s.proc.send_signal(signal.SIGHUP)
        ns.replay("--topspeed", OFFICE, STORM)
        got = wait_for(lambda recs: len(of_type(recs, "token")) >= 12 and
                       all(v >= 1 for v in storm_counts(recs).values()), s.eve)
        check("workers: -j 2: the 4 demo alerts arrive", got)
        time.sleep(1.5)
        rc = s.stop()
    finally:
        s.kill()
    recs, bad = records(s.eve, strict=True)
    check("workers: exit status 0", rc == 0, s.stderr())
    if nobody is not None:
        check("workers: SIGHUP after the privilege drop reopens eve.json (no 'cannot reopen')",
              "cannot reopen" not in s.stderr() and "reopen" not in s.stderr().lower(),
              s.stderr())
    check("workers: every line parses (two workers append to one eve.json)", not bad, bad[:3])
    check("workers: each demo alert exactly once",
          storm_counts(recs) == dict.fromkeys(STORM_ALERTS, 1), storm_counts(recs))
    check("workers: 12 token records, none twice", len(of_type(recs, "token")) == 12 and
          len({(r["flow_id"], r["tx_id"], r["token"]["sha256"]) for r in of_type(recs, "token")})
          == 12, len(of_type(recs, "token")))
    stats = of_type(recs, "stats")
    last = stats[-1]["stats"] if stats else {}
    check("workers: final stats record sums both workers (tokens.seen 12, all packets)",
          last.get("tokens", {}).get("seen") == 12 and
          last.get("decoder", {}).get("pkts", 0) >= 127 and kernel_fields(stats[-1]),
          last)
    per_worker = [int(l.split(", ")[1].split()[0]) for l in s.stderr().splitlines()
                  if l.startswith("tokenwatch: worker ")]
    check("workers: two workers reported", len(per_worker) == 2, s.stderr())
    # The dispatch key is random per run: with the demo's 9 address pairs both workers get
    # tokens in all but ~0.4% of runs, and only then is the sum above more than one worker's.
    print(f"     workers: tokens per worker {per_worker}" +
          ("" if all(per_worker) else " (all on one worker this run: the sum is not exercised)"))
    # One aggregated record per interval, not one per worker: uptimes strictly increase
    # except that the final record may share its second with the last periodic one.
    ups = [r["stats"]["uptime"] for r in stats[:-1]]
    check("workers: one stats record per interval (not one per worker)",
          len(stats) >= 2 and all(a < b for a, b in zip(ups, ups[1:])), ups)


def scenario_sighup(ns, sensor, work, jobs):
    d = os.path.join(work, f"sighup-j{jobs}")
    os.makedirs(d)
    s = Sensor(ns, sensor, d, jobs)
    rotated = s.eve + ".1"
    try:
        ns.replay("--topspeed", OFFICE)
        check(f"sighup -j {jobs}: first replay's tokens written",
              wait_for(lambda recs: len(of_type(recs, "token")) >= OFFICE_TOKENS, s.eve))
        time.sleep(1.2)  # the office flows end
        os.rename(s.eve, rotated)
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 5
        while not os.path.exists(s.eve) and time.time() < deadline:
            time.sleep(0.05)
        check(f"sighup -j {jobs}: a new eve.json is opened", os.path.exists(s.eve))
        ns.replay("--topspeed", STORM)
        wait_for(lambda recs: all(v >= 1 for v in storm_counts(recs).values()), s.eve)
        time.sleep(1.2)
        rc = s.stop()
    finally:
        s.kill()
    old, bad1 = records(rotated, strict=True)
    new, bad2 = records(s.eve, strict=True)
    check(f"sighup -j {jobs}: exit 0, both files parse", rc == 0 and not bad1 and not bad2,
          (rc, bad1[:2], bad2[:2], s.stderr()))
    check(f"sighup -j {jobs}: the rotated file holds the first replay's tokens",
          len(of_type(old, "token")) == OFFICE_TOKENS and storm_counts(old) ==
          dict.fromkeys(STORM_ALERTS, 0), len(of_type(old, "token")))
    check(f"sighup -j {jobs}: records keep arriving in the new file, none lost or doubled",
          len(of_type(new, "token")) == STORM_TOKENS and
          storm_counts(new) == dict.fromkeys(STORM_ALERTS, 1) and of_type(new, "stats"),
          (len(of_type(new, "token")), storm_counts(new)))


def scenario_reload(ns, sensor, work, jobs):
    d = os.path.join(work, f"reload-j{jobs}")
    os.makedirs(d)
    keys = os.path.join(ROOT, "etc", "demo", "keys")
    org = os.path.join(d, "org.jwks.json")
    with open(org, "w") as f:
        json.dump({"keys": []}, f)
    # The shipped configuration with its key set paths made absolute, organizations from `org`.
    text = open(CONFIG).read().replace("jwks: keys/", "jwks: %s/" % keys)
    text = text.replace("jwks: %s/demo-organizations.jwks.json" % keys, "jwks: " + org)
    text = text.replace("revoked-keys-file: ../revoked-keys.txt",
                        "revoked-keys-file: " + os.path.join(ROOT, "etc", "revoked-keys.txt"))
    cfg = os.path.join(d, "reload.yaml")
    with open(cfg, "w") as f:
        f.write(text)

    def key_unknown(recs):
        return sum("key_unknown" in r["token"]["findings"] for r in of_type(recs, "token"))

    def wait_line(s, what, after):
        deadline = time.time() + 10
        while time.time() < deadline:
            lines = s.stderr().splitlines()[after:]
            hit = [l for l in lines if what in l]
            if hit:
                return hit[0]
            time.sleep(0.05)
        return None

    s = Sensor(ns, sensor, d, jobs, config=cfg)
    rotated = s.eve + ".1"
    try:
        ns.replay("--topspeed", OFFICE)
        check(f"reload -j {jobs}: first replay's tokens written",
              wait_for(lambda recs: len(of_type(recs, "token")) >= OFFICE_TOKENS, s.eve))
        time.sleep(2.5)  # the office flows end before the next replay reuses their ports
        os.rename(s.eve, rotated)
        shutil.copy(os.path.join(keys, "demo-organizations.jwks.json"), org + ".tmp")
        os.replace(org + ".tmp", org)
        n = len(s.stderr().splitlines())
        s.proc.send_signal(signal.SIGHUP)
        line = wait_line(s, "reload", n)
        nkeys = sum(len(json.load(open(os.path.join(keys, n)))["keys"]) for n in
                    ("demo-organizations.jwks.json", "demo-consumers.jwks.json",
                     "demo-idp.jwks.json"))
        # the shipped revocation indicators: one per non-comment line of etc/revoked-keys.txt
        nrev = sum(1 for l in open(os.path.join(ROOT, "etc", "revoked-keys.txt"))
                   if l.strip() and not l.lstrip().startswith("#"))
        check(f"reload -j {jobs}: one line: reloaded, with the counts",
              line is not None and
              f"reloaded the key sets: 3 keysets, {nkeys} keys, {nrev} revoked" in line, line)
        ns.replay("--topspeed", OFFICE)
        check(f"reload -j {jobs}: second replay's tokens written",
              wait_for(lambda recs: len(of_type(recs, "token")) >= OFFICE_TOKENS, s.eve))
        time.sleep(2.5)
        with open(org, "w") as f:
            f.write('{"keys": [')
        n = len(s.stderr().splitlines())
        s.proc.send_signal(signal.SIGHUP)
        line = wait_line(s, "reload", n)
        check(f"reload -j {jobs}: a broken JWKS: one line, the running key sets kept",
              line is not None and line.startswith(
                  "tokenwatch: reload failed, keeping the running key sets: %s:" % cfg) and
              "keysets.demo-organizations.jwks" in line, line)
        ns.replay("--topspeed", OFFICE)
        check(f"reload -j {jobs}: third replay's tokens written",
              wait_for(lambda recs: len(of_type(recs, "token")) >= 2 * OFFICE_TOKENS, s.eve))
        time.sleep(1.2)
        rc = s.stop()
    finally:
        s.kill()
    old, bad1 = records(rotated, strict=True)
    new, bad2 = records(s.eve, strict=True)
    check(f"reload -j {jobs}: exit 0, both files parse", rc == 0 and not bad1 and not bad2,
          (rc, bad1[:2], bad2[:2], s.stderr()))
    check(f"reload -j {jobs}: before the reload the organizations' tokens are key_unknown",
          len(of_type(old, "token")) == OFFICE_TOKENS and key_unknown(old) == 3, key_unknown(old))
    check(f"reload -j {jobs}: after it, on every worker, none is (and the broken file changed "
          "nothing)", len(of_type(new, "token")) == 2 * OFFICE_TOKENS and key_unknown(new) == 0,
          (len(of_type(new, "token")), key_unknown(new)))
    toks = {r["token"]["sha256"] for r in of_type(old, "token") + of_type(new, "token")}
    last = of_type(new, "stats")[-1]["stats"] if of_type(new, "stats") else {}
    check(f"reload -j {jobs}: stats.tokens.distinct is the {len(toks)} distinct tokens (each seen "
          "3 times, by every worker, across a reload)",
          last.get("tokens", {}).get("distinct") == len(toks), last.get("tokens"))
    print(f"     reload -j {jobs}: key_unknown before {key_unknown(old)}, after {key_unknown(new)}")


def scenario_vanish(ns, sensor, work, jobs):
    d = os.path.join(work, f"vanish-j{jobs}")
    os.makedirs(d)
    s = Sensor(ns, sensor, d, jobs)
    try:
        time.sleep(0.3)
        ns.delete_veth()
        t0 = time.time()
        try:
            rc = s.proc.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.time() - t0
    finally:
        s.kill()
        s.err.close()
        ns.veth()  # for the next scenario
    lines = [l for l in s.stderr().splitlines() if "capturing" not in l]
    check(f"vanish -j {jobs}: exit 1 within seconds of the interface's deletion",
          rc == 1, f"rc={rc} after {took:.1f}s")
    check(f"vanish -j {jobs}: one line on stderr naming the interface",
          len(lines) == 1 and "tw0" in lines[0], lines)


TIME_FINDINGS = {"token_expired", "token_not_yet_valid", "lifetime_excessive", "token_replay"}


def token_keys(recs):
    """Token records as comparable tuples: what a split flow would change (the response's status
    and accepted are the other direction's), without what live time changes (the findings of
    TIME_FINDINGS: the files' tokens expired long ago; token_replay depends on packet times and,
    across workers, on which worker checks first)."""
    out = []
    for r in of_type(recs, "token"):
        t, h = r.get("token", {}), r.get("http", {})
        out.append((t.get("sha256"), r.get("src_ip"), r.get("src_port"), r.get("dest_ip"),
                    r.get("dest_port"), h.get("url"), h.get("status"), t.get("accepted"),
                    t.get("signature"),
                    tuple(sorted(set(t.get("findings", [])) - TIME_FINDINGS))))
    return sorted(out)


def scenario_fanout(ns, sensor, work, mode):
    """-j 2 with capture.fanout yes (each worker its own handle, PACKET_FANOUT) or no (a capture
    thread and rings): a generated capture of ~280 connections replayed through the veth gives
    the token records offline -j 1 gives on the same file, each worker got packets, and no flow
    was split between the workers (a split flow's token record would lack the response: status
    and accepted)."""
    d = os.path.join(work, f"fanout-{mode}")
    os.makedirs(d)
    multi = os.path.join(d, "multi.pcap")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests", "bench", "gen_bench.py"), "--out",
                    multi, "--size-mb", "3", "--clients", "300", "--tokens", "60"], check=True,
                   capture_output=True)
    off = os.path.join(d, "offline")
    os.makedirs(off)
    subprocess.run([sensor, "-c", CONFIG, "-r", multi, "-l", off, "-j", "1", "-q"], check=True)
    want = token_keys(records(os.path.join(off, "eve.json"), strict=True)[0])
    s = Sensor(ns, sensor, d, 2, ["--set", f"capture.fanout={mode}"])
    try:
        ns.replay("--mbps", "50", multi)
        wait_for(lambda recs: len(of_type(recs, "token")) >= len(want), s.eve, timeout=30)
        time.sleep(1.5)
        rc = s.stop()
    finally:
        s.kill()
    err = s.stderr()
    recs, bad = records(s.eve, strict=True)
    check(f"fanout {mode}: exit 0, every line parses", rc == 0 and not bad, err[-400:])
    fan = "PACKET_FANOUT" in err
    check(f"fanout {mode}: " + ("each worker its own handles" if mode == "yes" else
                                "capture thread and rings"), fan == (mode == "yes"), err[-400:])
    per = {}
    for line in err.splitlines():
        if line.startswith("tokenwatch: worker ") and " packets" in line:
            w, n = line[len("tokenwatch: worker "):].split(":", 1)
            per[int(w)] = int(n.split()[0])
    check(f"fanout {mode}: each worker got packets", len(per) == 2 and all(per.values()), per)
    stats = of_type(recs, "stats")
    drops = stats[-1]["stats"]["capture"]["kernel_drops"] if stats else None
    wdrops = stats[-1]["stats"]["tokenwatch"]["capture"]["worker_drops"] if stats else None
    if drops or wdrops:
        print(f"     fanout {mode}: {drops} kernel drops, {wdrops} worker drops: the machine "
              "is busy; records compared anyway")
    got = token_keys(recs)
    check(f"fanout {mode}: the token records of offline -j 1 ({len(want)}), none split",
          got == want, f"{len(got)} records; first differing: " +
          str(next(((a, b) for a, b in zip(got, want) if a != b), None)))
    kp = stats[-1]["stats"]["capture"]["kernel_packets"] if stats else 0
    check(f"fanout {mode}: stats.capture.kernel_packets sums the handles (>= the capture's)",
          kp >= sum(per.values()) > 0, (kp, per))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", help="keep the logs here (default: a temporary directory)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        skip("needs root (network namespaces, veth, packet capture)")
    if not shutil.which("ip"):
        skip("`ip` (iproute2) not installed")
    if not shutil.which("tcpreplay"):
        skip("tcpreplay not installed")
    require_netns()
    sensor = os.path.abspath(a.sensor)
    work = fresh_workdir(a.workdir, "tw-live-")
    ns = None
    try:
        ns = Netns()
        scenario_rates(ns, sensor, work)
        scenario_workers(ns, sensor, work)
        scenario_fanout(ns, sensor, work, "yes")
        scenario_fanout(ns, sensor, work, "no")
        scenario_sighup(ns, sensor, work, 1)
        scenario_sighup(ns, sensor, work, 2)
        scenario_reload(ns, sensor, work, 1)
        scenario_reload(ns, sensor, work, 2)
        scenario_vanish(ns, sensor, work, 1)
        scenario_vanish(ns, sensor, work, 2)
    except Exception as e:  # a setup step failed: report it as a failure, still clean up
        check("live scenarios ran", False, f"{type(e).__name__}: {e}")
    finally:
        if ns:
            ns.close()
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(failures)} failure(s)" if failures else "all live checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
