"""A recording HTTP(S) origin for the integration tests of `detour check`.

Standard library only. An Origin listens on 127.0.0.1 on a free port (plain
HTTP, or HTTPS with a certificate from a test CA made at test time by the
openssl command line), answers each path as configured, and records every
request it receives: method, path, headers (in order, duplicates kept) and
body.

    o = Origin()
    o.route("/old", 301, [("Location", "/new")])
    o.route("/new", 200, body=b"ok")
    ... run detour ...
    assert [r.method for r in o.requests] == ["GET", "GET"]
    o.stop()
"""
import http.server
import os
import socketserver
import ssl
import subprocess
import threading


class Request:
    def __init__(self, method, path, headers, body, port):
        self.method = method
        self.path = path
        self.headers = headers  # list of (name, value)
        self.body = body
        self.port = port

    def header(self, name):
        """The first value of header name (case-insensitive), or None."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def __repr__(self):
        return "%s %s %r" % (self.method, self.path, self.headers)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _handler(origin):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def _any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            req = Request(self.command, self.path, list(self.headers.items()), body, origin.port)
            with origin.lock:
                origin.requests.append(req)
                spec = origin.lookup(self.path)
            if callable(spec):
                spec = spec(req)
            status, headers, rbody = spec
            self.send_response_only(status, origin.reasons.get(status))
            names = set()
            for k, v in headers:
                self.send_header(k, v)
                names.add(k.lower())
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(rbody)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(rbody)

        def __getattr__(self, name):
            if name.startswith("do_"):
                return self._any
            raise AttributeError(name)

    return H


class Origin:
    """One origin: http://127.0.0.1:PORT, or https with tls=(cert, key)."""

    reasons = {}

    def __init__(self, tls=None):
        self.lock = threading.Lock()
        self.requests = []
        self.routes = {}
        self.srv = _Server(("127.0.0.1", 0), _handler(self))
        self.port = self.srv.server_address[1]
        self.scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            ctx.set_alpn_protocols(["http/1.1"])
            self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
            self.scheme = "https"
        self.base = "%s://127.0.0.1:%d" % (self.scheme, self.port)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path, host="127.0.0.1"):
        return "%s://%s:%d%s" % (self.scheme, host, self.port, path)

    def route(self, path, status=200, headers=(), body=b""):
        """Answers path (with its query, or without when no route has it)."""
        if isinstance(body, str):
            body = body.encode()
        self.routes[path] = (status, list(headers), body)

    def handle(self, path, fn):
        """Answers path with fn(request) -> (status, headers, body)."""
        self.routes[path] = fn

    def lookup(self, path):
        if path in self.routes:
            return self.routes[path]
        bare = path.split("?", 1)[0]
        if bare in self.routes:
            return self.routes[bare]
        return (404, [("Content-Type", "text/plain")], b"not found")

    def reset(self):
        with self.lock:
            self.requests = []
            self.routes = {}

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def make_ca(dirname, names=("sts.test", "*.sts.test", "localhost", "a.localhost")):
    """Makes a test CA and a server certificate for names (and 127.0.0.1)
    with the openssl command line. Returns (ca_pem, cert_pem, key_pem)."""
    ca_key = os.path.join(dirname, "ca.key")
    ca = os.path.join(dirname, "ca.pem")
    key = os.path.join(dirname, "srv.key")
    csr = os.path.join(dirname, "srv.csr")
    cert = os.path.join(dirname, "srv.pem")
    ext = os.path.join(dirname, "ext.cnf")

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
        "-days", "2", "-subj", "/CN=detour test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=%s" % names[0])
    with open(ext, "w") as f:
        f.write("subjectAltName=%s,IP:127.0.0.1\n" % ",".join("DNS:" + n for n in names))
        f.write("extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key
