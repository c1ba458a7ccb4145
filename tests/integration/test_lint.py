"""detour lint: exit status 0/1/2, the exact text output, --json, --graph
(exact DOT text, validated by Graphviz's dot when it is installed) and --fix
(its output loads again and has no chain left)."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import BIN, run_detour

CLEAN = """\
/old        /new            307
/docs/*     https://docs.example.com/:splat  308  cache=1d
/gone       -               410
"""

WARN = """\
/a          /b              302
/b          /c              302
/c          /d              302
/blog/*     /news/:splat    307
/blog/about /about          307
/perm       /p              301
"""

ERRORS = """\
# a loop, a self redirect, a conflict
/loop1      /loop2
/loop2      /loop1
/self       /self?x=1
/x          /y
/x          /z              302
/into       /loop1
"""


def lint(tmp_path, text, *args, name="site.rules", rc=None):
    p = tmp_path / name
    p.write_text(text)
    code, out, err = run_detour(["lint"] + list(args) + [str(p)], cwd=str(tmp_path))
    if rc is not None:
        assert code == rc, (code, out, err)
    return code, out, err, str(p)


def test_clean_exit_0(tmp_path):
    code, out, err, _ = lint(tmp_path, CLEAN, rc=0)
    assert out == "3 rules: no findings\n"
    assert err == ""


def test_warnings_exit_1(tmp_path):
    code, out, err, f = lint(tmp_path, WARN, rc=1)
    assert out.split("\n") == [
        f + ":1: warning: /a -> /b -> /c -> /d: 3 redirects (%s:1, %s:2, %s:3); "
            "replace with: /a /d 302 [chain]" % (f, f, f),
        "  fix: /a /d 302",
        f + ":2: warning: target /c is redirected again by %s:3 to /d; replace with: "
            "/b /d 302 [target-redirects]" % f,
        "  fix: /b /d 302",
        f + ":5: warning: never used: %s:4 (/blog/*) comes first and takes every request "
            "this rule matches [shadowed]" % f,
        "  fix: move this rule above %s:4, or remove it" % f,
        f + ":6: warning: 301 without cache=: browsers keep a permanent redirect with no "
            "time limit, and it cannot be taken back [permanent-no-cache]",
        "  fix: add cache=1d (or another lifetime), or use 302 while testing",
        "6 rules: 0 errors, 4 warnings",
        "",
    ]
    assert err == ""


def test_errors_exit_2(tmp_path):
    code, out, err, f = lint(tmp_path, ERRORS, rc=2)
    assert out.split("\n") == [
        f + ":2: error: redirect loop: /loop1 -> /loop2 -> /loop1 (%s:2, %s:3) [loop]" % (f, f),
        "  fix: point one of these rules at the final page",
        f + ":4: error: redirects to itself: /self -> /self?x=1 [self-redirect]",
        "  fix: point the target somewhere else, or remove the rule",
        f + ":6: error: same source as %s:5, which answers first (307 /y): this rule "
            "(302 /z) is never used [conflict]" % f,
        "  fix: remove one of the two lines, or give them different sources",
        f + ":7: error: leads into the redirect loop of %s:2: /into -> /loop1 -> /loop2 "
            "-> /loop1 [loop]" % f,
        "6 rules: 4 errors, 0 warnings",
        "",
    ]


def test_several_files_are_one_table(tmp_path):
    a = tmp_path / "a.rules"
    b = tmp_path / "b.rules"
    a.write_text("/a /b 302\n")
    b.write_text("/b /c 302\n/a /z 302\n")
    code, out, err = run_detour(["lint", str(a), str(b)])
    assert code == 2, (out, err)
    assert out.split("\n") == [
        "%s:1: warning: target /b is redirected again by %s:1 to /c; replace with: "
        "/a /c 302 [target-redirects]" % (a, b),
        "  fix: /a /c 302",
        "%s:2: error: same source as %s:1, which answers first (302 /b): this rule "
        "(302 /z) is never used [conflict]" % (b, a),
        "  fix: remove one of the two lines, or give them different sources",
        "3 rules: 1 error, 1 warning",
        "",
    ]


def test_json(tmp_path):
    code, out, err, f = lint(tmp_path, WARN, "--json", rc=1)
    assert out.endswith("}\n") and out.count("\n") == 1
    doc = json.loads(out)
    assert doc == {
        "rules": 6,
        "errors": 0,
        "warnings": 4,
        "findings": [
            {"code": "chain", "severity": "warning", "file": f, "line": 1,
             "message": "/a -> /b -> /c -> /d: 3 redirects (%s:1, %s:2, %s:3); "
                        "replace with: /a /d 302" % (f, f, f),
             "fix": "/a /d 302",
             "related": [{"file": f, "line": 2}, {"file": f, "line": 3}]},
            {"code": "target-redirects", "severity": "warning", "file": f, "line": 2,
             "message": "target /c is redirected again by %s:3 to /d; replace with: "
                        "/b /d 302" % f,
             "fix": "/b /d 302",
             "related": [{"file": f, "line": 3}]},
            {"code": "shadowed", "severity": "warning", "file": f, "line": 5,
             "message": "never used: %s:4 (/blog/*) comes first and takes every request "
                        "this rule matches" % f,
             "fix": "move this rule above %s:4, or remove it" % f,
             "related": [{"file": f, "line": 4}]},
            {"code": "permanent-no-cache", "severity": "warning", "file": f, "line": 6,
             "message": "301 without cache=: browsers keep a permanent redirect with no "
                        "time limit, and it cannot be taken back",
             "fix": "add cache=1d (or another lifetime), or use 302 while testing",
             "related": []},
        ],
    }


def test_json_clean_and_escaping(tmp_path):
    code, out, err, f = lint(tmp_path, CLEAN, "--json", name='we"ird.rules', rc=0)
    assert json.loads(out) == {"rules": 3, "errors": 0, "warnings": 0, "findings": []}
    code, out, err, f = lint(tmp_path, "/a /a\n", "--json", name='we"ird.rules', rc=2)
    doc = json.loads(out)
    assert doc["findings"][0]["file"] == f
    assert doc["findings"][0]["code"] == "self-redirect"


def test_json_file_name_not_utf8(tmp_path):
    # A file name is bytes: one that is not UTF-8 still gives valid JSON,
    # each stray byte read as the Latin-1 character of the same value.
    name = b"caf\xe9\x01.rules"
    (tmp_path / os.fsdecode(name)).write_text("/a /a\n")
    p = subprocess.run([BIN, "lint", "--json", name], cwd=str(tmp_path), capture_output=True,
                       timeout=30)
    assert p.returncode == 2, p.stderr
    doc = json.loads(p.stdout.decode("utf-8"))
    assert doc["findings"][0]["file"] == "caf\u00e9\u0001.rules"


GRAPH_RULES = """\
/a      /b       302
/b      /c       302
/l1     /l2      307
/l2     /l1      307
/gone   -        410
/s/*    /t?q=x   302
/s/x    /never   302
"""


def test_graph(tmp_path):
    code, out, err, f = lint(tmp_path, GRAPH_RULES, "--graph", name='g"raph.rules', rc=2)
    f = f.replace('"', '\\"')  # escaped in DOT strings
    assert out.split("\n") == [
        "digraph detour {",
        "\trankdir=LR;",
        "\tnode [shape=box];",
        '\tr0 [label="/a\\n%s:1"];' % f,
        '\tr0 -> r1 [label="302 /b"];',
        '\tr1 [label="/b\\n%s:2"];' % f,
        '\tt1 [label="/c", shape=ellipse];',
        '\tr1 -> t1 [label="302"];',
        '\tr2 [label="/l1\\n%s:3", color=red];' % f,
        '\tr2 -> r3 [label="307 /l2", color=red];',
        '\tr3 [label="/l2\\n%s:4", color=red];' % f,
        '\tr3 -> r2 [label="307 /l1", color=red];',
        '\tr4 [label="/gone\\n%s:5"];' % f,
        '\tr5 [label="/s/*\\n%s:6"];' % f,
        '\tt5 [label="/t?q=x", shape=ellipse];',
        '\tr5 -> t5 [label="302"];',
        '\tr6 [label="/s/x\\n%s:7", style=dashed];' % f,
        '\tt6 [label="/never", shape=ellipse];',
        '\tr6 -> t6 [label="302"];',
        "}",
        "",
    ]
    assert err == "7 rules: 1 error, 2 warnings\n"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graph_is_valid_dot(tmp_path):
    code, out, err, f = lint(tmp_path, GRAPH_RULES + ERRORS, "--graph")
    p = subprocess.run(["dot", "-Tsvg"], input=out.encode(), capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert b"<svg" in p.stdout


FIX_RULES = """\
\ufeff# chains to flatten
/a    /b            302  cache=1h
/b    /c            302
/c    https://example.com/d   302
/old/*   /mid/:splat
/mid/*   /new/:splat  308 cache=1d
/p    /q\r
//example.com/q   /r
"""


def test_fix_flattens_and_reloads(tmp_path):
    code, out, err, f = lint(tmp_path, FIX_RULES, "--fix", rc=1)
    assert out == (
        "\ufeff# chains to flatten\n"
        "/a    https://example.com/d            302  cache=1h\n"
        "/b    https://example.com/d            302\n"
        "/c    https://example.com/d   302\n"
        "/old/*   /new/:splat\n"
        "/mid/*   /new/:splat  308 cache=1d\n"
        "//example.com/p /r 307\r\n"
        "/p    /q\r\n"
        "//example.com/q   /r\n")
    assert err == "7 rules: 0 errors, 4 warnings\n"
    fixed = tmp_path / "fixed.rules"
    fixed.write_text(out, newline="")
    code, out2, err2 = run_detour(["lint", "--json", str(fixed)])
    doc = json.loads(out2)
    assert [x["code"] for x in doc["findings"]] == [], doc
    assert code == 0


def test_fix_several_files(tmp_path):
    a = tmp_path / "a.rules"
    b = tmp_path / "b.rules"
    a.write_text("/a /b 302\n")
    b.write_text("/b /c 302\n")
    code, out, err = run_detour(["lint", "--fix", str(a), str(b)])
    assert code == 1
    assert out == "# detour lint --fix: %s\n/a /c 302\n# detour lint --fix: %s\n/b /c 302\n" % (
        a, b)


def test_usage_and_load_errors(tmp_path):
    code, out, err = run_detour(["lint"])
    assert code == 2 and out == "" and err.startswith("usage: detour lint")
    code, out, err = run_detour(["lint", "--bogus", "x"])
    assert code == 2 and err.startswith("detour lint: unknown option '--bogus'\n")
    code, out, err = run_detour(["lint", "--json", "--graph", "x"])
    assert code == 2 and err == "detour lint: give one of --json, --graph, --fix\n"
    code, out, err = run_detour(["lint", str(tmp_path / "missing.rules")])
    assert code == 2
    assert err == "detour lint: %s: No such file or directory\n" % (tmp_path / "missing.rules")
    bad = tmp_path / "bad.rules"
    bad.write_text("/a /b 30x\n")
    code, out, err = run_detour(["lint", str(bad)])
    assert code == 2 and out == ""
    assert err.startswith("detour lint: %s:1:7: " % bad)
    code, out, err = run_detour(["lint", "--help"])
    assert code == 0 and out.startswith("usage: detour lint")


def test_listed_in_main_usage():
    code, out, err = run_detour(["--help"])
    assert code == 0
    assert "  lint      find loops, chains, shadowed and duplicate rules, risky choices\n" in out


# The rule language's extensions (conditions, windows, weights, allow-hosts).
def run_env(args, cwd, env):
    p = subprocess.run([BIN] + list(args), cwd=cwd, capture_output=True, timeout=30, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode()

EXT_RULES = """\
/api/* https://api2.example.com/:splat 301 method=POST,PUT cache=1h
/promo /contests/november 307 from=2026-11-01 until=2026-12-01
/landing /landing-a 307 weight=60
/landing /landing-b 307 weight=30
~^/out/(https?://[^/]+/.*)$ $1 302 allow-hosts=partner.example
/a /b 307 if-cookie=beta
/b /a
/w /x 307 from=2026-12-07 until=2026-12-08 days=sat
"""


def test_extensions_text_and_clock(tmp_path):
    env = dict(os.environ, DETOUR_NOW="2026-12-05T00:00:00Z")
    p = tmp_path / "ext.rules"
    p.write_text(EXT_RULES)
    code, out, err = run_env(["lint", "ext.rules"], str(tmp_path), env)
    assert code == 1, (code, out, err)
    assert out.split("\n") == [
        "ext.rules:1: warning: 301 on a rule for POST/PUT: clients may follow it with a GET"
        " and lose the request body (RFC 9110 §15.4.2) [method-change]",
        "  fix: use 308, which keeps the method and the body",
        "ext.rules:2: warning: the time window ended at 2026-12-01T00:00:00Z"
        " (now 2026-12-05T00:00:00Z): this rule never applies again [window-ended]",
        "  fix: remove the rule, or move until= to the future",
        "ext.rules:3: warning: the weights of this group add up to 90, not 100: /landing-a"
        " gets 60/90 (66.7%), /landing-b gets 30/90 (33.3%) [weights]",
        "  fix: make the weights total 100, or use small ratios (3 and 1)",
        "ext.rules:5: warning: the target starts with a capture: a request chooses the whole"
        " Location, its scheme too (http:// to an allowed host, no TLS); only allow-hosts="
        " (1 host) limits where visitors go [open-redirect]",
        "  fix: write the scheme in the target (https://$1...) and capture only what follows it",
        "ext.rules:6: warning: redirect loop: /a -> /b -> /a (ext.rules:6, ext.rules:7);"
        " only for some requests: ext.rules:6 applies when if-cookie=beta [may-loop]",
        "  fix: point one of these rules at the final page",
        "ext.rules:8: warning: the time window never opens: from=2026-12-07T00:00:00Z"
        " until=2026-12-08T00:00:00Z days=sat [window-never]",
        "  fix: widen from=/until= to a day that days=/hours= allow, or remove the rule",
        "8 rules: 0 errors, 6 warnings",
        "",
    ]
    assert err == "detour lint: DETOUR_NOW is set: the clock is 2026-12-05T00:00:00Z\n"
    # --at wins over DETOUR_NOW: before until=, the promo window is open
    code, out, err = run_env(["lint", "--at", "2026-11-15T00:00:00Z", "--json", "ext.rules"],
                             str(tmp_path), env)
    assert code == 1 and err == ""
    j = json.loads(out)
    assert [(f["code"], f["line"], f["severity"]) for f in j["findings"]] == [
        ("method-change", 1, "warning"),
        ("weights", 3, "warning"),
        ("open-redirect", 5, "warning"),
        ("may-loop", 6, "warning"),
        ("window-never", 8, "warning"),
    ]
    assert j["findings"][3]["related"] == [{"file": "ext.rules", "line": 6},
                                           {"file": "ext.rules", "line": 7}]
    assert j["findings"][2]["fix"] == ("write the scheme in the target (https://$1...) and"
                                       " capture only what follows it")
    code, out, err = run_detour(["lint", "--at", "yesterday", "ext.rules"], cwd=str(tmp_path))
    assert code == 2 and err == "detour lint: --at 'yesterday' is not an RFC 3339 time\n"


def test_graph_conditional_edges(tmp_path):
    code, out, err, f = lint(tmp_path, "/a /b 307 if-cookie=beta\n/b /c 307 method=GET\n/c /d\n",
                             "--graph", "--at", "2026-12-05T00:00:00Z", rc=1)
    assert out.split("\n") == [
        "digraph detour {",
        "\trankdir=LR;",
        "\tnode [shape=box];",
        '\tr0 [label="/a\\n%s:1"];' % f,
        '\tr0 -> r1 [label="307 /b\\nif-cookie=beta", style=dashed];',
        '\tr1 [label="/b\\n%s:2"];' % f,
        '\tr1 -> r2 [label="307 /c\\nmethod=GET", style=dashed];',
        '\tr2 [label="/c\\n%s:3"];' % f,
        '\tt2 [label="/d", shape=ellipse];',
        '\tr2 -> t2 [label="307"];',
        "}",
        "",
    ]


def test_bundled_examples_are_lint_clean():
    # The rules `make run` serves are what a new user copies: they pass their
    # own lint without a finding (issue 11).
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    rc, out, err = run_detour(["lint", "examples/site.rules"], cwd=root)
    assert (rc, out, err) == (0, "8 rules: no findings\n", "")


# ---- every error of a file in one pass (issue 11) ------------------------

MANY_ERRORS = """\
/ok         /fine           301  id=a
/a
/b          /c              999
/d          /e              301  id=a
/f          /g              301  bogus=1
@slash sideways
"""

OPTS = ("(known options: query, cache, id, method, if-header, if-cookie, if-query, if-ip, "
        "if-lang, from, until, days, hours, tz, weight, sticky, health, delay, case, private, "
        "allow-hosts)")


def many_errors_text(p, q):
    return (
        "%s:2:3: expected a target after the source: a path, an http(s) URL, or '-' "
        "(with status 410)\n"
        "%s:3:29: unsupported status 999: expected 301, 302, 303, 307, 308 or 410\n"
        "%s:4:37: duplicate id \"a\": already used at %s:1\n"
        "%s:5:34: unknown option \"bogus\" " + OPTS + "\n"
        "%s:6:8: expected strict or either after @slash, found \"sideways\"\n"
        "%s:1:4: expected a target after the source: a path, an http(s) URL, or '-' "
        "(with status 410)\n") % (p, p, p, p, p, p, q)


def test_every_error_of_every_file(tmp_path):
    p = tmp_path / "many.rules"
    p.write_text(MANY_ERRORS)
    q = tmp_path / "more.rules"
    q.write_text("/ok2 /x\n/zz\n")
    code, out, err = run_detour(["lint", str(p), str(tmp_path / "missing.rules"), str(q)])
    assert (code, out) == (2, "")
    lines = many_errors_text(p, q).splitlines()
    lines.insert(5, "%s: No such file or directory" % (tmp_path / "missing.rules"))
    # the second file's bad line is its line 2
    lines[-1] = lines[-1].replace(":1:4:", ":2:4:")
    assert err == "".join("detour lint: %s\n" % l for l in lines)


def test_errors_over_the_cap(tmp_path):
    p = tmp_path / "cap.rules"
    p.write_text("".join("/r%02d\n" % i for i in range(27)))
    code, out, err = run_detour(["lint", str(p)])
    assert (code, out) == (2, "")
    want = "".join(
        "detour lint: %s:%d:5: expected a target after the source: a path, an http(s) URL, "
        "or '-' (with status 410)\n" % (p, i + 1) for i in range(20))
    assert err == want + "detour lint: 7 more errors\n"


def test_serve_t_reports_every_error(tmp_path):
    p = tmp_path / "many.rules"
    p.write_text(MANY_ERRORS)
    conf = tmp_path / "detour.conf"
    conf.write_text("rules %s\n" % p)
    code, out, err = run_detour(["serve", "-t", "-c", str(conf)])
    assert (code, out) == (1, "")
    lines = many_errors_text(p, p).splitlines()[:5]
    assert err == "".join("detour: %s\n" % l for l in lines)


def test_regex_cost(tmp_path):
    # 40 prefix-less regexes vectorscan compiles: one scan for all of them, no finding
    text = "".join("~\\.ext%d$ /x%d 302\n" % (i, i) for i in range(40)) + \
        "~^/blog/(.*)$ /news/$1 302\n/old /new 302\n"
    code, out, err, p = lint(tmp_path, text, rc=0)
    assert (err, out) == ("", "42 rules: no findings\n")
    # 40 that vectorscan cannot compile (\K): each runs alone, a note each, and the cost
    text = "".join("~\\.ext%d\\K$ /x%d 302\n" % (i, i) for i in range(40)) + \
        "~^/blog/(.*)$ /news/$1 302\n/old /new 302\n"
    code, out, err, p = lint(tmp_path, text, rc=1)
    assert err == ""
    lines = out.splitlines(keepends=True)
    assert "".join(l for l in lines if "[regex-pcre2]" not in l and "fix: rewrite" not in l) == (
        "%s:1: warning: every request that no earlier rule answers runs 40 regexes "
        "(40 unanchored): none has a literal prefix to index it by; cost class high "
        "[regex-cost]\n"
        "  fix: start each pattern with ^ and a literal path ending in '/' (~^/blog/(.*)$), "
        "or use splat (/blog/*) and placeholder (/p/:id) sources, which are looked up by "
        "hash\n"
        "42 rules: 0 errors, 1 warning, 40 notes\n") % p
    assert sum("note: vectorscan cannot compile this regex" in l for l in lines) == 40
    code, out, err, p = lint(tmp_path, text, "--json", rc=1)
    f = json.loads(out)["findings"]
    assert [(x["code"], x["line"], x["severity"]) for x in f] == (
        [("regex-cost", 1, "warning")] +
        [("regex-pcre2", i, "note") for i in range(1, 41)])
    assert [r["line"] for r in f[0]["related"]] == list(range(2, 41))
    assert json.loads(out)["notes"] == 40
    # anchored with a literal prefix: indexed, no finding
    text = "".join("~^/p%d/([0-9]+)$ /q/$1 302\n" % i for i in range(40))
    lint(tmp_path, text, rc=0)
