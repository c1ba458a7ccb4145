"""detour serve, end to end: every status with its exact bytes, HEAD, bodies
skipped in sync (Content-Length, chunked, Expect: 100-continue), HTTP/1.0,
keep-alive, pipelining, requests split into single bytes, timeouts, the
connection cap, IPv6, query and cache options, Location encoding, host rules,
absolute-form, the access log and the SIGTERM drain.

Responses are compared byte for byte with expected_response() (conftest.py);
only the Date value is masked, after its format has been checked."""
import http.client
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import (Conn, expected_response, get, has_ipv6_loopback, mask_date,
                      parse_http_date, wait_until)

RULES = """\
# host rules first: every path on these hosts
//old.example.com/*          https://example.com/:splat        301  id=old-host
//*.wild.example.com/w       /wild                             302

/301        /to/301     301  id=r301
/302        /to/302     302
/303        /to/303     303
/307        /to/307     307
/308        /to/308     308
/gone       -           410  id=gone
/default    /to/default
/old        /new        307  id=old
/p/*        /q/:splat   301
/s/*        /t/:splat   302  id=splat
/go/:name   /:name      302
/root/*     /:splat     302
/docs/:version/:page   /documentation/:page?v=:version   302  id=docs
/abs/*      https://example.com/base/:splat   308
/k          /t?a=1      301  query=keep
/k2         /t          301
/d          /t?a=1      301  query=drop
/m          /t?a=1&c=3  301  query=merge
/nostore    /t          302  cache=no-store
/hour       /t          301  cache=1h
/week       /t          308  cache=7d query=drop
"""


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server(RULES, workers=2)


def exchange(server, request, head=False):
    """Sends one request on a new connection; returns the masked response."""
    with Conn(server) as c:
        c.send(request)
        return mask_date(c.read_response(head=head))


