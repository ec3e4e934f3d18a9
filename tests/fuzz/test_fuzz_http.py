"""The gateway's HTTP surface under generated raw requests, sent byte for byte over a socket.

A real gateway (tests/gateway/harness.py: uvicorn + httptools on 127.0.0.1, real keys, ledger
and router) in front of the fake upstream (tests/fixtures/fake_upstream.py). Requests are
generated whole — method, path, headers, body — and written to the socket as bytes, so nothing
between the test and the server tidies them up: malformed JSON, invalid UTF-8, huge numbers,
JSON nested past any parser's limit, wrong types for `model`, `messages`, `max_tokens`,
`stream`, `input`, unknown fields, bad or missing credentials, odd content types, chunked
bodies, `Expect: 100-continue`, and fake-upstream directives that make the provider fail,
stall or cut its stream.

Properties, for every request:

1. the server answers within 20 s with a well-formed HTTP/1.1 response (status line, header
   lines, a body framed by its Content-Length or by chunks, nothing after it);
2. no 5xx but the declared upstream conditions 502, 503 and 504 — never a 500;
3. an error from a model route is JSON in that route's dialect: OpenAI's
   `{"error": {"message", "type", ...}}` or Anthropic's `{"type": "error", "error": {...}}`;
4. an error never echoes request content: a marker planted in message text, unknown fields,
   header values and credentials never appears in an error response (the model name is quoted
   back, short and printable, by design: `UnknownModelError`);
5. `/healthz` answers 200 afterwards.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fixtures.fake_upstream import FakeUpstream
from tests.fuzz._profile import fuzz
from tests.gateway.harness import Running, gateway_settings, running_gateway

pytestmark = pytest.mark.fuzz

MARKER = "qzxfuzzmarker"
ANSWER_WITHIN = 20.0
UPSTREAM_STATUSES = {502, 503, 504}
OPENAI_ROUTES = {
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/responses"),
    ("POST", "/v1/embeddings"),
    ("GET", "/v1/models"),
}
ANTHROPIC_ROUTES = {("POST", "/v1/messages")}


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake_upstream: FakeUpstream
) -> Iterator[Running]:
    base = fake_upstream.base_url
    home = tmp_path_factory.mktemp("fuzz-gateway") / "home"
    with running_gateway(gateway_settings(home, base, base.removesuffix("/v1"))) as running:
        yield running


# --- raw HTTP -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    raw: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-5][0-9]{2})(?: [^\r\n]*)?")
_HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*?)[ \t]*")


def _dechunk(data: bytes) -> bytes:
    body, pos = bytearray(), 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end].split(b";")[0], 16)
        pos = end + 2
        if size == 0:
            assert data[pos:] == b"\r\n", f"bytes after the last chunk: {data[pos : pos + 80]!r}"
            return bytes(body)
        body += data[pos : pos + size]
        assert data[pos + size : pos + size + 2] == b"\r\n", "chunk not followed by CRLF"
        pos += size + 2


def parse_reply(raw: bytes, method: str) -> Reply:
    """The final response in `raw` (interim 1xx skipped); fails on anything malformed."""
    rest = raw
    while True:
        head, sep, rest = rest.partition(b"\r\n\r\n")
        assert sep, f"no end of headers in {raw[:200]!r}"
        lines = head.split(b"\r\n")
        status_line = _STATUS_LINE.fullmatch(lines[0])
        assert status_line, f"bad status line {lines[0]!r}"
        headers = []
        for line in lines[1:]:
            match = _HEADER_LINE.fullmatch(line)
            assert match, f"bad header line {line!r}"
            headers.append((match[1].decode(), match[2].decode("latin-1")))
        status = int(status_line[1])
        if status >= 200:
            break
    reply = Reply(status, headers, b"", raw)
    length = reply.header("content-length")
    if method == "HEAD" or status in (204, 304):
        assert rest == b"", "a body on a response that must not have one"
        return reply
    if (reply.header("transfer-encoding") or "").lower() == "chunked":
        body = _dechunk(rest)
    elif length is not None:
        assert length.isdigit() and int(length) == len(rest), f"{length} declared, {len(rest)} sent"
        body = rest
    else:
        body = rest  # delimited by the close
    return Reply(status, headers, body, raw)


def exchange(port: int, request: bytes) -> bytes:
    """Send `request` as is; read until the server closes (the request says Connection: close)."""
    chunks = []
    deadline = time.monotonic() + ANSWER_WITHIN
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN) as sock:
        sock.sendall(request)
        while True:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                pytest.fail(f"no complete answer within {ANSWER_WITHIN} s to {request[:300]!r}")
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


# --- generated requests ---------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    raw: bytes


TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["안녕하세요", "900101-1234567", "010-1234-5678", "", " ", "\u0000", "\ud7a3"]),
    st.just(f"say {MARKER} back"),
)
# Fake-upstream directives: the provider fails, stalls past the route's timeout, cuts a stream.
DIRECTIVE = st.sampled_from(
    [
        "#fail:500",
        "#fail:429",
        "#fail:400",
        "#fail:401",
        "#slow:2.5",
        "#cut:1",
        "#sse-error:1",
        "#split:1",
    ]
)
NUMBER = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64, 10**30]),
)
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), NUMBER, TEXT),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
PART = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": TEXT}),
    st.fixed_dictionaries(
        {"type": st.just("image_url"), "image_url": st.fixed_dictionaries({"url": TEXT})}
    ),
    st.dictionaries(st.sampled_from(["type", "text", "source", "tool_use_id"]), JSON, max_size=3),
)
CONTENT = st.one_of(
    TEXT,
    (TEXT | st.just("")).flatmap(lambda t: DIRECTIVE.map(lambda d: f"{t} {d}")),
    st.lists(PART, max_size=3),
    JSON,
)
MESSAGE = st.one_of(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant", "system", "tool", "", MARKER]),
            "content": CONTENT,
        }
    ),
    JSON,
)
MODEL = st.one_of(
    st.sampled_from(["demo", "gpt-test", "claude-test", "mixed", "failover", "", "nope"]),
    st.text(max_size=80),
    JSON,
)
FIELDS = {
    "model": MODEL,
    "messages": st.one_of(st.lists(MESSAGE, max_size=3), JSON),
    "max_tokens": st.one_of(NUMBER, JSON),
    "stream": st.one_of(st.booleans(), JSON),
    "input": st.one_of(TEXT, st.lists(TEXT, max_size=3), JSON),
    "temperature": NUMBER,
    "tools": JSON,
    MARKER: JSON,
}


@st.composite
def body_object(draw: st.DrawFn) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(sorted(FIELDS)), unique=True))
    # Mostly well-typed, so requests get past parsing and reach auth, limits, router, upstream.
    body: dict[str, Any] = {"model": draw(st.sampled_from(["demo", "gpt-test", "claude-test"]))}
    body["messages"] = [{"role": "user", "content": draw(CONTENT)}]
    body["max_tokens"] = draw(st.integers(1, 64))
    body["input"] = draw(TEXT)
    for name in chosen:
        body[name] = draw(FIELDS[name])
    return body


def _nested(depth: int) -> bytes:
    return (
        b'{"model": "demo", "messages": [{"role": "user", "content": "hi"}], "metadata": '
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )


@st.composite
def body_bytes(draw: st.DrawFn) -> bytes:  # noqa: PLR0911 - one return per kind
    data = json.dumps(draw(body_object()), ensure_ascii=draw(st.booleans())).encode(
        "utf-8", "surrogatepass"
    )
    kind = draw(
        st.sampled_from(
            ["json"] * 6
            + ["truncated", "bad-utf8", "huge-number", "nested", "not-object", "garbage", "empty"]
        )
    )
    if kind == "truncated":
        return data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if kind == "bad-utf8":
        at = draw(st.integers(0, len(data)))
        return (
            data[:at]
            + draw(
                st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x80"])
            )
            + data[at:]
        )
    if kind == "huge-number":
        number = draw(
            st.sampled_from(
                [
                    b"1e999999",
                    b"-1e999999",
                    b"9" * 400,
                    b"1" + b"0" * 5000,
                    b"-0.0e-99999",
                    b"NaN",
                    b"Infinity",
                ]
            )
        )
        return (
            b'{"model": "demo", "max_tokens": '
            + number
            + b', "messages": [{"role": "user", "content": "hi"}]}'
        )
    if kind == "nested":
        return _nested(draw(st.sampled_from([64, 500, 1000, 1023, 1024, 1025, 5000, 30000])))
    if kind == "not-object":
        return json.dumps(draw(JSON)).encode("utf-8", "surrogatepass")
    if kind == "garbage":
        return draw(st.binary(max_size=200))
    if kind == "empty":
        return b""
    return data


HEADER_NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True).filter(
    lambda n: (
        n.lower() not in {"content-length", "transfer-encoding", "connection", "host", "expect"}
    )
)
HEADER_VALUE = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40), st.just(MARKER)
)


@st.composite
def http_request(draw: st.DrawFn, keys: dict[str, str]) -> Request:
    route = draw(st.sampled_from(sorted(OPENAI_ROUTES | ANTHROPIC_ROUTES)))
    method = draw(
        st.sampled_from(
            [route[0]] * 8 + ["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"]
        )
    )
    path = draw(
        st.sampled_from(
            [route[1]] * 8
            + [
                route[1] + "?stream=true&x=%ff",
                route[1] + "/",
                "/v1/" + MARKER,
                "/v1/../v1/models",
                "/healthz",
                "/%2e%2e/etc",
                "/" + "a" * 3000,
            ]
        )
    )
    headers: list[tuple[str, str]] = [("Host", "127.0.0.1")]
    key = draw(
        st.sampled_from(
            ["acme", "bank", "tight", "auditor", "revoked", "admin", None, "marker", "basic"]
        )
    )
    credential = {None: None, "marker": f"sk-{MARKER}", "basic": None}.get(key, keys.get(key or ""))
    if key == "basic":
        headers.append(("Authorization", f"Basic {MARKER}"))
    elif credential is not None:
        style = draw(st.sampled_from(["bearer", "x-api-key", "both"]))
        if style in ("bearer", "both"):
            headers.append(("Authorization", f"Bearer {credential}"))
        if style in ("x-api-key", "both"):
            headers.append(("x-api-key", credential))
    content_type = draw(
        st.sampled_from(
            [
                "application/json",
                "application/json; charset=latin-1",
                "text/plain",
                "multipart/form-data; boundary=x",
                None,
            ]
        )
    )
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    if route in ANTHROPIC_ROUTES and draw(st.booleans()):
        headers.append(("anthropic-version", draw(st.sampled_from(["2023-06-01", MARKER]))))
    headers += draw(st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=3))
    body = draw(body_bytes()) if method not in ("GET", "HEAD") or draw(st.booleans()) else b""
    framing = draw(st.sampled_from(["length"] * 4 + ["chunked", "expect"]))
    if framing == "chunked" and body:
        headers.append(("Transfer-Encoding", "chunked"))
        cut = draw(st.integers(0, len(body)))
        pieces = [p for p in (body[:cut], body[cut:]) if p]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    else:
        if framing == "expect":
            headers.append(("Expect", "100-continue"))
        headers.append(("Content-Length", str(len(body))))
        payload = body
    headers.append(("Connection", "close"))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return Request(method, path, head.encode("latin-1") + payload)


# --- the properties -------------------------------------------------------------------------


def _is_uvicorn_rejection(reply: Reply) -> bool:
    """uvicorn's own 400 for bytes its HTTP parser refuses: before any app code, plain text."""
    return reply.status == 400 and reply.body == b"Invalid HTTP request received."


