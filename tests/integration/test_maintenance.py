"""Maintenance mode with the real server: switched on and off by the config
(and a reload that changes it), by SIGUSR2, by a file's presence and by the
admin API, the latest change winning; allow-ip (IPv4 and IPv6, CIDR) and
allow-path keep the normal rules; the exact bytes (no-store; Retry-After on
the 503 page only, never on a redirect); the 503 page and the page at a local
redirect target, by the config and by the API."""
import http.client
import json
import signal
import socket
import time

import pytest

from conftest import (BIN, DATE_PLACEHOLDER, Server, free_port, mask_date, raw, redirect_body,
                      wait_port, wait_until)

RULES = "/old /new 301\n/blog/* https://blog.example.com/:splat 308\n/keep /kept 302\n"
TOKEN = "maint-token-0123456789abcdef"


def get(server, path, host="127.0.0.1", source=None, method="GET"):
    """(status, Location) of one request, optionally from a given source address."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        if source:
            s.bind((source, 0))
        s.connect((host, server.port))
        s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % (method, path)).encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    head = data.split(b"\r\n\r\n")[0].decode()
    status = int(head.split(" ")[1])
    loc = None
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.lower() == "location":
            loc = v.strip()
    return status, loc


def wait_for(fn, want, timeout=5.0):
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = fn()
        if got == want:
            return
        time.sleep(0.05)
    raise AssertionError("still %r, wanted %r" % (got, want))


def maint_bytes(status, location, head=False):
    """A maintenance redirect: no-store, and no Retry-After (RFC 9110
    §10.2.3: on a 3xx it asks the client to wait before following)."""
    reasons = {302: "Found", 303: "See Other", 307: "Temporary Redirect"}
    body = redirect_body(status, location)
    h = ("HTTP/1.1 %d %s\r\n" % (status, reasons[status])).encode() + DATE_PLACEHOLDER
    h += ("Location: %s\r\nCache-Control: no-store\r\n" % location).encode()
    h += ("Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\nConnection: close"
          "\r\n\r\n" % len(body)).encode()
    return h if head else h + body


def page_bytes(body, retry_after=None, head=False):
    """The 503 maintenance page: no-store, Retry-After, the page's bytes."""
    h = b"HTTP/1.1 503 Service Unavailable\r\n" + DATE_PLACEHOLDER
    h += b"Cache-Control: no-store\r\n"
    if retry_after:
        h += ("Retry-After: %s\r\n" % retry_after).encode()
    h += ("Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\nConnection: close"
          "\r\n\r\n" % len(body)).encode()
    return h if head else h + body


def fetch(s, path, method="GET"):
    return mask_date(raw(s, ("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % (
        method, path)).encode()))


def rewrite_conf(s, extra):
    text = s.conf_path.read_text().split("# maint\n")[0]
    s.conf_path.write_text(text + "# maint\n" + extra)


def reload(s):
    n = s.read_error_log().count("reloaded:")
    s.signal(signal.SIGHUP)
    wait_for(lambda: s.read_error_log().count("reloaded:"), n + 1)


