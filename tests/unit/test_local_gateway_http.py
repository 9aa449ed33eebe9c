"""The local gateway on the wire: bodies framed as API Gateway accepts them, and its admin routes answer only
this machine's names (a DNS-rebinding page gets nothing)."""

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.gateway import Gateway
from infra.local.template import Route


class EchoRuntime:
    """Stands in for the handlers: answers with the body the gateway handed on."""

    def invoke(self, function: str, event: dict[str, Any], summary: str = "") -> dict[str, Any]:
        return {"statusCode": 200, "body": json.dumps({"body": event.get("body", "")})}


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    server = Gateway([Route("POST", "/echo", "Echo")], EchoRuntime(), "127.0.0.1", 0)  # type: ignore[arg-type]
    server.local_routes[("GET", "/_local/outbox")] = lambda _body: (
        200,
        {"content-type": "text/plain"},
        b"secret links",
    )
    server.start()
    yield server
    server.stop()


def exchange(gateway: Gateway, raw: bytes) -> tuple[int, bytes]:
    host, port = gateway.server.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=5) as connection:
        connection.sendall(raw)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            length = [line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            if length and len(body) >= int(length[0].split(b":")[1]):
                break
    status = int(answer.split(b" ", 2)[1])
    return status, answer.partition(b"\r\n\r\n")[2]


def post(content_headers: str, body: bytes = b"") -> bytes:
    return f"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n{content_headers}\r\n".encode() + body


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ("Content-Length: abc\r\n", 400),
        ("Content-Length: -1\r\n", 400),
        ("Content-Length: 1.5\r\n", 400),
        ("", 411),
        ("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", 400),
        ("Content-Length: 10485761\r\n", 413),
    ],
)
def test_bad_framing_is_answered_not_dropped(gateway: Gateway, headers: str, status: int) -> None:
    assert exchange(gateway, post(headers))[0] == status


def test_a_chunked_body_arrives_whole(gateway: Gateway) -> None:
    chunks = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"
    status, body = exchange(
        gateway, post("Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n", chunks)
    )
    assert status == 200 and json.loads(body) == {"body": "hello, world"}


def test_a_broken_chunk_is_400(gateway: Gateway) -> None:
    assert exchange(gateway, post("Transfer-Encoding: chunked\r\n", b"zz\r\nhello\r\n0\r\n\r\n"))[0] == 400
    assert exchange(gateway, post("Transfer-Encoding: chunked\r\n", b"2\r\nhello\r\n0\r\n\r\n"))[0] == 400


@pytest.mark.parametrize("host", ["127.0.0.1:3000", "localhost:3000", "localhost"])
def test_admin_routes_answer_local_names(gateway: Gateway, host: str) -> None:
    status, body = exchange(gateway, f"GET /_local/outbox HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    assert status == 200 and body == b"secret links"


@pytest.mark.parametrize(
    "headers",
    ["Host: rebind.evil.example:3000\r\n", "Host: 127.0.0.1:3000\r\nOrigin: http://rebind.evil.example\r\n"],
)
def test_admin_routes_refuse_other_names(gateway: Gateway, headers: str) -> None:
    status, body = exchange(gateway, f"GET /_local/outbox HTTP/1.1\r\n{headers}\r\n".encode())
    assert status == 403 and b"secret" not in body
