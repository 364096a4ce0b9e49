#!/usr/bin/python3
"""make_hpack_huffman.py — generates dissectors/http/hpack_huffman.c, the HPACK Huffman decoding
state machine (RFC 7541 §5.2), from the code table of RFC 7541 Appendix B transcribed below.

The machine reads 4 bits at a time. Its states are the 256 inner nodes of the code tree (257
leaves: the 256 byte values and EOS), state 0 the root. For each state and nibble, one entry:
the state reached after those 4 bits, the symbol completed on the way (at most one: no code is
shorter than 5 bits), and flags:
  HUF_SYM     a symbol was completed (its value in `sym`)
  HUF_FAIL    EOS was completed: a decoding error (§5.2)
  HUF_ACCEPT  the state reached may end a string: the root, or a node on the all-ones path at
              most 7 bits deep (padding is the most significant bits of EOS, under 8 bits)
The table is checked before it is written: prefix-free, complete (Kraft sum exactly 1), the
code canonical (assigned by length, then by symbol, as the appendix's is), EOS all ones; and,
when Debian's python3-hpack is installed, equal to its table (a cross-check only: the source
is the appendix). Deterministic. Rerun after editing:
    /usr/bin/python3 tests/gen/make_hpack_huffman.py
"""
import os
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "dissectors", "http",
                   "hpack_huffman.c")

# RFC 7541 Appendix B: "code as hex aligned to LSB" and "len in bits" for symbols 0..256 (256 is
# EOS), eight symbols a line, in the appendix's order.
APPENDIX_B = """
1ff8 13  7fffd8 23  fffffe2 28  fffffe3 28  fffffe4 28  fffffe5 28  fffffe6 28  fffffe7 28
fffffe8 28  ffffea 24  3ffffffc 30  fffffe9 28  fffffea 28  3ffffffd 30  fffffeb 28  fffffec 28
fffffed 28  fffffee 28  fffffef 28  ffffff0 28  ffffff1 28  ffffff2 28  3ffffffe 30  ffffff3 28
ffffff4 28  ffffff5 28  ffffff6 28  ffffff7 28  ffffff8 28  ffffff9 28  ffffffa 28  ffffffb 28
14 6  3f8 10  3f9 10  ffa 12  1ff9 13  15 6  f8 8  7fa 11
3fa 10  3fb 10  f9 8  7fb 11  fa 8  16 6  17 6  18 6
0 5  1 5  2 5  19 6  1a 6  1b 6  1c 6  1d 6
1e 6  1f 6  5c 7  fb 8  7ffc 15  20 6  ffb 12  3fc 10
1ffa 13  21 6  5d 7  5e 7  5f 7  60 7  61 7  62 7
63 7  64 7  65 7  66 7  67 7  68 7  69 7  6a 7
6b 7  6c 7  6d 7  6e 7  6f 7  70 7  71 7  72 7
fc 8  73 7  fd 8  1ffb 13  7fff0 19  1ffc 13  3ffc 14  22 6
7ffd 15  3 5  23 6  4 5  24 6  5 5  25 6  26 6
27 6  6 5  74 7  75 7  28 6  29 6  2a 6  7 5
2b 6  76 7  2c 6  8 5  9 5  2d 6  77 7  78 7
79 7  7a 7  7b 7  7ffe 15  7fc 11  3ffd 14  1ffd 13  ffffffc 28
fffe6 20  3fffd2 22  fffe7 20  fffe8 20  3fffd3 22  3fffd4 22  3fffd5 22  7fffd9 23
3fffd6 22  7fffda 23  7fffdb 23  7fffdc 23  7fffdd 23  7fffde 23  ffffeb 24  7fffdf 23
ffffec 24  ffffed 24  3fffd7 22  7fffe0 23  ffffee 24  7fffe1 23  7fffe2 23  7fffe3 23
7fffe4 23  1fffdc 21  3fffd8 22  7fffe5 23  3fffd9 22  7fffe6 23  7fffe7 23  ffffef 24
3fffda 22  1fffdd 21  fffe9 20  3fffdb 22  3fffdc 22  7fffe8 23  7fffe9 23  1fffde 21
7fffea 23  3fffdd 22  3fffde 22  fffff0 24  1fffdf 21  3fffdf 22  7fffeb 23  7fffec 23
1fffe0 21  1fffe1 21  3fffe0 22  1fffe2 21  7fffed 23  3fffe1 22  7fffee 23  7fffef 23
fffea 20  3fffe2 22  3fffe3 22  3fffe4 22  7ffff0 23  3fffe5 22  3fffe6 22  7ffff1 23
3ffffe0 26  3ffffe1 26  fffeb 20  7fff1 19  3fffe7 22  7ffff2 23  3fffe8 22  1ffffec 25
3ffffe2 26  3ffffe3 26  3ffffe4 26  7ffffde 27  7ffffdf 27  3ffffe5 26  fffff1 24  1ffffed 25
7fff2 19  1fffe3 21  3ffffe6 26  7ffffe0 27  7ffffe1 27  3ffffe7 26  7ffffe2 27  fffff2 24
1fffe4 21  1fffe5 21  3ffffe8 26  3ffffe9 26  ffffffd 28  7ffffe3 27  7ffffe4 27  7ffffe5 27
fffec 20  fffff3 24  fffed 20  1fffe6 21  3fffe9 22  1fffe7 21  1fffe8 21  7ffff3 23
3fffea 22  3fffeb 22  1ffffee 25  1ffffef 25  fffff4 24  fffff5 24  3ffffea 26  7ffff4 23
3ffffeb 26  7ffffe6 27  3ffffec 26  3ffffed 26  7ffffe7 27  7ffffe8 27  7ffffe9 27  7ffffea 27
7ffffeb 27  ffffffe 28  7ffffec 27  7ffffed 27  7ffffee 27  7ffffef 27  7fffff0 27  3ffffee 26
3fffffff 30
"""

