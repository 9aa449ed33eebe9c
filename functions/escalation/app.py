"""Escalation, every minute: mentions nobody opened in time go to the next agent, then to everyone on
shift and the leads; waiting and never-dispatched mentions are dispatched again; failed notifications are
retried."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.dispatch import get_dispatcher
from socialcare.escalation import Escalator
from socialcare.models import utc_now
from socialcare.observability import logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    dispatcher = get_dispatcher()
    dispatcher.notifier.register_lambda_context(context)
    report = Escalator(dispatcher).sweep(utc_now())
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
        "errors": report.errors,
    }
    logger.info("escalation sweep done", extra={"sweep": summary})
    return summary
