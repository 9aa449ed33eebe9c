"""The platforms' APIs, faked on one local port: each platform adapter's simulated API
(socialcare.platforms.<name>.local) answers the calls for its paths; this server records every call with its
answer, so look-ups are answered from what was really posted.

Reply posting is tested against real HTTP (headers, bodies, timeouts) without touching a platform: the tests
start a PlatformSimulator in-process, the local stack runs `python -m infra.simulator.server --port 4000`
(infra/dev-config.json points api_base, graph_base and the sources' reply_url at it). Every call is recorded;
failures (429, 5xx, Meta error codes) and slow answers are injected on demand, in code or over HTTP:

    GET    /_simulator/calls   the recorded calls as JSON      DELETE /_simulator/calls  forget them
    POST   /_simulator/fail    {"count", "status", "body", "headers"}: answer the next calls with that
    POST   /_simulator/delay   {"seconds", "count", "method", "path"}: answer the next calls that much later
                               (only calls with that method and a path containing `path`, when given)
    POST   /_simulator/meta-token {"is_valid", "expires_at"}: what the token debug look-up answers

The credentials check's look-ups are answered too: X's `GET /2/users/me` (the brand of infra/dev-config.json)
and Meta's `GET /debug_token` (valid and never expiring, unless told otherwise)."""

import argparse
import itertools
import json
import re
import signal
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from socialcare.platforms import registry
from socialcare.platforms.local import Answer, LocalPlatform

CONTROL_PREFIX = "/_simulator/"
# The credentials check's look-ups (socialcare.platforms.credentials), beside the platforms' own answers.
X_ME = re.compile(r"^/2/users/me/?$")
GRAPH_DEBUG_TOKEN = re.compile(r"^(?:/v\d+(?:\.\d+)?)?/debug_token/?$")
DEV_BRAND_USER_ID = "1000000001"  # x.brand_user_id in infra/dev-config.json
# Deleting what a reply posted (an agent's UNDO): DELETE /2/tweets/<id>, DELETE /v<N>/<comment id>.
X_TWEET = re.compile(r"^/2/tweets/(?P<id>[^/]+)/?$")
GRAPH_NODE = re.compile(r"^/v\d+(?:\.\d+)?/(?P<node>[^/]+)/?$")
MAX_BODY_BYTES = 1024 * 1024
# Where infra/dev-config.json expects the simulator (`make run` puts it there unless SIMULATOR_PORT says).
DEFAULT_ADDRESS = "127.0.0.1:4000"


@dataclass(frozen=True)
class RecordedCall:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: Any  # parsed JSON, a form as {name: value}, or the text
    raw_body: str  # exactly what was sent (signatures are over it)
    timestamp: float
    status: int | None = None  # what the simulator answers (None until it has decided; a delayed call has)
    answer: Any = None  # the JSON it answered with

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MetaToken:
    is_valid: bool = True
    expires_at: int = 0  # unix seconds; 0: never (a long-lived Page token)


@dataclass(frozen=True)
class InjectedDelay:
    """One slow answer, for the next call that matches (any call when method and path are None)."""

    seconds: float
    method: str | None = None
    path: str | None = None  # a part of the call's path: "/2/tweets", "/<comment id>/replies"

    def matches(self, call: RecordedCall) -> bool:
        wanted_method = self.method is None or self.method.upper() == call.method
        return wanted_method and (self.path is None or self.path in call.path)


