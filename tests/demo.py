#!/usr/bin/env python3
"""demo.py — `make demo`: runs tokenwatch over pcaps/demo/ and summarises what it found.

  tests/demo.py --sensor build/tokenwatch --logdir build/demo-logs [--config etc/demo/tokenwatch.yaml]

Prints the number of tokens and alerts, then the alerts grouped by finding (SPEC §4), one line
per alert: client → server, host, method, url, kid, iss, HTTP status; then where eve.json is.
Exits with the sensor's status when it fails. Python >= 3.9, stdlib only.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# SPEC §4, in table order: code -> (signature_id, severity, what it means)
FINDINGS = [
    ("key_revoked", 9100001, 1, "signing key is on the revoked-keys list"),
    ("key_issuer_mismatch", 9100002, 1, "trusted key signing for an issuer outside its scope (Storm-0558)"),
    ("signature_invalid", 9100003, 1, "signature does not verify"),
    ("alg_none", 9100004, 1, "unsigned token (alg none)"),
    ("alg_mismatch", 9100005, 1, "alg does not fit the key or the policy"),
    ("embedded_key", 9100006, 1, "header carries its own key material"),
    ("tenant_mismatch", 9100007, 1, "tid differs from the tenant in iss"),
    ("key_expired", 9100008, 2, "signing key outside its certificate validity"),
    ("key_unknown", 9100009, 2, "trusted issuer, unknown key"),
    ("token_not_yet_valid", 9100010, 2, "token not yet valid"),
    ("lifetime_excessive", 9100011, 2, "token lifetime too long"),
    ("issuer_untrusted", 9100012, 3, "issuer in no key set"),
    ("token_expired", 9100013, 3, "token expired"),
    ("malformed", 9100014, 3, "looks like a JWT but does not parse"),
]


def endpoint(ip, port):
    ip = str(ip if ip is not None else "?")
    return ("[%s]:%s" % (ip, port)) if ":" in ip else ("%s:%s" % (ip, port))


def short(s, n):
    s = "-" if s is None else str(s)
    return s if len(s) <= n else s[:n - 1] + "…"


def alert_line(rec):
    http, tok = rec.get("http") or {}, rec.get("token") or {}
    flow = "%s → %s" % (endpoint(rec.get("src_ip"), rec.get("src_port")),
                        endpoint(rec.get("dest_ip"), rec.get("dest_port")))
    status = http.get("status")
    return "    %s  %s  %s %s  kid=%s  iss=%s  [%s]" % (
        flow, short(http.get("hostname"), 32), http.get("http_method", "-"), short(http.get("url"), 48),
        short(tok.get("kid"), 32), short(tok.get("iss"), 80), status if status is not None else "no response")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--logdir", required=True)
    ap.add_argument("--config", default=os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"))
    a = ap.parse_args()
    logdir = os.path.abspath(a.logdir)
    os.makedirs(logdir, exist_ok=True)
    eve = os.path.join(logdir, "eve.json")
    if os.path.exists(eve):
        os.remove(eve)
    demo = os.path.join(ROOT, "pcaps", "demo")
    cmd = [os.path.abspath(a.sensor), "-c", os.path.abspath(a.config), "-r", demo, "-l", logdir]
    print("$ " + " ".join(cmd), flush=True)
    try:
        proc = subprocess.run(cmd, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        print("demo: could not run the sensor: %s" % e, file=sys.stderr)
        return 1
    if proc.returncode != 0:
        print("demo: the sensor failed (exit %d)" % proc.returncode, file=sys.stderr)
        return proc.returncode if proc.returncode > 0 else 1
    records = []
    try:
        with open(eve, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        print("demo: %s line %d is not JSON" % (eve, n), file=sys.stderr)
                        return 1
    except OSError as e:
        print("demo: no eve.json: %s" % e, file=sys.stderr)
        return 1

    tokens = [r for r in records if r.get("event_type") == "token"]
    alerts = [r for r in records if r.get("event_type") == "alert"]
    distinct = {(r.get("token") or {}).get("sha256") for r in tokens}
    print()
    print("tokenwatch demo: %d token%s seen (%d distinct), %d alert%s"
          % (len(tokens), "" if len(tokens) == 1 else "s", len(distinct), len(alerts),
             "" if len(alerts) == 1 else "s"))
    verdicts = {}
    for r in tokens:
        v = (r.get("token") or {}).get("signature") or (r.get("token") or {}).get("type") or "?"
        verdicts[v] = verdicts.get(v, 0) + 1
    if verdicts:
        print("  signature verdicts: " + ", ".join("%s %d" % kv for kv in sorted(verdicts.items())))

    # Group by the alert's own (most severe) finding, listing all findings of each token.
    by_sid = {}
    for r in alerts:
        by_sid.setdefault((r.get("alert") or {}).get("signature_id"), []).append(r)
    known = {sid for _, sid, _, _ in FINDINGS}
    for code, sid, sev, what in FINDINGS:
        group = by_sid.get(sid)
        if not group:
            continue
        print()
        print("  %s  (sid %d, severity %d): %s — %d alert%s"
              % (code, sid, sev, what, len(group), "" if len(group) == 1 else "s"))
        for r in group:
            print(alert_line(r))
            others = [f for f in (r.get("token") or {}).get("findings", []) if f != code]
            if others:
                print("        also: " + ", ".join(others))
    for sid, group in by_sid.items():
        if sid not in known:
            print("\n  signature_id %s: %d alert(s)" % (sid, len(group)))
            for r in group:
                print(alert_line(r))
    print()
    print("EVE log: " + eve)
    return 0


if __name__ == "__main__":
    sys.exit(main())
