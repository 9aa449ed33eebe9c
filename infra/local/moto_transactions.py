"""Transactions in moto that cost the items they touch, and roll back in place.

moto's `transact_write_items` deep-copies every table a transaction names before applying it, and on a
cancelled transaction puts the copies in place of the tables. Both hurt: each transaction costs the size of
the table (the local stack's ingest slowed as it grew, and so did the tests), and a reader holding the table
(a stream poller, a request served meanwhile) kept reading the discarded one. Here the transaction keeps each
item it is about to write as it was before, and the length of each stream; a cancelled transaction puts back
exactly those items and drops exactly those stream records, in the same table objects. The rest is moto's
code, step for step: the same checks in the same order, the same cancellation reasons.

The replaced function is pinned by its source: a moto whose `transact_write_items` changed stops `install()`
with a message, instead of silently answering with an outdated copy of it."""

import copy
import hashlib
import inspect
from typing import Any

import moto
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamShard, Table

from infra.local import moto_indexes

WRITTEN_FOR = "5.2.5"
# sha256 of the source of moto's DynamoDBBackend.transact_write_items this module replaces (moto 5.2.5).
REPLACED_SOURCE_SHA256 = "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4"
_installed: list[bool] = []

ItemKey = tuple[int, DynamoType, DynamoType | None]


class _ConditionFailed(ConditionalCheckFailed):
    """moto's ConditionalCheckFailed, keeping the old item it reports (ReturnValuesOnConditionCheck...)."""

    def __init__(self, old_item: dict[str, Any] | None) -> None:
        super().__init__(item=old_item)
        self.old_item = old_item


class _Undo:
    """What a transaction changed, as it was before: each touched item (None: absent), each stream's end."""

    def __init__(self) -> None:
        self.items: dict[ItemKey, tuple[Table, Item | None]] = {}
        self.streams: dict[int, tuple[StreamShard, list[Any], int]] = {}

    def remember(
        self, table: Table, hash_key: DynamoType, range_key: DynamoType | None, before: Item | None
    ) -> None:
        key = (id(table), hash_key, range_key)
        if key not in self.items:  # moto updates an item in place: keep a copy of it
            self.items[key] = (table, copy.deepcopy(before))
        shard = table.stream_shard
        if shard is not None and id(shard) not in self.streams:
            self.streams[id(shard)] = (shard, shard.items, len(shard.items))

    def restore(self) -> None:
        for (_, hash_key, range_key), (table, before) in self.items.items():
            _put_back(table, hash_key, range_key, before)
            moto_indexes.restored(table, hash_key, range_key, before)
        for shard, records, length in self.streams.values():
            if shard.items is records:  # not handed to a Lambda event source mapping meanwhile
                del records[length:]


def _put_back(table: Table, hash_key: DynamoType, range_key: DynamoType | None, before: Item | None) -> None:
    if range_key is None:
        if before is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = before  # type: ignore[assignment]
    elif before is None:
        table.items.get(hash_key, {}).pop(range_key, None)
    else:
        table.items[hash_key][range_key] = before


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    attrs = op["Item"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _apply(
    backend: DynamoDBBackend, entry: dict[str, Any], targets: set[tuple[str, str]], undo: _Undo
) -> None:
    """One action of the transaction, as moto applies it, remembering the item before writing it."""
    if len(list(entry.keys())) > 1:
        raise TransactWriteSingleOpException
    op_type, op = next(iter(entry.items()))
    if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
        raise ValueError("Unsupported transaction operation")
    table_name = op["TableName"]
    condition = op.get("ConditionExpression")
    names = op.get("ExpressionAttributeNames")
    values = op.get("ExpressionAttributeValues")
    key = _key_of(backend, op_type, op)
    target = (str(table_name), str(dict(sorted(key.items()))))
    if target in targets:
        raise MultipleTransactionsException()
    targets.add(target)
    current = backend.get_item(table_name, key)
    if condition is not None and not get_filter_expression(condition, names, values).expr(current):
        old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current
        raise _ConditionFailed(current.to_json()["Attributes"] if old and current else None)
    if op_type == "ConditionCheck":
        return
    table = backend.get_table(table_name)
    undo.remember(table, *backend.get_keys_value(table, key), current)
    expression = {
        "condition_expression": condition,
        "expression_attribute_names": names,
        "expression_attribute_values": values,
    }
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **expression)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **expression)
    else:
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **expression)


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo = _Undo()
    targets: set[tuple[str, str]] = set()
    errors: list[tuple[str, str, dict[str, Any] | None] | tuple[None, None, None]] = []
    for entry in transact_items:
        try:
            _apply(self, entry, targets, undo)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo.restore()
            raise
        except ConditionalCheckFailed as failed:
            errors.append(("ConditionalCheckFailed", str(failed.message), getattr(failed, "old_item", None)))
        except Exception as error:  # moto reports any other failure as the action's reason
            errors.append((type(error).__name__, str(error), None))
    if any(code is not None for code, _, _ in errors):
        undo.restore()
        raise TransactionCanceledException(errors)


# moto's own, as imported: what the pin is checked against (and what tests compare this module with).
MOTO_TRANSACT_WRITE_ITEMS = DynamoDBBackend.transact_write_items


def ensure_replaceable(function: Any) -> None:
    """Stop, naming the versions, unless `function` is the moto code this module was written against."""
    source_sha256 = hashlib.sha256(inspect.getsource(function).encode()).hexdigest()
    if source_sha256 != REPLACED_SOURCE_SHA256:
        raise RuntimeError(
            f"moto {moto.__version__}: DynamoDBBackend.transact_write_items is not the one "
            f"infra/local/moto_transactions.py replaces (moto {WRITTEN_FOR}); compare the two and update it"
        )


def install() -> None:
    """Once per process, before moto answers its first request (the local stack, the tests' mock_aws)."""
    if _installed:
        return
    ensure_replaceable(MOTO_TRANSACT_WRITE_ITEMS)
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed.append(True)