def check_reply(request: Request, reply: Reply) -> None:
    assert reply.status < 500 or reply.status in UPSTREAM_STATUSES, (
        f"{reply.status} for {request.method} {request.path}: {reply.body[:300]!r}"
    )
    if reply.status >= 400:
        assert MARKER.encode() not in reply.raw, f"request content echoed: {reply.raw[:600]!r}"
    route = (request.method, request.path)
    if reply.status < 400 or _is_uvicorn_rejection(reply):
        return
    if route in OPENAI_ROUTES | ANTHROPIC_ROUTES:
        assert (reply.header("content-type") or "").startswith("application/json"), reply.raw[:300]
        error = json.loads(reply.body)
        if route in ANTHROPIC_ROUTES:
            assert error["type"] == "error", error
            assert isinstance(error["error"]["type"], str) and isinstance(
                error["error"]["message"], str
            )
        else:
            assert isinstance(error["error"]["message"], str) and isinstance(
                error["error"]["type"], str
            )


def healthy(port: int) -> None:
    raw = exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    reply = parse_reply(raw, "GET")
    assert (reply.status, json.loads(reply.body)) == (200, {"status": "ok"})


def _port(gateway: Running) -> int:
    return int(gateway.base_url.rsplit(":", 1)[1])


def test_generated_requests_get_well_formed_answers(gateway: Running) -> None:
    port = _port(gateway)

    @fuzz(200)
    @given(request=http_request(gateway.keys))
    def check(request: Request) -> None:
        reply = parse_reply(exchange(port, request.raw), request.method)
        check_reply(request, reply)
        healthy(port)

    check()


