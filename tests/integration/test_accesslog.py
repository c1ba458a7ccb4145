"""The access log in JSON lines (access-log FILE format=json): one object a
request with the exact fields, for every origin of the answer (a file rule,
an API rule, maintenance, none), hostile bytes escaped, and the combined
format still the default."""
import json
import time

from conftest import Conn, get, wait_until
from test_maintenance import admin_server  # noqa: F401 (a fixture)
from test_maintenance import get as get_status

KEYS = ["time", "client", "method", "target", "host", "scheme", "protocol", "status", "bytes",
        "duration_ms", "rule", "origin", "location", "user_agent", "referer"]


def json_lines(s, n, timeout=10):
    wait_until(lambda: s.access_log.exists() and
               len(s.access_log.read_bytes().splitlines()) >= n, timeout=timeout)
    raw = s.access_log.read_bytes()
    assert raw.endswith(b"\n")
    out = []
    for line in raw.splitlines():
        # every byte of a line is printable ASCII or UTF-8: no control byte
        assert all(b >= 0x20 and b != 0x7f for b in line), line
        o = json.loads(line)
        assert list(o) == KEYS, line  # every key, always, in this order
        assert time.strptime(o.pop("time"), "%Y-%m-%dT%H:%M:%SZ")
        assert isinstance(o["duration_ms"], int) and 0 <= o.pop("duration_ms") < 5000
        out.append(o)
    return out


def test_json_lines_exact_fields(admin_server):
    s = admin_server("access-log access.log format=json\n")
    st, js = s.req("POST", "/rules", {"rule": "/promo /sale 307"})
    assert st == 201, js
    api_id = js["id"]
    sent = []
    with Conn(s) as c:
        for req in [
                get("/old", extra=b"User-Agent: t/1\r\nReferer: http://ref.example/p\r\n"),
                get("/promo?x=1"),
                get("/nothing"),
                get("/keep", method=b"HEAD"),
                # the parser refuses control bytes in a field; obs-text
                # (0x80-0xFF) passes: a stray byte, a C1 control, UTF-8
                b"GET /s HTTP/1.0\r\nHost: h.example\r\n"
                b"User-Agent: a\"b\\c\xff\xc2\x9b\xc3\xa9\r\n\r\n",
        ]:
            c.send(req)
            sent.append(len(c.read_response(head=req.startswith(b"HEAD"))))
    assert s.req("POST", "/maintenance", {"on": True, "target": "/down"})[0] == 200
    assert get_status(s, "/old") == (307, "/down")
    got = sorted(json_lines(s, 6), key=lambda o: (o["target"] or "", o["status"]))
    base = {"client": "127.0.0.1", "host": "x", "scheme": "http", "protocol": "HTTP/1.1",
            "user_agent": None, "referer": None}
    want = [
        dict(base, method="HEAD", target="/keep", status=302, bytes=sent[3],
             rule="%s:3" % s.rules_path, origin="file", location="/kept"),
        dict(base, method="GET", target="/nothing", status=404, bytes=sent[2], rule=None,
             origin=None, location=None),
        dict(base, method="GET", target="/old", status=301, bytes=sent[0],
             rule="%s:1" % s.rules_path, origin="file", location="/new", user_agent="t/1",
             referer="http://ref.example/p"),
        dict(base, method="GET", target="/old", status=307, bytes=None, rule="maintenance",
             origin="maintenance", location="/down"),
        dict(base, method="GET", target="/promo?x=1", status=307, bytes=sent[1], rule=api_id,
             origin="api", location="/sale?x=1"),
        # a stray byte as its Latin-1 character, the C1 control escaped,
        # valid UTF-8 kept
        dict(base, method="GET", target="/s", status=404, bytes=sent[4], rule=None,
             origin=None, location=None, host="h.example", protocol="HTTP/1.0",
             user_agent="a\"b\\c\u00ff\u009b\u00e9"),
    ]
    maint = [o for o in got if o["origin"] == "maintenance"][0]
    assert maint["bytes"] > 0
    maint["bytes"] = None
    assert got == want
    text = s.access_log.read_text()
    assert '"user_agent":"a\\"b\\\\c\\u00ff\\u009b\u00e9"' in text


def test_json_line_for_a_request_that_does_not_parse(make_server):
    s = make_server("/old /new 301\n", conf_extra="access-log access.log format=json\n")
    with Conn(s) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n")
        n = len(c.read_until_close())
    (o,) = json_lines(s, 1)
    assert o == {"client": "127.0.0.1", "method": None, "target": None, "host": None,
                 "scheme": "http", "protocol": None, "status": 400, "bytes": n, "rule": None,
                 "origin": None, "location": None, "user_agent": None, "referer": None}


def test_combined_stays_the_default(make_server):
    s = make_server("/old /new 301\n", conf_extra="access-log access.log format=combined\n")
    with Conn(s) as c:
        c.send(get("/old"))
        c.read_response()
    s.wait_log('"/new"\n', log="access", timeout=5)
    line = s.access_log.read_text()
    assert line.startswith("127.0.0.1 - - [") and line.endswith(
        '"GET /old HTTP/1.1" 301 %s "-" "-" "%s:1" "/new"\n' % (line.split()[9], s.rules_path))


def test_reload_with_another_format_warns(make_server):
    import signal
    s = make_server("/old /new 301\n", conf_extra="access-log access.log format=json\n")
    s.conf_path.write_text(s.conf_path.read_text() + "access-log access.log\n")
    s.signal(signal.SIGHUP)
    s.wait_log("info: reloaded: 1 rules in ")
    assert "warn: reload: a new access log format takes effect at the next restart" in \
        s.read_error_log()
    with Conn(s) as c:
        c.send(get("/old"))
        c.read_response()
    (o,) = json_lines(s, 1)  # still JSON until a restart
    assert (o["target"], o["status"]) == ("/old", 301)
