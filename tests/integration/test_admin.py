"""The admin API with the real server and real SQLite: rules added, listed,
expired by ttl, deleted; maintenance on and off; errors with their reasons;
bearer tokens (missing, wrong, and the time a wrong one takes); kill -9 right
after a 2xx loses nothing (100 times); hit counters that add up; metrics that
parse; `detour ctl`."""
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import time

import pytest

from conftest import BIN, Server, free_port, run_detour, wait_port, wait_until

TOKEN = "s3cret-token-0123456789abcdef"
RULES = "/old /new 301\n/blog/* https://blog.example.com/:splat 308\n/keep /kept 302 id=keep\n"


class Admin(Server):
    """A Server with an admin listener and a state dir."""

    def __init__(self, tmp_path, rules=RULES, token=True, extra="", workers=2):
        self.admin_port = free_port()
        tf = ""
        if token:
            (tmp_path / "admin.token").write_text("# tokens\nops %s\nci-token-abcdefghijklmnop\n" % TOKEN)
            tf = " token-file=admin.token"
        super().__init__(tmp_path, rules, workers=workers, conf_extra="admin 127.0.0.1:%d%s\nstate-dir state\n%s" % (
            self.admin_port, tf, extra))

    def start(self):
        super().start()
        wait_port(self.host, self.admin_port, self.proc)
        return self

    def kill9_restart(self):
        self.proc.kill()
        self.proc.wait()
        return self.start()

    def req(self, method, path, body=None, token=TOKEN, headers=None, raw_body=None):
        c = http.client.HTTPConnection(self.host, self.admin_port, timeout=10)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = "Bearer " + token
        data = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read()
        c.close()
        try:
            js = json.loads(text) if text else None
        except ValueError:
            js = None
        return r.status, js, text, r

    def fid(self, line):
        """The id of a file rule without id=: its file as configured, and line."""
        return "%s:%d" % (self.rules_path, line)

    def get(self, path):
        c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        c.request("GET", path, headers={"Host": "x"})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status, r.getheader("Location")


@pytest.fixture
def admin(tmp_path):
    servers = []

    def make(**kw):
        sub = tmp_path / ("a%d" % len(servers))
        sub.mkdir()
        s = Admin(sub, **kw).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        rc = s.stop()
        assert rc in (0, -9), "detour exited with %s: %s" % (rc, s.read_error_log())


def test_health_refused_in_api_rules(admin):
    # health= would make the server probe any origin an API caller names
    # (issue 11): refused, nothing stored, nothing probed.
    s = admin()
    st, js, _, _ = s.req("POST", "/rules", {
        "rule": "/dl/* http://10.0.0.1:8080/f/:splat 302 weight=1 health=/ping"})
    assert st == 400
    assert js["error"] == ("rule:1: health= is not allowed in API rules (the probes would reach "
                           "any host an API caller names); put health-checked groups in a "
                           "rules file")
    assert s.req("GET", "/rules")[1]["rules"] == [r for r in s.req("GET", "/rules")[1]["rules"]
                                                   if r["origin"] == "file"]
    # weighted groups without health= are fine
    st, js, _, _ = s.req("POST", "/rules", {"rule": "/dl/* /mirror/:splat 302 weight=1"})
    assert st == 201, js


def test_add_list_delete(admin):
    s = admin()
    assert s.get("/promo") == (404, None)
    st, js, _, r = s.req("POST", "/rules", {"rule": "/promo /sale 307"})
    assert st == 201, js
    assert js["id"] == "api:1" and js["rule"] == "/promo /sale 307" and js["origin"] == "api"
    assert js["expires"] is None and js["who"] == "ops"
    assert r.getheader("Location") == "/rules/api:1"
    # Live on every worker before the answer: many connections, all see it.
    for _ in range(20):
        assert s.get("/promo") == (307, "/sale")
    # API rules take precedence over file rules.
    assert s.req("POST", "/rules", {"rule": "/old /api-old 302 id=override"})[0] == 201
    assert s.get("/old") == (302, "/api-old")
    st, js, _, _ = s.req("GET", "/rules")
    assert st == 200 and js["total"] == 5
    assert [(x["id"], x["origin"]) for x in js["rules"]] == [
        ("api:1", "api"), ("override", "api"), (s.fid(1), "file"), (s.fid(2), "file"),
        ("keep", "file")]
    assert js["rules"][2]["rule"] == "/old /new 301"
    assert js["rules"][3]["rule"] == "/blog/* https://blog.example.com/:splat 308"
    # Paged and filtered.
    st, js, _, _ = s.req("GET", "/rules?origin=file&limit=1&offset=1")
    assert [x["id"] for x in js["rules"]] == [s.fid(2)] and js["total"] == 3
    st, js, _, _ = s.req("GET", "/rules?q=sale")
    assert [x["id"] for x in js["rules"]] == ["api:1"]
    # Duplicate id: 409.
    st, js, _, _ = s.req("POST", "/rules", {"rule": "/x /y id=override"})
    assert st == 409 and "override" in js["error"]
    # Delete.
    st, _, body, _ = s.req("DELETE", "/rules/override")
    assert st == 204 and body == b""
    assert s.get("/old") == (301, "/new")
    assert s.req("DELETE", "/rules/override")[0] == 404
    st, js, _, _ = s.req("DELETE", "/rules/keep")
    assert st == 409 and "file rule" in js["error"]
    # Survives a reload (SIGHUP) and a restart.
    s.signal(signal.SIGHUP)
    s.wait_log("reloaded")
    assert s.get("/promo") == (307, "/sale")
    s.stop()
    s.start()
    assert s.get("/promo") == (307, "/sale")
    st, js, _, _ = s.req("GET", "/audit")
    assert [a["action"] for a in js["audit"]][:3] == ["delete", "add", "add"]
    assert js["audit"][0]["who"] == "ops" and js["audit"][0]["detail"] == "override"


