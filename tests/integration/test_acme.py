"""The built-in ACME client (RFC 8555) against Debian's pebble, the RFC 8555
test CA, with pebble-challtestsrv as the DNS server that resolves every name
to 127.0.0.1 (no AAAA answer: with one, pebble's validator dials only ::1).
pebble's validator connects to detour's own listeners (httpPort/tlsPort of
its config). Both are started and stopped here on free loopback ports, each
killed by its PID.

Cases: first issuance (HTTP-01 answered by detour, files 0600, the whole
chain, metrics), badNonce refusals retried (PEBBLE_WFE_NONCEREJECT), an
unknown challenge token falling through to the rules, renewal of a
short-lived certificate, a refused order (the CA's problem document in the
log), the CA unreachable (backoff, the stored certificate loaded and kept),
`detour serve -t`."""
import json
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, Server, free_port, wait_port

PEBBLE = shutil.which("pebble")
CHALLTESTSRV = shutil.which("pebble-challtestsrv")

pytestmark = pytest.mark.skipif(not PEBBLE or not CHALLTESTSRV,
                                reason="Debian's pebble is not installed")


def wait_tcp(port, proc, what, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited early (%s)" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("%s did not listen on %d" % (what, port))


def wait_udp_dns(port, timeout=10.0):
    """pebble-challtestsrv's DNS listens on UDP: ask it for an A record."""
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x04test\x00\x00\x01\x00\x01"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.3)
            try:
                s.sendto(q, ("127.0.0.1", port))
                if s.recv(512)[:2] == b"\x12\x34":
                    return
            except OSError:
                time.sleep(0.05)
    raise RuntimeError("challtestsrv's DNS did not answer on %d" % port)


class Pebble:
    """pebble + pebble-challtestsrv, with their own TLS certificate."""

    def __init__(self, tmp, http_port, tls_port, validity=None, nonce_reject=5,
                 blocklist=()):
        self.dir = tmp
        self.port = free_port()
        self.mgmt = free_port()
        self.dns = free_port()
        self.cts_mgmt = free_port()
        self.cert = tmp / "pebble.crt"
        self.key = tmp / "pebble.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(self.key),
                        "-out", str(self.cert), "-days", "2", "-subj", "/CN=pebble",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
        self.conf = tmp / "pebble.json"
        self.settings = {
            "certificate": str(self.cert), "privateKey": str(self.key),
            "httpPort": http_port, "tlsPort": tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": False,
            "domainBlocklist": list(blocklist),
        }
        if validity:
            self.settings["certificateValidityPeriod"] = validity
        self.write_conf()
        self.env = dict(os.environ, PEBBLE_VA_NOSLEEP="1",
                        PEBBLE_WFE_NONCEREJECT=str(nonce_reject))
        self.cts = self.proc = None

    def write_conf(self):
        conf = dict(self.settings, listenAddress="127.0.0.1:%d" % self.port,
                    managementListenAddress="127.0.0.1:%d" % self.mgmt)
        self.conf.write_text(json.dumps({"pebble": conf}))

    def log_since(self, offset):
        """The last 1,500 bytes pebble wrote to its log from byte offset on."""
        with open(self.dir / "pebble.log", "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")[-1500:]

    @property
    def directory(self):
        return "https://127.0.0.1:%d/dir" % self.port

    def start(self):
        if self.cts is None:
            self.cts = subprocess.Popen(
                [CHALLTESTSRV, "-dns01", "127.0.0.1:%d" % self.dns, "-http01", "",
                 "-https01", "", "-tlsalpn01", "", "-management",
                 "127.0.0.1:%d" % self.cts_mgmt, "-defaultIPv6", ""],
                stdout=open(self.dir / "cts.log", "ab"), stderr=subprocess.STDOUT)
            wait_udp_dns(self.dns)
        # A free port can be taken by another process between free_port() and
        # pebble's bind (CI once lost a run to it): on "address already in
        # use", pebble's own two listeners get fresh ports and it starts again.
        # Any other early exit fails with pebble's log.
        for attempt in range(3):
            out = open(self.dir / "pebble.log", "ab")
            seen = out.tell()  # append mode: the end of what earlier starts wrote
            self.proc = subprocess.Popen(
                [PEBBLE, "-config", str(self.conf), "-dnsserver", "127.0.0.1:%d" % self.dns],
                stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=str(self.dir))
            try:
                wait_tcp(self.port, self.proc, "pebble")
                return self
            except RuntimeError as e:
                self.stop_pebble()
                log = self.log_since(seen)
                if "address already in use" not in log or attempt == 2:
                    raise RuntimeError("%s; pebble's log ends:\n%s" % (e, log)) from None
                self.port, self.mgmt = free_port(), free_port()
                self.write_conf()

    def root(self):
        """The CA's root (management endpoint /roots/0), PEM."""
        ctx = ssl.create_default_context(cafile=str(self.cert))
        with urllib.request.urlopen("https://127.0.0.1:%d/roots/0" % self.mgmt,
                                    context=ctx, timeout=5) as r:
            return r.read().decode()

    def stop_pebble(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        self.stop_pebble()
        if self.cts and self.cts.poll() is None:
            self.cts.kill()
            self.cts.wait()


@pytest.fixture
def pebble_factory(tmp_path):
    made = []

    def make(http_port, tls_port=0, **kw):
        d = tmp_path / ("pebble%d" % len(made))
        d.mkdir()
        p = Pebble(d, http_port, tls_port or free_port(), **kw)
        made.append(p)
        return p.start()

    yield make
    for p in made:
        p.stop()


@pytest.fixture
def servers():
    made = []
    yield made
    for s in made:
        s.stop()


def acme_server(tmp_path, pebble, port, rules, servers, extra="", name="d", env=None,
                listen=None):
    d = tmp_path / name
    d.mkdir(exist_ok=True)
    conf = ("state-dir state\n"
            "acme %s\nacme-email ops@example.test\nacme-ca %s\n" % (pebble.directory, pebble.cert)
            + extra)
    s = Server(d, rules, conf_extra=conf, listen=listen or ["127.0.0.1:%d" % port])
    s.port = port
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        s.start()
    finally:
        os.environ.clear()
        os.environ.update(old)
    servers.append(s)
    return s


def state_dir(s, pebble):
    return s.dir / "state" / "acme" / ("127.0.0.1_%d" % pebble.port)


def chain_certs(pem):
    return re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)


def serial_of(pem):
    out = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem.encode(),
                         capture_output=True, check=True).stdout.decode()
    return out.strip().split("=")[1]


