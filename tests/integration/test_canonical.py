"""https-redirect, canonical-host, trailing-slash and hsts (issue 9, docs/https.md):
the real binary over plain HTTP with raw sockets, exact statuses, Locations and
headers. One hop folds the scheme, the host, the slash and the rule.

The https side (HSTS present) goes through a TLS listener (test_hsts_over_tls)."""
import shutil
import signal
import socket
import ssl
import subprocess
import time


from conftest import expected_response, mask_date, raw, split_responses

EXAMPLE_CONF = ("https-redirect 308\n"
                "canonical-host www.old-brand.com old-brand.com\n"
                "hsts max-age=1y include-subdomains\n")
EXAMPLE_RULES = ("//old-brand.com/shop https://new-brand.com/store 308\n"
                 "//old-brand.com/about /about-us 301\n"
                 "http://old-brand.com/legacy /legacy-plain 302\n"
                 "/.well-known/acme-challenge/* http://acme.example/:splat 302\n")
HSTS = "max-age=31536000; includeSubDomains"


def get(server, path, host, method="GET"):
    """One request; returns (exact masked bytes, status, headers)."""
    data = raw(server, ("%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (
        method, path, host)).encode())
    [(status, headers, _, _)] = split_responses(data)
    return mask_date(data), status, headers


def test_issue_example_one_hop(make_server):
    s = make_server(EXAMPLE_RULES, conf_extra=EXAMPLE_CONF)
    # http://www.old-brand.com/shop?id=7: scheme, host and rule in ONE 308
    got, status, h = get(s, "/shop?id=7", "www.old-brand.com")
    assert got == expected_response(308, "https://new-brand.com/store?id=7",
                                    connection="close")
    assert "strict-transport-security" not in h  # never over plain HTTP
    # a path target lands on the canonical https origin, the rule's status
    got, _, _ = get(s, "/about", "WWW.Old-Brand.com:80")
    assert got == expected_response(301, "https://old-brand.com/about-us", connection="close")
    # no rule: the canonical URL with the https-redirect status, query kept
    got, _, _ = get(s, "/anything?a=1&b", "www.old-brand.com")
    assert got == expected_response(308, "https://old-brand.com/anything?a=1&b",
                                    connection="close")
    # HEAD: the same hop, no body
    got, _, _ = get(s, "/shop", "old-brand.com", method="HEAD")
    assert got == expected_response(308, "https://new-brand.com/store", head=True,
                                    connection="close")
    # the access log names the hop
    s.wait_log('"canonical"', log="access")


def test_https_redirect_alone(make_server):
    s = make_server("/x /y 307\n", conf_extra="https-redirect\n")
    got, _, _ = get(s, "/x?q=1", "example.com:%d" % s.port)
    # the rule matched the https URL: its own status, no port (https's default)
    assert got == expected_response(307, "https://example.com/y?q=1", connection="close")
    got, _, _ = get(s, "/other", "example.com:%d" % s.port)
    assert got == expected_response(308, "https://example.com/other", connection="close")
    s2 = make_server("", conf_extra="https-redirect 301\n")
    got, _, _ = get(s2, "/p", "[::1]:8080")
    assert got == expected_response(301, "https://[::1]/p", connection="close")


def test_acme_challenge_not_redirected(make_server):
    s = make_server(EXAMPLE_RULES, conf_extra=EXAMPLE_CONF + "trailing-slash add\n")
    # the rules answer it as usual, on the name it came for, unchanged
    got, _, _ = get(s, "/.well-known/acme-challenge/tok123", "www.old-brand.com")
    assert got == expected_response(302, "http://acme.example/tok123", connection="close")
    # with no rule for it: 404, not a redirect
    s2 = make_server("", conf_extra="https-redirect\n")
    got, _, _ = get(s2, "/.well-known/acme-challenge/tok123", "a.example")
    assert got == expected_response(404, connection="close")


def test_http_rule_exempt(make_server):
    s = make_server(EXAMPLE_RULES, conf_extra=EXAMPLE_CONF)
    got, _, _ = get(s, "/legacy", "old-brand.com")
    assert got == expected_response(302, "/legacy-plain", connection="close")
    # the exemption is the rule's host: on the alias it is a normal hop
    got, _, _ = get(s, "/legacy", "www.old-brand.com")
    assert got == expected_response(308, "https://old-brand.com/legacy", connection="close")


