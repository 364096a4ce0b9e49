#!/usr/bin/env python3
"""Several EVE outputs at once against real unix sockets the test binds (ctest e2e_outputs).

1. One run over pcaps/demo with four outputs of the same types: a regular eve.json, unix_dgram
   (a relative socket path: taken under -l), unix_stream and syslog (syslog-socket: a datagram
   socket of the test's, identity twe2e, facility local3, level notice: PRI 19*8+5 = 157).
   Readers run in threads while the sensor runs. Every output must carry the file's records, byte
   for byte and in order: one record + "\\n" per datagram, "\\n"-ended lines on the stream,
   "<157>Mmm dd hh:mm:ss twe2e[PID]: RECORD" per syslog datagram. The stats record has
   stats.eve.{written,dropped,errors,reconnects} with nothing dropped and no error, and
   stats.eve.outputs: the same per output, in configuration order (the file's written exact).
2. unix_dgram with no reader at all: the sensor still writes the file, says once on stderr that
   it cannot connect, and exits 0 within the bounded drain (2 s), not hanging.
Stdlib only.

The sensor runs with -j 1: the order compared is one writer's (with -j N each worker writes
its records through its own connection, so outputs interleave them differently).
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
failures = []


def check(name, cond, detail=""):
    print("%s: %s%s" % ("ok" if cond else "FAIL", name, "" if cond or not detail else
                        " -- " + str(detail)[:500]))
    if not cond:
        failures.append(name)


def read_lines(path):
    with open(path, "rb") as f:
        return f.read().split(b"\n")[:-1]


class Collector(threading.Thread):
    def __init__(self, sock, stream=False):
        super().__init__(daemon=True)
        self.sock, self.stream, self.items, self.stop = sock, stream, [], False

    def run(self):
        self.sock.settimeout(0.2)
        conn, buf = None, b""
        while not self.stop:
            try:
                if self.stream:
                    if conn is None:
                        conn, _ = self.sock.accept()
                        conn.settimeout(0.2)
                    d = conn.recv(65536)
                    if not d:
                        conn = None
                        continue
                    buf += d
                else:
                    self.items.append(self.sock.recv(1 << 20))
            except socket.timeout:
                continue
        if self.stream:
            self.items = buf.split(b"\n")[:-1] if buf else []


def dgram(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(path)
    return s


def four_outputs(sensor, wd):
    out = os.path.join(wd, "four")
    os.makedirs(out)
    types = "[alert, token, stats, http, flow, anomaly]"
    dsock, ssock, lsock = (os.path.join(out, n) for n in ("eve.sock", "eve-stream.sock", "log"))
    d = Collector(dgram(dsock))
    st = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    st.bind(ssock)
    st.listen(4)
    s = Collector(st, stream=True)
    lg = Collector(dgram(lsock))
    for c in (d, s, lg):
        c.start()
    outputs = ("[{eve: {filename: eve.json, types: %s}},"
               " {eve: {filetype: unix_dgram, filename: eve.sock, types: %s}},"
               " {eve: {filetype: unix_stream, filename: %s, types: %s}},"
               " {eve: {filetype: syslog, identity: twe2e, facility: local3, level: notice,"
               " syslog-socket: %s, types: %s}}]" % (types, types, ssock, types, lsock, types))
    p = subprocess.run([sensor, "-c", os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"),
                        "-r", "pcaps/demo", "-l", out, "-j", "1", "--set", "outputs=" + outputs],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    check("four outputs: exit 0", p.returncode == 0, p.stderr)
    time.sleep(0.5)
    for c in (d, s, lg):
        c.stop = True
        c.join()
    want = read_lines(os.path.join(out, "eve.json")) if p.returncode == 0 else []
    check("the file has records of several types",
          len({json.loads(l)["event_type"] for l in want}) >= 3, str(len(want)))
    got_d = [x[:-1] if x.endswith(b"\n") else x + b"<no newline>" for x in d.items]
    check("unix_dgram: one record + newline per datagram, the file's %d in order" % len(want),
          got_d == want, "%d datagrams" % len(got_d))
    check("unix_stream: the file's %d lines in order" % len(want), s.items == want,
          "%d lines" % len(s.items))
    hdr = re.compile(rb"^<157>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d twe2e\[(\d+)\]: ")
    got_l, bad = [], 0
    for m in lg.items:
        h = hdr.match(m)
        if not h:
            bad += 1
            continue
        got_l.append(m[h.end():])
    check("syslog: every message <157>TIMESTAMP twe2e[PID]: ", bad == 0 and lg.items,
          "%d bad of %d: %r" % (bad, len(lg.items), lg.items[:1]))
    check("syslog: the file's %d records in order" % len(want), got_l == want,
          "%d messages" % len(got_l))
    stats = [json.loads(l) for l in want if b'"event_type":"stats"' in l]
    eve = stats[-1]["stats"].get("eve") if stats else None
    keys = {"written", "dropped", "errors", "reconnects"}
    check("stats.eve has written/dropped/errors/reconnects and outputs",
          isinstance(eve, dict) and set(eve) == keys | {"outputs"}, eve)
    if not isinstance(eve, dict):
        return
    check("stats.eve: nothing dropped, no error, no reconnect",
          eve.get("dropped") == 0 and eve.get("errors") == 0 and eve.get("reconnects") == 0, eve)
    per = eve.get("outputs") or []
    check("stats.eve.outputs: the four outputs in configuration order",
          [o.get("filetype") for o in per] == ["regular", "unix_dgram", "unix_stream", "syslog"],
          per)
    if len(per) == 4:
        # the stats record is the file's last: every record before it is counted for the file;
        # the asynchronous outputs count what they delivered by then (at most as many)
        check("stats.eve.outputs[0] (the file): written == the %d records before it"
              % (len(want) - 1), per[0].get("written") == len(want) - 1, per[0])
        check("stats.eve.outputs[1..3]: written <= %d, nothing dropped, no error"
              % (len(want) - 1), all(o.get("written", 1 << 60) <= len(want) - 1 and
                                     o.get("dropped") == 0 and o.get("errors") == 0
                                     for o in per[1:]), per)
        check("stats.eve.written is the sum of the outputs'",
              eve.get("written") == sum(o.get("written", 0) for o in per), eve)
        check("filenames as configured", per[0].get("filename") == "eve.json" and
              per[1].get("filename") == "eve.sock" and "filename" not in per[3], per)


def no_reader(sensor, wd):
    out = os.path.join(wd, "noreader")
    os.makedirs(out)
    outputs = "[{eve: {filename: eve.json}}, {eve: {filetype: unix_dgram, filename: nobody.sock}}]"
    t0 = time.monotonic()
    p = subprocess.run([sensor, "-c", os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"),
                        "-r", "pcaps/demo", "-l", out, "-j", "1", "--set", "outputs=" + outputs],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    dt = time.monotonic() - t0
    check("no reader: exit 0", p.returncode == 0, p.stderr)
    check("no reader: exits within the bounded drain (%.1f s)" % dt, dt < 10)
    check("no reader: one line on stderr about the socket",
          p.stderr.count("nobody.sock: cannot connect") == 1, p.stderr)
    lines = read_lines(os.path.join(out, "eve.json"))
    check("no reader: the file is complete (ends with stats)",
          lines and b'"event_type":"stats"' in lines[-1], len(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    sensor = os.path.abspath(a.sensor)
    wd = os.path.abspath(a.workdir)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    if len(os.path.join(wd, "four", "eve-stream.sock")) > 100:
        print("skip: work directory too deep for a unix socket path")
        return 77
    four_outputs(sensor, wd)
    no_reader(sensor, wd)
    print(f"outputs: {len(failures)} failed" if failures else "outputs: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
