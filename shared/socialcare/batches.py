"""Partial batch responses (ReportBatchItemFailures) for the functions fed by the table stream and the reply
queue: each record is handled on its own, and only the ones that failed are reported, so Lambda retries
those and not the batch. When every record failed, the batch fails whole (BatchFailed), as a function error
would, unless the caller says a batch that all comes back later is a normal answer.

Powertools' BatchProcessor did this, and imported asyncio and every event source's data class at each cold
start for it (a sixth of these functions' import)."""

from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from socialcare.observability import logger

Record = dict[str, Any]


class ItemFailure(TypedDict):
    itemIdentifier: str


class BatchResponse(TypedDict):
    batchItemFailures: list[ItemFailure]


class BatchFailed(RuntimeError):
    """Every record of the batch failed."""


def sqs_message_id(record: Mapping[str, Any]) -> str:
    return str(record["messageId"])


def process_batch(
    event: Mapping[str, Any],
    handle: Callable[[Record], None],
    identifier: Callable[[Mapping[str, Any]], str],
    *,
    fail_whole_batch: bool = True,
) -> BatchResponse:
    """`handle` each of the event's records; the identifiers of those that raised, for Lambda to retry."""
    records: list[Record] = list(event.get("Records") or [])
    failures: list[ItemFailure] = []
    first_error: Exception | None = None
    for record in records:
        try:
            handle(record)
        except Exception as error:
            logger.exception("record failed; Lambda retries it", item=identifier(record))
            failures.append({"itemIdentifier": identifier(record)})
            first_error = first_error or error
    if failures and len(failures) == len(records) and fail_whole_batch:
        raise BatchFailed(f"all {len(records)} records of the batch failed") from first_error
    return {"batchItemFailures": failures}