def http_get(port, path, host):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (path, host)).encode())
        data = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
    return data


RULES = "//www.example.test/a /b 301\n//shop.example.test/* https://www.example.test/:splat 308\n"


def test_first_issuance(tmp_path, pebble_factory, servers):
    port = free_port()
    # Half of the nonces refused (pebble draws at random): the dozen
    # signed requests of two orders meet badNonce all but once in 4096
    # runs, and each is retried with the fresh nonce of the refusal
    # (RFC 8555 §6.5), up to 20 times (a 1 in 10^6 chance to give up).
    # A fifth refused meant no refusal at all in one CI run out of ten.
    pebble = pebble_factory(port, nonce_reject=50)
    s = acme_server(tmp_path, pebble, port, RULES, servers,
                    extra="admin 127.0.0.1:%d\n" % free_port())
    log = s.wait_log("acme: www.example.test: certificate issued", timeout=60)
    log = s.wait_log("acme: shop.example.test: certificate issued", timeout=60)
    assert "acme: www.example.test: answering http-01 (token " in log
    assert "error" not in log, log
    retried = sum(int(n) for n in re.findall(r"; (\d+) badNonce refusals retried", log))
    assert retried > 0, log

    sd = state_dir(s, pebble)
    for name in ("account.key", "www.example.test.crt", "www.example.test.key",
                 "shop.example.test.crt", "shop.example.test.key"):
        st = os.stat(sd / name)
        assert stat.S_IMODE(st.st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(sd).st_mode) == 0o700
    chain = (sd / "www.example.test.crt").read_text()
    certs = chain_certs(chain)
    assert len(certs) >= 2  # leaf + intermediate(s): the whole chain is kept
    # The leaf names the host and was issued by the intermediate under
    # pebble's root.
    (tmp_path / "chain.pem").write_text("".join(c + "\n" for c in certs[1:]))
    (tmp_path / "leaf.pem").write_text(certs[0] + "\n")
    (tmp_path / "root.pem").write_text(pebble.root())
    v = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "root.pem"),
                        "-untrusted", str(tmp_path / "chain.pem"), str(tmp_path / "leaf.pem")],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    txt = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
                          str(tmp_path / "leaf.pem")], capture_output=True, text=True).stdout
    assert "DNS:www.example.test" in txt
    # No temporary file left behind by the atomic writes.
    assert sorted(os.listdir(sd)) == ["account.key", "shop.example.test.crt",
                                      "shop.example.test.key", "www.example.test.crt",
                                      "www.example.test.key"]

    # /metrics: expiry per host, orders by result.
    admin_port = int(re.search(r"admin 127.0.0.1:(\d+)", s.conf_path.read_text()).group(1))
    m = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin_port, timeout=5).read()
    m = m.decode()
    exp = re.search(r'^detour_tls_cert_expiry_seconds\{host="www.example.test"\} (\d+)$', m, re.M)
    assert exp and int(exp.group(1)) > time.time()
    assert re.search(r'^detour_acme_orders_total\{result="ok"\} 2$', m, re.M), m
    assert re.search(r'^detour_acme_orders_total\{result="error"\} 0$', m, re.M), m


