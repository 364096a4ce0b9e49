#!/usr/bin/python3
"""make_frag.py — the e2e cases about IP fragments (sensor/flow/defrag.c): an HTTP request whose one
TCP segment travels as IPv4 fragments in order, reversed and shuffled, with an overlapping
fragment carrying different bytes (the first copy wins), as IPv6 fragments reversed, with its
last fragment lost (no token, no crash), and after a flood of thousands of incomplete datagrams
under a small memcap (the request still alerts). Each request carries a Storm-pattern token
(key_issuer_mismatch), so an alert proves the reassembled datagram went the whole way.

Writes pcaps/tests/frag_*.pcap and tests/e2e/frag_*/case.json. The stats expectations name the
counters of struct defrag_stats (include/defrag.h): Suricata's per IP version under
"stats.defrag.ipv4"/"ipv6", ours under "stats.tokenwatch.defrag". Deterministic.
Run: /usr/bin/python3 tests/gen/make_frag.py (make_captures.py clears pcaps/tests first, so run
this after it, or from it).
"""
import hashlib
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapgen as P          # noqa: E402
import tokens as T           # noqa: E402

FRAG = 376                   # payload bytes per fragment (a multiple of 8): 4 fragments a request
C6, S6 = "fd12:3456:789a:1bcd:1234:5678:9abc:def1", "fd12:3456:789a:1bcd:abcd:ef12:3456:789a"


def mc():
    import make_captures     # the one instance make_transport shares
    return make_captures


def request_conn(t, cport, client, server):
    """Handshake, one request in one TCP segment, response, FIN. Returns conn, Req, the segment."""
    from make_transport import storm_req
    c = P.TcpConn(client, cport, server, 80, isn_c=cport * 7919, isn_s=cport * 104729, mss=9000)
    c.handshake()
    r = storm_req(t, sub="frag-%d" % cport)(c)
    segs = c.request(r.raw)
    assert len(segs) == 1
    c.response(r.response_bytes())
    c.close()
    return c, r, segs[0]


def stats(fragments, reassembled=1, overlaps=0, overlap_diff=0, invalid=0, v6=False):
    ip = "stats.defrag.ipv6." if v6 else "stats.defrag.ipv4."
    return {"event_type": "stats", ip + "fragments": fragments,
            ip + "reassembled": reassembled, "stats.tokenwatch.defrag.overlaps": overlaps,
            "stats.tokenwatch.defrag.overlap_diff": overlap_diff,
            "stats.tokenwatch.defrag.invalid": invalid}


def frag_case(name, description, t, cport, arrange, v6=False, args=(), before=None):
    """The request segment's IP packet becomes arrange(fragments, ip_packet, req); before(cap)
    may add frames ahead of the connection. Returns case, req and how many fragments were sent."""
    M = mc()
    from make_transport import CLIENT, SERVER
    case = M.Case(name, description, [M.TEST_DIR + "/%s.pcap" % name], args=args)
    c, r, seg = request_conn(t, cport, C6 if v6 else CLIENT, S6 if v6 else SERVER)
    sent = []

    def l3_map(s, l3):
        if s is not seg:
            return [l3]
        frs = P.ipv6_fragments(l3, FRAG, 0x5eed0000 + cport) if v6 else P.ipv4_fragments(l3, FRAG)
        assert len(frs) >= 4
        sent.extend(arrange(frs, l3, r))
        return sent

    cap = P.Capture()
    if before:
        before(cap)
    cap.add_conn(c, P.Link(), t + 1, l3_map=l3_map)
    M.write_capture(cap, case.pcaps[0])
    return case, r, len(sent)


def alert_expectations(case, r, n, **kw):
    M = mc()
    M.storm_alert(case, r)
    case.token(r, {"token.findings": ["key_issuer_mismatch"]})
    case.expect({"event_type": "alert"}, count=1)
    case.expect({"event_type": "token"}, count=1)
    case.expect(stats(n, **kw), count=1)


def make_order_cases(t):
    for i, (name, desc, order) in enumerate([
            ("frag_ipv4_in_order", "An HTTP request's TCP segment as 4 IPv4 fragments in order.", None),
            ("frag_ipv4_reverse", "An HTTP request's TCP segment as 4 IPv4 fragments, last first.", "reverse"),
            ("frag_ipv4_shuffled", "An HTTP request's TCP segment as 4 IPv4 fragments in shuffled order "
             "(the first fragment, with the TCP header, arrives third).", "shuffle")]):
        def arrange(frs, l3, r, order=order):
            if order == "reverse":
                return frs[::-1]
            if order == "shuffle":
                return [frs[1], frs[3], frs[0], frs[2]] + frs[4:]
            return frs
        case, r, n = frag_case(name, desc, t, 40100 + i, arrange)
        alert_expectations(case, r, n)
        case.write()
        t += 60

    case, r, n = frag_case("frag_ipv6_reverse", "An HTTP request's TCP segment as 4 IPv6 fragments "
                           "(Fragment header, RFC 8200 §4.5), last first.", t, 40200,
                           lambda frs, l3, r: frs[::-1], v6=True)
    alert_expectations(case, r, n, v6=True)
    case.write()


