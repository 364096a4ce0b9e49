#!/usr/bin/python3
"""Seeds for fuzz_h2 (tests/fuzz/fuzz_h2.c): HTTP/2 conversations as [flags:1] then records
[hdr:1][len:2 BE][bytes] (hdr bit 0: from the server, bit 1: a hole). Header blocks are encoded
by python3-hpack (Huffman, dynamic table, authorization never indexed); deterministic."""
import os
import struct

import hpack

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "h2")
C, S = 0, 1
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJmdXp6IiwiaXNzIjoiaHR0cHM6Ly9pZHAuZXhhb"
       "XBsZS5jb20ifQ.c2lnbmF0dXJl")


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


class Conv:
    def __init__(self, flags):
        self.flags = flags
        self.recs = []
        self.enc = {C: hpack.Encoder(), S: hpack.Encoder()}

    def block(self, side, fields):
        return self.enc[side].encode([(k, v, k == "authorization") for k, v in fields])

    def send(self, side, data):
        self.recs.append(bytes([side]) + struct.pack(">H", len(data)) + data)

    def hole(self, side, n):
        self.recs.append(bytes([side | 2]) + struct.pack(">H", n))

    def bytes(self):
        return bytes([self.flags]) + b"".join(self.recs)


def req(path, extra=(), method="GET"):
    return [(":method", method), (":scheme", "http"), (":authority", "api.example"),
            (":path", path), ("authorization", "Bearer " + JWT)] + list(extra)


SETTINGS = frame(4, 0, 0, struct.pack(">HIHI", 3, 100, 4, 65535))


def prior_knowledge():
    c = Conv(1 | 2)
    c.send(C, SETTINGS + frame(1, 5, 1, c.block(C, req("/a?access_token=x"))) +
           frame(1, 4, 3, c.block(C, req("/b", [("content-type", "application/x-www-form-urlencoded"),
                                                ("cookie", "a=1"), ("cookie", "s=" + JWT)], "POST"))))
    c.send(S, SETTINGS + frame(4, 1, 0))
    c.send(C, frame(0, 1, 3, b"grant_type=x&assertion=" + JWT.encode()))
    c.send(S, frame(1, 4, 3, c.block(S, [(":status", "200"), ("content-type", "application/json")])) +
           frame(0, 1, 3, b'{"access_token":"' + JWT.encode() + b'"}') +
           frame(1, 5, 1, c.block(S, [(":status", "404")])))
    return c.bytes()


def padded_continuation():
    c = Conv(1 | 2)
    blk = c.block(C, req("/cont", [("x-filler", "z" * 60)]))
    k = len(blk) // 2
    c.send(C, SETTINGS + frame(1, 0x08 | 0x20 | 1, 1, bytes([3]) + b"\x80\x00\x00\x00\x10" + blk[:k] + b"\0\0\0"))
    c.send(C, frame(9, 4, 1, blk[k:]))
    c.send(S, SETTINGS + frame(1, 4, 1, c.block(S, [(":status", "200"), ("content-type", "application/json"),
                                                     ("content-encoding", "identity")])) +
           frame(0, 0x08 | 1, 1, bytes([5]) + b'{"id_token":"t"}' + b"\0" * 5))
    return c.bytes()


def grpc():
    c = Conv(1 | 2)
    c.send(C, SETTINGS + frame(1, 4, 1, c.block(C, req("/pkg.Svc/Call", [("content-type", "application/grpc"),
                                                                          ("te", "trailers")], "POST"))) +
           frame(0, 1, 1, b"\0\0\0\0\x02\x08\x01"))
    c.send(S, SETTINGS + frame(1, 4, 1, c.block(S, [(":status", "200"), ("content-type", "application/grpc")])) +
           frame(0, 0, 1, b"\0\0\0\0\x02\x08\x01") +
           frame(1, 5, 1, c.block(S, [("grpc-status", "16"), ("grpc-message", "unauthenticated")])))
    c.send(C, frame(1, 5, 3, c.block(C, req("/pkg.Svc/Other", [("content-type", "application/grpc")], "POST"))))
    c.send(S, frame(1, 5, 3, c.block(S, [(":status", "200"), ("grpc-status", "0")])))
    return c.bytes()


def push_rst_goaway():
    c = Conv(1 | 2)
    c.send(C, SETTINGS + frame(1, 5, 1, c.block(C, req("/index"))) + frame(1, 5, 3, c.block(C, req("/x"))) +
           frame(3, 0, 3, b"\0\0\0\x08") + frame(2, 0, 5, b"\0\0\0\x01\x10") + frame(8, 0, 0, b"\0\1\0\0"))
    c.send(S, SETTINGS + frame(5, 4, 1, b"\0\0\0\x02" + c.block(S, req("/style.css"))) +
           frame(1, 5, 1, c.block(S, [(":status", "200")])) + frame(1, 5, 2, c.block(S, [(":status", "200")])) +
           frame(6, 0, 0, b"12345678") + frame(7, 0, 0, b"\0\0\0\x01\0\0\0\0debug"))
    return c.bytes()


def upgrade():
    c = Conv(1)
    c.send(C, b"GET /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
              b"HTTP2-Settings: AAMAAABkAAQAAP__\r\nAuthorization: Bearer " + JWT.encode() + b"\r\n\r\n")
    c.send(C, PREFACE + SETTINGS)
    c.send(S, b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n" + SETTINGS +
           frame(1, 4, 1, c.block(S, [(":status", "200")])) + frame(0, 1, 1, b"hi"))
    c.send(C, frame(1, 5, 3, c.block(C, req("/next"))))
    return c.bytes()


def late_join():
    c = Conv(0)
    c.block(C, req("/before", [("x-custom", "old")]))  # entries the capture never saw
    c.block(S, [(":status", "200"), ("server", "s")])
    c.send(S, frame(1, 5, 1, c.block(S, [(":status", "200"), ("server", "s")])) + frame(8, 0, 0, b"\0\1\0\0"))
    c.send(C, frame(1, 5, 3, c.block(C, req("/after", [("x-custom", "old")]))))
    c.hole(S, 40)
    c.send(S, b"\0\0\0\0" + frame(1, 5, 3, c.block(S, [(":status", "200")])))
    return c.bytes()


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, fn in [("prior_knowledge", prior_knowledge), ("padded_continuation", padded_continuation),
                     ("grpc", grpc), ("push_rst_goaway", push_rst_goaway), ("upgrade", upgrade),
                     ("late_join", late_join)]:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(fn())


if __name__ == "__main__":
    main()
