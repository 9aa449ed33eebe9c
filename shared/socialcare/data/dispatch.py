"""What dispatch and escalation remember besides the mentions themselves:
  round robin cursor  pk=DISPATCH            sk=ROUND_ROBIN      last agent a round robin pick went to
  conversation        pk=CONV#<conv id>      sk=CONV             its agent (sticky) and mentions dispatched
  open assignment     pk=OPEN#<email>        sk=MENTION#<id>     a mention assigned to the agent (TTL)
  notice              pk=NOTICE#<mention id> sk=LEVEL#<level>    who is told about a mention at one level;
                      gsi1: UNDELIVERED / <created_at>#<id>#<level> until every text and email went out

Notices make "tell these agents" durable: the recipients are written once (the first writer wins, so two
overlapping runs tell the same people), the mention's transition records them, and a notice whose delivery
failed stays on the UNDELIVERED index until a later run delivers it."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data import is_condition_failure, plain, table
from socialcare.errors import StorageUnavailable
from socialcare.settings import get_settings

UNDELIVERED_INDEX_KEY = "UNDELIVERED"
CURSOR_KEY = {"pk": "DISPATCH", "sk": "ROUND_ROBIN"}
OPEN_ASSIGNMENT_TTL = timedelta(days=30)  # an assignment nobody closed stops counting after this
NOTICE_TTL = timedelta(days=90)
CONVERSATION_TTL = timedelta(days=180)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


@dataclass(frozen=True)
class Notice:
    mention_id: str
    level: int
    recipients: list[str]  # agent emails
    reason: str
    created_at: datetime
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    agent_email: str | None  # where follow-ups go (sticky)
    mention_ids: list[str]  # the customer mentions dispatched in it, in dispatch order


def _conversation_key(conversation_id: str) -> dict[str, str]:
    return {"pk": f"CONV#{conversation_id}", "sk": "CONV"}


def _notice_key(mention_id: str, level: int) -> dict[str, str]:
    return {"pk": f"NOTICE#{mention_id}", "sk": f"LEVEL#{level}"}


def _item_to_notice(item: dict[str, Any]) -> Notice:
    data = plain(item)
    delivered_at = data.get("delivered_at")
    return Notice(
        mention_id=data["mention_id"],
        level=int(data["level"]),
        recipients=list(data.get("recipients") or []),
        reason=data.get("reason", ""),
        created_at=datetime.fromisoformat(data["created_at"]),
        delivered_at=datetime.fromisoformat(delivered_at) if delivered_at else None,
    )


class DispatchStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def _call(self, operation: str, **arguments: Any) -> Any:
        try:
            return getattr(self._table, operation)(**arguments)
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error

    # ---------------------------------------------------------------- round robin
    def last_assigned(self) -> str | None:
        item = self._call("get_item", Key=CURSOR_KEY, ConsistentRead=True).get("Item")
        return str(item["last_email"]) if item and item.get("last_email") else None

    def set_last_assigned(self, email: str, now: datetime) -> None:
        self._call(
            "put_item", Item={**CURSOR_KEY, "entity": "cursor", "last_email": email, "updated_at": _iso(now)}
        )

    # ---------------------------------------------------------------- conversations
    def conversation(self, conversation_id: str) -> Conversation | None:
        """The conversation's agent (sticky) and the mentions dispatched in it, in dispatch order."""
        item = self._call("get_item", Key=_conversation_key(conversation_id), ConsistentRead=True).get("Item")
        if not item:
            return None
        return Conversation(
            conversation_id,
            str(item["agent_email"]) if item.get("agent_email") else None,
            [str(i) for i in item.get("mention_ids") or []],
        )

    def conversation_agent(self, conversation_id: str) -> str | None:
        """The agent a conversation's follow-ups go to (sticky), if any."""
        conversation = self.conversation(conversation_id)
        return conversation.agent_email if conversation else None

    def record_in_conversation(
        self, conversation_id: str, mention_id: str, agent_email: str | None, now: datetime
    ) -> None:
        """Add the mention to the conversation's list (once) and, when given, make agent_email its agent."""
        key = _conversation_key(conversation_id)
        sets = ["entity = :entity", "updated_at = :now", "expires_at = :ttl"]
        values: dict[str, Any] = {
            ":entity": "conversation",
            ":now": _iso(now),
            ":ttl": _epoch(now + CONVERSATION_TTL),
        }
        if agent_email:
            sets.append("agent_email = :agent")
            values[":agent"] = agent_email
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression="SET "
                + ", ".join([*sets, "mention_ids = list_append(if_not_exists(mention_ids, :none), :id)"]),
                ConditionExpression="attribute_not_exists(mention_ids) OR NOT contains(mention_ids, :mid)",
                ExpressionAttributeValues={**values, ":none": [], ":id": [mention_id], ":mid": mention_id},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise StorageUnavailable(str(error)) from error
            # Already listed (a retry): still take the agent and the time.
            self._call(
                "update_item",
                Key=key,
                UpdateExpression="SET " + ", ".join(sets),
                ExpressionAttributeValues=values,
            )

    # ---------------------------------------------------------------- open assignments
    def add_open(self, email: str, mention_id: str, now: datetime) -> None:
        self._call(
            "put_item",
            Item={
                "pk": f"OPEN#{email}",
                "sk": f"MENTION#{mention_id}",
                "entity": "open_assignment",
                "mention_id": mention_id,
                "assigned_at": _iso(now),
                "expires_at": _epoch(now + OPEN_ASSIGNMENT_TTL),
            },
        )

    def open_mention_ids(self, email: str) -> list[str]:
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": f"OPEN#{email}", ":prefix": "MENTION#"},
            "ProjectionExpression": "mention_id",
        }
        found: list[str] = []
        while True:
            page = self._call("query", **query)
            found.extend(str(item["mention_id"]) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def close_open(self, email: str, mention_id: str) -> None:
        self._call("delete_item", Key={"pk": f"OPEN#{email}", "sk": f"MENTION#{mention_id}"})

    # ---------------------------------------------------------------- notices
    def create_notice(
        self, mention_id: str, level: int, recipients: list[str], reason: str, now: datetime
    ) -> Notice:
        """Write who is told about the mention at this level, unless a notice for that level exists: then
        the stored one is returned, so every run tells the same people."""
        item = {
            **_notice_key(mention_id, level),
            "entity": "notice",
            "mention_id": mention_id,
            "level": level,
            "recipients": recipients,
            "reason": reason,
            "created_at": _iso(now),
            "gsi1pk": UNDELIVERED_INDEX_KEY,
            "gsi1sk": f"{_iso(now)}#{mention_id}#{level}",
            "expires_at": _epoch(now + NOTICE_TTL),
        }
        try:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if not is_condition_failure(error):
                raise StorageUnavailable(str(error)) from error
            existing = self.notice(mention_id, level)
            if existing is None:  # deleted in between: cannot happen with TTLs of months
                raise StorageUnavailable(f"notice {mention_id} level {level} vanished") from error
            return existing
        return _item_to_notice(item)

    def notice(self, mention_id: str, level: int) -> Notice | None:
        item = self._call("get_item", Key=_notice_key(mention_id, level), ConsistentRead=True).get("Item")
        return _item_to_notice(item) if item else None

    def mark_delivered(self, mention_id: str, level: int, now: datetime) -> None:
        self._call(
            "update_item",
            Key=_notice_key(mention_id, level),
            UpdateExpression="SET delivered_at = :now REMOVE gsi1pk, gsi1sk",
            ExpressionAttributeValues={":now": _iso(now)},
        )

    def abandon(self, mention_id: str, level: int, why: str, now: datetime) -> None:
        """Stop retrying a notice (its mention no longer needs it, or it is too old to matter)."""
        self._call(
            "update_item",
            Key=_notice_key(mention_id, level),
            UpdateExpression="SET abandoned_at = :now, abandoned_because = :why REMOVE gsi1pk, gsi1sk",
            ExpressionAttributeValues={":now": _iso(now), ":why": why},
        )

    def undelivered(self, created_before: datetime, limit: int = 100) -> list[Notice]:
        """Notices still waiting to be delivered, created before the given time, oldest first."""
        query: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :undelivered AND gsi1sk < :before",
            "ExpressionAttributeValues": {
                ":undelivered": UNDELIVERED_INDEX_KEY,
                ":before": _iso(created_before),
            },
        }
        notices: list[Notice] = []
        while len(notices) < limit:
            page = self._call("query", **query)
            notices.extend(_item_to_notice(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return notices[:limit]


@lru_cache(maxsize=1)
def get_dispatch_store() -> DispatchStore:
    return DispatchStore(table(get_settings().table_name))
