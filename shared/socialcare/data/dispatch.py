"""What dispatch and escalation remember besides the mentions themselves (keys and index entries:
socialcare.data.table_map): the round robin cursor, each conversation's agent, each agent's open count and
open assignments, and the notices (who is told about a mention at one level).

The cursor and the open counts share the agents' list partition (socialcare.data.agents), so routing reads
agents, cursor and capacity in one Query (`roster`) whose size does not grow with the backlog: the open
assignments themselves are not in it. A count changes in the same transaction as its open assignment item
(`assign` adds one per recipient, `close_open` takes one off with the item it deletes), so it is never below
the number of items; it is above it by the items DynamoDB's TTL removed (30 days after their assignment, as
before), which only means routing reads that agent's items (`open_ids`) to decide, as it does for an agent
at capacity anyway. So an assignment stops counting after 30 days, as it always did.

That index is eventually consistent: what a decision read from it is checked again, atomically, by the
assignment's transaction (`assign`): the mention must still have the status it was read with, the
conversation the agent it was read with, the cursor the email it was read with. A stale read costs a retry
with consistent reads, never a wrong assignment.

An assignment to more recipients than one transaction holds (DynamoDB takes 100 actions; each recipient
costs three: the open assignment, the open count and the reply link) is written in steps: the reply links
first (a link nobody was sent opens nothing), then one transaction that claims the mention (its transition,
the notice, the conversation, the cursor), then the recipients' open assignments in chunks. The notice lists
the recipients still to mark (`unmarked`); each chunk takes its recipients off that list in the same
transaction, and every later delivery attempt's `claim` finishes what a failed run left, so no recipient is
counted twice or never.

Notices make "tell these agents" durable. A dispatch writes its notice in the same transaction as the
assignment, already claimed by the run that wrote it; every later delivery attempt (a redelivered stream
record, the escalation sweep) claims it first (`claim`), so two runs never send at once. What went out to a
recipient (their text and email) is recorded (`record_sent`, one write) right after SNS accepted it, so a
retry sends only what is missing; the last one marks the notice delivered and takes it off the UNDELIVERED
list."""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data import table_map
from socialcare.data.agents import AgentRecord, item_to_record
from socialcare.data.dynamo import (
    MAX_TRANSACTION_ACTIONS,
    Update,
    is_condition_failure,
    plain,
    query_items,
    storage_errors,
    succeeded,
    table,
    transact,
)
from socialcare.data.mentions import item_to_mention, transition_update
from socialcare.data.table_map import (
    AGENTS_LIST,
    CONVERSATION_PREFIX,
    CONVERSATIONS,
    LISTS,
    OPEN_ASSIGNMENT_PREFIX,
    ROSTER_VERSION,
    UNDELIVERED_LIST,
    conversation_key,
    cursor_key,
    iso,
    mention_key,
    notice_key,
    open_assignment_key,
    open_count_key,
)
from socialcare.errors import StorageUnavailable
from socialcare.models import Mention
from socialcare.settings import Table, load
from socialcare.singletons import one_per_process

UNDELIVERED_INDEX_KEY = UNDELIVERED_LIST
OPEN_ASSIGNMENT_TTL = timedelta(days=30)  # an assignment nobody closed stops counting after this
NOTICE_TTL = timedelta(days=90)
CONVERSATION_TTL = timedelta(days=180)
CONVERSATION_READ_LIMIT = 1000  # as MentionStore.conversation
# The attribute of a mention item naming the agent its assignment made the conversation's agent (sticky).
CONVERSATION_AGENT_FIELD = "conversation_agent"
# Recipients whose open assignments one transaction marks after the claim: two actions each, and one for the
# notice's list of recipients still to mark.
MARKS_PER_TRANSACTION = (MAX_TRANSACTION_ACTIONS - 1) // 2
# What a delivered notice loses: its place on the undelivered list and its claim.
_DELIVERED = (*LISTS.attributes, "claim_id", "claimed_until")


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


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
    version: int = 0  # one more with every write of an agent (socialcare.data.agents.roster_changed)


