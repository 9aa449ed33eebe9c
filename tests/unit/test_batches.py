"""socialcare.batches: partial batch responses as Lambda reads them (ReportBatchItemFailures): only the
records that raised are named, and a batch whose every record failed fails whole unless told otherwise."""

from typing import Any

import pytest

from socialcare.batches import BatchFailed, process_batch, sqs_message_id
from socialcare.data.streams import sequence_number, stream_change


def handle(record: dict[str, Any]) -> None:
    if record.get("fail"):
        raise RuntimeError("boom")


def records(*failing: bool) -> dict[str, Any]:
    return {"Records": [{"messageId": f"m{i}", "fail": fail} for i, fail in enumerate(failing)]}


def test_only_the_records_that_failed_are_reported() -> None:
    answer = process_batch(records(False, True, False, True), handle, sqs_message_id)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}


def test_an_empty_or_successful_batch_reports_nothing() -> None:
    assert process_batch({"Records": []}, handle, sqs_message_id) == {"batchItemFailures": []}
    assert process_batch(records(False, False), handle, sqs_message_id) == {"batchItemFailures": []}


def test_a_batch_that_all_failed_fails_whole_unless_that_is_a_normal_answer() -> None:
    with pytest.raises(BatchFailed):
        process_batch(records(True, True), handle, sqs_message_id)
    answer = process_batch(records(True, True), handle, sqs_message_id, fail_whole_batch=False)
    assert [failure["itemIdentifier"] for failure in answer["batchItemFailures"]] == ["m0", "m1"]


def test_a_stream_record_reads_as_python_values_with_its_sequence_number() -> None:
    record = {
        "eventID": "e1",
        "eventName": "MODIFY",
        "dynamodb": {
            "SequenceNumber": "42",
            "OldImage": {"status": {"S": "new"}, "count": {"N": "2"}},
            "NewImage": {"status": {"S": "assigned"}, "tags": {"L": [{"S": "a"}]}},
        },
    }
    change = stream_change(record)
    assert (change.event_id, change.event_name, sequence_number(record)) == ("e1", "MODIFY", "42")
    assert change.old == {"status": "new", "count": 2} and change.new == {"status": "assigned", "tags": ["a"]}
    assert stream_change({"eventName": "INSERT", "dynamodb": {}}).old == {}