def make_overlap_case(t):
    """After the fragment holding the end of the token, a second copy of 64 of its bytes with
    different base64url text: the first copy wins, so the token reported is the genuine one."""
    forged = {}

    def arrange(frs, l3, r):
        tok = r.token.encode()
        start = l3.index(tok) - 20                     # offsets in the IPv4 payload
        a = (start + len(tok) - 120) // 8 * 8          # inside the signature part
        k = a // FRAG
        if a + 64 > (k + 1) * FRAG:
            a = k * FRAG + 8
        assert start < a and a + 64 <= start + len(tok) and a + 64 <= (k + 1) * FRAG
        orig = l3[20 + a:20 + a + 64]
        fake = bytes(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"[(c + 7) % 64]
                     for c in orig)
        assert all(x != y for x, y in zip(orig, fake))
        b = bytearray(tok)
        b[a - start:a - start + 64] = fake
        forged["token"] = b.decode()
        return frs[:k + 1] + [P.ipv4_fragment(l3, a, fake, True)] + frs[k + 1:]

    name = "frag_ipv4_overlap"
    case, r, n = frag_case(name, "IPv4 fragments of a request, plus a later fragment overlapping 64 bytes of "
                           "the token already received with DIFFERENT bytes: the first copy wins (an "
                           "anomaly counted in stats.tokenwatch.defrag.overlap_diff), so the genuine "
                           "token is reported and the forged one never.", t, 40300, arrange)
    alert_expectations(case, r, n, overlaps=1, overlap_diff=1)
    tok_b = forged["token"]
    assert tok_b != r.token and len(tok_b) == len(r.token)
    case.expect({"event_type": "token", "token.sha256": T.sha256_hex(tok_b)}, count=0)
    case.expect({"event_type": "alert", "token.sha256": T.sha256_hex(tok_b)}, count=0)
    case.secret(r.token, tok_b)
    case.write()


def make_missing_last(t):
    name = "frag_missing_last"
    case, r, n = frag_case(name, "The request's last IPv4 fragment never arrives: nothing is reassembled, "
                           "no token record, no crash; the rest of the connection goes on.", t, 40400,
                           lambda frs, l3, r: frs[:-1])
    case.expect({"event_type": "token"}, count=0)
    case.expect({"event_type": "alert"}, count=0)
    case.expect(stats(n, reassembled=0), count=1)
    case.secret(r.token)
    case.write()


def make_flood(t, n_flood=2000):
    """n_flood first fragments of datagrams that never complete (spoofed sources, random ids),
    each small, then the request fragmented: at a 64 KiB defrag memcap the flood fills the table
    many times over; evicting the oldest lets the request through."""
    from make_transport import SERVER
    rnd = random.Random(3)
    ids = rnd.sample(range(65536), n_flood)

    def flood(cap):
        link = P.Link()
        for i, ident in enumerate(ids):
            src = "198.18.%d.%d" % (i % 16, 1 + rnd.randrange(250))
            body = hashlib.sha256(b"flood%d" % i).digest()[:24]
            pkt = P.ipv4_packet(src, SERVER, 6, body, ident=ident)
            cap.add_frame(t + i * 0.0002, link.wrap(P.ipv4_fragment(pkt, 0, body[:16], True), False, True))

    name = "frag_flood"
    case, r, n = frag_case(name, "A flood of %d incomplete IPv4 datagrams (first fragment only, random ids, "
                           "spoofed sources) under engine.defrag-memcap=65536, then a fragmented request: "
                           "the oldest datagrams are evicted and the request still alerts." % n_flood,
                           t, 40500, lambda frs, l3, r: frs, args=["--set", "engine.defrag-memcap=65536"],
                           before=flood)
    alert_expectations(case, r, n + n_flood)
    case.write()


def make_all():
    t = P.T0 + 14400
    make_order_cases(t)
    make_overlap_case(t + 300)
    make_missing_last(t + 360)
    make_flood(t + 420)


if __name__ == "__main__":
    import make_captures
    make_all()
    for p, n in make_captures.WRITTEN:
        print("%7d  %s" % (n, p))
