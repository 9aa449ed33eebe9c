"""What the local stack remembers across restarts: a journal of every request that changed moto, replayed
into a fresh moto at start, plus the pollers' stream positions and the outbox.

Why a journal of requests and not a snapshot of moto's objects: moto's backends hold locks and conditions
that do not pickle, and a snapshot taken only on a clean stop loses everything on kill -9. A request is
appended (one write, flushed, inside the lock that makes moto answer one request at a time) before its
answer leaves moto, so whatever a client saw acknowledged (a webhook's 200, the page's "sent", a CLI success)
is on disk when the process dies, in the order moto applied it. Replaying the same requests in the same
order rebuilds the same tables, so the table stream gets the same sequence numbers and the pollers resume
after the last record they handled.

Some requests need care: reads are not written at all, nor the configuration secret (seeded from
SOCIALCARE_CONFIG at every start, so its values never land on disk here); a queue message that was received
and deleted is not sent again (its receipt handles cannot be replayed); SNS publishes are not replayed (the
outbox keeps what was sent in its own file, and nothing is sent twice); a subscription keeps its ARN, which
the agent's record refers to."""

import base64
import contextlib
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from infra.local.template import REPO_ROOT

DEFAULT_STATE_DIR = REPO_ROOT / ".local" / "state"
JOURNAL = "journal.jsonl"
STREAM_POSITIONS = "stream-positions.json"
OUTBOX = "outbox.jsonl"
READ_PREFIXES = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "Receive", "ChangeMessageVisibility")
NOT_REPLAYED = ("Publish", "PublishBatch")


def state_dir() -> Path:
    return Path(os.environ.get("LOCAL_STATE_DIR") or DEFAULT_STATE_DIR)


def reset(directory: Path) -> bool:
    """Forget everything; True when there was something to forget."""
    if not directory.exists():
        return False
    shutil.rmtree(directory)
    return True


def action_of(headers: dict[str, str], body: bytes) -> str:
    """The AWS action of a request: X-Amz-Target for JSON protocols, Action= for query protocols."""
    target = headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    found = re.search(rb"(?:^|&)Action=([A-Za-z]+)", body)
    return found.group(1).decode() if found else ""


CREDENTIAL_SERVICE = re.compile(r"Credential=[^/,]*/[^/,]*/[^/,]*/([^/,]+)/aws4_request")


def service_of(headers: dict[str, str]) -> str:
    """The AWS service a request is signed for, from its SigV4 credential scope
    (`Credential=<key>/<date>/<region>/<service>/aws4_request`); "" for an unsigned one."""
    found = CREDENTIAL_SERVICE.search(headers.get("authorization", ""))
    return found.group(1) if found else ""


def changes_state(action: str) -> bool:
    return bool(action) and not action.startswith(READ_PREFIXES)


