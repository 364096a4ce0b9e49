#!/usr/bin/python3
"""make_replay.py — token_replay (issue 5; sid 9100015, severity 2) end to end: one token
presented from more than policy.replay.clients (default 3) distinct client addresses within
policy.replay.window seconds (default 600) of packet time.

  replay_four_clients  one valid token from 4 client addresses within a minute (one of them
                       IPv6): the first 3 occurrences are plain token records, the 4th is an
                       alert with token.findings ["token_replay"]; a 5th client 700 s later is
                       alone in its window again (no finding)
  replay_off           the same capture with --set policy.replay.clients=0: no alert, no checks
  replay_one_client    the same token from ONE client address many times (keep-alive requests
                       and new connections from other source ports): never an alert
  replay_expired       an expired token from 4 client addresses: the first 3 alert token_expired
                       (sid 9100013, severity 3), the 4th ["token_replay", "token_expired"] (SPEC
                       §4 order: token_replay is more severe) and its alert is sid 9100015

Captures: pcaps/tests/replay_*.pcap. Called by make_captures.main(); run alone from the project
root: /usr/bin/python3 tests/gen/make_replay.py
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pcapgen as P  # noqa: E402
import tokens as T  # noqa: E402
from make_captures import TEST_DIR, Case, tok_valid_org, write_capture  # noqa: E402
from make_places import T_BASE, Tx, new_conn, request, response  # noqa: E402

SID, SEVERITY = 9100015, 2
SIGNATURE = "TOKENWATCH token replayed from several client addresses"   # sensor/trust/policy.c
HOST, URL = "graph.example.com", "/v1.0/me/messages?$top=10"
BODY = ('{"@odata.context":"https://graph.example.com/v1.0/$metadata#users(\'me\')/messages",'
        '"value":[]}')

PCAP_FOUR = TEST_DIR + "/replay_four_clients.pcap"
PCAP_ONE = TEST_DIR + "/replay_one_client.pcap"
PCAP_EXPIRED = TEST_DIR + "/replay_expired.pcap"

# (client, client port, server, start offset in seconds from t)
FOUR = [("10.70.1.11", 52011, "203.0.113.10", 0.0),
        ("2001:db8:70::12", 52012, "2001:db8:113::10", 12.0),
        ("10.70.1.13", 52013, "203.0.113.10", 25.0),
        ("10.70.1.14", 52014, "203.0.113.10", 41.0),    # the 4th within a minute: replay
        ("10.70.1.15", 52015, "203.0.113.10", 741.0)]   # 700 s after the 4th: window passed


def api_tx(conn, tok, t):
    return Tx(conn, "GET", URL, HOST,
              request("GET", URL, HOST, [("Authorization", "Bearer " + tok),
                                         ("Accept", "application/json")]),
              response(t, 200, BODY), 200)


def one_conn(client, cport, server, tok, t, n=1):
    """A connection carrying n keep-alive requests with the token; returns (conn, [tx...])."""
    c = new_conn(client, cport, server)
    txs = [api_tx(c, tok, t) for _ in range(n)]
    for tx in txs:
        c.request(tx.raw)
        c.response(tx.resp)
    c.close()
    return c, txs


def write(relpath, conns_at):
    cap = P.Capture()
    for c, start in conns_at:
        cap.add_conn(c, P.Link(), start)
    write_capture(cap, relpath)


def token_match(tx, tok, findings):
    m = {"token.sha256": T.sha256_hex(tok), "token.location": "authorization",
         "token.findings": findings, "token.signature": "valid", "token.accepted": True}
    m.update(tx.flow_match())
    m.update(tx.http_match())
    return m


def stats(case, tokens, alerts, checks, replays=None):
    replays = alerts if replays is None else replays
    case.expect({"event_type": "token"}, count=tokens)
    case.expect({"event_type": "alert"}, count=alerts)
    case.expect({"event_type": "stats", "stats.tokens.seen": tokens,
                 "stats.tokens.replay_checks": checks, "stats.tokens.replay_evictions": 0,
                 "stats.alerts.total": alerts, "stats.alerts.token_replay": replays}, count=1)


def alert(case, tx, tok, findings, sid, severity, signature):
    case.expect(dict(token_match(tx, tok, findings), **{
        "event_type": "alert", "alert.signature_id": sid, "alert.severity": severity,
        "alert.signature": signature}), count=1)


def make_all():
    t = T_BASE + 40 * 60
    tok = tok_valid_org(t, sub="AAAAAAAAAAAAAAAAAAAAAJ5cZqE1mReplayCase01",
                        upn="replay@contoso.example")

    conns = [one_conn(cl, cp, sv, tok, t) + (t + off,) for cl, cp, sv, off in FOUR]
    write(PCAP_FOUR, [(c, start) for c, _, start in conns])
    txs = [txl[0] for _, txl, _ in conns]

    on = Case("replay_four_clients", "One valid token presented from 4 client addresses (one IPv6) "
              "within a minute: with policy.replay.clients 3 the 4th occurrence is a token_replay "
              "alert (sid 9100015, severity 2), the first 3 are plain token records; a 5th client "
              "700 s later is alone in its 600 s window (no finding).", [PCAP_FOUR])
    for i, tx in enumerate(txs):
        findings = ["token_replay"] if i == 3 else []
        on.expect(dict(token_match(tx, tok, findings), event_type="token"), count=1)
        if findings:
            alert(on, tx, tok, findings, SID, SEVERITY, SIGNATURE)
    stats(on, 5, 1, 5)
    on.secret(tok)
    on.write()

    off = Case("replay_off", "The replay_four_clients capture with policy.replay.clients=0: the "
               "check is off, no occurrence gets token_replay and nothing is checked.", [PCAP_FOUR],
               args=["--set", "policy.replay.clients=0"])
    for tx in txs:
        off.expect(dict(token_match(tx, tok, []), event_type="token"), count=1)
    stats(off, 5, 0, 0)
    off.secret(tok)
    off.write()

    # One client address: 4 keep-alive requests, then 4 more connections (new source ports).
    one = [one_conn("10.70.2.21", 52101, "203.0.113.10", tok, t, n=4) + (t,)]
    one += [one_conn("10.70.2.21", 52102 + i, "203.0.113.10", tok, t) + (t + 5.0 * (i + 1),)
            for i in range(4)]
    write(PCAP_ONE, [(c, start) for c, _, start in one])
    case = Case("replay_one_client", "The same valid token from ONE client address 8 times (keep-"
                "alive requests and new connections from other source ports) within a minute: one "
                "client is never a replay, so no alert.", [PCAP_ONE])
    for _, txl, _ in one:
        case.expect(dict(token_match(txl[0], tok, []), event_type="token"), count=len(txl))
    stats(case, 8, 0, 8)
    case.secret(tok)
    case.write()

    # An expired token (exp an hour before packet time) from 4 clients.
    exp = tok_valid_org(t, iat=-7200, lifetime=3600,
                        sub="AAAAAAAAAAAAAAAAAAAAAJ5cZqE1mReplayCase02")
    ex = [one_conn(cl, cp + 100, sv, exp, t) + (t + off,) for cl, cp, sv, off in FOUR[:4]]
    write(PCAP_EXPIRED, [(c, start) for c, _, start in ex])
    case = Case("replay_expired", "An expired token from 4 client addresses within a minute: the "
                "first 3 occurrences alert token_expired (sid 9100013, severity 3); the 4th has "
                "findings [token_replay, token_expired] in SPEC §4 order and its alert is the more "
                "severe token_replay (sid 9100015, severity 2).", [PCAP_EXPIRED])
    for i, (_, txl, _) in enumerate(ex):
        findings = ["token_replay", "token_expired"] if i == 3 else ["token_expired"]
        case.expect(dict(token_match(txl[0], exp, findings), event_type="token"), count=1)
        if i == 3:
            alert(case, txl[0], exp, findings, SID, SEVERITY, SIGNATURE)
        else:
            alert(case, txl[0], exp, findings, 9100013, 3, "TOKENWATCH expired token presented")
    stats(case, 4, 4, 4, replays=1)
    case.secret(exp)
    case.write()


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    make_all()
