"""Daily credentials check: every configured platform's credential through its own API; the leads are
emailed about a failing or soon-expiring one once a day until it is fixed (socialcare.credentials)."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from typing import Any

import requests
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.aws_clients import client as aws_client
from socialcare.credentials import run_daily_check
from socialcare.data import table
from socialcare.data.agents import AgentStore
from socialcare.data.alerts import AlertStore
from socialcare.models import utc_now
from socialcare.observability import logger, metrics
from socialcare.platform_config import get_platform_config
from socialcare.replies.sender import SnsNotifier
from socialcare.settings import Notifications, PlatformSections, Table, load


class CredentialsCheckSettings(Table, Notifications, PlatformSections):
    """Every platform's section, the leads' topic, and the table remembering alerts."""


settings = load(CredentialsCheckSettings)  # at import: a missing variable stops the cold start
session = requests.Session()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    shared_table = table(settings.table_name)
    notifier = SnsNotifier(aws_client("sns"), settings.notification_topic_arn, AgentStore(shared_table))
    report = run_daily_check(get_platform_config, session, AlertStore(shared_table), notifier, utc_now())
    metrics.add_metric(name="CredentialProblems", unit=MetricUnit.Count, value=len(report.problems))
    return report.to_dict()


socialcare.cold_start.ready()  # the cold start is over
