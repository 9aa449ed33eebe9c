"""How every store talks to DynamoDB: one client per process, one mapping of errors, one way to page a
query, to build an update and to run a transaction.

A store's table is a `Table`: the low-level client with Python values in and out (numbers as Decimal, as
boto3's resource gives them). The resource layer did the same conversion by walking each operation's model
on every call, and cost a tenth of a second to set up in every process (the command line reads once).

Transactions (`transact`) follow one policy: a transaction cancelled only because another transaction was
working on the same items (`TransactionConflict`) is tried again, TRANSACTION_TRIES times in all, after a
pause with full jitter (random, up to TRANSACTION_BACKOFF_S doubled each time), so writers that collided do
not collide again in step. A condition that failed is an answer, not an error: the caller gets the indexes of
the writes whose condition failed (nothing was written). Anything else, or conflicts past the last try, is
StorageUnavailable (the caller's function fails and its event is retried)."""

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import ClientError

from socialcare.aws_clients import client as aws_client
from socialcare.data.attribute_values import from_attribute, to_attribute
from socialcare.errors import StorageUnavailable
from socialcare.singletons import one_per_process

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

CONDITION_FAILED = "ConditionalCheckFailed"
TRANSACTION_CONFLICT = "TransactionConflict"
TRANSACTION_TRIES = 6
TRANSACTION_BACKOFF_S = 0.025  # the first pause is up to this; each further one up to twice the last
MAX_TRANSACTION_ACTIONS = 100  # DynamoDB's limit of actions in one TransactWriteItems


# ---------------------------------------------------------------- the table
@one_per_process
def client() -> "DynamoDBClient":
    """This process's DynamoDB client: every store's table shares its connections.

    Without botocore's check of each request against the API's model: every request is built here, by
    `Table`, and DynamoDB checks each one itself (a ValidationException). The check walked every attribute of
    every item, a twentieth of a warm webhook's time; botocore offers the switch for this reason."""
    dynamodb: DynamoDBClient = aws_client("dynamodb", Config(parameter_validation=False))
    return dynamodb


def table(table_name: str) -> "Table":
    return Table(client(), table_name)


# The request parameters that hold items, keys or values (each a map of attributes) and the answers' ones.
_ATTRIBUTE_MAPS = ("Item", "Key", "ExpressionAttributeValues", "ExclusiveStartKey")


