#!/usr/bin/env python3
"""The Redis EVE output (filetype redis) against a real redis-server the test starts on a free
loopback port (skipped, exit 77, when redis-server is not installed).

1. Same records as a file: one run over pcaps/demo with two outputs of the same types, a regular
   eve.json and redis. For each mode: list and lpush (LPUSH: LRANGE is the file reversed, as
   Suricata's `list`), rpush (LRANGE is the file in order) and channel (PUBLISH: a SUBSCRIBEd
   reader receives the file's lines in order, nothing stored). Records compare byte for byte.
2. An error reply: the key holds a string (-WRONGTYPE): every record is dropped and counted in
   errors of the redis output's stats, none written or dropped, exit 0, one line on stderr.
3. Redis killed and restarted mid-run: the sensor reads `-r FIFO` (a capture written in parts,
   as run_reload.py does); the redis output takes `token` records (one per connection, each on
   its own client port) with a small queue (outputs.eve.queue-size 8192 bytes: 6 token records
   of ~1.3 KB, so a burst of 5 fits before the writer thread drains any), the regular file
   takes everything, the final stats record included.
     part 1: 5 connections, one at a time, each awaited in Redis (a burst would overflow the
             small queue); kill -9 redis-server
     part 2: 30 connections at once -> redis is down: a few are queued, the rest dropped
     restart redis-server (same port, empty: --save '')
                                    -> wait until the queued records arrive (reconnect), and
                                       until the list stops growing (the queue is empty)
     part 3: 5 connections, one at a time, each awaited in Redis; end of file, exit 0
   Then exactly: records received (part 1 + the restarted server's list) + stats.eve.dropped of
   the redis output == token records produced (the file's count, 40); no record twice; every
   part-3 record arrived; at least one part-2 record arrived (it was queued) and at least one
   was dropped. Every wait polls an observable condition; no fixed sleeps (the queue's
   emptying is seen as the list holding still for a second).
4. A stalled server (SIGSTOP for the whole run over pcaps/demo): the sensor ends within the drain
   deadline, stderr does not speak of a lost connection, written + dropped + errors == records
   produced with some dropped, and after SIGCONT the server holds exactly `written` records.
Stdlib only (a minimal RESP client below; tests/gen/pcapgen.py; run_reload.py's helpers).

The sensor runs with -j 1: the order compared is one writer's (with -j N each worker writes
its records through its own connection, so outputs interleave them differently).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import run_reload as RR  # noqa: E402  (pick_token, part_bytes, drained, Stderr)

failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    if not cond:
        failures.append(name)


class Resp:
    """A minimal synchronous Redis client (RESP2), enough for LRANGE/LLEN/SUBSCRIBE/PING."""

    def __init__(self, port, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def close(self):
        self.f.close()
        self.s.close()

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))

    def reply(self):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed")
        t, body = line[:1], line[1:-2]
        if t == b"+":
            return body.decode()
        if t == b"-":
            raise RuntimeError(body.decode())
        if t == b":":
            return int(body)
        if t == b"$":
            n = int(body)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2]
        if t == b"*":
            n = int(body)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def cmd(self, *args):
        self.send(*args)
        return self.reply()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout=20, step=0.02):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def wait_settled(c, key, quiet=1.0, timeout=30):
    """Until the list has held some records and stopped growing for `quiet` seconds: the sensor
    frees a queued record's room only once Redis has answered for it, after the record already
    shows in the list, so the first record seen says nothing about room in the queue."""
    end = time.time() + timeout
    last, since = -1, time.time()
    while time.time() < end:
        n = c.cmd("LLEN", key)
        if n != last:
            last, since = n, time.time()
        elif n and time.time() - since >= quiet:
            return True
        time.sleep(0.02)
    return False


class Server:
    def __init__(self, binary, port, wd):
        self.binary, self.port, self.wd, self.proc = binary, port, wd, None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no", "--daemonize", "no",
                                      "--dir", self.wd], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=self.wd)

        def ping():
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited with %s" % self.proc.returncode)
            try:
                c = Resp(self.port, timeout=1)
            except OSError:
                return False
            try:
                return c.cmd("PING") == "PONG"
            except (OSError, RuntimeError, ConnectionError):
                return False  # -LOADING while starting
            finally:
                c.close()
        return wait_until(ping, timeout=10)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def client(self):
        return Resp(self.port)


def open_writer(fifo, proc, timeout=20):
    """The pipe's write end once the sensor has opened it for reading; None if it exits first."""
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        try:
            w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO while there is no reader
        except OSError:
            time.sleep(0.02)
            continue
        os.set_blocking(w, True)
        return w
    return None


def arrived(c, key, port):
    """The token record of the connection from client port `port` is in the list."""
    return any(json.loads(r).get("src_port") == port for r in c.cmd("LRANGE", key, 0, -1))


