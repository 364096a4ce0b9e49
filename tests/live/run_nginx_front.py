#!/usr/bin/env python3
"""run_nginx_front.py — the deployment tokenwatch is made for, live (ctest `live_nginx_front`;
root): nginx terminates TLS and talks to its backends in clear, HTTP/1.1 (proxy_pass) and h2c
(grpc_pass), and the sensor listens on the backend side of that link.

Topology, all of it the test's own and removed at the end (also on failure):

   namespace FRONT                                      namespace BACK
   curl, grpcio client                                  HTTP/1.1 server  10.77.0.2:8080
     | TLS (h2 or HTTP/1.1), 127.0.0.1:8443             gRPC server      10.77.0.2:50051
   nginx  10.77.0.1 (twf0) ========== veth ========== (twb0) 10.77.0.2
          ^ tokenwatch -i twf0

The client side (loopback, TLS) is invisible to the sensor: it sees only nginx's cleartext
requests to the backends, as a tap behind a TLS-terminating proxy does. Both namespaces are
fresh, so the addresses, ports and interface names collide with nothing (live_capture can run
beside it).

  HTTP/1.1 half   curl --http1.1 and curl --http2 (nginx still speaks HTTP/1.1 upstream, with
                  keep-alive) send a valid token (answered 200) and a forged one (the Storm-0558
                  pattern, answered 401) each. Expected per request, from the backend's own log
                  (its peer port and the order of requests on that connection): exactly one token
                  record, one alert for the forged token (findings [key_issuer_mismatch]) and
                  none for the valid one (findings []), app_proto "http", http.protocol
                  "HTTP/1.1", http.status and token.accepted as the backend answered, src_port
                  and tx_id as the backend saw them; one http record per request.
  gRPC/h2c half   a grpcio client calls through nginx (TLS, h2) with three tokens as call
                  credentials; nginx's grpc_pass carries them to the gRPC server over h2c
                  (upstream keep-alive: several streams on one connection). The server answers
                  OK, UNAUTHENTICATED (16, the forged token) and PERMISSION_DENIED (7, a valid
                  token without the scope). Expected per call, from the gRPC server's log: one
                  token record (and one alert for the forged token), app_proto "http2",
                  http.protocol "HTTP/2", http.http2.stream_id = the call's stream on its
                  connection (odd, in call order: nginx's upstream streams are 1, 3, 5, ...),
                  tx_id distinct and in stream order, http.status 200, http.url the method's
                  path, http.hostname the :authority nginx sends (the upstream block's name),
                  token.accepted true for grpc-status 0 and false for 16 and 7 (nginx passes
                  the two refusals on as trailers-only responses: one HEADERS frame with
                  :status 200 and grpc-status), src_port as the server saw it; no HTTP parser
                  errors. Until HTTP/2 is parsed these checks fail, under one line saying so.

Also: no raw token (nor its payload or signature part) in eve.json or the sensor's stderr;
every eve.json line parses; the final stats record says no kernel drops and no worker drops.
The clients' own results are checked first (each request got the status the backend gave it)
so that a broken setup is not mistaken for a sensor fault.

`--workdir DIR` keeps every file (nginx.conf and its logs, the backends' logs, the sensor's
eve.json and stderr); `--pcap FILE` also records the captured link with tcpdump, a witness to
compare the sensor with. Exits 77 with one line when not root, or when ip netns, nginx, curl,
openssl or Debian's python3 with grpcio and cryptography are missing (.ci/deps installs them).
"""
import argparse
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_live  # noqa: E402  (require_netns, fresh_workdir)
ROOT = os.path.dirname(os.path.dirname(HERE))
CONFIG = os.path.join(ROOT, "etc", "demo", "tokenwatch.yaml")
PEERS = os.path.join(HERE, "nginx_peers.py")
DEB_PY = "/usr/bin/python3"      # Debian's, with python3-grpcio and python3-cryptography

FRONT_IF, BACK_IF = "twf0", "twb0"
FRONT_IP, BACK_IP = "10.77.0.1", "10.77.0.2"
HTTP_PORT, GRPC_PORT, TLS_PORT = 8080, 50051, 8443
NAME = "api.test.example"        # the certificate's name; clients resolve it to 127.0.0.1
GRPC_PATH = "/tokenwatch.test.Echo/Call"
UA = "tokenwatch-live/1.0"       # curl's user agent
# grpc_pass sends the upstream block's name as :authority (nginx's default Host for grpc_pass)
GRPC_UPSTREAM = "grpc_backend"
TYPES = "outputs.eve.types=[alert, token, http, stats]"