@pytest.mark.parametrize("depth", [1000, 1024, 1025, 30000])
def test_deeply_nested_json_is_a_client_error(gateway: Running, depth: int) -> None:
    body = _nested(depth)
    head = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        f"{gateway.keys['acme']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    request = Request("POST", "/v1/chat/completions", head.encode() + body)
    reply = parse_reply(exchange(_port(gateway), request.raw), "POST")
    check_reply(request, reply)
    # orjson reads up to 1024 levels; past that the body is refused, never a RecursionError
    # further down the pipeline (labels, the upstream call, the ledger's payload encoding).
    # (Nesting inside `content` is refused at any depth: a part is a string or an object.)
    assert reply.status == (200 if depth < 1024 else 400), reply.raw[:300]


# --- found by fuzzing ------------------------------------------------------------------------


def _post(gateway: Running, path: str, body: bytes) -> tuple[Request, Reply]:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {gateway.keys['acme']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    request = Request("POST", path, head.encode() + body)
    return request, parse_reply(exchange(_port(gateway), request.raw), "POST")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/embeddings", b'{"model": "demo", "input": "x", "messages": 1}'),
        ("/v1/embeddings", b'{"model": "gpt-test", "input": "x", "messages": true}'),
        ("/v1/responses", b'{"model": "gpt-test", "input": "x", "messages": 2.5}'),
    ],
)
def test_a_messages_field_that_is_not_a_list_is_no_500(
    gateway: Running, path: str, body: bytes
) -> None:
    request, reply = _post(gateway, path, body)
    check_reply(request, reply)


