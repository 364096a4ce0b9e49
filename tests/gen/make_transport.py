#!/usr/bin/python3
"""make_transport.py — the e2e cases about getting bytes to the token scanner: capture formats,
link types, VLANs, IPv6 extension headers, TCP reassembly (small segments, reordering,
retransmission, overlaps with different bytes, gaps, mid-stream pickup, sequence wrap),
HTTP/1.1 keep-alive, pipelining and chunking, Bearer syntax, -r DIR, damaged capture files and
the raw-tokens switch. Called by make_captures.py; each case carries one Storm-pattern token
(key_issuer_mismatch) unless said otherwise, so an alert proves the whole path worked.
"""
import hashlib
import os
import struct

import pcapgen as P
import tokens as T
from make_captures import (ROOT, TEST_DIR, UA_EDGE, UA_STORM, Case, Req, community_id,
                           simple_conn, storm_alert, tok_storm_style, tok_valid_org, write_capture)

CLIENT, SERVER = "10.30.0.15", "198.51.100.25"
OWA = "outlook.example.com"
URL = "/api/v2.0/me/mailfolders/inbox/messages?$select=subject,from&$top=25"


def storm_req(t, sub=None, **kw):
    kw.setdefault("url", URL)
    kw.setdefault("host", OWA)
    kw.setdefault("ua", UA_STORM)
    tok = tok_storm_style(t, sub=sub or "sub-%d" % t)
    return lambda c: Req(c, tok, **kw)


def one_alert_case(name, description, t, link=None, fmt="pcap", client=CLIENT, server=SERVER,
                   cport=51515, extra=None, conn_kw=None, linktype=None):
    link = link or P.Link(linktype or P.LINKTYPE_ETHERNET)
    case = Case(name, description, [TEST_DIR + "/%s.%s" % (name, fmt)])
    cap = P.Capture(link.linktype)
    c, r = simple_conn(storm_req(t), client, cport, server=server, **(conn_kw or {}))
    cap.add_conn(c, link, t)
    write_capture(cap, case.pcaps[0], fmt)
    storm_alert(case, r, extra=extra)
    case.token(r, {"token.findings": ["key_issuer_mismatch"]})
    case.expect({"event_type": "alert"}, count=1)
    case.write()
    return case


def reassembly_case(name, description, t, perturb, mss=120, isn_c=None, isn_s=None, handshake=True,
                    stats=None):
    """One request split into mss-byte segments, then perturb(conn, data_segs, resp_segs)."""
    case = Case(name, description, [TEST_DIR + "/%s.pcap" % name])
    c = P.TcpConn(CLIENT, 50600, SERVER, 80, isn_c=isn_c if isn_c is not None else 31337,
                  isn_s=isn_s if isn_s is not None else 777777, mss=mss)
    if handshake:
        c.handshake()
    r = storm_req(t)(c)
    segs = c.request(r.raw)
    resp = c.response(r.response_bytes())
    c.close()
    res = perturb(c, segs, resp, r) or r
    cap = P.Capture()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    storm_alert(case, res)
    case.token(res, {"token.findings": ["key_issuer_mismatch"]})
    case.expect({"event_type": "alert"}, count=1)
    case.expect({"event_type": "token"}, count=1)
    if stats:
        case.expect(dict({"event_type": "stats"}, **stats), count=1)
    return case