failures = []


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"), flush=True)
    if not cond:
        failures.append(name)
    return cond


def skip(reason):
    print(f"skipped: {reason}")
    sys.exit(77)


def run(argv, timeout=60, check_rc=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])}: exit {r.returncode}: {r.stderr.strip()[-600:]}")
    return r


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


class Topology:
    """Two fresh namespaces joined by one veth pair: FRONT (nginx, clients, sensor) and BACK."""

    def __init__(self):
        tag = f"{os.getpid()}-{secrets.token_hex(3)}"
        self.front, self.back = f"twnf-{tag}", f"twnb-{tag}"
        self.made = []
        for ns in (self.front, self.back):
            run(["ip", "netns", "add", ns])
            self.made.append(ns)
            # No IPv6: no router solicitations or MLD reports on the captured link.
            for key in ("all", "default"):
                run(["ip", "netns", "exec", ns, "sysctl", "-qw",
                     f"net.ipv6.conf.{key}.disable_ipv6=1"], check_rc=False)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        run(["ip", "-n", self.front, "link", "add", FRONT_IF, "type", "veth", "peer", "name",
             BACK_IF, "netns", self.back])
        for ns, dev, ip in ((self.front, FRONT_IF, FRONT_IP), (self.back, BACK_IF, BACK_IP)):
            run(["ip", "-n", ns, "addr", "add", ip + "/24", "dev", dev])
            run(["ip", "-n", ns, "link", "set", dev, "up"])

    def argv(self, ns, argv):
        return ["ip", "netns", "exec", ns] + argv

    def wait_port(self, ns, host, port, timeout=20):
        """Polls a TCP connect from inside ns until something listens there."""
        code = ("import socket,sys,time\nd=time.time()+%f\nwhile True:\n try:\n"
                "  socket.create_connection((%r,%d),0.5).close();sys.exit(0)\n except OSError:\n"
                "  if time.time()>d: sys.exit(1)\n  time.sleep(0.05)\n" % (timeout, host, port))
        r = run(self.argv(ns, [sys.executable, "-c", code]), timeout=timeout + 10, check_rc=False)
        if r.returncode != 0:
            raise RuntimeError(f"nothing listens on {host}:{port} in {ns} after {timeout} s")

    def close(self):
        for ns in self.made:
            # A process left in the namespace keeps it alive: end what is still there (only
            # ours: the namespace is this run's own), then delete it (and its veth end).
            r = run(["ip", "netns", "pids", ns], check_rc=False)
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            run(["ip", "netns", "del", ns], check_rc=False)


class Proc:
    """A long-running process of the test, in its own process group, output to files."""

    def __init__(self, name, argv, workdir):
        self.name = name
        self.outpath = os.path.join(workdir, name + ".out")
        self.errpath = os.path.join(workdir, name + ".err")
        self.out, self.err = open(self.outpath, "w"), open(self.errpath, "w")
        self.proc = subprocess.Popen(argv, stdout=self.out, stderr=self.err,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def stderr(self):
        with open(self.errpath, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the process (not its group: nginx's master ends its workers itself) and
        waits; returns its exit status, or None if it had to be killed."""
        rc = None
        if self.alive():
            try:
                self.proc.send_signal(sig)
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                rc = None
        else:
            rc = self.proc.returncode
        self.kill()
        return rc

    def kill(self):
        """Kills whatever is left of the process group started for it (its own id)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.out, self.err):
            if not f.closed:
                f.close()


def make_cert(work):
    key, cert = os.path.join(work, "key.pem"), os.path.join(work, "cert.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + NAME,
         "-addext", "subjectAltName=DNS:" + NAME], timeout=30)
    return cert, key


def nginx_conf(work, cert, key):
    tmp = os.path.join(work, "nginx-tmp")
    os.makedirs(tmp, exist_ok=True)
    temps = "".join(f"    {kind}_temp_path {tmp}/{kind};\n"
                    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = f"""# generated by tests/live/run_nginx_front.py
daemon off;
master_process on;
worker_processes 1;
user root;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {work}/nginx-access.log;
{temps}    upstream api_backend {{ server {BACK_IP}:{HTTP_PORT}; keepalive 4; }}
    upstream {GRPC_UPSTREAM} {{ server {BACK_IP}:{GRPC_PORT}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{TLS_PORT} ssl http2;
        server_name {NAME};
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location /api/ {{
            proxy_pass http://api_backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
        location /tokenwatch.test.Echo/ {{
            grpc_pass grpc://{GRPC_UPSTREAM};
        }}
    }}
}}
"""
    path = os.path.join(work, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf)
    return path


def jsonl(path):
    out = []
    try:
        with open(path) as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line))
    except FileNotFoundError:
        pass
    return out


