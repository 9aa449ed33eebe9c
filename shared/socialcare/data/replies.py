"""The reply outbox: every answer an agent sends from the reply page, and where it is on its way out.
  reply         pk=REPLY#<mention id>  sk=REPLY#<reply id>

One partition per mention, so "what has been answered already?" is one Query. A reply is written `pending`
by the reply page; the reply sender moves it, with conditional writes only:

    pending --claim--> sending --mark_sent--> sent
       ^                  |  \\--mark_failed--> failed
       +-----release------+

`sending` is held under a lease (lease_owner, lease_until in epoch seconds): a sender that crashed while
posting leaves it behind, and once the lease has run out another delivery of the message may claim it again
(see socialcare.reply_sending for why and how the duplicate risk is handled)."""

import hashlib
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

from socialcare.data import is_condition_failure, plain, table
from socialcare.errors import StorageUnavailable
from socialcare.settings import get_settings


class ReplyState(StrEnum):
    PENDING = "pending"  # waiting for the reply sender (first time, or again after a temporary failure)
    SENDING = "sending"  # a sender holds the lease and is posting it
    SENT = "sent"
    FAILED = "failed"  # the platform refused it for good, or every retry was used up


# Replies that count as "this mention has been answered" when another agent opens or posts the page.
LIVE_STATES = (ReplyState.PENDING, ReplyState.SENDING, ReplyState.SENT)


class Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    mention_id: str
    reply_id: str
    platform: str
    text: str
    agent_email: str
    agent_name: str | None = None
    agent_phone: str | None = None  # E.164, for the text that says a reply could not be posted
    state: ReplyState = ReplyState.PENDING
    created_at: datetime
    attempts: int = 0  # post attempts started (claims)
    lease_owner: str | None = None
    lease_until: int | None = None  # epoch seconds
    attempt_started_at: datetime | None = None
    # The request of some earlier attempt went out and no answer came back (read timeout, or a sender that
    # died while posting): the platform may have posted it. Since when, to look for its echo.
    maybe_delivered_since: datetime | None = None
    last_error: str | None = None
    platform_reply_id: str | None = None
    sent_at: datetime | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    failed_at: datetime | None = None
    alert_leads: bool = False  # the failure needs a person to fix the configuration
    agent_notified_at: datetime | None = None  # the "could not be posted" text went out
    leads_alerted_at: datetime | None = None


def reply_id_for_link(token_hash: str) -> str:
    """The id of the one reply a reply link can send: derived from the link's stored hash, so a second submit
    of the same link (a double tap, a retry after a crash) finds the reply instead of making another."""
    return hashlib.sha256(f"socialcare-reply:{token_hash}".encode()).hexdigest()[:32]


def _key(mention_id: str, reply_id: str) -> dict[str, str]:
    return {"pk": f"REPLY#{mention_id}", "sk": f"REPLY#{reply_id}"}


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, StrEnum):
        return value.value
    return value


def reply_to_item(reply: Reply) -> dict[str, Any]:
    item = {k: _stored(v) for k, v in reply.model_dump().items() if v is not None}
    item.update(_key(reply.mention_id, reply.reply_id))
    item["entity"] = "reply"
    return item


def item_to_reply(item: dict[str, Any]) -> Reply:
    return Reply.model_validate(plain(item))


class ReplyStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    # ---- the reply page
    def create(self, reply: Reply) -> bool:
        """Store a new pending reply; False when a reply with this id exists already."""
        try:
            self._table.put_item(Item=reply_to_item(reply), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    def get(self, mention_id: str, reply_id: str) -> Reply | None:
        try:
            item = self._table.get_item(Key=_key(mention_id, reply_id), ConsistentRead=True).get("Item")
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error
        return item_to_reply(item) if item else None

    def for_mention(self, mention_id: str) -> list[Reply]:
        """Every reply to the mention, oldest first."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": f"REPLY#{mention_id}", ":prefix": "REPLY#"},
            "ConsistentRead": True,
        }
        replies: list[Reply] = []
        try:
            while True:
                page = self._table.query(**query)
                replies.extend(item_to_reply(item) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error
        return sorted(replies, key=lambda reply: (reply.created_at, reply.reply_id))

    # ---- the reply sender
    def claim(self, reply: Reply, owner: str, now: datetime, lease: timedelta) -> tuple[Reply, Reply] | None:
        """pending -> sending, or take over a `sending` whose lease ran out. Returns (before, after), or None
        when the reply is not claimable (sent, failed, or a live lease held by someone else)."""
        epoch = int(now.timestamp())
        try:
            answer = self._table.update_item(
                Key=_key(reply.mention_id, reply.reply_id),
                UpdateExpression=(
                    "SET #state = :sending, lease_owner = :owner, lease_until = :until, "
                    "attempt_started_at = :now, attempts = if_not_exists(attempts, :zero) + :one"
                ),
                ConditionExpression=(
                    "attribute_exists(pk) AND "
                    "(#state = :pending OR (#state = :sending AND lease_until < :epoch))"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":sending": ReplyState.SENDING.value,
                    ":pending": ReplyState.PENDING.value,
                    ":owner": owner,
                    ":until": int((now + lease).timestamp()),
                    ":now": _stored(now),
                    ":epoch": epoch,
                    ":zero": 0,
                    ":one": 1,
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return None
            raise StorageUnavailable(str(error)) from error
        before = item_to_reply(answer["Attributes"])
        after = before.model_copy(
            update={
                "state": ReplyState.SENDING,
                "lease_owner": owner,
                "lease_until": int((now + lease).timestamp()),
                "attempt_started_at": now,
                "attempts": before.attempts + 1,
            }
        )
        return before, after

    def release(
        self, reply: Reply, owner: str, *, error: str, maybe_delivered_since: datetime | None
    ) -> bool:
        """sending -> pending after a temporary failure, for the next delivery of the message."""
        fields: dict[str, Any] = {"state": ReplyState.PENDING, "last_error": error}
        if maybe_delivered_since is not None:
            fields["maybe_delivered_since"] = maybe_delivered_since
        return self._finish(reply, owner, fields)

    def mark_sent(self, reply: Reply, owner: str, platform_reply_id: str, now: datetime) -> bool:
        fields = {"state": ReplyState.SENT, "platform_reply_id": platform_reply_id, "sent_at": now}
        return self._finish(reply, owner, fields)

    def mark_failed(
        self, reply: Reply, owner: str, code: str, reason: str, now: datetime, *, alert_leads: bool = False
    ) -> bool:
        fields = {
            "state": ReplyState.FAILED,
            "failure_code": code,
            "failure_reason": reason,
            "failed_at": now,
            "alert_leads": alert_leads,
        }
        return self._finish(reply, owner, fields)

    def _finish(self, reply: Reply, owner: str, fields: dict[str, Any]) -> bool:
        """Leave `sending`, only while this sender still holds the lease. False when it lost it."""
        names = {"#state": "state"}
        values: dict[str, Any] = {":sending": ReplyState.SENDING.value, ":owner": owner}
        assignments = []
        for index, (field, value) in enumerate(fields.items()):
            names[f"#f{index}"] = field
            values[f":f{index}"] = _stored(value)
            assignments.append(f"#f{index} = :f{index}")
        try:
            self._table.update_item(
                Key=_key(reply.mention_id, reply.reply_id),
                UpdateExpression="SET " + ", ".join(assignments) + " REMOVE lease_owner, lease_until",
                ConditionExpression="#state = :sending AND lease_owner = :owner",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    def note(self, reply: Reply, field: str, now: datetime) -> None:
        """Record when a follow-up of a failure happened (agent_notified_at, leads_alerted_at)."""
        if field not in ("agent_notified_at", "leads_alerted_at"):
            raise ValueError(f"not a follow-up field: {field}")
        try:
            self._table.update_item(
                Key=_key(reply.mention_id, reply.reply_id),
                UpdateExpression="SET #field = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#field": field},
                ExpressionAttributeValues={":now": _stored(now)},
            )
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error


@lru_cache(maxsize=1)
def get_reply_store() -> ReplyStore:
    return ReplyStore(table(get_settings().table_name))