@pytest.mark.parametrize(
    ("path", "body"),
    [  # Anthropic requests to an OpenAI route, OpenAI requests to an Anthropic route
        ("/v1/messages", b'{"model": "gpt-test", "max_tokens": 8, "messages": [], "tools": true}'),
        ("/v1/messages", b'{"model": "gpt-test", "max_tokens": 8, "messages": [], "system": 1}'),
        (
            "/v1/messages",
            b'{"model": "gpt-test", "max_tokens": 8, "messages": [{"role": "user", "content": 1}]}',
        ),
        (
            "/v1/chat/completions",
            b'{"model": "claude-test", "messages": [{"role": "user", "content": "hi"}], '
            b'"tools": [1]}',
        ),
        (
            "/v1/chat/completions",
            b'{"model": "claude-test", "messages": [{"role": "user", "content": 1}]}',
        ),
    ],
)
def test_a_field_of_the_wrong_type_in_translation_is_no_500(
    gateway: Running, path: str, body: bytes
) -> None:
    request, reply = _post(gateway, path, body)
    check_reply(request, reply)


@pytest.mark.parametrize(
    ("method", "path", "dialect"),
    [
        ("GET", "/v1/chat/completions", "openai"),
        ("POST", "/v1/no-such-endpoint", "openai"),
        ("GET", "/v1/messages", "anthropic"),
    ],
)
def test_a_wrong_method_or_path_is_answered_in_the_dialect(
    gateway: Running, method: str, path: str, dialect: str
) -> None:
    raw = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    reply = parse_reply(exchange(_port(gateway), raw.encode()), method)
    assert reply.status in (404, 405)
    error = json.loads(reply.body)
    assert error["type"] == "error" if dialect == "anthropic" else "message" in error["error"]
