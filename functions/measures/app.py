"""Measures: the table stream's mention and survey records become daily roll-ups (socialcare.data.rollups),
each fact counted once although the stream may deliver a record twice. Records that fail are reported back
one by one and retried; a fact already counted is skipped. A customer's mention answered for the first time
is also scheduled for a satisfaction survey after SurveyDelayMinutes (the sweep decides whether to ask)."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.batches import BatchResponse, Record, process_batch
from socialcare.data.rollups import get_rollup_store
from socialcare.data.streams import sequence_number, stream_change
from socialcare.data.surveys import SurveyStore
from socialcare.measures.figures import facts_of_record, first_answer
from socialcare.observability import logger, metrics
from socialcare.settings import Table, Targets, load


class MeasuresSettings(Table, Targets):
    """The table of the roll-ups, the response targets and the survey delay."""


settings = load(MeasuresSettings)  # at import: a missing variable stops the cold start, naming it


def record_handler(record: Record) -> None:
    change = stream_change(record)
    old, new, event_name = change.old, change.new, change.event_name
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
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> BatchResponse:
    return process_batch(event, record_handler, sequence_number)
