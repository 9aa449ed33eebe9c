"""Dispatcher: new customer mentions from the table stream (INSERT, entity mention, status new: the
template's FilterCriteria) get a priority, an agent on shift and a text. Records that fail are reported back
to Lambda one by one (partial batch failures) and retried; each notification is recorded once sent, so a
retry never texts twice. The record's NewImage is the mention as stored: dispatch starts from it instead of
reading it again (its transaction checks that the mention has not changed since)."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.dispatch.dispatcher import (
    DispatchSettings,
    get_dispatcher,
    mention_id_of_stream_image,
    mention_of_stream_image,
)
from socialcare.models import utc_now
from socialcare.observability import logger, metrics
from socialcare.platforms.metrics import platform_metrics
from socialcare.settings import load

load(DispatchSettings)  # at import: a missing variable stops the cold start, naming it

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    image = (record.dynamodb.new_image if record.dynamodb else None) or {}
    mention_id = mention_id_of_stream_image(image)
    if mention_id is None:
        logger.warning("stream record is not a mention; skipped", event_id=record.event_id)
        return
    stored = mention_of_stream_image(image)
    if stored is not None and stored.id != mention_id:
        stored = None
    remaining_ms = getattr(lambda_context, "get_remaining_time_in_millis", None)  # per invocation, never kept
    outcome = get_dispatcher().dispatch(mention_id, utc_now(), stored, remaining_ms)
    metrics.add_metric(name=f"Dispatch_{outcome.result}", unit=MetricUnit.Count, value=1)
    if outcome.result == "assigned":
        metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=len(outcome.recipients))
        if stored is not None:
            # From the customer's post to the first text about it: what the customer waits for first.
            waited = (utc_now() - stored.created_at).total_seconds()
            platform_metrics(stored.platform, seconds={"TimeToFirstNotification": max(0.0, waited)})


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


socialcare.cold_start.ready()  # the cold start is over
