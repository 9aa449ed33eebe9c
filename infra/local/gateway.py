"""Plays API Gateway (HTTP API, payload format 2.0) for the template's routes: each request becomes the event
AWS would build, the route's handler runs in-process, and its answer becomes the HTTP response."""

import base64
import json
import secrets
import threading
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from infra.local.local_hosts import is_local_host, is_local_origin
from infra.local.runtime import FunctionRuntime
from infra.local.template import Route

# HTTP APIs pass these bodies as text; everything else (form posts included) arrives base64-encoded.
TEXT_MEDIA_TYPES = ("application/json", "application/xml", "application/javascript")
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's own limit


def is_text(content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip().lower()
    return (
        media_type.startswith("text/")
        or media_type in TEXT_MEDIA_TYPES
        or media_type.endswith("+json")
        or media_type.endswith("+xml")
    )


def build_event(
    route: Route,
    path_parameters: dict[str, str],
    method: str,
    raw_target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
) -> dict[str, Any]:
    split = urlsplit(raw_target)
    merged_headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged_headers[lower] = f"{merged_headers[lower]},{value}" if lower in merged_headers else value
    query: dict[str, str] = {}
    for key, value in parse_qsl(split.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": split.path,
        "rawQueryString": split.query,
        "headers": merged_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": merged_headers.get("host", "127.0.0.1"),
            "domainPrefix": merged_headers.get("host", "127.0.0.1").split(".")[0],
            "http": {
                "method": method,
                "path": split.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged_headers.get("user-agent", ""),
            },
            "requestId": secrets.token_hex(8),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        text = None
        if is_text(merged_headers.get("content-type", "")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


def response_parts(result: Any) -> tuple[int, dict[str, str], list[str], bytes]:
    """Lambda's answer to an HTTP API, read as API Gateway reads format 2.0."""
    if not (isinstance(result, dict) and "statusCode" in result):
        text = result if isinstance(result, str) else json.dumps(result)
        return 200, {"content-type": "application/json"}, [], text.encode()
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ",".join(str(v) for v in values)
    body_text = result.get("body") or ""
    body = base64.b64decode(body_text) if result.get("isBase64Encoded") else str(body_text).encode()
    return int(result["statusCode"]), headers, list(result.get("cookies") or []), body


class Gateway:
    def __init__(self, routes: list[Route], runtime: FunctionRuntime, host: str, port: int) -> None:
        self.routes = routes
        self.runtime = runtime
        self.server = ThreadingHTTPServer((host, port), self._request_handler())
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None
        # The local stack's own admin routes (e.g. the outbox), answered here and never part of the template.
        # Each gets the request body.
        self.local_routes: dict[tuple[str, str], Callable[[bytes], tuple[int, dict[str, str], bytes]]] = {}

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def find_route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            parameters = route.match(method, path)
            if parameters is not None:
                return route, parameters
        return None

    def _request_handler(self) -> type[BaseHTTPRequestHandler]:
        return type("RequestHandler", (GatewayRequestHandler,), {"gateway": self})


class GatewayRequestHandler(BaseHTTPRequestHandler):
    """One HTTP request to the local gateway, answered as API Gateway (payload 2.0) would."""

    gateway: "Gateway"  # set on the subclass each gateway makes
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        path = urlsplit(self.path).path
        found = self.gateway.find_route(self.command, path)
        body = self._read_body()
        if body is None:
            return  # answered already: the connection cannot be trusted for another request
        local_route = self.gateway.local_routes.get((self.command, path))
        if local_route is not None:
            if not is_local_host(self.headers.get("host", "")) or not is_local_origin(
                self.headers.get("origin")
            ):
                self._refuse(403, "the local admin routes answer only 127.0.0.1 and localhost")
                return
            status, headers, payload = local_route(body)
            self._send(status, headers, [], payload)
            return
        if found is None:
            self._send(404, {"content-type": "application/json"}, [], b'{"message":"Not Found"}')
            return
        route, parameters = found
        event = build_event(
            route,
            parameters,
            self.command,
            self.path,
            list(self.headers.items()),
            body,
            self.client_address[0],
        )
        try:
            # The route key, not the path: a path can carry a secret (the reply link's token).
            result = self.gateway.runtime.invoke(route.function, event, route.route_key)
            status, headers, cookies, payload = response_parts(result)
        except Exception:  # an unhandled error in a handler is a 500, as API Gateway answers it
            status, headers, cookies = 500, {"content-type": "application/json"}, []
            payload = b'{"message":"Internal Server Error"}'
            traceback.print_exc()
        self._send(status, headers, cookies, payload)

    def _read_body(self) -> bytes | None:
        """The whole body, as API Gateway hands it on: 400 for a Content-Length that is not a count
        of bytes (or comes with chunked encoding), 411 for a body-bearing method with neither, 413
        over the payload limit; a chunked body is read to its end."""
        length_header = self.headers.get("content-length")
        chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        if chunked and length_header is not None:
            self._refuse(400, "Content-Length and chunked transfer encoding together")
            return None
        if chunked:
            return self._read_chunks()
        if length_header is None:
            if self.command in ("POST", "PUT", "PATCH"):
                self._refuse(411, "Length Required")
                return None
            return b""
        if not length_header.strip().isdigit():
            self._refuse(400, "Content-Length is not a number of bytes")
            return None
        length = int(length_header)
        if length > MAX_PAYLOAD_BYTES:
            self._refuse(413, "Request too long")
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunks(self) -> bytes | None:
        body = bytearray()
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                self._refuse(400, "a chunk size is not hexadecimal")
                return None
            if size < 0 or len(body) + size > MAX_PAYLOAD_BYTES:
                self._refuse(413 if size > 0 else 400, "Request too long")
                return None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers, up to the blank line
                    pass
                return bytes(body)
            body += self.rfile.read(size)
            if self.rfile.read(2) != b"\r\n":
                self._refuse(400, "a chunk does not end where its size says")
                return None

    def _refuse(self, status: int, message: str) -> None:  # None: no body to hand on
        self.close_connection = True
        payload = json.dumps({"message": message}).encode()
        self._send(status, {"content-type": "application/json", "connection": "close"}, [], payload)

    def _send(self, status: int, headers: dict[str, str], cookies: list[str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if self.close_connection:
            self.send_header("connection", "close")
        for cookie in cookies:
            self.send_header("set-cookie", cookie)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:  # the runtime logs one line per invocation
        return
