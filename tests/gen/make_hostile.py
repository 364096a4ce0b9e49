#!/usr/bin/python3
"""make_hostile.py — the e2e cases about a hostile or lossy SPAN port (issue 3): segments the
mirror dropped (a gap inside a request head, inside a response body, over a response head),
one-sided capture, pick-up in the middle of a response body, port reuse, injected RSTs,
zero-window probes and a SYN flood against a small flow memcap.

Each case carries Storm-pattern tokens (key_issuer_mismatch), so an alert proves the whole path
worked; the statuses differ per request (200, 401, 403) so that a request paired with the wrong
response shows. Writes pcaps/tests/hostile_*.pcap and tests/e2e/hostile_*/case.json.

Run after make_captures.py (which empties pcaps/tests/ first):
    /usr/bin/python3 tests/gen/make_captures.py && /usr/bin/python3 tests/gen/make_hostile.py
Deterministic: re-running gives identical files.
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as P                                   # noqa: E402
import tokens as T                                    # noqa: E402
from make_captures import (TEST_DIR, UA_STORM, WRITTEN, Case, Req,  # noqa: E402
                           storm_alert, tok_storm_style, write_capture)

CLIENT, SERVER = "10.40.0.23", "198.51.100.40"
OWA = "outlook.example.com"
URLS = ["/api/v2.0/me/mailfolders/inbox/messages?$top=25", "/api/v2.0/me/contacts",
        "/api/v2.0/me/calendar/events", "/api/v2.0/me/drive/root"]
STATUSES = [200, 401, 403, 200]


def reqs(c, t, n, tag):
    """n keep-alive requests on c, each with its own Storm-pattern token and status."""
    return [Req(c, tok_storm_style(t, sub="%s-%d" % (tag, i)), url=URLS[i % 4], host=OWA,
                ua=UA_STORM, status=STATUSES[i % 4]) for i in range(n)]


def conn(cport, isn_c, isn_s, mss=1460):
    c = P.TcpConn(CLIENT, cport, SERVER, 80, isn_c=isn_c, isn_s=isn_s, mss=mss)
    c.handshake()
    return c


def finish(case, c, t, rs, alerts, stats=None):
    """Writes the capture; `alerts` maps request index -> True (with status) / False (without)."""
    cap = P.Capture()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    for i, with_status in alerts.items():
        storm_alert(case, rs[i], with_status=with_status,
                    absent=None if with_status else ["http.status"])
    for r in rs:
        case.secret(r.token)
    case.expect({"event_type": "alert"}, count=len(alerts))
    case.expect(dict({"event_type": "stats", "stats.tokens.seen": len(alerts)}, **(stats or {})),
                count=1)
    case.write()


def new_case(name, description, args=()):
    return Case(name, description, [TEST_DIR + "/%s.pcap" % name], args=list(args))


def gap_request_head(t):
    case = new_case("hostile_gap_request_head",
                    "Keep-alive, three requests; the SPAN port dropped a segment inside the second "
                    "request's head. The server's ACK covers the hole, so it is skipped at once (not "
                    "at the flow's end): the second token is lost, the third request still alerts "
                    "and is paired with its own response (403).")
    c = conn(52001, 0x7FFFFF00, 0x00C0FFEE)
    rs = reqs(c, t, 3, "gaphead")
    c.request(rs[0].raw)
    c.response(rs[0].response_bytes())
    segs = c.request(rs[1].raw, mss=300)
    assert len(rs[1].raw.split(b"\r\n\r\n")[0]) > 600   # segment 1 lies inside the head
    P.drop(c, segs[1])
    c.response(rs[1].response_bytes())
    c.request(rs[2].raw)
    c.response(rs[2].response_bytes())
    c.close()
    case.expect({"event_type": "token", "token.sha256": T.sha256_hex(rs[1].token)}, count=0)
    finish(case, c, t, rs, {0: True, 2: True},
           {"stats.tcp.reassembly_gap": 1, "stats.app_layer.tx.http": 2})


def gap_response_body(t):
    case = new_case("hostile_gap_response_body",
                    "Keep-alive, three requests; a segment inside the first response's 4000-byte "
                    "body is missing. The body is skipped by its length, so the next responses are "
                    "found and each request keeps its own status (200, 401, 403).")
    c = conn(52002, 0xFFFFF000, 0xFFFFFF00)       # both directions wrap past 2^32
    rs = reqs(c, t, 3, "gapbody")
    c.request(rs[0].raw)
    body = ('{"value":[%s]}' % ",".join('{"id":"AAMkAG%06d","subject":"Quarterly report %d"}'
                                        % (i, i) for i in range(90)))[:4000]
    resp = P.http_response(200, body.encode().ljust(4000, b" "))
    segs = c.response(resp, mss=1000)
    P.drop(c, segs[2])
    for r in rs[1:]:
        c.request(r.raw)
        c.response(r.response_bytes())
    c.close()
    finish(case, c, t, rs, {0: True, 1: True, 2: True}, {"stats.tcp.reassembly_gap": 1})


def gap_response_head(t):
    case = new_case("hostile_gap_response_head",
                    "Keep-alive, three requests; the first segment of the second response (its status "
                    "line) is missing. The second request is reported without a status rather than "
                    "with the third response's; the third request gets its own (403).")
    c = conn(52003, 1111, 2222)
    rs = reqs(c, t, 3, "gapresp")
    c.request(rs[0].raw)
    c.response(rs[0].response_bytes())
    c.request(rs[1].raw)
    segs = c.response(rs[1].response_bytes(), mss=100)
    P.drop(c, segs[0])
    c.request(rs[2].raw)
    c.response(rs[2].response_bytes())
    c.close()
    finish(case, c, t, rs, {0: True, 1: False, 2: True}, {"stats.tcp.reassembly_gap": 1})


def one_sided(t):
    case = new_case("hostile_one_sided",
                    "Only the client-to-server direction was mirrored: three keep-alive requests and "
                    "the client's FIN. Every token still alerts, without http.status.")
    c = conn(52004, 424242, 0xFFFFFFF0)
    rs = reqs(c, t, 3, "onesided")
    for r in rs:
        c.request(r.raw)
        c.response(r.response_bytes())
    c.close()
    c.segs = [s for s in c.segs if s.from_client]
    finish(case, c, t, rs, {0: False, 1: False, 2: False}, {"stats.tcp.reassembly_gap": 0})


def midstream_body(t):
    case = new_case("hostile_midstream_body",
                    "The capture starts in the middle of a response body (no handshake, no request "
                    "line seen): the body's tail does not make the server the client; the next request "
                    "alerts with its client as src_ip and its response's status.")
    c = P.TcpConn(CLIENT, 52005, SERVER, 80, isn_c=9000, isn_s=0xFFFFFE00)
    c.handshake()
    c.request(P.http_request("GET", "/api/v2.0/me/photo/$value", OWA, [("User-Agent", UA_STORM)]))
    body = bytes((i * 37 + 11) % 251 for i in range(3000))
    segs = c.response(P.http_response(200, body, ctype="image/jpeg"), mss=1000)
    first = c.segs.index(segs[1])                 # start at the second segment of the body
    rs = reqs(c, t, 1, "midbody")
    c.request(rs[0].raw)
    c.response(rs[0].response_bytes())
    c.close()
    c.segs = c.segs[first:]
    finish(case, c, t, rs, {0: True})


def port_reuse(t):
    case = new_case("hostile_port_reuse",
                    "Four connections on one 5-tuple, each with a new ISN: the first closed by FINs, the "
                    "second by a RST, the third's close never seen. Each SYN starts a new flow (the old "
                    "one's events written first): four alerts, each with its own status and tx_id 0.")
    cap = P.Capture()
    rs = []
    for k, (isn_c, isn_s) in enumerate([(1000, 5000), (700000, 900000), (3000000, 12345),
                                        (0xFFFFFF80, 777)]):
        c = conn(52006, isn_c, isn_s)
        r = Req(c, tok_storm_style(t, sub="reuse-%d" % k), url=URLS[k], host=OWA, ua=UA_STORM,
                status=STATUSES[k])
        c.request(r.raw)
        c.response(r.response_bytes())
        if k in (0, 3):
            c.close()
        elif k == 1:
            c.rst(from_client=True)
        cap.add_conn(c, P.Link(), t + k * 2)
        rs.append(r)
    write_capture(cap, case.pcaps[0])
    for r in rs:
        storm_alert(case, r, extra={"tx_id": 0})
        case.secret(r.token)
    case.expect({"event_type": "alert"}, count=4)
    case.expect({"event_type": "stats", "stats.tokens.seen": 4, "stats.flow.total": 4}, count=1)
    case.write()


def rst_injection(t):
    case = new_case("hostile_rst_injection",
                    "RSTs whose sequence numbers are outside the window (one spoofed from each side, "
                    "between a request and its response) are ignored: both requests keep their "
                    "responses' statuses. A second connection's in-window RST still ends it: its "
                    "request is reported without a status, and a response after the RST is not "
                    "paired with it.")
    cap = P.Capture()
    c = conn(52007, 0xFFFFFFFF - 100, 31337)
    rs = reqs(c, t, 2, "rst")
    c.request(rs[0].raw)
    P.raw_seg(c, False, c.nxt[False] + 3000000, 0, P.RST)                # far ahead
    P.raw_seg(c, True, c.nxt[True] - 2000, c.nxt[False], P.RST | P.ACK)   # already delivered
    c.response(rs[0].response_bytes())
    P.raw_seg(c, True, c.nxt[True] + 70000, c.nxt[False], P.RST | P.ACK)  # past 65535
    c.request(rs[1].raw)
    c.response(rs[1].response_bytes())
    c.close()
    cap.add_conn(c, P.Link(), t)

    c2 = conn(52008, 4242, 8484)
    r3 = Req(c2, tok_storm_style(t, sub="rst-valid"), url=URLS[3], host=OWA, ua=UA_STORM)
    c2.request(r3.raw)
    P.raw_seg(c2, False, c2.nxt[False] + 10, c2.nxt[True], P.RST | P.ACK)  # in the window
    c2.response(r3.response_bytes())
    cap.add_conn(c2, P.Link(), t + 3)
    write_capture(cap, case.pcaps[0])
    storm_alert(case, rs[0])
    storm_alert(case, rs[1], extra={"tx_id": 1})
    storm_alert(case, r3, with_status=False, absent=["http.status"])
    for r in rs + [r3]:
        case.secret(r.token)
    case.expect({"event_type": "alert"}, count=3)
    case.write()


def zero_window(t):
    case = new_case("hostile_zero_window",
                    "The server's window shuts after the request's first 100 bytes; the client sends "
                    "1-byte zero-window probes (each answered with window 0) and a keep-alive style "
                    "probe one byte back, then the real data from the same sequence number: the "
                    "bytes are delivered once, one token, no gap.")
    c = conn(52009, 0xFFFFFFFF - 150, 606060)
    rs = reqs(c, t, 1, "zwp")
    raw = rs[0].raw
    c.send(True, raw[:100], ack=False)
    P.raw_seg(c, False, c.nxt[False], c.nxt[True], P.ACK, win=0)
    for _ in range(4):
        P.raw_seg(c, True, c.nxt[True], c.nxt[False], P.ACK, raw[100:101])
        P.raw_seg(c, False, c.nxt[False], c.nxt[True], P.ACK, win=0)
    P.raw_seg(c, True, c.nxt[True] - 1, c.nxt[False], P.ACK, b"\0")      # keep-alive probe
    c.send(True, raw[100:])
    c.response(rs[0].response_bytes())
    c.close()
    finish(case, c, t, rs, {0: True},
           {"stats.tcp.reassembly_gap": 0, "stats.tcp.overlap": 3 + 1 + 1,
            "stats.tokenwatch.tcp.overlap_bytes": 3 + 1 + 1, "stats.tcp.overlap_diff_data": 0})


def syn_flood(t):
    n = 3000
    case = new_case("hostile_syn_flood",
                    "%d SYNs from random sources (half-open flows) against engine.flow-memcap=128kb: "
                    "the oldest are evicted, and a real connection afterwards still alerts with its "
                    "status." % n, args=["--set", "engine.flow-memcap=128kb"])
    rng = random.Random(3)
    link = P.Link()
    cap = P.Capture()
    for i in range(n):
        src = "%d.%d.%d.%d" % (rng.randint(1, 223), rng.randint(0, 255), rng.randint(0, 255),
                               rng.randint(1, 254))
        cap.add_frame(t + i * 0.0001, P.syn_frame(link, src, rng.randint(1024, 65535), SERVER, 80,
                                                  rng.getrandbits(32), rng.getrandbits(16)))
    c = conn(52010, 5150, 6160)
    rs = reqs(c, t, 1, "synflood")
    c.request(rs[0].raw)
    c.response(rs[0].response_bytes())
    c.close()
    cap.add_conn(c, link, t + n * 0.0001 + 0.5)
    write_capture(cap, case.pcaps[0])
    storm_alert(case, rs[0])
    case.secret(rs[0].token)
    case.expect({"event_type": "alert"}, count=1)
    case.expect({"event_type": "stats", "stats.tokens.seen": 1, "stats.flow.total": n + 1}, count=1)
    case.write()


def make_all():
    t = P.T0 + 14400
    gap_request_head(t)
    gap_response_body(t + 60)
    gap_response_head(t + 120)
    one_sided(t + 180)
    midstream_body(t + 240)
    port_reuse(t + 300)
    rst_injection(t + 360)
    zero_window(t + 420)
    syn_flood(t + 480)


if __name__ == "__main__":
    make_all()
    for p, size in WRITTEN:
        print("%7d  %s" % (size, p))