ROUND_TRIP = [
    # (as written in the file, as GET /rules lists it)
    ("/page /page.html html delay=2", "/page /page.html html delay=2"),
    ("~^/p/([0-9]+)$ /products/$1 302", "~^/p/([0-9]+)$ /products/$1 302"),
    ("/dl/* http://127.0.0.1:1/f/:splat 302 sticky=cookie weight=3 health=/ping",
     "/dl/* http://127.0.0.1:1/f/:splat 302 weight=3 sticky=cookie health=/ping"),
    ("/dl/* http://127.0.0.1:2/f/:splat 302 weight=1", "/dl/* http://127.0.0.1:2/f/:splat 302 weight=1"),
    ("/api/* /v2/:splat 307 method=POST,PUT if-header=X-Beta:1 if-cookie=!opt if-query=a=1 "
     "if-ip=10.0.0.0/8 if-lang=fr",
     "/api/* /v2/:splat 307 method=POST,PUT if-header=X-Beta:1 if-cookie=!opt if-query=a=1 "
     "if-ip=10.0.0.0/8 if-lang=fr"),
    ("/promo /sale from=2026-11-01 until=2030-12-01T01:00:00+01:00 days=sat,sun "
     "hours=09:00-17:30 tz=Europe/Paris",
     "/promo /sale 307 from=2026-11-01T00:00:00Z until=2030-12-01T00:00:00Z days=sun,sat "
     "hours=09:00-17:30 tz=Europe/Paris"),
    ("/Old /new 301 case=insensitive id=old cache=3600 query=drop",
     "/Old /new 301 query=drop cache=1h id=old case=insensitive"),
    ("~^/out/(https?://.*)$ $1 302 allow-hosts=A.example,b.example",
     "~^/out/(https?://.*)$ $1 302 allow-hosts=a.example,b.example"),
    ("/ab /x 302 if-cookie=a private=no", "/ab /x 302 if-cookie=a private=no"),
    ("https://*.example.com/x/* /y/:splat permanent", "https://*.example.com/x/* /y/:splat 308"),
]


