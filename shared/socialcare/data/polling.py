"""What the pollers remember between runs (feeds, and any platform read on a schedule), one poll state item
per poller and name (key: socialcare.data.table_map).

A feed keeps its ETag and Last-Modified (conditional requests) and its last error; a notification poller its
cursor. A run writes its state only if no later run wrote first (`polled_at` only moves forward), so two
overlapping runs cannot move a cursor back."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data.dynamo import is_condition_failure, plain, storage_errors
from socialcare.data.table_map import poll_state_key
from socialcare.errors import StorageUnavailable


@dataclass(frozen=True)
class PollState:
    values: dict[str, str] = field(default_factory=dict)  # what the poller keeps (etag, cursor, …)
    polled_at: datetime | None = None
    error: str | None = None  # the last run's failure, None after a success
    failed_since: datetime | None = None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


_key = poll_state_key


class PollStateStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, poller: str, name: str) -> PollState:
        with storage_errors("reading the poll state failed"):
            item = self._table.get_item(Key=_key(poller, name), ConsistentRead=True).get("Item")
        if not item:
            return PollState()
        item = plain(item)
        failed_since = item.get("failed_since")
        return PollState(
            values={str(k): str(v) for k, v in (item.get("values") or {}).items()},
            polled_at=datetime.fromisoformat(item["polled_at"]),
            error=item.get("error"),
            failed_since=datetime.fromisoformat(failed_since) if failed_since else None,
        )

    def save(self, poller: str, name: str, state: PollState) -> bool:
        """Write `state` unless a later run already wrote; False when one did."""
        assert state.polled_at is not None
        item: dict[str, Any] = {
            **_key(poller, name),
            "entity": "poll_state",
            "values": dict(state.values),
            "polled_at": _iso(state.polled_at),
        }
        if state.error is not None:
            item["error"] = state.error[:500]
        if state.failed_since is not None:
            item["failed_since"] = _iso(state.failed_since)
        try:
            self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR polled_at <= :at",
                ExpressionAttributeValues={":at": item["polled_at"]},
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise StorageUnavailable("writing the poll state failed") from error
        return True
