"""Posts queued replies to the platforms, each once. The rules (claims, leases, backoff, failures) live in
socialcare.replies.sender; this module only walks the SQS batch and reports the records that must come
back."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.observability import logger, metrics
from socialcare.replies.sender import SenderSettings, get_reply_sender
from socialcare.settings import load

load(SenderSettings)  # at import: a missing variable stops the cold start, naming it

# A batch whose records all come back later (throttled together) is a normal answer, not an error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    get_reply_sender().handle_record(
        record.body,
        record.receipt_handle,
        int(record.attributes.approximate_receive_count or 1),
        lambda_context.get_remaining_time_in_millis() / 1000,
    )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event, record_handler, processor, context)


socialcare.cold_start.ready()  # the cold start is over
