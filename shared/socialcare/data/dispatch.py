"""What dispatch and escalation remember besides the mentions themselves:
  round robin cursor  pk=DISPATCH            sk=ROUND_ROBIN      last agent a round robin pick went to;
                      gsi1: AGENTS / ~ROUND_ROBIN
  conversation        pk=CONV#<conv id>      sk=CONV             its agent (sticky) and mentions dispatched
  open count          pk=OPEN#<email>        sk=COUNT            how many open assignments the agent has;
                      gsi1: AGENTS / <email>#OPEN
  open assignment     pk=OPEN#<email>        sk=MENTION#<id>     a mention assigned to the agent (TTL)
  notice              pk=NOTICE#<mention id> sk=LEVEL#<level>    who is told about a mention at one level;
                      gsi1: UNDELIVERED / <created_at>#<id>#<level> until every notification went out

The cursor and the open counts share the agents' gsi1 partition (socialcare.data.agents), so routing reads
agents, cursor and capacity in one Query (`roster`) whose size does not grow with the backlog: the open
assignments themselves are not in it. A count changes in the same transaction as its open assignment items
(`assign` adds one per recipient, `close_open` takes one off with the item it deletes), so it is never below
the number of items; it is above it by the items DynamoDB's TTL removed (30 days after their assignment, as
before), which only means routing reads that agent's items (`open_ids`) to decide, as it does for an agent
at capacity anyway. So an assignment stops counting after 30 days, as it always did.

That index is eventually consistent: what a decision read from it is checked again, atomically, by the
assignment's transaction (`assign`): the mention must still have the status it was read with, the
conversation the agent it was read with, the cursor the email it was read with. A stale read costs a retry
with consistent reads, never a wrong assignment.

Notices make "tell these agents" durable. A dispatch writes its notice in the same transaction as the
assignment, already claimed by the run that wrote it; every later delivery attempt (a redelivered stream
record, the escalation sweep) claims it first (`claim`), so two runs never send at once. What went out to a
recipient (their text and email) is recorded (`record_sent`, one write) right after SNS accepted it, so a
retry sends only what is missing; the last one marks the notice delivered and takes it off the UNDELIVERED
index."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data import is_condition_failure, plain, table
from socialcare.data.agents import AGENTS_INDEX_KEY, AgentRecord, item_to_record
from socialcare.data.mentions import CONVERSATION_INDEX_PREFIX, MENTION_SK
from socialcare.errors import StorageUnavailable
from socialcare.settings import Table, load
from socialcare.singletons import one_per_process

UNDELIVERED_INDEX_KEY = "UNDELIVERED"
CURSOR_KEY = {"pk": "DISPATCH", "sk": "ROUND_ROBIN"}
CURSOR_INDEX_SK = "~ROUND_ROBIN"
OPEN_COUNT_SK = "COUNT"
OPEN_ASSIGNMENT_SK_PREFIX = "MENTION#"
OPEN_ASSIGNMENT_TTL = timedelta(days=30)  # an assignment nobody closed stops counting after this
NOTICE_TTL = timedelta(days=90)
CONVERSATION_TTL = timedelta(days=180)
CONVERSATION_READ_LIMIT = 1000  # as MentionStore.conversation
# The attribute of a mention item naming the agent its assignment made the conversation's agent (sticky).
CONVERSATION_AGENT_FIELD = "conversation_agent"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _stored(value: Any) -> Any:
    """As MentionStore.transition stores values: datetimes as ISO strings in UTC, enums as their values."""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_stored(v) for v in value]
    return value


@dataclass(frozen=True)
class Notice:
    mention_id: str
    level: int
    recipients: list[str]  # agent emails
    reason: str
    created_at: datetime
    delivered_at: datetime | None = None
    sent: frozenset[str] = frozenset()  # notifications that went out (Dispatcher.deliver names them)


@dataclass(frozen=True)
class Conversation:
    conversation_id: str
    agent_email: str | None  # where follow-ups go (sticky)
    mention_ids: list[str]  # the customer mentions dispatched in it, in dispatch order


@dataclass(frozen=True)
class Roster:
    """Everything routing reads, from one Query of the gsi1 AGENTS partition (eventually consistent)."""

    agents: list[AgentRecord]  # by email
    last_assigned: str | None  # the round robin cursor
    open_counts: dict[str, int]  # email -> assignments to them not closed yet (at least; see open_ids)


@dataclass
class AssignmentWrite:
    """One assignment, written by `DispatchStore.assign` in a single transaction."""

    mention_id: str
    expected: dict[str, Any]  # the mention's fields as the decision read them (status, and text when unsure)
    set_fields: dict[str, Any]
    remove_fields: tuple[str, ...]
    notice: Notice
    claim_id: str
    claimed_until: datetime
    recipients: list[str]
    conversation_id: str | None = None
    conversation_agent_seen: str | None = None  # the sticky agent the decision read
    conversation_agent: str | None = None  # the conversation's agent from now on, when it changes
    cursor_seen: str | None = None
    cursor: str | None = None  # the round robin cursor from now on, when it moves
    reply_links: list[dict[str, Any]] = field(default_factory=list)  # socialcare.data.tokens items


class AssignmentConflict(Exception):
    """The transaction was refused because something the decision read has changed since; `parts` says what
    ("mention", "conversation", "cursor", "reply_link")."""

    def __init__(self, parts: set[str]) -> None:
        super().__init__(", ".join(sorted(parts)) or "unknown")
        self.parts = parts


def _conversation_key(conversation_id: str) -> dict[str, str]:
    return {"pk": f"CONV#{conversation_id}", "sk": "CONV"}


def _notice_key(mention_id: str, level: int) -> dict[str, str]:
    return {"pk": f"NOTICE#{mention_id}", "sk": f"LEVEL#{level}"}


def _open_key(email: str, mention_id: str) -> dict[str, str]:
    return {"pk": f"OPEN#{email}", "sk": f"{OPEN_ASSIGNMENT_SK_PREFIX}{mention_id}"}


def _open_count_key(email: str) -> dict[str, str]:
    return {"pk": f"OPEN#{email}", "sk": OPEN_COUNT_SK}


def _mention_key(mention_id: str) -> dict[str, str]:
    return {"pk": f"MENTION#{mention_id}", "sk": MENTION_SK}  # socialcare.data.mentions' layout


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
        sent=frozenset(data.get("sent") or ()),
    )


def _notice_item(notice: Notice) -> dict[str, Any]:
    now = notice.created_at
    return {
        **_notice_key(notice.mention_id, notice.level),
        "entity": "notice",
        "mention_id": notice.mention_id,
        "level": notice.level,
        "recipients": notice.recipients,
        "reason": notice.reason,
        "created_at": _iso(now),
        "gsi1pk": UNDELIVERED_INDEX_KEY,
        "gsi1sk": f"{_iso(now)}#{notice.mention_id}#{notice.level}",
        "expires_at": _epoch(now + NOTICE_TTL),
    }


def open_assignment_item(email: str, mention_id: str, now: datetime) -> dict[str, Any]:
    return {
        **_open_key(email, mention_id),
        "entity": "open_assignment",
        "email": email,
        "mention_id": mention_id,
        "assigned_at": _iso(now),
        "expires_at": _epoch(now + OPEN_ASSIGNMENT_TTL),
    }


def conversation_agent_of(items: Sequence[dict[str, Any]], leave_out: str) -> str | None:
    """The conversation's agent as its mention items say: the one the latest dispatch that set it named (an
    index read, so possibly stale; the assignment's transaction checks it against the conversation item)."""
    latest: tuple[str, str] | None = None
    for item in items:
        agent, notified_at = item.get(CONVERSATION_AGENT_FIELD), str(item.get("notified_at") or "")
        if (
            agent
            and item.get("pk") != f"MENTION#{leave_out}"
            and (latest is None or notified_at >= latest[0])
        ):
            latest = (notified_at, str(agent))
    return latest[1] if latest else None


class DispatchStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def _call(self, operation: str, **arguments: Any) -> Any:
        try:
            return getattr(self._table, operation)(**arguments)
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error

    def _query_all(self, query: dict[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while limit is None or len(items) < limit:
            page = self._call("query", **query)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items if limit is None else items[:limit]

    # ---------------------------------------------------------------- what routing reads
    def roster(self) -> Roster:
        """Agents, the round robin cursor and the open counts: one Query (more only past 1 MB)."""
        items = self._query_all(
            {
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :agents",
                "ExpressionAttributeValues": {":agents": AGENTS_INDEX_KEY},
            }
        )
        agents: list[AgentRecord] = []
        last_assigned: str | None = None
        open_counts: dict[str, int] = {}
        for item in items:
            entity = item.get("entity")
            if entity == "agent":
                agents.append(item_to_record(item))
            elif entity == "cursor" and item.get("last_email"):
                last_assigned = str(item["last_email"])
            elif entity == "open_count" and item.get("email"):
                open_counts[str(item["email"])] = max(0, int(item.get("open_count") or 0))
        return Roster(sorted(agents, key=lambda r: r.email), last_assigned, open_counts)

    def open_ids(self, email: str) -> list[str]:
        """The ids of the mentions whose assignment to the agent is not closed (a consistent read)."""
        items = self._query_all(
            {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
                "ExpressionAttributeValues": {":pk": f"OPEN#{email}", ":prefix": OPEN_ASSIGNMENT_SK_PREFIX},
                "ProjectionExpression": "mention_id",
                "ConsistentRead": True,
            }
        )
        return [str(item["mention_id"]) for item in items if item.get("mention_id")]

    def conversation_items(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's mention items (gsi3, as MentionStore.conversation reads them), raw: the
        dispatcher needs the email's history and the conversation_agent attribute from one Query."""
        return self._query_all(
            {
                "IndexName": "gsi3",
                "KeyConditionExpression": "gsi3pk = :conversation",
                "ExpressionAttributeValues": {":conversation": CONVERSATION_INDEX_PREFIX + conversation_id},
                "ScanIndexForward": True,
            },
            limit=CONVERSATION_READ_LIMIT,
        )

    # ---------------------------------------------------------------- consistent re-reads after a conflict
    def last_assigned(self) -> str | None:
        item = self._call("get_item", Key=CURSOR_KEY, ConsistentRead=True).get("Item")
        return str(item["last_email"]) if item and item.get("last_email") else None

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

    # ---------------------------------------------------------------- the assignment
    def assign(self, write: AssignmentWrite, now: datetime) -> None:
        """Record an assignment in one transaction: the mention's transition (only if it still has the
        expected fields), its notice (claimed by this run), the conversation's agent and mention list (only if
        its agent is still the one read), the round robin cursor (only if it is still the one read), an open
        assignment per recipient with one more on their open count, and their reply links. Raises
        AssignmentConflict naming what changed."""
        parts: list[str] = []
        actions: list[dict[str, Any]] = []
        name = self._table.name

        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets, removes, conditions = [], [], ["attribute_exists(pk)"]
        for index, (key, value) in enumerate(write.set_fields.items()):
            names[f"#s{index}"] = key
            values[f":s{index}"] = _stored(value)
            sets.append(f"#s{index} = :s{index}")
        for index, key in enumerate(write.remove_fields):
            names[f"#r{index}"] = key
            removes.append(f"#r{index}")
        for index, (key, value) in enumerate(write.expected.items()):
            names[f"#e{index}"] = key
            values[f":e{index}"] = _stored(value)
            conditions.append(f"#e{index} = :e{index}")
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        parts.append("mention")
        actions.append(
            {
                "Update": {
                    "TableName": name,
                    "Key": _mention_key(write.mention_id),
                    "UpdateExpression": update,
                    "ConditionExpression": " AND ".join(conditions),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        )

        # No condition on the notice: the mention's condition already guarantees that no run recorded this
        # assignment, so no notice of it was ever delivered.
        notice = {
            **_notice_item(write.notice),
            "claim_id": write.claim_id,
            "claimed_until": _millis(write.claimed_until),
        }
        parts.append("notice")
        actions.append({"Put": {"TableName": name, "Item": notice}})

        if write.conversation_id:
            sets = ["entity = :entity", "updated_at = :now", "expires_at = :ttl"]
            sets.append("mention_ids = list_append(if_not_exists(mention_ids, :none), :id)")
            conversation_values: dict[str, Any] = {
                ":entity": "conversation",
                ":now": _iso(now),
                ":ttl": _epoch(now + CONVERSATION_TTL),
                ":none": [],
                ":id": [write.mention_id],
            }
            if write.conversation_agent:
                sets.append("agent_email = :agent")
                conversation_values[":agent"] = write.conversation_agent
            if write.conversation_agent_seen:
                condition = "agent_email = :seen"
                conversation_values[":seen"] = write.conversation_agent_seen
            else:
                condition = "attribute_not_exists(agent_email)"
            parts.append("conversation")
            actions.append(
                {
                    "Update": {
                        "TableName": name,
                        "Key": _conversation_key(write.conversation_id),
                        "UpdateExpression": "SET " + ", ".join(sets),
                        "ConditionExpression": condition,
                        "ExpressionAttributeValues": conversation_values,
                    }
                }
            )

        if write.cursor:
            cursor_values: dict[str, Any] = {
                ":entity": "cursor",
                ":email": write.cursor,
                ":now": _iso(now),
                ":index": AGENTS_INDEX_KEY,
                ":sk": CURSOR_INDEX_SK,
            }
            if write.cursor_seen:
                condition = "last_email = :seen"
                cursor_values[":seen"] = write.cursor_seen
            else:
                condition = "attribute_not_exists(last_email)"
            parts.append("cursor")
            actions.append(
                {
                    "Update": {
                        "TableName": name,
                        "Key": CURSOR_KEY,
                        "UpdateExpression": (
                            "SET entity = :entity, last_email = :email, updated_at = :now, "
                            "gsi1pk = :index, gsi1sk = :sk"
                        ),
                        "ConditionExpression": condition,
                        "ExpressionAttributeValues": cursor_values,
                    }
                }
            )

        for email in write.recipients:
            parts.append("open_assignment")
            actions.append(
                {"Put": {"TableName": name, "Item": open_assignment_item(email, write.mention_id, now)}}
            )
            parts.append("open_count")
            actions.append(
                {
                    "Update": {
                        "TableName": name,
                        "Key": _open_count_key(email),
                        "UpdateExpression": (
                            "SET entity = :entity, email = :email, gsi1pk = :index, gsi1sk = :sk "
                            "ADD open_count :one"
                        ),
                        "ExpressionAttributeValues": {
                            ":entity": "open_count",
                            ":email": email,
                            ":index": AGENTS_INDEX_KEY,
                            ":sk": f"{email}#OPEN",
                            ":one": 1,
                        },
                    }
                }
            )
        for link in write.reply_links:
            parts.append("reply_link")
            actions.append(
                {
                    "Put": {
                        "TableName": name,
                        "Item": link,
                        # 256 random bits never collide; the condition makes a collision an error.
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )

        try:
            self._table.meta.client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise StorageUnavailable(str(error)) from error
            reasons = error.response.get("CancellationReasons") or []
            failed = {
                part
                for part, reason in zip(parts, reasons, strict=False)
                if reason.get("Code") == "ConditionalCheckFailed"
            }
            if not failed:  # a conflicting transaction, throttling: nothing we read was wrong
                raise StorageUnavailable(str(error)) from error
            raise AssignmentConflict(failed) from error

    # ---------------------------------------------------------------- open assignments
    def close_open(self, email: str, mention_id: str) -> None:
        """Delete the open assignment and take it off the agent's count, together; only if it was still
        there (two runs closing it take one off), and never below 0."""
        name = self._table.name
        try:
            self._table.meta.client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": name,
                            "Key": _open_key(email, mention_id),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": name,
                            "Key": _open_count_key(email),
                            "UpdateExpression": "ADD open_count :minus",
                            "ConditionExpression": "open_count > :zero",
                            "ExpressionAttributeValues": {":minus": -1, ":zero": 0},
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise StorageUnavailable(str(error)) from error
            reasons = error.response.get("CancellationReasons") or []
            codes = [reason.get("Code") for reason in reasons]
            if codes[:1] == ["ConditionalCheckFailed"]:
                return  # closed by another run already
            if codes[1:2] == ["ConditionalCheckFailed"]:  # the count is 0 already: just the item
                self._call("delete_item", Key=_open_key(email, mention_id))
                return
            raise StorageUnavailable(str(error)) from error

    # ---------------------------------------------------------------- notices
    def create_notice(
        self, mention_id: str, level: int, recipients: list[str], reason: str, now: datetime
    ) -> Notice:
        """Write who is told about the mention at this level, unless a notice for that level exists: then
        the stored one is returned, so every run tells the same people (escalations)."""
        notice = Notice(mention_id, level, recipients, reason, now)
        try:
            self._table.put_item(Item=_notice_item(notice), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if not is_condition_failure(error):
                raise StorageUnavailable(str(error)) from error
            existing = self.notice(mention_id, level)
            if existing is None:  # deleted in between: cannot happen with TTLs of months
                raise StorageUnavailable(f"notice {mention_id} level {level} vanished") from error
            return existing
        return notice

    def notice(self, mention_id: str, level: int) -> Notice | None:
        item = self._call("get_item", Key=_notice_key(mention_id, level), ConsistentRead=True).get("Item")
        return _item_to_notice(item) if item else None

    def claim(self, mention_id: str, level: int, claim_id: str, now: datetime, until: datetime) -> bool:
        """Take the undelivered notice for one delivery attempt, unless another attempt holds it (a claim
        lapses at `until`, so a run that died never blocks the notice for longer). False when it is held or
        already delivered."""
        try:
            self._table.update_item(
                Key=_notice_key(mention_id, level),
                UpdateExpression="SET claim_id = :claim, claimed_until = :until",
                ConditionExpression=(
                    "attribute_exists(pk) AND attribute_not_exists(delivered_at) "
                    "AND (attribute_not_exists(claimed_until) OR claimed_until <= :now)"
                ),
                ExpressionAttributeValues={
                    ":claim": claim_id,
                    ":until": _millis(until),
                    ":now": _millis(now),
                },
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    def release(self, mention_id: str, level: int, claim_id: str) -> None:
        """Give the claim back after a failed attempt, so the next one need not wait for it to lapse."""
        try:
            self._table.update_item(
                Key=_notice_key(mention_id, level),
                UpdateExpression="REMOVE claim_id, claimed_until",
                ConditionExpression="claim_id = :claim",
                ExpressionAttributeValues={":claim": claim_id},
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise StorageUnavailable(str(error)) from error

    def record_sent(
        self, mention_id: str, level: int, sent: Iterable[str], now: datetime, *, complete: bool
    ) -> None:
        """Note that notifications of the notice went out (one recipient's text and email: one write);
        `complete` when they were the last ones owed."""
        update = "ADD sent :sent"
        values: dict[str, Any] = {":sent": set(sent)}
        if complete:
            update = "SET delivered_at = :now ADD sent :sent REMOVE gsi1pk, gsi1sk, claim_id, claimed_until"
            values[":now"] = _iso(now)
        self._call(
            "update_item",
            Key=_notice_key(mention_id, level),
            UpdateExpression=update,
            ExpressionAttributeValues=values,
        )

    def record_failed(
        self, mention_id: str, level: int, sent: str, reason: str, now: datetime, *, complete: bool
    ) -> bool:
        """Note that one notification of the notice can never go out (SNS refused it for good): done, so no
        retry sends it, with the reason in `failures`. False when another run noted it first."""
        failure = [{"notification": sent, "reason": reason, "at": _iso(now)}]
        update = "SET failures = list_append(if_not_exists(failures, :empty), :failure) ADD sent :sent"
        values: dict[str, Any] = {":sent": {sent}, ":key": sent, ":empty": [], ":failure": failure}
        if complete:
            update = (
                "SET delivered_at = :now, failures = list_append(if_not_exists(failures, :empty), :failure) "
                "ADD sent :sent REMOVE gsi1pk, gsi1sk, claim_id, claimed_until"
            )
            values[":now"] = _iso(now)
        try:
            self._table.update_item(
                Key=_notice_key(mention_id, level),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND NOT contains(sent, :key)",
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    def mark_delivered(self, mention_id: str, level: int, now: datetime) -> None:
        self._call(
            "update_item",
            Key=_notice_key(mention_id, level),
            UpdateExpression="SET delivered_at = :now REMOVE gsi1pk, gsi1sk, claim_id, claimed_until",
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
        items = self._query_all(
            {
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :undelivered AND gsi1sk < :before",
                "ExpressionAttributeValues": {
                    ":undelivered": UNDELIVERED_INDEX_KEY,
                    ":before": _iso(created_before),
                },
            },
            limit=limit,
        )
        return [_item_to_notice(item) for item in items]


@one_per_process
def get_dispatch_store() -> DispatchStore:
    return DispatchStore(table(load(Table).table_name))
