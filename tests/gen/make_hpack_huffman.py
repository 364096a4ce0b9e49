#!/usr/bin/python3
"""make_hpack_huffman.py — generates dissectors/http/hpack_huffman.c, the HPACK Huffman decoding
tables (RFC 7541 §5.2), from the code table of RFC 7541 Appendix B transcribed below.

Two tables, for a decoder that keeps the input's next bits at the top of a 64-bit word:
  hpack_huf_fast[4096]  indexed by the next 12 bits: the one or two symbols whose codes fit in
                        them, first code first (no code is shorter than 5 bits, so at most two).
                        Each entry: sym0 | sym1 << 8 | len1 << 16 | len << 21 | nsym << 26, len1
                        the first code's length, len the bits both take; nsym 0 when the first
                        code is longer than 12 bits.
  canonical tables      for codes of 13 to 30 bits: the appendix's code is canonical (codes of
                        one length are consecutive, assigned by length, then by symbol), so the
                        top L bits are a code of length L when they are below hpack_huf_limit[L],
                        and its symbol is hpack_huf_sym[code + hpack_huf_off[L]] (symbols sorted
                        by length, then value; 256 is EOS).
The table is checked before it is written: prefix-free, complete (Kraft sum exactly 1), the
code canonical, EOS all ones; and, when Debian's python3-hpack is installed, equal to its table
(a cross-check only: the source is the appendix). Deterministic. Rerun after editing:
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
FAST = 12


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
    by_code = {(c, n): sym for sym, (c, n) in enumerate(codes)}

    def first_code(bits, width):
        """The symbol and length of the code at the top of `bits` (width bits), or None."""
        for n in range(5, width + 1):
            sym = by_code.get((bits >> (width - n), n))
            if sym is not None:
                return sym, n
        return None

    fast = []
    for i in range(1 << FAST):
        a = first_code(i, FAST)
        if a is None:
            fast.append(0)
            continue
        s0, n0 = a
        assert s0 != EOS
        rest = FAST - n0
        b = first_code(i & ((1 << rest) - 1), rest) if rest >= 5 else None
        if b is None:
            fast.append(s0 | n0 << 16 | n0 << 21 | 1 << 26)
        else:
            s1, n1 = b
            fast.append(s0 | s1 << 8 | n0 << 16 | (n0 + n1) << 21 | 2 << 26)
    order = sorted(range(257), key=lambda s: (codes[s][1], s))
    limit, off = [0] * 31, [0] * 31
    k, first = 0, 0
    for n in range(1, 31):
        count = sum(1 for s in order if codes[s][1] == n)
        if count:
            assert codes[order[k]][0] == first  # canonical: the first code of each length
        limit[n] = first + count
        off[n] = k - first
        k += count
        first = (first + count) << 1
    # every code longer than 12 bits decodes to its symbol through these tables
    for sym, (c, n) in enumerate(codes):
        if n <= FAST:
            continue
        top = c << (30 - n)
        for m in range(FAST + 1, 31):
            if (top >> (30 - m)) < limit[m]:
                assert m == n and order[(top >> (30 - m)) + off[m]] == sym, sym
                break
        else:
            assert False, sym
    return fast, limit, off, order


HEAD = """/* hpack_huffman.c — the HPACK Huffman decoding tables (RFC 7541 §5.2, Appendix B).
 *
 * GENERATED by tests/gen/make_hpack_huffman.py from the code table of RFC 7541 Appendix B, which
 * that script holds and checks; do not edit, rerun it:
 *     /usr/bin/python3 tests/gen/make_hpack_huffman.py
 *
 * Pipeline: app_http2 ─► hpack (hpack.c: hpack_huffman_decode) ─► [these tables]. Constant data:
 * hpack_huf_fast, the one or two symbols the next 12 bits hold (layout in hpack_int.h); for the
 * codes of 13 to 30 bits, the canonical code's limits, offsets and symbols in code order.
 */
#include "hpack_int.h"

"""


def main():
    codes = table()
    check(codes)
    fast, limit, off, order = build(codes)
    out = [HEAD, "const uint32_t hpack_huf_fast[4096] = {\n"]
    for i in range(0, 4096, 8):
        out.append("    " + " ".join("0x%07x," % e for e in fast[i:i + 8]) + "\n")
    out.append("};\n\nconst uint32_t hpack_huf_limit[31] = {\n")
    for i in range(0, 31, 6):
        out.append("    " + " ".join("0x%08x," % e for e in limit[i:i + 6]) + "\n")
    out.append("};\n\nconst int32_t hpack_huf_off[31] = {\n")
    for i in range(0, 31, 6):
        out.append("    " + " ".join("%d," % e for e in off[i:i + 6]) + "\n")
    out.append("};\n\nconst uint16_t hpack_huf_sym[257] = {\n")
    for i in range(0, 257, 16):
        out.append("    " + " ".join("%d," % e for e in order[i:i + 16]) + "\n")
    out.append("};\n")
    with open(OUT, "w") as f:
        f.write("".join(out))
    print("make_hpack_huffman: wrote", os.path.normpath(OUT))


if __name__ == "__main__":
    main()