@dataclass(frozen=True)
class InjectedResponse:
    status: int
    json_body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class PlatformSimulator:
    """The fake platforms. Thread-safe: the server answers each request on its own thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._calls: list[RecordedCall] = []
        self._injected: deque[InjectedResponse] = deque()
        self._delays: list[InjectedDelay] = []
        self._ids = itertools.count(1_800_000_000_000_000_001)  # X-sized numeric ids
        self._server: ThreadingHTTPServer | None = None
        self.meta_token = MetaToken()
        self._thread: threading.Thread | None = None

    # ---- lifecycle
    def start(self) -> "PlatformSimulator":
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        server.simulator = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="platform-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> "PlatformSimulator":
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # ---- calls
    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, path_substring: str) -> list[RecordedCall]:
        return [call for call in self.calls if path_substring in call.path]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def record(self, call: RecordedCall) -> int:
        with self._lock:
            self._calls.append(call)
            return len(self._calls) - 1

    def answered(self, index: int, call: RecordedCall, status: int, answer: Any = None) -> None:
        """Note the status and body the call was answered with (unless the calls were cleared meanwhile)."""
        with self._lock:
            if index < len(self._calls) and self._calls[index] is call:
                self._calls[index] = replace(call, status=status, answer=answer)

    # ---- injection
    def fail_next(
        self,
        count: int,
        status: int,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `count` platform calls with this status, body and headers instead of a success."""
        if json_body is None and status >= 400:
            json_body = {
                "title": "Simulated failure",
                "status": status,
                "detail": "injected by the simulator",
            }
        response = InjectedResponse(status, json_body, dict(headers or {}))
        with self._lock:
            self._injected.extend([response] * count)

    def delay_next(
        self, seconds: float, count: int = 1, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Hold the next `count` answers for `seconds` (a client with a shorter read timeout gives up; the
        call still lands). With `method` and `path`, only calls with that method and a path containing
        `path` are held: one platform's post can be slow while its look-ups and other platforms answer."""
        with self._lock:
            self._delays.extend([InjectedDelay(seconds, method, path)] * count)

    def set_meta_token(self, is_valid: bool, expires_at: int = 0) -> None:
        """What the token debug look-up answers from now on (expires_at: unix seconds, 0 for never)."""
        with self._lock:
            self.meta_token = MetaToken(is_valid, expires_at)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._injected.clear()
            self._delays.clear()
            self.meta_token = MetaToken()

    def take_injected(self, call: RecordedCall) -> tuple[InjectedResponse | None, float]:
        with self._lock:
            injected = self._injected.popleft() if self._injected else None
            delay = next((d for d in self._delays if d.matches(call)), None)
            if delay is not None:
                self._delays.remove(delay)
        return injected, delay.seconds if delay is not None else 0.0

    def next_id(self) -> str:
        with self._lock:
            return str(next(self._ids))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler held by delay_next must not hold up stop()
    simulator: PlatformSimulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out closes its socket before the delayed answer: expected, not worth a trace.
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the recorded calls are the log; stderr noise would drown test output

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:  # Google's review reply
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        simulator = self.server.simulator
        parts = urlsplit(self.path)
        path = parts.path
        raw = self._read_body()
        if path.startswith(CONTROL_PREFIX):
            self._control(simulator, path, raw)
            return
        call = RecordedCall(
            method=self.command,
            path=path,
            query=parse_qs(parts.query),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=_parse_body(raw, self.headers.get("content-type", "")),
            raw_body=raw.decode("utf-8", errors="replace"),
            timestamp=time.time(),
        )
        index = simulator.record(call)
        injected, delay = simulator.take_injected(call)
        if injected is not None:
            status, answer, headers = injected.status, injected.json_body, injected.headers
        else:
            status, answer, headers = _answer(simulator, call)
        # Noted before the answer goes out, so whoever reads the calls after getting the answer sees it; and
        # before a delay: a slow platform has done what was asked (the post landed, look-ups find it) and
        # is only late in saying so.
        simulator.answered(index, call, status, answer)
        if delay:
            time.sleep(delay)
        self._send(status, answer, headers)

    def _control(self, simulator: PlatformSimulator, path: str, raw: bytes) -> None:
        try:
            request = json.loads(raw) if raw else {}
        except ValueError:
            self._send(400, {"error": "the body must be JSON"})
            return
        if path == "/_simulator/calls" and self.command == "GET":
            self._send(200, [call.to_dict() for call in simulator.calls])
        elif path == "/_simulator/calls" and self.command == "DELETE":
            simulator.clear()
            self._send(204, None)
        elif path == "/_simulator/fail" and self.command == "POST" and isinstance(request, dict):
            simulator.fail_next(
                int(request.get("count", 1)),
                int(request.get("status", 500)),
                json_body=request.get("body"),
                headers={str(key): str(value) for key, value in (request.get("headers") or {}).items()},
            )
            self._send(204, None)
        elif path == "/_simulator/meta-token" and self.command == "POST" and isinstance(request, dict):
            simulator.set_meta_token(bool(request.get("is_valid", True)), int(request.get("expires_at", 0)))
            self._send(204, None)
        elif path == "/_simulator/delay" and self.command == "POST" and isinstance(request, dict):
            method, where = request.get("method"), request.get("path")
            simulator.delay_next(
                float(request.get("seconds", 1)),
                int(request.get("count", 1)),
                method=str(method) if method else None,
                path=str(where) if where else None,
            )
            self._send(204, None)
        else:
            self._send(404, {"error": f"no control endpoint {self.command} {path}"})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(min(length, MAX_BODY_BYTES)) if length > 0 else b""

    def _send(self, status: int, answer: Any, headers: dict[str, str] | None = None) -> None:
        # A text answer with its own content type (a feed's XML) goes out as it is; anything else is JSON.
        raw_text = isinstance(answer, str) and any(n.lower() == "content-type" for n in (headers or {}))
        data = b"" if answer is None else answer.encode() if raw_text else json.dumps(answer).encode()
        try:
            self.send_response(status)
            if answer is not None and not raw_text:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (read timeout)


def _parse_body(raw: bytes, content_type: str) -> Any:
    media_type = content_type.split(";")[0].strip().lower()
    text = raw.decode("utf-8", errors="replace")
    if media_type == "application/json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    if media_type == "application/x-www-form-urlencoded":
        return {name: values[-1] for name, values in parse_qs(text, keep_blank_values=True).items()}
    return text if text else None


def _platforms() -> list[LocalPlatform]:
    return [adapter.local() for adapter in registry.webhooks()]


def _answer(simulator: PlatformSimulator, call: RecordedCall) -> Answer:
    """The answer of the platform whose API the path belongs to, in the platform's own shape."""
    if call.method == "GET" and (lookup := _answer_lookup(simulator, call)) is not None:
        return lookup
    if call.method == "DELETE" and (deleted := _deleted(call)) is not None:
        return deleted
    for platform in _platforms():
        answer = platform.answer(call, simulator)
        if answer is not None:
            return answer
    return 404, {"error": f"no simulated endpoint for {call.method} {call.path}"}, {}


def _answer_lookup(simulator: PlatformSimulator, call: RecordedCall) -> Answer | None:
    """The credentials check's look-ups: who am I on X, and Meta's token debugger."""
    if X_ME.match(call.path):
        if not call.headers.get("authorization", "").startswith("Bearer "):
            return 401, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}, {}
        return 200, {"data": {"id": DEV_BRAND_USER_ID, "name": "Brand", "username": "brand"}}, {}
    if GRAPH_DEBUG_TOKEN.match(call.path):
        if not call.query.get("input_token") or not call.query.get("access_token"):
            error = {"message": "input_token and access_token are required", "type": "OAuthException"}
            return 400, {"error": {**error, "code": 100}}, {}
        token = simulator.meta_token
        data: dict[str, Any] = {
            "app_id": "simulated",
            "type": "PAGE",
            "is_valid": token.is_valid,
            "expires_at": token.expires_at,
            "scopes": ["pages_manage_engagement", "pages_messaging", "instagram_manage_comments"],
        }
        if not token.is_valid:
            data["error"] = {"code": 190, "message": "Error validating access token: Session has expired"}
        return 200, {"data": data}, {}
    return None


