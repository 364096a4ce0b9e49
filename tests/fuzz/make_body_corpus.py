#!/usr/bin/python3
"""make_body_corpus.py — writes the seed corpus for fuzz_body into tests/fuzz/corpus/body/.

Each file is one control byte (bits 0-1 encoding: 0 identity, 1 gzip, 2 deflate, 3 unsupported;
bits 2-4 split pattern; bits 5-7 index into fuzz_body.c's limit table) and then the body:
gzip, zlib and raw deflate streams, concatenated members, trailing garbage, corrupt and cut
streams, a small bomb and bodies that end exactly at a limit. Deterministic; stdlib only:
    /usr/bin/python3 tests/fuzz/make_body_corpus.py
"""
import os
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "body")

IDENTITY, GZIP, DEFLATE, UNSUPPORTED = range(4)
# Same order as limits[] in fuzz_body.c.
L0, L1, L100, L1000, L4096, L5000, L64K, L1M = range(8)

FORM = (b"grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion="
        b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl&client_id=app")
JSON = b'{"access_token":"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln","token_type":"Bearer"}' * 20


def ctl(enc, split=0, limit=L1M):
    return bytes([enc | (split << 2) | (limit << 5)])


def gz(data, level=9):
    c = zlib.compressobj(level, zlib.DEFLATED, 16 + 15)  # zlib writes mtime 0: deterministic
    return c.compress(data) + c.flush()


def zl(data, level=9):
    c = zlib.compressobj(level, zlib.DEFLATED, 15)
    return c.compress(data) + c.flush()


def raw(data, level=9):
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def flushed(wbits, first, second):
    """A stream with a full flush between two halves; returns (stream, offset of 2nd block)."""
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    a = c.compress(first) + c.flush(zlib.Z_FULL_FLUSH)
    return a + c.compress(second) + c.flush(), len(a)


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "identity_form": ctl(IDENTITY) + FORM,
        "identity_cut": ctl(IDENTITY, 3, L100) + FORM,
        "identity_empty": ctl(IDENTITY),
        "unsupported": ctl(UNSUPPORTED, 1) + gz(FORM),
        "gzip_form": ctl(GZIP, 1) + gz(FORM),
        "gzip_json": ctl(GZIP, 2) + gz(JSON),
        "gzip_stored": ctl(GZIP, 4) + gz(FORM, 0),
        "gzip_empty": ctl(GZIP) + gz(b""),
        "gzip_members": ctl(GZIP, 5) + gz(FORM) + gz(JSON) + gz(b"tail"),
        "gzip_garbage": ctl(GZIP, 6) + gz(FORM) + b"\x00\x00\x00\x00",
        "gzip_magic_garbage": ctl(GZIP, 7) + gz(FORM) + b"\x1f\x8bnot a member",
        "gzip_lone_magic": ctl(GZIP) + gz(FORM) + b"\x1f",
        "gzip_cut": ctl(GZIP, 2) + gz(JSON)[:60],
        "gzip_limit_inside": ctl(GZIP, 3, L1000) + gz(JSON),
        "gzip_limit_exact": ctl(GZIP, 1, L100) + gz(JSON[:100]),
        "gzip_limit_zero": ctl(GZIP, 1, L0) + gz(FORM),
        "gzip_limit_member": ctl(GZIP, 2, L1000) + gz(JSON[:1000]) + gz(FORM),
        "gzip_bomb": ctl(GZIP, 5) + gz(bytes(300000)),
        "gzip_not": ctl(GZIP) + b"hello, this is not gzip",
        "deflate_zlib": ctl(DEFLATE, 1) + zl(FORM),
        "deflate_raw": ctl(DEFLATE, 2) + raw(FORM),
        "deflate_raw_empty": ctl(DEFLATE) + b"\x03\x00",
        "deflate_zlib_empty": ctl(DEFLATE) + zl(b""),
        "deflate_raw_json_cut": ctl(DEFLATE, 6, L4096) + raw(JSON),
        "deflate_zlib_garbage": ctl(DEFLATE, 3) + zl(FORM) + zl(JSON),
        "deflate_raw_garbage": ctl(DEFLATE, 4) + raw(FORM) + b"<html>",
        "deflate_bomb": ctl(DEFLATE, 7, L1M) + raw(bytes(500000)),
        "deflate_one_byte": ctl(DEFLATE) + b"\x78",
        "deflate_stored_limit": ctl(DEFLATE, 2, L5000) + zl(JSON * 4, 0),
    }
    for name, (wbits, enc) in {"gzip": (31, GZIP), "zlib": (15, DEFLATE), "raw": (-15, DEFLATE)}.items():
        s, off = flushed(wbits, JSON[:500], FORM)
        seeds[f"{name}_bad_block"] = ctl(enc, 3) + s[:off] + b"\x07" + s[off + 1:]
    s = bytearray(gz(JSON))
    s[-8] ^= 0x55
    seeds["gzip_bad_crc"] = ctl(GZIP, 4) + bytes(s)
    s = bytearray(zl(JSON))
    s[-1] ^= 0x55
    seeds["zlib_bad_adler"] = ctl(DEFLATE, 5) + bytes(s)
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()