def eve_records(path, strict):
    out, bad = [], []
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return out, bad
    lines = data.split(b"\n")
    if not strict and not data.endswith(b"\n"):
        lines = lines[:-1]
    for line in lines:
        if line:
            try:
                out.append(json.loads(line))
            except ValueError:
                bad.append(line[:120])
    return out, bad


def get(rec, dotted):
    cur = rec
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def find_keys(obj, suffix, path=""):
    """(dotted path, value) of every member whose name ends with suffix, anywhere in obj."""
    hits = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{path}.{k}" if path else k
            if k.endswith(suffix) and not isinstance(v, dict):
                hits.append((p, v))
            hits += find_keys(v, suffix, p)
    return hits


def expectations(log, port_key="port"):
    """{sha256: entry} from a backend's log, each entry with `index`: its place among the
    requests the backend received on the same connection (peer port), in order."""
    seen, out = {}, {}
    for e in log:
        e = dict(e)
        e["index"] = seen.get(e[port_key], 0)
        seen[e[port_key]] = e["index"] + 1
        out[e["sha256"]] = e
    return out


def token_checks(half, recs, exp, names, iface, want):
    """The per-token checks of one half. want(e) gives the expected members of the token
    record for backend log entry e. Returns how many of the tokens were found at all."""
    found = 0
    for name, sha in names.items():
        e = exp.get(sha)
        if e is None:
            check(f"{half}: {name}: the backend received it", False, "not in the backend's log")
            continue
        toks = [r for r in recs if r.get("event_type") == "token" and
                get(r, "token.sha256") == sha]
        alerts = [r for r in recs if r.get("event_type") == "alert" and
                  get(r, "token.sha256") == sha]
        found += bool(toks)
        check(f"{half}: {name}: exactly one token record", len(toks) == 1,
              f"{len(toks)} record(s)")
        w = want(e)
        forged = w.pop("_forged")
        if toks:
            t = toks[0]
            w.update({"in_iface": iface, "src_ip": FRONT_IP, "dest_ip": BACK_IP,
                      "src_port": e["port"], "token.location": "authorization",
                      "token.findings": ["key_issuer_mismatch"] if forged else []})
            diff = {k: (get(t, k), v) for k, v in w.items() if get(t, k) != v}
            check(f"{half}: {name}: the record says what the client sent and the backend "
                  f"answered", not diff, "(got, want): " + json.dumps(diff))
        check(f"{half}: {name}: " + ("one alert (key_issuer_mismatch)" if forged else "no alert"),
              len(alerts) == (1 if forged else 0) and
              all(get(a, "token.findings") == ["key_issuer_mismatch"] for a in alerts),
              [get(a, "token.findings") for a in alerts])
    return found


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensor", required=True)
    ap.add_argument("--workdir", help="keep the files here (default: a temporary directory)")
    ap.add_argument("--pcap", help="also record the backend link with tcpdump into this file")
    a = ap.parse_args()
    if os.geteuid() != 0:
        skip("needs root (network namespaces, veth, packet capture)")
    for tool, pkg in (("ip", "iproute2"), ("nginx", "nginx-light"), ("curl", "curl"),
                      ("openssl", "openssl")):
        if not shutil.which(tool):
            skip(f"`{tool}` not installed ({pkg})")
    if not os.access(DEB_PY, os.X_OK) or subprocess.run(
            [DEB_PY, "-c", "import grpc, cryptography"], capture_output=True).returncode != 0:
        skip(f"{DEB_PY} without grpc/cryptography (python3-grpcio, python3-cryptography)")
    run_live.require_netns()

    # The clients talk to 127.0.0.1 in their namespace: a proxy from the environment (curl and
    # gRPC honour http(s)_proxy) would send them elsewhere.
    for k in [k for k in os.environ if k.lower() in ("http_proxy", "https_proxy", "all_proxy",
                                                     "grpc_proxy")]:
        del os.environ[k]
    # ctest's timeout or ^C: still run the finally below (processes, namespaces).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    sensor = os.path.abspath(a.sensor)
    work = run_live.fresh_workdir(a.workdir, "tw-nginx-")
    topo, procs = None, []
    try:
        topo = Topology()
        scenario(topo, procs, sensor, work, a.pcap and os.path.abspath(a.pcap))
    except Exception as e:  # a setup step failed: a failure, and still clean up
        check("nginx front scenario ran", False, f"{type(e).__name__}: {e}")
        traceback.print_exc(limit=3)
        for p in procs:
            err = p.stderr().strip()
            if err and not p.alive():
                print(f"     {p.name} stderr: {err[-800:]}")
    finally:
        for p in reversed(procs):
            p.kill()
        if topo:
            topo.close()
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(failures)} failure(s)" if failures else "all nginx front checks passed")
    return 1 if failures else 0


