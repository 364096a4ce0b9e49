#!/usr/bin/python3
"""make_websocket_corpus.py — writes the seed corpus for fuzz_websocket into
tests/fuzz/corpus/websocket/.

Each file is one control byte (bits 0-1 extension: 0 none, 1 permessage-deflate, 2 the same
without context takeover, 3 with 9/8-bit windows; bits 2-4 split pattern; bits 5-7 index into
fuzz_websocket.c's limit table) and then one direction's bytes: the examples of RFC 6455 §5.7
and RFC 7692 §7.2.3, masked client frames, a fragmented GraphQL connection_init with a ping in
between, compressed messages sharing a window, 16- and 64-bit lengths, a small bomb, and the
framing errors (reserved opcode and bits, long or fragmented control frames, lengths not
minimally encoded). Deterministic; stdlib only:
    /usr/bin/python3 tests/fuzz/make_websocket_corpus.py
"""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "websocket")

NONE, DEFLATE, NO_CTX, SMALL_WIN = range(4)
# Same order as limits[] in fuzz_websocket.c.
L0, L1, L5, L100, L1000, L4096, L64K, L1M = range(8)

JWT = (b"eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwic3Vi"
       b"IjoidXNlciJ9.c2lnbmF0dXJl")
INIT = (b'{"type":"connection_init","payload":{"Authorization":"Bearer ' + JWT + b'"}}')
SUB = b'{"id":"1","type":"subscribe","payload":{"query":"subscription { messages { id } }"}}'


def ctl(ext, split=0, limit=L1M):
    return bytes([ext | (split << 2) | (limit << 5)])


