#!/usr/bin/python3
"""record_i12_real.py — records the captures of real implementations on loopback for issue 12
(HTTP/2, gRPC, WebSocket, CONNECT): pcaps/real/<name>.pcap plus pcaps/real/manifest.json (the
tokens each capture carries and what the clients saw). RECORDED ONCE AND COMMITTED: this script
is not run by the build or CI (it needs root for tcpdump and the packages below); the e2e
expectations are derived from the committed files by make_i12_real.py, which anyone can re-run.

Run as root:   /usr/bin/python3 tests/gen/record_i12_real.py [name ...]
then:          /usr/bin/python3 tests/gen/make_i12_real.py

Debian 12 packages it needs (none of them is needed by CI): tcpdump, curl (7.88.1, with
nghttp2), nghttp2-server (nghttpd 1.52.0), nghttp2-client (nghttp), python3-h2, python3-grpcio
(1.51.1), python3-websockets (10.4), tinyproxy (1.11.1), openssl.

Each scenario runs its servers and clients on 127.0.0.1 with ports of its own and captures
them with `tcpdump -i lo -s 0 -B 8192 -U --immediate-mode -w FILE 'tcp port P'` (started
first, waited for until it says it is listening, stopped with SIGINT once the clients ended;
without --immediate-mode the packets still in libpcap's buffer at SIGINT are lost; a run in
which the kernel dropped packets is recorded again). Tokens are minted
with the TEST-ONLY keys of tests/gen/keys at the time of recording (the sensor judges a token's
lifetime against the packet time): valid ones (no finding), Storm-0558-style forgeries (a
consumer key signing an enterprise-tenant token: key_issuer_mismatch) and expired ones
(token_expired). The recorded bytes are whatever the real tools sent; nothing is edited
afterwards. Not deterministic (ports, sequence numbers, times and tokens change with each run),
which is why its output is committed rather than regenerated.
"""
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokens as T                                          # noqa: E402
from make_captures import K, tok_storm_style, tok_valid_org  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = "pcaps/real"
HOST = "127.0.0.1"
PORTS = {"real_h2_prior_knowledge": 18101, "real_h2_upgrade": 18102, "real_h2_nghttp_multi": 18103,
         "real_grpc": 18104, "real_websocket": 18105, "real_websocket_nocomp": 18106,
         "real_connect_proxy": 18107}
BACKEND_PORT, TLS_PORT = 18108, 18109
MANIFEST = {}


# --- tokens -------------------------------------------------------------------------------------

class Tokens:
    """Named tokens of one capture, minted relative to now; findings are what SPEC §4 says."""

    def __init__(self):
        self.t = int(time.time())
        self.items = {}

    def valid(self, name, key="org-1", **kw):
        return self._put(name, tok_valid_org(self.t, key, sub="real-" + name, **kw), [])

    def valid_idp(self, name):
        k = K["idp-es256"]
        tok = T.jws(T.header("ES256", k), T.idp_claims(self.t, sub="real-" + name), k)
        return self._put(name, tok, [])

    def forged(self, name):
        return self._put(name, tok_storm_style(self.t, sub="real-" + name), ["key_issuer_mismatch"])

    def expired(self, name):
        tok = tok_valid_org(self.t, sub="real-" + name, iat=-7200, lifetime=3600)
        return self._put(name, tok, ["token_expired"])

    def _put(self, name, tok, findings):
        self.items[name] = {"raw": tok, "findings": findings}
        return tok


# --- capture and process helpers ------------------------------------------------------------------

CLEANUP = []   # the processes a failed scenario must not leave behind


class Dropped(Exception):
    """tcpdump lost packets (a loaded machine): the scenario is recorded again."""


