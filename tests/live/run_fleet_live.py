#!/usr/bin/env python3
"""run_fleet_live.py — the fleet (issue 15) on real interfaces: two live sensors sharing one
redis-server (a ctest; CI runs it as root).

A network namespace of its own with two veth pairs: tw0/tw1 for sensor site-a (-j 1) and
tw2/tw3 for sensor site-b (-j 2, capture.fanout auto: a worker's answers come back to that
worker). The redis-server listens on a unix socket in the work directory only
(`fleet.redis.path`: a socket file is reachable from inside the namespace; its loopback is
not). The captures are tests/gen/make_fleet.py's three sites, with tokens valid now (live
packet time is the wall clock), replayed with tcpreplay --topspeed:

  1. site-a.pcap into tw1: site-a sights T (10.1.0.0/24), U and F, and publishes F
     (signature_invalid): the keys appear in Redis.
  2. site-b.pcap into tw3: site-b (whose only keyset cannot judge F) writes an indicator
     alert for F naming site-a, and sights T from 10.2.0.0/24.
  3. site-c.pcap into tw1: site-a sights T from 10.3.0.0/24, the third network: a fleet
     replay alert at site-a (client_networks 3, sensors site-a and site-b, first seen at
     site-a from 10.1.0.0/24), written by the live loop between packets or when idle.
Then SIGTERM: both exit 0, their final stats hold stats.fleet with sent + errors + dropped ==
sightings + published, no drops or errors, and no eve line fails to parse.

Exits 77 with one line when not root, or without ip netns, tcpreplay, redis-server or
python3-cryptography. Always deletes the namespace and stops the servers.
"""
import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "tests", "gen"))
import run_live as L  # noqa: E402  (check, skip, sh, Sensor, records, wait_for)
import fleet_lib as F  # noqa: E402  (config_text, sha256_hex, fleet_alerts)

FLEET_SETS = ["fleet.window=3600", "fleet.clients=3"]  # run_live.Sensor adds its SETS


class Ns:
    """A namespace holding two veth pairs: tw0/tw1 and tw2/tw3."""

    def __init__(self):
        self.name = f"twfleet-{os.getpid()}-{secrets.token_hex(3)}"
        L.sh("ip", "netns", "add", self.name)
        for k, v in (("all", "1"), ("default", "1")):
            L.sh("ip", "netns", "exec", self.name, "sysctl", "-qw",
                 f"net.ipv6.conf.{k}.disable_ipv6={v}", check_rc=False)
        for a, b in (("tw0", "tw1"), ("tw2", "tw3")):
            L.sh("ip", "-n", self.name, "link", "add", a, "type", "veth", "peer", "name", b)
            for dev in (a, b):
                L.sh("ip", "-n", self.name, "link", "set", dev, "up")

    def exec_argv(self, argv):
        return ["ip", "netns", "exec", self.name] + argv

    def replay(self, dev, pcap):
        r = subprocess.run(self.exec_argv(["tcpreplay", "-q", "-i", dev, "--topspeed", pcap]),
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"tcpreplay: exit {r.returncode}: {r.stderr.strip()}")

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=60)