def make_all():
    t = P.T0 + 10800
    one_alert_case("transport_pcapng", "The alert path on a pcapng (SHB/IDB/EPB) capture.", t, fmt="pcapng")
    one_alert_case("transport_sll", "Linux cooked capture v1 (DLT 113).", t + 60, linktype=P.LINKTYPE_LINUX_SLL)
    one_alert_case("transport_sll2", "Linux cooked capture v2 (DLT 276).", t + 120, linktype=P.LINKTYPE_LINUX_SLL2)
    one_alert_case("transport_rawip", "Raw IP link type (DLT 101).", t + 180, linktype=P.LINKTYPE_RAW,
                   extra={"community_id": community_id(CLIENT, SERVER, 51515, 80)})
    one_alert_case("transport_vlan", "802.1Q tagged (VLAN 100).", t + 240, link=P.Link(vlans=[100]),
                   extra={"vlan": [100], "community_id": community_id(CLIENT, SERVER, 51515, 80)})
    one_alert_case("transport_qinq", "QinQ: 802.1ad outer tag 100 (0x88a8), 802.1Q inner tag 200.", t + 300,
                   link=P.Link(vlans=[100, 200], qinq=True), extra={"vlan": [100, 200]})
    c6, s6 = "fd12:3456:789a:1bcd:1234:5678:9abc:def1", "fd12:3456:789a:1bcd:abcd:ef12:3456:789a"
    one_alert_case("transport_ipv6_ext", "IPv6 with hop-by-hop and destination-options extension headers.",
                   t + 360, client=c6, server=s6, conn_kw={"ipv6_ext": True},
                   extra={"community_id": community_id(c6, s6, 51515, 80)})

    reassembly_case("transport_small_segments", "The request split over many 37-byte segments.", t + 420,
                    lambda c, s, rs, r: None, mss=37).write()

    def ooo(c, s, rs, r):
        n = len(s)
        order = [2, 0, 4, 1, 3] + list(range(5, n))
        order = order[3:] + order[:3]       # the first segment of the request arrives late too
        order[-1], order[-2] = order[-2], order[-1]
        P.reorder(c, s, order)
    reassembly_case("transport_out_of_order", "Request segments delivered out of order.", t + 480, ooo).write()

    def retrans(c, s, rs, r):
        P.duplicate(c, s[1], after=s[2])
        P.duplicate(c, s[0], after=s[-1])
        P.duplicate(c, s[3])
        P.duplicate(c, rs[0])
    reassembly_case("transport_retransmit", "Identical retransmissions of request and response segments: "
                    "still one token.", t + 540, retrans).write()

    make_overlap(t + 600)

    def midstream(c, s, rs, r):
        c.segs.insert(0, P.Seg(False, c.isn[False], c.isn[True], P.ACK))
    case = reassembly_case("transport_midstream",
                           "Mid-stream pickup: no handshake, the first packet is a pure ACK from the server; "
                           "the client is the side sending the request.", t + 660, midstream, handshake=False)
    case.write()

    reassembly_case("transport_seq_wrap", "Sequence numbers wrap past 2^32 inside the request and the response.",
                    t + 720, lambda c, s, rs, r: None, mss=200, isn_c=2**32 - 300, isn_s=2**32 - 90).write()

    def lost_response(c, s, rs, r):
        for seg in rs:
            P.drop(c, seg)
    case = reassembly_case("transport_response_lost", "The server's data segment is lost (a gap before its "
                           "FIN): the alert still comes, without http.status.", t + 780, lost_response)
    for chk in case.checks:
        chk["match"].pop("http.status", None)
        if chk["match"].get("event_type") in ("alert", "token"):
            chk["absent"] = ["http.status"]
    case.write()

    make_pipeline(t + 840)
    make_bearer_case(t + 900)
    make_dir_case(t + 960)
    make_damaged(t + 1020)
    make_raw_tokens(t + 1080)


def make_overlap(t):
    """The first copy of every byte wins (Suricata/BSD policy for a retransmission that overlaps
    data already received): a later overlapping segment carries a different token's bytes."""
    name = "transport_overlap_first_wins"
    case = Case(name, "A retransmission overlapping already-received bytes with DIFFERENT bytes: the first "
                "copy is kept, so the reported token is the first one.", [TEST_DIR + "/%s.pcap" % name])
    c = P.TcpConn(CLIENT, 50700, SERVER, 80, isn_c=424242, isn_s=99, mss=150)
    c.handshake()
    r = storm_req(t)(c)
    tok_a = r.token
    # Token B: token A with 150 bytes of its signature part replaced.
    start = r.raw.index(tok_a.encode()) + len(tok_a) - 250
    forged = bytearray(r.raw)
    forged[start:start + 150] = hashlib.sha256(b"B").hexdigest().encode()[:50] * 3
    tok_b = forged[r.raw.index(tok_a.encode()):r.raw.index(tok_a.encode()) + len(tok_a)].decode()
    assert tok_b != tok_a and len(tok_b) == len(tok_a)
    segs = c.request(r.raw)
    k = start // 150
    s0, s1 = segs[k], segs[k + 1]
    off = start - k * 150
    # Overlap [start, start+150): within s0 and s1, after both were received.
    P.overlap(c, s0, off, bytes(forged[start:start + 150]), after=s1)
    c.response(r.response_bytes())
    c.close()
    cap = P.Capture()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    storm_alert(case, r)
    case.expect({"event_type": "token", "token.sha256": T.sha256_hex(tok_a)}, count=1)
    case.expect({"event_type": "token", "token.sha256": T.sha256_hex(tok_b)}, count=0)
    case.expect({"event_type": "alert"}, count=1)
    case.secret(tok_a, tok_b)
    case.write()


