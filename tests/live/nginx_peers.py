#!/usr/bin/python3
"""nginx_peers.py — the programs around nginx in the live test run_nginx_front.py (ctest
`live_nginx_front`), each a subcommand run by Debian's /usr/bin/python3 (python3-grpcio,
python3-cryptography):

  mint PLAN.json              signs the test's tokens with the TEST-ONLY keys of tests/gen/keys
                              (trusted by etc/demo/tokenwatch.yaml), their times relative to the real
                              clock (the live sensor judges lifetimes at packet time), and writes
                              {"tokens": {name: token}, "answers": {sha256: answer}}
  http-backend ADDR PORT PLAN LOG
                              an HTTP/1.1 server (keep-alive) behind nginx's proxy_pass: answers
                              each request with the status PLAN gives its bearer token's SHA-256
                              (401 for an unknown one), one JSON line per request in LOG: the
                              peer's port, the token's SHA-256, the path, the status answered
  grpc-backend ADDR PORT PLAN LOG
                              a gRPC server (generic handlers, bytes in and out, no protoc) behind
                              nginx's grpc_pass (h2c): answers each call with the grpc-status PLAN
                              gives its `authorization` metadata's token (UNAUTHENTICATED for an
                              unknown one), one JSON line per call in LOG as above
  grpc-client TARGET NAME CERT TOKENS.json NAMES...
                              one call per token name over TLS to nginx, the token as call
                              credentials composed with the channel's TLS credentials; prints one
                              JSON line per call: name, the status code the client got

The raw tokens stay in the test's work directory; nothing here prints one. The test owns these
processes and ends them; each server also exits on SIGTERM.
"""
import hashlib
import http.server
import json
import os
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(os.path.dirname(HERE), "gen")

SERVICE, METHOD = "tokenwatch.test.Echo", "Call"
GRPC_PATH = "/%s/%s" % (SERVICE, METHOD)


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def bearer(value):
    """The token of an `Authorization: Bearer x` value, or ""."""
    parts = (value or "").split(None, 1)
    return parts[1].strip() if len(parts) == 2 and parts[0].lower() == "bearer" else ""


class JsonLog:
    """Appends one JSON line per event, flushed at once (the test reads it while we run)."""

    def __init__(self, path):
        self.f = open(path, "a")
        self.lock = threading.Lock()

    def write(self, obj):
        with self.lock:
            self.f.write(json.dumps(obj, sort_keys=True) + "\n")
            self.f.flush()


def load_answers(path):
    with open(path) as f:
        return json.load(f)["answers"]


# --- tokens --------------------------------------------------------------------------------

def mint(out):
    sys.path.insert(0, GEN)
    import tokens as T  # noqa: E402 (tests/gen, needs python3-cryptography)
    K = T.keys()
    now = int(time.time())

    def org(key, sub, **kw):
        claims = T.entra_claims(now, T.ENTERPRISE_TID, sub=sub, **kw)
        return T.jws(T.header("RS256", K[key]), claims, K[key])

    def storm(sub):
        # The Storm-0558 pattern: a consumer-tenant key signs an enterprise-tenant token.
        claims = T.entra_claims(now, T.ENTERPRISE_TID, sub=sub, aud="https://outlook.example.com",
                                scp="Mail.ReadWrite Mail.Send")
        return T.jws(T.header("RS256", K["consumers-1"]), claims, K["consumers-1"])

    def idp(key, alg, sub, scope):
        return T.jws(T.header(alg, K[key]), T.idp_claims(now, sub=sub, scope=scope), K[key])

    # name -> (token, the backend's answer: HTTP status or gRPC status code)
    plan = {
        "h1_valid": (org("org-1", "nginx-h1-valid"), 200),
        "h1_forged": (storm("nginx-h1-forged"), 401),
        "h2front_valid": (org("org-2", "nginx-h2front-valid"), 200),
        "h2front_forged": (storm("nginx-h2front-forged"), 401),
        "grpc_ok": (idp("idp-es256", "ES256", "grpc-ok", "orders.read orders.write"), 0),
        "grpc_unauthenticated": (storm("nginx-grpc-forged"), 16),
        "grpc_permission_denied": (idp("idp-ed25519", "EdDSA", "grpc-reader", "orders.read"), 7),
    }
    doc = {"minted_at": now,
           "tokens": {name: tok for name, (tok, _) in plan.items()},
           "answers": {sha256(tok): ans for tok, ans in plan.values()}}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)


