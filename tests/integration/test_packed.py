"""Packed rule strings (lib/rulepack.h; docs/internals/table.md, "Packed strings"): a
generated rules file, whose exact rules are kept as what they add to the first rule of
their block of 16, answers every rule exactly as written (pipelined, trailing slash,
rules of other kinds between them), the admin API lists those rules as written, and
explain and export read them."""
import random
import subprocess

from conftest import BIN, Server, raw, split_responses
from test_admin import Admin


def rules_text(n):
    """n generated rules, with other kinds of rules and statuses between them."""
    out = []
    for i in range(n):
        if i % 97 == 5:
            out.append("/p/%d/:x /pattern/%d/:x 302\n" % (i, i))
        elif i % 89 == 7:
            out.append("/r/%d - 410\n" % i)
        elif i % 83 == 9:
            out.append("/r/%d https://new.example/r/%d?from=old 308 query=drop\n" % (i, i))
        else:
            out.append("/r/%d /target/%d 301\n" % (i, i))
    return "".join(out)


def want(i):
    """The status and Location (None: none) of request /r/i."""
    if i % 97 == 5:
        return 404, None
    if i % 89 == 7:
        return 410, None
    if i % 83 == 9:
        return 308, "https://new.example/r/%d?from=old" % i
    return 301, "/target/%d" % i


def test_packed_rules_answer_exactly(tmp_path):
    s = Server(tmp_path, rules_text(5000)).start()
    try:
        rnd = random.Random(7)
        picks = [rnd.randrange(0, 5200) for _ in range(400)]
        data = b"".join(b"GET /r/%d%s HTTP/1.1\r\nHost: x\r\n\r\n" % (i, b"/" if i % 3 == 0 else b"")
                        for i in picks)
        got = split_responses(raw(s, data + b"GET /p/5/y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        assert len(got) == len(picks) + 1
        for i, (status, headers, body, _) in zip(picks, got):
            st, loc = want(i) if i < 5000 else (404, None)
            assert (status, headers.get("location")) == (st, loc), "/r/%d" % i
            if loc and loc.startswith("/"):
                assert body == (b"<!DOCTYPE html>\n<title>301 Moved Permanently</title>\n"
                                b"<p><a href=\"%s\">Redirecting</a></p>\n" % loc.encode())
        assert got[-1][0] == 302 and got[-1][1]["location"] == "/pattern/5/y"
    finally:
        assert s.stop() == 0, s.read_error_log()


def test_packed_rules_listed_as_written(tmp_path):
    text = rules_text(300)
    s = Admin(tmp_path, rules=text, workers=1).start()
    try:
        st, js, _, _ = s.req("GET", "/rules?origin=file&limit=1000")
        assert st == 200 and js["total"] == 300
        assert [x["rule"] for x in js["rules"]] == [line for line in text.splitlines()]
        # the server still answers from the packed strings after the listing
        assert s.get("/r/17") == (301, "/target/17")
    finally:
        assert s.stop() == 0, s.read_error_log()


def test_packed_rules_explain_and_export(tmp_path):
    f = tmp_path / "gen.rules"
    f.write_text(rules_text(2000))
    out = subprocess.run([BIN, "explain", str(f), "GET http://x/r/1234/"], capture_output=True,
                         text=True, check=True).stdout
    assert "rule      /r/1234 /target/1234 301\n" in out
    assert "location  /target/1234\n" in out
    out = subprocess.run([BIN, "export", "nginx", str(f)], capture_output=True, text=True).stdout
    for i in (1, 15, 16, 17, 1999):
        assert '    "/r/%d" "/target/%d";\n' % (i, i) in out, i