def redis_cli(sock, *args):
    r = subprocess.run(["redis-cli", "-s", sock, *args], capture_output=True, text=True,
                       timeout=10)
    return r.stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", help="keep the logs here (default: a temporary directory)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        L.skip("needs root (network namespaces, veth, packet capture)")
    for tool in ("ip", "tcpreplay", "redis-server", "redis-cli"):
        if not shutil.which(tool):
            L.skip(f"{tool} not installed")
    try:
        import make_fleet as MF
    except ImportError as e:
        L.skip(f"the capture generator needs python3-cryptography ({e})")
    L.require_netns()
    sensor = os.path.abspath(a.sensor)
    work = L.fresh_workdir(a.workdir, "tw-fleet-live-")

    now = int(time.time())
    toks = MF.tokens(now)  # valid now: live packet time is the wall clock
    pcaps = {}
    for site in MF.SITES:
        pcaps[site] = os.path.join(work, site + ".pcap")
        MF.conn_capture(MF.site_conns(site, toks, now)).write(pcaps[site])
    sha = {k: F.sha256_hex(v) for k, v in toks.items()}
    sock = os.path.join(work, "redis.sock")
    redis = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock,
                              "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                              "--dir", work], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    ns, sensors = None, {}
    try:
        deadline = time.time() + 10
        while redis_cli(sock, "PING") != "PONG":
            if time.time() > deadline or redis.poll() is not None:
                raise RuntimeError("redis-server did not start on " + sock)
            time.sleep(0.05)
        ns = Ns()
        for site, iface, jobs, idp_only in (("site-a", "tw0", 1, False),
                                            ("site-b", "tw2", 2, True)):
            cfg = os.path.join(work, site + ".yaml")
            with open(cfg, "w") as f:
                f.write(F.config_text(site, None, idp_only))
            logdir = os.path.join(work, site)
            os.makedirs(logdir)
            extra = ["--set", "fleet.redis.path=" + sock]
            for s in FLEET_SETS:
                extra += ["--set", s]
            sensors[site] = L.Sensor(ns, sensor, logdir, jobs, extra, config=cfg, iface=iface)
        A, B = sensors["site-a"], sensors["site-b"]

        # 1. site-a: T, U, F
        ns.replay("tw1", pcaps["site-a"])
        key_t = "tokenwatch:{%s}:sightings" % sha["T"]
        key_f = "tokenwatch:{%s}:indicator" % sha["F"]
        ok = L.wait_for(lambda recs: redis_cli(sock, "EXISTS", key_f) == "1" and
                        redis_cli(sock, "EXISTS", key_t) == "1", A.eve, timeout=20)
        L.check("1: site-a's sightings of T and its indicator of F are in Redis", ok,
                redis_cli(sock, "KEYS", "*"))

        # 2. site-b: the indicator alert for F, and T from a second network
        ns.replay("tw3", pcaps["site-b"])
        ok = L.wait_for(lambda recs: any(r.get("token", {}).get("sha256") == sha["F"]
                                         for r in F.fleet_alerts(recs, "indicator")),
                        B.eve, timeout=20)
        L.check("2: site-b (-j 2) alerts F from the fleet indicator", ok, B.stderr()[-500:])
        ok = L.wait_for(lambda recs: redis_cli(sock, "HLEN", key_t) == "2", B.eve, timeout=20)
        L.check("2: T's sightings: 10.1.0.0/24 from site-a (its two clients there are one) and "
                "10.2.0.0/24 from site-b", ok, redis_cli(sock, "HGETALL", key_t))

        # 3. site-c's traffic into site-a: T's third network -> the fleet replay alert
        ns.replay("tw1", pcaps["site-c"])
        ok = L.wait_for(lambda recs: any(r.get("token", {}).get("sha256") == sha["T"]
                                         for r in F.fleet_alerts(recs, "replay")),
                        A.eve, timeout=20)
        L.check("3: site-a writes the fleet replay alert for T", ok, A.stderr()[-500:])
        rc = {site: s.stop() for site, s in sensors.items()}
        for site in sensors:
            L.check(f"{site} exits 0 on SIGTERM", rc[site] == 0,
                    f"exit {rc[site]}: {sensors[site].stderr()[-500:]}")
        recs = {}
        for site, s in sensors.items():
            recs[site], bad = L.records(s.eve, strict=True)
            L.check(f"{site}: every eve line parses", not bad, str(bad[:2]))
        rep = [r for r in F.fleet_alerts(recs["site-a"], "replay")
               if r.get("token", {}).get("sha256") == sha["T"]]
        fl = rep[0]["fleet"] if rep else {}
        L.check("3: the replay alert: one, sid 9100015, client_networks 3, sensors [site-a, "
                "site-b], first seen at site-a from 10.1.0.0/24, client 10.3.0.5",
                len(rep) == 1 and rep[0]["alert"]["signature_id"] == 9100015 and
                fl.get("client_networks") == 3 and fl.get("sensors") == ["site-a", "site-b"] and
                fl.get("first_seen", {}).get("sensor") == "site-a" and
                fl.get("first_seen", {}).get("network") == "10.1.0.0/24" and
                rep[0].get("src_ip") == "10.3.0.5", json.dumps(rep)[:600])
        L.check("no fleet replay alert for U, none at site-b",
                not [r for r in F.fleet_alerts(recs["site-a"], "replay")
                     if r.get("token", {}).get("sha256") == sha["U"]] and
                not F.fleet_alerts(recs["site-b"], "replay"))
        for site in sensors:
            st = [r for r in recs[site] if r.get("event_type") == "stats"]
            f = st[-1]["stats"].get("fleet") if st else None
            L.check(f"{site}: final stats.fleet: sent + errors + dropped == sightings + "
                    "published, nothing dropped or in error",
                    f is not None and f["sent"] + f["errors"] + f["dropped"] ==
                    f["sightings"] + f["published"] and f["dropped"] == 0 and
                    f["errors"] == 0 and f["sightings"] > 0, json.dumps(f))
            print(f"     {site} stats.fleet: {json.dumps(f)}")
    except Exception as e:  # a setup step failed: report it as a failure, still clean up
        L.check("fleet live scenario ran", False, f"{type(e).__name__}: {e}")
    finally:
        for s in sensors.values():
            s.kill()
        if ns:
            ns.close()
        redis.kill()
        redis.wait()
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(L.failures)} failure(s)" if L.failures else "all fleet live checks passed")
    return 1 if L.failures else 0


if __name__ == "__main__":
    sys.exit(main())
