"""Hostile clients on the redirect port (issue 11): requests built to make
the server spend more than a request's worth of work. Each test states the
cost it guards against; the budgets are generous (orders of magnitude above
what the fixed code needs) so that they fail only when the cost is back."""
import time

import pytest

from conftest import Conn, expected_response, mask_date

DEEP = 63  # literal segments: where the table's per-host bit masks saturate
RULES = "".join("/a" for _ in range(DEEP)) + "/:x/*  /deep/:x/:splat  301\n/old /new 307\n"


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server(RULES, workers=1)


def test_deep_pattern_long_path_is_linear(srv):
    # One rule with 63 literal segments and a tail; paths of 8,000 slashes.
    # Before the fix every '/' past the 63rd probed every tail count up to
    # the end: 0.67 s of CPU a request (-O2), these 20 about 6 s. Now
    # each is one pass over the path (well under a millisecond).
    path = b"/" * 8000
    req = b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    start = time.monotonic()
    with Conn(srv) as c:
        c.send(req * 20 + b"GET /old HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in range(20):
            assert mask_date(c.read_response()) == expected_response(404)
        assert mask_date(c.read_response()) == expected_response(307, "/new")
    assert time.monotonic() - start < 2.0


def test_deep_pattern_still_matches(srv):
    with Conn(srv) as c:
        c.send(b"GET " + b"/a" * DEEP + b"/v/w/x HTTP/1.1\r\nHost: x\r\n\r\n")
        assert mask_date(c.read_response()) == expected_response(301, "/deep/v/w/x")


# Slow and padded request bodies: detour answers at once and drains the body
# by an absolute deadline (`timeout header` from the end of the head) under
# `limit body`, framing bytes included. Before the fix any body byte renewed
# the deadline (a byte every 1.5 s kept a connection 12 s and more) and
# chunk extensions were not counted.
import socket  # noqa: E402


@pytest.fixture(scope="module")
def slow(module_server):
    return module_server("/old /new 307\n", conf_extra="timeout header 2s\n")


def trickle(srv, head, byte, every=0.5, limit=8.0):
    """Sends head, then byte every `every` seconds until the server closes.
    Returns (what was read, seconds from the head to the close)."""
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    s.sendall(head)
    start = time.monotonic()
    got = b""
    s.settimeout(every)
    try:
        while time.monotonic() - start < limit:
            try:
                b = s.recv(65536)
                if not b:
                    break
                got += b
            except socket.timeout:
                pass
            except ConnectionResetError:
                break
            try:
                s.sendall(byte)
            except (BrokenPipeError, ConnectionResetError):
                break
        return got, time.monotonic() - start
    finally:
        s.close()


def test_slow_content_length_body_is_cut(slow):
    head = b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    got, took = trickle(slow, head, b"a")
    # The answer goes out at once, before any body byte.
    assert mask_date(got) == expected_response(307, "/new")
    assert took < 3.5, took


def test_slow_chunk_extension_is_cut(slow):
    head = b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;"
    got, took = trickle(slow, head, b"a")
    assert mask_date(got) == expected_response(307, "/new")
    assert took < 3.5, took


def test_body_that_never_arrives_is_cut(slow):
    head = b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
    got, took = trickle(slow, head, b"", limit=8.0)
    assert mask_date(got) == expected_response(307, "/new")
    assert took < 3.5, took


def test_chunk_framing_counts_against_limit_body(srv):
    # 300 data bytes in 300 chunks, each with an 8,000-byte extension:
    # 2.4 MB of framing, over the 1 MiB default limit. The answer is sent;
    # the body then closes the connection (no second request is answered).
    ext = b";" + b"e" * 7998
    body = b"".join(b"1" + ext + b"\r\nx\r\n" for _ in range(300)) + b"0\r\n\r\n"
    req = b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    s = socket.create_connection((srv.host, srv.port), timeout=10)
    try:
        s.sendall(req)
        try:
            s.sendall(body + b"GET /old HTTP/1.1\r\nHost: x\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        got = b""
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            got += b
    finally:
        s.close()
    assert mask_date(got) == expected_response(307, "/new")


def test_body_then_pipelined_request(slow):
    # Bytes after the body are the next request.
    with Conn(slow) as c:
        c.send(b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
               b"GET /old HTTP/1.1\r\nHost: x\r\n\r\n")
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        assert mask_date(c.read_response()) == expected_response(307, "/new")
