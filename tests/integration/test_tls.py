"""TLS listeners (issue 9): a throw-away CA made with openssl in a temp dir,
an ECDSA P-256 certificate (a.test, *.wild.test) and an RSA one (b.test);
SNI, ALPN, protocol versions, resumption, certificate reload on file change
and on SIGHUP (a broken pair keeps the old one), the handshake timeout, plain
HTTP to a TLS port, scheme rules, curl end to end, `serve -t`."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, free_port

RULES = """\
https://a.test/x  https://new.test/y 301
http://a.test/x   https://plain.test/y 302
/foo /bar 308
"""


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, check=True, **kw)


def make_cert(d, name, sans, kind, ca="ca"):
    key = d / (name + ".key")
    pem = d / (name + ".pem")
    if kind == "ec":
        newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    else:
        newkey = ["-newkey", "rsa:2048"]
    run("openssl", "req", *newkey, "-nodes", "-keyout", str(key), "-out", str(d / (name + ".csr")),
        "-subj", "/CN=" + sans[0])
    ext = d / (name + ".ext")
    ext.write_text("subjectAltName=" + ",".join("DNS:" + s for s in sans) + "\n")
    run("openssl", "x509", "-req", "-in", str(d / (name + ".csr")), "-CA", str(d / (ca + ".pem")),
        "-CAkey", str(d / (ca + ".key")), "-CAcreateserial", "-out", str(pem), "-days", "30",
        "-extfile", str(ext))
    return pem, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"), "-days", "30",
        "-subj", "/CN=detour test CA")
    make_cert(d, "a", ["a.test", "*.wild.test"], "ec")
    make_cert(d, "b", ["b.test"], "rsa")
    make_cert(d, "a2", ["a.test", "a2.test"], "ec")  # a renewal of a, one name more
    return d


class TlsServer:
    def __init__(self, srv, tls_port, admin_port):
        self.srv, self.tls_port, self.admin_port = srv, tls_port, admin_port


@pytest.fixture
def tls_server(make_server, pki, tmp_path):
    def make(conf_extra="", rules=RULES, copy=False, workers=1):
        tls_port, admin_port = free_port(), free_port()
        d = pki
        if copy:
            d = tmp_path / "certs"
            d.mkdir(exist_ok=True)
            for f in ("a.pem", "a.key", "b.pem", "b.key"):
                shutil.copy(pki / f, d / f)
        conf = ("tls-cert %s %s\ntls-cert %s %s\nadmin 127.0.0.1:%d\n" %
                (d / "a.pem", d / "a.key", d / "b.pem", d / "b.key", admin_port)) + conf_extra
        srv = make_server(rules, listen=["127.0.0.1:{port}", "127.0.0.1:%d tls" % tls_port],
                          conf_extra=conf, workers=workers)
        t = TlsServer(srv, tls_port, admin_port)
        t.certs = d
        return t
    return make


def s_client(port, *args, data=b"", timeout=10):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, *args],
                       input=data, capture_output=True, timeout=timeout)
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def peer_cn(out):
    m = re.search(r"subject=CN ?= ?(\S+)", out)
    return m.group(1) if m else None


def metrics(t):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % t.admin_port, timeout=5) as r:
        return r.read().decode()


def handshakes(t):
    text = metrics(t)
    ok = int(re.search(r'detour_tls_handshakes_total\{result="ok"\} (\d+)', text).group(1))
    err = int(re.search(r'detour_tls_handshakes_total\{result="error"\} (\d+)', text).group(1))
    return ok, err


def test_sni_picks_the_certificate(tls_server, pki):
    t = tls_server()
    ca = ["-CAfile", str(pki / "ca.pem"), "-verify_return_error"]
    out = s_client(t.tls_port, "-servername", "a.test", *ca)
    assert peer_cn(out) == "a.test" and "Verify return code: 0 (ok)" in out
    assert "Server public key is 256 bit" in out  # ECDSA P-256
    out = s_client(t.tls_port, "-servername", "b.test", *ca)
    assert peer_cn(out) == "b.test" and "Verify return code: 0 (ok)" in out
    assert "Server public key is 2048 bit" in out  # RSA
    # RFC 6125 wildcard: one label
    out = s_client(t.tls_port, "-servername", "x.wild.test", *ca)
    assert peer_cn(out) == "a.test" and "Verify return code: 0 (ok)" in out
    # no SNI: the first tls-cert; an unknown name: the first too (no ACME)
    assert peer_cn(s_client(t.tls_port, "-noservername")) == "a.test"
    assert peer_cn(s_client(t.tls_port, "-servername", "other.test")) == "a.test"
    assert peer_cn(s_client(t.tls_port, "-servername", "a.b.wild.test")) == "a.test"
    assert handshakes(t) == (6, 0)


def test_alpn(tls_server):
    t = tls_server()
    # the server's preference, h2 first (http2 on by default; test_h2.py)
    out = s_client(t.tls_port, "-servername", "a.test", "-alpn", "http/1.1,h2")
    assert "ALPN protocol: h2" in out
    out = s_client(t.tls_port, "-servername", "a.test", "-alpn", "http/1.1")
    assert "ALPN protocol: http/1.1" in out
    out = s_client(t.tls_port, "-servername", "a.test")
    assert "No ALPN negotiated" in out
    # RFC 7301 §3.2: nothing in common is a no_application_protocol alert
    out = s_client(t.tls_port, "-servername", "a.test", "-alpn", "spdy/3")
    assert "alert no application protocol" in out
    # acme-tls/1 without a challenge certificate for the name: refused too
    out = s_client(t.tls_port, "-servername", "a.test", "-alpn", "acme-tls/1")
    assert "alert no application protocol" in out


def test_versions(tls_server):
    t = tls_server()
    out = s_client(t.tls_port, "-servername", "a.test", "-tls1_1")
    assert "alert protocol version" in out and "Cipher is (NONE)" in out
    out = s_client(t.tls_port, "-servername", "a.test", "-tls1_2")
    assert "Protocol  : TLSv1.2" in out
    assert re.search(r"Cipher is ECDHE-ECDSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)", out)
    # Mozilla intermediate: no CBC suites over TLS 1.2
    out = s_client(t.tls_port, "-servername", "a.test", "-tls1_2", "-cipher",
                   "ECDHE-ECDSA-AES128-SHA256")
    assert "handshake failure" in out
    out = s_client(t.tls_port, "-servername", "a.test", "-tls1_3")
    assert "New, TLSv1.3" in out


REQ = b"GET /foo HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"


def test_resumption(tls_server, tmp_path):
    t = tls_server()
    sess = str(tmp_path / "sess")
    # TLS 1.3 tickets (the ticket arrives after the handshake: read to the end)
    out = s_client(t.tls_port, "-servername", "a.test", "-sess_out", sess, "-ign_eof", data=REQ)
    assert "New, TLSv1.3" in out and "HTTP/1.1 308 Permanent Redirect" in out
    out = s_client(t.tls_port, "-servername", "a.test", "-sess_in", sess, "-sess_out",
                   sess + "2", "-ign_eof", data=REQ)
    assert "Reused, TLSv1.3" in out and "HTTP/1.1 308 Permanent Redirect" in out
    # A resumption gets a new ticket (clients use a TLS 1.3 ticket once, RFC
    # 8446 §C.4): the chain goes on resuming.
    for i in range(2, 5):
        out = s_client(t.tls_port, "-servername", "a.test", "-sess_in", sess + str(i),
                       "-sess_out", sess + str(i + 1), "-ign_eof", data=REQ)
        assert "Reused, TLSv1.3" in out
    # TLS 1.2 without tickets: the session cache
    sess2 = str(tmp_path / "sess2")
    out = s_client(t.tls_port, "-servername", "a.test", "-tls1_2", "-no_ticket", "-sess_out",
                   sess2, "-ign_eof", data=REQ)
    assert "New, TLSv1.2" in out
    out = s_client(t.tls_port, "-servername", "a.test", "-tls1_2", "-no_ticket", "-sess_in",
                   sess2, "-ign_eof", data=REQ)
    assert "Reused, TLSv1.2" in out
    # TLS 1.2 tickets
    sess3 = str(tmp_path / "sess3")
    s_client(t.tls_port, "-servername", "a.test", "-tls1_2", "-sess_out", sess3, "-ign_eof",
             data=REQ)
    out = s_client(t.tls_port, "-servername", "a.test", "-tls1_2", "-sess_in", sess3,
                   "-ign_eof", data=REQ)
    assert "Reused, TLSv1.2" in out


def curl(t, pki, host, path, scheme="https"):
    port = t.tls_port if scheme == "https" else t.srv.port
    p = subprocess.run(["curl", "-s", "-i", "--http1.1", "--cacert", str(pki / "ca.pem"), "--resolve",
                        "%s:%d:127.0.0.1" % (host, port), "%s://%s:%d%s" % (scheme, host, port, path)],
                       capture_output=True, timeout=10)
    assert p.returncode == 0, p.stderr
    return p.stdout


def strip_date(b):
    return re.sub(rb"Date: [^\r]+\r\n", b"", b)


def test_curl_and_scheme_rules(tls_server, pki):
    t = tls_server()
    # https://a.test/x matches only over TLS, http://a.test/x only plain
    got = strip_date(curl(t, pki, "a.test", "/x"))
    assert got == (b"HTTP/1.1 301 Moved Permanently\r\n"
                   b"Location: https://new.test/y\r\n"
                   b"Content-Type: text/html; charset=utf-8\r\n"
                   b"Content-Length: 105\r\n\r\n"
                   b"<!DOCTYPE html>\n<title>301 Moved Permanently</title>\n"
                   b"<p><a href=\"https://new.test/y\">Redirecting</a></p>\n")
    got = strip_date(curl(t, pki, "a.test", "/x", scheme="http"))
    assert got.startswith(b"HTTP/1.1 302 Found\r\nLocation: https://plain.test/y\r\n")
    got = strip_date(curl(t, pki, "b.test", "/foo"))
    assert got.startswith(b"HTTP/1.1 308 Permanent Redirect\r\nLocation: /bar\r\n")
    got = strip_date(curl(t, pki, "b.test", "/nope"))
    assert got.startswith(b"HTTP/1.1 404 Not Found\r\n")


def test_pipelined_and_large_over_tls(tls_server):
    t = tls_server()
    # 50 pipelined requests in one write: 50 answers, in order
    reqs = b"".join(b"GET /foo?%d HTTP/1.1\r\nHost: a.test\r\n\r\n" % i for i in range(49))
    reqs += b"GET /foo HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    out = s_client(t.tls_port, "-servername", "a.test", "-ign_eof", "-quiet", data=reqs)
    assert out.count("HTTP/1.1 308 Permanent Redirect") == 50
    assert "Location: /bar?48" in out
    # 400 requests (about 20 KiB: more than one TLS record and more than the
    # connection's first input buffer; decrypted bytes wait in the SSL), then
    # a head of 6000 bytes (the buffer grows): every answer, in order.
    reqs = b"".join(b"GET /foo?%04d HTTP/1.1\r\nHost: a.test\r\n\r\n" % i for i in range(400))
    reqs += b"GET /foo?big HTTP/1.1\r\nHost: a.test\r\nX-Pad: " + b"p" * 6000 + b"\r\n\r\n"
    reqs += b"GET /foo?last HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    out = s_client(t.tls_port, "-servername", "a.test", "-ign_eof", "-quiet", data=reqs)
    locs = re.findall(r"Location: (\S+)", out)
    assert locs == ["/bar?%04d" % i for i in range(400)] + ["/bar?big", "/bar?last"]


def test_handshake_timeout_and_plain_http(tls_server):
    t = tls_server(conf_extra="timeout header 1s\n")
    # A connection that never sends a ClientHello is closed by the header timeout.
    with socket.create_connection(("127.0.0.1", t.tls_port), timeout=5) as s:
        t0 = time.monotonic()
        assert s.recv(100) == b""
        assert 0.8 < time.monotonic() - t0 < 3.5
    # Half a ClientHello: the same.
    with socket.create_connection(("127.0.0.1", t.tls_port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        t0 = time.monotonic()
        assert s.recv(100) == b""
        assert 0.8 < time.monotonic() - t0 < 3.5
    # Plain HTTP to the TLS port: closed (an alert at most), no crash.
    with socket.create_connection(("127.0.0.1", t.tls_port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
        data = b""
        try:
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
        except ConnectionResetError:
            pass
        assert b"HTTP/1.1" not in data
        assert len(data) < 10  # at most one alert record header
    assert handshakes(t) == (0, 3)
    # still serving
    out = s_client(t.tls_port, "-servername", "b.test", "-ign_eof", data=REQ)
    assert "HTTP/1.1 308 Permanent Redirect" in out
    assert handshakes(t) == (1, 3)


def serial(out):
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", out, re.S)
    p = subprocess.run(["openssl", "x509", "-noout", "-serial", "-ext", "subjectAltName"],
                       input=m.group(0).encode(), capture_output=True)
    return p.stdout.decode()


def wait_for(pred, timeout=6.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def test_reload_on_file_change(tls_server, pki):
    t = tls_server(copy=True)
    d = t.certs
    assert "a2.test" not in serial(s_client(t.tls_port, "-servername", "a.test"))
    # A renewal: the new pair is written in place (certbot's way: cert, then key).
    shutil.copy(pki / "a2.pem", d / "a.pem.tmp")
    shutil.copy(pki / "a2.key", d / "a.key.tmp")
    os.rename(d / "a.pem.tmp", d / "a.pem")
    os.rename(d / "a.key.tmp", d / "a.key")
    assert wait_for(lambda: "a2.test" in serial(s_client(t.tls_port, "-servername", "a.test")))
    t.srv.wait_log("a certificate file changed: 2 certificates reloaded")
    # A broken pair (b's key under a's certificate): logged with the file and
    # the reason, the renewed certificate keeps serving.
    shutil.copy(pki / "b.key", d / "a.key")
    text = t.srv.wait_log("reload failed")
    assert "%s: the key does not match the certificate %s" % (d / "a.key", d / "a.pem") in text
    assert "the old certificates keep serving" in text
    time.sleep(1.5)  # polled again: no second report of the same files
    assert t.srv.read_error_log().count("reload failed") == 1
    assert "a2.test" in serial(s_client(t.tls_port, "-servername", "a.test"))
    assert "(an EC key for an RSA certificate)" not in text  # a's cert is EC: a's key was RSA
    assert "(an RSA key for an EC certificate)" in text
    # Fixed: reloaded. Then a missing certificate file: logged, the old one serves.
    shutil.copy(pki / "a2.key", d / "a.key")
    t.srv.wait_log("a certificate file changed: 2 certificates reloaded\n", timeout=5)
    os.unlink(d / "b.pem")
    text = t.srv.wait_log("%s: No such file or directory" % (d / "b.pem"))
    out = s_client(t.tls_port, "-servername", "b.test")
    assert peer_cn(out) == "b.test"


def test_reload_on_sighup(tls_server, pki):
    t = tls_server(copy=True)
    d = t.certs
    # SIGHUP with a broken pair: the error names the file, old certificate serves.
    (d / "b.pem").write_text("not a certificate\n")
    # (the file poll may see it first: both paths must say the same)
    t.srv.signal(signal.SIGHUP)
    text = t.srv.wait_log("reloaded:")
    text = t.srv.wait_log("%s: no PEM certificate" % (d / "b.pem"))
    assert "old certificates keep serving" in text
    out = s_client(t.tls_port, "-servername", "b.test")
    assert peer_cn(out) == "b.test"
    assert "Server public key is 2048 bit" in out
    # A good pair again, then SIGHUP: the new one serves.
    shutil.copy(pki / "a2.pem", d / "b.pem")
    shutil.copy(pki / "a2.key", d / "b.key")
    t.srv.signal(signal.SIGHUP)
    assert wait_for(lambda: "a2.test" in serial(s_client(t.tls_port, "-servername", "a2.test")))


def test_serve_t_reports_bad_pairs(pki, tmp_path):
    rules = tmp_path / "site.rules"
    rules.write_text(RULES)
    conf = tmp_path / "detour.conf"
    conf.write_text("listen 127.0.0.1:1 tls\nrules site.rules\ntls-cert %s %s\ntls-cert %s %s\n" %
                    (pki / "a.pem", pki / "a.key", tmp_path / "missing.pem", pki / "b.key"))
    p = subprocess.run([BIN, "serve", "-t", "-c", str(conf)], capture_output=True, cwd=str(tmp_path))
    assert p.returncode == 1
    assert ("tls-cert (line 4): %s: No such file or directory" % (tmp_path / "missing.pem")
            ).encode() in p.stderr
    conf.write_text("listen 127.0.0.1:1 tls\nrules site.rules\ntls-cert %s %s\n" %
                    (pki / "a.pem", pki / "b.key"))
    p = subprocess.run([BIN, "serve", "-t", "-c", str(conf)], capture_output=True, cwd=str(tmp_path))
    assert p.returncode == 1
    assert b"the key does not match the certificate" in p.stderr
    conf.write_text("listen 127.0.0.1:1 tls\nrules site.rules\ntls-cert %s %s\n" %
                    (pki / "b.pem", pki / "b.key"))
    p = subprocess.run([BIN, "serve", "-t", "-c", str(conf)], capture_output=True, cwd=str(tmp_path))
    assert p.returncode == 0, p.stderr


def test_handshakes_during_reloads(tls_server, pki):
    """Two workers handshake (new sessions and resumed ones) while the main
    thread reloads the certificates: every handshake completes with a
    certificate of the right name (make tsan runs this file)."""
    import concurrent.futures
    t = tls_server(copy=True, workers=2)
    sess = str(t.certs / "sess")
    s_client(t.tls_port, "-servername", "b.test", "-sess_out", sess, "-ign_eof", data=REQ)

    def one(i):
        name = ("a.test", "b.test", "x.wild.test")[i % 3]
        args = ["-servername", name, "-ign_eof"]
        if i % 4 == 0:
            args += ["-sess_in", sess]
        out = s_client(t.tls_port, *args, data=REQ)
        return name, out

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        futs = [ex.submit(one, i) for i in range(60)]
        for k in range(6):
            time.sleep(0.1)
            t.srv.signal(signal.SIGHUP)
        for f in futs:
            name, out = f.result()
            assert "HTTP/1.1 308 Permanent Redirect" in out, out
            want = "b.test" if name == "b.test" else "a.test"
            assert peer_cn(out) == want or "Reused" in out
    assert t.srv.read_error_log().count("reload: 2 certificates loaded") >= 1
    ok, err = handshakes(t)
    assert ok == 61 and err == 0