def make_pipeline(t):
    name = "transport_pipeline_chunked"
    case = Case(name, "Keep-alive with pipelining: three requests in one segment (the first with a chunked "
                "body), each with its own token; responses 200 (chunked), 401, 403 matched in order.",
                [TEST_DIR + "/%s.pcap" % name])
    c = P.TcpConn(CLIENT, 50800, SERVER, 80, isn_c=5555, isn_s=6666, mss=9000)
    c.handshake()
    ks = T.keys()
    tok_a = T.jws(T.header("ES256", ks["idp-es256"]), T.idp_claims(t, sub="user-a"), ks["idp-es256"])
    tok_b = T.jws(T.header("EdDSA", ks["idp-ed25519"]), T.idp_claims(t, iat=-7200, lifetime=900, sub="user-b"),
                  ks["idp-ed25519"])
    tok_c = T.jws(T.header("ES384", ks["idp-es384"]), T.idp_claims(t, sub="user-c"), ks["idp-es384"])
    host = "portal.example.com"
    ra = Req(c, tok_a, method="POST", url="/api/orders", host=host, status=200, ua=UA_EDGE,
             body='{"item":"SKU-1234","qty":3,"note":"pipelined request number one, with a chunked body"}',
             chunked=True, extra_headers=[("Connection", "keep-alive")])
    rb = Req(c, tok_b, url="/api/orders/1001", host=host, status=401)
    rc = Req(c, tok_c, url="/api/admin/users", host=host, status=403)
    c.request(ra.raw + rb.raw + rc.raw)
    resp = (P.http_response(200, '{"order":"1001","status":"accepted","items":[{"sku":"SKU-1234","qty":3}]}',
                            chunked=True, chunk_size=30)
            + rb.response_bytes() + rc.response_bytes())
    c.response(resp, mss=170)      # response boundaries fall mid-segment
    c.close()
    cap = P.Capture()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    case.token(ra, {"token.signature": "valid"})
    case.token(rb, {"token.findings": ["token_expired"]})
    case.token(rc, {"token.signature": "valid"})
    case.alert(rb, ["token_expired"])
    case.expect({"event_type": "alert"}, count=1)
    case.expect({"event_type": "token"}, count=3)
    case.write()


def make_bearer_case(t):
    name = "transport_bearer_syntax"
    case = Case(name, "Bearer scheme in odd letter case with extra spaces ('bEaReR    tok'), and a lower-case "
                "header name with tabs ('authorization:\\tBEARER\\ttok'), on one keep-alive connection.",
                [TEST_DIR + "/%s.pcap" % name])
    c = P.TcpConn(CLIENT, 50900, SERVER, 80, isn_c=1, isn_s=2)
    c.handshake()
    tok1 = tok_storm_style(t, sub="bearer-1")
    tok2 = tok_valid_org(t, sub="bearer-2")
    r1 = Req(c, tok1, url=URL, host=OWA, ua=UA_STORM, auth="bEaReR    " + tok1)
    r2 = Req(c, tok2, url="/v1.0/me", host=OWA, ua=UA_EDGE)
    r2.raw = r2.raw.replace(b"Authorization: Bearer " + tok2.encode(), b"authorization:\tBEARER\t" + tok2.encode())
    assert b"authorization:\tBEARER\t" in r2.raw
    c.request(r1.raw)
    c.response(r1.response_bytes())
    c.request(r2.raw)
    c.response(r2.response_bytes())
    c.close()
    cap = P.Capture()
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, case.pcaps[0])
    storm_alert(case, r1)
    case.token(r1)
    case.token(r2, {"token.signature": "valid"})
    case.expect({"event_type": "alert"}, count=1)
    case.write()