class Tcpdump:
    def __init__(self, name, port):
        self.path = os.path.join(ROOT, OUT, name + ".pcap")
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.p = subprocess.Popen(["tcpdump", "-i", "lo", "-s", "0", "-B", "8192", "-U",
                                   "--immediate-mode", "-n", "-w", self.path,
                                   "tcp port %d" % port],
                                  stderr=subprocess.PIPE, text=True)
        CLEANUP.append(self.p)
        line = self.p.stderr.readline()       # "tcpdump: listening on lo, ..." once it captures
        if "listening on" not in line:
            raise SystemExit("tcpdump did not start: " + line)
        time.sleep(0.3)

    def stop(self):
        time.sleep(1.0)                       # the last FIN/ACKs
        self.p.send_signal(signal.SIGINT)
        err = self.p.communicate(timeout=10)[1]
        os.chown(self.path, 0, 0)             # tcpdump wrote it as its own user
        print("  " + os.path.relpath(self.path, ROOT) + ": " + " ".join(err.split()))
        if " 0 packets dropped by kernel" not in " " + " ".join(err.split()):
            raise Dropped(self.path)


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((HOST, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("nothing listens on port %d" % port)


def spawn(cmd, **kw):
    p = subprocess.Popen(cmd, **kw)
    CLEANUP.append(p)
    return p


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise SystemExit("%s failed (%d): %s" % (cmd[0], r.returncode, r.stderr))
    return r.stdout


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def docroot():
    d = tempfile.mkdtemp(prefix="tw-real-doc-")
    with open(os.path.join(d, "data.json"), "w") as f:
        f.write('{"value":[{"id":"AAMkAGI2","subject":"Quarterly report"}]}\n')
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write("<html><body>mailbox</body></html>\n")
    return d


def record(name, tokens, tool, client, notes):
    MANIFEST[name] = {"pcap": "%s/%s.pcap" % (OUT, name), "port": PORTS[name], "tool": tool,
                      "recorded": tokens.t, "tokens": tokens.items, "client": client,
                      "notes": notes}


CURL_W = ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{http_version} %{num_connects}\\n"]


# --- a, b, c: curl and nghttp against HTTP/2 servers --------------------------------------------

def h2_prior_knowledge():
    name, port = "real_h2_prior_knowledge", PORTS["real_h2_prior_knowledge"]
    tk = Tokens()
    v, f = tk.valid("pk-bearer"), tk.forged("pk-forged")
    c, q = tk.valid("pk-cookie", "org-2"), tk.valid_idp("pk-query")
    srv = spawn(["nghttpd", "--no-tls", "-a", HOST, "-d", docroot(), str(port)])
    wait_port(port)
    cap = Tcpdump(name, port)
    base = "http://%s:%d" % (HOST, port)
    # One curl run, four transfers joined by --next and run in parallel (-Z) so that they share
    # one connection (streams 1-7). Sequential reuse of an h2 connection fails in Debian's curl
    # 7.88.1 ("Error in the HTTP2 framing layer" before the second request is sent), with
    # nghttpd 1.52.0 (over an upgraded connection to python3-h2 it works): -Z multiplexes.
    first = True
    cmd = ["curl", "-Z", "--http2-prior-knowledge"]
    # The cookie goes on streams 1 and 5: on 5 it is an index into the dynamic table (nghttp2
    # indexes cookies), which a capture cut after stream 1 cannot resolve.
    cookie = ["-H", "Cookie: theme=dark; session=" + c]
    for hdrs, path in ((["-H", "Authorization: Bearer " + v] + cookie, "/data.json"),
                       (["-H", "Authorization: Bearer " + f], "/data.json"),
                       (cookie, "/index.html"), ([], "/data.json?access_token=" + q)):
        cmd += ([] if first else ["--next"]) + CURL_W + hdrs + [base + path]
        first = False
    out = run(cmd)
    cap.stop()
    stop(srv)
    record(name, tk, "curl 7.88.1 --http2-prior-knowledge -> nghttpd 1.52.0 --no-tls",
           out.split("\n")[:-1],
           "one curl run, four transfers (--next, -Z) multiplexed on one connection")


class UpgradeServer(threading.Thread):
    """h2c server with python3-h2 (nghttpd --no-tls answers an `Upgrade: h2c` request with its
    HTTP/2 preface instead of 101, which curl rejects as HTTP/0.9): answers the upgrade with 101
    and serves stream 1 and later streams; 200 for the expected token, 401 otherwise."""

    def __init__(self, port, valid):
        super().__init__(daemon=True)
        self.sock = socket.create_server((HOST, port))
        self.sock.settimeout(0.2)
        self.valid, self.done = ("Bearer " + valid).encode(), False

    def run(self):
        while not self.done:
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            with s:
                self.serve(s)

    def respond(self, conn, sid, headers):
        ok = headers.get(b"authorization") == self.valid
        body = (b'{"value":[]}' if ok else b'{"error":"invalid_token"}')
        conn.send_headers(sid, [(":status", "200" if ok else "401"),
                                ("content-type", "application/json"),
                                ("content-length", str(len(body)))])
        conn.send_data(sid, body, end_stream=True)

    def serve(self, s):
        import h2.config
        import h2.connection
        import h2.events
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65535)
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        hdrs = {k.strip().lower(): v.strip()
                for k, _, v in (ln.partition(b":") for ln in lines[1:])}
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        s.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                  b"Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
        conn.initiate_upgrade_connection(hdrs[b"http2-settings"])
        self.respond(conn, 1, hdrs)
        s.sendall(conn.data_to_send())
        data = rest
        while True:
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.RequestReceived):
                    self.respond(conn, ev.stream_id, dict(ev.headers))
            out = conn.data_to_send()
            if out:
                s.sendall(out)
            data = s.recv(65535)
            if not data:
                return