def test_rules_list_round_trips(admin):
    """Issue 11: GET /rules (and `detour ctl rules list`) dropped most
    options of file rules, lost a regex's '~' and showed html as 200. Every
    option is listed now, and the listed lines, fed back as a rules file,
    list the same again."""
    s = admin(rules="".join(w + "\n" for w, _ in ROUND_TRIP))
    st, js, _, _ = s.req("GET", "/rules?origin=file")
    assert st == 200
    listed = [r["rule"] for r in js["rules"]]
    assert listed == [l for _, l in ROUND_TRIP]
    p = subprocess.run([BIN, "ctl", "-c", str(s.conf_path), "rules", "list", "--origin", "file"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    for l in listed:
        assert l in p.stdout
    # Fed back: the same rules (and ids: the lines did not move).
    s.rules_path.write_text("".join(l + "\n" for l in listed))
    assert s.req("POST", "/reload")[0] == 200
    js2 = s.req("GET", "/rules?origin=file")[1]
    assert [(r["id"], r["rule"]) for r in js2["rules"]] == [(r["id"], r["rule"]) for r in js["rules"]]
    # And they behave alike: the regex, html, case.
    assert s.get("/p/12") == (302, "/products/12")
    assert s.get("/OLD") == (301, "/new")
    assert s.get("/page")[0] == 200


def test_ttl_expires_without_reload(admin):
    s = admin()
    st, js, _, _ = s.req("POST", "/rules", {"rule": "/flash /deal 307", "ttl": "1s"})
    assert st == 201 and js["expires"] is not None
    assert s.get("/flash") == (307, "/deal")
    t0 = time.monotonic()
    wait_until(lambda: s.get("/flash")[0] == 404, timeout=5)
    assert time.monotonic() - t0 < 2.5
    st, js, _, _ = s.req("GET", "/rules?origin=api")
    assert js["rules"] == []
    assert "1 API rule expired" in s.read_error_log()
    # until: an RFC 3339 time in the future, then in the past.
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    st, js, _, _ = s.req("POST", "/rules", {"rule": "/u /v", "until": until})
    assert st == 201 and js["expires"] == until
    st, js, _, _ = s.req("POST", "/rules", {"rule": "/u /v", "until": "2001-01-01T00:00:00Z"})
    assert (st, js["error"]) == (400, "\"until\" is in the past")


BAD = [
    (b"{", "invalid JSON at line 1, column 1: string or '}' expected near end of file"),
    (b"[1]", "expected a JSON object in the body"),
    (b"", "expected a JSON object in the body"),
    (b'{"rule": 5}', "\"rule\": expected one line of the rule language"),
    (b'{"rule": "/a /b", "x": 1}', "unknown field \"x\""),
    (b'{"rule": "/a /b", "ttl": "soon"}',
     "\"ttl\": expected a duration such as \"90s\", \"30m\", \"48h\" or \"7d\""),
    (b'{"rule": "/a /b", "until": "tomorrow"}',
     "\"until\": expected an RFC 3339 time such as \"2026-12-01T00:00:00Z\""),
    (b'{"rule": "/a /b", "ttl": "1h", "until": "2030-01-01T00:00:00Z"}',
     "give \"ttl\" or \"until\", not both"),
]


def test_bad_requests_400_with_reason(admin):
    s = admin()
    for body, msg in BAD:
        st, js, _, _ = s.req("POST", "/rules", raw_body=body)
        assert (st, js) == (400, {"error": msg}), body
    # A bad rule: the rule parser's own located message.
    st, js, _, _ = s.req("POST", "/rules", {"rule": "/a /b 299"})
    assert st == 400 and js["error"].startswith("rule:1:"), js
    st, js, _, _ = s.req("POST", "/rules", {"rule": "/a /b\n/c /d"})
    assert st == 400 and js["error"].startswith("rule:1:"), js
    # Nothing was stored.
    assert s.req("GET", "/rules?origin=api")[1]["total"] == 0
    # 413 over 1 MiB, 411 for chunked, 404 and 405.
    with socket.create_connection((s.host, s.admin_port)) as c:
        c.sendall(b"POST /rules HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer %s\r\n"
                  b"Content-Length: 1048577\r\n\r\n" % TOKEN.encode())
        resp = c.recv(65536)
        assert resp.startswith(b"HTTP/1.1 413 Content Too Large\r\n"), resp
    with socket.create_connection((s.host, s.admin_port)) as c:
        c.sendall(b"POST /rules HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        assert c.recv(65536).startswith(b"HTTP/1.1 411 Length Required\r\n")
    assert s.req("GET", "/nope")[0] == 404
    st, _, _, r = s.req("PUT", "/rules", {})
    assert st == 405 and r.getheader("Allow") == "GET, HEAD, POST"



def read_answers(sock, heads, timeout=5.0):
    """Reads one answer per entry of heads (True: the request was HEAD, so
    no body whatever Content-Length says) from a raw socket; returns them
    as (head bytes, body bytes) and fails if anything more arrives."""
    buf, out = b"", []
    deadline = time.monotonic() + timeout
    for head in heads:
        while b"\r\n\r\n" not in buf:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            b = sock.recv(65536)
            assert b, "closed with %r buffered" % buf
            buf += b
        end = buf.index(b"\r\n\r\n") + 4
        m = re.search(rb"\r\nContent-Length: (\d+)\r\n", buf[:end])
        n = 0 if head else int(m.group(1))
        while len(buf) < end + n:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            b = sock.recv(65536)
            assert b, "closed with %r buffered" % buf
            buf += b
        out.append((buf[:end], buf[end:end + n]))
        buf = buf[end + n:]
    sock.settimeout(0.3)
    try:
        extra = sock.recv(65536)
    except socket.timeout:
        extra = b""
    assert extra == b"" and buf == b"", "more than the answers: %r" % (buf + extra)
    return out


def no_date(head):
    return re.sub(rb"\r\nDate: [^\r]*\r\n", b"\r\nDate: <date>\r\n", head)


def test_head_then_get_on_one_connection(admin):
    """RFC 9110 §9.3.2: a HEAD answer is the GET's head, Content-Length
    included, and no body. Sent pipelined with a GET on one keep-alive
    connection, the GET's answer starts right after the HEAD's head (a body
    after it was read as the next answer: issue 11)."""
    s = admin()
    version = run_detour(["--version"])[1].split()[1]
    body = json.dumps({"status": "ok", "version": version, "file_rules": 3, "api_rules": 0,
                       "maintenance": False}, separators=(",", ":")).encode() + b"\n"
    head = (b"HTTP/1.1 200 OK\r\nDate: <date>\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nCache-Control: no-store\r\n\r\n" % len(body))
    with socket.create_connection((s.host, s.admin_port), timeout=5) as c:
        host = b"Host: localhost:%d\r\n" % s.admin_port
        c.sendall(b"HEAD /healthz HTTP/1.1\r\n%s\r\nGET /healthz HTTP/1.1\r\n%s\r\n" % (host, host))
        (hh, hb), (gh, gb) = read_answers(c, [True, False])
        # Every byte that came, in order (read_answers: nothing more).
        assert no_date(hh + hb + gh + gb) == head + head + body
        # Still in step: one more request, one more answer.
        c.sendall(b"GET /healthz HTTP/1.1\r\n%s\r\n" % host)
        (h, b), = read_answers(c, [False])
        assert no_date(h) == head and b == body

def test_head_on_every_endpoint(admin):
    """Every endpoint that answers GET answers HEAD with the same status and
    headers and no body; where GET is refused (405, 404, 401) so is HEAD,
    the same way."""
    s = admin()
    auth = b"Authorization: Bearer %s\r\n" % TOKEN.encode()
    cases = [(b"/healthz", b"", 200), (b"/rules", auth, 200), (b"/maintenance", auth, 200),
             (b"/stats", auth, 200), (b"/metrics", auth, 200), (b"/audit", auth, 200), (b"/targets", auth, 200),
             (b"/rules?origin=file&limit=1", auth, 200), (b"/reload", auth, 405),
             (b"/rules/keep", auth, 405), (b"/nope", auth, 404), (b"/rules", b"", 401)]
    for path, extra, status in cases:
        with socket.create_connection((s.host, s.admin_port), timeout=5) as c:
            req = b" %s HTTP/1.1\r\nHost: localhost:%d\r\n%s\r\n" % (path, s.admin_port, extra)
            c.sendall(b"HEAD" + req + b"GET" + req)
            (hh, hb), (gh, gb) = read_answers(c, [True, False])
            assert hh.startswith(b"HTTP/1.1 %d " % status), (path, hh)
            assert no_date(hh) == no_date(gh) and hb == b"", (path, hh, gh)
            cl = int(re.search(rb"\r\nContent-Length: (\d+)\r\n", gh).group(1))
            assert cl == len(gb) > 0, (path, gh, gb)

def test_auth(admin):
    s = admin()
    st, js, _, r = s.req("GET", "/rules", token=None)
    assert (st, js) == (401, {"error": "missing bearer token"})
    assert r.getheader("WWW-Authenticate") == 'Bearer realm="detour"'
    for bad in ("x" * len(TOKEN), TOKEN[:-1], TOKEN + "x", "", TOKEN.upper()):
        st, js, _, _ = s.req("GET", "/rules", token=bad)
        assert (st, js) == (401, {"error": "wrong token"}), bad
    st, _, _, _ = s.req("GET", "/rules", headers={"Authorization": "Basic " + TOKEN}, token=None)
    assert st == 401
    # The second token of the file works, and is named in the audit.
    assert s.req("POST", "/rules", {"rule": "/t /u"}, token="ci-token-abcdefghijklmnop")[0] == 201
    assert s.req("GET", "/audit")[1]["audit"][0]["who"] == "admin"
    # /healthz needs no token.
    st, js, _, _ = s.req("GET", "/healthz", token=None)
    assert st == 200 and js["status"] == "ok" and js["api_rules"] == 1


def test_wrong_token_takes_the_same_time(admin):
    """A token that differs in its first byte, one that differs in its last
    byte and the right one are compared over the same bytes: the 401s take
    the same time whatever the wrong token shares with the right one."""
    s = admin(workers=1)
    first = "X" + TOKEN[1:]
    last = TOKEN[:-1] + "X"

    c = http.client.HTTPConnection(s.host, s.admin_port, timeout=10)

    def once(tok):
        t0 = time.perf_counter()
        c.request("GET", "/maintenance", headers={"Authorization": "Bearer " + tok})
        r = c.getresponse()
        r.read()
        return r.status, time.perf_counter() - t0

    for _ in range(30):  # warm up
        once(first)
    # Interleaved, so that load on the machine falls on both alike.
    times = {first: [], last: []}
    for _ in range(300):
        for tok in (first, last):
            st, t = once(tok)
            assert st == 401
            times[tok].append(t)
    assert once(TOKEN)[0] == 200
    c.close()
    t_first, t_last = statistics.median(times[first]), statistics.median(times[last])
    # An early exit would make "first" faster than "last"; loopback noise is
    # tens of microseconds: within 25 % (or 20 us).
    assert abs(t_first - t_last) < max(0.25 * max(t_first, t_last), 20e-6), (t_first, t_last)


def test_no_token_refuses_non_loopback(tmp_path):
    (tmp_path / "site.rules").write_text(RULES)
    (tmp_path / "d.conf").write_text("listen 127.0.0.1:%d\nrules site.rules\n\nadmin 0.0.0.0:%d\n" % (
        free_port(), free_port()))
    rc, out, err = run_detour(["serve", "-c", str(tmp_path / "d.conf")], cwd=str(tmp_path))
    assert rc == 1
    assert ("%s:4: admin 0.0.0.0: without token-file= the admin API listens on loopback only "
            "(127.0.0.1 or [::1])" % (tmp_path / "d.conf")) in err


def test_maintenance(admin):
    s = admin()
    st, js, _, _ = s.req("POST", "/maintenance", {"on": True, "target": "/down.html",
                                                   "allow": ["/old", "/blog/*"], "ttl": "1h"})
    assert st == 200 and js["on"] is True and js["status"] == 307 and js["target"] == "/down.html"
    assert js["allow"] == ["/old", "/blog/*"]
    c = http.client.HTTPConnection(s.host, s.port, timeout=5)
    c.request("GET", "/anything?x=1", headers={"Host": "x"})
    r = c.getresponse()
    r.read()
    assert (r.status, r.getheader("Location"), r.getheader("Cache-Control")) == (
        307, "/down.html?x=1", "no-store")
    assert s.get("/old") == (301, "/new")  # allowed: normal rules
    assert s.get("/blog/a") == (308, "https://blog.example.com/a")
    assert s.get("/down.html") == (404, None)  # the target itself is reachable
    assert s.get("/keep") == (307, "/down.html")
    assert s.req("GET", "/healthz")[1]["maintenance"] is True
    # Survives kill -9.
    s.kill9_restart()
    assert s.get("/keep") == (307, "/down.html")
    st, js, _, _ = s.req("POST", "/maintenance", {"on": False})
    assert (st, js) == (200, {"on": False, "allow": []})
    assert s.get("/keep") == (302, "/kept")
    # "on" without a target takes what the API used last (no directive here).
    st, js, _, _ = s.req("POST", "/maintenance", {"on": True})
    assert st == 200 and js["target"] == "/down.html" and js["allow"] == ["/old", "/blog/*"]
    assert s.get("/keep") == (307, "/down.html")
    assert s.req("POST", "/maintenance", {"on": False})[0] == 200
    # Errors.
    for body, msg in [({"on": 1}, "\"on\": expected true or false"),
                      ({"on": True, "target": "/m", "status": 301},
                       "\"status\": expected 302, 303 or 307 (temporary), or 503 (a page)"),
                      ({"on": True, "target": "/m", "allow": "/x"},
                       "\"allow\": expected an array of rule sources")]:
        assert s.req("POST", "/maintenance", body)[:2] == (400, {"error": msg}), body
    # until: ends on its own.
    assert s.req("POST", "/maintenance", {"on": True, "target": "https://status.example/",
                                          "status": 302, "ttl": "1s"})[0] == 200
    assert s.get("/keep") == (302, "https://status.example/")
    wait_until(lambda: s.get("/keep") == (302, "/kept"), timeout=5)


def test_reload_endpoint(admin):
    s = admin()
    st, js, _, _ = s.req("POST", "/reload")
    assert (st, js) == (200, {"result": "reloaded", "rules": 3})
    s.rules_path.write_text(RULES + "/broken\n")
    st, js, _, _ = s.req("POST", "/reload")
    assert st == 422 and js["error"].startswith(str(s.rules_path) if False else "") and ":4:" in js["error"]
    assert js["result"] == "the old configuration and rules keep serving"
    assert s.get("/old") == (301, "/new")
    s.rules_path.write_text("/old /newer 302\n")
    assert s.req("POST", "/reload")[1] == {"result": "reloaded", "rules": 1}
    assert s.get("/old") == (302, "/newer")


def test_kill9_loop(admin):
    """100 times: add a rule, kill -9 right after the 201, restart: the rule
    is there (and serving)."""
    s = admin(workers=1)
    for i in range(100):
        st, js, _, _ = s.req("POST", "/rules", {"rule": "/k%d /t%d 302" % (i, i)})
        assert st == 201, js
        s.kill9_restart()
        assert s.get("/k%d" % i) == (302, "/t%d" % i), i
    st, js, _, _ = s.req("GET", "/rules?origin=api&limit=1000")
    assert js["total"] == 100
    assert [r["id"] for r in js["rules"]] == ["api:%d" % (i + 1) for i in range(100)]


def test_stats_add_up(admin):
    s = admin(extra="stats-flush 1s\n")
    assert s.req("POST", "/rules", {"rule": "/promo /sale"})[0] == 201
    sent = {s.fid(1): 0, "api:1": 0, "keep": 0}
    misses = {"/missing-a": 0, "/missing-b": 0}
    c = http.client.HTTPConnection(s.host, s.port, timeout=5)
    for i in range(300):
        path, key = [("/old", s.fid(1)), ("/promo", "api:1"), ("/keep", "keep"),
                     ("/missing-a", None), ("/missing-b", None), ("/missing-a", None)][i % 6]
        c.request("GET", path, headers={"Host": "x"})
        c.getresponse().read()
        if key:
            sent[key] += 1
        else:
            misses[path] += 1
    c.close()
    st, js, _, _ = s.req("GET", "/stats")
    assert st == 200
    hits = {r["id"]: r["hits"] for r in js["rules"]}
    assert hits == sent
    assert all(r["last_hit"] is not None for r in js["rules"])
    assert [(u["path"], u["count"]) for u in js["unmatched"]] == [("/missing-a", 100), ("/missing-b", 50)]
    # Unused rules: the blog rule was never hit.
    st, js, _, _ = s.req("GET", "/stats?unused_since=2000-01-01T00:00:00Z")
    assert [(r["id"], r["hits"], r["last_hit"]) for r in js["unused"]] == [
        (s.fid(2), 0, None)]
    # Flushed to SQLite: survives a clean restart.
    s.stop()
    s.start()
    hits = {r["id"]: r["hits"] for r in s.req("GET", "/stats")[1]["rules"]}
    assert hits == sent


METRIC_LINE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)\})? (-?[0-9.e+-]+|\+Inf|NaN)$')


