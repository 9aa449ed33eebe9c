"""Posts queued replies to the platforms, each once. The rules (claims, leases, backoff, failures) live in
socialcare.replies.sender; this module only walks the SQS batch and reports the records that must come
back."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.batches import BatchResponse, Record, process_batch, sqs_message_id
from socialcare.observability import logger, metrics
from socialcare.replies.sender import SenderSettings, get_reply_sender
from socialcare.settings import load

load(SenderSettings)  # at import: a missing variable stops the cold start, naming it


def record_handler(record: Record, lambda_context: LambdaContext) -> None:
    get_reply_sender().handle_record(
        record["body"],
        record["receiptHandle"],
        int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1),
        lambda_context.get_remaining_time_in_millis() / 1000,
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> BatchResponse:
    # A batch whose records all come back later (throttled together) is a normal answer, not an error.
    return process_batch(
        event, lambda record: record_handler(record, context), sqs_message_id, fail_whole_batch=False
    )
