"""The local stack's outbox: every SMS and email its SNS (moto, in this process) was asked to send.

Nothing leaves the machine locally, so this is where a developer reads the texts agents would get and opens
their reply links. moto keeps SMS in `sms_messages` and topic publishes in each topic's `sent_notifications`;
an email goes to each email subscription of the topic whose filter policy matches the message attributes, as
SNS would deliver it. moto records no time, so a watcher notes when each message first appeared.

Served by the gateway at GET /_local/outbox: a local-only admin route, not part of the template. With a state
folder, every entry is also appended to its file as it is noted, and read back at the next start: publishes
are not replayed, so the outbox is the record of what was sent."""

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.local.stack import ACCOUNT_ID, REGION
from infra.local.state import OUTBOX, entries

OUTBOX_PATH = "/_local/outbox"
EMAIL_PROTOCOLS = ("email", "email-json")


def _iso_now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _copy(items: Any) -> list[Any]:
    """A snapshot of a moto collection that its server thread may be changing."""
    for _ in range(5):
        try:
            return list(items)
        except RuntimeError:  # changed size during iteration: try again
            continue
    return []


class Outbox:
    def __init__(
        self,
        account_id: str = ACCOUNT_ID,
        region: str = REGION,
        interval: float = 1.0,
        state_dir: Path | None = None,
        inbound_topics: frozenset[str] = frozenset(),
    ) -> None:
        # Topics that carry messages to our functions (the agents' texts back), not to agents: not shown.
        self.inbound_topics = inbound_topics
        self._account_id = account_id
        self._region = region
        self._interval = interval
        self._lock = threading.Lock()
        self._path = state_dir / OUTBOX if state_dir else None
        self._entries: list[dict[str, Any]] = list(entries(self._path)) if self._path else []
        self._seen_sms: set[str] = set()
        self._seen_per_topic: dict[str, int] = {}
        self._seen_ses = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.observe()
            except Exception:  # noqa: S112 - moto mid-change; the next look sees it
                continue

    def _backend(self) -> Any:
        from moto.sns.models import sns_backends  # moto is a dev dependency: imported where it is used

        return sns_backends[self._account_id][self._region]

    def observe(self) -> None:
        """Note every message sent since the last look, with the time it was first seen."""
        backend = self._backend()
        with self._lock:
            known = len(self._entries)
            self._note(backend)
            if self._path is not None and len(self._entries) > known:
                with open(self._path, "a", encoding="utf-8") as journal:
                    journal.writelines(json.dumps(entry) + "\n" for entry in self._entries[known:])

    def _note(self, backend: Any) -> None:
        for message_id, (phone, body) in _copy(backend.sms_messages.items()):
            if message_id in self._seen_sms:
                continue
            self._seen_sms.add(message_id)
            self._entries.append(
                {
                    "id": message_id,
                    "channel": "sms",
                    "to": phone,
                    "subject": None,
                    "body": body,
                    "sent_at": _iso_now(),
                }
            )
        self._entries.extend(self._ses_emails())
        subscriptions = _copy(backend.subscriptions.values())
        for topic in _copy(backend.topics.values()):
            if topic.arn in self.inbound_topics:
                continue
            start = self._seen_per_topic.get(topic.arn, 0)
            sent = _copy(topic.sent_notifications[start:])
            self._seen_per_topic[topic.arn] = start + len(sent)
            for message_id, body, subject, attributes, _group in sent:
                self._entries.extend(
                    self._emails(topic.arn, message_id, body, subject, attributes, subscriptions)
                )

    def _ses_emails(self) -> list[dict[str, Any]]:
        """Emails sent through SES (notifications with a reply address, ReplyEmailDomain): raw MIME."""
        from email import message_from_string, policy

        from moto.ses.models import ses_backends

        sent = _copy(ses_backends[self._account_id][self._region].sent_messages[self._seen_ses :])
        self._seen_ses += len(sent)
        entries = []
        for message in sent:
            raw = getattr(message, "raw_data", None)
            if raw is None:
                continue
            parsed = message_from_string(raw, policy=policy.default)
            part = parsed.get_body(preferencelist=("plain",))
            entries.append(
                {
                    "id": message.id,
                    "channel": "email",
                    "to": str(parsed.get("To", "")) or ", ".join(message.destinations),
                    "subject": str(parsed.get("Subject", "")),
                    "body": str(part.get_content()) if part is not None else "",
                    "reply_to": str(parsed.get("Reply-To", "")) or None,
                    "sent_at": _iso_now(),
                }
            )
        return entries

    def _emails(
        self,
        topic_arn: str,
        message_id: str,
        body: str,
        subject: str | None,
        attributes: dict[str, Any] | None,
        subscriptions: list[Any],
    ) -> list[dict[str, Any]]:
        agent_id = ((attributes or {}).get("agent_id") or {}).get("Value")
        recipients = [
            subscription.endpoint
            for subscription in subscriptions
            if subscription.topic_arn == topic_arn
            and subscription.protocol in EMAIL_PROTOCOLS
            and (
                subscription._filter_policy_matcher is None
                or subscription._filter_policy_matcher.matches(attributes, body)
            )
        ]
        sent_at = _iso_now()
        return [
            {
                "id": f"{message_id}:{recipient}" if recipient else message_id,
                "channel": "email",
                "to": recipient,  # None: published, but no subscription takes it
                "subject": subject,
                "body": body,
                "agent_id": agent_id,
                "topic_arn": topic_arn,
                "sent_at": sent_at,
            }
            for recipient in (recipients or [None])
        ]

    def messages(self) -> list[dict[str, Any]]:
        """Everything sent so far, oldest first."""
        self.observe()
        with self._lock:
            return [dict(entry) for entry in self._entries]

    def http_response(self) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps({"messages": self.messages()}, ensure_ascii=False).encode("utf-8")
        return 200, {"content-type": "application/json; charset=utf-8"}, body
