"""Escalation, every minute: mentions nobody opened in time go to the next agent, then to everyone on
shift and the leads; waiting and never-dispatched mentions are dispatched again; failed notifications are
retried. Instagram mentions whose text could not be fetched yet are retried first
(socialcare.ingest.enrichment), so
a mention waiting for its text can be dispatched in the same run. Last, answered mentions whose survey delay
has passed are asked about privately (socialcare.measures.survey_sending)."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.data.mentions import get_mention_store
from socialcare.dispatch.dispatcher import DispatchSettings, get_dispatcher
from socialcare.dispatch.escalation import Escalator
from socialcare.ingest.enrichment import retry_pending_texts
from socialcare.measures.survey_sending import SurveySettings, get_survey_sender
from socialcare.models import utc_now
from socialcare.observability import logger, metrics
from socialcare.platform_config import get_platform_config
from socialcare.settings import PlatformSections, load


class EscalationSettings(DispatchSettings, SurveySettings, PlatformSections):
    """Dispatching again, asking for surveys, and every platform (texts fetched late, surveys sent)."""


load(EscalationSettings)  # at import: a missing variable stops the cold start, naming it


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = utc_now()
    try:
        retry_pending_texts(get_mention_store(), get_platform_config(), now=now)
    except Exception:  # the texts wait for the next run; escalation must not
        logger.exception("retrying pending mention texts failed")
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)  # per invocation, never kept
    report = Escalator(get_dispatcher(), remaining_ms).sweep(now)
    for level, count in report.escalated.items():
        metrics.add_metric(name=f"EscalatedLevel{level}", unit=MetricUnit.Count, value=count)
    metrics.add_metric(name="EscalationErrors", unit=MetricUnit.Count, value=report.errors)
    summary: dict[str, Any] = {
        "dropped": report.dropped,
        "dispatched": report.dispatched,
        "still_waiting": report.still_waiting,
        "escalated": {str(level): count for level, count in report.escalated.items()},
        "redelivered": report.redelivered,
        "abandoned": report.abandoned,
        "reply_on_its_way": report.reply_on_its_way,
        "errors": report.errors,
        "left_for_next_sweep": report.left_for_next_sweep,
    }
    if report.left_for_next_sweep:  # a survey posted and not recorded would be posted again
        logger.info("escalation sweep done", extra={"sweep": summary})
        return summary
    try:
        surveys = get_survey_sender().sweep(now)
        summary["surveys"] = {"sent": surveys.sent, "failed": surveys.failed, "retry": surveys.retry}
    except Exception:  # the surveys wait for the next run; escalation is done
        logger.exception("sending surveys failed")
    logger.info("escalation sweep done", extra={"sweep": summary})
    return summary


socialcare.cold_start.ready()  # the cold start is over
