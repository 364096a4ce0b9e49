#!/usr/bin/python3
"""bench_fleet.py — issue 15's cost of the fleet (`make bench` runs it after bench_goals.py):

  1. CPU: the benchmark capture, -j 1, without a fleet section and with one pointing at a
     redis-server this script starts on a free loopback port (emptied before every run), in
     interleaved rounds; the goal is fleet CPU <= 1.10 x without (medians). The sensor's CPU
     includes its fleet threads; the redis-server's own is reported apart.
  2. Redis memory: the capture run by two sensors (bench-1, bench-2) one after the other against
     one empty server: INFO memory used_memory before and after, the key count, and whether
     every key has an expiry (it must).

  bench_fleet.py --sensor build/tokenwatch --pcap build/bench/bench-200mb.pcap \
                 --workdir build/bench [--runs 5] [--config etc/demo/tokenwatch.yaml]

Skips (exit 0, says why) when redis-server is not installed. Prints markdown tables.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import run_redis as RR  # noqa: E402  (Resp, Server, free_port)

GOAL = 1.10


def proc_cpu(pid):
    """utime + stime of a running process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--config", default=os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"))
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    binary = shutil.which("redis-server")
    if not binary:
        print("bench_fleet: skipped: redis-server is not installed")
        return 0
    wd = os.path.abspath(os.path.join(a.workdir, "fleet"))
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    port = RR.free_port()
    srv = RR.Server(binary, port, wd)
    srv.start()
    try:
        cli = RR.Resp(port)
        fleet = ["--set", "fleet.redis.server=127.0.0.1", "--set", "fleet.redis.port=%d" % port]
        logs = os.path.join(wd, "logs")

        def tw(extra, name):
            shutil.rmtree(logs, ignore_errors=True)
            os.makedirs(logs)
            r0 = proc_cpu(srv.proc.pid)
            t0 = time.monotonic()
            p = subprocess.Popen([a.sensor, "-c", a.config, "-r", a.pcap, "-l", logs, "-j", "1",
                                  "--set", "sensor-name=" + name] + extra,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.monotonic() - t0
            err = p.stderr.read().decode(errors="replace")
            p.stderr.close()
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit("bench_fleet: tokenwatch failed: " + err[-500:])
            return ru.ru_utime + ru.ru_stime, wall, proc_cpu(srv.proc.pid) - r0

        off, on, on_wall, off_wall, redis_cpu = [], [], [], [], []
        for i in range(a.runs):
            cli.cmd("FLUSHALL")
            c, w, _ = tw([], "bench")
            off.append(c)
            off_wall.append(w)
            cli.cmd("FLUSHALL")
            c, w, rcpu = tw(fleet, "bench")
            on.append(c)
            on_wall.append(w)
            redis_cpu.append(rcpu)
            print("  round %d/%d: without %.3f s, with fleet %.3f s CPU (redis-server %.3f s)"
                  % (i + 1, a.runs, off[-1], on[-1], redis_cpu[-1]), flush=True)
        med = statistics.median
        ratio = med(on) / med(off)

        cli.cmd("FLUSHALL")
        before = int(dict(line.split(":", 1) for line in cli.cmd("INFO", "memory").decode()
                          .split("\r\n") if ":" in line)["used_memory"])
        for name in ("bench-1", "bench-2"):
            tw(fleet, name)
        info = dict(line.split(":", 1) for line in cli.cmd("INFO", "memory").decode()
                    .split("\r\n") if ":" in line)
        used = int(info["used_memory"])
        keys = cli.cmd("DBSIZE")
        cursor, no_ttl, seen = b"0", 0, 0
        while True:
            cursor, batch = cli.cmd("SCAN", cursor, "COUNT", 1000)
            for k in batch:
                seen += 1
                if cli.cmd("TTL", k) < 0:
                    no_ttl += 1
            if cursor == b"0":
                break
        cli.close()
    finally:
        srv.kill()

    print()
    print("| fleet cost (benchmark capture, -j 1) | measured | goal | |")
    print("|---|---:|---:|---|")
    print("| CPU with fleet / without (medians of %d) | %.3f (%.3f s / %.3f s) | <= %.2f | %s |"
          % (a.runs, ratio, med(on), med(off), GOAL, "met" if ratio <= GOAL else "NOT met"))
    print("| wall with fleet / without | %.3f (%.3f s / %.3f s) | | |"
          % (med(on_wall) / med(off_wall), med(on_wall), med(off_wall)))
    print("| redis-server CPU per run (its own process) | %.3f s | | |" % med(redis_cpu))
    print("| Redis after two sensors ran the capture: used_memory | %.2f MiB (%.2f MiB empty) "
          "| | |" % (used / 2**20, before / 2**20))
    print("| keys, keys without an expiry | %d, %d | , 0 | %s |"
          % (keys, no_ttl, "met" if no_ttl == 0 and seen == keys else "NOT met"))
    print()
    print("Medians of %d interleaved runs; %s." % (a.runs, time.strftime("%Y-%m-%d")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