@dataclass
class AssignmentWrite:
    """One assignment, written by `DispatchStore.assign` (in one transaction when it fits in one)."""

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
    roster_seen: int = 0  # the roster's version the decision read
    reply_links: list[dict[str, Any]] = field(default_factory=list)  # socialcare.data.tokens items
    escalate_at: datetime | None = None  # when its first escalation is due (the sweep's index)


class AssignmentConflict(Exception):
    """The transaction was refused because something the decision read has changed since; `parts` says what
    ("mention", "conversation", "cursor", "roster", "reply_link"; "cursor" also when the roster changed)."""

    def __init__(self, parts: set[str]) -> None:
        super().__init__(", ".join(sorted(parts)) or "unknown")
        self.parts = parts


@dataclass(frozen=True)
class ConversationHistory:
    """A conversation's mentions as dispatch reads them (one Query of the conversation index), with the
    agent each assignment in it made the conversation's agent."""

    mentions: list[Mention] = field(default_factory=list)
    agents: list[tuple[str, str, str]] = field(default_factory=list)  # (notified_at, mention id, agent)

    def agent(self, leave_out: str) -> str | None:
        """The conversation's agent as its mentions say: the one the latest dispatch that set it named (an
        index read, so possibly stale; the assignment's transaction checks it against the conversation)."""
        latest: tuple[str, str] | None = None
        for notified_at, mention_id, agent in self.agents:
            if mention_id != leave_out and (latest is None or notified_at >= latest[0]):
                latest = (notified_at, agent)
        return latest[1] if latest else None


def history_of(items: Sequence[dict[str, Any]]) -> ConversationHistory:
    mentions = [item_to_mention(item) for item in items]
    agents = [
        (str(item.get("notified_at") or ""), mention.id, str(item[CONVERSATION_AGENT_FIELD]))
        for item, mention in zip(items, mentions, strict=True)
        if item.get(CONVERSATION_AGENT_FIELD)
    ]
    return ConversationHistory(mentions, agents)


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
        **notice_key(notice.mention_id, notice.level),
        "entity": "notice",
        "mention_id": notice.mention_id,
        "level": notice.level,
        "recipients": notice.recipients,
        "reason": notice.reason,
        "created_at": iso(now),
        **table_map.undelivered_entry(now, notice.mention_id, notice.level),
        "expires_at": _epoch(now + NOTICE_TTL),
    }


def open_assignment_item(email: str, mention_id: str, now: datetime) -> dict[str, Any]:
    return {
        **open_assignment_key(email, mention_id),
        "entity": "open_assignment",
        "email": email,
        "mention_id": mention_id,
        "assigned_at": iso(now),
        "expires_at": _epoch(now + OPEN_ASSIGNMENT_TTL),
    }


# ---------------------------------------------------------------- the assignment's writes
def _mention_write(write: AssignmentWrite) -> dict[str, Any]:
    fields = dict(write.set_fields)
    if write.escalate_at is not None:
        fields.update(table_map.pending_entry(write.escalate_at))
    if write.conversation_id and write.conversation_agent:
        fields[CONVERSATION_AGENT_FIELD] = write.conversation_agent  # the next dispatch finds it in one Query
    change = transition_update(fields, write.remove_fields, write.expected)
    return {"Update": change.request(mention_key(write.mention_id))}


def _notice_write(write: AssignmentWrite, unmarked: Sequence[str]) -> dict[str, Any]:
    # No condition on the notice: the mention's condition already guarantees that no run recorded this
    # assignment, so no notice of it was ever delivered.
    notice = {
        **_notice_item(write.notice),
        "claim_id": write.claim_id,
        "claimed_until": _millis(write.claimed_until),
    }
    if unmarked:
        notice["unmarked"] = set(unmarked)
    return {"Put": {"Item": notice}}


