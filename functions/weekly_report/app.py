"""The leads' weekly email, from the daily roll-ups: runs every hour and sends on the first run of a Monday
(UTC) that claims the week, so a repeated or overlapping schedule still sends one email per lead."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.aws_clients import client as aws_client
from socialcare.data.agents import get_agent_store
from socialcare.data.rollups import claim_weekly_report, get_rollup_store
from socialcare.measures.weekly_report import send_to_leads, week_ending_yesterday, weekly_email
from socialcare.models import utc_now
from socialcare.observability import logger, metrics
from socialcare.settings import Notifications, Table, load
from socialcare.singletons import one_per_process


class WeeklyReportSettings(Table, Notifications):
    """The roll-ups' table and the leads' topic."""


settings = load(WeeklyReportSettings)  # at import: a missing variable stops the cold start, naming it


@one_per_process
def sns() -> Any:
    """Made on the run that sends (one an hour a week): a client costs a third of this function's import."""
    return aws_client("sns")


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = utc_now()
    week = week_ending_yesterday(now)
    if now.weekday() != 0:
        return {"sent": 0, "reason": "not Monday"}
    store = get_rollup_store()
    if not claim_weekly_report(store.table, week.since.isoformat(), now):
        return {"sent": 0, "reason": "already sent this week"}
    rollups = store.read([*week.previous().days(), *week.days()])
    subject, body = weekly_email(rollups, week)
    sent = send_to_leads(sns(), settings.notification_topic_arn, get_agent_store().agents(), subject, body)
    logger.info("weekly report sent", leads=sent, week=week.since.isoformat())
    return {"sent": sent}


socialcare.cold_start.ready()  # the cold start is over
