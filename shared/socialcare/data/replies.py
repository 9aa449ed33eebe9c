"""The reply outbox: every answer an agent sends from the reply page, and where it is on its way out: the
replies, and per mention the live replies (reply_ids: its replies that are not failed) and its one private
answer (keys: socialcare.data.table_map).

One partition per mention, so "what has been answered already?" is one Query. A reply is written `pending`
by the reply page; the reply sender moves it, with conditional writes only:

    pending --claim--> sending --mark_sent--> sent
       ^                  |  \\--mark_failed--> failed
       +-----release------+

`sending` is held under a lease (lease_owner, lease_until in epoch seconds): a sender that crashed while
posting leaves it behind, and once the lease has run out another delivery of the message may claim it again
(see socialcare.replies.sender for why and how the duplicate risk is handled).

Each step is one request (the reply path is counted in AWS calls, bench/aws_calls.py):

* The page's send is one TransactWriteItems: the link marked used (condition: unused), the reply put
  (condition: new) and its id added to the mention's live-replies item (condition, unless the agent confirmed
  a second reply: no live reply yet). The live-replies item is what lets "did another agent answer
  meanwhile?" be a condition instead of a Query before every send; it only ever over-approximates (an id is
  removed when its reply fails), and the page checks with a Query whenever it objects.
* The reply carries `target_mention`, what the sender needs of the mention (socialcare.reply_sending.
  mention_for_reply), taken when the page checked the mention: the sender does not read the mention back.
* The sender's claim returns the reply as it was (ALL_OLD, or the item whose condition failed), so it reads
  nothing before it; its outcome (sent: our post stored as ours, the reply sent, the mention answered) is
  one TransactWriteItems whose conditions are the three separate writes' conditions of before.

Transactions follow socialcare.data.dynamo's one policy for conflicts (a bounded retry with jitter)."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ConfigDict

from socialcare.data.dynamo import (
    Update,
    from_wire,
    is_condition_failure,
    plain,
    query_items,
    storage_errors,
    stored,
    succeeded,
    table,
    transact,
    transact_each,
    update,
)
from socialcare.data.mentions import mention_to_item, status_condition
from socialcare.data.table_map import (
    PENDING,
    REPLY_SK_PREFIX,
    live_replies_key,
    mention_key,
    private_reply_key,
    replies_partition,
    reply_key,
    reply_link_key,
)
from socialcare.errors import StorageUnavailable
from socialcare.modeling import Model
from socialcare.models import Mention, MentionStatus
from socialcare.settings import Table, load
from socialcare.singletons import one_per_process


class ReplyState(StrEnum):
    PENDING = "pending"  # waiting for the reply sender (first time, or again after a temporary failure)
    SENDING = "sending"  # a sender holds the lease and is posting it
    SENT = "sent"
    FAILED = "failed"  # the platform refused it for good, or every retry was used up


# Replies that count as "this mention has been answered" when another agent opens or posts the page.
LIVE_STATES = (ReplyState.PENDING, ReplyState.SENDING, ReplyState.SENT)


class Reply(Model):
    model_config = ConfigDict(extra="ignore")

    mention_id: str
    reply_id: str
    platform: str
    text: str
    agent_email: str
    agent_name: str | None = None
    agent_phone: str | None = None  # E.164, for the text that says a reply could not be posted
    via: str = "page"  # page | sms | email: where the agent wrote it (socialcare.replies.by_text)
    sms_code: str | None = None  # the alert code a text answered: the confirmation offers UNDO <code>
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
    # How the sender knew it was out (socialcare.replies.sender.SentVia): posted, or found after an attempt
    # whose outcome was unknown (our own record, the platform's echo, the platform's look-up), or posted again
    # after the look-up said it was not there or could not say.
    sent_via: str | None = None
    failure_code: str | None = None
    failure_reason: str | None = None
    failed_at: datetime | None = None
    alert_leads: bool = False  # the failure needs a person to fix the configuration
    agent_notified_at: datetime | None = None  # the "could not be posted" text went out
    leads_alerted_at: datetime | None = None
    confirmed_at: datetime | None = None  # a texted answer's "Posted" text went out
    undone_at: datetime | None = None  # deleted from the platform by the agent's UNDO text
    # What the sender needs of the mention, as the page saw it when the reply was written (None: a reply
    # stored before replies carried it; the sender then reads the mention).
    target_mention: Mention | None = None
    # Answered privately (a Meta private reply to the comment, an X DM), with an optional short public line
    # ("We've sent you a DM") posted under the mention once the private answer is out.
    private: bool = False
    public_line: str | None = None
    public_line_id: str | None = None  # the platform's id of the public line


class CreateOutcome(StrEnum):
    CREATED = "created"
    TAKEN = "taken"  # the link was used already, or its reply exists
    OTHERS_LIVE = "others_live"  # another reply to the mention is live (the agent did not confirm a second)
    PRIVATE_TAKEN = "private_taken"  # the mention was answered privately already: platforms take one


@dataclass(frozen=True)
class Claim:
    """The outcome of a claim: `before` is the reply as it was (None: there is no such reply); `after` is the
    claimed reply, None when it was not claimable (sent, failed, or a live lease held by someone else)."""

    before: Reply | None
    after: Reply | None


@dataclass(frozen=True)
class SentRecord:
    marked: bool  # the reply is sent (False: this sender had lost its lease)
    first_answer: bool  # the mention's answered fields are this reply's


def reply_id_for_link(token_hash: str) -> str:
    """The id of the one reply a reply link can send: derived from the link's stored hash, so a second submit
    of the same link (a double tap, a retry after a crash) finds the reply instead of making another."""
    return hashlib.sha256(f"socialcare-reply:{token_hash}".encode()).hexdigest()[:32]


def _mention_key(mention: Mention) -> dict[str, str]:
    return mention_key(mention.id)


def reply_to_item(reply: Reply) -> dict[str, Any]:
    item = {k: stored(v) for k, v in reply.model_dump(exclude={"target_mention"}).items() if v is not None}
    if reply.target_mention is not None:
        item["target_mention"] = reply.target_mention.model_dump_json(exclude_none=True)
    item.update(reply_key(reply.mention_id, reply.reply_id))
    item["entity"] = "reply"
    return item


def item_to_reply(item: dict[str, Any]) -> Reply:
    data = plain(item)
    if isinstance(data.get("target_mention"), str):
        data["target_mention"] = json.loads(data["target_mention"])
    return Reply.model_validate(data)


class ReplyStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    # ---- the reply page
    def create_for_link(self, reply: Reply, token_hash: str, *, only_live_reply: bool) -> CreateOutcome:
        """The page's send, in one transaction: the link `token_hash` is marked used by this reply (condition:
        not used yet), the reply is stored pending (condition: new), and its id joins the mention's live
        replies (condition when `only_live_reply`: there is none yet). A private reply also claims the
        mention's one private answer (condition: none yet; Meta takes one per comment). Nothing is written
        unless all hold."""
        used = {
            "Update": {
                "Key": reply_link_key(token_hash),
                "UpdateExpression": "SET used_at = :now, reply_id = :reply",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(used_at)",
                "ExpressionAttributeValues": {":now": stored(reply.created_at), ":reply": reply.reply_id},
            }
        }
        put = {"Put": {"Item": reply_to_item(reply), "ConditionExpression": "attribute_not_exists(pk)"}}
        live: dict[str, Any] = {
            "Key": live_replies_key(reply.mention_id),
            "UpdateExpression": "SET entity = :entity ADD reply_ids :ids",
            "ExpressionAttributeValues": {":entity": "live_replies", ":ids": {reply.reply_id}},
        }
        if only_live_reply:
            live["ConditionExpression"] = "attribute_not_exists(reply_ids)"
        writes = [used, put, {"Update": live}]
        if reply.private:
            claim = {
                **private_reply_key(reply.mention_id),
                "entity": "private_reply",
                "reply_id": reply.reply_id,
            }
            writes.append({"Put": {"Item": claim, "ConditionExpression": "attribute_not_exists(pk)"}})
        failed = self._transact(writes)
        if not failed:
            return CreateOutcome.CREATED
        if failed == {3}:
            return CreateOutcome.PRIVATE_TAKEN
        return CreateOutcome.OTHERS_LIVE if failed == {2} else CreateOutcome.TAKEN

    def private_reply_id(self, mention_id: str) -> str | None:
        """The reply that answered the mention privately, if one did."""
        with storage_errors():
            item = self._table.get_item(Key=private_reply_key(mention_id), ConsistentRead=True).get("Item")
        return str(item["reply_id"]) if item else None

    def record_public_line(self, reply: Reply, public_line_id: str) -> None:
        """The public line that went with a private reply is out: its id joins the reply."""
        change = Update({"public_line_id": public_line_id}, expected={"public_line_id": None})
        update(self._table, reply_key(reply.mention_id, reply.reply_id), change)

    def get(self, mention_id: str, reply_id: str) -> Reply | None:
        with storage_errors():
            item = self._table.get_item(Key=reply_key(mention_id, reply_id), ConsistentRead=True).get("Item")
        return item_to_reply(item) if item else None

    def for_mention(self, mention_id: str) -> list[Reply]:
        """Every reply to the mention, oldest first."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": replies_partition(mention_id), ":prefix": REPLY_SK_PREFIX},
            "ConsistentRead": True,
        }
        replies = [item_to_reply(item) for item in query_items(self._table, query)]
        return sorted(replies, key=lambda reply: (reply.created_at, reply.reply_id))

    def on_its_way(self, mention_id: str) -> bool:
        """A reply to the mention is pending or sending (the escalation sweep leaves such a mention be)."""
        return any(
            reply.state in (ReplyState.PENDING, ReplyState.SENDING) for reply in self.for_mention(mention_id)
        )

    # ---- the reply sender
    def claim(self, mention_id: str, reply_id: str, owner: str, now: datetime, lease: timedelta) -> Claim:
        """pending -> sending, or take over a `sending` whose lease ran out. One request either way: the reply
        as it was comes back with the claim (ALL_OLD), or with the failed condition when it was not
        claimable (sent, failed, a live lease held by someone else, or no such reply)."""
        epoch = int(now.timestamp())
        until = int((now + lease).timestamp())
        try:
            answer = self._table.update_item(
                Key=reply_key(mention_id, reply_id),
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
                    ":until": until,
                    ":now": stored(now),
                    ":epoch": epoch,
                    ":zero": 0,
                    ":one": 1,
                },
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failure(error):
                raise StorageUnavailable(str(error)) from error
            current: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
            return Claim(item_to_reply(from_wire(current)) if current else None, None)
        before = item_to_reply(answer["Attributes"])
        after = before.model_copy(
            update={
                "state": ReplyState.SENDING,
                "lease_owner": owner,
                "lease_until": until,
                "attempt_started_at": now,
                "attempts": before.attempts + 1,
            }
        )
        return Claim(before, after)

    def release(
        self, reply: Reply, owner: str, *, error: str, maybe_delivered_since: datetime | None
    ) -> bool:
        """sending -> pending after a temporary failure, for the next delivery of the message."""
        fields: dict[str, Any] = {"state": ReplyState.PENDING, "last_error": error}
        if maybe_delivered_since is not None:
            fields["maybe_delivered_since"] = maybe_delivered_since
        return self._finish(reply, owner, fields)

    def mark_sent(
        self,
        reply: Reply,
        owner: str,
        platform_reply_id: str,
        now: datetime,
        *,
        mention: Mention,
        first_response_seconds: int,
        ours: Mention | None = None,
        via: str = "posted",
    ) -> SentRecord:
        """A posted reply, in one transaction: `ours` (the post, stored as one of our own mentions, so the
        platform's echo of it is a duplicate) put if new, the reply sent while this sender holds the lease,
        and `mention` answered by it (status, answered_at/by, first_response_seconds, out of the escalation
        index) if nobody answered it before. Each write happens whenever its own condition holds, as three
        separate writes would: a cancelled transaction is repeated without the writes whose condition
        failed (our post already stored by its echo, the mention answered already, the lease lost)."""
        writes: dict[str, dict[str, Any]] = {}
        if ours is not None:
            writes["ours"] = {
                "Put": {"Item": mention_to_item(ours), "ConditionExpression": "attribute_not_exists(pk)"}
            }
        fields = {
            "state": ReplyState.SENT,
            "platform_reply_id": platform_reply_id,
            "sent_at": now,
            "sent_via": via,
        }
        writes["reply"] = {"Update": self._finish_update(reply, owner, fields)}
        answered = {
            "status": MentionStatus.ANSWERED,
            "answered_at": now,
            "answered_by": reply.agent_email,
            "first_response_seconds": first_response_seconds,
        }
        # Answered: off the escalation index, and only the first answer counts.
        change = _mention_change(answered, PENDING.attributes, {"answered_at": None}, MentionStatus.ANSWERED)
        writes["answered"] = {"Update": change.request(_mention_key(mention))}
        refused = self._transact_each(writes)
        return SentRecord(marked="reply" not in refused, first_answer="answered" not in refused)

    def mark_undone(self, reply: Reply, mention: Mention, now: datetime) -> bool:
        """A sent reply the agent deleted from the platform (UNDO), as one outcome: the reply undone (once),
        out of the mention's live replies, and the mention, if this reply answered it, back to opened by its
        agent with no answer (its first response is the next one that stays). False if it was undone
        already."""
        writes: dict[str, dict[str, Any]] = {
            "reply": {
                "Update": {
                    "Key": reply_key(reply.mention_id, reply.reply_id),
                    "UpdateExpression": "SET undone_at = :now",
                    "ConditionExpression": "#state = :sent AND attribute_not_exists(undone_at)",
                    "ExpressionAttributeNames": {"#state": "state"},
                    "ExpressionAttributeValues": {":now": stored(now), ":sent": ReplyState.SENT.value},
                }
            },
            "live": {
                "Update": {
                    "Key": live_replies_key(reply.mention_id),
                    "UpdateExpression": "DELETE reply_ids :ids",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":ids": {reply.reply_id}},
                }
            },
            "reopened": {
                "Update": _mention_change(
                    {"status": MentionStatus.OPENED, "opened_by": reply.agent_email},
                    ("answered_at", "answered_by", "first_response_seconds"),
                    {"answered_at": reply.sent_at, "answered_by": reply.agent_email},
                    MentionStatus.OPENED,
                ).request(_mention_key(mention))
            },
        }
        return "reply" not in self._transact_each(writes)

    def mark_failed(
        self, reply: Reply, owner: str, code: str, reason: str, now: datetime, *, alert_leads: bool = False
    ) -> bool:
        """sending -> failed while this sender holds the lease, and the reply leaves the mention's live
        replies (a reply stored before that item existed has none to leave)."""
        fields = {
            "state": ReplyState.FAILED,
            "failure_code": code,
            "failure_reason": reason,
            "failed_at": now,
            "alert_leads": alert_leads,
        }
        writes = {
            "reply": {"Update": self._finish_update(reply, owner, fields)},
            "live": {
                "Update": {
                    "Key": live_replies_key(reply.mention_id),
                    "UpdateExpression": "DELETE reply_ids :ids",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":ids": {reply.reply_id}},
                }
            },
        }
        failed = self._transact(list(writes.values()))
        if 0 in failed:
            return False
        if failed:  # no live-replies item
            return not self._transact([writes["reply"]])
        return True

    def _finish(self, reply: Reply, owner: str, fields: dict[str, Any]) -> bool:
        """Leave `sending`, only while this sender still holds the lease. False when it lost it."""
        with storage_errors():
            return update(self._table, reply_key(reply.mention_id, reply.reply_id), _finished(owner, fields))

    def _finish_update(self, reply: Reply, owner: str, fields: dict[str, Any]) -> dict[str, Any]:
        return _finished(owner, fields).request(reply_key(reply.mention_id, reply.reply_id))

    def retry_failed(self, reply: Reply, text: str) -> bool:
        """failed -> pending, once, for the agent's Try again (same text) or Edit and send (new text): the
        failure and its follow-ups are cleared so a second failure is told again. False when the reply is
        no longer failed (a second tap, or another page did it first)."""
        return succeeded(
            lambda: self._table.update_item(
                Key=reply_key(reply.mention_id, reply.reply_id),
                UpdateExpression=(
                    "SET #state = :pending, #text = :text, attempts = :zero "
                    "REMOVE failure_code, failure_reason, failed_at, agent_notified_at, leads_alerted_at"
                ),
                ConditionExpression="#state = :failed",
                ExpressionAttributeNames={"#state": "state", "#text": "text"},
                ExpressionAttributeValues={
                    ":pending": ReplyState.PENDING.value,
                    ":failed": ReplyState.FAILED.value,
                    ":text": text,
                    ":zero": 0,
                },
            )
        )

    def note(self, reply: Reply, field: str, now: datetime) -> None:
        """Record when a follow-up happened (a failure's agent_notified_at and leads_alerted_at, a texted or
        emailed answer's confirmed_at)."""
        if field not in ("agent_notified_at", "leads_alerted_at", "confirmed_at"):
            raise ValueError(f"not a follow-up field: {field}")
        with storage_errors():
            self._table.update_item(
                **Update({field: now}).request(reply_key(reply.mention_id, reply.reply_id))
            )

    # ---- transactions (socialcare.data.dynamo's policy)
    def _transact(self, writes: list[dict[str, Any]]) -> set[int]:
        return transact(self._table, writes)

    def _transact_each(self, writes: dict[str, dict[str, Any]]) -> set[str]:
        return transact_each(self._table, writes)


