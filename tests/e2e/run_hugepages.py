#!/usr/bin/env python3
"""run_hugepages.py — engine.huge-pages (docs/DESIGN.md "Huge pages"), on the running sensor.

  run_hugepages.py --sensor build/tokenwatch --workdir build/e2e-hugepages [--sanitized]

The sensor reads a FIFO (-r), so that it is still running, its heap made and its worker threads
started, when the test reads its /proc/PID/smaps; the demo capture goes through the FIFO, then
the FIFO is closed and the sensor ends. Checked, where the kernel gives huge pages to advised
memory (/sys/kernel/mm/transparent_hugepage/enabled: always or madvise; skipped otherwise):

  - default (auto), -j 1: the main heap ([heap]) carries the MADV_HUGEPAGE advice ("hg" in its
    VmFlags), the advised range covers at least 32 MiB, and nothing of that range is resident
    beyond what the heap uses (the reserve is virtual);
  - auto, -j 2: also an advised range of the worker thread's own arena (an anonymous mapping
    other than [heap]);
  - engine.huge-pages: no (-j 1 and -j 2): no mapping of the process is advised;
  - --sanitized (the ASan build): nothing advised either (the sanitizer's allocator is its own);
  - the EVE records with huge pages are those without, at the same -j (sorted; flow_id and the
    capture's path apart, which differ between any two runs).

Exit 0 pass, 1 fail, 77 skip. Python >= 3.9, stdlib only.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml")
DEMO = os.path.join(ROOT, "pcaps", "demo", "02-storm-0558.pcap")
THP = "/sys/kernel/mm/transparent_hugepage/enabled"
failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail!r}"[:1500]))
    if not cond:
        failures.append(name)


def thp_mode():
    try:
        with open(THP) as f:
            m = re.search(r"\[(\w+)\]", f.read())
    except OSError:
        return None
    return m.group(1) if m else None


def smaps(pid):
    """[(name, start, end, rss_kb, vmflags)] of every mapping of pid."""
    out, cur = [], None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$", line)
            if m:
                cur = [m.group(3).strip() or "[anon]", int(m.group(1), 16), int(m.group(2), 16),
                       0, ""]
                out.append(cur)
            elif line.startswith("Rss:"):
                cur[3] = int(line.split()[1])
            elif line.startswith("VmFlags:"):
                cur[4] = line.split(":", 1)[1].split()
    return out


def strip(rec):
    """A record without what differs between any two runs: flow_id (a keyed hash, keyed anew
    per run) and the capture's path (each run's own FIFO)."""
    rec.pop("flow_id", None)
    rec.pop("pcap_filename", None)
    return rec


def run(sensor, workdir, tag, jobs, extra=(), until=None):
    """Runs the sensor on the demo capture through a FIFO; returns (smaps while it ran, sorted
    EVE records, exit code, stderr). until(maps): what the test expects to see, read again
    for up to 20 s (a loaded machine may not have run a worker thread's start yet); without it,
    or when it never holds, the maps as they were at the end of the wait."""
    d = os.path.join(workdir, tag)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    fifo = os.path.join(d, "in.pcap")
    os.mkfifo(fifo)
    p = subprocess.Popen([sensor, "-c", CONFIG, "-r", fifo, "-l", d, "-q", "-j", str(jobs)] +
                         list(extra), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = []
    t = threading.Thread(target=lambda: err.append(p.stderr.read()))
    t.start()
    maps = None
    with open(fifo, "wb") as w:  # blocks until the sensor opened the FIFO
        with open(DEMO, "rb") as f:
            w.write(f.read())
        w.flush()
        # The sensor made its heap before it opened the FIFO; the worker threads start then too.
        time.sleep(0.5)
        maps = smaps(p.pid)
        deadline = time.monotonic() + 20
        while until and not until(maps) and time.monotonic() < deadline:
            time.sleep(0.1)
            maps = smaps(p.pid)
    rc = p.wait(timeout=60)
    t.join()
    with open(os.path.join(d, "eve.json")) as f:
        recs = sorted(json.dumps(strip(json.loads(l)), sort_keys=True) for l in f if l.strip())
    return maps, recs, rc, (err[0] if err else b"").decode(errors="replace")


def advised(maps):
    return [m for m in maps if "hg" in m[4]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--sanitized", action="store_true", help="the sensor is an ASan build")
    a = ap.parse_args()
    mode = thp_mode()
    if mode not in ("always", "madvise"):
        print("SKIP: this kernel gives no huge pages to advised memory (%s: %s)" % (THP, mode))
        return 77
    os.makedirs(a.workdir, exist_ok=True)

    for jobs in (1, 2):
        base_maps, base, rc, err = run(a.sensor, a.workdir, "no-j%d" % jobs, jobs,
                                       ["--set", "engine.huge-pages=no"])
        check("huge-pages no, -j %d: exit 0" % jobs, rc == 0, err)
        check("huge-pages no, -j %d: no mapping advised" % jobs, not advised(base_maps),
              advised(base_maps))
        check("huge-pages no, -j %d: the capture's alerts are there" % jobs,
              any('"event_type": "alert"' in r for r in base), len(base))
        want = None if a.sanitized else (
            lambda m, j=jobs: any(x[0] == "[heap]" for x in advised(m)) and
            (j == 1 or any(x[0] != "[heap]" for x in advised(m))))
        maps, recs, rc, err = run(a.sensor, a.workdir, "auto-j%d" % jobs, jobs, until=want)
        check("auto, -j %d: exit 0" % jobs, rc == 0, err)
        check("auto, -j %d: EVE records the same as with huge-pages: no" % jobs, recs == base,
              (len(recs), len(base)))
        adv = advised(maps)
        if a.sanitized:
            check("auto, -j %d, sanitizer build: nothing advised" % jobs, not adv, adv)
            continue
        heap = [m for m in adv if m[0] == "[heap]"]
        size = sum(m[2] - m[1] for m in heap)
        check("auto, -j %d: the main heap is advised" % jobs, heap,
              [(m[0], m[4]) for m in maps if m[0] == "[heap]"])
        check("auto, -j %d: the advised heap spans >= 32 MiB (the reserve)" % jobs,
              size >= 32 << 20, size)
        # The reserve is virtual: the resident part of the advised heap is what the heap uses,
        # in 2 MiB pages, far below the reserve's 64 MiB on the demo capture.
        rss = sum(m[3] for m in heap) * 1024
        check("auto, -j %d: the reserve is not resident (%d KiB of %d)" % (
            jobs, rss >> 10, size >> 10), rss < size // 2, (rss, size))
        others = [m for m in adv if m[0] != "[heap]"]
        if jobs == 2:
            check("auto, -j 2: the worker thread's arena is advised", others,
                  [(m[0], hex(m[1]), m[4]) for m in maps if m[0] == "[anon]"][:20])
        else:
            check("auto, -j 1: no thread arena advised (no worker thread)", not others, others)

    print("%d failure(s)" % len(failures) if failures else "all checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
