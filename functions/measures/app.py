"""Measures: the table stream's mention and survey records become daily roll-ups (socialcare.data.rollups),
each fact counted once although the stream may deliver a record twice. Records that fail are reported back
one by one and retried; a fact already counted is skipped. A customer's mention answered for the first time
is also scheduled for a satisfaction survey after SurveyDelayMinutes (the sweep decides whether to ask)."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.data.rollups import get_rollup_store
from socialcare.data.surveys import SurveyStore
from socialcare.measures.figures import facts_of_record, first_answer
from socialcare.observability import logger, metrics
from socialcare.settings import Table, Targets, load


class MeasuresSettings(Table, Targets):
    """The table of the roll-ups, the response targets and the survey delay."""


settings = load(MeasuresSettings)  # at import: a missing variable stops the cold start, naming it

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    stream = record.dynamodb
    old = (stream.old_image if stream else None) or {}
    new = (stream.new_image if stream else None) or {}
    event_name = record.event_name.name if record.event_name else ""
    store = get_rollup_store()
    answered = first_answer(old, new)
    if answered is not None:
        mention_id, answered_at = answered
        due_at = answered_at + timedelta(minutes=settings.survey_delay_minutes)
        SurveyStore(store.table).schedule(mention_id, due_at)
    for fact in facts_of_record(event_name, old, new, settings.response_targets):
        counted = store.record(fact)
        metrics.add_metric(
            name="MeasuresCounted" if counted else "MeasuresRepeated", unit=MetricUnit.Count, value=1
        )


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


socialcare.cold_start.ready()  # the cold start is over