def curl(*args, timeout=10):
    p = subprocess.run(["curl", "-sS", "--max-time", "5"] + list(args), capture_output=True,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr
    return p.stdout


# ---- every status, exact bytes -------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_status_exact_bytes(srv, status):
    got = exchange(srv, get("/%d" % status))
    assert got == expected_response(status, "/to/%d" % status)


def test_default_status_is_307(srv):
    assert exchange(srv, get("/default")) == expected_response(307, "/to/default")


def test_410_exact_bytes(srv):
    assert exchange(srv, get("/gone")) == expected_response(410)


def test_404_exact_bytes(srv):
    assert exchange(srv, get("/nothing/here")) == expected_response(404)
    assert exchange(srv, get("/")) == expected_response(404)


@pytest.mark.parametrize("path,status,location", [
    ("/301", 301, "/to/301"), ("/302", 302, "/to/302"), ("/303", 303, "/to/303"),
    ("/307", 307, "/to/307"), ("/308", 308, "/to/308"), ("/gone", 410, None),
    ("/missing", 404, None),
])
def test_statuses_with_curl(srv, path, status, location):
    out = curl("-i", srv.url(path))
    assert mask_date(out) == expected_response(status, location)
    # curl's own view of the redirect
    w = curl("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", srv.url(path)).decode()
    assert w == "%d %s" % (status, srv.url(location) if location else "")


def test_post_with_curl_keeps_307(srv):
    # The first example: POST answered with 307 and the Location.
    out = curl("-i", "-X", "POST", "--data", "x=1", srv.url("/old"))
    assert mask_date(out) == expected_response(307, "/new")


def test_server_header_when_on(make_server):
    s = make_server(RULES, conf_extra="server-header on\n")
    assert exchange(s, get("/301")) == expected_response(301, "/to/301", server=True)
    assert exchange(s, get("/nope")) == expected_response(404, server=True)


# ---- HEAD ------------------------------------------------------------------------

@pytest.mark.parametrize("path,status,location", [
    ("/301", 301, "/to/301"), ("/308", 308, "/to/308"), ("/gone", 410, None),
    ("/missing", 404, None), ("/hour", 301, "/t"),
])
def test_head_has_no_body_and_same_length(srv, path, status, location):
    cache = 3600 if path == "/hour" else None
    with Conn(srv) as c:
        c.send(get(path, method=b"HEAD") + get(path))
        head = mask_date(c.read_response(head=True))
        full = mask_date(c.read_response())
        c.assert_silent(0.05)
    assert full == expected_response(status, location, cache=cache)
    assert head == expected_response(status, location, head=True, cache=cache)
    assert full.startswith(head)
    # curl -I agrees
    out = curl("-I", srv.url(path))
    assert mask_date(out) == expected_response(status, location, head=True, cache=cache)


# ---- bodies skipped in sync --------------------------------------------------------

def test_post_content_length_then_pipelined_get(srv):
    body = b"a=1&b=GET /301 HTTP/1.1\r\nHost: x\r\n\r\n"  # looks like a request: must be skipped
    req = (b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body + get("/302")
    with Conn(srv) as c:
        c.send(req)
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        assert mask_date(c.read_response()) == expected_response(302, "/to/302")
        c.assert_silent(0.1)


INNER = b"GET /301 HTTP/1.1\r\n\r\n\r\n\r\n"  # chunk data that looks like a request
CHUNKED = (b"5;ext=1;q=\"a b\"\r\nhello\r\n"
           b"6 ; name = token\r\n world\r\n"
           b"%X\r\n" % len(INNER) + INNER + b"\r\n"
           b"0;last=yes\r\nX-Trailer: v\r\nAnother: 2\r\n\r\n")


def test_chunked_with_extensions_and_trailers_then_pipelined_get(srv):
    assert CHUNKED.count(b"GET") == 1
    req = (b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKED +
           get("/303") + get("/gone", method=b"HEAD"))
    with Conn(srv) as c:
        c.send(req)
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        assert mask_date(c.read_response()) == expected_response(303, "/to/303")
        assert mask_date(c.read_response(head=True)) == expected_response(410, head=True)
        c.assert_silent(0.1)


def test_chunked_without_trailers(srv):
    req = (b"PUT /308 HTTP/1.1\r\nHost: x\r\ntransfer-encoding: Chunked\r\n\r\n"
           b"3\r\nabc\r\n0\r\n\r\n" + get("/302"))
    with Conn(srv) as c:
        c.send(req)
        assert mask_date(c.read_response()) == expected_response(308, "/to/308")
        assert mask_date(c.read_response()) == expected_response(302, "/to/302")


def test_response_goes_out_before_the_body(srv):
    # detour never needs a body: the answer goes out with the head, then the
    # body is drained, and what follows it is the next request.
    with Conn(srv) as c:
        c.send(b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        c.assert_silent(0.3)
        c.send(b"56789" + get("/301"))
        assert mask_date(c.read_response()) == expected_response(301, "/to/301")


def test_expect_100_continue(srv):
    with Conn(srv) as c:
        c.send(b"POST /old HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               b"Content-Length: 5\r\n\r\n")
        # 100 (Continue) and the final answer at once: the body is drained
        # after (RFC 9110 §10.1.1 lets the final status come first).
        assert c.read_exact(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        c.send(b"hello")
        # chunked too, and a request without a body gets no 100
        c.send(b"POST /302 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        assert c.read_exact(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        assert mask_date(c.read_response()) == expected_response(302, "/to/302")
        c.send(b"2\r\nhi\r\n0\r\n\r\n")
        c.send(get("/303", extra=b"Expect: 100-continue\r\n"))
        assert mask_date(c.read_response()) == expected_response(303, "/to/303")
        c.assert_silent(0.05)


def test_expect_100_continue_with_curl(srv):
    # curl sends Expect: 100-continue for bodies over 1 MiB... or when told to
    out = curl("-i", "-H", "Expect: 100-continue", "--data-binary", "x" * 2000,
               srv.url("/308"))
    assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert mask_date(out[25:]) == expected_response(308, "/to/308")


def test_expect_ignored_in_http10(srv):
    with Conn(srv) as c:
        c.send(b"POST /old HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab")
        assert mask_date(c.read_response()) == expected_response(307, "/new",
                                                                 connection="close")
        c.assert_closed()


# ---- HTTP/1.0 and keep-alive -------------------------------------------------------

def test_http10_closes_by_default(srv):
    with Conn(srv) as c:
        c.send(b"GET /old HTTP/1.0\r\n\r\n")
        assert mask_date(c.read_response()) == expected_response(307, "/new",
                                                                 connection="close")
        c.assert_closed()


def test_http10_keep_alive_when_asked(srv):
    with Conn(srv) as c:
        c.send(b"GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert mask_date(c.read_response()) == expected_response(307, "/new",
                                                                 connection="keep-alive")
        c.send(b"HEAD /301 HTTP/1.0\r\nHost: x\r\nconnection: Keep-Alive\r\n\r\n")
        assert mask_date(c.read_response(head=True)) == expected_response(
            301, "/to/301", head=True, connection="keep-alive")
        c.send(b"GET /302 HTTP/1.0\r\n\r\n")
        assert mask_date(c.read_response()) == expected_response(302, "/to/302",
                                                                 connection="close")
        c.assert_closed()


def test_http11_connection_close(srv):
    with Conn(srv) as c:
        c.send(get("/old", extra=b"Connection: close\r\n") + get("/301"))
        assert mask_date(c.read_response()) == expected_response(307, "/new",
                                                                 connection="close")
        c.assert_closed()  # the pipelined request after close is not answered


def test_http11_keep_alive_header_adds_nothing(srv):
    assert exchange(srv, get("/old", extra=b"Connection: keep-alive\r\n")) == \
        expected_response(307, "/new")


def test_keep_alive_reuse_one_connection(srv):
    conn = http.client.HTTPConnection(srv.host, srv.port, timeout=5)
    try:
        first_sock = None
        for i, (path, status, loc) in enumerate([
                ("/301", 301, "/to/301"), ("/gone", 410, None), ("/nope", 404, None),
                ("/302", 302, "/to/302"), ("/s/x/y", 302, "/t/x/y")] * 3):
            method = "HEAD" if i % 4 == 3 else "GET"
            conn.request(method, path)
            r = conn.getresponse()
            body = r.read()
            assert r.status == status
            assert r.getheader("Location") == loc
            assert r.getheader("Connection") is None
            if method == "GET":
                assert int(r.getheader("Content-Length")) == len(body) > 0
            else:
                assert body == b""
            if first_sock is None:
                first_sock = conn.sock
                port = conn.sock.getsockname()[1]
            # the same socket every time: one connection, one accept
            assert conn.sock is first_sock and conn.sock.getsockname()[1] == port
    finally:
        conn.close()


def test_pipelining_100_requests_in_one_send(srv):
    reqs = []
    for i in range(100):
        if i % 10 == 9:
            reqs.append(get("/p/%d" % i, method=b"HEAD"))
        elif i % 10 == 5:
            reqs.append(get("/missing/%d" % i))
        else:
            reqs.append(get("/p/%d/x" % i, extra=b"User-Agent: pipeline-%d\r\n" % i))
    data = b"".join(reqs)
    with Conn(srv) as c:
        c.send(data)
        for i in range(100):
            if i % 10 == 9:
                assert mask_date(c.read_response(head=True)) == expected_response(
                    301, "/q/%d" % i, head=True)
            elif i % 10 == 5:
                assert mask_date(c.read_response()) == expected_response(404)
            else:
                assert mask_date(c.read_response()) == expected_response(301, "/q/%d/x" % i)
        c.assert_silent(0.05)
        # still usable afterwards
        c.send(get("/303"))
        assert mask_date(c.read_response()) == expected_response(303, "/to/303")


def test_backpressure_with_a_client_that_reads_late(srv):
    # Hundreds of pipelined requests with big answers, read only after a
    # pause: the server's writes fill the socket, it stops reading
    # (backpressure), resumes on EPOLLOUT, and every answer arrives whole
    # and in order.
    tail = "seg/" * 500  # 2000 bytes
    n = 300
    data = b"".join(get("/p/%d/%s" % (i, tail)) for i in range(n))
    with Conn(srv, timeout=20) as c:
        sender = threading.Thread(target=c.send, args=(data,))
        sender.start()
        time.sleep(0.5)
        for i in range(n):
            assert mask_date(c.read_response()) == expected_response(301, "/q/%d/%s" % (i, tail))
        sender.join(10)
        assert not sender.is_alive()
        c.assert_silent(0.05)


def test_request_split_into_single_bytes(srv):
    with Conn(srv) as c:
        c.send_bytewise(get("/docs/v2/intro", extra=b"Accept: */*\r\n"))
        assert mask_date(c.read_response()) == expected_response(
            302, "/documentation/intro?v=v2")
        # a chunked body, one byte at a time, then a pipelined request
        c.send_bytewise(b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"3;a=\"q\"\r\nabc\r\n0\r\nT: 1\r\n\r\n" + get("/308"))
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        assert mask_date(c.read_response()) == expected_response(308, "/to/308")


def test_leading_empty_lines_are_skipped(srv):
    # RFC 9112 §2.2: a server SHOULD ignore at least one empty line before
    # the request-line.
    assert exchange(srv, b"\r\n\r\n" + get("/301")) == expected_response(301, "/to/301")


# ---- timeouts ----------------------------------------------------------------------

SMALL = "/old /new 307 id=old\n"


def test_header_timeout_408_then_close(make_server):
    s = make_server(SMALL, conf_extra="timeout header 1s\n")
    with Conn(s) as c:
        t0 = time.monotonic()
        c.send(b"GET /old HTTP/1.1\r\nHost: x\r\n")
        data = c.read_until_close(timeout=5)
        dt = time.monotonic() - t0
    assert mask_date(data) == expected_response(408, connection="close")
    assert 0.8 <= dt <= 3.0, dt


def test_header_timeout_slowloris_is_not_extended(make_server):
    s = make_server(SMALL, conf_extra="timeout header 1s\n")
    head = b"GET /old HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa"
    with Conn(s) as c:
        t0 = time.monotonic()
        got = b""
        for i in range(len(head)):
            try:
                c.send(head[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            c.s.settimeout(0.1)
            try:
                got = c.s.recv(4096)
            except socket.timeout:
                continue
            break
        c.buf = got
        data = c.read_until_close(timeout=5)
        dt = time.monotonic() - t0
    assert mask_date(data) == expected_response(408, connection="close")
    assert 0.8 <= dt <= 3.0, dt


def test_idle_connection_without_bytes_closed_silently(make_server):
    s = make_server(SMALL, conf_extra="timeout header 1s\n")
    with Conn(s) as c:
        t0 = time.monotonic()
        c.assert_closed(timeout=5)
        dt = time.monotonic() - t0
    assert 0.8 <= dt <= 3.0, dt
    # the server is fine afterwards
    assert exchange(s, get("/old")) == expected_response(307, "/new")


def test_header_timeout_counts_from_the_accept(make_server):
    # The worker sleeps in epoll_wait (up to a second) after answering A; B
    # arrives 0.9 s into that wait. B's header deadline must count from its
    # arrival, not from before the wait (which would leave it 0.1 s).
    s = make_server(SMALL, conf_extra="timeout header 1s\ntimeout keepalive 5s\n", workers=1)
    with Conn(s) as a:
        a.send(get("/old"))
        assert mask_date(a.read_response()) == expected_response(307, "/new")
        time.sleep(0.9)
        with Conn(s) as b:
            time.sleep(0.5)
            b.send(get("/old"))
            assert mask_date(b.read_response()) == expected_response(307, "/new")


def test_keepalive_idle_timeout(make_server):
    s = make_server(SMALL, conf_extra="timeout keepalive 1s\ntimeout header 5s\n")
    with Conn(s) as c:
        c.send(get("/old"))
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        time.sleep(0.5)  # under the idle timeout: the connection is still usable
        c.send(get("/old"))
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        t0 = time.monotonic()
        c.assert_closed(timeout=5)
        dt = time.monotonic() - t0
    assert 0.8 <= dt <= 3.0, dt


def test_body_timeout(make_server):
    # A body that stops arriving is cut the header timeout after its head
    # (no 408: the answer went out with the head; the connection is closed).
    s = make_server(SMALL, conf_extra="timeout header 1s\n")
    with Conn(s) as c:
        t0 = time.monotonic()
        c.send(b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
        data = c.read_until_close(timeout=5)
        dt = time.monotonic() - t0
    assert mask_date(data) == expected_response(307, "/new")
    assert 0.8 <= dt <= 3.0, dt


# ---- the connection cap ----------------------------------------------------------------

def test_max_connections_queue_in_kernel(make_server):
    s = make_server(SMALL, conf_extra="max-connections 2\n", workers=1)
    c1, c2 = Conn(s), Conn(s)
    try:
        for c in (c1, c2):
            c.send(get("/old"))
            assert mask_date(c.read_response()) == expected_response(307, "/new")
        # At the cap: the kernel completes the handshake, detour does not accept.
        c3 = Conn(s)
        c3.send(get("/old"))
        c3.assert_silent(0.5)
        extra = []
        for i in range(10):
            c = Conn(s)
            c.send(get("/old", extra=b"Connection: close\r\n"))
            extra.append(c)
        c1.close()
        assert mask_date(c3.read_response(timeout=3)) == expected_response(307, "/new")
        c2.close()
        c3.close()
        # every waiting connection is served in turn as slots free up
        for c in extra:
            assert mask_date(c.read_until_close(timeout=5)) == expected_response(
                307, "/new", connection="close")
            c.close()
    finally:
        for c in (c1, c2):
            c.close()
    assert exchange(s, get("/old")) == expected_response(307, "/new")


# ---- IPv6 ----------------------------------------------------------------------------------

@pytest.mark.skipif(not has_ipv6_loopback(), reason="no ::1 on this machine")
def test_ipv6_listen(make_server):
    s = make_server(SMALL, listen=["127.0.0.1:{port}", "[::1]:{port}"])
    with Conn(s, host="::1") as c:
        c.send(get("/old", host="[::1]:%d" % s.port))
        assert mask_date(c.read_response()) == expected_response(307, "/new")
    out = curl("-g", "-i", "http://[::1]:%d/old" % s.port)
    assert mask_date(out) == expected_response(307, "/new")
    assert exchange(s, get("/old")) == expected_response(307, "/new")
    s.wait_log('::1 - - [', log="access")


# ---- options: query and cache ------------------------------------------------------------

@pytest.mark.parametrize("target,location", [
    ("/k", "/t?a=1"),
    ("/k?b=2", "/t?a=1&b=2"),
    ("/k?b=2&c=x%20y", "/t?a=1&b=2&c=x%20y"),
    ("/k?", "/t?a=1"),
    ("/k2", "/t"),
    ("/k2?x=y", "/t?x=y"),
    ("/d", "/t?a=1"),
    ("/d?b=2", "/t?a=1"),
    ("/m", "/t?a=1&c=3"),
    # merge: the target's parameters, then the request's other ones in order
    ("/m?b=2", "/t?a=1&c=3&b=2"),
    ("/m?a=9&b=2", "/t?a=1&c=3&b=2"),
    ("/m?c=7&a=9&a=8&z&&y=", "/t?a=1&c=3&z&y="),
    ("/week?drop=me", "/t"),
    ("/s/x?q=1", "/t/x?q=1"),
])
def test_query_keep_drop_merge(srv, target, location):
    status = 308 if target.startswith("/week") else 302 if target.startswith("/s/") else 301
    cache = 604800 if target.startswith("/week") else None
    assert exchange(srv, get(target)) == expected_response(status, location, cache=cache)


def test_cache_headers(srv):
    assert exchange(srv, get("/nostore")) == expected_response(302, "/t", cache="no-store")
    # max-age and Expires = Date + max-age (mask_date checks the sum)
    assert exchange(srv, get("/hour")) == expected_response(301, "/t", cache=3600)
    assert exchange(srv, get("/week")) == expected_response(308, "/t", cache=604800)
    # and none at all without cache=
    got = exchange(srv, get("/301"))
    assert b"Cache-Control" not in got and b"Expires" not in got


def test_expires_is_date_plus_max_age(srv):
    with Conn(srv) as c:
        c.send(get("/hour"))
        raw = c.read_response()
    date = parse_http_date(re.search(rb"\r\nDate: ([^\r]*)", raw).group(1).decode())
    expires = parse_http_date(re.search(rb"\r\nExpires: ([^\r]*)", raw).group(1).decode())
    assert expires - date == 3600


# ---- Location encoding -----------------------------------------------------------------

@pytest.mark.parametrize("target,status,location", [
    # CR LF stay percent-encoded: no header injection
    ("/s/a%0D%0ASet-Cookie:%20x=1", 302, "/t/a%0D%0ASet-Cookie%3A%20x=1"),
    ("/s/x/a:b", 302, "/t/x/a:b"),  # only a ':' before the first '/' is encoded
    ("/s/a%0d%0ab", 302, "/t/a%0D%0Ab"),
    ("/s/a%20b%09c", 302, "/t/a%20b%09c"),
    ("/s/%00", 302, "/t/%00"),
    # unreserved escapes are decoded by normalisation, %2F never
    ("/s/%7Euser/%41", 302, "/t/~user/A"),
    ("/s/a%2Fb", 302, "/t/a%2Fb"),
    # a splat can never make a protocol-relative or absolute Location
    ("/root//evil.com", 302, "/%2Fevil.com"),
    ("/root//evil.com/x", 302, "/%2Fevil.com/x"),
    ("/root/%2F%2Fevil.com", 302, "/%2F%2Fevil.com"),
    ("/root/javascript:alert(1)", 302, "/javascript%3Aalert(1)"),
    ("/go/%2F%2Fevil.com", 302, "/%2F%2Fevil.com"),
    ("/go/http:%2F%2Fevil.com", 302, "/http%3A%2F%2Fevil.com"),
    # dot segments are removed before matching
    ("/x/../root//evil.com", 302, "/%2Fevil.com"),
    ("/s/a/./b/../c", 302, "/t/a/c"),
    # into an absolute target
    ("/abs/a//b", 308, "https://example.com/base/a//b"),
    ("/abs/%2F%2Fevil.com", 308, "https://example.com/base/%2F%2Fevil.com"),
])
def test_location_encoding(srv, target, status, location):
    got = exchange(srv, get(target))
    assert got == expected_response(status, location)
    loc = re.search(rb"\r\nLocation: ([^\r\n]*)\r\n", got).group(1)
    assert not loc.startswith(b"//") and b"\r" not in loc and b"\n" not in loc


def test_location_over_the_limit_is_500(srv):
    # 5500 '|' are 16500 bytes once percent-encoded: over DETOUR_LOCATION_MAX
    # (16384), so the answer is 500 and the connection closes.
    with Conn(srv) as c:
        c.send(get(b"/p/" + b"|" * 5500) + get("/301"))
        assert mask_date(c.read_until_close()) == expected_response(500, connection="close")
    # just under the limit is served
    with Conn(srv) as c:
        c.send(get(b"/p/" + b"|" * 5400))
        assert mask_date(c.read_response()) == expected_response(301, "/q/" + "%7C" * 5400)


def test_ampersand_is_escaped_in_the_body(srv):
    got = exchange(srv, get("/k?b=2&c=3"))
    assert got == expected_response(301, "/t?a=1&b=2&c=3")
    assert b'href="/t?a=1&amp;b=2&amp;c=3"' in got


# ---- hosts and absolute-form ------------------------------------------------------------

@pytest.mark.parametrize("host,path,status,location", [
    ("old.example.com", "/a/b", 301, "https://example.com/a/b"),
    ("OLD.Example.COM", "/a", 301, "https://example.com/a"),
    ("old.example.com:8080", "/a", 301, "https://example.com/a"),
    ("Old.Example.Com.:80", "/x", 301, "https://example.com/x"),
    ("old.example.com", "/301", 301, "https://example.com/301"),
    ("new.example.com", "/a", 404, None),
    ("new.example.com", "/301", 301, "/to/301"),
    ("a.wild.example.com", "/w", 302, "/wild"),
    ("A.B.WILD.example.com:1", "/w", 302, "/wild"),
    ("a.wild.example.com", "/w/x", 404, None),
    ("127.0.0.1", "/old", 307, "/new"),
    ("[::1]:8080", "/old", 307, "/new"),
])
def test_host_rules(srv, host, path, status, location):
    assert exchange(srv, get(path, host=host)) == expected_response(status, location)


def test_absolute_form_takes_the_host_from_the_target(srv):
    got = exchange(srv, b"GET http://old.example.com/a?q=1 HTTP/1.1\r\nHost: other.com\r\n\r\n")
    assert got == expected_response(301, "https://example.com/a?q=1")
    got = exchange(srv, b"GET http://other.com/old HTTP/1.1\r\nHost: old.example.com\r\n\r\n")
    assert got == expected_response(307, "/new")
    got = exchange(srv, b"GET HTTP://OLD.EXAMPLE.COM:81 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert got == expected_response(301, "https://example.com/")
    # HTTP/1.0 absolute-form without Host
    got = exchange(srv, b"GET http://old.example.com/z HTTP/1.0\r\n\r\n")
    assert got == expected_response(301, "https://example.com/z", connection="close")


def test_http10_without_host_matches_hostless_rules(srv):
    assert exchange(srv, b"GET /301 HTTP/1.0\r\n\r\n") == expected_response(
        301, "/to/301", connection="close")


def test_methods(srv):
    for m in (b"DELETE", b"OPTIONS", b"PATCH", b"PROPFIND", b"TRACE"):
        assert exchange(srv, get("/308", method=m)) == expected_response(308, "/to/308")


# ---- access log -----------------------------------------------------------------------

LOG_LINE = re.compile(
    r'^(?P<peer>\S+) - - \[(?P<time>\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\] '
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<bytes>\d+) '
    r'"(?P<referer>(?:[^"\\]|\\.)*)" "(?P<ua>(?:[^"\\]|\\.)*)" '
    r'"(?P<id>(?:[^"\\]|\\.)*)" "(?P<location>(?:[^"\\]|\\.)*)"$')


def log_lines(server):
    text = server.access_log.read_text(errors="surrogateescape") if \
        server.access_log.exists() else ""
    assert text == "" or text.endswith("\n")
    return [l for l in text.split("\n") if l]


def parse_log_line(line):
    m = LOG_LINE.match(line)
    assert m, "not an access log line: %r" % line
    t = time.strptime(m.group("time"), "%d/%b/%Y:%H:%M:%S +0000")
    import calendar
    assert abs(calendar.timegm(t) - time.time()) < 10
    return m.groupdict()


def test_access_log_line_format(make_server):
    s = make_server(RULES)
    p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{size_header} %{size_download}",
                        "-A", "detour-test/1.0", "-e", "http://ref.example/page",
                        s.url("/old")], capture_output=True, check=True)
    size = sum(int(x) for x in p.stdout.split())
    t0 = time.monotonic()
    s.wait_log('"old" "/new"', log="access", timeout=3)
    assert time.monotonic() - t0 < 2.0  # flushed within about a second
    (line,) = log_lines(s)
    f = parse_log_line(line)
    assert f == dict(f, peer="127.0.0.1", request="GET /old HTTP/1.1", status="307",
                     bytes=str(size), referer="http://ref.example/page", ua="detour-test/1.0",
                     id="old", location="/new")
    assert line.endswith(' 307 %d "http://ref.example/page" "detour-test/1.0" "old" "/new"'
                         % size)


def test_access_log_various(make_server):
    s = make_server(RULES)
    rules_path = str(s.rules_path)
    sent = []
    with Conn(s) as c:
        for req, head in [
                (get("/302?x=1"), False),                 # no id: file:line
                (get("/nothing"), False),                 # 404: "-" "-"
                (get("/gone", method=b"HEAD"), True),     # 410, HEAD: header bytes only
                (get("/s/%0D%0A", extra=b'User-Agent: a"b\\c\xff\x80\r\n'), False),
                (b"GET http://old.example.com/h HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                 False),
        ]:
            c.send(req)
            sent.append(len(c.read_response(head=head)))
        c.send(b"GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n")  # 400 from conn.c, with a request
        sent.append(len(c.read_until_close()))
    with Conn(s) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n")  # parser 400: no request
        sent.append(len(c.read_until_close()))
    text = s.wait_log('"-" "-" "-" "-"\n', log="access", timeout=3)
    lines = log_lines(s)
    assert len(lines) == 7, text
    f = [parse_log_line(l) for l in lines]
    exp = [
        ("GET /302?x=1 HTTP/1.1", "302", "-", "-", "%s:6" % rules_path, "/to/302?x=1"),
        ("GET /nothing HTTP/1.1", "404", "-", "-", "-", "-"),
        ("HEAD /gone HTTP/1.1", "410", "-", "-", "gone", "-"),
        ("GET /s/%0D%0A HTTP/1.1", "302", "-", 'a\\"b\\\\c\\xff\\x80', "splat", "/t/%0D%0A"),
        ("GET http://old.example.com/h HTTP/1.0", "301", "-", "-", "old-host",
         "https://example.com/h"),
        ("GET /a%zz HTTP/1.1", "400", "-", "-", "-", "-"),
        ("-", "400", "-", "-", "-", "-"),
    ]
    for got, (request, status, referer, ua, rid, loc), n in zip(f, exp, sent):
        assert (got["request"], got["status"], got["referer"], got["ua"], got["id"],
                got["location"], got["bytes"], got["peer"]) == (
            request, status, referer, ua, rid, loc, str(n), "127.0.0.1")


def test_access_log_off(make_server):
    s = make_server(SMALL, conf_extra="access-log off\n")
    assert exchange(s, get("/old")) == expected_response(307, "/new")
    time.sleep(1.2)
    assert not s.access_log.exists()


# ---- SIGTERM drain ---------------------------------------------------------------------

def connect_refused(server):
    try:
        with socket.create_connection((server.host, server.port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def test_sigterm_drains_in_flight_requests(make_server):
    s = make_server(SMALL, conf_extra="timeout header 5s\n", workers=2)
    inflight = Conn(s)
    idle = Conn(s)
    body = Conn(s)
    try:
        for c in (inflight, idle, body):
            c.send(get("/old"))
            assert mask_date(c.read_response()) == expected_response(307, "/new")
        inflight.send(b"GET /old HTTP/1.1\r\nHo")  # half a request
        body.send(b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc")
        time.sleep(0.2)  # let the workers read them
        s.signal(signal.SIGTERM)
        wait_until(lambda: connect_refused(s), timeout=3)
        # the idle keep-alive connection is closed at once, without a response
        idle.assert_closed(timeout=3)
        # the in-flight ones complete, with "Connection: close"
        inflight.send(b"st: x\r\n\r\n")
        assert mask_date(inflight.read_response()) == expected_response(307, "/new",
                                                                        connection="close")
        inflight.assert_closed()
        # (this answer was rendered before the drain began: it has no
        # "Connection: close", but the connection closes after it)
        body.send(b"def")
        assert mask_date(body.read_response()) == expected_response(307, "/new")
        body.assert_closed()
    finally:
        for c in (inflight, idle, body):
            c.close()
    assert s.proc.wait(10) == 0
    assert connect_refused(s)
    log = s.read_error_log()
    assert "SIGTERM: finishing in-flight requests, then exiting" in log
    assert "stopped after 5 requests" in log
    # the access log was flushed at exit
    assert len(log_lines(s)) == 5


def test_sigterm_cuts_a_stalled_request_at_the_header_timeout(make_server):
    s = make_server(SMALL, conf_extra="timeout header 1s\n")
    with Conn(s) as c:
        c.send(b"GET /old HTTP/1.1\r\nHost: x\r\n")  # never finished
        time.sleep(0.1)
        t0 = time.monotonic()
        s.signal(signal.SIGTERM)
        data = c.read_until_close(timeout=5)
        dt = time.monotonic() - t0
    assert s.proc.wait(5) == 0  # (our side is closed: no lingering left)
    assert mask_date(data) == expected_response(408, connection="close")
    assert dt <= 3.0, dt


def test_sigint_exits_zero(make_server):
    s = make_server(SMALL)
    assert exchange(s, get("/old")) == expected_response(307, "/new")
    s.signal(signal.SIGINT)
    assert s.proc.wait(10) == 0
    assert "SIGINT: finishing in-flight requests, then exiting" in s.read_error_log()


def test_startup_log(make_server):
    s = make_server(SMALL, workers=2)
    log = s.wait_log(" ready: ")  # written just after the listeners open
    assert re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ detour\[%d\] info: listening on "
                     r"127\.0\.0\.1:%d$" % (s.proc.pid, s.port), log, re.M), log
    assert re.search(r"info: detour 0\.1\.0 ready: 1 rules, 2 workers, started in \d+ ms$",
                     log, re.M), log