def test_http01_unknown_token_falls_through(tmp_path, pebble_factory, servers):
    port = free_port()
    pebble = pebble_factory(port)
    rules = RULES + "/.well-known/acme-challenge/* /elsewhere/:splat 302\n"
    s = acme_server(tmp_path, pebble, port, rules, servers)
    s.wait_log("acme: www.example.test: certificate issued", timeout=60)
    r = http_get(port, "/.well-known/acme-challenge/unknown_token", "www.example.test")
    assert r.startswith(b"HTTP/1.1 302 "), r
    assert b"\r\nLocation: /elsewhere/unknown_token\r\n" in r
    # The answers pebble fetched were 200 text/plain with the key
    # authorization, logged as such.
    alog = s.access_log.read_text()
    assert re.search(r'"GET /\.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1\.1" 200 ', alog), alog


def test_renewal_of_short_lived_certificate(tmp_path, pebble_factory, servers):
    port = free_port()
    pebble = pebble_factory(port, validity=15)
    s = acme_server(tmp_path, pebble, port, "//www.example.test/a /b 301\n", servers)
    s.wait_log("acme: www.example.test: certificate issued", timeout=60)
    sd = state_dir(s, pebble)
    first = serial_of((sd / "www.example.test.crt").read_text())
    # Two thirds of 15 s, less up to half a second of jitter.
    log = s.wait_log("acme: www.example.test: renewing", timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log = s.read_error_log()
        if log.count("acme: www.example.test: certificate issued") >= 2:
            break
        time.sleep(0.1)
    assert log.count("acme: www.example.test: certificate issued") >= 2, log
    second = serial_of((sd / "www.example.test.crt").read_text())
    assert second != first


def test_refused_order_shows_the_ca_error(tmp_path, pebble_factory, servers):
    port = free_port()
    pebble = pebble_factory(port, blocklist=["blocked.example.test"])
    admin = free_port()
    s = acme_server(tmp_path, pebble, port, "//blocked.example.test/a /b 301\n", servers,
                    env={"DETOUR_ACME_BACKOFF_MS": "400"}, extra="admin 127.0.0.1:%d\n" % admin)
    log = s.wait_log("attempt 2 failed", timeout=30)
    assert ("error: acme: blocked.example.test: newOrder: https://127.0.0.1:%d/order-plz: "
            "HTTP 400, urn:ietf:params:acme:error:rejectedIdentifier: Order included an "
            "identifier for which issuance is forbidden by policy: \"blocked.example.test\"; "
            "attempt 1 failed, retrying in " % pebble.port) in log, log
    assert "until then its handshakes fail" in log
    # Exponential: the second wait is about twice the first (jitter 3/4..5/4).
    waits = [int(w) for w in re.findall(r"attempt \d failed, retrying in (\d+) s", log)]
    assert waits[0] <= 1 and waits[1] <= 1, waits
    # The server keeps answering meanwhile.
    r = http_get(port, "/a", "blocked.example.test")
    assert r.startswith(b"HTTP/1.1 301 ")
    assert not (state_dir(s, pebble) / "blocked.example.test.crt").exists()
    m = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % admin, timeout=5).read().decode()
    errors = re.search(r'^detour_acme_orders_total\{result="error"\} (\d+)$', m, re.M)
    assert errors and int(errors.group(1)) >= 2, m
    assert re.search(r'^detour_acme_orders_total\{result="ok"\} 0$', m, re.M), m
    assert "detour_tls_cert_expiry_seconds{" not in m


