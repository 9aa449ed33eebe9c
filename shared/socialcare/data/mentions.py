"""Mentions in the table:
  mention       pk=MENTION#<platform>-<external id>  sk=MENTION   gsi1: MENTIONS|OURS / <received_at>#<id>
Conditional puts on the mention's key make a platform's resends and concurrent duplicates store once."""

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data import is_condition_failure, plain, table
from socialcare.errors import StorageUnavailable
from socialcare.models import Author, Mention, MentionStatus, Tombstone, mention_id
from socialcare.settings import get_settings

MENTION_SK = "MENTION"
CUSTOMER_INDEX_KEY = "MENTIONS"
OURS_INDEX_KEY = "OURS"
PENDING_INDEX_KEY = "PENDING"
# Parallel conditional puts for large batches: BatchWriteItem cannot carry a condition, and a condition is
# what keeps a resent event from overwriting a mention that is already being handled.
PUT_CONCURRENCY = 16


def _mention_key(mention_identifier: str) -> dict[str, str]:
    return {"pk": f"MENTION#{mention_identifier}", "sk": MENTION_SK}


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
        if len(mentions) <= 1:
            return [m for m in mentions if self.put_if_new(m)]
        with ThreadPoolExecutor(max_workers=min(PUT_CONCURRENCY, len(mentions))) as pool:
            stored = list(pool.map(self.put_if_new, mentions))
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
        mentions: list[Mention] = []
        try:
            while len(mentions) < limit:
                page = self._table.query(**query)
                mentions.extend(item_to_mention(item) for item in page.get("Items", []))
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error
        return mentions[:limit]

    def mark_gone(self, tombstone: Tombstone) -> bool:
        """Mark a stored mention deleted or removed; False when we never stored it."""
        try:
            self._table.update_item(
                Key=_mention_key(mention_id(tombstone.platform, tombstone.external_id)),
                UpdateExpression="SET #status = :status",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":status": tombstone.status.value},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable(str(error)) from error
        return True

    def list(
        self,
        *,
        include_ours: bool = False,
        platform: str | None = None,
        status: MentionStatus | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[Mention]:
        """Newest first."""
        index_keys = [CUSTOMER_INDEX_KEY, OURS_INDEX_KEY] if include_ours else [CUSTOMER_INDEX_KEY]
        mentions: list[Mention] = []
        for index_key in index_keys:
            for item in self._query_index(index_key, since):
                mention = item_to_mention(item)
                if platform and mention.platform != platform:
                    continue
                if status and mention.status != status:
                    continue
                mentions.append(mention)
        mentions.sort(key=lambda m: (m.received_at, m.id), reverse=True)
        return mentions[:limit]

    def _query_index(self, index_key: str, since: datetime | None) -> Iterator[dict[str, Any]]:
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
        try:
            while True:
                page = self._table.query(**query)
                yield from page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    return
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except ClientError as error:
            raise StorageUnavailable(str(error)) from error


@lru_cache(maxsize=1)
def get_mention_store() -> MentionStore:
    """The store of this function's table, created once per execution environment."""
    return MentionStore(table(get_settings().table_name))
