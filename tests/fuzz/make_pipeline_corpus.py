#!/usr/bin/python3
"""Seeds for fuzz_pipeline: the packets of the committed test captures, re-framed as
[len:2][link:1][ts step:1][bytes] records (link index: 0 Ethernet, 1 raw, 2 SLL, 3 SLL2)."""
import glob
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LINKS = {1: 0, 101: 1, 113: 2, 276: 3}


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None, []
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xA1B2C3D4, 0xA1B23C4D):
        return None, []
    link = struct.unpack("<I", data[20:24])[0]
    off, out, last = 24, [], None
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            break
        step = 0 if last is None else min(255, max(0, sec - last))
        last = sec
        out.append((step, data[off:off + incl]))
        off += incl
    return link, out


def main():
    outdir = os.path.join(ROOT, "tests", "fuzz", "corpus", "pipeline")
    os.makedirs(outdir, exist_ok=True)
    for p in sorted(glob.glob(os.path.join(ROOT, "pcaps", "*", "*.pcap"))):
        link, pkts = packets(p)
        if link not in LINKS or not pkts:
            continue
        blob = b"".join(struct.pack(">HBB", len(b), LINKS[link], step) + b for step, b in pkts)
        if len(blob) > 60000:
            continue
        name = os.path.splitext(os.path.basename(p))[0]
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