def test_ca_unreachable_backoff_and_old_certificate_kept(tmp_path, pebble_factory, servers):
    port, tls_port = free_port(), free_port()
    pebble = pebble_factory(port, tls_port, validity=30)
    listen = ["127.0.0.1:%d" % port, "127.0.0.1:%d tls" % tls_port]
    s = acme_server(tmp_path, pebble, port, "//www.example.test/a /b 301\n", servers,
                    listen=listen)
    s.wait_log("acme: www.example.test: certificate issued", timeout=60)
    sd = state_dir(s, pebble)
    chain = (sd / "www.example.test.crt").read_text()
    s.stop()
    pebble.stop_pebble()  # the CA is gone

    # A restart loads the stored certificate; its renewal (due 20 s after
    # issuance) fails against the closed port, retried with backoff, and the
    # stored certificate stays.
    s2 = Server(s.dir, "//www.example.test/a /b 301\n",
                conf_extra=s.conf_path.read_text().split("error-log error.log\n", 1)[1],
                listen=listen)
    s2.port = port
    s2.error_log.write_text("")
    old = dict(os.environ)
    os.environ["DETOUR_ACME_BACKOFF_MS"] = "300"
    try:
        s2.start()
    finally:
        os.environ.clear()
        os.environ.update(old)
    servers.append(s2)
    log = s2.wait_log("acme: www.example.test: certificate from", timeout=10)
    assert "loaded, valid until" in log
    log = s2.wait_log("attempt 3 failed", timeout=40)
    assert re.search(r"error: acme: www\.example\.test: https://127\.0\.0\.1:%d/dir: .*[Cc]onnect"
                     % pebble.port, log), log
    assert "the current certificate (valid until" in log and "keeps serving" in log
    assert (sd / "www.example.test.crt").read_text() == chain
    r = http_get(port, "/a", "www.example.test")
    assert r.startswith(b"HTTP/1.1 301 ")
    # The stored certificate serves TLS, loaded before the first handshake.
    assert served_serial(tls_port, "www.example.test") == serial_of(chain)


def test_serve_t_checks_acme_without_the_ca(tmp_path):
    (tmp_path / "site.rules").write_text("//www.example.test/a /b 301\n//*.w.example.test/a /b 301\n")
    (tmp_path / "ca.pem").write_text("not a certificate\n")
    conf = tmp_path / "detour.conf"
    base = ("listen 127.0.0.1:%d\nrules site.rules\nstate-dir state\n"
            "acme https://127.0.0.1:1/dir\nacme-hosts extra.example.test\n" % free_port())
    conf.write_text(base)
    r = subprocess.run([BIN, "serve", "-t", "-c", str(conf)], capture_output=True, text=True,
                       cwd=str(tmp_path), timeout=10)
    assert r.returncode == 0, r.stderr
    assert "detour: acme: 2 hosts to certify: extra.example.test www.example.test\n" in r.stdout
    assert "detour: acme: *.w.example.test: no certificate: a wildcard needs DNS-01" in r.stdout
    assert not (tmp_path / "state").exists()  # nothing written, nobody contacted

    conf.write_text(base + "acme-ca ca.pem\n")
    r = subprocess.run([BIN, "serve", "-t", "-c", str(conf)], capture_output=True, text=True,
                       cwd=str(tmp_path), timeout=10)
    assert r.returncode == 1
    assert "acme-ca %s: no PEM certificate in it" % (tmp_path / "ca.pem") in r.stderr


def curl_https(tls_port, host, path, root):
    """curl over TLS with pebble's root as the only trust anchor: the chain
    detour serves must lead to it."""
    return subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
         "--cacert", str(root), "--resolve", "%s:%d:127.0.0.1" % (host, tls_port),
         "https://%s:%d%s" % (host, tls_port, path)],
        capture_output=True, text=True, timeout=15)


def served_serial(tls_port, host):
    r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % tls_port,
                        "-servername", host], input="", capture_output=True, text=True,
                       timeout=15)
    m = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", r.stdout, re.S)
    return serial_of(m.group(0)) if m else None