class Journal:
    """Append-only: one JSON line per request that changed moto, flushed before moto answers."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / JOURNAL
        # Only this user reads it: it holds agents' phone numbers and customers' words.
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = open(descriptor, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()  # in the OS's hands: survives the process being killed

    def close(self) -> None:
        with self._lock:
            self._file.close()


def entries(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            try:
                yield json.loads(line)
            except ValueError:
                return  # a line cut short by a kill: nothing after it was acknowledged


def journal_entry(
    method: str, target: str, headers: dict[str, str], body: bytes, action: str, answer: bytes
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "method": method,
        "target": target,
        "headers": headers,
        "body": base64.b64encode(body).decode(),
        "action": action,
    }
    if action in ("SendMessage", "SendMessageBatch", "Subscribe"):
        entry["answer"] = answer.decode("utf-8", "replace")
    return entry


def receipts_entry(answer: bytes) -> dict[str, Any] | None:
    """A ReceiveMessage is not replayed, but which message each receipt handle names is kept for deletes."""
    with contextlib.suppress(ValueError):
        messages = json.loads(answer).get("Messages") or []
        if messages:
            return {"action": "Receipts", "receipts": {m["ReceiptHandle"]: m["MessageId"] for m in messages}}
    return None


def _sent_ids(entry: dict[str, Any]) -> list[str]:
    with contextlib.suppress(ValueError, AttributeError):
        answer = json.loads(entry.get("answer") or "{}")
        if entry["action"] == "SendMessage":
            return [answer["MessageId"]]
        return [item["MessageId"] for item in answer.get("Successful", [])]
    return []


def _deleted_handles(entry: dict[str, Any]) -> list[str]:
    request = json.loads(base64.b64decode(entry["body"]) or b"{}")
    if entry["action"] == "DeleteMessage":
        return [request["ReceiptHandle"]]
    return [item["ReceiptHandle"] for item in request.get("Entries", [])]


def replay_plan(journal: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The requests to replay, in order, and how many queue messages were already handled."""
    journal = list(journal)
    message_of: dict[str, str] = {}
    for entry in journal:
        if entry["action"] == "Receipts":
            message_of.update(entry["receipts"])
    deleted = {
        message_of[handle]
        for entry in journal
        if entry["action"] in ("DeleteMessage", "DeleteMessageBatch")
        for handle in _deleted_handles(entry)
        if handle in message_of
    }
    plan: list[dict[str, Any]] = []
    for entry in journal:
        action = entry["action"]
        if action in ("Receipts", "DeleteMessage", "DeleteMessageBatch") or action in NOT_REPLAYED:
            continue
        if action == "SendMessage" and set(_sent_ids(entry)) & deleted:
            continue
        if action == "SendMessageBatch":
            remaining = _without_handled(entry, deleted)
            if remaining is not None:
                plan.append(remaining)
            continue
        plan.append(entry)
    return plan, len(deleted)


def _without_handled(entry: dict[str, Any], deleted: set[str]) -> dict[str, Any] | None:
    answer = json.loads(entry.get("answer") or "{}")
    handled = {item["Id"] for item in answer.get("Successful", []) if item["MessageId"] in deleted}
    request = json.loads(base64.b64decode(entry["body"]))
    request["Entries"] = [item for item in request.get("Entries", []) if item["Id"] not in handled]
    if not request["Entries"]:
        return None
    return {**entry, "body": base64.b64encode(json.dumps(request).encode()).decode()}


def replay(directory: Path, app: Callable[..., Any]) -> dict[str, int]:
    """Feed the journal's requests to a fresh moto application; counts of what came back."""
    from werkzeug.test import Client

    plan, handled_messages = replay_plan(entries(directory / JOURNAL))
    client = Client(app)
    failed = 0
    for entry in plan:
        headers = {k: v for k, v in entry["headers"].items() if k.lower() != "content-length"}
        response = client.open(
            entry["target"], method=entry["method"], headers=headers, data=base64.b64decode(entry["body"])
        )
        if response.status_code >= 300:
            failed += 1
        elif entry["action"] == "Subscribe":
            _keep_subscription_arn(entry["answer"], response.get_data(as_text=True))
    return {"requests": len(plan), "failed": failed, "handled_messages": handled_messages}


def _keep_subscription_arn(recorded: str, replayed: str) -> None:
    """An agent's record names its email subscription: the replayed one takes the recorded ARN."""
    pattern = re.compile(r"<SubscriptionArn>(.*?)</SubscriptionArn>")
    old, new = pattern.search(recorded), pattern.search(replayed)
    if not (old and new) or old.group(1) == new.group(1):
        return
    from moto.sns.models import sns_backends

    for account in sns_backends.values():
        for backend in account.values():
            subscription = backend.subscriptions.pop(new.group(1), None)
            if subscription is not None:
                subscription.arn = old.group(1)
                backend.subscriptions[old.group(1)] = subscription


class StreamPositions:
    """The last stream sequence number each poller handled, written after every batch (atomically)."""

    def __init__(self, directory: Path | None) -> None:
        self._path = directory / STREAM_POSITIONS if directory else None
        self._lock = threading.Lock()
        self._positions: dict[str, str] = {}
        if self._path and self._path.exists():
            with contextlib.suppress(ValueError):
                self._positions = dict(json.loads(self._path.read_text()))

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._positions.get(key)

    def set(self, key: str, sequence_number: str) -> None:
        with self._lock:
            self._positions[key] = sequence_number
            if self._path is None:
                return
            temporary = self._path.with_suffix(".tmp")
            temporary.write_text(json.dumps(self._positions))
            os.replace(temporary, self._path)