def _conversation_write(write: AssignmentWrite, conversation_id: str, now: datetime) -> dict[str, Any]:
    sets = ["entity = :entity", "updated_at = :now", "expires_at = :ttl"]
    sets.append("mention_ids = list_append(if_not_exists(mention_ids, :none), :id)")
    values: dict[str, Any] = {
        ":entity": "conversation",
        ":now": iso(now),
        ":ttl": _epoch(now + CONVERSATION_TTL),
        ":none": [],
        ":id": [write.mention_id],
    }
    if write.conversation_agent:
        sets.append("agent_email = :agent")
        values[":agent"] = write.conversation_agent
    if write.conversation_agent_seen:
        condition = "agent_email = :seen"
        values[":seen"] = write.conversation_agent_seen
    else:
        condition = "attribute_not_exists(agent_email)"
    return {
        "Update": {
            "Key": conversation_key(conversation_id),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
    }


def _cursor_write(write: AssignmentWrite, cursor: str, now: datetime) -> dict[str, Any]:
    entry = table_map.cursor_list_entry()
    fields = {"entity": "cursor", "last_email": cursor, "updated_at": now, **entry}
    seen = write.cursor_seen
    version_condition, values = _roster_condition(write)
    cursor_condition = "last_email = :seen" if seen else "attribute_not_exists(last_email)"
    return {
        "Update": Update(
            fields,
            must_exist=False,
            conditions=[cursor_condition, version_condition],
            values={**values, ":seen": seen} if seen else values,
        ).request(cursor_key())
    }


def _roster_condition(write: AssignmentWrite) -> tuple[str, dict[str, Any]]:
    """The condition on the cursor's item that the roster is still the version the decision read."""
    if not write.roster_seen:
        return f"attribute_not_exists({ROSTER_VERSION})", {}
    return f"{ROSTER_VERSION} = :roster", {":roster": write.roster_seen}


def _roster_check(write: AssignmentWrite) -> dict[str, Any]:
    condition, values = _roster_condition(write)
    check: dict[str, Any] = {"Key": cursor_key(), "ConditionExpression": condition}
    if values:
        check["ExpressionAttributeValues"] = values
    return {"ConditionCheck": check}


def _link_write(link: dict[str, Any]) -> dict[str, Any]:
    # 256 random bits never collide; the condition makes a collision an error.
    return {"Put": {"Item": link, "ConditionExpression": "attribute_not_exists(pk)"}}


def _mark_writes(email: str, mention_id: str, now: datetime, *, once: bool) -> list[dict[str, Any]]:
    """The recipient's open assignment and one more on their open count. `once`: only if the open
    assignment is not there yet (a chunk written again after a failure counts nobody twice)."""
    put: dict[str, Any] = {"Item": open_assignment_item(email, mention_id, now)}
    if once:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    fields = {"entity": "open_count", "email": email, **table_map.open_count_list_entry(email)}
    count = Update(fields, add_fields={"open_count": 1}, must_exist=False)
    return [{"Put": put}, {"Update": count.request(open_count_key(email))}]


def _claim_writes(
    write: AssignmentWrite, now: datetime, unmarked: Sequence[str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """What claims the mention: its transition, its notice, the conversation, and the cursor or (when it
    stays) a check of the roster's version (by part)."""
    parts = ["mention", "notice"]
    actions = [_mention_write(write), _notice_write(write, unmarked)]
    if write.conversation_id:
        parts.append("conversation")
        actions.append(_conversation_write(write, write.conversation_id, now))
    if write.cursor:
        parts.append("cursor")
        actions.append(_cursor_write(write, write.cursor, now))
    else:
        parts.append("roster")
        actions.append(_roster_check(write))
    return parts, actions


def _actions_of(write: AssignmentWrite) -> int:
    """How many actions the assignment takes in one transaction."""
    claim = 3 + bool(write.conversation_id)  # the mention, its notice, the cursor or the roster's check
    return claim + 2 * len(write.recipients) + len(write.reply_links)


class DispatchStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def _call(self, operation: str, **arguments: Any) -> Any:
        with storage_errors():
            return getattr(self._table, operation)(**arguments)

    # ---------------------------------------------------------------- what routing reads
    def roster(self) -> Roster:
        """Agents, the round robin cursor and the open counts: one Query (more only past 1 MB)."""
        agents: list[AgentRecord] = []
        last_assigned: str | None = None
        version = 0
        open_counts: dict[str, int] = {}
        for item in query_items(self._table, LISTS.query(AGENTS_LIST)):
            entity = item.get("entity")
            if entity == "agent":
                agents.append(item_to_record(item))
            elif entity == "cursor":
                last_assigned = str(item["last_email"]) if item.get("last_email") else None
                version = int(item.get(ROSTER_VERSION) or 0)
            elif entity == "open_count" and item.get("email"):
                open_counts[str(item["email"])] = max(0, int(item.get("open_count") or 0))
        return Roster(sorted(agents, key=lambda r: r.email), last_assigned, open_counts, version)

    def open_ids(self, email: str, page_size: int | None = None) -> Iterator[str]:
        """The ids of the mentions whose assignment to the agent is not closed (a consistent read), read
        lazily, `page_size` a Query: a caller that has seen enough reads no further (a lead may hold
        thousands in a burst)."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": open_count_key(email)["pk"],
                ":prefix": OPEN_ASSIGNMENT_PREFIX,
            },
            "ProjectionExpression": "mention_id",
            "ConsistentRead": True,
        }
        if page_size is not None:
            query["Limit"] = page_size
        for item in query_items(self._table, query):
            if item.get("mention_id"):
                yield str(item["mention_id"])

    def conversation_history(self, conversation_id: str) -> ConversationHistory:
        """The conversation's mentions (as MentionStore.conversation reads them) and the agents assignments
        made its agent, from one Query: the email's history and the sticky agent."""
        query = CONVERSATIONS.query(CONVERSATION_PREFIX + conversation_id)
        return history_of(list(query_items(self._table, query, limit=CONVERSATION_READ_LIMIT)))

    # ---------------------------------------------------------------- consistent re-reads after a conflict
    def cursor(self) -> tuple[str | None, int]:
        """The round robin cursor and the roster's version, read consistently."""
        item = self._call("get_item", Key=cursor_key(), ConsistentRead=True).get("Item") or {}
        cursor = str(item["last_email"]) if item.get("last_email") else None
        return cursor, int(item.get(ROSTER_VERSION) or 0)

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The conversation's agent (sticky) and the mentions dispatched in it, in dispatch order."""
        item = self._call("get_item", Key=conversation_key(conversation_id), ConsistentRead=True).get("Item")
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
        """Record an assignment: the mention's transition (only if it still has the expected fields), its
        notice (claimed by this run), the conversation's agent and mention list (only if its agent is still
        the one read), the round robin cursor (only if it is still the one read), an open assignment per
        recipient with one more on their open count, and their reply links. One transaction when they fit
        in one, else in steps (the module's docstring). Raises AssignmentConflict naming what changed."""
        if _actions_of(write) <= MAX_TRANSACTION_ACTIONS:
            parts, actions = _claim_writes(write, now, unmarked=())
            for email in write.recipients:
                parts += ["open_assignment", "open_count"]
                actions += _mark_writes(email, write.mention_id, now, once=False)
            parts += ["reply_link"] * len(write.reply_links)
            actions += [_link_write(link) for link in write.reply_links]
            self._claim(parts, actions)
            return
        for start in range(0, len(write.reply_links), MAX_TRANSACTION_ACTIONS):
            links = write.reply_links[start : start + MAX_TRANSACTION_ACTIONS]
            if transact(self._table, [_link_write(link) for link in links]):
                raise AssignmentConflict({"reply_link"})
        self._claim(*_claim_writes(write, now, unmarked=write.recipients))
        self._mark(write.mention_id, write.notice.level, write.recipients, now)

    def _claim(self, parts: list[str], actions: list[dict[str, Any]]) -> None:
        failed = transact(self._table, actions)
        if failed:
            raise AssignmentConflict({parts[index] for index in failed})

    def _mark(self, mention_id: str, level: int, emails: Sequence[str], now: datetime) -> None:
        """The open assignments of `emails`, in chunks, each taking its recipients off the notice's list of
        recipients still to mark. A recipient marked already (by a run that failed after marking) is left
        out, and the chunk written again without it."""
        for start in range(0, len(emails), MARKS_PER_TRANSACTION):
            chunk = list(emails[start : start + MARKS_PER_TRANSACTION])
            unmark = {
                "Update": {
                    "Key": notice_key(mention_id, level),
                    "UpdateExpression": "DELETE unmarked :emails",
                    "ExpressionAttributeValues": {":emails": set(chunk)},
                }
            }
            todo = chunk
            while True:
                marks = [
                    action for email in todo for action in _mark_writes(email, mention_id, now, once=True)
                ]
                failed = transact(self._table, [*marks, unmark])
                if not failed:
                    break
                marked = {todo[index // 2] for index in failed if index < len(marks)}
                todo = [email for email in todo if email not in marked]

    # ---------------------------------------------------------------- open assignments
    def close_open(self, email: str, mention_id: str) -> None:
        """Delete the open assignment and take it off the agent's count, together; only if it was still
        there (two runs closing it take one off), and never below 0."""
        key = open_assignment_key(email, mention_id)
        delete = {"Key": key, "ConditionExpression": "attribute_exists(pk)"}
        count = Update(add_fields={"open_count": -1}, must_exist=False, conditions=["open_count > :zero"])
        count.values[":zero"] = 0
        failed = transact(self._table, [{"Delete": delete}, {"Update": count.request(open_count_key(email))}])
        if 0 in failed:
            return  # closed by another run already
        if 1 in failed:  # the count is 0 already: just the item
            self._call("delete_item", Key=key)

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
        item = self._call("get_item", Key=notice_key(mention_id, level), ConsistentRead=True).get("Item")
        return _item_to_notice(item) if item else None

    def claim(self, mention_id: str, level: int, claim_id: str, now: datetime, until: datetime) -> bool:
        """Take the undelivered notice for one delivery attempt, unless another attempt holds it (a claim
        lapses at `until`, so a run that died never blocks the notice for longer). False when it is held or
        already delivered."""
        try:
            answer = self._table.update_item(
                Key=notice_key(mention_id, level),
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
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        unmarked = sorted(str(email) for email in answer.get("Attributes", {}).get("unmarked") or ())
        if unmarked:  # the run that assigned it failed before marking every recipient: finish that first
            self._mark(mention_id, level, unmarked, now)
        return True

    def release(self, mention_id: str, level: int, claim_id: str) -> None:
        """Give the claim back after a failed attempt, so the next one need not wait for it to lapse."""
        try:
            self._table.update_item(
                Key=notice_key(mention_id, level),
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
        change = Update(
            {"delivered_at": now} if complete else {},
            _DELIVERED if complete else (),
            add_fields={"sent": set(sent)},
            must_exist=False,
        )
        self._call("update_item", **change.request(notice_key(mention_id, level)))

    def record_failed(
        self, mention_id: str, level: int, sent: str, reason: str, now: datetime, *, complete: bool
    ) -> bool:
        """Note that one notification of the notice can never go out (SNS refused it for good): done, so no
        retry sends it, with the reason in `failures`. False when another run noted it first."""
        failure = [{"notification": sent, "reason": reason, "at": iso(now)}]
        change = Update(
            {"delivered_at": now} if complete else {},
            _DELIVERED if complete else (),
            add_fields={"sent": {sent}},
            conditions=["NOT contains(sent, :key)"],
            set_expressions=["failures = list_append(if_not_exists(failures, :empty), :failure)"],
            values={":key": sent, ":empty": [], ":failure": failure},
        )
        request = change.request(notice_key(mention_id, level))
        return succeeded(lambda: self._table.update_item(**request))

    def mark_delivered(self, mention_id: str, level: int, now: datetime) -> None:
        change = Update({"delivered_at": now}, _DELIVERED, must_exist=False)
        self._call("update_item", **change.request(notice_key(mention_id, level)))

    def abandon(self, mention_id: str, level: int, why: str, now: datetime) -> None:
        """Stop retrying a notice (its mention no longer needs it, or it is too old to matter)."""
        # Off the undelivered list; the claim stays, as it was.
        change = Update({"abandoned_at": now, "abandoned_because": why}, LISTS.attributes, must_exist=False)
        self._call("update_item", **change.request(notice_key(mention_id, level)))

    def undelivered(self, created_before: datetime, limit: int = 100) -> list[Notice]:
        """Notices still waiting to be delivered, created before the given time, oldest first."""
        query = LISTS.query(UNDELIVERED_LIST, sort_before=iso(created_before))
        return [_item_to_notice(item) for item in query_items(self._table, query, limit=limit)]


@one_per_process
def get_dispatch_store() -> DispatchStore:
    return DispatchStore(table(load(Table).table_name))