def test_config_bytes_and_reload(make_server):
    s = make_server(RULES, conf_extra="# maint\nmaintenance /down.html retry-after=120 "
                                      "allow-path=/old,/blog/*\n")
    # Exact bytes: no-store, no Retry-After on a redirect (it used to be
    # sent; RFC 9110 §10.2.3); the query is kept.
    r = raw(s, b"GET /keep?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert mask_date(r) == maint_bytes(307, "/down.html?x=1")
    assert b"Retry-After" not in r
    r = raw(s, b"HEAD /any HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert mask_date(r) == maint_bytes(307, "/down.html", head=True)
    # Allowed paths keep their rules; the target itself is reachable.
    assert get(s, "/old") == (301, "/new")
    assert get(s, "/blog/a") == (308, "https://blog.example.com/a")
    assert get(s, "/down.html") == (404, None)
    # A reload that turns it off: off.
    rewrite_conf(s, "maintenance /down.html retry-after=120 allow-path=/old,/blog/* off\n")
    reload(s)
    assert get(s, "/keep") == (302, "/kept")
    # A reload with an HTTP-date and another status.
    rewrite_conf(s, "maintenance https://status.example/ status=303 "
                    "retry-after=2026-11-23T04:00:00Z\n")
    reload(s)
    r = raw(s, b"GET /keep HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert mask_date(r) == maint_bytes(303, "https://status.example/")
    # No directive any more: off.
    rewrite_conf(s, "")
    reload(s)
    assert get(s, "/keep") == (302, "/kept")


def test_config_errors_are_located(tmp_path):
    import subprocess
    (tmp_path / "r.rules").write_text(RULES)
    (tmp_path / "d.conf").write_text("rules r.rules\nmaintenance /m allow-ip=10.0.0.1/8\n")
    p = subprocess.run([BIN, "serve", "-t", "-c", str(tmp_path / "d.conf")],
                       capture_output=True, text=True)
    assert p.returncode == 1
    assert ("%s:2:25: expected an address or a CIDR range (10.0.0.0/8, 2001:db8::/32) with no "
            "bits past the prefix, found \"10.0.0.1/8\"" % (tmp_path / "d.conf")) in p.stderr


def test_sigusr2_toggles(make_server):
    s = make_server(RULES, conf_extra="# maint\nmaintenance https://status.example/ status=302 "
                                      "off\n")
    assert get(s, "/keep") == (302, "/kept")
    s.signal(signal.SIGUSR2)
    wait_for(lambda: get(s, "/keep"), (302, "https://status.example/"))
    s.wait_log("maintenance on (signal)")
    # A reload that does not change the directive keeps the signal's state.
    reload(s)
    assert get(s, "/keep") == (302, "https://status.example/")
    s.signal(signal.SIGUSR2)
    wait_for(lambda: get(s, "/keep"), (302, "/kept"))
    s.signal(signal.SIGUSR2)
    wait_for(lambda: get(s, "/keep"), (302, "https://status.example/"))
    # A reload that changes the directive wins over the signal.
    rewrite_conf(s, "maintenance https://status.example/ status=307 off\n")
    reload(s)
    assert get(s, "/keep") == (302, "/kept")


def test_sigusr2_without_directive(make_server):
    s = make_server(RULES)
    s.signal(signal.SIGUSR2)
    s.wait_log("SIGUSR2: no maintenance directive in the config and none set by the API")
    assert get(s, "/keep") == (302, "/kept")


def test_file_presence(make_server):
    s = make_server(RULES, conf_extra="# maint\nmaintenance /m file=maint.flag\n")
    flag = s.dir / "maint.flag"
    assert get(s, "/keep") == (302, "/kept")
    flag.write_text("")
    wait_for(lambda: get(s, "/keep"), (307, "/m"), timeout=4)
    s.wait_log("maintenance file %s appeared" % flag)
    # SIGUSR2 wins over the file (the latest change)...
    s.signal(signal.SIGUSR2)
    wait_for(lambda: get(s, "/keep"), (302, "/kept"))
    # ...until the file changes again.
    flag.unlink()
    s.wait_log("maintenance file %s disappeared" % flag)
    assert get(s, "/keep") == (302, "/kept")
    flag.write_text("")
    wait_for(lambda: get(s, "/keep"), (307, "/m"), timeout=4)
    flag.unlink()
    wait_for(lambda: get(s, "/keep"), (302, "/kept"), timeout=4)


def test_allow_ip(make_server):
    port = free_port()
    s = make_server(RULES, listen=["127.0.0.1:{port}", "[::1]:{port}"],
                    conf_extra="# maint\nmaintenance /m allow-ip=127.0.0.1,::1/128\n")
    wait_port("::1", s.port, s.proc)
    assert get(s, "/keep") == (302, "/kept")
    assert get(s, "/keep", host="::1") == (302, "/kept")
    assert get(s, "/keep", source="127.0.0.2") == (307, "/m")
    rewrite_conf(s, "maintenance /m allow-ip=127.0.0.0/30\n")
    reload(s)
    assert get(s, "/keep", source="127.0.0.3") == (302, "/kept")
    assert get(s, "/keep", source="127.0.0.4") == (307, "/m")
    assert get(s, "/keep", host="::1") == (307, "/m")
    rewrite_conf(s, "maintenance /m allow-ip=::/0\n")
    reload(s)
    assert get(s, "/keep", host="::1") == (302, "/kept")
    assert get(s, "/keep") == (307, "/m")


class AdminServer(Server):
    def __init__(self, tmp_path, extra=""):
        self.admin_port = free_port()
        (tmp_path / "admin.token").write_text("ops %s\n" % TOKEN)
        super().__init__(tmp_path, RULES, workers=2, conf_extra=(
            "admin 127.0.0.1:%d token-file=admin.token\nstate-dir state\n# maint\n%s" % (
                self.admin_port, extra)))

    def start(self):
        super().start()
        wait_port(self.host, self.admin_port, self.proc)
        return self

    def req(self, method, path, body=None):
        c = http.client.HTTPConnection(self.host, self.admin_port, timeout=10)
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
        r = c.getresponse()
        js = json.loads(r.read() or b"null")
        c.close()
        return r.status, js


@pytest.fixture
def admin_server(tmp_path):
    servers = []

    def make(extra=""):
        sub = tmp_path / ("a%d" % len(servers))
        sub.mkdir()
        s = AdminServer(sub, extra).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        assert s.stop() == 0, s.read_error_log()


def test_api_retry_after_allow_ip_and_precedence(admin_server):
    s = admin_server("maintenance /cfg file=flag\n")
    st, js = s.req("POST", "/maintenance", {"on": True, "target": "/down", "retry_after": 600,
                                            "allow": ["/old"], "allow_ip": ["10.0.0.0/8",
                                                                            "2001:db8::/32"]})
    assert st == 200, js
    assert (js["on"], js["target"], js["status"], js["retry_after"], js["source"], js["who"]) == (
        True, "/down", 307, "600", "api", "ops")
    assert js["allow"] == ["/old"] and js["allow_ip"] == ["10.0.0.0/8", "2001:db8::/32"]
    r = raw(s, b"GET /keep HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert mask_date(r) == maint_bytes(307, "/down")  # no Retry-After on a 307
    assert get(s, "/old") == (301, "/new")
    assert s.req("GET", "/healthz")[1]["maintenance"] is True
    assert s.req("GET", "/maintenance")[1]["source"] == "api"
    # An allow_ip that holds the client: normal rules. HTTP-date Retry-After.
    st, js = s.req("POST", "/maintenance", {"on": True, "target": "/down",
                                            "retry_after": "Sun, 06 Nov 1994 08:49:37 GMT",
                                            "allow_ip": ["127.0.0.1"]})
    assert st == 200 and js["retry_after"] == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert get(s, "/keep") == (302, "/kept")
    assert get(s, "/keep", source="127.0.0.9") == (307, "/down")
    # Errors.
    for body, msg in [
            ({"on": True, "target": "/m", "allow_ip": ["10.0.0.1/8"]},
             "\"allow_ip\": expected addresses or CIDR ranges (10.0.0.0/8, 2001:db8::/32) with "
             "no bits past the prefix"),
            ({"on": True, "target": "/m", "allow_ip": "10.0.0.0/8"},
             "\"allow_ip\": expected an array of at most 64 addresses or CIDR ranges"),
            ({"on": True, "target": "/m", "retry_after": "soon"},
             "\"retry_after\": expected seconds or an HTTP-date (Sun, 06 Nov 1994 08:49:37 GMT)"),
            ({"on": True, "target": "/m", "retry_after": -1},
             "\"retry_after\": expected seconds or an HTTP-date (Sun, 06 Nov 1994 08:49:37 GMT)"),
            ({"on": True, "target": "/m", "allow": ["@ip 1.2.3.4"]},
             "\"allow\": expected sources such as \"/status\" or \"/api/*\" (4 KiB in all)")]:
        assert s.req("POST", "/maintenance", body) == (400, {"error": msg}), body
    # Survives a restart.
    s.stop()
    s.start()
    assert get(s, "/keep", source="127.0.0.9") == (307, "/down")
    # SIGUSR2 (the latest change) turns it off, and that is recorded: a
    # restart does not bring the API's maintenance back.
    s.signal(signal.SIGUSR2)
    wait_for(lambda: get(s, "/keep", source="127.0.0.9"), (302, "/kept"))
    assert s.req("GET", "/maintenance")[1] == {"on": False, "allow": []}
    s.stop()
    s.start()
    assert get(s, "/keep", source="127.0.0.9") == (302, "/kept")
    # The file turns the config's maintenance on over an API "off".
    assert s.req("POST", "/maintenance", {"on": False})[0] == 200
    (s.dir / "flag").write_text("")
    wait_for(lambda: get(s, "/keep"), (307, "/cfg"), timeout=4)
    js = s.req("GET", "/maintenance")[1]
    assert (js["source"], js["target"], js["retry_after"]) == ("file", "/cfg", None)
    # The API's until ends its maintenance; the config and the file decide again.
    assert s.req("POST", "/maintenance", {"on": True, "target": "/down", "ttl": "1s"})[0] == 200
    assert get(s, "/keep") == (307, "/down")
    wait_for(lambda: get(s, "/keep"), (307, "/cfg"), timeout=5)
    st, js = s.req("GET", "/audit")
    actions = [(a["action"], a["detail"]) for a in js["audit"]]
    assert ("maintenance", "on by file") in actions and ("maintenance", "off by signal") in actions
    # The gauge follows.
    c = http.client.HTTPConnection(s.host, s.admin_port, timeout=10)
    c.request("GET", "/metrics", headers={"Authorization": "Bearer " + TOKEN})
    text = c.getresponse().read().decode()
    assert "\ndetour_maintenance 1\n" in text


def test_api_on_without_target_uses_the_config(admin_server):
    # "detour ctl maintenance on --until 04:00" names no target: the config's
    # maintenance directive gives it, with its status and Retry-After.
    s = admin_server("maintenance /cfg status=302 retry-after=120 off\n")
    assert get(s, "/keep") == (302, "/kept")
    st, js = s.req("POST", "/maintenance", {"on": True, "ttl": "1h"})
    assert st == 200, js
    assert (js["on"], js["target"], js["status"], js["retry_after"], js["source"]) == (
        True, "/cfg", 302, "120", "api")
    r = raw(s, b"GET /keep HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert mask_date(r) == maint_bytes(302, "/cfg")
    assert s.req("POST", "/maintenance", {"on": False})[0] == 200
    assert get(s, "/keep") == (302, "/kept")


def test_api_on_without_target_and_no_directive(admin_server):
    s = admin_server()
    assert s.req("POST", "/maintenance", {"on": True}) == (400, {
        "error": "\"target\": expected a URL or a path, or \"-\" with status 503 (required "
                 "when detour.conf has no maintenance directive)"})
    assert get(s, "/keep") == (302, "/kept")


def test_access_log_names_the_rule_that_answered(admin_server):
    # The rule id column names the API rule ("api:N" or its id=), the file
    # rule, or "maintenance"; it used to look every id up in the file rules
    # (issue 11), naming a file line for API and maintenance answers.
    s = admin_server()
    st, js = s.req("POST", "/rules", {"rule": "/promo /sale 307"})
    assert st == 201, js
    api_id = js["id"]
    assert api_id.startswith("api:")
    assert s.req("POST", "/rules", {"rule": "/named /n 302 id=spring"})[0] == 201
    assert get(s, "/promo") == (307, "/sale")
    assert get(s, "/named") == (302, "/n")
    assert get(s, "/old") == (301, "/new")
    assert s.req("POST", "/maintenance", {"on": True, "target": "/down"})[0] == 200
    assert get(s, "/old") == (307, "/down")
    # two workers buffer their own lines (flushed within a second): wait
    # for all four, compare by request, not by order
    assert wait_until(lambda: s.access_log.exists() and
                      len(s.access_log.read_text().splitlines()) == 4, timeout=10)
    lines = s.access_log.read_text().splitlines()
    ids = sorted((l.split('"')[1], l.rsplit('" "', 2)[1]) for l in lines)
    assert ids == [("GET /named HTTP/1.1", "spring"), ("GET /old HTTP/1.1", "%s:1" % s.rules_path),
                   ("GET /old HTTP/1.1", "maintenance"), ("GET /promo HTTP/1.1", api_id)], lines


def test_api_target_keeps_configured_allow_lists(admin_server):
    # Naming another target through the API keeps the directive's allow
    # lists and Retry-After (a load balancer probing /keep must not be
    # redirected, issue 11); fields in the body replace them, [] clears.
    s = admin_server("maintenance /cfg retry-after=60 allow-ip=10.0.0.0/8 allow-path=/keep off\n")
    st, js = s.req("POST", "/maintenance", {"on": True, "target": "/down"})
    assert st == 200, js
    assert (js["target"], js["allow"], js["allow_ip"], js["retry_after"]) == (
        "/down", ["/keep"], ["10.0.0.0/8"], "60")
    assert get(s, "/keep") == (302, "/kept")
    assert get(s, "/old") == (307, "/down")
    st, js = s.req("POST", "/maintenance", {"on": True, "target": "/down", "allow": [],
                                            "allow_ip": ["192.0.2.0/24"]})
    assert st == 200, js
    assert (js["allow"], js["allow_ip"]) == ([], ["192.0.2.0/24"])
    assert get(s, "/keep") == (307, "/down")


# ---- the 503 page -----------------------------------------------------------

BUILTIN_PAGE = (b'<!DOCTYPE html>\n<html lang="en">\n<meta charset="utf-8">\n'
                b"<title>Down for maintenance</title>\n<h1>Down for maintenance</h1>\n"
                b"<p>This site is down for maintenance and will be back soon. Please try again "
                b"later.</p>\n</html>\n")
PAGE = "<!DOCTYPE html>\n<title>Back at 04:00</title>\n<h1>Travaux en cours, café offert</h1>\n"


def reload_fails(s):
    n = s.read_error_log().count("reload failed")
    s.signal(signal.SIGHUP)
    wait_for(lambda: s.read_error_log().count("reload failed"), n + 1)


def test_503_page_by_config(make_server, tmp_path):
    page = tmp_path / "down.html"
    page.write_text(PAGE)
    body = PAGE.encode()
    s = make_server(RULES, conf_extra="# maint\nmaintenance - status=503 page=%s retry-after=120 "
                                      "allow-path=/old\n" % page)
    # Exact bytes: 503, no-store, Retry-After, the file's bytes (UTF-8 as is).
    assert fetch(s, "/keep?x=1") == page_bytes(body, "120")
    assert fetch(s, "/", method="HEAD") == page_bytes(body, "120", head=True)
    assert get(s, "/old") == (301, "/new")
    # Read once: changing the file changes nothing until a reload...
    page.write_text("<p>new</p>\n")
    assert fetch(s, "/keep") == page_bytes(body, "120")
    # ...which reads it again, the directive being the same.
    reload(s)
    assert fetch(s, "/keep") == page_bytes(b"<p>new</p>\n", "120")
    # A reload whose page is missing fails whole: the old state stays.
    rewrite_conf(s, "maintenance - page=%s/gone.html retry-after=60\n" % tmp_path)
    reload_fails(s)
    s.wait_log("reload failed: %s:7: maintenance page %s/gone.html: No such file or directory; "
               "the old configuration and rules keep serving" % (s.conf_path, tmp_path))
    assert fetch(s, "/keep") == page_bytes(b"<p>new</p>\n", "120")
    # Too large (over 128 KiB): the same.
    big = tmp_path / "big.html"
    big.write_bytes(b"x" * (128 * 1024 + 1))
    rewrite_conf(s, "maintenance - page=%s\n" % big)
    reload_fails(s)
    s.wait_log("maintenance page %s: 131073 bytes, over the 128 KiB a page may have" % big)
    assert fetch(s, "/keep") == page_bytes(b"<p>new</p>\n", "120")
    # '-' without page=: the built-in page; an HTTP-date Retry-After.
    rewrite_conf(s, "maintenance - retry-after=2026-11-23T04:00:00Z\n")
    reload(s)
    assert fetch(s, "/keep") == page_bytes(BUILTIN_PAGE, "Mon, 23 Nov 2026 04:00:00 GMT")
    assert get(s, "/old") == (503, None)
    # Off again by the config.
    rewrite_conf(s, "")
    reload(s)
    assert get(s, "/keep") == (302, "/kept")


def test_page_at_local_target(make_server, tmp_path):
    # The documented "maintenance /maintenance.html" used to end in
    # detour's own 404; with page= detour serves the page there, as a 503
    # with Retry-After so that the page itself is not indexed.
    page = tmp_path / "m.html"
    page.write_text(PAGE)
    s = make_server(RULES, conf_extra="# maint\nmaintenance /maintenance.html status=302 "
                                      "retry-after=300 page=%s allow-ip=127.0.0.1\n" % page)
    assert get(s, "/keep", source="127.0.0.2") == (302, "/maintenance.html")
    assert get(s, "/keep") == (302, "/kept")  # allowed by address
    for path in ("/maintenance.html", "/maintenance.html?from=x"):
        got = get(s, path, source="127.0.0.2")
        assert got == (503, None), path
        # Everyone gets the page at its path, allowed clients too.
        assert fetch(s, path) == page_bytes(PAGE.encode(), "300")
    # The redirect itself: no Retry-After.
    with socket.socket() as c:
        c.bind(("127.0.0.2", 0))
        c.connect((s.host, s.port))
        c.sendall(b"GET /keep HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
    assert mask_date(data) == maint_bytes(302, "/maintenance.html")
    # Without page= the target is reachable through the normal rules (404).
    rewrite_conf(s, "maintenance /maintenance.html status=302\n")
    reload(s)
    assert get(s, "/maintenance.html") == (404, None)


def test_page_errors_at_start(tmp_path):
    import subprocess
    (tmp_path / "r.rules").write_text(RULES)
    conf = tmp_path / "d.conf"
    conf.write_text("rules r.rules\nmaintenance - page=missing.html\n")
    p = subprocess.run([BIN, "serve", "-t", "-c", str(conf)], capture_output=True, text=True)
    assert p.returncode == 1
    assert p.stderr == ("detour: %s:2: maintenance page %s/missing.html: No such file or "
                        "directory\n" % (conf, tmp_path))
    # The server does not start either, and says why.
    conf.write_text("listen 127.0.0.1:%d\nrules r.rules\nerror-log err.log\n"
                    "maintenance - page=missing.html\n" % free_port())
    p = subprocess.run([BIN, "serve", "-c", str(conf)], capture_output=True, text=True,
                       cwd=str(tmp_path), timeout=30)
    assert p.returncode == 1
    assert ("maintenance page %s/missing.html: No such file or directory" % tmp_path) in (
        (tmp_path / "err.log").read_text() + p.stderr)
    # A directory is no page.
    conf.write_text("rules r.rules\nmaintenance /m page=%s\n" % tmp_path)
    p = subprocess.run([BIN, "serve", "-t", "-c", str(conf)], capture_output=True, text=True)
    assert p.returncode == 1
    assert p.stderr == "detour: %s:2: maintenance page %s: not a regular file\n" % (conf, tmp_path)
    # A good page: ok.
    (tmp_path / "ok.html").write_text(PAGE)
    conf.write_text("rules r.rules\nmaintenance - page=ok.html\n")
    p = subprocess.run([BIN, "serve", "-t", "-c", str(conf)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_api_503_page(admin_server, tmp_path):
    page = tmp_path / "down.html"
    page.write_text(PAGE)
    body = PAGE.encode()
    s = admin_server()
    st, js = s.req("POST", "/maintenance", {"on": True, "target": "-", "status": 503,
                                            "page": str(page), "retry_after": 600,
                                            "allow": ["/old"]})
    assert st == 200, js
    assert (js["on"], js["target"], js["status"], js["page"], js["retry_after"]) == (
        True, "-", 503, str(page), "600")
    assert fetch(s, "/keep") == page_bytes(body, "600")
    assert get(s, "/old") == (301, "/new")
    # Errors: the page file named; nothing changes.
    gone = tmp_path / "gone.html"
    for req, msg in [
            ({"on": True, "status": 503, "page": str(gone)},
             "maintenance page %s: No such file or directory" % gone),
            ({"on": True, "status": 503, "page": "/etc/passwd"},
             "\"page\": expected the absolute path of an .html file on the server, or null"),
            ({"on": True, "status": 503, "page": "down.html"},
             "\"page\": expected the absolute path of an .html file on the server, or null"),
            ({"on": True, "target": "/m", "status": 503},
             "\"status\": 503 answers with a page, not a redirect: \"target\" is \"-\" or left "
             "out"),
            ({"on": True, "target": "-", "status": 307},
             "\"target\": \"-\" (no target) goes with status 503"),
            ({"on": True, "target": "https://x.example/", "page": str(page)},
             "\"page\": served at a target on this server (\"/maintenance.html\") or with "
             "status 503")]:
        assert s.req("POST", "/maintenance", req) == (400, {"error": msg}), req
    assert fetch(s, "/keep") == page_bytes(body, "600")
    # Stored: a restart reads the page again.
    page.write_text("<p>after restart</p>\n")
    s.stop()
    s.start()
    assert fetch(s, "/keep") == page_bytes(b"<p>after restart</p>\n", "600")
    # "target": "-" alone: 503 with the built-in page when "page" is null.
    st, js = s.req("POST", "/maintenance", {"on": True, "target": "-", "page": None,
                                            "retry_after": 30})
    assert st == 200 and (js["status"], js["page"]) == (503, None), js
    assert fetch(s, "/keep") == page_bytes(BUILTIN_PAGE, "30")
    # A redirect to a page detour serves: 307 elsewhere, the page at its path.
    st, js = s.req("POST", "/maintenance", {"on": True, "target": "/maintenance.html",
                                            "page": str(page)})
    assert st == 200 and (js["status"], js["target"]) == (307, "/maintenance.html"), js
    assert fetch(s, "/keep") == maint_bytes(307, "/maintenance.html")
    assert fetch(s, "/maintenance.html") == page_bytes(b"<p>after restart</p>\n", "30")
