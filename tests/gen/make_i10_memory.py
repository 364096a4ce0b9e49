#!/usr/bin/python3
"""make_i10_memory.py — the capture and fuzz seed of issue 10's memory part: a transaction that
a reassembly gap used to leak.

A keep-alive connection with two pipelined requests; the last segment of the first response's
JSON body is missing and the client's ACK covers the hole. The gap ends that body exactly, and
the second response (also with a JSON body) follows. The first transaction, its body being
collected, used to be forgotten there (never written, never freed: LeakSanitizer saw its 808
bytes and 4 KiB body buffer). Both requests must alert, each with its own status.

Writes pcaps/tests/memory_gap_ends_body.pcap, tests/e2e/memory_gap_ends_body/case.json and the
minimised fuzz_pipeline seed tests/fuzz/corpus/pipeline/memory_gap_ends_body (three packets:
two pipelined requests, the first response without its body's tail, the second response).

Run after make_captures.py (which empties pcaps/tests/ first). Deterministic.
"""
import ipaddress
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as P                                   # noqa: E402
from make_captures import (ROOT, TEST_DIR, UA_STORM, WRITTEN, Case, Req,  # noqa: E402
                           storm_alert, tok_storm_style, write_capture)

CLIENT, SERVER = "10.40.0.31", "198.51.100.41"
OWA = "outlook.example.com"
TAIL = 20   # bytes of the first response's body in the dropped segment


def gap_ends_body(t):
    name = "memory_gap_ends_body"
    case = Case(name, "Two pipelined requests; the segment holding the last %d bytes of the first "
                "response's JSON body is missing and the client's ACK covers it. The gap ends that "
                "body: the first request is still reported (status 200), the second gets its own "
                "(401)." % TAIL, [TEST_DIR + "/%s.pcap" % name])
    c = P.TcpConn(CLIENT, 52101, SERVER, 80, isn_c=0x10203040, isn_s=0x50607080)
    c.handshake()
    rs = [Req(c, tok_storm_style(t, sub="gapend-%d" % i), url="/api/v2.0/me/contacts", host=OWA,
              ua=UA_STORM, status=st) for i, st in enumerate((200, 401))]
    c.request(rs[0].raw + rs[1].raw)
    resp = rs[0].response_bytes()
    assert len(resp.split(b"\r\n\r\n", 1)[1]) > TAIL
    segs = c.response(resp, mss=len(resp) - TAIL)
    P.drop(c, segs[1])
    c.response(rs[1].response_bytes())
    c.close()
    cap = P.Capture()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    for r in rs:
        storm_alert(case, r)
    case.expect({"event_type": "stats", "stats.tcp.reassembly_gap": 1,
                 "stats.app_layer.tx.http": 2}, count=1)
    case.write()


def pipeline_seed():
    """The same defect in three raw Ethernet packets (fuzz_pipeline's record format:
    [len:2 BE][link index:1][ts step:1][bytes]), no handshake, no close: the flow ends at
    shutdown, where the held second response is delivered after the gap."""
    cl, sv = ipaddress.ip_address("10.0.0.1").packed, ipaddress.ip_address("10.0.0.2").packed

    def frame(src, dst, sp, dp, seq, ack, payload):
        tcp = P.tcp_segment(src, dst, sp, dp, seq, ack, 0x18, payload)
        return (b"\x02\x00\x00\x00\x00\x22\x02\x00\x00\x00\x00\x11\x08\x00"
                + P.ipv4_packet(src, dst, 6, tcp))

    req = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
    r1 = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"a\":1,"
    r2 = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n{\"b\""
    pkts = [frame(cl, sv, 40000, 80, 1000, 5000, req),
            frame(sv, cl, 80, 40000, 5000, 1000 + len(req), r1),
            frame(sv, cl, 80, 40000, 5000 + len(r1) + 13, 1000 + len(req), r2)]  # 13: the hole
    rel = "tests/fuzz/corpus/pipeline/memory_gap_ends_body"
    blob = b"".join(struct.pack(">HBB", len(p), 0, 0) + p for p in pkts)
    with open(os.path.join(ROOT, rel), "wb") as f:
        f.write(blob)
    WRITTEN.append((rel, len(blob)))


def make_all():
    gap_ends_body(P.T0 + 14400 + 1200)
    pipeline_seed()


if __name__ == "__main__":
    make_all()
    for p, size in WRITTEN:
        print("%7d  %s" % (size, p))
