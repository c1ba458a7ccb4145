"""detour explain: the matching rule (file:line, id), its captures, the
Location and the exact response bytes; or why nothing matches."""
import os

import pytest

from conftest import expected_response, mask_date, run_detour

RULES = """\
/old                    /new                                307  id=old
/blog/*                 https://blog.example.com/:splat     308
/docs/:version/:page    /documentation/:page?v=:version     302  id=docs
//old.example.com/*     https://example.com/:splat          301  id=old-host
/trail/                 /t                                  301
/gone                   -                                   410  id=gone
/promo                  /contests/november                  307  cache=no-store query=drop
"""
LINES = RULES.splitlines()


@pytest.fixture
def rules(tmp_path):
    p = tmp_path / "site.rules"
    p.write_text(RULES)
    return str(p)


def explain(*args, cwd=None, rc=0):
    code, out, err = run_detour(["explain"] + list(args), cwd=cwd)
    assert code == rc, (code, out, err)
    return out, err


def split_output(out):
    """The report lines, then the response bytes (CRLF kept)."""
    report, sep, response = out.partition("\n\n")
    assert sep, out
    return report.split("\n"), response.encode()


@pytest.mark.parametrize("request_arg,report,status,location,cache", [
    ("GET /old", ["request   GET /old", "match     {f}:1 (id old)", "rule      " + LINES[0],
                  "location  /new"], 307, "/new", None),
    ("/old", ["request   GET /old", "match     {f}:1 (id old)", "rule      " + LINES[0],
              "location  /new"], 307, "/new", None),
    ("POST /old?x=1", ["request   POST /old?x=1", "match     {f}:1 (id old)",
                       "rule      " + LINES[0], "location  /new?x=1"], 307, "/new?x=1", None),
    ("GET /blog/2024/post?ref=rss", [
        "request   GET /blog/2024/post?ref=rss", "match     {f}:2 (id {f}:2)",
        "rule      " + LINES[1], 'capture   splat = "2024/post"',
        "location  https://blog.example.com/2024/post?ref=rss"],
     308, "https://blog.example.com/2024/post?ref=rss", None),
    ("GET /docs/v2/intro", [
        "request   GET /docs/v2/intro", "match     {f}:3 (id docs)", "rule      " + LINES[2],
        'capture   version = "v2"', 'capture   page = "intro"',
        "location  /documentation/intro?v=v2"], 302, "/documentation/intro?v=v2", None),
    ("GET http://OLD.example.com:8080/a/b", [
        "request   GET http://OLD.example.com:8080/a/b", "match     {f}:4 (id old-host)",
        "rule      " + LINES[3], 'capture   splat = "a/b"',
        "location  https://example.com/a/b"], 301, "https://example.com/a/b", None),
    ("GET /x/../old", ["request   GET /x/../old", "path      /old (normalised)",
                       "match     {f}:1 (id old)", "rule      " + LINES[0],
                       "location  /new"], 307, "/new", None),
    ("GET /gone", ["request   GET /gone", "match     {f}:6 (id gone)", "rule      " + LINES[5]],
     410, None, None),
    ("GET /promo?utm=x", ["request   GET /promo?utm=x", "match     {f}:7 (id {f}:7)",
                          "rule      " + LINES[6], "location  /contests/november"],
     307, "/contests/november", "no-store"),
])
def test_explain_match(rules, request_arg, report, status, location, cache):
    out, err = explain(rules, request_arg)
    assert err == ""
    got_report, response = split_output(out)
    assert got_report == [l.format(f=rules) for l in report]
    assert mask_date(response) == expected_response(status, location, cache=cache)


def test_explain_head_shows_no_body(rules):
    out, _ = explain(rules, "HEAD /old")
    report, response = split_output(out)
    assert report[0] == "request   HEAD /old"
    assert mask_date(response) == expected_response(307, "/new", head=True)


def test_explain_no_match(rules):
    out, _ = explain(rules, "GET /nothing/here")
    report, response = split_output(out)
    assert report == [
        "request   GET /nothing/here",
        "result    no rule matches; the server answers 404 Not Found",
        # the host rule covers every path, on its own host
        "near      %s:4 (id old-host) matches this path for host old.example.com, not for "
        "this request's http://(no host)" % rules,
    ]
    assert mask_date(response) == expected_response(404)


