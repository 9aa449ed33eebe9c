"""Meta webhook (Facebook Page and Instagram): GET answers the subscription check, POST stores signed,
batched deliveries as mentions (Instagram mentions' texts fetched from the Graph API on the way)."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.enrichment import instagram_fetcher
from socialcare.observability import logger, metrics
from socialcare.platform_config import get_meta_config
from socialcare.platforms import meta
from socialcare.webhook_http import receive, register_error_handlers

app = APIGatewayHttpResolver()
register_error_handlers(app)


@app.get("/webhooks/meta")
def verification() -> Response[str]:
    query = app.current_event.query_string_parameters or {}
    challenge = meta.verify_subscription(query, get_meta_config())
    # Meta wants the challenge back as the whole body; nosniff: browsers must not read it as anything else.
    return Response(
        status_code=200,
        content_type=content_types.TEXT_PLAIN,
        body=challenge,
        headers={"x-content-type-options": "nosniff"},
    )


@app.post("/webhooks/meta")
def delivery() -> dict[str, Any]:
    config = get_meta_config()
    return receive(
        app.current_event,
        verify=lambda body, headers: meta.verify_signature(body, headers, config),
        parse=lambda payload: meta.parse_delivery(payload, config),
        fetch_text=instagram_fetcher(config),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
