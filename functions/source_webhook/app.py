"""Standard Webhooks sources (blogs, review sites, forums, bridges): POST /webhooks/sources/{source} stores a
signed delivery from a configured source as a mention whose platform is the source's name."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.errors import UnknownSource
from socialcare.observability import logger, metrics
from socialcare.platform_config import get_sources_config
from socialcare.platforms import standard_webhooks
from socialcare.webhook_http import receive, register_error_handlers

app = APIGatewayHttpResolver()
register_error_handlers(app)


@app.post("/webhooks/sources/<source>")
def delivery(source: str) -> dict[str, Any]:
    source_config = get_sources_config().get(source)
    if source_config is None:
        raise UnknownSource("no source of that name is configured")
    # verify() refuses a delivery without webhook-id, so the id is there by the time ingest uses it.
    webhook_id = app.current_event.headers.get(standard_webhooks.ID_HEADER, "")
    return receive(
        app.current_event,
        verify=lambda body, headers: standard_webhooks.verify(body, headers, source_config.secret),
        parse=lambda payload: standard_webhooks.parse_delivery(source, payload, webhook_id),
        # webhook-id is the idempotency key: ingest claims it with a conditional put, so a resend with the
        # same id stores nothing new even when its body differs (see socialcare.ingest.ingest).
        delivery_id=f"{source}:{webhook_id}",
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
