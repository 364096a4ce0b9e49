#!/usr/bin/python3
"""run_bench.py — times tokenwatch against a raw libpcap read of the same capture.

Generates the benchmark capture once (gen_bench.py, cached in --workdir), warms the page cache
with one rawloop run, then alternates rawloop and tokenwatch --runs times each, so both see the
same machine state. Per run: wall time (perf_counter around the child) and the child's peak
RSS (ru_maxrss from os.wait4, KiB on Linux). Prints medians, the ratio tokenwatch/raw, packet
and bit rates, the token/alert counts of the last run's eve.json, and a Markdown table for
tests/bench/README.md.

The h2c twin (unless --no-h2c): gen_bench.py also writes the same requests, tokens and responses
over HTTP/2 with prior knowledge (gen_bench_h2c.py), and each run reads it too (rawloop, then
tokenwatch), interleaved with the HTTP/1.1 runs. Reported: its own row of the table, the ratio of
tokenwatch's CPU time over the twin to that over the HTTP/1.1 capture (medians; goal <= 1.3),
and whether the token records of both last runs are the same multiset of (token sha256,
findings, location, status) (tx ids and the protocol differ by design). A sensor that does not
parse HTTP/2 gives no http2 record: said so plainly.

Then the verification section (tw_bench_verify, built next to the sensor): verifications/s per
JOSE algorithm through the verify layer with and without pre-built contexts, against
`openssl speed` on the same machine in the same run (goal: within 10%), and the verification
cache's hit path in ns per token. --verify-only runs just that section.

A benchmark, not a test: exits 0 whether or not the goals (ratio <= 2.5, RSS < 64 MiB, verify
within 10% of openssl) are met, 1 only when a child fails (then there is nothing to measure).
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOAL_RATIO = 2.5
GOAL_RSS_MIB = 64
GOAL_VERIFY = 0.90  # ours / openssl speed, verifications per second
GOAL_H2C = 1.3      # tokenwatch CPU over the h2c twin / over the HTTP/1.1 capture
OPENSSL_ALGS = ["rsa2048", "ecdsap256", "ecdsap384", "ecdsap521", "ed25519", "ed448"]


def run_timed(cmd, out_path, err_path):
    """Runs cmd with stdout/stderr to files; returns (exit code, wall seconds, CPU seconds
    (user + system), peak RSS KiB)."""
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, rusage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen from waiting
    return proc.returncode, elapsed, rusage.ru_utime + rusage.ru_stime, rusage.ru_maxrss


def tail(path, lines=5):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError:
        return ""


def count_records(eve_path):
    counts, stats = {}, None
    with open(eve_path, "rb") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                counts["<invalid json>"] = counts.get("<invalid json>", 0) + 1
                continue
            kind = rec.get("event_type", "?")
            counts[kind] = counts.get(kind, 0) + 1
            if kind == "stats":
                stats = rec.get("stats")
    return counts, stats


def token_set(eve_path):
    """The token records of an eve.json as a multiset of (sha256, findings, location, status),
    what must not depend on the protocol that carried them (tx ids and http.protocol do), and
    how many records of any kind have app_proto http2."""
    tokens, h2 = {}, 0
    with open(eve_path, "rb") as f:
        for line in f:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            h2 += rec.get("app_proto") == "http2"
            if rec.get("event_type") != "token":
                continue
            tok = rec.get("token", {})
            key = (tok.get("sha256"), tuple(tok.get("findings", [])), tok.get("location"),
                   rec.get("http", {}).get("status"))
            tokens[key] = tokens.get(key, 0) + 1
    return tokens, h2


def compare_twin(eve1, eve2):
    """Prints whether the h2c twin's tokens are the HTTP/1.1 capture's; returns (identical,
    number of http2 records in the twin's eve.json)."""
    t1, _ = token_set(eve1)
    t2, h2 = token_set(eve2)
    n1, n2 = sum(t1.values()), sum(t2.values())
    if not h2:
        print(f"h2c twin     NO HTTP/2 RECORDS in its eve.json ({n2} token records): this sensor "
              f"does not parse HTTP/2; its CPU time is that of passing the bytes by, not of "
              f"parsing them")
    only1 = sum((t1[k] - t2.get(k, 0)) for k in t1 if t1[k] > t2.get(k, 0))
    only2 = sum((t2[k] - t1.get(k, 0)) for k in t2 if t2[k] > t1.get(k, 0))
    same = t1 == t2
    print(f"tokens       HTTP/1.1 {n1} token records, h2c {n2}; (sha256, findings, location, "
          f"status) {'IDENTICAL' if same else 'DIFFERENT'}"
          + ("" if same else f": {only1} only over HTTP/1.1, {only2} only over h2c"))
    return same, h2


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def parse_kv(line):
    """'name k=v k=v' -> (name, {k: v}) with numbers as floats where they parse."""
    parts = line.split()
    out = {}
    for kv in parts[1:]:
        k, _, v = kv.partition("=")
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return (parts[0] if parts else ""), out


def openssl_speed(seconds, algs=OPENSSL_ALGS):
    """Runs `openssl speed` over algs; returns {name: verify/s} (rsa2048, ecdsap256..., ed25519,
    ed448), per CPU-second as openssl measures by default."""
    cmd = ["openssl", "speed", "-seconds", str(max(1, int(round(seconds))))] + list(algs)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if proc.returncode != 0:
        sys.exit(f"run_bench: {' '.join(cmd)} failed (exit {proc.returncode})")
    rates = {}
    curves = {"nistp256": "ecdsap256", "nistp384": "ecdsap384", "nistp521": "ecdsap521",
              "Ed25519": "ed25519", "Ed448": "ed448"}
    for line in proc.stdout.splitlines():
        # rsa 2048 bits 0.000374s 0.000022s   2674.0  45281.0
        m = re.match(r"^\s*rsa\s+(\d+)\s+bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)\s*$", line)
        if m:
            rates[f"rsa{m.group(1)}"] = float(m.group(3))
            continue
        #  256 bits ecdsa (nistp256)   0.0000s   0.0001s  31396.9  10172.6
        #  253 bits EdDSA (Ed25519)   0.0000s   0.0001s  20775.0   8269.2
        m = re.match(r"^\s*\d+\s+bits\s+(?:ecdsa|EdDSA)\s+\((\w+)\)\s+\S+\s+\S+\s+"
                     r"([\d.]+)\s+([\d.]+)\s*$", line)
        if m and m.group(1) in curves:
            rates[curves[m.group(1)]] = float(m.group(3))
    missing = [a for a in algs if a not in rates]
    if missing:
        sys.exit(f"run_bench: no verify/s for {', '.join(missing)} in openssl speed's output")
    return rates


VERIFY_ALGS = [("RS256", "rsa2048"), ("PS256", "rsa2048"), ("ES256", "ecdsap256"),
               ("ES384", "ecdsap384"), ("ES512", "ecdsap521"), ("EdDSA", "ed25519"),
               ("Ed448", "ed448")]


def verify_section(args):
    """Per round and algorithm, tw_bench_verify then `openssl speed` for the same algorithm back
    to back (so both see the same machine state); --verify-rounds rounds, medians reported."""
    bench = args.verify_bench or os.path.join(os.path.dirname(os.path.abspath(args.sensor)),
                                              "tw_bench_verify")
    if not os.access(bench, os.X_OK):
        print(f"\nverify       skipped: {bench} is not an executable "
              "(build target tw_bench_verify)")
        return
    if not shutil.which("openssl"):
        print("\nverify       skipped: no openssl command to compare with")
        return

    def ours_run(alg):
        proc = subprocess.run([bench, "--seconds", str(args.verify_seconds), "--alg", alg],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            sys.exit(f"run_bench: {bench} failed (exit {proc.returncode}): {proc.stderr.strip()}")
        return [parse_kv(line) for line in proc.stdout.splitlines()]

    ours, theirs, vc = {}, {}, None
    for r in range(args.verify_rounds):
        print(f"run_bench: verification round {r + 1}/{args.verify_rounds}", flush=True)
        for alg, ossl in VERIFY_ALGS:
            for name, kv in ours_run(alg):
                if name == "verify":
                    runs = ours.setdefault(kv["alg"], {"openssl": kv["openssl"], "msg": kv["msg"],
                                                       "tiny_msg": kv["tiny_msg"], "pairs": []})
                    for k in ("ctx", "noctx", "tiny_ctx", "raw"):
                        runs.setdefault(k, []).append(kv[k])
                    # interleaved in one process: this ratio barely feels the machine's load
                    runs["pairs"].append(kv["ctx"] / kv["raw"] if kv["raw"] else float("nan"))
            theirs.setdefault(ossl, []).append(openssl_speed(args.verify_seconds, [ossl])[ossl])
        for name, kv in ours_run("vcache"):
            if name == "vcache_hit":
                vc = vc or {"tokens": kv["tokens"], "token_len": kv["token_len"], "ns": [],
                            "hash": []}
                vc["ns"].append(kv["ns_per_token"])
                vc["hash"].append(kv["hash_ns"])

    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print()
    med = statistics.median
    print(f"verification per CPU-second, medians of {args.verify_rounds} rounds, {cpu_model()}, "
          f"load average {load:.2f} on {os.cpu_count()} CPUs")
    msg = int(next(iter(ours.values()))["msg"]) if ours else 0
    tiny = int(next(iter(ours.values()))["tiny_msg"]) if ours else 0
    print("  openssl speed: `openssl speed -seconds N ALG`, its verify/s (min-max over rounds); "
          "bare loop: the same EVP calls in our process, interleaved with ours")
    print(f"  contexts: verify_jws_ctx (the sensor's path), {msg} B JWS signing input; without: "
          f"verify_jws; tiny: {tiny} B input, contexts")
    print(f"| alg | openssl speed | bare loop | contexts | / openssl | / bare "
          f"| without contexts | / openssl | tiny, contexts | / openssl "
          f"| goal ≥ {GOAL_VERIFY:.0%} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for alg, kv in ours.items():
        runs = theirs.get(kv["openssl"], [])
        ref = med(runs) if runs else 0.0
        q = (lambda x: x / ref if ref else float("nan"))
        name = "EdDSA (Ed25519)" if alg == "EdDSA" else alg
        ctx = med(kv["ctx"])
        print(f"| {name} | {kv['openssl']} {ref:,.0f} ({min(runs):,.0f}-{max(runs):,.0f}) "
              f"| {med(kv['raw']):,.0f} | {ctx:,.0f} | {q(ctx):.2f} | {med(kv['pairs']):.2f} "
              f"| {med(kv['noctx']):,.0f} | {q(med(kv['noctx'])):.2f} "
              f"| {med(kv['tiny_ctx']):,.0f} | {q(med(kv['tiny_ctx'])):.2f} "
              f"| {'met' if q(ctx) >= GOAL_VERIFY else 'NOT met'} |")
    if vc:
        print(f"cache hit    {med(vc['ns']):.0f} ns per token ({int(vc['tokens'])} cached tokens "
              f"of {int(vc['token_len'])} bytes, looked up in shuffled order; of which the keyed "
              f"hash SipHash-1-3 alone: {med(vc['hash']):.0f} ns)")

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sensor", required=True, help="tokenwatch binary")
    ap.add_argument("--rawloop", required=True, help="rawloop binary (the baseline)")
    ap.add_argument("--workdir", required=True, help="capture cache and run logs")
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--config", default=os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml"))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VAL",
                    help="passed to tokenwatch as --set (repeatable)")
    ap.add_argument("--key", help="gen_bench.py --key (default: the committed demo key)")
    ap.add_argument("--kid", help="gen_bench.py --kid")
    ap.add_argument("--jwks", help="gen_bench.py --jwks")
    ap.add_argument("--verify-bench", help="tw_bench_verify binary (default: next to --sensor)")
    ap.add_argument("--verify-rounds", type=int, default=3,
                    help="alternating rounds of tw_bench_verify and openssl speed (medians)")
    ap.add_argument("--verify-seconds", type=float, default=1.0,
                    help="seconds per measurement in the verification section")
    ap.add_argument("--verify-only", action="store_true",
                    help="run only the verification section")
    ap.add_argument("--no-verify", action="store_true", help="skip the verification section")
    ap.add_argument("--no-h2c", action="store_true",
                    help="skip the h2c twin (the same traffic over HTTP/2, gen_bench_h2c.py)")
    args = ap.parse_args()
    if args.verify_only:
        verify_section(args)
        return 0

    for binary in (args.sensor, args.rawloop):
        if not os.access(binary, os.X_OK):
            sys.exit(f"run_bench: {binary} is not an executable")
    os.makedirs(args.workdir, exist_ok=True)
    pcap = os.path.join(args.workdir, f"bench-{args.size_mb}mb.pcap")
    twin = None if args.no_h2c else os.path.join(args.workdir, f"bench-{args.size_mb}mb-h2c.pcap")
    gen = [sys.executable, os.path.join(HERE, "gen_bench.py"), "--out", pcap,
           "--size-mb", str(args.size_mb)] + (["--h2c-out", twin] if twin else [])
    for opt in ("key", "kid", "jwks"):
        if getattr(args, opt):
            gen += [f"--{opt}", getattr(args, opt)]
    if subprocess.call(gen) != 0:
        sys.exit("run_bench: capture generation failed")
    with open(pcap + ".meta") as f:
        meta = json.load(f)
    twin_meta = None
    if twin:
        with open(twin + ".meta") as f:
            twin_meta = json.load(f)

    logs = os.path.join(args.workdir, "logs")
    os.makedirs(logs, exist_ok=True)
    raw_out, raw_err = os.path.join(logs, "rawloop.out"), os.path.join(logs, "rawloop.err")
    eve_dir = os.path.join(args.workdir, "eve")
    twin_eve = os.path.join(args.workdir, "eve-h2c")
    sets = []
    for kv in args.set:
        sets += ["--set", kv]

    def rawloop(path=pcap):
        rc, secs, cpu, rss = run_timed([args.rawloop, path], raw_out, raw_err)
        with open(raw_out) as f:
            m = re.search(r"packets (\d+) bytes (\d+)", f.read())
        if rc != 0 or not m:
            sys.exit(f"run_bench: rawloop failed (exit {rc}): {tail(raw_err)}")
        return secs, cpu, rss, int(m.group(1)), int(m.group(2))

    def tokenwatch(i, path=pcap, out=eve_dir, tag=""):
        shutil.rmtree(out, ignore_errors=True)  # each run writes a fresh eve.json
        os.makedirs(out)
        tw_cmd = [args.sensor, "-c", args.config, "-r", path, "-l", out, "-j", "1"] + sets
        err = os.path.join(logs, f"tokenwatch{tag}-{i}.err")
        rc, secs, cpu, rss = run_timed(tw_cmd, os.path.join(logs, f"tokenwatch{tag}-{i}.out"), err)
        if rc != 0:
            sys.exit(f"run_bench: tokenwatch failed (exit {rc}): {' '.join(tw_cmd)}\n{tail(err)}")
        return secs, cpu, rss

    print(f"run_bench: warming the page cache ({meta['bytes'] / 1e6:.0f} MB)", flush=True)
    rawloop()
    raw_times, tw_times, raw_cpu, tw_cpu, raw_rss, tw_rss = [], [], [], [], [], []
    packets = nbytes = h2_pkts = h2_bytes = 0
    h2_runs = ([], [], [], [], [])   # h2c twin: raw wall, raw CPU, tokenwatch wall, CPU, RSS
    for i in range(args.runs):
        secs, cpu, rss, packets, nbytes = rawloop()
        raw_times.append(secs)
        raw_cpu.append(cpu)
        raw_rss.append(rss)
        secs, cpu, rss = tokenwatch(i)
        tw_times.append(secs)
        tw_cpu.append(cpu)
        tw_rss.append(rss)
        print(f"  run {i + 1}/{args.runs}: rawloop {raw_times[-1]:.3f} s (CPU {raw_cpu[-1]:.3f} s), "
              f"tokenwatch {secs:.3f} s (CPU {cpu:.3f} s), RSS {rss / 1024:.1f} MiB", flush=True)
        if twin:
            t_raw = rawloop(twin)
            t_tw = tokenwatch(i, twin, twin_eve, "-h2c")
            for lst, v in zip(h2_runs, (t_raw[0], t_raw[1], t_tw[0], t_tw[1], t_tw[2])):
                lst.append(v)
            h2_pkts, h2_bytes = t_raw[3], t_raw[4]
            print(f"           h2c twin: rawloop {t_raw[0]:.3f} s (CPU {t_raw[1]:.3f} s), tokenwatch "
                  f"{t_tw[0]:.3f} s (CPU {t_tw[1]:.3f} s), RSS {t_tw[2] / 1024:.1f} MiB", flush=True)

    raw_med, tw_med = statistics.median(raw_times), statistics.median(tw_times)
    ratio = tw_med / raw_med if raw_med > 0 else float("inf")
    raw_cpu_med, tw_cpu_med = statistics.median(raw_cpu), statistics.median(tw_cpu)
    cpu_ratio = tw_cpu_med / raw_cpu_med if raw_cpu_med > 0 else float("inf")
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    peak_mib = max(tw_rss) / 1024
    counts, stats = count_records(os.path.join(eve_dir, "eve.json"))
    tokens, alerts = counts.get("token", 0), counts.get("alert", 0)

    print()
    print(f"capture      {pcap}")
    print(f"             {packets} packets, {nbytes} bytes, {meta['connections']} connections, "
          f"{meta['requests']} requests, {meta['tokens_distinct']} distinct tokens")
    print(f"machine      {cpu_model()}, {os.cpu_count()} CPUs, Linux {platform.release()}")
    print(f"raw loop     median {raw_med:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in raw_times)})"
          f"  peak RSS {max(raw_rss) / 1024:.1f} MiB")
    print(f"tokenwatch   median {tw_med:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in tw_times)})")
    print(f"ratio        {ratio:.2f}  (goal <= {GOAL_RATIO}: {'met' if ratio <= GOAL_RATIO else 'NOT met'})")
    print(f"CPU time     raw loop {raw_cpu_med:.3f} s, tokenwatch {tw_cpu_med:.3f} s (user+sys "
          f"medians), ratio {cpu_ratio:.2f}; load average {load:.2f} on {os.cpu_count()} CPUs"
          f"{'  (busy machine: wall times are noisy, compare with the CPU ratio)' if load > (os.cpu_count() or 1) * 0.75 else ''}")
    print(f"throughput   {packets / tw_med:,.0f} packets/s, {nbytes * 8 / tw_med / 1e9:.2f} Gbit/s")
    print(f"peak RSS     {peak_mib:.1f} MiB  (goal < {GOAL_RSS_MIB} MiB: "
          f"{'met' if peak_mib < GOAL_RSS_MIB else 'NOT met'})")
    print(f"eve.json     {tokens} token records (requests: {meta['requests']}"
          f"{', equal' if tokens == meta['requests'] else ', DIFFERENT'}), {alerts} alert records"
          f"{' (expected 0)' if alerts else ''}; all: "
          + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    if stats:
        dec, tok = stats.get("decoder", {}), stats.get("tokens", {})
        print(f"stats        decoder.pkts {dec.get('pkts')}, tokens.seen {tok.get('seen')}, "
              f"tokens.distinct {tok.get('distinct')}, tokens.verified {tok.get('verified')}, "
              f"tokens.cache_hits {tok.get('cache_hits')}")
    else:
        print("stats        no stats record in eve.json")

    print()
    print("| capture | packets | raw libpcap read | tokenwatch | ratio | CPU ratio | packets/s "
          "| Gbit/s | peak RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {nbytes / 1e6:.0f} MB, {meta['connections']} conns, {meta['requests']} req "
          f"| {packets:,} | {raw_med:.2f} s | {tw_med:.2f} s | {ratio:.2f} | {cpu_ratio:.2f} "
          f"| {packets / tw_med:,.0f} | {nbytes * 8 / tw_med / 1e9:.2f} | {peak_mib:.1f} MiB |")
    if twin:
        med = statistics.median
        t_raw, t_raw_cpu, t_tw, t_cpu = (med(x) for x in h2_runs[:4])
        t_peak = max(h2_runs[4]) / 1024
        vs = t_cpu / tw_cpu_med if tw_cpu_med > 0 else float("inf")
        print(f"| {h2_bytes / 1e6:.0f} MB h2c twin, {twin_meta['connections']} conns, "
              f"{twin_meta['requests']} req | {h2_pkts:,} | {t_raw:.2f} s | {t_tw:.2f} s "
              f"| {t_tw / t_raw:.2f} | {t_cpu / t_raw_cpu:.2f} | {h2_pkts / t_tw:,.0f} "
              f"| {h2_bytes * 8 / t_tw / 1e9:.2f} | {t_peak:.1f} MiB |")
        print()
        print(f"h2c twin     {twin}")
        print(f"             {h2_pkts} packets, {h2_bytes} bytes, {twin_meta['connections']} "
              f"connections, {twin_meta['requests']} requests in {twin_meta['batches']} batches of "
              f"concurrent streams")
        same, h2 = compare_twin(os.path.join(eve_dir, "eve.json"), os.path.join(twin_eve, "eve.json"))
        verdict = ("not judged: no HTTP/2 was parsed" if not h2 else
                   "met" if vs <= GOAL_H2C else "NOT met")
        print(f"CPU h2c/1.1  tokenwatch CPU {t_cpu:.3f} s over h2c, {tw_cpu_med:.3f} s over "
              f"HTTP/1.1 (medians, interleaved runs): ratio {vs:.2f} (goal <= {GOAL_H2C}: "
              f"{verdict})")
    print()
    print(f"Median of {args.runs} runs each, alternating, page cache warm; {cpu_model()}, "
          f"{time.strftime('%Y-%m-%d')}.")
    if not args.no_verify:
        verify_section(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