def _deleted(call: RecordedCall) -> Answer | None:
    """X's and Graph's answers to deleting a post or a comment."""
    if X_TWEET.match(call.path):
        if not call.headers.get("authorization", "").startswith("Bearer "):
            return 401, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}, {}
        return 200, {"data": {"deleted": True}}, {}
    if GRAPH_NODE.match(call.path):
        if not (call.query.get("access_token") or call.headers.get("authorization")):
            return 400, {"error": {"message": "An access token is required", "code": 104}}, {}
        return 200, {"success": True}, {}
    return None


def point_at_simulator(config: dict[str, Any], simulator_url: str) -> dict[str, Any]:
    """The configuration document with every platform URL that points at the default simulator address
    (http://127.0.0.1:4000, as in infra/dev-config.json) moved to `simulator_url`, the simulator's actual
    address. URLs that point anywhere else are somebody's deliberate choice (a real API, another fake) and
    stay as they are; so does everything when the simulator runs at the default address anyway."""
    target = urlsplit(simulator_url).netloc
    document = json.loads(json.dumps(config))

    def moved(url: Any) -> Any:
        if not isinstance(url, str):
            return url
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.netloc != DEFAULT_ADDRESS:
            return url
        return urlunsplit(parts._replace(netloc=target))

    for platform in _platforms():
        for section, key in platform.simulated_urls(document):
            section[key] = moved(section[key])
    return document


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The platforms' APIs, simulated for local runs and tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4000)
    args = parser.parse_args(argv)
    stopping = threading.Event()

    def _stop(signal_number: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with PlatformSimulator(args.host, args.port) as simulator:
        print(f"platform simulator listening on {simulator.url}", flush=True)
        while not stopping.wait(0.5):  # a short wait keeps the main thread responsive to signals
            pass
    print("platform simulator stopped", flush=True)


if __name__ == "__main__":
    main()