def to_wire(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Python values as DynamoDB's attribute values ({"S": ...}, {"N": ...}, ...)."""
    return {name: to_attribute(value) for name, value in attributes.items()}


def from_wire(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB's attribute values as Python values (numbers as Decimal)."""
    return {name: from_attribute(value) for name, value in attributes.items()}


def _request(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {name: to_wire(value) if name in _ATTRIBUTE_MAPS else value for name, value in arguments.items()}


def _keys_request(request: Mapping[str, Any], convert: Callable[[Mapping[str, Any]], Any]) -> dict[str, Any]:
    """A BatchGetItem's RequestItems (or its UnprocessedKeys) with each key converted."""
    return {
        name: {**reads, "Keys": [convert(key) for key in reads["Keys"]]} for name, reads in request.items()
    }


class Table:
    """One table through the low-level client, with Python values in and out: the calls the stores make,
    with the arguments and answers of boto3's Table resource (an error's response stays as DynamoDB sent
    it, as the resource left it)."""

    def __init__(self, dynamodb: "DynamoDBClient", name: str) -> None:
        self.client = dynamodb
        self.name = name

    def _call(self, operation: Callable[..., Any], arguments: Mapping[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = operation(TableName=self.name, **_request(arguments))
        for name in ("Item", "Attributes", "LastEvaluatedKey"):
            if name in answer:
                answer[name] = from_wire(answer[name])
        if "Items" in answer:
            answer["Items"] = [from_wire(item) for item in answer["Items"]]
        return answer

    def get_item(self, **arguments: Any) -> dict[str, Any]:
        return self._call(self.client.get_item, arguments)

    def put_item(self, **arguments: Any) -> dict[str, Any]:
        return self._call(self.client.put_item, arguments)

    def update_item(self, **arguments: Any) -> dict[str, Any]:
        return self._call(self.client.update_item, arguments)

    def delete_item(self, **arguments: Any) -> dict[str, Any]:
        return self._call(self.client.delete_item, arguments)

    def query(self, **arguments: Any) -> dict[str, Any]:
        return self._call(self.client.query, arguments)

    def scan(self, **arguments: Any) -> dict[str, Any]:
        return self._call(self.client.scan, arguments)

    def batch_get_item(self, RequestItems: Mapping[str, Any]) -> dict[str, Any]:
        """BatchGetItem of any tables' keys (this table's, in the stores): Responses and UnprocessedKeys in
        Python values, so the unprocessed keys can be asked for again as they are."""
        answer = self.client.batch_get_item(RequestItems=_keys_request(RequestItems, to_wire))
        responses = answer.get("Responses", {})
        return {
            **answer,
            "Responses": {name: [from_wire(item) for item in items] for name, items in responses.items()},
            "UnprocessedKeys": _keys_request(answer.get("UnprocessedKeys") or {}, from_wire),
        }

    def transact_write_items(self, TransactItems: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        items = [
            {operation: _request(request) for operation, request in write.items()} for write in TransactItems
        ]
        return dict(self.client.transact_write_items(TransactItems=items))  # type: ignore[arg-type]


# ---------------------------------------------------------------- errors
def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code") or "")


def cancellation_codes(error: ClientError) -> list[str]:
    """The reason of each write of a cancelled transaction, in order ("None" for those that were fine)."""
    reasons = error.response.get("CancellationReasons") or []
    return [str(reason.get("Code") or "None") for reason in reasons]


def is_condition_failure(error: ClientError) -> bool:
    return error_code(error) in ("ConditionalCheckFailedException", "TransactionCanceledException")


@contextmanager
def storage_errors(what: str | None = None) -> Iterator[None]:
    """Turn DynamoDB's errors into StorageUnavailable (`what`, when given, replaces the message)."""
    try:
        yield
    except ClientError as error:
        raise StorageUnavailable(what or str(error)) from error


# ---------------------------------------------------------------- values
def stored(value: Any) -> Any:
    """A value as items store it: datetimes as ISO strings in UTC (sortable), enums as their values."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [stored(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """DynamoDB returns every number as a Decimal: integral ones become ints, the others floats."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# ---------------------------------------------------------------- queries
def query_items(
    table: Any, query: Mapping[str, Any], *, limit: int | None = None, what: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every item a query finds, page after page, read lazily (a caller that stops early reads no more
    pages); at most `limit` items."""
    request = dict(query)
    found = 0
    with storage_errors(what):
        while limit is None or found < limit:
            page = table.query(**request)
            for item in page.get("Items", []):
                if limit is not None and found >= limit:
                    return
                found += 1
                yield item
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# ---------------------------------------------------------------- updates
@dataclass
class Update:
    """An UpdateExpression with its condition, built from fields: values go through `stored`, every name
    through a placeholder (so reserved words such as status and text need no care)."""

    set_fields: Mapping[str, Any] = field(default_factory=dict)
    remove_fields: Sequence[str] = ()
    add_fields: Mapping[str, Any] = field(default_factory=dict)  # ADD: numbers add, sets join
    expected: Mapping[str, Any] = field(default_factory=dict)  # field -> value (None: the field is absent)
    must_exist: bool = True  # attribute_exists(pk): never create an item by updating it
    conditions: Sequence[str] = ()  # further conditions, written with `names` and `values` below
    set_expressions: Sequence[str] = ()  # further SET clauses (list_append, if_not_exists), likewise
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def request(self, key: Mapping[str, str]) -> dict[str, Any]:
        """The arguments of update_item, or of an "Update" of a transaction (without its TableName)."""
        names, values = dict(self.names), dict(self.values)
        sets, removes, adds = [], [], []
        for index, (name, value) in enumerate(self.set_fields.items()):
            names[f"#s{index}"], values[f":s{index}"] = name, stored(value)
            sets.append(f"#s{index} = :s{index}")
        for index, name in enumerate(self.remove_fields):
            names[f"#r{index}"] = name
            removes.append(f"#r{index}")
        for index, (name, value) in enumerate(self.add_fields.items()):
            names[f"#a{index}"], values[f":a{index}"] = name, stored(value)
            adds.append(f"#a{index} :a{index}")
        conditions = ["attribute_exists(pk)"] if self.must_exist else []
        for index, (name, value) in enumerate(self.expected.items()):
            names[f"#e{index}"] = name
            if value is None:
                conditions.append(f"attribute_not_exists(#e{index})")
            else:
                values[f":e{index}"] = stored(value)
                conditions.append(f"#e{index} = :e{index}")
        conditions.extend(self.conditions)
        sets.extend(self.set_expressions)
        clauses = [
            ("SET " + ", ".join(sets)) if sets else "",
            ("REMOVE " + ", ".join(removes)) if removes else "",
            ("ADD " + ", ".join(adds)) if adds else "",
        ]
        expression = " ".join(clause for clause in clauses if clause)
        if not expression:
            raise ValueError("an update needs fields to set, remove or add")
        arguments: dict[str, Any] = {"Key": dict(key), "UpdateExpression": expression}
        if conditions:
            arguments["ConditionExpression"] = " AND ".join(conditions)
        if names:
            arguments["ExpressionAttributeNames"] = names
        if values:
            arguments["ExpressionAttributeValues"] = values
        return arguments


def succeeded(write: Callable[[], object]) -> bool:
    """Run one conditional write: False when its condition failed, StorageUnavailable for other errors."""
    try:
        write()
    except ClientError as error:
        if is_condition_failure(error):
            return False
        raise StorageUnavailable(str(error)) from error
    return True


def update(table: Any, key: Mapping[str, str], change: Update) -> bool:
    """One conditional update_item; False when its condition failed."""
    return succeeded(lambda: table.update_item(**change.request(key)))


def put_if_absent(table: Any, item: Mapping[str, Any]) -> bool:
    """Put the item unless one with its key exists; False when one did."""
    return succeeded(lambda: table.put_item(Item=dict(item), ConditionExpression="attribute_not_exists(pk)"))


# ---------------------------------------------------------------- transactions
def transact(table: Any, writes: Sequence[Mapping[str, Mapping[str, Any]]]) -> set[int]:
    """One TransactWriteItems of `writes` ({"Put"|"Update"|"Delete"|"ConditionCheck": {...}} without the
    table's name), under the module's conflict policy. Returns the indexes of the writes whose condition
    failed (then nothing was written), empty when everything was."""
    if len(writes) > MAX_TRANSACTION_ACTIONS:
        raise ValueError(f"{len(writes)} actions: a transaction takes {MAX_TRANSACTION_ACTIONS} at most")
    items = [
        {operation: {"TableName": table.name, **request} for operation, request in write.items()}
        for write in writes
    ]
    pause = TRANSACTION_BACKOFF_S
    for attempt in range(1, TRANSACTION_TRIES + 1):
        try:
            table.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise StorageUnavailable(str(error)) from error
            codes = cancellation_codes(error)
            failed = {index for index, code in enumerate(codes) if code == CONDITION_FAILED}
            if failed:
                return failed
            if TRANSACTION_CONFLICT in codes and attempt < TRANSACTION_TRIES:
                time.sleep(random.uniform(0, pause))  # noqa: S311 - jitter, not a secret
                pause *= 2
                continue
            raise StorageUnavailable(str(error)) from error
        return set()
    raise AssertionError("unreachable")  # pragma: no cover


def transact_each(table: Any, writes: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> set[str]:
    """Every write of `writes` whose condition holds, in as few transactions as that takes (one when all
    hold), as separate writes would do. Returns the names of those whose condition failed."""
    refused: set[str] = set()
    pending = dict(writes)
    while pending:
        names = list(pending)
        failed = transact(table, list(pending.values()))
        if not failed:
            break
        for index in failed:
            refused.add(names[index])
            del pending[names[index]]
    return refused
