#!/usr/bin/python3
"""check_captures.py — cross-checks the generated captures and case.json files with tshark.

For every tests/e2e/<case>/case.json: decodes its captures with tshark (TCP reassembly on, out of
order too), pairs HTTP requests with responses in order per TCP stream (RFC 9112 §9.3), takes the
Bearer token of each request, and confirms that every alert/token expectation that names a
token.sha256 describes a request tshark sees: same client/server addresses (the innermost IP
header's, through tunnels) and ports, host, url, method, user agent, status (or no response when
the case says http.status is absent), VLANs.
This validates the generator independently of the sensor; it says nothing about verdicts.

Usage: /usr/bin/python3 tests/gen/check_captures.py [case ...]      (exit 1 on any mismatch)
"""
import glob
import hashlib
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Cases where Wireshark's own reassembly policy is not tokenwatch's (include/stream.h: the first
# copy wins). There only the request's presence is checked, not which token text tshark rebuilt.
TSHARK_DIFFERS = {
    "transport_overlap_first_wins": "Wireshark lets a retransmission that starts before an already "
                                    "received segment overwrite it (BSD-like); tokenwatch keeps the first copy",
    "hostile_gap_request_head": "Wireshark's reassembly waits at a hole forever; tokenwatch skips it "
                                "once the peer acknowledges past it",
    "hostile_gap_response_body": "as hostile_gap_request_head",
    "hostile_gap_response_head": "as hostile_gap_request_head",
    "hostile_rst_injection": "Wireshark does not end a stream on RST; tokenwatch ignores an "
                             "out-of-window RST",
}
# Captures whose wrapping Wireshark does not find on its own ("Decode As"): a VXLAN port that
# tokenwatch is configured for, and an MPLS pseudowire (tokenwatch guesses it by the control word).
TSHARK_DECODE_AS = {
    "encap_vxlan_port.pcap": ["-d", "udp.port==8472,vxlan"],
    "encap_mpls_pw.pcap": ["-d", "mpls.label==500,pwethcw"],
}
FIELDS = ["frame.number", "tcp.stream", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport",
          "tcp.dstport", "vlan.id", "ieee8021ad.id", "http.request.method", "http.host",
          "http.request.uri", "http.user_agent", "http.authorization", "http.response.code",
          "frame.protocols"]


def tshark(path):
    cmd = ["tshark", "-r", path, "-o", "tcp.reassemble_out_of_order:TRUE", "-Y", "http", "-T", "json"]
    cmd += TSHARK_DECODE_AS.get(os.path.basename(path), [])
    for f in FIELDS:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True)
    try:
        return [pk["_source"]["layers"] for pk in json.loads(p.stdout or "[]")]
    except ValueError:
        return []


def transactions(path):
    """Requests, each with its stream's matching response status (None if no response)."""
    reqs, resps = {}, {}
    for lay in tshark(path):
        g = lambda k: lay.get(k, [])  # noqa: E731
        stream = g("tcp.stream")[0]
        # Through tunnels the flow is the innermost IP header's: the last ip/ipv6 layer of the
        # frame, whose addresses are the last values of that layer's fields.
        layers = [x for x in (g("frame.protocols") or [""])[0].split(":") if x in ("ip", "ipv6")]
        inner = layers[-1] if layers else ("ip" if g("ip.src") else "ipv6")
        src, dst = g(inner + ".src")[-1], g(inner + ".dst")[-1]
        vlans = [int(v) for v in g("ieee8021ad.id") + g("vlan.id")]
        for i, method in enumerate(g("http.request.method")):
            auth = g("http.authorization")[i] if i < len(g("http.authorization")) else ""
            m = re.match(r"(?i)\s*bearer[ \t]+(\S+)", auth)
            reqs.setdefault(stream, []).append({
                "src_ip": src, "src_port": int(g("tcp.srcport")[0]), "dest_ip": dst,
                "dest_port": int(g("tcp.dstport")[0]), "http.http_method": method,
                "http.hostname": g("http.host")[i], "http.url": g("http.request.uri")[i],
                "http.http_user_agent": g("http.user_agent")[i] if i < len(g("http.user_agent")) else None,
                "vlan": vlans or None, "pcap": path,
                "sha256": hashlib.sha256(m.group(1).encode()).hexdigest() if m else None})
        for code in g("http.response.code"):
            resps.setdefault(stream, []).append(int(code))
    out = []
    for stream, rs in reqs.items():
        codes = resps.get(stream, [])
        for i, r in enumerate(rs):
            r["http.status"] = codes[i] if i < len(codes) else None
            out.append(r)
    return out


