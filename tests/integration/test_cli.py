"""The command line: --help, --version, bad flags, `detour serve -t` on good
and broken configurations (file:line:col), and start-up failures."""
import os
import re
import socket
import subprocess

import pytest

from conftest import BIN, Conn, expected_response, free_port, get, mask_date, run_detour

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

MAIN_USAGE_HEAD = "usage: detour <command> [options]\n\ncommands:\n"
MAIN_USAGE_TAIL = ("\n'detour <command> --help' describes a command. "
                   "'detour --version' prints the version.\n")
CORE_COMMANDS = [
    "  serve     answer HTTP requests with redirects from a rules table",
    "  explain   show which rule matches a request and the exact response",
    "  check     trace redirect chains hop by hop, as a browser follows them",
]


def check_main_usage(text):
    """The usage text: head, one "  name  summary" line per command (the
    core ones first, later issues add more), tail."""
    assert text.startswith(MAIN_USAGE_HEAD) and text.endswith(MAIN_USAGE_TAIL), text
    lines = text[len(MAIN_USAGE_HEAD):-len(MAIN_USAGE_TAIL)].split("\n")
    assert lines[-1] == ""
    assert lines[:3] == CORE_COMMANDS, lines
    for l in lines[3:-1]:
        assert re.fullmatch(r"  [a-z]+ +\S.*", l), l


SERVE_USAGE_FIRST = "usage: detour serve [-c FILE] [-t]\n"


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag):
    assert run_detour([flag]) == (0, "detour 0.1.0\n", "")


@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
def test_help(flag):
    rc, out, err = run_detour([flag])
    assert (rc, err) == (0, "")
    check_main_usage(out)


def test_no_arguments():
    rc, out, err = run_detour([])
    assert (rc, out) == (2, "")
    check_main_usage(err)


def test_unknown_command():
    rc, out, err = run_detour(["frobnicate"])
    assert (rc, out) == (2, "")
    prefix = "detour: unknown command 'frobnicate'\n\n"
    assert err.startswith(prefix)
    check_main_usage(err[len(prefix):])


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_serve_help(flag):
    rc, out, err = run_detour(["serve", flag])
    assert (rc, err) == (0, "")
    assert out.startswith(SERVE_USAGE_FIRST)
    for needle in ("-c, --config FILE", "-t, --test", "-h, --help",
                   "Signals: SIGHUP reloads, SIGUSR1 reopens logs, SIGTERM/SIGINT drain and exit."):
        assert needle in out


@pytest.mark.parametrize("args,err", [
    (["serve", "--bogus"], "detour serve: unknown option '--bogus'\n"),
    (["serve", "-x"], "detour serve: unknown option '-x'\n"),
    (["serve", "extra"], "detour serve: unknown option 'extra'\n"),
    (["serve", "-c"], "detour serve: -c needs a file name\n"),
    (["serve", "-t", "--config"], "detour serve: --config needs a file name\n"),
])
def test_serve_bad_flags(args, err):
    rc, out, got = run_detour(args)
    assert (rc, out) == (2, "")
    assert got.startswith(err)
    if "unknown option" in err:
        assert got[len(err):].startswith(SERVE_USAGE_FIRST)
    else:
        assert got == err


# ---- serve -t -----------------------------------------------------------------------------

def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_serve_t_ok(tmp_path):
    write(tmp_path, "a.rules", "/a /b 301\n/c /d\n# comment\n")
    write(tmp_path, "b.rules", "/e - 410\n")
    conf = write(tmp_path, "detour.conf", "listen 127.0.0.1:1\nrules a.rules\n")
    assert run_detour(["serve", "-t", "-c", str(conf)]) == (
        0, "detour: configuration %s is ok: 2 rules from 1 file\n" % conf, "")
    conf2 = write(tmp_path, "two.conf", "rules a.rules\nrules b.rules\n")
    assert run_detour(["serve", "--test", "--config", str(conf2)]) == (
        0, "detour: configuration %s is ok: 3 rules from 2 files\n" % conf2, "")


def test_serve_t_reads_detour_conf_in_the_current_directory(tmp_path):
    write(tmp_path, "x.rules", "/a /b 301\n")
    write(tmp_path, "detour.conf", "rules x.rules\n")
    assert run_detour(["serve", "-t"], cwd=str(tmp_path)) == (
        0, "detour: configuration detour.conf is ok: 1 rules from 1 file\n", "")


