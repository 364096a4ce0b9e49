#!/usr/bin/python3
"""make_hpack_corpus.py — writes the seed corpus for fuzz_hpack into tests/fuzz/corpus/hpack/.

Each file is fuzz_hpack.c's two control bytes (byte 0: bit 0 from_start, bits 1-3 the limit's
index in its limits[], bits 4-5 how blocks are cut, bit 6 the late-join differential, bit 7 a
lowered limit mid-way; byte 1: the seed or the join block) and then header blocks: RFC 7541
Appendix C's examples, request and response sequences coded by python3-hpack (Huffman, dynamic
table, never-indexed tokens, size updates) and hand-made broken blocks (EOS, bad padding,
integer overflow, truncation, index 0, late size updates). Files named fuzzed_* and late_join_*
are inputs libFuzzer found and are kept when this script rewrites the rest. Deterministic:
    /usr/bin/python3 tests/fuzz/make_hpack_corpus.py
"""
import os
import random
import sys

sys.path.insert(0, "/usr/lib/python3/dist-packages")
from hpack import Encoder  # noqa: E402  (Debian's python3-hpack)
from hpack.struct import NeverIndexedHeaderTuple  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "hpack")

# limits[] of fuzz_hpack.c: 0 none, 2 -> 64, 3 -> 256, 4 -> 4096, 5 -> 65536, 6 -> 2^20, 7 -> 100
NONE, L64, L256, L4096, L64K, L1M, L100 = 0, 2, 3, 4, 5, 6, 7
ONE, LEN1, LEN2, RANDOM = range(4)


def ctl(from_start=1, limit=NONE, cut=LEN2, diff=0, relimit=0, arg=0):
    return bytes([from_start | limit << 1 | cut << 4 | diff << 6 | relimit << 7, arg])


def len2(blocks):
    return b"".join(len(b).to_bytes(2, "big") + b for b in blocks)


def h(s):
    return bytes.fromhex("".join(s.split()))


C3 = [h("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"),
      h("8286 84be 5808 6e6f 2d63 6163 6865"),
      h("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")]
C4 = [h("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
      h("8286 84be 5886 a8eb 1064 9cbf"),
      h("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")]
C6 = [h("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6"
        "2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3"),
      h("4883 640e ffc1 c0bf"),
      h("88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab"
        "77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f"
        "9587 3160 65c0 03ed 4ee5 b106 3d50 07")]

LIT = h("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")
BROKEN = {
    "eos": LIT + h("0f2b 84 ffff fffc"),
    "padding_long": LIT + h("0f2b 82 1fff"),
    "padding_zero": LIT + h("0f2b 81 18"),
    "index0": LIT + h("80 82"),
    "beyond": LIT + h("c0 82 0f3b 0161 7f0b 0161 be"),
    "int_max": h("ff80 ffff ff0f 82"),
    "int_over": h("ff81 ffff ff0f 82"),
    "late_update": LIT + h("20 82"),
    "big_update": h("3fe21f 82 3fe1ff3f"),
    "truncated": LIT + h("0003 6162"),
    "too_long": h("00 7f82 ff3f"),
}


def jwt(rng):
    a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "".join(rng.choice(a) for _ in range(300))


def requests(rng, n, size=None):
    enc = Encoder()
    if size is not None:
        enc.header_table_size = size
    toks = [jwt(rng) for _ in range(3)]
    out = []
    for i in range(n):
        hdrs = [(":method", "GET"), (":scheme", "https"), (":authority", "api.example.com"),
                (":path", "/v1/items/%d" % rng.randrange(100)),
                ("x-request-id", "%016x" % rng.getrandbits(64)),
                NeverIndexedHeaderTuple("authorization", "Bearer " + toks[i % 3]),
                ("cookie", "session=%d" % rng.randrange(5)), ("cookie", "theme=dark")]
        out.append(enc.encode(hdrs, huffman=bool(i % 2)))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):  # inputs libFuzzer found (fuzzed_*, late_join_*) are kept
        if not f.startswith(("fuzzed_", "late_join_")):
            os.remove(os.path.join(OUT, f))
    rng = random.Random(12)
    files = {
        "c3": ctl() + len2(C3),
        "c4": ctl() + len2(C4),
        "c4_late": ctl(diff=1, arg=1) + len2(C4),
        "c6_256": ctl(limit=L256) + len2(C6),
        "c6_256_relimit": ctl(limit=L256, relimit=1) + len2(C6 + C6),
        "c4_one_block": ctl(cut=ONE) + b"".join(C4),
        "c4_random_cuts": ctl(cut=RANDOM, arg=7) + b"".join(C4),
        "c3_len1": ctl(cut=LEN1) + b"".join(bytes([len(b)]) + b for b in C3),
        "requests": ctl() + len2(requests(rng, 12)),
        "requests_late2": ctl(diff=1, arg=2) + len2(requests(rng, 12)),
        "requests_late5_joined": ctl(from_start=0, diff=1, arg=5) + len2(requests(rng, 14)),
        "requests_small_table": ctl(limit=L100, diff=1, arg=3) + len2(requests(rng, 8, 100)),
        "requests_64k": ctl(limit=L64K) + len2(requests(rng, 8, 65536)),
    }
    for name, blk in BROKEN.items():
        files["err_" + name] = ctl() + len2([blk, h("82 be")])
    for name, data in files.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("make_hpack_corpus: %d files in %s" % (len(files), os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