def pcap_files(case):
    files = []
    for p in case["pcap"]:
        full = os.path.join(ROOT, p)
        files += sorted(glob.glob(full + "/*")) if os.path.isdir(full) else [full]
    return files


def check_case(d):
    case = json.load(open(os.path.join(d, "case.json")))
    txs = []
    for f in pcap_files(case):
        txs += transactions(f)
    problems = []
    if os.path.basename(d) in TSHARK_DIFFERS:
        if not any(t["sha256"] for t in txs):
            problems.append("tshark sees no Bearer request at all")
        return problems
    for chk in case["checks"]:
        m = chk["match"]
        if m.get("event_type") not in ("alert", "token") or "token.sha256" not in m:
            continue
        want = chk.get("count", chk.get("min_count"))
        # the token's requests; from one client when the case names it (replay_*: one token,
        # several clients, each with its own expectation)
        hits = [t for t in txs if t["sha256"] == m["token.sha256"]
                and all(m.get(k, t[k]) == t[k] for k in ("src_ip", "src_port"))]
        if want == 0:
            continue
        if len(hits) != want:
            problems.append("token %s…: tshark sees %d requests, case expects %d"
                            % (m["token.sha256"][:12], len(hits), want))
            continue
        for t in hits:
            for k in ("src_ip", "src_port", "dest_ip", "dest_port", "http.http_method", "http.hostname",
                      "http.url", "http.http_user_agent", "http.status", "vlan"):
                if k in m and m[k] != t[k]:
                    problems.append("token %s… %s: case %r, tshark %r" % (m["token.sha256"][:12], k, m[k], t[k]))
            if "http.status" in chk.get("absent", []) and t["http.status"] is not None:
                problems.append("token %s…: case says no status, tshark sees %r"
                                % (m["token.sha256"][:12], t["http.status"]))
            if "pcap_filename" in m and os.path.join(ROOT, m["pcap_filename"]) != t["pcap"]:
                problems.append("token %s… pcap_filename %s, tshark file %s" % (m["token.sha256"][:12],
                                                                               m["pcap_filename"], t["pcap"]))
    return problems


def main():
    names = sys.argv[1:] or sorted(os.path.basename(os.path.dirname(p))
                                   for p in glob.glob(os.path.join(ROOT, "tests/e2e/*/case.json")))
    bad = 0
    for n in names:
        if n.startswith("place_"):
            # tokens outside Authorization: Bearer (cookies, query, bodies, gzip'd JSON): this
            # checker reads only Bearer headers
            print("%-34s skipped (token places beyond Authorization)" % n)
            continue
        if n.startswith("h2_"):
            # HTTP/2: make_i12_h2.py reads its own frames back with python3-h2 and an HPACK
            # decoder before writing them; this checker reads HTTP/1 only
            print("%-34s skipped (HTTP/2: read back by h2gen.check)" % n)
            continue
        probs = check_case(os.path.join(ROOT, "tests/e2e", n))
        note = " (token text not compared: %s)" % TSHARK_DIFFERS[n] if n in TSHARK_DIFFERS else ""
        print("%-34s %s%s" % (n, "ok" if not probs else "MISMATCH", note))
        for p in probs:
            print("    " + p)
        bad += bool(probs)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
