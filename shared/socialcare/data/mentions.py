"""Mentions in the table:
  mention       pk=MENTION#<platform>-<external id>  sk=MENTION   gsi1: MENTIONS|OURS / <received_at>#<id>
                                                                 gsi3: CONVERSATION#<conversation id> /
                                                                       <created_at>#<id>
  text pending  pk=TEXTPENDING  sk=<next attempt at>#<mention id>   (a mention whose text is still to fetch)
  delivery      pk=DELIVERY#<sha256 of the platform's delivery id>  sk=DELIVERY   (idempotency claim, TTL)
Conditional puts on the mention's key make a platform's resends and concurrent duplicates store once."""

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from itertools import islice
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data import is_condition_failure, plain, table
from socialcare.data.agents import AgentRecord, agent_key, item_to_record
from socialcare.errors import StorageUnavailable
from socialcare.models import Author, Mention, MentionStatus, Tombstone, mention_id, utc_now
from socialcare.settings import Table, load
from socialcare.singletons import one_per_process

MENTION_SK = "MENTION"
CUSTOMER_INDEX_KEY = "MENTIONS"
OURS_INDEX_KEY = "OURS"
PENDING_INDEX_KEY = "PENDING"
# Parallel conditional puts for large batches: BatchWriteItem cannot carry a condition, and a condition is
# what keeps a resent event from overwriting a mention that is already being handled.
PUT_CONCURRENCY = 16
CONVERSATION_INDEX_PREFIX = "CONVERSATION#"
TEXT_PENDING_PK = "TEXTPENDING"
DELIVERY_SK = "DELIVERY"
# Standard Webhooks senders retry for a few days at most; the claim outlives that, then TTL removes it.
DELIVERY_CLAIM_TTL = timedelta(days=7)
# DynamoDB refuses items over 400 KB and key values over 2048 (partition) / 1024 (sort) bytes. Ids go into
# keys (pk, gsi1sk, gsi3pk, gsi3sk), so ingest refuses longer ids and larger mentions with a 4xx up front: a
# ValidationException at write time would be a 5xx, and the platform would resend it for days.
MAX_ID_BYTES = 512
MAX_ITEM_BYTES = 350_000
# The largest page `list` asks for: a query page is at most 1 MB anyway.
QUERY_PAGE_MAX = 1000
# What still needs a human, for the team's open work (/team).
OPEN_STATUSES = (MentionStatus.NEW, MentionStatus.WAITING, MentionStatus.ASSIGNED, MentionStatus.OPENED)


def _mention_key(mention_identifier: str) -> dict[str, str]:
    return {"pk": f"MENTION#{mention_identifier}", "sk": MENTION_SK}


def sortable_time(moment: datetime) -> str:
    """Fixed-width UTC ISO time (microseconds always present), so string order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parallel_map[ItemT, ResultT](
    function: Callable[[ItemT], ResultT], items: list[ItemT], workers: int = PUT_CONCURRENCY
) -> list[ResultT]:
    """`function` over `items` on a few threads (one round trip each, overlapped); results in order."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(function, items))


def item_bytes(mention: Mention) -> int:
    """An upper bound of the mention's stored size (JSON escaping only overestimates it)."""
    return len(json.dumps(mention_to_item(mention), ensure_ascii=False).encode("utf-8"))


@dataclass(frozen=True)
class PendingText:
    """A mention whose text is still to be fetched, and when to try next."""

    mention_id: str
    due_at: str
    pending_since: datetime
    attempts: int

    @property
    def key(self) -> dict[str, str]:
        return {"pk": TEXT_PENDING_PK, "sk": f"{self.due_at}#{self.mention_id}"}


