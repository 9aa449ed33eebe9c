"""Mentions in the table (keys and indexes: socialcare.data.table_map): the mention itself, the marker of a
mention whose text is still to fetch, and the idempotency claim of a platform's delivery.
Conditional puts on the mention's key make a platform's resends and concurrent duplicates store once; every
change of a mention's status is conditional on the status it comes from (models.MENTION_TRANSITIONS)."""

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data import table_map
from socialcare.data.agents import AgentRecord, item_to_record
from socialcare.data.dynamo import (
    Update,
    is_condition_failure,
    plain,
    put_if_absent,
    query_items,
    storage_errors,
    stored,
    succeeded,
    table,
    update,
)
from socialcare.data.mention_feed import feed_items, newest_items
from socialcare.data.table_map import (
    CONVERSATIONS,
    PENDING,
    PENDING_PARTITION,
    TEXT_PENDING_PK,
    agent_key,
    conversation_entry,
    mention_id_of_key,
    mention_key,
    mention_list_entry,
    pending_entry,
    sortable_time,
)
from socialcare.errors import StorageUnavailable
from socialcare.models import (
    MENTION_TRANSITIONS,
    Author,
    Mention,
    MentionStatus,
    Tombstone,
    mention_id,
    utc_now,
)
from socialcare.settings import Table, load
from socialcare.singletons import one_per_process

MENTION_SK = "MENTION"
CUSTOMER_INDEX_KEY = table_map.MENTIONS_LIST
# Parallel conditional puts for large batches: BatchWriteItem cannot carry a condition, and a condition is
# what keeps a resent event from overwriting a mention that is already being handled.
PUT_CONCURRENCY = 16
# Standard Webhooks senders retry for a few days at most; the claim outlives that, then TTL removes it.
DELIVERY_CLAIM_TTL = timedelta(days=7)
# DynamoDB refuses items over 400 KB and key values over 2048 (partition) / 1024 (sort) bytes. Ids go into
# keys (pk, gsi1sk, gsi3pk, gsi3sk), so ingest refuses longer ids and larger mentions with a 4xx up front: a
# ValidationException at write time would be a 5xx, and the platform would resend it for days.
MAX_ID_BYTES = 512
MAX_ITEM_BYTES = 350_000
# What still needs a human, for the team's open work (/team).
OPEN_STATUSES = (MentionStatus.NEW, MentionStatus.WAITING, MentionStatus.ASSIGNED, MentionStatus.OPENED)


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


def fits_in_an_item(mention: Mention) -> bool:
    """Whether the mention can be stored (MAX_ITEM_BYTES). Its item's JSON is at most twice its model's
    JSON (`raw` is stored as a string of its JSON, each character escaped to two at most) plus its keys and
    index entries, a few ids that ingest limits to MAX_ID_BYTES: a mention well below the limit that way
    (six times, for margin) is not built into an item to be measured, which cost a webhook's delivery
    more than its own JSON parse."""
    quick = 6 * len(mention.model_dump_json()) + 16 * MAX_ID_BYTES
    return quick <= MAX_ITEM_BYTES or item_bytes(mention) <= MAX_ITEM_BYTES


@dataclass(frozen=True)
class PendingText:
    """A mention whose text is still to be fetched, and when to try next."""

    mention_id: str
    due_at: str
    pending_since: datetime
    attempts: int

    @property
    def key(self) -> dict[str, str]:
        return table_map.text_pending_key(self.due_at, self.mention_id)


# Fields not stored while they hold the model's default (reading fills it in again): a new mention's item
# stays small, and a put costs per attribute. No condition reads them as stored.
UNSTORED_DEFAULTS: dict[str, Any] = {"is_ours": False, "text_pending": False, "assigned_to": []}


def mention_to_item(mention: Mention) -> dict[str, Any]:
    # `id` is platform and external_id together (models.mention_id): the key holds it already.
    data = mention.model_dump(mode="json", exclude={"raw", "author", "id"})
    item: dict[str, Any] = {k: v for k, v in data.items() if v is not None and UNSTORED_DEFAULTS.get(k) != v}
    item.update(mention_key(mention.id))
    item["entity"] = "mention"
    item["author"] = author_item(mention.author)
    item["raw"] = json.dumps(mention.raw, ensure_ascii=False, separators=(",", ":"))
    item.update(mention_list_entry(mention.is_ours, item["received_at"], mention.id))
    if not mention.is_ours and mention.status is MentionStatus.NEW:
        # Pending from the start: if dispatch never happens, the escalation sweep finds it.
        item.update(pending_entry(item["received_at"]))
    if mention.conversation_id:
        item.update(conversation_entry(mention.conversation_id, mention.created_at, mention.id))
    return item