EOS = 256
HUF_SYM, HUF_FAIL, HUF_ACCEPT = 1, 2, 4


def table():
    w = APPENDIX_B.split()
    codes = [(int(w[i], 16), int(w[i + 1])) for i in range(0, len(w), 2)]
    assert len(codes) == 257, len(codes)
    return codes


def check(codes):
    # Kraft sum exactly 1: complete, so every bit string is a code prefix or contains a code
    assert sum(2 ** (30 - n) for _, n in codes) == 2 ** 30
    for c, n in codes:
        assert 5 <= n <= 30 and c < 2 ** n
    # canonical: sorted by (length, symbol), each code is the previous one plus one, shifted
    order = sorted(range(257), key=lambda s: (codes[s][1], s))
    code, prev_len = 0, codes[order[0]][1]
    for k, s in enumerate(order):
        c, n = codes[s]
        if k:
            code = (code + 1) << (n - prev_len)
        assert c == code, (s, hex(c), hex(code))
        prev_len = n
    assert codes[EOS] == (2 ** 30 - 1, 30)
    try:
        sys.path.insert(0, "/usr/lib/python3/dist-packages")
        from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
    except ImportError:
        print("make_hpack_huffman: python3-hpack not installed, cross-check skipped")
        return
    assert list(REQUEST_CODES) == [c for c, _ in codes]
    assert list(REQUEST_CODES_LENGTH) == [n for _, n in codes]


def build(codes):
    # inner nodes as [child0, child1]; a child is ("n", node) or ("s", symbol)
    nodes = [[None, None]]
    for s, (c, n) in enumerate(codes):
        at = 0
        for i in range(n - 1, -1, -1):
            b = (c >> i) & 1
            if i == 0:
                assert nodes[at][b] is None
                nodes[at][b] = ("s", s)
            else:
                if nodes[at][b] is None:
                    nodes.append([None, None])
                    nodes[at][b] = ("n", len(nodes) - 1)
                assert nodes[at][b][0] == "n"
                at = nodes[at][b][1]
    assert len(nodes) == 256 and all(x is not None for nd in nodes for x in nd)
    # states that may end a string: the root and the all-ones path up to 7 bits deep
    accept, at = {0}, 0
    for _ in range(7):
        kind, at = nodes[at][1]
        assert kind == "n"
        accept.add(at)
    machine = []
    for st in range(256):
        row = []
        for nib in range(16):
            at, sym, flags = st, 0, 0
            for i in range(3, -1, -1):
                kind, v = nodes[at][(nib >> i) & 1]
                if kind == "n":
                    at = v
                    continue
                at = 0
                if v == EOS:
                    flags |= HUF_FAIL
                else:
                    assert not flags & HUF_SYM
                    sym, flags = v, flags | HUF_SYM
            if at in accept:
                flags |= HUF_ACCEPT
            row.append((at, flags, sym))
        machine.append(row)
    return machine


HEAD = """/* hpack_huffman.c — the HPACK Huffman decoding state machine (RFC 7541 §5.2, Appendix B).
 *
 * GENERATED by tests/gen/make_hpack_huffman.py from the code table of RFC 7541 Appendix B, which
 * that script holds and checks; do not edit, rerun it:
 *     /usr/bin/python3 tests/gen/make_hpack_huffman.py
 *
 * Pipeline: app_http2 ─► hpack (hpack.c: hpack_huffman_decode) ─► [this table]. Owns nothing but
 * the table: 256 states (the inner nodes of the code tree, 0 the root) times 16 nibbles, each
 * entry {state reached, flags, symbol completed}; flags in hpack_int.h. Constant data.
 */
#include "hpack_int.h"

const struct hpack_huf hpack_huf_table[256][16] = {
"""


def main():
    codes = table()
    check(codes)
    machine = build(codes)
    out = [HEAD]
    for st, row in enumerate(machine):
        cells = ["{%d,%d,%d}" % e for e in row]
        line = "    /* %d */ {" % st
        for k, c in enumerate(cells):
            c += "}," if k == 15 else ","
            if len(line) + len(c) > 100:
                out.append(line.rstrip() + "\n")
                line = "        "
            line += c
        out.append(line + "\n")
    out.append("};\n")
    with open(OUT, "w") as f:
        f.write("".join(out))
    print("make_hpack_huffman: wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