def test_explain_no_match_why(tmp_path):
    p = tmp_path / "plain.rules"
    p.write_text("/a /b 301\n/c/* /d 302\n")
    out, _ = explain(str(p), "GET /nothing/here")
    report, response = split_output(out)
    assert report == [
        "request   GET /nothing/here",
        "result    no rule matches; the server answers 404 Not Found",
        "why       no rule's source covers this path (2 rules loaded)",
    ]
    assert mask_date(response) == expected_response(404)


def test_explain_near_misses(rules):
    # the host rule would match this path on its host
    out, _ = explain(rules, "GET http://new.example.com/a")
    report, response = split_output(out)
    assert report == [
        "request   GET http://new.example.com/a",
        "result    no rule matches; the server answers 404 Not Found",
        "near      %s:4 (id old-host) matches this path for host old.example.com, not for "
        "this request's http://new.example.com" % rules,
    ]
    assert mask_date(response) == expected_response(404)
    # "@slash either" (the default): /trail/ answers /trail
    out, _ = explain(rules, "GET /trail")
    report, _ = split_output(out)
    assert report[1] == "match     %s:5 (id %s:5)" % (rules, rules)
    # "@slash strict": a trailing slash away
    strict = os.path.join(os.path.dirname(rules), "strict.rules")
    with open(strict, "w") as f:
        f.write("@slash strict\n" + RULES)
    out, _ = explain(strict, "GET /trail")
    report, _ = split_output(out)
    assert report[2:] == [
        "near      %s:5 (id old-host) matches this path for host old.example.com, not for "
        "this request's http://(no host)" % strict,
        "near      %s:6 (id %s:6) matches /trail/ (trailing slash differs)" % (strict, strict)]


# Conditions, windows and groups, explained (docs/rules.md)
COND_RULES = """\
/promo   /nov       from=2026-11-01 until=2026-12-01 cache=30d
/promo   /beta      if-cookie=beta if-lang=fr
/land    /a         weight=3 sticky=cookie id=land
/land    /b         weight=1
~^/p/(?<id>[0-9]+)$ /products/$1
/promo   /fallback
"""


def test_explain_conditions_windows_groups(tmp_path):
    p = tmp_path / "r3.rules"
    p.write_text(COND_RULES)
    rules = str(p)
    out, _ = explain(rules, "--at", "2026-10-01T10:00:00+02:00", "-H", "Cookie: beta=1",
                     "-H", "Accept-Language: de, fr;q=0.5", "GET /promo")
    report, response = split_output(out)
    assert report == [
        "request   GET /promo",
        "clock     Thu, 01 Oct 2026 08:00:00 GMT (--at)",
        "skipped   %s:1 (id %s:1): its source matches, but" % (rules, rules),
        "          window closed at 2026-10-01T08:00:00Z: next opens 2026-11-01T00:00:00Z",
        "skipped   %s:2 (id %s:2): its source matches, but" % (rules, rules),
        "          condition if-cookie=beta holds (cookie beta=1)",
        "          condition if-lang=fr fails (preferred language de)",
        "match     %s:6 (id %s:6)" % (rules, rules),
        "rule      /promo   /fallback",
        "location  /fallback",
    ]
    out, _ = explain(rules, "--at", "2026-11-30T00:00:00Z", "GET /promo")
    report, response = split_output(out)
    assert report[4] == ("why       window open at 2026-11-30T00:00:00Z, closes "
                         "2026-12-01T00:00:00Z (cache lifetimes cut to 86400 s)")
    assert b"Cache-Control: max-age=86400\r\n" in response
    out, _ = explain(rules, "-H", "Cookie: detour-land=1", "GET /land")
    report, response = split_output(out)
    assert report[1:] == [
        "match     %s:4 (id %s:4)" % (rules, rules),
        "rule      /land    /b         weight=1",
        "why       group: 2 variants, sticky=cookie (cookie detour-land)",
        "why       variant 0: line 3 -> /a, weight 3 (75.0%)",
        "why       variant 1: line 4 -> /b, weight 1 (25.0%)",
        "why       chosen: variant 1 (line 4), named by the visitor's cookie",
        "variant   1 (line 4)",
        "location  /b",
    ]
    assert b"Cache-Control: private, no-store\r\n" in response
    out, _ = explain(rules, "GET /p/42")
    report, _ = split_output(out)
    assert report[3:] == ['capture   $1 :id = "42"', "location  /products/42"]