def mention_to_item(mention: Mention) -> dict[str, Any]:
    data = mention.model_dump(mode="json", exclude={"raw", "author"})
    item: dict[str, Any] = {k: v for k, v in data.items() if v is not None}
    item.update(_mention_key(mention.id))
    item["entity"] = "mention"
    item["author"] = mention.author.model_dump(mode="json", exclude_none=True)
    item["raw"] = json.dumps(mention.raw, ensure_ascii=False, separators=(",", ":"))
    item["gsi1pk"] = OURS_INDEX_KEY if mention.is_ours else CUSTOMER_INDEX_KEY
    item["gsi1sk"] = f"{item['received_at']}#{mention.id}"
    if not mention.is_ours and mention.status is MentionStatus.NEW:
        # Pending from the start: if dispatch never happens, the escalation sweep finds it.
        item["gsi2pk"] = PENDING_INDEX_KEY
        item["gsi2sk"] = item["received_at"]
    if mention.conversation_id:
        item["gsi3pk"] = CONVERSATION_INDEX_PREFIX + mention.conversation_id
        item["gsi3sk"] = f"{sortable_time(mention.created_at)}#{mention.id}"
    return item


def _stored_value(value: Any) -> Any:
    """Datetimes are stored as ISO strings in UTC (sortable), enums as their values."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_stored_value(v) for v in value]
    return value


def item_to_mention(item: dict[str, Any]) -> Mention:
    fields = {k: v for k, v in item.items() if k in Mention.model_fields}
    fields["author"] = Author.model_validate(plain(item.get("author", {})))
    fields["raw"] = json.loads(item.get("raw") or "{}")
    return Mention.model_validate(plain(fields))


class MentionStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put_if_new(self, mention: Mention) -> bool:
        """Store the mention unless the platform's id is already stored. True when it was new."""
        try:
            self._table.put_item(
                Item=mention_to_item(mention), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    def put_all_if_new(self, mentions: list[Mention]) -> list[Mention]:
        """Store each mention once; returns those that were new."""
        stored = parallel_map(self.put_if_new, mentions)
        return [m for m, new in zip(mentions, stored, strict=True) if new]

    def get(self, mention_identifier: str) -> Mention | None:
        try:
            item = self._table.get_item(Key=_mention_key(mention_identifier)).get("Item")
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error
        return item_to_mention(item) if item else None

    def get_many(self, mention_identifiers: Iterable[str]) -> dict[str, Mention]:
        """Batched read (BatchGetItem, 100 keys a call)."""
        wanted = list(dict.fromkeys(mention_identifiers))
        found: dict[str, Mention] = {}
        client = self._table.meta.client
        for start in range(0, len(wanted), 100):
            keys: list[dict[str, str]] = [_mention_key(i) for i in wanted[start : start + 100]]
            request: dict[str, Any] = {self._table.name: {"Keys": keys}}
            try:
                while request:
                    answer = client.batch_get_item(RequestItems=request)
                    for item in answer["Responses"].get(self._table.name, []):
                        mention = item_to_mention(item)
                        found[mention.id] = mention
                    request = answer.get("UnprocessedKeys") or {}
            except ClientError as error:
                raise StorageUnavailable(str(error)) from error
        return found

    def get_with_agent(
        self, mention_identifier: str, agent_email: str
    ) -> tuple[Mention | None, AgentRecord | None]:
        """The mention and the agent answering it in one BatchGetItem (a reply's post needs both), both read
        consistently, as AgentStore.get reads an agent."""
        mention_key, agent_key_ = _mention_key(mention_identifier), agent_key(agent_email)
        request: dict[str, Any] = {
            self._table.name: {"Keys": [mention_key, agent_key_], "ConsistentRead": True}
        }
        items: list[dict[str, Any]] = []
        try:
            while request:
                answer = self._table.meta.client.batch_get_item(RequestItems=request)
                items.extend(answer["Responses"].get(self._table.name, []))
                request = answer.get("UnprocessedKeys") or {}
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error
        found = {(item["pk"], item["sk"]): item for item in items}
        mention_item = found.get((mention_key["pk"], mention_key["sk"]))
        agent_item = found.get((agent_key_["pk"], agent_key_["sk"]))
        return (
            item_to_mention(mention_item) if mention_item else None,
            item_to_record(agent_item) if agent_item else None,
        )

    def transition(
        self,
        mention_identifier: str,
        *,
        set_fields: dict[str, Any] | None = None,
        remove_fields: tuple[str, ...] = (),
        expected: dict[str, Any] | None = None,
    ) -> bool:
        """One conditional update of a stored mention: set and remove fields only if every `expected` field
        still has its value (None: the field is absent). False when the condition failed, so callers can
        tell "somebody else did it first" (an overlapping escalation run, a second agent) from success.

        Lifecycle fields: status, priority, assigned_to, notified_at, escalation_level, waiting_reason,
        opened_at/by, answered_at/by, first_response_seconds; gsi2pk/gsi2sk ("PENDING", <due time>) mark a
        mention that still needs a human, for the escalation sweep."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        assignments = []
        for index, (field, value) in enumerate((set_fields or {}).items()):
            names[f"#s{index}"] = field
            values[f":s{index}"] = _stored_value(value)
            assignments.append(f"#s{index} = :s{index}")
        removals = []
        for index, field in enumerate(remove_fields):
            names[f"#r{index}"] = field
            removals.append(f"#r{index}")
        conditions = ["attribute_exists(pk)"]
        for index, (field, value) in enumerate((expected or {}).items()):
            names[f"#e{index}"] = field
            if value is None:
                conditions.append(f"attribute_not_exists(#e{index})")
            else:
                values[f":e{index}"] = _stored_value(value)
                conditions.append(f"#e{index} = :e{index}")
        expression = " ".join(
            part
            for part in (
                "SET " + ", ".join(assignments) if assignments else "",
                "REMOVE " + ", ".join(removals) if removals else "",
            )
            if part
        )
        if not expression:
            raise ValueError("transition needs fields to set or remove")
        arguments: dict[str, Any] = {
            "Key": _mention_key(mention_identifier),
            "UpdateExpression": expression,
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
        }
        if values:
            arguments["ExpressionAttributeValues"] = values
        try:
            self._table.update_item(**arguments)
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    def pending(self, due_before: datetime, limit: int = 500) -> list[Mention]:
        """Mentions that still need a human and are due (gsi2sk <= due_before), oldest first."""
        query: dict[str, Any] = {
            "IndexName": "gsi2",
            "KeyConditionExpression": "gsi2pk = :pending AND gsi2sk <= :due",
            "ExpressionAttributeValues": {":pending": PENDING_INDEX_KEY, ":due": _stored_value(due_before)},
        }
        return [item_to_mention(item) for item in islice(self._items(query), limit)]

    def open_work(self, since: datetime, limit: int = 500) -> list[Mention]:
        """Customer mentions received since `since` that still need a human (not answered, not gone),
        oldest first: the team's open work."""
        found = []
        for item in self._query_index(CUSTOMER_INDEX_KEY, since):
            if item.get("status") in OPEN_STATUSES:
                found.append(item_to_mention(item))
                if len(found) >= limit:
                    break
        return sorted(found, key=lambda m: (m.received_at, m.id))

    def take(self, mention_identifier: str, email: str, now: datetime, *, join: bool) -> bool:
        """An agent pressed "I'll take it": they are recorded as taking it now and, with `join`, added to the
        assignees. Conditional: the mention still needs a human, and `join` only when they are not assigned
        yet (so a double tap never lists them twice). False when the condition failed."""
        assignments = "taken_by = :email, taken_at = :now"
        membership = "NOT contains(assigned_to, :email)" if join else "contains(assigned_to, :email)"
        values: dict[str, Any] = {":email": email, ":now": _stored_value(now)}
        if join:
            assignments += ", assigned_to = list_append(if_not_exists(assigned_to, :none), :me)"
            values.update({":none": [], ":me": [email]})
            membership = f"(attribute_not_exists(assigned_to) OR {membership})"
        statuses = ", ".join(f":open{index}" for index in range(len(OPEN_STATUSES)))
        values.update({f":open{index}": status.value for index, status in enumerate(OPEN_STATUSES)})
        try:
            self._table.update_item(
                Key=_mention_key(mention_identifier),
                UpdateExpression=f"SET {assignments}",
                ConditionExpression=f"attribute_exists(pk) AND #status IN ({statuses}) AND {membership}",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    def replace_text(
        self,
        mention_identifier: str,
        old_text: str,
        new_text: str,
        edited_at: datetime,
        text_at: datetime | None = None,
    ) -> bool:
        """The customer edited what they wrote: set the new text (and `text_at`, the platform's time of the
        edit) and append the old one to edit_history ([{"text", "replaced_at"}], oldest first). Conditional
        on the stored text still being `old_text`, so two edits racing cannot lose one; False when that (or
        the mention's existence) no longer holds."""
        entry = {"text": old_text, "replaced_at": sortable_time(edited_at)}
        text_time = ", text_at = :text_at" if text_at is not None else ""
        arguments: dict[str, Any] = {
            "Key": _mention_key(mention_identifier),
            "UpdateExpression": (
                f"SET #text = :new, edited_at = :at{text_time}, "
                "edit_history = list_append(if_not_exists(edit_history, :empty), :entry)"
            ),
            "ConditionExpression": "attribute_exists(pk) AND #text = :old",
            "ExpressionAttributeNames": {"#text": "text"},
            "ExpressionAttributeValues": {
                ":new": new_text,
                ":old": old_text,
                ":at": sortable_time(edited_at),
                ":empty": [],
                ":entry": [entry],
            },
        }
        if text_at is not None:
            arguments["ExpressionAttributeValues"][":text_at"] = _stored_value(text_at)
        try:
            self._table.update_item(**arguments)
        except ClientError as error:
            if is_condition_failure(error):
                return False
            if error.response.get("Error", {}).get("Code") != "ValidationException":
                raise StorageUnavailable(str(error)) from error
            # The history made the item too large (many edits of a long text): keep only the latest entry.
            arguments["UpdateExpression"] = (
                f"SET #text = :new, edited_at = :at{text_time}, edit_history = :entry"
            )
            del arguments["ExpressionAttributeValues"][":empty"]
            try:
                self._table.update_item(**arguments)
            except ClientError as retry_error:
                if is_condition_failure(retry_error):
                    return False
                raise StorageUnavailable(str(retry_error)) from retry_error
        return True

    def record_late_edit(
        self, mention_identifier: str, text: str, text_at: datetime, received_at: datetime
    ) -> bool:
        """An edit older than the stored text (a late or reordered delivery) does not replace it, but what the
        customer wrote is kept: appended to edit_history as {"text", "written_at", "received_at",
        "out_of_order": true}, unless that text is the current one or already in the history (a resend).
        The append expects the history as read (its length), so a concurrent edit is never lost; False when
        nothing was added."""
        for _ in range(3):
            try:
                item = self._table.get_item(
                    Key=_mention_key(mention_identifier),
                    ConsistentRead=True,
                    ProjectionExpression="#text, edit_history",
                    ExpressionAttributeNames={"#text": "text"},
                ).get("Item")
            except ClientError as error:
                raise StorageUnavailable(str(error)) from error
            if item is None:
                return False
            history = item.get("edit_history") or []
            if text == item.get("text") or any(entry.get("text") == text for entry in history):
                return False
            entry = {
                "text": text,
                "written_at": sortable_time(text_at),
                "received_at": sortable_time(received_at),
                "out_of_order": True,
            }
            values: dict[str, Any] = {":entry": [entry]}
            if history:
                values[":count"] = len(history)
                update, as_read = "list_append(edit_history, :entry)", "size(edit_history) = :count"
            else:
                update, as_read = ":entry", "attribute_not_exists(edit_history)"
            try:
                self._table.update_item(
                    Key=_mention_key(mention_identifier),
                    UpdateExpression=f"SET edit_history = {update}",
                    ConditionExpression=f"attribute_exists(pk) AND {as_read}",
                    ExpressionAttributeValues=values,
                )
            except ClientError as error:
                if is_condition_failure(error):
                    continue  # another edit landed meanwhile: read again
                if error.response.get("Error", {}).get("Code") == "ValidationException":
                    return False  # the item would be too large: the text stays the latest one
                raise StorageUnavailable(str(error)) from error
            return True
        return False

    def fill_text(self, mention: Mention) -> bool:
        """Store the text (and author and time) fetched for a mention stored with text_pending. Conditional
        on it still being pending, so a late retry never overwrites a text that is already there."""
        values: dict[str, Any] = {
            ":text": mention.text,
            ":author": mention.author.model_dump(mode="json", exclude_none=True),
            ":created": _stored_value(mention.created_at),
            ":done": False,
            ":pending": True,
        }
        assignments = "#text = :text, author = :author, created_at = :created, text_pending = :done"
        if mention.conversation_id:
            values[":sk"] = f"{sortable_time(mention.created_at)}#{mention.id}"
            assignments += ", gsi3sk = :sk"
        try:
            self._table.update_item(
                Key=_mention_key(mention.id),
                UpdateExpression="SET " + assignments,
                ConditionExpression="attribute_exists(pk) AND text_pending = :pending",
                ExpressionAttributeNames={"#text": "text"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    # ---------------------------------------------------------------- texts still to fetch
    def add_pending_texts(self, mentions: list[Mention], due_at: datetime) -> None:
        """Remember mentions whose text is still to fetch. Written before the mentions themselves: a failure
        in between leaves a marker without a mention (the retry drops it), never a mention nobody retries."""
        now = utc_now()
        markers = [PendingText(m.id, sortable_time(due_at), now, 0) for m in mentions]
        parallel_map(self._put_pending_text, markers)

    def _put_pending_text(self, marker: PendingText) -> None:
        item = {
            **marker.key,
            "entity": "text_pending",
            "mention_id": marker.mention_id,
            "pending_since": sortable_time(marker.pending_since),
            "attempts": marker.attempts,
            # A safety net only: retry_pending_texts gives up (and deletes the marker) long before.
            "expires_at": int(marker.pending_since.timestamp()) + 7 * 86400,
        }
        try:
            self._table.put_item(Item=item)
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error

    def due_pending_texts(self, now: datetime, limit: int) -> list[PendingText]:
        """Markers whose next attempt is due, earliest first."""
        query: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND sk < :after",
            # sk starts with the fixed-width due time: sk < (now + 1 µs) means due at or before now.
            "ExpressionAttributeValues": {
                ":pk": TEXT_PENDING_PK,
                ":after": sortable_time(now + timedelta(microseconds=1)),
            },
            "Limit": limit,
        }
        try:
            items = self._table.query(**query).get("Items", [])
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error
        return [
            PendingText(
                mention_id=item["mention_id"],
                due_at=str(item["sk"]).split("#", 1)[0],
                pending_since=datetime.fromisoformat(str(item["pending_since"])),
                attempts=int(item.get("attempts", 0)),
            )
            for item in items
        ][:limit]

    def reschedule_pending_text(self, marker: PendingText, due_at: datetime) -> None:
        """Try again at `due_at` (one more attempt counted). The new marker is written before the old one is
        deleted: a failure in between leaves two, and the second finds the work done or does it again."""
        self._put_pending_text(
            PendingText(marker.mention_id, sortable_time(due_at), marker.pending_since, marker.attempts + 1)
        )
        self.drop_pending_text(marker)

    def drop_pending_text(self, marker: PendingText) -> None:
        try:
            self._table.delete_item(Key=marker.key)
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error

    # ---------------------------------------------------------------- deliveries
    def claim_delivery(self, delivery_id: str, fingerprint: str) -> bool:
        """Record that the platform's delivery `delivery_id` carried the content `fingerprint`. True the first
        time, and again for a resend with the same content (so a resend after a failed attempt still stores
        it); False when the same delivery id comes back with other content: that is not stored."""
        digest = hashlib.sha256(delivery_id.encode("utf-8")).hexdigest()
        item = {
            "pk": f"DELIVERY#{digest}",
            "sk": DELIVERY_SK,
            "entity": "delivery",
            "delivery_id": delivery_id[:256],
            "fingerprint": fingerprint,
            "expires_at": int(time.time() + DELIVERY_CLAIM_TTL.total_seconds()),
        }
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR fingerprint = :fingerprint",
                ExpressionAttributeValues={":fingerprint": fingerprint},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    def mark_all_gone(self, tombstones: list[Tombstone]) -> int:
        """mark_gone for each, overlapped; how many were stored."""
        return sum(parallel_map(self.mark_gone, tombstones))

    def mark_gone(self, tombstone: Tombstone) -> bool:
        """Mark a stored mention deleted or removed; False when we never stored it."""
        return self.transition(
            mention_id(tombstone.platform, tombstone.external_id), set_fields={"status": tombstone.status}
        )

    def conversation(self, conversation_id: str, limit: int = 1000) -> list[Mention]:
        """Every mention of a conversation, ours included, oldest first."""
        query: dict[str, Any] = {
            "IndexName": "gsi3",
            "KeyConditionExpression": "gsi3pk = :conversation",
            "ExpressionAttributeValues": {":conversation": CONVERSATION_INDEX_PREFIX + conversation_id},
            "ScanIndexForward": True,
        }
        mentions = [item_to_mention(item) for item in islice(self._items(query), limit)]
        mentions.sort(key=lambda m: (m.created_at, m.id))
        return mentions[:limit]

    def list(
        self,
        *,
        include_ours: bool = False,
        platform: str | None = None,
        status: MentionStatus | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[Mention]:
        """Newest first, at most `limit`: each index is read newest first, page by page, only until it gave
        `limit` matches, so a short list costs a page however many mentions the table holds."""
        index_keys = [CUSTOMER_INDEX_KEY, OURS_INDEX_KEY] if include_ours else [CUSTOMER_INDEX_KEY]
        mentions: list[Mention] = []
        for index_key in index_keys:
            matches = (
                mention
                for mention in map(item_to_mention, self._query_index(index_key, since, page_size=limit))
                if (not platform or mention.platform == platform) and (not status or mention.status == status)
            )
            mentions += islice(matches, limit)
        mentions.sort(key=lambda m: (m.received_at, m.id), reverse=True)
        return mentions[:limit]

    def _query_index(
        self, index_key: str, since: datetime | None, page_size: int | None = None
    ) -> Iterator[dict[str, Any]]:
        condition = "gsi1pk = :pk"
        values: dict[str, Any] = {":pk": index_key}
        if since is not None:
            condition += " AND gsi1sk >= :since"
            # gsi1sk starts with the ISO time pydantic writes: compare on a UTC, second-precision prefix.
            values[":since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        query: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
        }
        if page_size is not None:
            query["Limit"] = min(page_size, QUERY_PAGE_MAX)
        yield from self._items(query)

    def _items(self, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item a query finds, page after page, read lazily: a caller that stops early reads no more."""
        try:
            while True:
                page = self._table.query(**query)
                yield from page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    return
                query = {**query, "ExclusiveStartKey": page["LastEvaluatedKey"]}
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error


@one_per_process
def get_mention_store() -> MentionStore:
    """The store of this function's table, created once per execution environment."""
    return MentionStore(table(load(Table).table_name))