def frame(payload, op=1, fin=True, rsv=0, mask=None, length_form=None):
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    n = len(payload)
    form = length_form or (7 if n < 126 else 16 if n < 65536 else 64)
    mbit = 0x80 if mask is not None else 0
    if form == 7:
        head = bytes([b0, mbit | n])
    elif form == 16:
        head = bytes([b0, mbit | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack(">Q", n)
    if mask is not None:
        head += mask
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + payload


class Deflater:
    """A peer's compressor: raw deflate, a sync flush per message, its 00 00 ff ff removed."""

    def __init__(self, wbits=15, takeover=True):
        self.wbits, self.takeover = wbits, takeover
        self.c = zlib.compressobj(9, zlib.DEFLATED, -wbits)

    def msg(self, data):
        if not self.takeover:
            self.c = zlib.compressobj(9, zlib.DEFLATED, -self.wbits)
        out = self.c.compress(data) + self.c.flush(zlib.Z_SYNC_FLUSH)
        assert out.endswith(b"\x00\x00\xff\xff")
        return out[:-4]


def seeds():
    m = b"\x37\xfa\x21\x3d"
    yield "rfc6455_unmasked", ctl(NONE), bytes([0x81, 0x05]) + b"Hello"
    yield "rfc6455_masked", ctl(NONE, 1), bytes([0x81, 0x85]) + m + bytes(
        [0x7f, 0x9f, 0x4d, 0x51, 0x58])
    yield "rfc6455_fragmented", ctl(NONE, 2), bytes([0x01, 0x03]) + b"Hel" + bytes(
        [0x80, 0x02]) + b"lo"
    yield "rfc6455_ping_pong", ctl(NONE, 3), bytes([0x89, 0x05]) + b"Hello" + bytes(
        [0x8a, 0x85]) + m + bytes([0x7f, 0x9f, 0x4d, 0x51, 0x58])
    yield "rfc6455_256", ctl(NONE, 4, L100), bytes([0x82, 0x7e, 0x01, 0x00]) + bytes(
        range(256))
    yield "rfc6455_64k", ctl(NONE, 5, L64K), bytes([0x82, 0x7f]) + struct.pack(
        ">Q", 65536) + bytes(i * 7 & 255 for i in range(65536))
    yield "rfc7692_hello", ctl(DEFLATE), bytes([0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07,
                                                0x00])
    yield "rfc7692_fragmented", ctl(DEFLATE, 1), bytes(
        [0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00])
    shared = bytes([0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00,
                    0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00])
    yield "rfc7692_shared_window", ctl(DEFLATE, 2), shared
    yield "rfc7692_no_context_takeover", ctl(NO_CTX, 2), shared
    yield "rfc7692_stored", ctl(DEFLATE, 3), bytes(
        [0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00])
    yield "rfc7692_bfinal", ctl(DEFLATE, 4), bytes(
        [0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00])
    yield "rfc7692_two_blocks", ctl(DEFLATE, 5), bytes(
        [0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07,
         0x00])
    # GraphQL over WebSocket, as a client sends it: masked, the init split over three frames
    # with a ping between them, then a subscribe
    mk = b"\x01\x02\x03\x04"
    third = len(INIT) // 3
    yield "graphql_fragmented", ctl(NONE, 6), (
        frame(INIT[:third], op=1, fin=False, mask=mk)
        + frame(b"", op=9, mask=mk)
        + frame(INIT[third:2 * third], op=0, fin=False, mask=b"\xa0\xb1\xc2\xd3")
        + frame(INIT[2 * third:], op=0, mask=b"\x10\x20\x30\x40")
        + frame(SUB, mask=mk) + frame(b"\x03\xe8bye", op=8, mask=mk))
    d = Deflater()
    yield "graphql_deflate", ctl(DEFLATE, 7), (
        frame(d.msg(SUB), rsv=4, mask=mk) + frame(d.msg(INIT), rsv=4, mask=mk)
        + frame(d.msg(INIT), rsv=4, mask=mk))
    d = Deflater(wbits=9)
    yield "deflate_small_window", ctl(SMALL_WIN, 1), (
        frame(d.msg(INIT * 3), rsv=4, mask=mk) + frame(d.msg(INIT), rsv=4, mask=mk))
    d = Deflater(takeover=False)
    yield "deflate_no_ctx_limit", ctl(NO_CTX, 2, L100), (
        frame(d.msg(INIT * 4), rsv=4) + frame(d.msg(SUB), rsv=4) + frame(b"plain", op=1))
    d = Deflater()
    yield "deflate_limit_window", ctl(DEFLATE, 3, L5), (
        frame(d.msg(INIT * 4), rsv=4) + frame(d.msg(INIT), rsv=4))
    d = Deflater()
    yield "deflate_bomb", ctl(DEFLATE, 0, L4096), (
        frame(d.msg(bytes(4 << 20)), op=2, rsv=4) + frame(d.msg(b"after"), rsv=4))
    yield "deflate_corrupt", ctl(DEFLATE, 1), frame(b"\xff\xff\xff", rsv=4) + frame(b"ok")
    yield "binary_json", ctl(NONE, 2, L1000), frame(INIT, op=2) + frame(b"\xff\xfe\x00", op=2)
    yield "len16_form_of_short", ctl(NONE), frame(b"abc", length_form=16)
    yield "len64_form_of_short", ctl(NONE), frame(b"abc", length_form=64)
    yield "len64_top_bit", ctl(NONE), bytes([0x82, 0x7f, 0x80]) + bytes(7) + b"x"
    yield "reserved_opcode", ctl(NONE), frame(b"x", op=3)
    yield "ping_fragmented", ctl(NONE), frame(b"x", op=9, fin=False)
    yield "ping_too_long", ctl(NONE), frame(b"p" * 126, op=9)
    yield "continuation_alone", ctl(NONE), frame(b"x", op=0)
    yield "interleaved", ctl(NONE), frame(b"a", fin=False) + frame(b"b")
    yield "rsv1_without_deflate", ctl(NONE), frame(b"x", rsv=4)
    yield "rsv1_on_continuation", ctl(DEFLATE), frame(b"\x00", fin=False, rsv=4) + frame(
        b"\x00", op=0, rsv=4)
    yield "rsv2", ctl(DEFLATE), frame(b"x", rsv=2)
    yield "cut_header", ctl(NONE), bytes([0x82, 0xff, 0, 0])
    yield "extensions_value", ctl(NONE), (b"permessage-deflate; client_max_window_bits=10; "
                                          b"server_no_context_takeover")


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, c, body in seeds():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(c + body)


if __name__ == "__main__":
    main()
