"""The table stream's records as the handlers read them: what happened (INSERT, MODIFY, REMOVE) and the
item before and after, in Python values as the stores read items (numbers as Decimal), so no module outside
data/ reads DynamoDB's record layout."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from socialcare.data.dynamo import from_wire


@dataclass(frozen=True)
class StreamChange:
    event_id: str
    event_name: str  # INSERT, MODIFY or REMOVE
    old: dict[str, Any]  # empty when there was no item before (or the stream does not carry it)
    new: dict[str, Any]  # empty when the item was removed


def stream_change(record: Mapping[str, Any]) -> StreamChange:
    stream = record.get("dynamodb") or {}
    return StreamChange(
        event_id=str(record.get("eventID") or ""),
        event_name=str(record.get("eventName") or ""),
        old=from_wire(stream.get("OldImage") or {}),
        new=from_wire(stream.get("NewImage") or {}),
    )


def sequence_number(record: Mapping[str, Any]) -> str:
    """The record's place in its shard: what a partial batch response names to retry from."""
    return str(record["dynamodb"]["SequenceNumber"])
