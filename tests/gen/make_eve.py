#!/usr/bin/python3
"""make_eve.py — the e2e case about EVE's Suricata-shared records and common fields (issue 6):
`flow` records (only for flows that carried a token, with exact packet/byte counts), `anomaly`
records (decoder, stream, HTTP; one per kind per flow and direction, decoder ones rate-limited),
tx_id linking alert/token/http of one transaction, pcap_cnt, `ether`, `host` (sensor-name),
alert.metadata.tags (sensor-tags), and the redaction of Authorization/Cookie/Proxy-Authorization
values (the case's `secrets`: run_case.py greps every record for them).

Writes pcaps/tests/eve_records.pcap and tests/e2e/eve_records/case.json. Called by
make_captures.py; deterministic (fixed times, fixed keys, no randomness).
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as P                                   # noqa: E402
import tokens as T                                    # noqa: E402
from make_captures import (TEST_DIR, UA_EDGE, UA_STORM, Case, Req,  # noqa: E402
                           storm_alert, tok_storm_style, write_capture)

CLIENT, SERVER = "10.50.0.7", "198.51.100.50"
OWA = "outlook.example.com"
COOKIE = "MSISAuth=c2Vzc2lvbi1zZWNyZXQtY29va2llLXZhbHVlLTQyNDI0Mg"
PROXY_AUTH = "Basic cHJveHl1c2VyOnByb3h5LXNlY3JldC1wYXNzd29yZA=="
BASIC_AUTH = "Basic YWxpY2U6YmFzaWMtc2VjcmV0LXBhc3N3b3JkLTc3"
CLIENT_MAC, SERVER_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"


def conn(cport, mss=1460):
    c = P.TcpConn(CLIENT, cport, SERVER, 80, isn_c=cport * 7919, isn_s=cport * 104729, mss=mss)
    c.handshake()
    return c


def plain(url, headers=()):
    return P.http_request("GET", url, OWA, [("User-Agent", UA_EDGE)] + list(headers))


def make_records(t):
    name = "eve_records"
    args = ["--set", "outputs.eve.types=[alert, token, stats, http, flow, anomaly]",
            "--set", "sensor-name=tap-eve", "--set", "sensor-tags=[dc1, storm-watch]",
            "--set", "outputs.eve.ethernet=yes", "--set", "engine.http-max-head=2048"]
    case = Case(name, "EVE's shared records: a flow record only for the flow that carried a token "
                "(exact counts, alerted, closed, timeout), none for token-less flows; "
                "tx_id 0 and 1 on the two transactions of one flow, the same on its alert, token and http "
                "records; pcap_cnt of the packet completing the record; ether MACs oriented like "
                "src_ip/dest_ip; host and alert.metadata.tags from sensor-name/sensor-tags; "
                "anomalies: overlap with different data (once, though it happens twice), a request "
                "head over http-max-head, a bad response chunk size, and truncated IPv4/TCP "
                "headers (one record per reason per second of packet time, 5 broken packets in "
                "one second give one). Cookie, Proxy-Authorization and Basic credentials appear "
                "in no record.", [TEST_DIR + "/%s.pcap" % name], args=args)
    cap = P.Capture()
    link = P.Link()

    # A: two transactions; the first carries a Storm-pattern token, a cookie and proxy
    # credentials; the second Basic credentials and no token.
    a = conn(53001)
    r0 = Req(a, tok_storm_style(t, sub="eve-records"), url="/api/v2.0/me/messages", host=OWA,
             ua=UA_STORM, extra_headers=[("Cookie", COOKIE), ("Proxy-Authorization", PROXY_AUTH)])
    a.request(r0.raw)
    resp0 = a.response(r0.response_bytes())
    assert len(resp0) == 1
    a.request(plain("/owa/service.svc?action=GetFolder", [("Authorization", BASIC_AUTH)]))
    a.response(P.http_response(200, '{"Body":{}}'))
    a.close()
    frames_a = [(s.from_client, len(link.wrap(a.frame_l3(s), False, s.from_client)))
                for s in a.segs]
    pcap_cnt_alert = a.segs.index(resp0[0]) + 1        # A's frames come first in the file
    cap.add_conn(a, link, t)

    # B: no token: an http record, no flow record.
    b = conn(53002)
    b.request(plain("/owa/"))
    b.response(P.http_response(200, "<html></html>", ctype="text/html"))
    b.close()
    cap.add_conn(b, link, t + 1)

    # C: an out-of-order segment overwritten twice by retransmissions with other bytes.
    c = conn(53003, mss=200)
    segs = c.request(plain("/owa/ev.owa?ns=PendingRequest&ev=FinishNotificationRequest&UA=0" +
                           "&x=" + "A" * 300))
    assert len(segs) >= 3
    P.reorder(c, segs[1:3], [1, 0])                    # s0, s2 (held), s1
    P.overlap(c, segs[2], 10, b"B" * 50, after=segs[2])
    P.overlap(c, segs[2], 70, b"C" * 50, after=segs[2])
    c.response(P.http_response(200, "{}"))
    c.close()
    cap.add_conn(c, link, t + 2)

    # D: a request head of 3000 bytes against http-max-head 2048, in 500-byte segments.
    d = conn(53004, mss=500)
    d.request(plain("/owa/big", [("X-Filler", "f" * 3000)]))
    d.response(P.http_response(200, "{}"))
    d.close()
    cap.add_conn(d, link, t + 3)

    # E: a chunked response whose chunk size is not hexadecimal.
    e = conn(53005)
    e.request(plain("/owa/chunked"))
    e.response(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
    e.close()
    cap.add_conn(e, link, t + 4)

    # F: broken packets, 30 s later (A, closed, has timed out by then): five truncated IPv4
    # headers and a TCP header with data offset 4 in one second, one more truncated IPv4 header
    # the next second.
    src = P.Link.CLIENT_MAC
    dst = P.Link.SERVER_MAC
    eth = dst + src + struct.pack("!H", 0x0800)
    good = P.ipv4_packet(CLIENT, SERVER, 6,
                         P.tcp_segment(CLIENT, SERVER, 53009, 80, 1, 0, P.SYN, b""))
    for i in range(5):
        cap.add_frame(t + 30 + i * 0.1, eth + good[:10])
    bad_tcp = bytearray(good)
    bad_tcp[20 + 12] = 0x40                            # data offset 4 words: under 20 bytes
    cap.add_frame(t + 30.6, eth + bytes(bad_tcp))
    cap.add_frame(t + 31.5, eth + good[:12])
    # a valid SYN: flow_expire runs again, and A (closed 30 s ago) ends by timeout
    cap.add_frame(t + 32, P.syn_frame(link, CLIENT, 53010, SERVER, 80, 1))
    write_capture(cap, case.pcaps[0])

    # flow: one record, A's, with its exact counts
    toserver = [n for fc, n in frames_a if fc]
    toclient = [n for fc, n in frames_a if not fc]
    case.expect({"event_type": "flow"}, count=1)
    case.expect({"event_type": "flow", "src_ip": CLIENT, "src_port": 53001, "dest_ip": SERVER,
                 "dest_port": 80, "proto": "TCP", "app_proto": "http", "host": "tap-eve",
                 "flow.pkts_toserver": len(toserver), "flow.pkts_toclient": len(toclient),
                 "flow.bytes_toserver": sum(toserver), "flow.bytes_toclient": sum(toclient),
                 "flow.start": "2023-06-01T%s.000000+0000" % hms(t),
                 "flow.state": "closed", "flow.reason": "timeout", "flow.alerted": True},
                count=1, absent=["pcap_cnt", "ether"])
    # tx_id: the alert, token and http records of transaction 0; http of transaction 1
    storm_alert(case, r0, extra={"tx_id": 0, "host": "tap-eve", "pcap_cnt": pcap_cnt_alert,
                                 "alert.metadata": {"tags": ["dc1", "storm-watch"]},
                                 "ether": {"src_mac": CLIENT_MAC, "dest_mac": SERVER_MAC}})
    case.expect({"event_type": "token", "src_port": 53001, "tx_id": 0,
                 "token.sha256": T.sha256_hex(r0.token), "pcap_cnt": pcap_cnt_alert}, count=1)
    case.expect({"event_type": "http", "src_port": 53001, "tx_id": 0, "http.url": r0.url,
                 "http.status": 200, "pcap_cnt": pcap_cnt_alert}, count=1)
    case.expect({"event_type": "http", "src_port": 53001, "tx_id": 1,
                 "http.url": "/owa/service.svc?action=GetFolder", "http.status": 200}, count=1)
    case.expect({"event_type": "http", "src_port": 53002, "tx_id": 0, "http.url": "/owa/"},
                count=1)
    case.expect({"event_type": "alert"}, count=1)
    # anomalies
    # 7: D's overflowing head is streamed (issue 10), so its tail is no head of its own and its
    # response finds its request; E's bytes after the bad chunk size are no response head.
    case.expect({"event_type": "anomaly"}, count=7)
    case.expect({"event_type": "anomaly", "src_port": 53005,
                 "anomaly.event": "RESPONSE_HEADER_INVALID"}, count=1)
    for event in ("REQUEST_HEADER_INVALID", "UNABLE_TO_MATCH_RESPONSE_TO_REQUEST"):
        case.expect({"event_type": "anomaly", "src_port": 53004, "anomaly.event": event}, count=0)
    case.expect({"event_type": "http", "src_port": 53004, "http.url": "/owa/big",
                 "http.status": 200, "http.head_oversized": True}, count=1)
    case.expect({"event_type": "anomaly", "src_port": 53003, "app_proto": "http",
                 "anomaly": {"type": "stream",
                             "event": "stream.reassembly_overlap_different_data"}}, count=1)
    case.expect({"event_type": "anomaly", "src_port": 53004,
                 "anomaly": {"app_proto": "http", "type": "applayer",
                             "event": "REQUEST_FIELD_TOO_LONG", "layer": "proto_parser"}}, count=1)
    case.expect({"event_type": "anomaly", "src_port": 53005,
                 "anomaly": {"app_proto": "http", "type": "applayer",
                             "event": "INVALID_RESPONSE_CHUNK_LEN", "layer": "proto_parser"}},
                count=1)
    n0 = len(a.segs) + len(b.segs) + len(c.segs) + len(d.segs) + len(e.segs)
    case.expect({"event_type": "anomaly", "pcap_cnt": n0 + 1, "host": "tap-eve",
                 "pcap_filename": case.pcaps[0],
                 "ether": {"src_mac": CLIENT_MAC, "dest_mac": SERVER_MAC},
                 "anomaly": {"type": "decode", "event": "decoder.ipv4.pkt_too_small",
                             "layer": "ipv4"}}, count=1, absent=["flow_id", "src_ip"])
    case.expect({"event_type": "anomaly", "pcap_cnt": n0 + 6,
                 "anomaly": {"type": "decode", "event": "decoder.tcp.hlen_too_small",
                             "layer": "tcp"}}, count=1)
    case.expect({"event_type": "anomaly", "pcap_cnt": n0 + 7,
                 "anomaly": {"type": "decode", "event": "decoder.ipv4.pkt_too_small",
                             "layer": "ipv4"}}, count=1)
    case.expect({"event_type": "stats", "stats.decoder.invalid": 7, "host": "tap-eve"}, count=1)
    case.secret(r0.token, COOKIE, COOKIE.split("=", 1)[1], PROXY_AUTH.split()[1],
                BASIC_AUTH.split()[1])
    case.write()


def hms(t):
    s = int(t) % 86400
    return "%02d:%02d:%02d" % (s // 3600, s // 60 % 60, s % 60)


def make_all():
    make_records(P.T0 + 18000)


if __name__ == "__main__":
    make_all()
