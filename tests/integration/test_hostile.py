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
