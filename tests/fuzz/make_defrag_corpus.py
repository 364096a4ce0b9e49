#!/usr/bin/python3
"""make_defrag_corpus.py — writes the seed corpus for fuzz_defrag into tests/fuzz/corpus/defrag/.

Each file is one memcap byte, then 7-byte fragment records (format in fuzz_defrag.c): IPv4 and
IPv6 datagrams in order, reversed and shuffled, duplicates, overlaps with equal and different
bytes, ping of death, conflicting ends, holes that time out, memcap floods, bad lengths.
Deterministic; stdlib only. Run: /usr/bin/python3 tests/fuzz/make_defrag_corpus.py
"""
import os
import random
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "defrag")

V6, PROTO17, MF, SRC2, EXT = 1, 2, 8, 16, 32
STEP_MS, STEP_1S5, STEP_5S = 64, 128, 192


def rec(off, length, more=True, ident=1, v6=False, fill=0, flags=0):
    f = flags | (V6 if v6 else 0) | (MF if more else 0)
    return struct.pack("!BBHHB", f, ident & 0xff, off // 8, length, fill)


def datagram(total, chunk, order=None, **kw):
    offs = list(range(0, total, chunk))
    frs = [rec(o, min(chunk, total - o), o + chunk < total, **kw) for o in offs]
    if order == "reverse":
        frs.reverse()
    elif order == "shuffle":
        random.Random(total * 7 + chunk).shuffle(frs)
    return b"".join(frs)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    big = 3
    cases = {
        "v4_in_order": bytes([big]) + datagram(1000, 200),
        "v4_reverse": bytes([big]) + datagram(1000, 200, "reverse"),
        "v4_shuffle": bytes([big]) + datagram(1500, 96, "shuffle"),
        "v4_options": bytes([big]) + datagram(600, 200, "reverse", flags=EXT),
        "v6_in_order": bytes([big]) + datagram(1000, 200, v6=True),
        "v6_reverse_ext": bytes([big]) + datagram(1400, 328, "reverse", v6=True, flags=EXT),
        "v6_udp": bytes([big]) + datagram(300, 96, "shuffle", v6=True, flags=PROTO17),
        "v4_duplicate": bytes([big]) + rec(0, 64) + rec(0, 64) + rec(64, 64) + rec(0, 32) + rec(128, 10, False),
        "v4_overlap_diff": bytes([big]) + rec(16, 16) + rec(8, 32, fill=0x55) + rec(0, 16) + rec(40, 24, False),
        "v4_overlap_straddle": bytes([big]) + rec(8, 8) + rec(24, 8) + rec(0, 48, fill=1) + rec(48, 5, False),
        "v6_overlap": bytes([big]) + rec(0, 24, v6=True) + rec(16, 16, v6=True) + rec(24, 24, False, v6=True),
        "v6_exact_dup": bytes([big]) + rec(24, 24, False, v6=True) * 2 + rec(0, 24, v6=True),
        "ping_of_death": bytes([big]) + b"".join(rec(o, 2048 - 8) for o in range(0, 65528, 2040))[:7 * 40]
        + rec(65528, 16, False),
        "offset_max": bytes([big]) + rec(0xffff * 8, 2048, False) + rec(0, 8),
        "v6_limit_ext": bytes([big]) + rec(65496, 16, False, v6=True, flags=EXT) + rec(0, 8, v6=True, flags=EXT),
        "conflicting_last": bytes([big]) + rec(32, 32, False) + rec(32, 16, False) + rec(0, 32),
        "past_end": bytes([big]) + rec(16, 16, False) + rec(24, 16) + rec(0, 16),
        "last_before_data": bytes([big]) + rec(32, 32) + rec(16, 8, False) + rec(0, 16),
        "hole_timeout": bytes([big]) + rec(0, 16) + rec(32, 16, False)
        + rec(16, 16, flags=STEP_5S) + rec(0, 16, flags=STEP_1S5) + rec(32, 16, False, flags=STEP_1S5),
        "bad_lengths": bytes([big]) + rec(0, 20) + rec(8, 0) + rec(0, 0, False) + rec(0, 64) + rec(64, 0, False),
        "many_frags": bytes([big]) + datagram(260 * 8, 8, "shuffle", ident=9),
        "dup_flood": bytes([big]) + rec(0, 8) * 300 + rec(8, 8, False),
        "two_sources": bytes([big]) + rec(0, 64) + rec(0, 64, flags=SRC2, fill=9) + rec(64, 8, False, flags=SRC2)
        + rec(64, 8, False),
        "mixed_versions": bytes([big]) + rec(0, 64) + rec(0, 64, v6=True) + rec(64, 8, False, v6=True)
        + rec(64, 8, False),
    }
    # Memcap floods: many incomplete datagrams at a small memcap, then complete ones.
    flood = b"".join(rec(0, 1000, ident=i, flags=SRC2 if i & 1 else 0) for i in range(256))
    cases["flood_1k"] = bytes([0]) + flood + datagram(64, 32, ident=7)
    cases["flood_8k"] = bytes([1]) + flood + datagram(1000, 200, "reverse", ident=3)
    cases["flood_64k_v6"] = bytes([2]) + b"".join(rec(0, 2000, ident=i, v6=True) for i in range(120)) \
        + datagram(600, 96, ident=250, v6=True)
    cases["flood_timeouts"] = bytes([2]) + b"".join(
        rec(0, 512, ident=i, flags=STEP_1S5 if i % 10 == 0 else 0) for i in range(200))
    for name, data in cases.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("%d files in %s" % (len(cases), OUT))


if __name__ == "__main__":
    main()