def make_dir_case(t):
    name = "transport_pcap_dir"
    d = TEST_DIR + "/pcapdir"
    case = Case(name, "-r with a directory: its files are read in name order (a pcap, then a pcapng); "
                "pcap_filename names the file each record came from.", [d])
    cap = P.Capture()
    c, r1 = simple_conn(storm_req(t, sub="dir-1"), CLIENT, 51001, server=SERVER)
    cap.add_conn(c, P.Link(), t)
    write_capture(cap, d + "/a-first.pcap")
    cap = P.Capture()
    c, r2 = simple_conn(lambda c: Req(c, tok_valid_org(t + 30, sub="dir-2"), host=OWA), CLIENT, 51002,
                        server=SERVER)
    cap.add_conn(c, P.Link(), t + 30)
    write_capture(cap, d + "/b-second.pcapng", "pcapng")
    storm_alert(case, r1, extra={"pcap_filename": d + "/a-first.pcap"})
    case.token(r1, {"pcap_filename": d + "/a-first.pcap"})
    case.token(r2, {"pcap_filename": d + "/b-second.pcapng", "token.signature": "valid"})
    case.expect({"event_type": "alert"}, count=1)
    case.expect({"event_type": "stats", "stats.tokens.seen": 2}, count=1)
    case.write()


def make_damaged(t):
    # Truncated: the file ends in the middle of the last record (the 2nd connection's request).
    name = "transport_truncated"
    path = TEST_DIR + "/%s.pcap" % name
    case = Case(name, "A capture cut mid-record: what precedes the damage is processed, exit 0, and a "
                "warning on stderr names the file.", [path], stderr_contains=[name + ".pcap"])
    cap = P.Capture()
    c, r = simple_conn(storm_req(t, sub="trunc-1"), CLIENT, 51101, server=SERVER)
    cap.add_conn(c, P.Link(), t)
    c2 = P.TcpConn(CLIENT, 51102, SERVER, 80, isn_c=10, isn_s=20)
    c2.handshake()
    r2 = storm_req(t + 5, sub="trunc-2")(c2)
    c2.request(r2.raw, mss=1400)
    c2.segs = c2.segs[:4]               # handshake + first request segment only
    cap.add_conn(c2, P.Link(), t + 5)
    write_capture(cap, path, cut=700)
    storm_alert(case, r)
    case.expect({"event_type": "alert"}, count=1)
    case.expect({"event_type": "stats"}, count=1)
    case.secret(r2.token)
    case.write()

    # A record header that claims an absurd length: a corrupt file, processed up to the damage.
    name = "transport_bad_record"
    path = TEST_DIR + "/%s.pcap" % name
    case = Case(name, "A pcap whose last record header is garbage (caplen 0x7fffff00): processed up to the "
                "damage, exit 0, a warning on stderr names the file.", [path], stderr_contains=[name + ".pcap"])
    cap = P.Capture()
    c, r = simple_conn(storm_req(t + 10, sub="bad-1"), CLIENT, 51103, server=SERVER)
    cap.add_conn(c, P.Link(), t + 10)
    full = os.path.join(ROOT, write_capture(cap, path))
    data = open(full, "rb").read()
    data += struct.pack("<IIII", int(t + 11), 0, 0x7fffff00, 0x7fffff00) + b"\xde\xad\xbe\xef" * 8
    with open(full, "wb") as f:
        f.write(data)
    storm_alert(case, r)
    case.expect({"event_type": "alert"}, count=1)
    case.write()

    # Not a capture at all.
    name = "transport_corrupt"
    path = TEST_DIR + "/%s.pcap" % name
    case = Case(name, "A file that is not a capture (garbage): exit 1 with one line on stderr naming it.",
                [path], exit_code=1, stderr_contains=[name + ".pcap"])
    garbage = b"".join(hashlib.sha256(b"garbage%d" % i).digest() for i in range(64))
    full = os.path.join(ROOT, path)
    with open(full, "wb") as f:
        f.write(b"This is not a pcap file.\n" + garbage)
    case.write()


def make_raw_tokens(t):
    name = "output_raw_tokens"
    case = Case(name, "--set outputs.eve.raw-tokens=yes: token.raw carries the exact token text.",
                [TEST_DIR + "/%s.pcap" % name], args=["--set", "outputs.eve.raw-tokens=yes"], allow_raw=True)
    cap = P.Capture()
    c, r = simple_conn(storm_req(t, sub="raw-1"), CLIENT, 51201, server=SERVER)
    cap.add_conn(c, P.Link(), t)
    c, r2 = simple_conn(lambda c: Req(c, tok_valid_org(t, sub="raw-2"), host=OWA), CLIENT, 51202, server=SERVER)
    cap.add_conn(c, P.Link(), t + 2)
    write_capture(cap, case.pcaps[0])
    storm_alert(case, r, extra={"token.raw": r.token})
    case.token(r, {"token.raw": r.token})
    case.token(r2, {"token.raw": r2.token, "token.signature": "valid"})
    case.write()