HTTP_CALLS = (("h1_valid", "--http1.1", "/api/v1/orders?limit=5"),
              ("h1_forged", "--http1.1", "/api/v1/orders/4711"),
              ("h2front_valid", "--http2", "/api/v1/profile"),
              ("h2front_forged", "--http2", "/api/v1/admin/users"))
GRPC_CALLS = ("grpc_ok", "grpc_unauthenticated", "grpc_permission_denied")


class Run:
    """What one pass of the deployment produced: the tokens, what the clients got, the exit
    statuses, and the paths of the logs."""


def scenario(topo, procs, sensor, work, pcap):
    o = drive(topo, procs, sensor, work, pcap)
    o.http_exp = expectations(jsonl(o.http_log))
    o.grpc_exp = expectations(jsonl(o.grpc_log))
    o.http_names = {n: sha256(o.tokens[n]) for n, _, _ in HTTP_CALLS}
    o.grpc_names = {n: sha256(o.tokens[n]) for n in GRPC_CALLS}
    check_setup(o)
    recs, last = check_sensor(o)
    check_http1(o, recs)
    check_grpc(o, recs, last)
    print(f"     backend connections (nginx's ports): http "
          f"{sorted({e['port'] for e in o.http_exp.values()})}, grpc "
          f"{sorted({e['port'] for e in o.grpc_exp.values()})}; "
          f"kernel_packets {get(last, 'capture.kernel_packets')}")