def _finished(owner: str, fields: dict[str, Any]) -> Update:
    """`sending` left with `fields`, only while `owner` still holds the lease."""
    return Update(
        fields,
        ("lease_owner", "lease_until"),
        must_exist=False,
        conditions=["#state = :sending AND lease_owner = :owner"],
        names={"#state": "state"},
        values={":sending": ReplyState.SENDING.value, ":owner": owner},
    )


def _mention_change(
    fields: dict[str, Any], removals: tuple[str, ...], expected: dict[str, Any], target: MentionStatus
) -> Update:
    """A mention's change in a reply's transaction, only from a status it may come from."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    condition = status_condition(target, names, values)
    return Update(fields, removals, expected=expected, conditions=[condition], names=names, values=values)


@one_per_process
def get_reply_store() -> ReplyStore:
    return ReplyStore(table(load(Table).table_name))


def mention_for_reply(mention: Mention) -> Mention:
    """The part of `mention` the sender needs, stored with the reply (Reply.target_mention) so that it does
    not read the mention back: ids, kind, author, url, times, conversation, and of `raw` only what
    reply_target reads. Not the text (the customer's, up to the item size) nor the rest of the raw event."""
    raw = mention.raw
    kept: dict[str, Any] = {
        k: raw[k] for k in ("media_id", "parent_id", "comment_id", "reply_refs") if k in raw
    }
    if "media" in raw:
        media = raw["media"]
        kept["media"] = {"id": media.get("id")} if isinstance(media, dict) else media
    return mention.model_copy(update={"text": "", "raw": kept})