def test_tls_serves_the_new_certificate_and_on_demand(tmp_path, pebble_factory, servers):
    port, tls_port = free_port(), free_port()
    pebble = pebble_factory(port, tls_port)
    rules = RULES + "//*.wild.example.test/x /y 302\n"
    s = acme_server(tmp_path, pebble, port, rules, servers,
                    listen=["127.0.0.1:%d" % port, "127.0.0.1:%d tls" % tls_port])
    s.wait_log("acme: www.example.test: certificate issued", timeout=60)
    root = tmp_path / "root.pem"
    root.write_text(pebble.root())
    r = curl_https(tls_port, "www.example.test", "/a", root)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "301 https://www.example.test:%d/b" % tls_port, r.stdout
    sd = state_dir(s, pebble)
    assert served_serial(tls_port, "www.example.test") == serial_of(
        (sd / "www.example.test.crt").read_text())

    # A name no rule names: the handshake fails and no order starts.
    r = curl_https(tls_port, "nobody.example.test", "/x", root)
    assert r.returncode != 0
    s.wait_log("acme: nobody.example.test: a handshake asked for it, but no rule names it: "
               "no order", timeout=10)
    # A name under a wildcard rule: the first handshake fails, and starts an
    # order on demand; once issued, it is served.
    r = curl_https(tls_port, "a.wild.example.test", "/x", root)
    assert r.returncode != 0
    s.wait_log("acme: a.wild.example.test: on demand (a handshake asked, a rule names it)",
               timeout=10)
    s.wait_log("acme: a.wild.example.test: certificate issued", timeout=60)
    r = curl_https(tls_port, "a.wild.example.test", "/x", root)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("302 "), r.stdout
    assert not (sd / "nobody.example.test.crt").exists()


def test_tls_alpn_01_on_a_tls_only_server(tmp_path, pebble_factory, servers):
    tls_port = free_port()
    pebble = pebble_factory(free_port(), tls_port)
    s = acme_server(tmp_path, pebble, tls_port, "//alpn.example.test/a /b 301\n", servers,
                    listen=["127.0.0.1:%d tls" % tls_port])
    log = s.wait_log("acme: alpn.example.test: certificate issued", timeout=60)
    assert "acme: alpn.example.test: answering tls-alpn-01 (token " in log
    assert "challenges: tls-alpn-01" in log
    root = tmp_path / "root.pem"
    root.write_text(pebble.root())
    r = curl_https(tls_port, "alpn.example.test", "/a", root)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("301 "), r.stdout


def test_reload_naming_a_new_host_starts_its_order(tmp_path, pebble_factory, servers):
    import signal
    port = free_port()
    pebble = pebble_factory(port)
    s = acme_server(tmp_path, pebble, port, "//www.example.test/a /b 301\n", servers)
    s.wait_log("acme: www.example.test: certificate issued", timeout=60)
    s.rules_path.write_text("//www.example.test/a /b 301\n//new.example.test/a /b 301\n")
    s.signal(signal.SIGHUP)
    s.wait_log("acme: new.example.test: certificate issued", timeout=60)


def test_api_rule_naming_a_new_host_starts_its_order(tmp_path, pebble_factory, servers):
    port, admin = free_port(), free_port()
    pebble = pebble_factory(port)
    s = acme_server(tmp_path, pebble, port, "//www.example.test/a /b 301\n", servers,
                    extra="admin 127.0.0.1:%d\n" % admin)
    s.wait_log("acme: www.example.test: certificate issued", timeout=60)
    req = urllib.request.Request("http://127.0.0.1:%d/rules" % admin, method="POST",
                                 data=json.dumps({"rule": "//api.example.test/p /q 302"}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 201
    s.wait_log("acme: api.example.test: certificate issued", timeout=60)


def test_http01_answered_before_maintenance(tmp_path, pebble_factory, servers):
    port = free_port()
    pebble = pebble_factory(port)
    s = acme_server(tmp_path, pebble, port, "//www.example.test/a /b 301\n", servers,
                    extra="maintenance /down on\n")
    s.wait_log("acme: www.example.test: certificate issued", timeout=60)
    r = http_get(port, "/a", "www.example.test")
    assert r.startswith(b"HTTP/1.1 307 ") and b"\r\nLocation: /down\r\n" in r, r
    alog = s.access_log.read_text()
    assert re.search(r'"GET /\.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1\.1" 200 ', alog), alog


def test_http01_answered_before_https_redirect(tmp_path, pebble_factory, servers):
    port = free_port()
    pebble = pebble_factory(port)
    s = acme_server(tmp_path, pebble, port, "//www.example.test/a /b 301\n", servers,
                    extra="https-redirect\n")
    s.wait_log("acme: www.example.test: certificate issued", timeout=60)
    r = http_get(port, "/a", "www.example.test")
    assert r.startswith(b"HTTP/1.1 301 ") or r.startswith(b"HTTP/1.1 308 "), r
    assert b"\r\nLocation: https://www.example.test/" in r, r
    alog = s.access_log.read_text()
    assert re.search(r'"GET /\.well-known/acme-challenge/[A-Za-z0-9_-]+ HTTP/1\.1" 200 ', alog), alog