def test_canonical_host_alone(make_server):
    s = make_server("//a.example/docs /manual 301\n",
                    conf_extra="canonical-host b.example c.example a.example\n")
    # 308 without https-redirect; the scheme and the port stay
    got, _, _ = get(s, "/x?y=2", "c.example:%d" % s.port)
    assert got == expected_response(308, "http://a.example:%d/x?y=2" % s.port,
                                    connection="close")
    got, _, _ = get(s, "/docs", "b.example")
    assert got == expected_response(301, "http://a.example/manual", connection="close")
    # the canonical host itself: the rules as usual
    got, _, _ = get(s, "/docs", "a.example")
    assert got == expected_response(301, "/manual", connection="close")
    got, _, _ = get(s, "/x", "a.example")
    assert got == expected_response(404, connection="close")


def test_trailing_slash(make_server):
    add = make_server("/guide/ /handbook/ 302\n", conf_extra="trailing-slash add\n")
    got, _, _ = get(add, "/docs?v=1", "a.example")
    assert got == expected_response(308, "/docs/?v=1", connection="close")
    got, _, _ = get(add, "/robots.txt", "a.example")
    assert got == expected_response(404, connection="close")
    got, _, _ = get(add, "/docs/", "a.example")
    assert got == expected_response(404, connection="close")
    got, _, _ = get(add, "/guide", "a.example")
    assert got == expected_response(302, "/handbook/", connection="close")
    rem = make_server("", conf_extra="trailing-slash remove\n")
    got, _, _ = get(rem, "/docs/", "a.example")
    assert got == expected_response(308, "/docs", connection="close")
    got, _, _ = get(rem, "/", "a.example")
    assert got == expected_response(404, connection="close")


def test_all_together_with_rule(make_server):
    s = make_server("//a.example/old/ /new/ 302\n",
                    conf_extra="https-redirect 301\ncanonical-host www.a.example a.example\n"
                               "trailing-slash add\nhsts max-age=2y include-subdomains preload\n")
    # scheme + host + slash + rule: one hop with the rule's status
    got, _, _ = get(s, "/old?k=v", "www.a.example")
    assert got == expected_response(302, "https://a.example/new/?k=v", connection="close")
    # scheme + host + slash, no rule: the https-redirect status
    got, _, _ = get(s, "/else", "www.a.example")
    assert got == expected_response(301, "https://a.example/else/", connection="close")


def test_hsts_absent_on_plain(make_server):
    s = make_server("/r /t 301\n", conf_extra="hsts max-age=1y include-subdomains preload\n")
    for path in ("/r", "/404"):
        data = raw(s, ("GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path).encode(),
                   read_until_close=False)
        assert b"Strict-Transport-Security" not in data
    data = raw(s, b"GET /x HTTP/1.1\r\n\r\n")  # 400: no Host
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"Strict-Transport-Security" not in data


def test_reload_changes_it(make_server):
    s = make_server("", conf_extra="canonical-host b.example a.example\n")
    got, _, _ = get(s, "/", "b.example")
    assert got == expected_response(308, "http://a.example/", connection="close")
    text = s.conf_path.read_text().replace("canonical-host b.example a.example\n",
                                           "https-redirect 302\n")
    s.conf_path.write_text(text)
    s.signal(signal.SIGHUP)
    s.wait_log("reloaded")
    got, _, _ = get(s, "/", "b.example")
    assert got == expected_response(302, "https://b.example/", connection="close")


# ---- over TLS (needs the TLS listener of issue 9) -------------------------------------------

def _tls_available(tmp_path):
    if shutil.which("openssl") is None:
        return None
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out",
                        str(crt), "-days", "2", "-subj", "/CN=a.example", "-addext",
                        "subjectAltName=DNS:a.example"], capture_output=True)
    return (crt, key) if r.returncode == 0 else None