def author_item(author: Author) -> dict[str, Any]:
    return author.model_dump(mode="json", exclude_defaults=True)  # verified: false and the Nones left out


def item_to_mention(item: dict[str, Any]) -> Mention:
    fields = {k: v for k, v in item.items() if k in Mention.model_fields}
    fields["author"] = Author.model_validate(plain(item.get("author", {})))
    fields["raw"] = json.loads(item.get("raw") or "{}")
    return Mention.model_validate(plain(fields))


def mention_id_of_image(image: Mapping[str, Any]) -> str | None:
    """The mention id in a table stream record's image, or None if the item is not a mention."""
    if image.get("entity") != "mention" or not image.get("platform") or not image.get("external_id"):
        return None
    return mention_id(str(image["platform"]), str(image["external_id"]))


def mention_of_image(image: Mapping[str, Any]) -> Mention | None:
    """The mention a table stream record's image holds, or None when it does not parse."""
    try:
        return item_to_mention(dict(image))
    except Exception:
        return None


def status_condition(target: MentionStatus, names: dict[str, str], values: dict[str, Any]) -> str:
    """The condition that the mention's status may change to `target` (models.MENTION_TRANSITIONS), with its
    placeholders added to `names` and `values`."""
    sources = sorted(MENTION_TRANSITIONS.get(target, frozenset()))
    if not sources:
        raise ValueError(f"no mention becomes {target.value} by an update")
    names["#status"] = "status"
    placeholders = []
    for index, source in enumerate(sources):
        values[f":from{index}"] = source.value
        placeholders.append(f":from{index}")
    return f"#status IN ({', '.join(placeholders)})"


