"""Malformed, oversized and smuggling requests over raw sockets: every 4xx/5xx
the parser can ask for, with the exact response bytes, each followed by the
server closing the connection (recv returns b"" right after the response).
Bytes sent after a refused request are never answered."""
import pytest

from conftest import Conn, expected_response, get, mask_date

RULES = """\
/old        /new        307  id=old
/p/*        /q/:splat   301
"""


@pytest.fixture(scope="module")
def srv(module_server):
    return module_server(RULES, workers=2)


def refused(server, data, status, before=(), bytewise=False):
    """Sends data; expects the responses in `before` (status, location) and
    then exactly one `status` response with Connection: close, then a close."""
    with Conn(server) as c:
        if bytewise:
            c.send_bytewise(data, pause=0)
        else:
            c.send(data)
        for st, loc in before:
            assert mask_date(c.read_response()) == expected_response(st, loc)
        rest = c.read_until_close(timeout=5)
    assert mask_date(rest) == expected_response(status, connection="close"), rest


H = b"Host: x\r\n"

BAD_REQUESTS = [
    # Host (RFC 9112 §3.2)
    ("no-host-http11", b"GET /old HTTP/1.1\r\n\r\n"),
    ("duplicate-host", b"GET /old HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
    ("empty-host", b"GET /old HTTP/1.1\r\nHost: \r\n\r\n"),
    ("host-with-space", b"GET /old HTTP/1.1\r\nHost: a b\r\n\r\n"),
    ("host-with-userinfo", b"GET /old HTTP/1.1\r\nHost: u@h\r\n\r\n"),
    ("host-bad-port", b"GET /old HTTP/1.1\r\nHost: h:99999\r\n\r\n"),
    ("host-bad-ipv6", b"GET /old HTTP/1.1\r\nHost: [::1\r\n\r\n"),
    # field syntax (RFC 9112 §5)
    ("space-before-colon", b"GET /old HTTP/1.1\r\nHost : x\r\n\r\n"),
    ("tab-before-colon", b"GET /old HTTP/1.1\r\n" + H + b"X-A\t: 1\r\n\r\n"),
    ("obs-fold", b"GET /old HTTP/1.1\r\n" + H + b"X-A: a\r\n  b\r\n\r\n"),
    ("obs-fold-tab", b"GET /old HTTP/1.1\r\n" + H + b"X-A: a\r\n\tb\r\n\r\n"),
    ("empty-field-name", b"GET /old HTTP/1.1\r\n" + H + b": x\r\n\r\n"),
    ("bad-field-name", b"GET /old HTTP/1.1\r\n" + H + b"X(a): b\r\n\r\n"),
    ("no-colon", b"GET /old HTTP/1.1\r\n" + H + b"X-A b\r\n\r\n"),
    ("bare-lf-everywhere", b"GET /old HTTP/1.1\nHost: x\n\n"),
    ("bare-lf-in-fields", b"GET /old HTTP/1.1\r\nHost: x\nX: y\r\n\r\n"),
    ("bare-lf-final", b"GET /old HTTP/1.1\r\nHost: x\r\n\n"),
    ("bare-cr-in-value", b"GET /old HTTP/1.1\r\n" + H + b"X: a\rb\r\n\r\n"),
    ("nul-in-value", b"GET /old HTTP/1.1\r\n" + H + b"X: a\x00b\r\n\r\n"),
    ("ctl-in-value", b"GET /old HTTP/1.1\r\n" + H + b"X: a\x1bb\r\n\r\n"),
    ("del-in-value", b"GET /old HTTP/1.1\r\n" + H + b"X: a\x7fb\r\n\r\n"),
    # request line (RFC 9112 §3)
    ("ctl-in-target", b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n"),
    ("nul-in-target", b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n"),
    ("del-in-target", b"GET /a\x7f HTTP/1.1\r\n" + H + b"\r\n"),
    ("non-ascii-target", b"GET /caf\xc3\xa9 HTTP/1.1\r\n" + H + b"\r\n"),
    ("space-in-target", b"GET /a b HTTP/1.1\r\n" + H + b"\r\n"),
    ("two-spaces", b"GET  /old HTTP/1.1\r\n" + H + b"\r\n"),
    ("tab-separator", b"GET\t/old HTTP/1.1\r\n" + H + b"\r\n"),
    ("leading-space", b" GET /old HTTP/1.1\r\n" + H + b"\r\n"),
    ("bad-method-char", b"G@T /old HTTP/1.1\r\n" + H + b"\r\n"),
    ("lowercase-version", b"GET /old http/1.1\r\n" + H + b"\r\n"),
    ("version-trailing-space", b"GET /old HTTP/1.1 \r\n" + H + b"\r\n"),
    ("short-version", b"GET /old HTTP/1\r\n" + H + b"\r\n"),
    ("no-version", b"GET /old\r\n" + H + b"\r\n"),
    ("bad-escape-in-path", b"GET /a%zz HTTP/1.1\r\n" + H + b"\r\n"),
    ("lone-percent", b"GET /a% HTTP/1.1\r\n" + H + b"\r\n"),
    ("relative-target", b"GET old HTTP/1.1\r\n" + H + b"\r\n"),
    ("asterisk-with-get", b"GET * HTTP/1.1\r\n" + H + b"\r\n"),
    ("ftp-scheme", b"GET ftp://x/old HTTP/1.1\r\n" + H + b"\r\n"),
    ("absolute-empty-host", b"GET http:///old HTTP/1.1\r\n" + H + b"\r\n"),
    ("absolute-userinfo", b"GET http://u@h/old HTTP/1.1\r\n" + H + b"\r\n"),
    # framing (RFC 9112 §6)
    ("cl-and-te", b"POST /old HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("te-and-cl", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n"),
    ("duplicate-cl-equal", b"POST /old HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
    ("duplicate-cl-differ", b"POST /old HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
    ("cl-list", b"POST /old HTTP/1.1\r\n" + H + b"Content-Length: 5, 5\r\n\r\nhello"),
    ("cl-letters", b"POST /old HTTP/1.1\r\n" + H + b"Content-Length: abc\r\n\r\n"),
    ("cl-negative", b"POST /old HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n"),
    ("cl-plus", b"POST /old HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello"),
    ("cl-hex", b"POST /old HTTP/1.1\r\n" + H + b"Content-Length: 0x5\r\n\r\nhello"),
    ("cl-empty", b"POST /old HTTP/1.1\r\n" + H + b"Content-Length: \r\n\r\n"),
    ("cl-space-inside", b"POST /old HTTP/1.1\r\n" + H + b"Content-Length: 1 0\r\n\r\n"),
    ("cl-20-digits", b"POST /old HTTP/1.1\r\n" + H +
     b"Content-Length: 00000000000000000001\r\n\r\nx"),
    ("cl-space-before-colon", b"POST /old HTTP/1.1\r\n" + H + b"Content-Length : 5\r\n\r\nhello"),
    ("te-space-before-colon", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
    ("te-in-http10", b"POST /old HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
]


@pytest.mark.parametrize("name,data", BAD_REQUESTS, ids=[n for n, _ in BAD_REQUESTS])
def test_400(srv, name, data):
    refused(srv, data, 400)


def cut(server, data, before=((307, "/new"),)):
    """Sends data; expects the responses in `before` (the last one the
    answer to a request whose body is bad: it went out with the head), then
    a close without any other byte."""
    with Conn(server) as c:
        c.send(data)
        for st, loc in before:
            assert mask_date(c.read_response()) == expected_response(st, loc)
        rest = c.read_until_close(timeout=5)
    assert rest == b"", rest


# A body is drained after its request was answered (detour never needs it):
# a malformed one closes the connection, with no second answer.
BAD_BODIES = [
    # chunked framing (RFC 9112 §7.1): the body skipper
    ("chunk-size-not-hex", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"),
    ("chunk-size-empty", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n\r\n"),
    ("chunk-size-negative", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n-1\r\n"),
    ("chunk-data-too-long", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n"),
    ("chunk-size-bare-lf", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"),
    ("chunk-ext-no-name", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n5;=x\r\nhello\r\n0\r\n\r\n"),
    ("chunk-ext-open-quote", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n5;a=\"x\r\nhello\r\n0\r\n\r\n"),
    ("trailer-space-before-colon", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n0\r\nX : y\r\n\r\n"),
    ("trailer-obs-fold", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n z\r\n\r\n"),
    ("last-chunk-bare-lf", b"POST /old HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\n"),
]


@pytest.mark.parametrize("name,data", BAD_BODIES, ids=[n for n, _ in BAD_BODIES])
def test_bad_body_closes_after_the_answer(srv, name, data):
    cut(srv, data + get("/old"))


@pytest.mark.parametrize("name,data", BAD_REQUESTS[:12], ids=[n for n, _ in BAD_REQUESTS[:12]])
def test_400_bytewise(srv, name, data):
    # the same answer whatever the split: one byte a read
    refused(srv, data, 400, bytewise=True)


def test_400_after_good_pipelined_requests(srv):
    data = get("/old") + get("/p/1") + b"GET /old HTTP/1.1\r\nHost : x\r\n\r\n" + get("/old")
    refused(srv, data, 400, before=[(307, "/new"), (301, "/q/1")])


def test_bad_chunk_after_pipelined_requests(srv):
    # The POST is answered at once; its bad body closes the connection, and
    # the GET after it is never answered.
    data = (get("/p/0") + b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\nxyz\r\n" + get("/old"))
    cut(srv, data, before=[(301, "/q/0"), (307, "/new")])


def test_garbage(srv):
    refused(srv, bytes(range(256)) * 40, 400)
    refused(srv, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 500, 400)  # TLS


# ---- 414, 431, 413 ------------------------------------------------------------------------

def test_414_target_over_8k(srv):
    path = b"/" + b"a" * 8192  # 8193 bytes
    refused(srv, get(path), 414)
    refused(srv, b"GET /" + b"b" * 20000, 414)  # decided before the line ends


def test_target_of_exactly_8k_is_served(srv):
    with Conn(srv) as c:
        c.send(get(b"/p/" + b"c" * (8192 - 3)))
        assert mask_date(c.read_response()) == expected_response(301, "/q/" + "c" * 8189)


def test_431_header_bytes(srv):
    # the head (request line to the final CRLF) may be 32 KiB, not a byte more
    base = get("/old", extra=b"X-Pad: \r\n")
    pad = 32768 - len(base)
    ok = get("/old", extra=b"X-Pad: " + b"p" * pad + b"\r\n")
    assert len(ok) == 32768
    with Conn(srv) as c:
        c.send(ok)
        assert mask_date(c.read_response()) == expected_response(307, "/new")
    refused(srv, get("/old", extra=b"X-Pad: " + b"p" * (pad + 1) + b"\r\n"), 431)
    refused(srv, get("/old", extra=b"".join(b"X-%d: %s\r\n" % (i, b"v" * 1000)
                                            for i in range(40))), 431)


def test_431_header_count(srv):
    # 100 fields (Host included) are fine, 101 are not
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(99))
    with Conn(srv) as c:
        c.send(get("/old", extra=fields))
        assert mask_date(c.read_response()) == expected_response(307, "/new")
    refused(srv, get("/old", extra=fields + b"X-100: v\r\n"), 431)


def test_413_content_length(srv):
    refused(srv, b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\nabc", 413)
    refused(srv, b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 4611686018427387904\r\n\r\n",
            413)


def test_chunked_over_limit_body_closes(srv):
    # A chunked body over `limit body` (its length is only known as it
    # comes): the answer went out with the head; then the connection closes.
    cut(srv, b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"100001\r\n" + b"x" * 1000)
    cut(srv, b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"fffffffffffffffffffff\r\n")
    # many small chunks that add up to more than 1 MiB
    chunk = b"8000\r\n" + b"y" * 0x8000 + b"\r\n"
    cut(srv, b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        chunk * 33)


def test_body_of_exactly_1mib_is_skipped(srv):
    body = b"z" * 1048576
    with Conn(srv) as c:
        c.send(b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" + body +
               get("/p/after"))
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        assert mask_date(c.read_response()) == expected_response(301, "/q/after")


def test_configured_limits(make_server):
    s = make_server(RULES, conf_extra="limit target 64\nlimit header-bytes 1k\n"
                                      "limit headers 3\nlimit body 10\n")
    refused(s, get(b"/" + b"a" * 64), 414)
    with Conn(s) as c:
        c.send(get(b"/p/" + b"a" * 61))
        assert mask_date(c.read_response()) == expected_response(301, "/q/" + "a" * 61)
    refused(s, get("/old", extra=b"A: 1\r\nB: 2\r\nC: 3\r\n"), 431)
    with Conn(s) as c:
        c.send(get("/old", extra=b"A: 1\r\nB: 2\r\n"))
        assert mask_date(c.read_response()) == expected_response(307, "/new")
    refused(s, get("/old", extra=b"A: " + b"x" * 1000 + b"\r\n"), 431)
    refused(s, b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world", 413)
    # framing counts: 10 bytes of chunked body carry 2 of data
    cut(s, b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nhi\r\n0\r\n\r\nX" + get("/old"))
    with Conn(s) as c:
        c.send(b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"0;abcd\r\n\r\n" + get("/old"))  # 10 bytes: at the limit
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        assert mask_date(c.read_response()) == expected_response(307, "/new")
    with Conn(s) as c:
        c.send(b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789" +
               get("/old"))
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        assert mask_date(c.read_response()) == expected_response(307, "/new")


# ---- 501 and 505 -------------------------------------------------------------------------

# RFC 9112 §6.3 item 4: chunked not final (the length cannot be known): 400.
# §7.1: chunked applied twice: 400. §6.1: a coding we do not decode before a
# final chunked: 501.
@pytest.mark.parametrize("te,status", [
    (b"gzip", 400), (b"identity", 400), (b"xchunked", 400), (b"chunked;q=1", 400),
    (b"chunked, gzip", 400), (b"chunked,", 400), (b"\"chunked\"", 400),
    (b"chunked, chunked", 400), (b"gzip, chunked", 501), (b"deflate,chunked", 501),
    (b"x-custom , chunked", 501),
])
def test_transfer_codings_refused(srv, te, status):
    refused(srv, b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te +
            b"\r\n\r\n0\r\n\r\n", status)


def test_transfer_encoding_split_over_fields(srv):
    # all Transfer-Encoding fields form one list (RFC 9110 §5.3)
    refused(srv, b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)
    refused(srv, b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501)
    refused(srv, b"POST /old HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n", 400)


@pytest.mark.parametrize("version", [b"HTTP/2.0", b"HTTP/0.9", b"HTTP/3.0", b"HTTP/9.9"])
def test_505_versions(srv, version):
    refused(srv, b"GET /old " + version + b"\r\nHost: x\r\n\r\n" + get("/old"), 505)


@pytest.mark.parametrize("version", [b"HTTP/1.2", b"HTTP/1.9"])
def test_higher_minor_version_is_http11(srv, version):
    # RFC 9110 §6.2: processed as the highest minor version we implement,
    # answered as HTTP/1.1, and kept alive like HTTP/1.1.
    with Conn(srv) as c:
        c.send(b"GET /old " + version + b"\r\nHost: x\r\n\r\n" + get("/old"))
        for _ in range(2):
            assert mask_date(c.read_response()) == expected_response(307, "/new")


def test_long_method_501(srv):
    # RFC 9112 §3: a method longer than any implemented gets 501, and the
    # connection closes: the rest of a 10 KB token is never read as a request.
    refused(srv, b"A" * 10240 + b" /old HTTP/1.1\r\nHost: x\r\n\r\n" + get("/old"), 501)
    refused(srv, b"A" * 33 + b" /old HTTP/1.1\r\nHost: x\r\n\r\n" + get("/old"), 501)


# ---- accepted edge cases and smuggling attempts ------------------------------------------

def test_accepted_framing_variants(srv):
    with Conn(srv) as c:
        c.send(b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length:   05  \r\n\r\nhello" +
               b"POST /p/te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tCHUNKED \r\n\r\n"
               b"0\r\n\r\n" +
               b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" + get("/p/end"))
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        assert mask_date(c.read_response()) == expected_response(301, "/q/te")
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        assert mask_date(c.read_response()) == expected_response(301, "/q/end")
        c.assert_silent(0.05)


def test_smuggled_request_in_a_body_is_not_answered(srv):
    inner = get("/p/smuggled")
    with Conn(srv) as c:
        c.send(b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(inner) +
               inner + get("/p/real"))
        assert mask_date(c.read_response()) == expected_response(307, "/new")
        assert mask_date(c.read_response()) == expected_response(301, "/q/real")
        c.assert_silent(0.1)


def test_cl_te_smuggling_is_refused(srv):
    # the classic CL.TE desync: a front end using Content-Length would send
    # "0\r\n\r\nG" as the body; detour refuses the whole request instead.
    refused(srv, b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nG" + get("/p/x"), 400)


def test_obs_text_in_values_is_accepted(srv):
    with Conn(srv) as c:
        c.send(get("/old", extra=b"X-Latin: caf\xe9\r\nX-Empty:\r\nX-Tab:\t\tv\t\r\n"))
        assert mask_date(c.read_response()) == expected_response(307, "/new")


def test_error_response_ends_the_connection_even_if_more_was_sent(srv):
    with Conn(srv) as c:
        c.send(b"GET /old HTTP/2.0\r\n\r\n" + get("/old") * 50)
        rest = c.read_until_close(timeout=5)
    assert mask_date(rest) == expected_response(505, connection="close")