def test_explain_with_config(tmp_path, rules):
    conf = tmp_path / "detour.conf"
    conf.write_text("rules site.rules\nserver-header on\n")
    out, _ = explain("-c", str(conf), "GET /old")
    report, response = split_output(out)
    assert report[1] == "match     %s:1 (id old)" % rules
    assert mask_date(response) == expected_response(307, "/new", server=True)
    # ./detour.conf is read when no file is named
    out2, _ = explain("GET /old", cwd=str(tmp_path))
    report2, _ = split_output(out2)
    assert report2[1] == "match     site.rules:1 (id old)"  # as the config names it


def test_explain_several_files_first_wins(tmp_path, rules):
    other = tmp_path / "first.rules"
    other.write_text("# first\n/old /from-first 302\n")
    out, _ = explain(str(other), rules, "GET /old")
    report, response = split_output(out)
    assert report[1] == "match     %s:2 (id %s:2)" % (other, other)
    assert mask_date(response) == expected_response(302, "/from-first")


def test_explain_the_example_rules():
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    lines = open(os.path.join(root, "examples", "site.rules")).read().splitlines()
    n = next(i for i, l in enumerate(lines, 1) if l.startswith("/old "))
    out, _ = explain("GET /old", cwd=root)  # the built-in default: examples/site.rules
    report, response = split_output(out)
    assert report[1] == "match     examples/site.rules:%d (id old)" % n
    assert mask_date(response) == expected_response(307, "/new")


@pytest.mark.parametrize("args,rc,err", [
    ([], 2, "usage: detour explain [-c FILE | RULES...] [-H 'Name: value']... [--ip ADDR]\n"),
    (["-c"], 2, "detour explain: -c needs a file name\n"),
    (["{rules}", "-c", "x.conf", "GET /"], 2,
     "detour explain: give either -c FILE or rules files, not both\n"),
    (["{rules}", "GET not a path"], 2,
     "detour explain: 'not a path' is not a path (/x?y) or an absolute http(s) URL\n"),
    (["{rules}", "GET relative"], 2,
     "detour explain: 'relative' is not a path (/x?y) or an absolute http(s) URL\n"),
    (["{rules}", "GET /a%zz"], 2,
     "detour explain: '/a%zz' is not a path (/x?y) or an absolute http(s) URL\n"),
    (["{rules}", "GET ftp://h/x"], 2, "detour explain: only http and https URLs are served\n"),
    (["{rules}", " /x"], 2, "detour explain: bad method in ' /x'\n"),
    (["{rules}", "A-METHOD-NAME-OF-MORE-THAN-32-BYTES /x"], 2,
     "detour explain: bad method in 'A-METHOD-NAME-OF-MORE-THAN-32-BYTES /x'\n"),
    (["{dir}/missing.rules", "GET /"], 1,
     "detour: {dir}/missing.rules: No such file or directory\n"),
    (["-c", "{dir}/missing.conf", "GET /"], 1,
     "detour: {dir}/missing.conf: cannot open: No such file or directory\n"),
])
def test_explain_errors(tmp_path, rules, args, rc, err):
    args = [a.format(rules=rules, dir=tmp_path) for a in args]
    out, got_err = explain(*args, rc=rc)
    assert out == ""
    if rc == 2 and not args:
        assert got_err.startswith(err)
    else:
        assert got_err == err.format(dir=tmp_path)


def test_explain_broken_rules_file(tmp_path):
    p = tmp_path / "bad.rules"
    p.write_text("/a /b 301\n\n/c /d 301 cache=forever\n")
    out, err = explain(str(p), "GET /a", rc=1)
    assert out == ""
    assert err.startswith("detour: %s:3:17: expected no-store or a duration" % p), err


def test_explain_help():
    out, err = explain("--help")
    assert out.startswith("usage: detour explain [-c FILE | RULES...] [-H 'Name: value']... "
                          "[--ip ADDR]\n")
    assert err == ""
