"""Scheduled reading of the platforms that never call us (feeds): each schedule's Input names the platform
adapter to run ({"poller": "feeds"}); the adapter reads its platform and ingests what is new."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from functools import lru_cache, partial
from typing import Any

import requests
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.data import table
from socialcare.data.mentions import get_mention_store
from socialcare.data.polling import PollStateStore
from socialcare.ingest.mentions import ingest
from socialcare.models import utc_now
from socialcare.observability import logger, metrics
from socialcare.platform_config import get_platform_config
from socialcare.platforms import registry
from socialcare.platforms.base import PollContext
from socialcare.settings import PlatformSections, Table, load


class PollerSettings(Table, PlatformSections):
    """The table of what is new and the sections of the platforms it reads."""


settings = load(PollerSettings)  # at import: a missing variable stops the cold start, naming it


@lru_cache(maxsize=1)
def _session() -> requests.Session:
    return requests.Session()  # kept warm: polls of one host reuse the connection


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    adapter = registry.poller(str(event.get("poller", "")))
    poll = PollContext(
        config=get_platform_config(),
        states=PollStateStore(table(settings.table_name)),
        ingest=partial(ingest, store=get_mention_store()),
        session=_session(),
        now=utc_now,
    )
    summary = adapter.poll(poll)
    stored = sum(int(part.get("stored", 0)) for part in summary.values() if isinstance(part, dict))
    failed = sum(1 for part in summary.values() if isinstance(part, dict) and part.get("error"))
    metrics.add_metric(name="PolledMentionsStored", unit=MetricUnit.Count, value=stored)
    metrics.add_metric(name="PollsFailed", unit=MetricUnit.Count, value=failed)
    logger.info("platform polled", extra={"poller": adapter.webhook, "summary": summary})
    return summary


socialcare.cold_start.ready()  # the cold start is over