def parse_metrics(text):
    """A parser of the Prometheus text format (0.0.4): every line is a
    HELP, a TYPE or a sample of a declared family; returns {(name, labels): value}."""
    types, out = {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped")
            assert name not in types, "family declared twice: " + name
            types[name] = typ
            continue
        m = METRIC_LINE.match(line)
        assert m, "bad sample line: %r" % line
        name = m.group(1)
        fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert fam in types, "sample before its TYPE: %r" % line
        key = (name, m.group(3) or "")
        assert key not in out, "duplicate series %r" % (key,)
        out[key] = float(m.group(7))
    return types, out


def test_metrics(admin):
    s = admin()
    assert s.req("POST", "/rules", {"rule": "/promo /sale"})[0] == 201
    for p in ["/old"] * 3 + ["/promo"] * 2 + ["/nope"]:
        s.get(p)
    st, _, text, r = s.req("GET", "/metrics")
    assert st == 200 and r.getheader("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    types, m = parse_metrics(text.decode())
    assert types["detour_requests_total"] == "counter"
    assert types["detour_request_duration_seconds"] == "histogram"
    assert m[("detour_requests_total", 'status="301"')] == 3
    assert m[("detour_requests_total", 'status="307"')] == 2
    assert m[("detour_requests_total", 'status="404"')] == 1
    assert m[("detour_listener_requests_total", 'listener="127.0.0.1:%d"' % s.port)] == 6
    assert m[("detour_request_duration_seconds_count", "")] == 6
    assert m[("detour_request_duration_seconds_bucket", 'le="+Inf"')] == 6
    assert m[("detour_rules", 'origin="file",kind="exact"')] == 2
    assert m[("detour_rules", 'origin="file",kind="splat"')] == 1
    assert m[("detour_rules", 'origin="api",kind="exact"')] == 1
    assert m[("detour_api_changes_total", 'action="add"')] == 1
    assert m[("detour_rule_hits_top", 'id="%s"' % s.fid(1))] == 3
    assert m[("detour_rule_hits_top", 'id="api:1"')] == 2
    assert m[("detour_maintenance", "")] == 0
    assert m[("detour_reloads_total", 'result="ok"')] == 0
    assert types["detour_connection_buffer_bytes"] == "gauge"
    assert m[("detour_connections_shed_total", 'reason="memory"')] == 0
    assert m[("detour_connections_paused_total", 'reason="memory"')] == 0
    assert types["detour_connections_paused"] == "gauge"
    assert m[("detour_connections_paused", "")] == 0
    buckets = [v for (n, l), v in m.items() if n == "detour_request_duration_seconds_bucket"]
    assert buckets == sorted(buckets)
    promtool = "/usr/bin/promtool"
    if os.path.exists(promtool):
        p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
        assert p.returncode == 0, p.stdout + p.stderr


def test_metrics_rules_by_kind(admin):
    """Issue 11: detour_rules had no regex kind (10,004 rules loaded, the
    series summed to 4). Every rule is in one kind: the series sum to the
    rules served."""
    s = admin(rules=RULES + "~^/p/([0-9]+)$ /products/$1 302\n~^/q/(.*)$ /r/$1\n"
                            "/docs/:v/:page /d/:page\n")
    assert s.req("POST", "/rules", {"rule": "~^/api/(.*)$ /v2/$1 302"})[0] == 201
    assert s.req("POST", "/rules", {"rule": "/promo /sale"})[0] == 201
    st, _, text, _ = s.req("GET", "/metrics")
    types, m = parse_metrics(text.decode())
    got = {l: v for (n, l), v in m.items() if n == "detour_rules"}
    assert got == {
        'origin="file",kind="exact"': 2, 'origin="file",kind="splat"': 1,
        'origin="file",kind="pattern"': 1, 'origin="file",kind="regex"': 2,
        'origin="api",kind="exact"': 1, 'origin="api",kind="splat"': 0,
        'origin="api",kind="pattern"': 0, 'origin="api",kind="regex"': 1}
    assert sum(v for l, v in got.items() if "file" in l) == s.req("GET", "/healthz")[1]["file_rules"]


def test_ctl(admin):
    s = admin()
    ctl = [BIN, "ctl", "-c", str(s.conf_path)]
    p = subprocess.run(ctl + ["rules", "add", "/promo", "/sale", "307", "--ttl", "48h"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("added api:1, expires "), p.stderr
    assert s.get("/promo") == (307, "/sale")
    p = subprocess.run(ctl + ["--json", "rules", "list", "--origin", "api"], capture_output=True, text=True)
    js = json.loads(p.stdout)
    assert [r["rule"] for r in js["rules"]] == ["/promo /sale 307"]
    p = subprocess.run(ctl + ["maintenance", "on", "/m", "--until", "04:00"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("maintenance is on: 307 to /m, since "), p.stderr
    assert s.get("/x") == (307, "/m")
    p = subprocess.run(ctl + ["maintenance", "off"], capture_output=True, text=True)
    assert (p.returncode, p.stdout) == (0, "maintenance is off\n")
    # A 503 with a page; a relative --page is made absolute (the server reads it).
    (s.dir / "down.html").write_text("<p>down</p>\n")
    p = subprocess.run(ctl + ["maintenance", "on", "-", "--status", "503", "--page", "down.html"],
                       capture_output=True, text=True, cwd=str(s.dir))
    assert p.returncode == 0 and p.stdout.startswith(
        "maintenance is on: 503 with the page %s/down.html, since " % s.dir), p.stderr
    assert s.get("/x") == (503, None)
    p = subprocess.run(ctl + ["maintenance", "on", "-", "--page", "gone.html"],
                       capture_output=True, text=True, cwd=str(s.dir))
    assert (p.returncode, p.stderr) == (
        1, "detour ctl: 400: maintenance page %s/gone.html: No such file or directory\n" % s.dir)
    p = subprocess.run(ctl + ["maintenance", "off"], capture_output=True, text=True)
    assert (p.returncode, p.stdout) == (0, "maintenance is off\n")
    p = subprocess.run(ctl + ["stats", "--unused", "--since", "30d"], capture_output=True, text=True)
    assert p.returncode == 0 and s.fid(2) in p.stdout and "api:1" not in p.stdout
    p = subprocess.run(ctl + ["reload"], capture_output=True, text=True)
    assert (p.returncode, p.stdout) == (0, "reloaded: 3 file rules\n")
    p = subprocess.run(ctl + ["rules", "delete", "keep"], capture_output=True, text=True)
    assert (p.returncode, p.stderr) == (1, "detour ctl: 409: a file rule: change its file and reload\n")
    p = subprocess.run(ctl + ["rules", "delete", "api:1"], capture_output=True, text=True)
    assert (p.returncode, p.stdout) == (0, "deleted api:1\n")
    p = subprocess.run(ctl + ["rules", "add", "/a", "/b", "299"], capture_output=True, text=True)
    assert p.returncode == 1 and p.stderr.startswith("detour ctl: 400: rule:1:")
    p = subprocess.run(ctl + ["--token-file", "/dev/null", "reload"], capture_output=True, text=True)
    assert (p.returncode, p.stderr) == (1, "detour ctl: 401: missing bearer token\n")
    s.stop()
    p = subprocess.run(ctl + ["health"], capture_output=True, text=True)
    assert p.returncode == 2 and "Couldn't connect" in p.stderr


def test_ctl_query_too_long():
    # Refused before anything is sent: a query cut to fit would ask for
    # something else (and the old cut wrote past its buffer).
    ctl = [BIN, "ctl", "--admin", "127.0.0.1:1"]
    for args in (["rules", "list", "--grep", "a" * 2000, "--limit", "5"],
                 ["rules", "delete", "\u00e9" * 600],
                 ["stats", "--top", "1" * 700]):
        p = subprocess.run(ctl + args, capture_output=True, text=True)
        assert (p.returncode, p.stderr) == (2, "detour ctl: the request path is too long\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="switching users needs root")
def test_user_drop(tmp_path):
    import pwd
    import shutil
    import tempfile
    nobody = pwd.getpwnam("nobody")
    (tmp_path / "site.rules").write_text(RULES)
    port, aport = free_port(), free_port()
    # Not writable by the user: a start-up error that says so.
    conf = tmp_path / "d.conf"
    conf.write_text("listen 127.0.0.1:%d\nrules site.rules\nadmin 127.0.0.1:%d\nuser nobody\n"
                    "state-dir %s/state\n" % (port, aport, tmp_path))
    rc, out, err = run_detour(["serve", "-c", str(conf)], cwd=str(tmp_path))
    assert rc == 1
    assert "is not writable by uid %d" % nobody.pw_uid in err or (
        "cannot create" in err), err
    assert "(user nobody)" in err
    # A state dir of its own: it runs as nobody, and the API works.
    d = tempfile.mkdtemp(prefix="detour-state-")
    try:
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
        conf.write_text("listen 127.0.0.1:%d\nrules site.rules\nadmin 127.0.0.1:%d\nuser nobody\n"
                        "state-dir %s\nerror-log %s/err.log\n" % (port, aport, d, tmp_path))
        p = subprocess.Popen([BIN, "serve", "-c", str(conf)], cwd=str(tmp_path),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stderr_text = lambda: (tmp_path / "err.log").read_text()
        try:
            wait_port("127.0.0.1", aport, p)
            # The drop comes after every socket is bound; "ready" after it.
            wait_until(lambda: "ready" in p.stderr_text())
            status = open("/proc/%d/status" % p.pid).read()
            uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M).groups()
            assert uids == (str(nobody.pw_uid),) * 4
            c = http.client.HTTPConnection("127.0.0.1", aport, timeout=5)
            c.request("POST", "/rules", body=json.dumps({"rule": "/n /m"}),
                      headers={"Content-Type": "application/json"})
            r = c.getresponse()
            assert r.status == 201, r.read()
            assert os.stat(os.path.join(d, "detour.db")).st_uid == nobody.pw_uid
            assert "running as user nobody (uid %d)" % nobody.pw_uid in p.stderr_text()
        finally:
            p.send_signal(signal.SIGTERM)
            assert p.wait(10) == 0
    finally:
        shutil.rmtree(d)


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists("/usr/bin/strace"),
                    reason="switching users needs root; the order is seen with strace")
def test_user_drop_before_any_thread(tmp_path):
    """Issue 11: the worker and admin threads served before the privilege
    drop (as root, for a moment). Now every socket is bound, the drop
    happens, and only then are threads created: under strace, setuid to the
    user comes before the first clone of a thread, and every thread of the
    process runs as the user."""
    import pwd
    import shutil
    import tempfile
    nobody = pwd.getpwnam("nobody")
    (tmp_path / "site.rules").write_text(RULES)
    port, aport = free_port(), free_port()
    d = tempfile.mkdtemp(prefix="detour-state-")
    trace = tmp_path / "strace.txt"
    try:
        os.chown(d, nobody.pw_uid, nobody.pw_gid)
        conf = tmp_path / "d.conf"
        conf.write_text("listen 127.0.0.1:%d\nrules site.rules\nadmin 127.0.0.1:%d\nuser nobody\n"
                        "workers 3\nstate-dir %s\nerror-log %s/err.log\n" % (port, aport, d, tmp_path))
        p = subprocess.Popen(["/usr/bin/strace", "-f", "-qq", "-o", str(trace),
                              "-e", "trace=clone,clone3,setuid", BIN, "serve", "-c", str(conf)],
                             cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stderr_text = lambda: (tmp_path / "err.log").read_text()
        pid = None
        try:
            wait_port("127.0.0.1", aport, p)
            wait_until(lambda: "ready" in p.stderr_text())
            # The server runs under strace; it gets the signals (strace
            # does not pass its own on).
            pid = int(re.search(r" detour\[(\d+)\] ", p.stderr_text()).group(1))
            tasks = os.listdir("/proc/%d/task" % pid)
            assert len(tasks) >= 5  # main, 3 workers, admin
            for tid in tasks:
                status = open("/proc/%d/task/%s/status" % (pid, tid)).read()
                uids = re.search(r"^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", status, re.M).groups()
                assert uids == (str(nobody.pw_uid),) * 4, (tid, uids)
        finally:
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                p.kill()
                p.wait()
        events = []
        for line in trace.read_text().splitlines():
            # setuid(UID) is the drop; the state is opened earlier with a
            # temporary setresuid(-1, UID, -1), which is not one.
            m = re.match(r"^\d+\s+(clone3?|setuid)\((.*)", line)
            if m and m.group(1) == "setuid":
                if m.group(2).startswith("%d)" % nobody.pw_uid):
                    events.append("drop")
            elif m and "CLONE_THREAD" in m.group(2):
                events.append("thread")
        assert "drop" in events and "thread" in events, trace.read_text()
        assert events.index("drop") < events.index("thread"), events
    finally:
        shutil.rmtree(d)