def read_lines(path):
    with open(path, "rb") as f:
        return [l[:-1] if l.endswith(b"\n") else l for l in f.read().splitlines(True)]


def redis_stats(stats_rec):
    """stats.eve of the redis output: an object, or a list of per-output objects."""
    eve = stats_rec.get("stats", {}).get("eve")
    if isinstance(eve, dict) and isinstance(eve.get("outputs"), list):
        eve = eve["outputs"]  # stats.eve sums all outputs; .outputs has each alone
    if isinstance(eve, list):
        eve = [e for e in eve if e.get("filetype") == "redis"]
        eve = eve[0] if len(eve) == 1 else None
    return eve


def same_records(sensor, srv, wd):
    """Part 1: pcaps/demo into a file and into redis in each mode, compared byte for byte."""
    for mode in ("list", "lpush", "rpush", "channel", "publish"):
        key = "tw:%s" % mode
        out = os.path.join(wd, "same-" + mode)
        os.makedirs(out)
        types = "[alert, token, stats]"
        outputs = ("[{eve: {filename: eve.json, types: %s}}, {eve: {filetype: redis, types: %s, "
                   "redis: {port: %d, mode: %s, key: '%s'}}}]"
                   % (types, types, srv.port, mode, key))
        sub = None
        if mode in ("channel", "publish"):
            sub = srv.client()
            check("%s: subscribed" % mode, sub.cmd("SUBSCRIBE", key) == [b"subscribe", key.encode(),
                                                                          1])
        p = subprocess.run([sensor, "-c", os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"),
                            "-r", "pcaps/demo", "-l", out, "-j", "1", "--set", "outputs=" + outputs],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
        check("%s: exit 0" % mode, p.returncode == 0, p.stderr)
        want = read_lines(os.path.join(out, "eve.json")) if p.returncode == 0 else []
        check("%s: the file has token, alert and stats records" % mode,
              all(any(b'"event_type":"%s"' % t in l for l in want)
                  for t in (b"token", b"alert", b"stats")), str(len(want)))
        c = srv.client()
        if sub is None:
            got = c.cmd("LRANGE", key, 0, -1)
            exp = list(reversed(want)) if mode in ("list", "lpush") else want
            check("%s: LRANGE == the file's %d records%s" %
                  (mode, len(want), " reversed" if mode != "rpush" else ""), got == exp,
                  "%d records, first differing %s" % (len(got), next(
                      ((i, g[:200], e[:200]) for i, (g, e) in enumerate(zip(got, exp)) if g != e),
                      None)))
        else:
            got = []
            try:
                for _ in want:
                    m = sub.reply()
                    if m[0] == b"message" and m[1] == key.encode():
                        got.append(m[2])
            except (OSError, ConnectionError) as e:  # socket timeout: fewer messages
                print("subscriber: %s" % e)
            sub.close()
            check("%s: the subscriber received the file's %d records in order" %
                  (mode, len(want)), got == want, "%d received" % len(got))
            check("%s: nothing stored" % mode, c.cmd("EXISTS", key) == 0)
        c.close()


def error_replies(c):
    """Redis' count of error replies it sent (INFO stats: total_error_replies, Redis >= 6.2)."""
    for line in c.cmd("INFO", "stats").decode().splitlines():
        if line.startswith("total_error_replies:"):
            return int(line.split(":")[1])
    return None


def wrongtype(sensor, srv, wd):
    """An error reply (-WRONGTYPE: the key holds a string) drops the record and counts an error;
    the run goes on and exits 0, the reply is reported once on stderr. The capture goes through a
    pipe held open until Redis has answered every record: the final stats record is written at
    end of input, and only records already answered are counted in it."""
    key = "tw:wrongtype"
    out = os.path.join(wd, "wrongtype")
    os.makedirs(out)
    fifo = os.path.join(out, "capture.fifo")
    os.mkfifo(fifo)
    capture = os.path.join(ROOT, "pcaps", "demo", "01-office-traffic.pcap")
    base = os.path.join(out, "plain")
    os.makedirs(base)
    p = subprocess.run([sensor, "-c", os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"), "-r", capture,
                        "-l", base], cwd=ROOT, capture_output=True, text=True, timeout=120)
    n = sum(json.loads(l).get("event_type") in ("alert", "token")
            for l in read_lines(os.path.join(base, "eve.json"))) if p.returncode == 0 else 0
    check("wrongtype: the capture has alert and token records", n > 0, p.stderr)

    c = srv.client()
    c.cmd("SET", key, "not a list")
    before = error_replies(c)
    check("wrongtype: redis counts error replies", before is not None)
    outputs = ("[{eve: {filename: eve.json, types: [alert, token, stats]}}, "
               "{eve: {filetype: redis, types: [alert, token], redis: {port: %d, key: '%s'}}}]"
               % (srv.port, key))
    proc = subprocess.Popen([sensor, "-c", os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"),
                             "-r", fifo, "-l", out, "-j", "1", "--set", "outputs=" + outputs],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=out)
    err = RR.Stderr(proc.stderr)
    rc = None
    try:
        w = open_writer(fifo, proc)
        if w is None or before is None:
            check("wrongtype: the sensor opens the pipe", False, str(err.lines))
            return
        with open(capture, "rb") as f:
            os.write(w, f.read())
        check("wrongtype: capture read", RR.drained(proc.pid, w))
        check("wrongtype: redis answered %d records with an error" % n,
              wait_until(lambda: error_replies(c) - before == n), error_replies(c) - before)
        os.close(w)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err.t.join(timeout=5)
    check("wrongtype: exit 0", rc == 0, str(err.lines))
    check("wrongtype: the error reply reported once",
          sum("WRONGTYPE" in l for l in err.lines) == 1, str(err.lines))
    recs = [json.loads(l) for l in read_lines(os.path.join(out, "eve.json"))]
    check("wrongtype: the file has the same %d records" % n,
          sum(r.get("event_type") in ("alert", "token") for r in recs) == n)
    stats = [r for r in recs if r.get("event_type") == "stats"]
    eve = redis_stats(stats[-1]) if stats else None
    check("wrongtype: errors == the %d records, none written or dropped" % n, eve is not None and
          (eve.get("errors"), eve.get("written"), eve.get("dropped")) == (n, 0, 0), str(eve))
    check("wrongtype: the key is untouched", c.cmd("GET", key) == b"not a list")
    c.close()


def restart(sensor, srv, wd):
    """Part 3: redis killed and restarted while the sensor reads a pipe."""
    tok, kid, iat = RR.pick_token()
    if not tok:
        check("a demo-organizations token in the demo capture", False)
        return
    out = os.path.join(wd, "restart")
    os.makedirs(out)
    fifo = os.path.join(out, "capture.fifo")
    os.mkfifo(fifo)
    key = "tw:restart"
    outputs = ("[{eve: {filename: eve.json, types: [alert, token, stats]}}, "
               "{eve: {filetype: redis, types: [token], queue-size: 8192, "
               "redis: {port: %d, mode: rpush, key: '%s'}}}]" % (srv.port, key))
    parts = [list(range(40001, 40006)), list(range(41001, 41031)), list(range(42001, 42006))]
    t0 = iat + 60
    proc = subprocess.Popen([sensor, "-c", os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"),
                             "-r", fifo, "-l", out, "-j", "1", "--set", "outputs=" + outputs],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=out)
    err = RR.Stderr(proc.stderr)
    c = srv.client()
    received = []
    rc = None
    try:
        w = open_writer(fifo, proc)
        if w is None:
            check("the sensor opens the pipe", False, "exit %s: %s" % (proc.poll(), err.lines))
            return
        ts = t0
        for i, port in enumerate(parts[0]):
            # one at a time while redis is up: a burst would overflow the small queue
            os.write(w, RR.part_bytes(tok, port, ts, header=(i == 0)))
            ts += 1
            check("part 1: record %d in redis" % port, wait_until(lambda: arrived(c, key, port)))
        check("part 1 read", RR.drained(proc.pid, w))
        check("part 1: 5 records in redis", c.cmd("LLEN", key) == 5, c.cmd("LLEN", key))
        received += c.cmd("LRANGE", key, 0, -1)
        c.close()

        srv.kill()
        for port in parts[1]:
            os.write(w, RR.part_bytes(tok, port, ts, header=False))
            ts += 1
        check("part 2 read (redis down)", RR.drained(proc.pid, w))

        check("redis restarted on port %d" % srv.port, srv.start())
        c = srv.client()
        check("after the restart: the queued records arrive",
              wait_until(lambda: c.cmd("LLEN", key) > 0), "LLEN 0")
        # Part 3 must find room in the small queue: every queued record sent and answered.
        check("after the restart: the queued records all sent", wait_settled(c, key),
              c.cmd("LLEN", key))

        for port in parts[2]:
            os.write(w, RR.part_bytes(tok, port, ts, header=False))
            ts += 1
            check("part 3: record %d in redis" % port, wait_until(lambda: arrived(c, key, port)))
        check("part 3 read", RR.drained(proc.pid, w))
        os.close(w)
        rc = proc.wait(timeout=60)
        received += c.cmd("LRANGE", key, 0, -1)
        c.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err.t.join(timeout=5)
    check("exit 0 at end of file", rc == 0, "%s; stderr: %s" % (rc, err.lines))

    recs = [json.loads(l) for l in read_lines(os.path.join(out, "eve.json"))]
    produced = [r for r in recs if r.get("event_type") == "token"]
    check("the file has one token record per connection",
          sorted(r["src_port"] for r in produced) == sorted(sum(parts, [])),
          str(len(produced)))
    got = [json.loads(r) for r in received]
    got_ports = [r.get("src_port") for r in got]
    check("no record received twice", len(set(got_ports)) == len(got_ports), str(got_ports))
    check("only token records in redis", all(r.get("event_type") == "token" for r in got))
    check("every part-3 record arrived (after the restart)",
          set(parts[2]) <= set(got_ports), str(got_ports))
    p2 = [p for p in got_ports if p in parts[1]]
    check("some part-2 records were queued and arrived", len(p2) > 0, str(got_ports))
    stats = [r for r in recs if r.get("event_type") == "stats"]
    eve = redis_stats(stats[-1]) if stats else None
    check("final stats record with stats.eve for the redis output", eve is not None,
          json.dumps(stats[-1].get("stats", {}).get("eve") if stats else None))
    if eve is None:
        return
    dropped = eve.get("dropped")
    check("some part-2 records were dropped (queue full)", isinstance(dropped, int) and
          dropped > 0, str(eve))
    check("received %d + dropped %s == produced %d" % (len(got), dropped, len(produced)),
          isinstance(dropped, int) and len(got) + dropped == len(produced), str(eve))
    check("written == received", eve.get("written") == len(got), str(eve))
    check("reconnects >= 1", isinstance(eve.get("reconnects"), int) and eve["reconnects"] >= 1,
          str(eve))
    check("no error replies", eve.get("errors") == 0, str(eve))


def stalled(sensor, srv, wd):
    """Part 4: a server that is connected but never answers (SIGSTOP) for the whole run: the
    sensor is not blocked by it, ends within the drain deadline and counts every record exactly
    once; once the server runs again, what it receives is what the stats call written."""
    key = "tw:stalled"
    out = os.path.join(wd, "stalled")
    os.makedirs(out)
    outputs = ("[{eve: {filename: eve.json, types: [alert, token, stats]}}, "
               "{eve: {filetype: redis, types: [alert, token], "
               "redis: {port: %d, mode: rpush, key: '%s'}}}]" % (srv.port, key))
    os.kill(srv.proc.pid, signal.SIGSTOP)
    t = time.time()
    try:
        p = subprocess.run([sensor, "-c", os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"),
                            "-r", "pcaps/demo", "-l", out, "-j", "1", "--set", "outputs=" + outputs],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        os.kill(srv.proc.pid, signal.SIGCONT)
    took = time.time() - t
    check("stalled: exit 0", p.returncode == 0, p.stderr)
    check("stalled: the run ends within the drain deadline (%.1f s)" % took, took < 15)
    check("stalled: stderr does not call a stalled server a lost connection",
          "lost" not in p.stderr, p.stderr)
    recs = [json.loads(l) for l in read_lines(os.path.join(out, "eve.json"))]
    produced = [r for r in recs if r.get("event_type") in ("alert", "token")]
    stats = [r for r in recs if r.get("event_type") == "stats"]
    eve = redis_stats(stats[-1]) if stats else None
    check("stalled: final stats record with the redis output", eve is not None)
    if eve is None:
        return
    c = srv.client()
    # The server now works through what was sent before it stopped answering.
    wait_until(lambda: c.cmd("LLEN", key) >= eve.get("written", 0), timeout=10)
    time.sleep(0.2)
    got = c.cmd("LRANGE", key, 0, -1)
    c.close()
    n = eve.get("written", 0) + eve.get("dropped", 0) + eve.get("errors", 0)
    check("stalled: written %s + dropped %s + errors %s == produced %d" %
          (eve.get("written"), eve.get("dropped"), eve.get("errors"), len(produced)),
          n == len(produced), str(eve))
    check("stalled: records were dropped, not lost uncounted", eve.get("dropped", 0) > 0, str(eve))
    check("stalled: received %d == written %s" % (len(got), eve.get("written")),
          len(got) == eve.get("written"), str(eve))


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
    wd = os.path.abspath(a.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    rdir = os.path.join(wd, "redis")
    os.makedirs(rdir)
    srv = Server(rbin, free_port(), rdir)
    try:
        if not srv.start():
            print("FAIL: redis-server did not start on port %d" % srv.port)
            return 1
        same_records(sensor, srv, wd)
        wrongtype(sensor, srv, wd)
        restart(sensor, srv, wd)
        stalled(sensor, srv, wd)
    finally:
        srv.kill()
    print(f"redis: {len(failures)} failed" if failures else "redis: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
