"""The platforms' webhooks: every registered platform adapter's routes
(socialcare.webhook.receive.webhook_app).
The template's webhook functions all run this handler; API Gateway sends each only its own routes."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.observability import logger, metrics
from socialcare.settings import PlatformSections, Table, load
from socialcare.webhook.receive import webhook_app


class WebhookSettings(Table, PlatformSections):
    """The table mentions are stored in and the platform's section."""


load(WebhookSettings)  # at import: a missing variable stops the cold start, naming it

app = webhook_app()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


socialcare.cold_start.ready()  # the cold start is over
