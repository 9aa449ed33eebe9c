"""The moto server the local stack runs, answering one request at a time, journaling what changes it.

moto's backends are not thread-safe: a TransactWriteItems iterating a table while a concurrent PutItem adds
to it fails with "dictionary changed size during iteration", and may leave half of the transaction applied;
and a cancelled transaction puts back the items it touched as they were before it, so a write that landed on
one of them meanwhile would be lost. DynamoDB makes every call atomic, so the local stack serializes moto's
requests; its callers (gateway threads, pollers, the CLI) still run concurrently. Nobody may hold the lock
while waiting: the SQS poller does not long-poll.

Only requests addressed to 127.0.0.1 or localhost are answered, and none from a web page of another origin:
a page elsewhere must not reach the local AWS through DNS rebinding or moto's permissive CORS."""

import contextlib
import io
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto import backends
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from infra.local import moto_indexes, moto_item_size, moto_transactions
from infra.local.local_hosts import is_local_host, is_local_origin
from infra.local.stack import ACCOUNT_ID, REGION
from infra.local.state import (
    Journal,
    action_of,
    changes_state,
    journal_entry,
    receipts_entry,
    replay,
    service_of,
)

FORBIDDEN = b'{"message": "the local stack answers only 127.0.0.1 and localhost"}'


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = environ[key]
    return headers


def _forget_shard_iterators(request: bytes, answer: bytes) -> None:
    """moto keeps every shard iterator it ever made; the stream pollers take a fresh one on every round and
    never reuse the used one or the next one, so both are dropped (a day of `make run` kept about a GB)."""
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    with contextlib.suppress(ValueError, KeyError, TypeError):
        used = {json.loads(request)["ShardIterator"], json.loads(answer).get("NextShardIterator")}
        iterators = dynamodbstreams_backends[ACCOUNT_ID][REGION].shard_iterators
        for iterator in used:
            iterators.pop(iterator, None)


def list_moto_modules_once() -> None:
    """moto's server finds the backend a request is for by listing moto's package folder, a stat of each of
    its two hundred entries, on every request (twice for most): under the bench's load that was two fifths
    of the time moto held the lock above, which every webhook and poller waits on. The folder does not
    change while the server runs: it is listed once, and the same list answers every request."""
    if getattr(backends.list_of_moto_modules, "listed_once", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def listed() -> tuple[str, ...]:
        return modules

    listed.listed_once = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = listed


class FairLock:
    """A lock granted in the order it was asked for. threading.Lock is not fair: under a stream of webhook
    requests, the dispatcher's requests kept losing the race for moto: a batch of five mentions took 30 s."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._held = False

    def __enter__(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the holder hands the lock over: _held stays True

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._held = False


# What sends a text or an email: the outbox notes each as it goes, with the time it went.
SENDS = frozenset({"Publish", "PublishBatch", "SendEmail", "SendRawEmail"})
SESV2_SEND_PATH = "/v2/email/outbound-emails"  # SES v2 is a REST API: its send has no action name

# Changes that give no poller anything new to read: counting them would wake every idle poller for nothing
# (five queue pollers' receives would wake each other without end).
QUIET_CHANGES = frozenset({"ReceiveMessage", "DeleteMessage", "DeleteMessageBatch"})


class SerializedMotoServer(ThreadedMotoServer):
    def __init__(
        self,
        *args: Any,
        state_dir: Path | None = None,
        after_send: Callable[[], None] | None = None,
        after_change: Callable[[str], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.state_dir = state_dir
        self.after_send = after_send
        self.after_change = after_change
        self.replayed: dict[str, int] = {}
        self._journal: Journal | None = None

    def _server_entry(self) -> None:
        moto_indexes.install()
        moto_transactions.install()
        moto_item_size.install()
        list_moto_modules_once()
        backend_app = DomainDispatcherApplication(create_backend_app)
        if self.state_dir is not None:
            self.replayed = replay(self.state_dir, backend_app)
            self._journal = Journal(self.state_dir)
        lock = FairLock()

        def one_at_a_time(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            headers = _headers(environ)
            if not is_local_host(headers.get("host", "")) or not is_local_origin(headers.get("origin")):
                start_response("403 Forbidden", [("Content-Type", "application/json")])
                return [FORBIDDEN]
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            status: list[str] = []

            def remember_status(code: str, response_headers: Any, *rest: Any) -> Any:
                status.append(code)
                return start_response(code, response_headers, *rest)

            with lock:
                answer = b"".join(backend_app(environ, remember_status))  # the whole answer, inside the lock
                self._after(environ, headers, body, answer, int(status[0].split()[0]) if status else 500)
            return [answer]

        self._server = make_server(
            self._ip_address, self._port, one_at_a_time, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()

    def _after(
        self, environ: dict[str, Any], headers: dict[str, str], body: bytes, answer: bytes, status: int
    ) -> None:
        """Journal what changed moto, before the answer leaves: an acknowledged change is on disk."""
        if status >= 300:
            return
        action = action_of(headers, body)
        sends = action in SENDS or environ.get("PATH_INFO", "").startswith(SESV2_SEND_PATH)
        if sends and self.after_send is not None:
            self.after_send()
        if action == "GetRecords":
            _forget_shard_iterators(body, answer)
        if self.after_change is not None and changes_state(action) and action not in QUIET_CHANGES:
            self.after_change(service_of(headers))  # the pollers it concerns (event_sources.Changes)
        if self._journal is None:
            return
        if action == "ReceiveMessage":
            receipts = receipts_entry(answer)
            if receipts is not None:
                self._journal.record(receipts)
            return
        if not changes_state(action) or headers.get("x-amz-target", "").startswith("secretsmanager."):
            return  # the configuration secret is seeded from SOCIALCARE_CONFIG at every start: never on disk
        target = environ.get("PATH_INFO", "/") + (
            "?" + environ["QUERY_STRING"] if environ.get("QUERY_STRING") else ""
        )
        self._journal.record(journal_entry(environ["REQUEST_METHOD"], target, headers, body, action, answer))

    def stop(self) -> None:
        super().stop()
        if self._journal is not None:
            self._journal.close()