def drive(topo, procs, sensor, work, pcap):
    """Starts the backends, the sensor and nginx, runs the clients, stops everything in order.
    Raises when a piece does not come up."""
    o = Run()
    o.work = work
    cert, key = make_cert(work)
    plan = os.path.join(work, "tokens.json")
    run([DEB_PY, PEERS, "mint", plan], timeout=60)
    with open(plan) as f:
        o.tokens = json.load(f)["tokens"]
    o.http_log = os.path.join(work, "backend-http.jsonl")
    o.grpc_log = os.path.join(work, "backend-grpc.jsonl")

    def start(name, ns, argv):
        p = Proc(name, topo.argv(ns, argv), work)
        procs.append(p)
        return p

    backends = [start("backend-http", topo.back, [DEB_PY, PEERS, "http-backend", BACK_IP,
                                                   str(HTTP_PORT), plan, o.http_log]),
                start("backend-grpc", topo.back, [DEB_PY, PEERS, "grpc-backend", BACK_IP,
                                                   str(GRPC_PORT), plan, o.grpc_log])]
    # Polled from FRONT across the veth before the sensor starts: these probes are not seen.
    topo.wait_port(topo.front, BACK_IP, HTTP_PORT)
    topo.wait_port(topo.front, BACK_IP, GRPC_PORT)

    logdir = os.path.join(work, "sensor")
    os.makedirs(logdir)
    o.eve = os.path.join(logdir, "eve.json")
    o.sensor = start("tokenwatch", topo.front, [sensor, "-c", CONFIG, "-i", FRONT_IF, "-l",
                                                logdir, "-v", "--set", TYPES])
    deadline = time.time() + 15
    while "capturing" not in o.sensor.stderr():
        if not o.sensor.alive() or time.time() > deadline:
            raise RuntimeError(f"sensor did not start: {o.sensor.stderr().strip()}")
        time.sleep(0.05)
    dump = None
    if pcap:  # a witness for debugging, beside the sensor on the same interface
        dump = start("tcpdump", topo.front, ["tcpdump", "-i", FRONT_IF, "-U", "-s", "0",
                                             "-Z", "root", "-w", pcap])
        deadline = time.time() + 10
        while "listening on" not in dump.stderr() and time.time() < deadline:
            time.sleep(0.05)

    conf = nginx_conf(work, cert, key)
    run(topo.argv(topo.front, ["nginx", "-t", "-q", "-c", conf, "-p", work]), timeout=30)
    o.nginx = start("nginx", topo.front, ["nginx", "-c", conf, "-p", work])
    topo.wait_port(topo.front, "127.0.0.1", TLS_PORT)

    # The clients, in FRONT, over TLS to nginx.
    o.curl_got = {}
    for name, flag, url in HTTP_CALLS:
        r = run(topo.argv(topo.front, [
            "curl", "-sS", flag, "--cacert", cert, "--resolve", f"{NAME}:{TLS_PORT}:127.0.0.1",
            "--max-time", "15", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
            "-H", "Authorization: Bearer " + o.tokens[name], "-A", UA,
            f"https://{NAME}:{TLS_PORT}{url}"]), timeout=30)
        o.curl_got[name] = (r.stdout.split() + ["", ""])[:2]
    r = run(topo.argv(topo.front, [DEB_PY, PEERS, "grpc-client", f"127.0.0.1:{TLS_PORT}", NAME,
                                   cert, plan] + list(GRPC_CALLS)), timeout=90)
    o.grpc_got = {j["name"]: j["code"] for j in
                  (json.loads(line) for line in r.stdout.splitlines() if line.strip())}
    o.grpc_stderr = r.stderr.strip()

    # Records arrive as the transactions end (outputs flush about once a second): wait for all
    # of them, or a bounded time when some never come (HTTP/2 not parsed).
    want = {sha256(t) for t in o.tokens.values()}
    deadline = time.time() + 12
    while time.time() < deadline:
        recs, _ = eve_records(o.eve, False)
        if want <= {get(x, "token.sha256") for x in recs if x.get("event_type") == "token"}:
            break
        time.sleep(0.2)
    # nginx first (graceful: it closes its upstream keep-alive connections, the sensor sees
    # the FINs), then the sensor (SIGINT: flush the flows, write the final stats record).
    o.nginx_rc = o.nginx.stop(signal.SIGQUIT)
    time.sleep(1.0)
    o.sensor_rc = o.sensor.stop(signal.SIGINT, timeout=30)
    if dump:
        dump.stop(signal.SIGINT)
    for b in backends:
        b.stop()
    return o


def check_setup(o):
    """The deployment did what it should; else the sensor's checks would mean nothing."""
    check("setup: curl got the backend's answers through nginx (HTTP/1.1 and h2 to nginx)",
          all(o.curl_got[n] == [str(o.http_exp.get(o.http_names[n], {}).get("status")),
                                "2" if flag == "--http2" else "1.1"]
              for n, flag, _ in HTTP_CALLS),
          {n: (o.curl_got[n], o.http_exp.get(s, {}).get("status"))
           for n, s in o.http_names.items()})
    check("setup: the gRPC client got the server's grpc-status through nginx (0, 16, 7)",
          o.grpc_got == dict(zip(GRPC_CALLS, (0, 16, 7))) and
          all(o.grpc_exp.get(s, {}).get("grpc_status") == o.grpc_got.get(n)
              for n, s in o.grpc_names.items()), (o.grpc_got, o.grpc_stderr[-400:]))
    with open(os.path.join(o.work, "nginx-error.log"), errors="replace") as f:
        bad = [line.strip() for line in f if any(w in line for w in ("[error]", "[crit]",
                                                                     "[alert]", "[emerg]"))]
    check("setup: nginx exited cleanly, no upstream errors in its log",
          o.nginx_rc == 0 and not bad, (o.nginx_rc, bad[:3], o.nginx.stderr()[-400:]))