def h2_upgrade():
    name, port = "real_h2_upgrade", PORTS["real_h2_upgrade"]
    tk = Tokens()
    v, f = tk.valid("up-bearer"), tk.forged("up-forged")
    srv = UpgradeServer(port, v)
    srv.start()
    cap = Tcpdump(name, port)
    base = "http://%s:%d" % (HOST, port)
    out = run(["curl", "--http2"] + CURL_W + ["-H", "Authorization: Bearer " + v, base + "/me",
               "--next", "--http2"] + CURL_W + ["-H", "Authorization: Bearer " + f,
                                                base + "/me/messages"] +
              ["--next", "--http2"] + CURL_W + ["-H", "Authorization: Bearer " + v,
                                                base + "/me/events"])
    cap.stop()
    srv.done = True
    srv.join()
    record(name, tk, "curl 7.88.1 --http2 (Upgrade: h2c) -> python3-h2 4.1.0 server in this script",
           out.split("\n")[:-1], "nghttpd --no-tls does not answer Upgrade: h2c with 101 (it sends "
           "its preface; curl: 'Received HTTP/0.9'), so the server is python3-h2's "
           "initiate_upgrade_connection; the second and third transfers reuse the upgraded "
           "connection (streams 3 and 5)")


def h2_nghttp_multi():
    name, port = "real_h2_nghttp_multi", PORTS["real_h2_nghttp_multi"]
    tk = Tokens()
    v = tk.valid("ng-bearer")
    qa, qb = tk.valid_idp("ng-query-a"), tk.forged("ng-query-b")
    srv = spawn(["nghttpd", "--no-tls", "-a", HOST, "-d", docroot(), str(port)])
    wait_port(port)
    cap = Tcpdump(name, port)
    base = "http://%s:%d" % (HOST, port)
    # nghttp's -H applies to every request: one bearer token for all; per-URI query tokens.
    out = run(["nghttp", "-n", "-s", "-m", "8", "-H", "authorization: Bearer " + v,
               base + "/data.json", base + "/data.json?access_token=" + qa,
               base + "/index.html?id_token=" + qb])
    # -s: one line per stream, "id responseEnd requestStart process code size path"
    codes = [ln.split()[4] for ln in out.split("\n") if ln.strip()[:1].isdigit()]
    cap.stop()
    stop(srv)
    record(name, tk, "nghttp 1.52.0 -n -m 8 (24 concurrent streams) -> nghttpd 1.52.0 --no-tls",
           ["%d streams answered %s" % (len(codes), " ".join(sorted(set(codes))))],
           "-H sets one authorization for every stream; each URI carries a query token of its own")


# --- d: gRPC -------------------------------------------------------------------------------------