def test_hsts_over_tls(make_server, tmp_path):
    pair = _tls_available(tmp_path)
    assert pair is not None, "openssl cannot make a test certificate"
    s = make_server("/r /t 301\n", listen=["127.0.0.1:{port} tls"],
                    conf_extra="tls-cert %s %s\nhsts max-age=1y include-subdomains\n"
                               "https-redirect\n" % pair)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((s.host, s.port), timeout=5) as sock:
        with ctx.wrap_socket(sock, server_hostname="a.example") as t:
            t.sendall(b"GET /r HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
            data = b""
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                b = t.recv(65536)
                if not b:
                    break
                data += b
    [(status, h, _, _)] = split_responses(data)
    # over https: no upgrade hop, the rule as written, and HSTS
    assert status == 301
    assert h["location"] == "/t"
    assert h["strict-transport-security"] == HSTS


# ---- detour explain -c: each step folded into the hop --------------------------------------

def test_explain_shows_the_hop(tmp_path):
    from conftest import run_detour
    (tmp_path / "site.rules").write_text(EXAMPLE_RULES)
    (tmp_path / "detour.conf").write_text(EXAMPLE_CONF + "trailing-slash remove\n"
                                          "rules site.rules\n")
    code, out, err = run_detour(["explain", "-c", "detour.conf",
                                 "http://www.old-brand.com/shop/?id=7"], cwd=str(tmp_path))
    assert code == 0, err
    report, _, response = out.partition("\n\n")
    assert report.split("\n") == [
        "request   GET http://www.old-brand.com/shop/?id=7",
        "scheme    http -> https (https-redirect 308, detour.conf:1)",
        "host      www.old-brand.com -> old-brand.com (canonical-host, detour.conf:2)",
        "slash     /shop/ -> /shop (trailing-slash remove)",
        "canonical https://old-brand.com/shop?id=7",
        "hsts      not sent: a plain http request (RFC 6797 §7.2)",
        "hop       one redirect: the rule answers the canonical URL, with its status 308",
        "match     site.rules:1 (id site.rules:1)",
        "rule      //old-brand.com/shop https://new-brand.com/store 308",
        "location  https://new-brand.com/store?id=7",
    ]
    assert mask_date(response.encode()) == expected_response(308,
                                                             "https://new-brand.com/store?id=7")
    # no rule: the canonical redirect; over https, HSTS in the response
    code, out, err = run_detour(["explain", "-c", "detour.conf", "https://www.old-brand.com/x"],
                                cwd=str(tmp_path))
    report, _, response = out.partition("\n\n")
    assert report.split("\n") == [
        "request   GET https://www.old-brand.com/x",
        "host      www.old-brand.com -> old-brand.com (canonical-host, detour.conf:2)",
        "canonical https://old-brand.com/x",
        "hsts      Strict-Transport-Security: %s (https requests only)" % HSTS,
        "hop       one redirect: no rule answers the canonical URL; 308 (the https-redirect "
        "status)",
        "location  https://old-brand.com/x",
    ]
    assert "\r\nStrict-Transport-Security: %s\r\n" % HSTS in response
    # the http:// rule exempt, and the ACME path
    code, out, err = run_detour(["explain", "-c", "detour.conf", "http://old-brand.com/legacy"],
                                cwd=str(tmp_path))
    assert ("scheme    stays http: site.rules:3 (id site.rules:3) is led by http://, it answers "
            "plain requests as they come\n") in out
    code, out, err = run_detour(["explain", "-c", "detour.conf",
                                 "http://old-brand.com/.well-known/acme-challenge/t"],
                                cwd=str(tmp_path))
    assert "canonical an ACME challenge path: never redirected" in out
    assert "location  http://acme.example/t\n" in out


# ---- detour lint -c: second hops and the HSTS preload list ----------------------------------

def test_lint_config(tmp_path):
    from conftest import run_detour
    (tmp_path / "site.rules").write_text(
        "//old-brand.com/a http://old-brand.com/b 301 cache=1d\n"
        "//old-brand.com/c https://www.old-brand.com/d 301 cache=1d\n"
        "//old-brand.com/e https://old-brand.com/f 301 cache=1d\n")
    (tmp_path / "detour.conf").write_text(
        "https-redirect\ncanonical-host www.old-brand.com old-brand.com\n"
        "hsts max-age=1y include-subdomains preload\nrules site.rules\n")
    code, out, err = run_detour(["lint", "-c", "detour.conf"], cwd=str(tmp_path))
    assert code == 1, (out, err)
    assert out.split("\n") == [
        "site.rules:1: warning: the target http://old-brand.com/b is redirected again by "
        "https-redirect: two hops where one would do; write https://old-brand.com/b "
        "[second-hop]",
        "  fix: https://old-brand.com/b",
        "site.rules:2: warning: the target https://www.old-brand.com/d is redirected again by "
        "canonical-host (www.old-brand.com -> old-brand.com): two hops where one would do; "
        "write https://old-brand.com/d [second-hop]",
        "  fix: https://old-brand.com/d",
        "detour.conf:3: warning: http://www.old-brand.com/ goes to https://old-brand.com/ in "
        "one hop; the HSTS preload list requires https://www.old-brand.com/ first (the same "
        "host) [hsts-preload]",
        "3 rules: 0 errors, 3 warnings",
        "",
    ]
    code, out, err = run_detour(["lint", "-c", "detour.conf", "--fix"], cwd=str(tmp_path))
    assert out == ("//old-brand.com/a https://old-brand.com/b 301 cache=1d\n"
                   "//old-brand.com/c https://old-brand.com/d 301 cache=1d\n"
                   "//old-brand.com/e https://old-brand.com/f 301 cache=1d\n")
    code, out, err = run_detour(["lint", "-c", "detour.conf", "site.rules"], cwd=str(tmp_path))
    assert code == 2 and "give either -c FILE or rules files" in err