def test_serve_t_built_in_defaults():
    assert not os.path.exists(os.path.join(ROOT, "detour.conf"))
    text = open(os.path.join(ROOT, "examples", "site.rules")).read()
    n = sum(1 for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#"))
    assert run_detour(["serve", "-t"], cwd=ROOT) == (
        0, "detour: configuration (built-in defaults) is ok: %d rules from 1 file\n" % n, "")


def test_serve_t_example_config():
    conf = os.path.join(ROOT, "examples", "detour.conf")
    rc, out, err = run_detour(["serve", "-t", "-c", conf])
    assert (rc, err) == (0, "")
    assert re.fullmatch(r"detour: configuration %s is ok: \d+ rules from 1 file\n"
                        % re.escape(conf), out), out


@pytest.mark.parametrize("conf_text,where,msg", [
    ("listen 127.0.0.1:1\n\nlisten localhost\n", "3:8",
     'expected ADDR:PORT (127.0.0.1:8080, [::1]:8080, *:8080 or a port), found "localhost"'),
    ("workers 0\n", "1:9", 'expected \'auto\' or a number of workers from 1 to 256, found "0"'),
    ("  bogus on\n", "1:3", 'unknown directive "bogus" (known: listen, workers, rules, '
     'access-log, error-log, server-header, max-connections, limit, timeout'),
    ("timeout header 0s\n", "1:16", 'expected a duration from 1s to 1h (10s, 2m), found "0s"'),
    ("limit target\n", "1:1", "'limit' takes 2 arguments: limit target|header-bytes|headers|"
     "body|buffer-memory SIZE"),
])
def test_serve_t_bad_config(tmp_path, conf_text, where, msg):
    conf = write(tmp_path, "detour.conf", conf_text)
    rc, out, err = run_detour(["serve", "-t", "-c", str(conf)])
    assert (rc, out) == (1, "")
    if "unknown directive" in msg:  # the list of known directives grows
        assert err.startswith("detour: %s:%s: %s" % (conf, where, msg)), err
        assert err.endswith(")\n") and err.count("\n") == 1, err
    else:
        assert err == "detour: %s:%s: %s\n" % (conf, where, msg)


def test_serve_t_missing_config(tmp_path):
    conf = tmp_path / "nope.conf"
    assert run_detour(["serve", "-t", "-c", str(conf)]) == (
        1, "", "detour: %s: cannot open: No such file or directory\n" % conf)


@pytest.mark.parametrize("rules_text,where,msg", [
    ("/a /b 301\n/c  /d  999\n", "2:9",
     "unsupported status 999: expected 301, 302, 303, 307, 308 or 410"),
    ("/a /b 301 id=x\n/c /d 302 id=x\n", "2:14", 'duplicate id "x": already used at {rules}:1'),
    ("/a /b 301 color=red\n", "1:11", 'unknown option "color"'),
    ("/a /b 301 query=some\n", "1:17", 'expected keep, drop or merge for query=, found "some"'),
    ("/gone /x 410\n", "1:7", "a 410 rule takes '-' as its target"),
    ("/a\n", "1:3", "expected a target after the source"),
])
def test_serve_t_bad_rules(tmp_path, rules_text, where, msg):
    rules = write(tmp_path, "site.rules", rules_text)
    conf = write(tmp_path, "detour.conf", "rules site.rules\n")
    rc, out, err = run_detour(["serve", "-t", "-c", str(conf)])
    assert (rc, out) == (1, "")
    assert err.startswith("detour: %s:%s: %s" % (rules, where, msg.format(rules=rules))), err
    assert err.endswith("\n") and err.count("\n") == 1


def test_serve_t_missing_rules_file(tmp_path):
    conf = write(tmp_path, "detour.conf", "rules none.rules\n")
    assert run_detour(["serve", "-t", "-c", str(conf)]) == (
        1, "", "detour: %s: No such file or directory\n" % (tmp_path / "none.rules"))


# ---- start-up failures of serve --------------------------------------------------------------

def test_serve_bad_config_exits_1(tmp_path):
    conf = write(tmp_path, "detour.conf", "listen nowhere\n")
    assert run_detour(["serve", "-c", str(conf)], timeout=10) == (
        1, "", "detour: %s:1:8: expected ADDR:PORT (127.0.0.1:8080, [::1]:8080, *:8080 or a "
        "port), found \"nowhere\"\n" % conf)


def test_serve_bad_rules_exits_1_with_location(tmp_path):
    write(tmp_path, "site.rules", "/ok /fine 301\n/bad   /x   299\n")
    conf = write(tmp_path, "detour.conf", "listen 127.0.0.1:%d\nrules site.rules\n"
                                          "error-log error.log\n" % free_port())
    rc, out, err = run_detour(["serve", "-c", str(conf)], timeout=10)
    assert (rc, out, err) == (1, "", "")
    log = (tmp_path / "error.log").read_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ detour\[\d+\] error: %s:2:13: "
                        r"unsupported status 299: expected 301, 302, 303, 307, 308 or 410\n"
                        % re.escape(str(tmp_path / "site.rules")), log), log


def test_serve_cannot_listen_exits_1(tmp_path):
    write(tmp_path, "site.rules", "/a /b 301\n")
    port = free_port()
    conf = write(tmp_path, "detour.conf", "listen 192.0.2.1:%d\nrules site.rules\n" % port)
    rc, out, err = run_detour(["serve", "-c", str(conf)], timeout=20)
    assert (rc, out) == (1, "")
    assert err.endswith("error: cannot listen on 192.0.2.1:%d: Cannot assign requested "
                        "address\n" % port), err


def test_serve_without_config_uses_defaults(tmp_path):
    # Built-in defaults: 127.0.0.1:8080 and examples/site.rules (relative to
    # the current directory). Only checked when 8080 is free here.
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 8080))
    except OSError:
        pytest.skip("port 8080 is busy")
    p = subprocess.Popen([BIN, "serve"], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        from conftest import wait_port
        p.stderr_text = lambda: ""
        wait_port("127.0.0.1", 8080, p)

        class S:
            host, port = "127.0.0.1", 8080
        with Conn(S) as c:
            c.send(get("/old"))
            assert mask_date(c.read_response()) == expected_response(307, "/new")
    finally:
        p.terminate()
        out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    assert "info: listening on 127.0.0.1:8080" in err.decode()
