"""X Account Activity webhook: GET answers the CRC check, POST stores signed deliveries as mentions."""

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.errors import MalformedPayload
from socialcare.observability import logger, metrics
from socialcare.platform_config import get_x_config
from socialcare.platforms import x
from socialcare.webhook_http import receive, register_error_handlers

app = APIGatewayHttpResolver()
register_error_handlers(app)


@app.get("/webhooks/x")
def crc_check() -> dict[str, str]:
    token = app.current_event.get_query_string_value("crc_token")
    if not token:
        raise MalformedPayload("the crc_token query parameter is required")
    return x.crc_response(token, get_x_config())


@app.post("/webhooks/x")
def delivery() -> dict[str, Any]:
    config = get_x_config()
    return receive(
        app.current_event,
        verify=lambda body, headers: x.verify_signature(body, headers, config),
        parse=lambda payload: x.parse_delivery(payload, config),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