def grpc_calls():
    import grpc
    name, port = "real_grpc", PORTS["real_grpc"]
    tk = Tokens()
    v, f, e = tk.valid("grpc-bearer"), tk.forged("grpc-forged"), tk.expired("grpc-expired")
    v2 = tk.valid("grpc-stream", "org-2")

    def check(ctx):
        auth = dict(ctx.invocation_metadata()).get("authorization", "")
        if auth in ("Bearer " + v, "Bearer " + v2):
            return
        if auth == "Bearer " + e:
            ctx.abort(grpc.StatusCode.PERMISSION_DENIED, "token expired")
        ctx.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid token")

    def get_mail(req, ctx):
        check(ctx)
        return b'{"subject":"Quarterly report","id":"' + req + b'"}'

    def list_mail(req, ctx):
        check(ctx)
        for i in range(3):
            yield b'{"subject":"message %d"}' % i

    ident = dict(request_deserializer=None, response_serializer=None)
    handler = grpc.method_handlers_generic_handler("tokenwatch.test.Mail", {
        "GetMail": grpc.unary_unary_rpc_method_handler(get_mail, **ident),
        "ListMail": grpc.unary_stream_rpc_method_handler(list_mail, **ident)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    local = grpc.LocalConnectionType.LOCAL_TCP
    server.add_secure_port("%s:%d" % (HOST, port), grpc.local_server_credentials(local))
    server.start()
    cap = Tcpdump(name, port)
    results = []
    with grpc.secure_channel("%s:%d" % (HOST, port), grpc.local_channel_credentials(local)) as ch:
        unary = ch.unary_unary("/tokenwatch.test.Mail/GetMail")
        for tok in (v, f, e):
            try:
                unary(b"AAMkAGI2", credentials=grpc.access_token_call_credentials(tok), timeout=10)
                results.append("GetMail OK")
            except grpc.RpcError as err:
                results.append("GetMail %s" % err.code().name)
        stream = ch.unary_stream("/tokenwatch.test.Mail/ListMail")
        creds = grpc.access_token_call_credentials(v2)
        n = len(list(stream(b"inbox", credentials=creds, timeout=10)))
        results.append("ListMail OK, %d messages" % n)
    cap.stop()
    server.stop(0)
    record(name, tk, "python3-grpcio %s client and server (generic handlers, bytes in and out)"
           % grpc.__version__, results, "plaintext h2c through grpc.local_channel_credentials("
           "LOCAL_TCP) / local_server_credentials; each call passes its token as call "
           "credentials (grpc.access_token_call_credentials), one channel: one connection")


# --- e: WebSocket -------------------------------------------------------------------------------

def websocket(name, compression):
    import websockets
    port = PORTS[name]
    tk = Tokens()
    sfx = "" if compression else "-nocomp"
    v, f = tk.valid("ws-bearer" + sfx), tk.forged("ws-forged" + sfx)
    seen = []

    async def handler(ws):
        init = json.loads(await ws.recv())
        p = init.get("payload") or {}
        tok = p.get("Authorization", "").replace("Bearer ", "", 1) or p.get("authToken")
        if tok != v:
            seen.append("rejected")
            await ws.close(4403, "Forbidden")
            return
        seen.append("accepted")
        await ws.send(json.dumps({"type": "connection_ack"}))
        sub = json.loads(await ws.recv())
        data = {"mailAdded": {"subject": "Quarterly report"}}
        await ws.send(json.dumps({"id": sub["id"], "type": "next", "payload": {"data": data}}))
        await ws.send(json.dumps({"id": sub["id"], "type": "complete"}))
        await ws.wait_closed()

    async def client(init):
        uri = "ws://%s:%d/graphql" % (HOST, port)
        async with websockets.connect(uri, compression=compression,
                                      subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps(init))
            try:
                ack = json.loads(await ws.recv())
            except websockets.ConnectionClosed as e:
                return "closed %d %s" % (e.code, e.reason)
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription { mailAdded { subject } }"}}))
            got = [json.loads(await ws.recv())["type"] for _ in range(2)]
            return "%s %s" % (ack["type"], " ".join(got))

    async def main():
        async with websockets.serve(handler, HOST, port, compression=compression,
                                    subprotocols=["graphql-transport-ws"]):
            r1 = await client({"type": "connection_init",
                               "payload": {"Authorization": "Bearer " + v}})
            r2 = await client({"type": "connection_init", "payload": {"authToken": f}})
            return [r1, r2]

    cap = Tcpdump(name, port)
    results = asyncio.run(main())
    cap.stop()
    record(name, tk, "python3-websockets %s client and server, compression=%s" %
           (websockets.__version__, compression or "None"), results,
           "GraphQL over WebSocket (graphql-transport-ws): connection_init with payload "
           "Authorization (accepted: ack, subscribe, next, complete) then one with authToken "
           "(a forgery: the server closes with 4403)")


# --- f: CONNECT ---------------------------------------------------------------------------------

class Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    valid = None

    def do_GET(self):
        ok = self.headers.get("Authorization") == "Bearer " + Backend.valid
        body = b'{"value":[]}' if ok else b'{"error":"invalid_token"}'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def connect_proxy():
    name, port = "real_connect_proxy", PORTS["real_connect_proxy"]
    tk = Tokens()
    v, f = tk.valid("cx-inner"), tk.forged("cx-inner-forged")
    pa, pb = tk.valid("cx-proxy-1", "org-2"), tk.valid("cx-proxy-2", "org-2")
    pc = tk.valid_idp("cx-proxy-3")
    tls_tok = tk.valid("cx-in-tls")
    tmp = tempfile.mkdtemp(prefix="tw-real-cx-")
    conf = os.path.join(tmp, "tinyproxy.conf")
    with open(conf, "w") as fh:
        fh.write("User nobody\nGroup nogroup\nPort %d\nListen %s\nTimeout 30\nLogLevel Info\n"
                 "MaxClients 10\nAllow 127.0.0.1\nConnectPort %d\nConnectPort %d\n"
                 % (port, HOST, BACKEND_PORT, TLS_PORT))
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-subj", "/CN=localhost", "-days", "2", "-keyout", tmp + "/k.pem",
         "-out", tmp + "/c.pem"])
    Backend.valid = v
    backend = ThreadingHTTPServer((HOST, BACKEND_PORT), Backend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    tls = spawn(["openssl", "s_server", "-quiet", "-www", "-accept", str(TLS_PORT),
                            "-cert", tmp + "/c.pem", "-key", tmp + "/k.pem"],
                           stdout=subprocess.DEVNULL)
    proxy = spawn(["tinyproxy", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    for p in (port, TLS_PORT):
        wait_port(p)
    cap = Tcpdump(name, port)
    px = ["-p", "-x", "http://%s:%d" % (HOST, port)]
    out = []
    for ptok, tok, url in ((pa, v, "http://%s:%d/v1.0/me" % (HOST, BACKEND_PORT)),
                           (pb, f, "http://%s:%d/v1.0/me/messages" % (HOST, BACKEND_PORT)),
                           (pc, tls_tok, "https://%s:%d/" % (HOST, TLS_PORT))):
        out.append(run(["curl", "-k"] + px + CURL_W + ["--proxy-header",
                        "Proxy-Authorization: Bearer " + ptok, "-H", "Authorization: Bearer " + tok,
                        url]).strip())
    cap.stop()
    stop(proxy)
    stop(tls)
    backend.shutdown()
    record(name, tk, "curl 7.88.1 -p -x through tinyproxy 1.11.1 (ConnectPort %d, %d); backend "
           "Python http.server, TLS backend openssl s_server -www" % (BACKEND_PORT, TLS_PORT), out,
           "three connections client-proxy (only the proxy's port is captured): CONNECT with a "
           "Proxy-Authorization bearer, then inside the tunnel plain HTTP (valid: 200; forged: "
           "401) or TLS (its Authorization never visible)")


SCENARIOS = {
    "real_h2_prior_knowledge": h2_prior_knowledge, "real_h2_upgrade": h2_upgrade,
    "real_h2_nghttp_multi": h2_nghttp_multi, "real_grpc": grpc_calls,
    "real_websocket": lambda: websocket("real_websocket", "deflate"),
    "real_websocket_nocomp": lambda: websocket("real_websocket_nocomp", None),
    "real_connect_proxy": connect_proxy,
}


def main():
    if os.geteuid() != 0:
        raise SystemExit("run as root (tcpdump on lo)")
    names = sys.argv[1:] or list(SCENARIOS)
    path = os.path.join(ROOT, OUT, "manifest.json")
    if os.path.exists(path):
        with open(path) as f:
            MANIFEST.update(json.load(f))
    for n in names:
        print(n)
        for attempt in range(3):
            try:
                SCENARIOS[n]()
                break
            except Dropped as e:
                print("  packets dropped in %s: again" % e)
            finally:
                for p in CLEANUP:
                    if p.poll() is None:
                        p.send_signal(signal.SIGINT)
                        p.wait()
                CLEANUP.clear()
        else:
            raise SystemExit("%s: tcpdump kept dropping packets" % n)
    with open(path, "w") as f:
        json.dump(dict(sorted(MANIFEST.items())), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