def transition_update(
    set_fields: dict[str, Any], remove_fields: tuple[str, ...], expected: dict[str, Any]
) -> Update:
    """A mention's conditional update: its fields, the `expected` values, and a status change only from a
    status it may come from."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    target = check_transition(set_fields, expected)
    conditions = [status_condition(target, names, values)] if target is not None else []
    return Update(
        set_fields, remove_fields, expected=expected, conditions=conditions, names=names, values=values
    )


def check_transition(set_fields: dict[str, Any], expected: dict[str, Any]) -> MentionStatus | None:
    """The status a transition moves to, if it moves it; a ValueError for one the map does not allow from
    the status it expects (a bug, not a race)."""
    if "status" not in set_fields:
        return None
    target = MentionStatus(set_fields["status"])
    before = expected.get("status")
    if before is not None and MentionStatus(before) not in MENTION_TRANSITIONS.get(target, frozenset()):
        raise ValueError(f"a mention does not go from {before} to {target.value}")
    return target


class MentionStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put_if_new(self, mention: Mention) -> bool:
        """Store the mention unless the platform's id is already stored. True when it was new."""
        return put_if_absent(self._table, mention_to_item(mention))

    def put_all_if_new(self, mentions: list[Mention]) -> list[Mention]:
        """Store each mention once; returns those that were new."""
        stored = parallel_map(self.put_if_new, mentions)
        return [m for m, new in zip(mentions, stored, strict=True) if new]

    def get(self, mention_identifier: str) -> Mention | None:
        with storage_errors():
            item = self._table.get_item(Key=mention_key(mention_identifier)).get("Item")
        return item_to_mention(item) if item else None

    def get_many(self, mention_identifiers: Iterable[str]) -> dict[str, Mention]:
        """Batched read (BatchGetItem, 100 keys a call)."""
        found = (item_to_mention(item) for item in self._batch_items(mention_identifiers, {}))
        return {mention.id: mention for mention in found}

    def statuses(self, mention_identifiers: Iterable[str]) -> dict[str, MentionStatus]:
        """Each stored mention's status, and nothing else of it (BatchGetItem, 100 keys a call): what a
        capacity check needs, without whole mentions to transfer and parse. Mentions not stored are absent."""
        projection = {
            "ProjectionExpression": "pk, #status",
            "ExpressionAttributeNames": {"#status": "status"},
        }
        return {
            mention_id_of_key(str(item["pk"])): MentionStatus(item["status"])
            for item in self._batch_items(mention_identifiers, projection)
        }

    def _batch_items(
        self, mention_identifiers: Iterable[str], options: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The stored mentions' items, 100 keys a BatchGetItem, each with `options` (a projection)."""
        wanted = list(dict.fromkeys(mention_identifiers))
        items: list[dict[str, Any]] = []
        for start in range(0, len(wanted), 100):
            keys: list[dict[str, str]] = [mention_key(i) for i in wanted[start : start + 100]]
            request: dict[str, Any] = {self._table.name: {"Keys": keys, **options}}
            with storage_errors():
                while request:
                    answer = self._table.batch_get_item(RequestItems=request)
                    items.extend(answer["Responses"].get(self._table.name, []))
                    request = answer.get("UnprocessedKeys") or {}
        return items

    def get_with_agent(
        self, mention_identifier: str, agent_email: str
    ) -> tuple[Mention | None, AgentRecord | None]:
        """The mention and the agent answering it in one BatchGetItem (a reply's post needs both), both read
        consistently, as AgentStore.get reads an agent."""
        mention_key_, agent_key_ = mention_key(mention_identifier), agent_key(agent_email)
        request: dict[str, Any] = {
            self._table.name: {"Keys": [mention_key_, agent_key_], "ConsistentRead": True}
        }
        items: list[dict[str, Any]] = []
        with storage_errors():
            while request:
                answer = self._table.batch_get_item(RequestItems=request)
                items.extend(answer["Responses"].get(self._table.name, []))
                request = answer.get("UnprocessedKeys") or {}
        found = {(item["pk"], item["sk"]): item for item in items}
        mention_item = found.get((mention_key_["pk"], mention_key_["sk"]))
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
        escalate_at: datetime | None = None,
        stop_escalating: bool = False,
    ) -> bool:
        """One conditional update of a stored mention: set and remove fields only if every `expected` field
        still has its value (None: the field is absent), and a new status only from a status it may come
        from (models.MENTION_TRANSITIONS). False when the condition failed, so callers can tell "somebody
        else did it first" (an overlapping escalation run, a second agent) from success.

        Lifecycle fields: status, priority, assigned_to, notified_at, escalation_level, waiting_reason,
        opened_at/by, answered_at/by, first_response_seconds. `escalate_at` puts the mention on the escalation
        sweep's index (or moves it there) due at that time; `stop_escalating` takes it off."""
        fields = dict(set_fields or {})
        removals = tuple(remove_fields)
        if escalate_at is not None:
            fields.update(pending_entry(escalate_at))
        if stop_escalating:
            removals += PENDING.attributes
        change = transition_update(fields, removals, expected or {})
        return update(self._table, mention_key(mention_identifier), change)

    def schedule_escalation(self, mention_identifier: str, due: datetime, expected: dict[str, Any]) -> bool:
        """Put the mention on the escalation sweep's index, due at `due` (or move it there)."""
        return self.transition(mention_identifier, expected=expected, escalate_at=due)

    def stop_escalation(self, mention_identifier: str, expected: dict[str, Any]) -> bool:
        """Take the mention off the escalation sweep's index: nothing is left to escalate."""
        return self.transition(mention_identifier, expected=expected, stop_escalating=True)

    def mark_opened(
        self, mention_identifier: str, by: str, now: datetime, answer_due: datetime, was: MentionStatus
    ) -> bool:
        """An agent said "I'm on it": opened by them now, and due on the sweep's index when its answer is
        (its unopened escalation stops). Only from the status `was` it was read with."""
        return self.transition(
            mention_identifier,
            set_fields={"status": MentionStatus.OPENED, "opened_at": now, "opened_by": by},
            expected={"status": was},
            escalate_at=answer_due,
        )

    def pending(self, due_before: datetime, limit: int = 500) -> list[Mention]:
        """Mentions that still need a human and are due (on the sweep's index up to due_before), oldest
        first."""
        query = PENDING.query(PENDING_PARTITION, sort_until=stored(due_before))
        return [item_to_mention(item) for item in query_items(self._table, query, limit=limit)]

    def open_work(self, since: datetime, limit: int = 500) -> list[Mention]:
        """Customer mentions received since `since` that still need a human (not answered, not gone),
        oldest first: the team's open work."""
        found = []
        for item in feed_items(self._table, CUSTOMER_INDEX_KEY, since):
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
        values: dict[str, Any] = {":email": email, ":now": stored(now)}
        if join:
            assignments += ", assigned_to = list_append(if_not_exists(assigned_to, :none), :me)"
            values.update({":none": [], ":me": [email]})
            membership = f"(attribute_not_exists(assigned_to) OR {membership})"
        statuses = ", ".join(f":open{index}" for index in range(len(OPEN_STATUSES)))
        values.update({f":open{index}": status.value for index, status in enumerate(OPEN_STATUSES)})
        return succeeded(
            lambda: self._table.update_item(
                Key=mention_key(mention_identifier),
                UpdateExpression=f"SET {assignments}",
                ConditionExpression=f"attribute_exists(pk) AND #status IN ({statuses}) AND {membership}",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        )

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
            "Key": mention_key(mention_identifier),
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
            arguments["ExpressionAttributeValues"][":text_at"] = stored(text_at)
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
                    Key=mention_key(mention_identifier),
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
                    Key=mention_key(mention_identifier),
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
            ":author": author_item(mention.author),
            ":created": stored(mention.created_at),
            ":done": False,
            ":pending": True,
        }
        assignments = "#text = :text, author = :author, created_at = :created, text_pending = :done"
        if mention.conversation_id:
            # Its place in the conversation moves to the time the platform gave it.
            entry = conversation_entry(mention.conversation_id, mention.created_at, mention.id)
            values[":sk"] = entry[CONVERSATIONS.sort]
            assignments += f", {CONVERSATIONS.sort} = :sk"
        return succeeded(
            lambda: self._table.update_item(
                Key=mention_key(mention.id),
                UpdateExpression="SET " + assignments,
                ConditionExpression="attribute_exists(pk) AND text_pending = :pending",
                ExpressionAttributeNames={"#text": "text"},
                ExpressionAttributeValues=values,
            )
        )

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
        with storage_errors():
            self._table.put_item(Item=item)

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
        with storage_errors():
            items = self._table.query(**query).get("Items", [])
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
        with storage_errors():
            self._table.delete_item(Key=marker.key)

    # ---------------------------------------------------------------- deliveries
    def claim_delivery(self, delivery_id: str, fingerprint: str) -> bool:
        """Record that the platform's delivery `delivery_id` carried the content `fingerprint`. True the first
        time, and again for a resend with the same content (so a resend after a failed attempt still stores
        it); False when the same delivery id comes back with other content: that is not stored."""
        digest = hashlib.sha256(delivery_id.encode("utf-8")).hexdigest()
        item = {
            **table_map.delivery_key(digest),
            "entity": "delivery",
            "delivery_id": delivery_id[:256],
            "fingerprint": fingerprint,
            "expires_at": int(time.time() + DELIVERY_CLAIM_TTL.total_seconds()),
        }
        return succeeded(
            lambda: self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR fingerprint = :fingerprint",
                ExpressionAttributeValues={":fingerprint": fingerprint},
            )
        )

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
        mentions = [item_to_mention(item) for item in self.conversation_items(conversation_id, limit)]
        mentions.sort(key=lambda m: (m.created_at, m.id))
        return mentions[:limit]

    def conversation_items(self, conversation_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        """A conversation's mention items as stored, oldest first (for the data modules that read more of
        them than the Mention model holds)."""
        query = CONVERSATIONS.query(table_map.CONVERSATION_PREFIX + conversation_id)
        return list(query_items(self._table, query, limit=limit))

    def list(
        self,
        *,
        include_ours: bool = False,
        platform: str | None = None,
        status: MentionStatus | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[Mention]:
        """Newest first, at most `limit` (socialcare.data.mention_feed reads them)."""
        items = newest_items(
            self._table,
            include_ours=include_ours,
            platform=platform,
            status=status.value if status else None,
            since=since,
            limit=limit,
        )
        return [item_to_mention(item) for item in items]


@one_per_process
def get_mention_store() -> MentionStore:
    """The store of this function's table, created once per execution environment."""
    return MentionStore(table(load(Table).table_name))