# --- HTTP/1.1 backend ------------------------------------------------------------------------

def http_backend(addr, port, plan, logpath):
    answers = load_answers(plan)
    log = JsonLog(logpath)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"   # keep-alive: nginx's upstream keepalive reuses it

        def answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            tok = bearer(self.headers.get("Authorization"))
            status = answers.get(sha256(tok), 401) if tok else 401
            log.write({"port": self.client_address[1], "sha256": sha256(tok) if tok else None,
                       "path": self.path, "method": self.command, "status": status})
            body = b'{"ok":true}\n' if status == 200 else b'{"error":"invalid_token"}\n'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Bearer error="invalid_token"')
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, fmt, *args):  # no access log on stderr
            pass

    srv = http.server.ThreadingHTTPServer((addr, int(port)), Handler)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    srv.serve_forever(poll_interval=0.1)


# --- gRPC backend and client ---------------------------------------------------------------------

def grpc_backend(addr, port, plan, logpath):
    from concurrent import futures
    import grpc
    answers = load_answers(plan)
    log = JsonLog(logpath)

    def call(request, context):
        md = {k.lower(): v for k, v in context.invocation_metadata()}
        tok = bearer(md.get("authorization"))
        code = answers.get(sha256(tok), 16) if tok else 16
        peer = context.peer()                 # "ipv4:10.77.0.1:41234"
        log.write({"port": int(peer.rsplit(":", 1)[1]), "sha256": sha256(tok) if tok else None,
                   "path": GRPC_PATH, "grpc_status": code})
        if code != 0:
            status = {16: grpc.StatusCode.UNAUTHENTICATED, 7: grpc.StatusCode.PERMISSION_DENIED}
            context.abort(status.get(code, grpc.StatusCode.UNKNOWN), "token refused")
        return b"pong:" + request

    handler = grpc.method_handlers_generic_handler(
        SERVICE, {METHOD: grpc.unary_unary_rpc_method_handler(call)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    if not server.add_insecure_port("%s:%s" % (addr, port)):
        sys.exit("grpc-backend: cannot listen on %s:%s" % (addr, port))
    server.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    done.wait()
    server.stop(1).wait()


def grpc_client(target, name, cert, tokens_path, names):
    import grpc
    with open(cert, "rb") as f:
        root = f.read()
    with open(tokens_path) as f:
        tokens = json.load(f)["tokens"]
    opts = [("grpc.ssl_target_name_override", name), ("grpc.default_authority", name)]
    for n in names:
        # One channel per token: the token is the channel's call credentials, composed with
        # the TLS credentials that trust the test's self-signed certificate.
        creds = grpc.composite_channel_credentials(
            grpc.ssl_channel_credentials(root_certificates=root),
            grpc.access_token_call_credentials(tokens[n]))
        with grpc.secure_channel(target, creds, options=opts) as ch:
            stub = ch.unary_unary(GRPC_PATH)
            try:
                reply = stub(b"ping-" + n.encode(), timeout=15)
                got = {"name": n, "code": 0, "reply": reply.decode(errors="replace")}
            except grpc.RpcError as e:
                got = {"name": n, "code": e.code().value[0], "details": e.details()}
        print(json.dumps(got), flush=True)


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "mint" and len(argv) == 3:
        return mint(argv[2])
    if cmd == "http-backend" and len(argv) == 6:
        return http_backend(*argv[2:])
    if cmd == "grpc-backend" and len(argv) == 6:
        return grpc_backend(*argv[2:])
    if cmd == "grpc-client" and len(argv) >= 7:
        return grpc_client(argv[2], argv[3], argv[4], argv[5], argv[6:])
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