def check_sensor(o):
    recs, bad = eve_records(o.eve, True)
    err = o.sensor.stderr()
    check("sensor: exit status 0 after SIGINT", o.sensor_rc == 0, (o.sensor_rc, err[-400:]))
    check("sensor: every eve.json line parses", not bad, bad[:3])
    text = open(o.eve, errors="replace").read() if os.path.exists(o.eve) else ""
    leaked = {n for n, t in o.tokens.items()
              for part in [t] + t.split(".")[1:] if part and (part in text or part in err)}
    check("sensor: no raw token (nor payload or signature) in eve.json or stderr",
          not leaked and not any("raw" in (x.get("token") or {}) for x in recs), sorted(leaked))
    sent = set(o.http_names.values()) | set(o.grpc_names.values())
    others = [get(x, "token.sha256") for x in recs if x.get("event_type") in ("token", "alert")
              and get(x, "token.sha256") not in sent]
    check("sensor: no token record or alert but for the tokens sent", not others, others)
    stats = [x for x in recs if x.get("event_type") == "stats"]
    last = stats[-1].get("stats", {}) if stats else {}
    kd, wd = get(last, "capture.kernel_drops"), find_keys(last, "worker_drops")
    check("sensor: final stats: kernel_drops 0 and worker drops 0",
          kd == 0 and wd and all(v == 0 for _, v in wd), {"kernel_drops": kd, "worker": wd})
    return recs, last


def check_http1(o, recs):
    """nginx -> backend:8080, HTTP/1.1 with keep-alive: tx_id is the request's place on its
    connection."""
    def want(e):
        ok = e["status"] == 200
        return {"_forged": not ok, "app_proto": "http", "dest_port": HTTP_PORT,
                "tx_id": e["index"], "http.protocol": "HTTP/1.1", "http.status": e["status"],
                "http.url": e["path"], "http.http_method": e["method"], "http.hostname": NAME,
                "http.http_user_agent": UA, "token.accepted": ok}

    token_checks("http/1.1", recs, o.http_exp, o.http_names, FRONT_IF, want)
    n = len(HTTP_CALLS)
    https = [x for x in recs if x.get("event_type") == "http" and x.get("dest_port") == HTTP_PORT]
    check(f"http/1.1: one http record per request ({n})", len(https) == len(o.http_exp) == n,
          (len(https), len(o.http_exp)))


def check_grpc(o, recs, last):
    """nginx -> backend:50051 over h2c. Runs always; passes once HTTP/2 is parsed."""
    def want(e):
        return {"_forged": e["grpc_status"] == 16, "app_proto": "http2", "dest_port": GRPC_PORT,
                "http.protocol": "HTTP/2", "http.http2.stream_id": 2 * e["index"] + 1,
                "http.status": 200, "http.url": GRPC_PATH, "http.http_method": "POST",
                "http.hostname": GRPC_UPSTREAM, "token.accepted": e["grpc_status"] == 0}

    shas = set(o.grpc_names.values())
    toks = [x for x in recs if x.get("event_type") == "token" and get(x, "token.sha256") in shas]
    if not toks:
        named = sorted({str(x.get("app_proto")) for x in recs if x.get("dest_port") == GRPC_PORT})
        print(f"     grpc/h2c: HTTP/2 not parsed: none of the {len(shas)} gRPC calls' tokens was "
              f"found on the h2c link nginx -> {BACK_IP}:{GRPC_PORT} (its records: app_proto "
              f"{named or 'none'}; stats.app_layer "
              f"{json.dumps(last.get('app_layer'), separators=(',', ':'))})")
    token_checks("grpc/h2c", recs, o.grpc_exp, o.grpc_names, FRONT_IF, want)
    per_flow = {}
    for x in toks:
        per_flow.setdefault(x.get("flow_id"), []).append((get(x, "http.http2.stream_id") or 0,
                                                          x.get("tx_id")))
    check("grpc/h2c: tx_id per stream (distinct, in stream order, on each connection)",
          toks and all(len({t for _, t in v}) == len(v) and
                       [t for _, t in sorted(v)] == sorted(t for _, t in v)
                       for v in per_flow.values()), per_flow)
    n = len(GRPC_CALLS)
    https = [x for x in recs if x.get("event_type") == "http" and x.get("dest_port") == GRPC_PORT]
    check(f"grpc/h2c: one http record per call ({n}), app_proto http2",
          len(https) == len(o.grpc_exp) == n and all(x.get("app_proto") == "http2" for x in https),
          (len(https), sorted({str(x.get("app_proto")) for x in https})))
    errs = find_keys(last, "parser")
    check("grpc/h2c: no HTTP parser errors (the h2c flow is not taken for broken HTTP/1)",
          errs and all(v == 0 for _, v in errs), errs)


if __name__ == "__main__":
    sys.exit(main())
