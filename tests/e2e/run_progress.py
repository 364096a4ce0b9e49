#!/usr/bin/env python3
"""run_progress.py — the offline progress line and the exit summary on stderr.

  run_progress.py --sensor build/tokenwatch --workdir build/e2e-progress

With stderr on a pseudo-terminal (pty.openpty) the sensor draws one progress line per regular
file, "\\r\\033[Ktokenwatch: NAME: DONE of SIZE (P%)[, R MB/s, ETA M:SS]", redrawn at most 4 times a
second and erased ("\\r\\033[K") when the file ends; with -q, or stderr not a terminal, nothing
but (without -q) the summary line. Timing is made deterministic by filling the pty's buffer
before the sensor starts: its first progress write blocks, the test waits 0.7 s and drains the
pty, so the redraw at packet 512 (the first look at the clock) is due and its figures are exact:
24 + 512 * 258 bytes read. Exit 0 pass, 1 fail. Python >= 3.9, stdlib only.
"""
import argparse
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import threading
import time
import tty

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml")
DEMO = os.path.join(ROOT, "pcaps", "demo")
CLEAR = b"\r\x1b[K"
DEMO_SUMMARY = (b"tokenwatch: 127 packets, 0 dropped, 12 flows, 12 tokens (12 distinct), 4 alerts "
                b"(findings: key_revoked 1, key_issuer_mismatch 1, signature_invalid 1, alg_none 1, "
                b"alg_mismatch 1, key_unknown 1)\n")
UDP_SUMMARY = b"tokenwatch: 3000 packets, 0 dropped, 0 flows, 0 tokens (0 distinct), 0 alerts\n"
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail!r}"[:1500]))
    if not cond:
        failures.append(name)


def write_udp_pcap(path, n=3000):
    """n UDP datagrams of 242 bytes (Ethernet, 200 bytes of payload), 258 bytes a record with
    its pcap header: 24 + 258 * n bytes, nothing the sensor alerts on."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            payload = b"x" * 200
            udp = struct.pack("!HHHH", 40000 + i % 50, 53, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xffff, 0, 64, 17, 0,
                             bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
            eth = b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00" + ip
            f.write(struct.pack("<IIII", 1685620800 + i // 100, i % 100 * 1000, len(eth), len(eth)))
            f.write(eth)


def drain(master):
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every slave end is closed
            break
        if not chunk:
            break
        out += chunk
    return out


def run_pty(sensor, args, stall=0.0):
    """Runs the sensor with stderr on a raw pty; with stall, the pty's buffer is full when it
    starts (its first write to stderr blocks) and is drained after `stall` seconds. Returns
    (exit status, what the sensor wrote to stderr)."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    filler = 0
    if stall:
        flags = fcntl.fcntl(slave, fcntl.F_GETFL)
        fcntl.fcntl(slave, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        # To the last byte, so that the sensor's first write blocks; the kernel moves what was
        # written on to the master's side in the background, making room: fill until a round
        # after a pause finds none.
        for _ in range(100):
            before = filler
            for chunk in (b"." * 1024, b"."):
                try:
                    while True:
                        filler += os.write(slave, chunk)
                except BlockingIOError:
                    pass
            if filler == before:
                break
            time.sleep(0.02)
        fcntl.fcntl(slave, fcntl.F_SETFL, flags)
    p = subprocess.Popen([sensor] + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=slave, cwd=ROOT)
    os.close(slave)
    if stall:
        time.sleep(stall)
    t0 = time.monotonic()
    out = drain(master)
    os.close(master)
    rc = p.wait(60)
    return rc, out[filler:], time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    s = os.path.abspath(a.sensor)
    wd = os.path.abspath(a.workdir)
    os.makedirs(wd, exist_ok=True)
    udp = os.path.join(wd, "udp.pcap")
    write_udp_pcap(udp)
    logs = os.path.join(wd, "logs")
    os.makedirs(logs, exist_ok=True)

    # A terminal, the first write held up 0.7 s: a first line, one redraw with rate and ETA,
    # erased before the summary.
    rc, out, secs = run_pty(s, ["-c", CONFIG, "-r", udp, "-l", logs], stall=0.7)
    first = CLEAR + b"tokenwatch: udp.pcap: 24 B of 774.0 kB (0%)"
    check("tty: exit 0", rc == 0, out)
    check("tty: the first line at once, 0 of the file's size", out.startswith(first), out[:200])
    redraws = re.findall(rb"\r\x1b\[Ktokenwatch: udp\.pcap: ([0-9.]+ kB) of 774\.0 kB \((\d+)%\), "
                         rb"([0-9.]+) MB/s, ETA (\d+:\d\d)", out)
    check("tty: a redraw with bytes read, MB/s and ETA after the 0.7 s stall",
          len(redraws) >= 1 and redraws[0][:2] == (b"132.1 kB", b"17"), out)
    check("tty: at most 4 redraws a second", len(redraws) <= 1 + int(secs / 0.25), (secs, redraws))
    check("tty: the line erased, then the summary", out.endswith(CLEAR + UDP_SUMMARY), out[-300:])
    check("tty: nothing but progress lines and the summary",
          out.count(b"\n") == 1 and out.count(CLEAR) == 2 + len(redraws), out)

    # A directory of two files: one line each, each erased; the demo's summary.
    rc, out, _ = run_pty(s, ["-c", CONFIG, "-r", DEMO, "-l", logs])
    want = (CLEAR + b"tokenwatch: 01-office-traffic.pcap: 24 B of 16.8 kB (0%)" + CLEAR +
            CLEAR + b"tokenwatch: 02-storm-0558.pcap: 24 B of 9.9 kB (0%)" + CLEAR + DEMO_SUMMARY)
    check("tty, two files: a line per file, erased; then the summary", rc == 0 and out == want,
          out)

    # -q: nothing at all, on a terminal too.
    rc, out, _ = run_pty(s, ["-c", CONFIG, "-r", udp, "-l", logs, "-q"], stall=0.3)
    check("tty -q: silent", rc == 0 and out == b"", out)

    # Not a terminal: the summary line alone, no control characters.
    r = subprocess.run([s, "-c", CONFIG, "-r", udp, "-r", DEMO, "-l", logs], cwd=ROOT,
                       capture_output=True, timeout=60)
    check("pipe: the summary alone", r.returncode == 0 and r.stderr ==
          DEMO_SUMMARY.replace(b"127 packets", b"3127 packets"), r.stderr)

    # A named pipe on a terminal: no size to measure against, no progress line.
    fifo = os.path.join(wd, "fifo.pcap")
    if os.path.exists(fifo):
        os.remove(fifo)
    os.mkfifo(fifo)

    def feed():
        with open(fifo, "wb") as w, open(udp, "rb") as r:
            w.write(r.read())
    t = threading.Thread(target=feed)
    t.start()
    rc, out, _ = run_pty(s, ["-c", CONFIG, "-r", fifo, "-l", logs])
    t.join(10)
    check("tty, named pipe: no progress line", rc == 0 and out == UDP_SUMMARY, out)

    print(f"progress: {len(failures)} failed" if failures else "progress: all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
