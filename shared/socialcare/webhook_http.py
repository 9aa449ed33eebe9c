"""What every webhook does with an HTTP API (payload 2.0) request before the platform adapter sees it:
the raw bytes (signatures are over them), size and content-type limits, JSON decoding with a clear error,
and the mapping of refusals to 4xx and storage failures to 503."""

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from socialcare.errors import (
    MalformedPayload,
    PayloadTooLarge,
    StorageUnavailable,
    UnsupportedMediaType,
    WebhookRejected,
)
from socialcare.observability import logger

MAX_BODY_BYTES = 1024 * 1024


def raw_body(event: APIGatewayProxyEventV2) -> bytes:
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            data = base64.b64decode(body, validate=True)
        except binascii.Error as error:
            raise MalformedPayload("the body is not valid base64") from error
    else:
        data = body.encode("utf-8")
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is over {MAX_BODY_BYTES} bytes")
    return data


def json_body(raw: bytes, headers: Mapping[str, str]) -> Any:
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(f"content-type must be application/json, not {media_type or 'missing'}")
    try:
        return json.loads(raw)
    except UnicodeDecodeError as error:
        raise MalformedPayload("the body is not UTF-8") from error
    except json.JSONDecodeError as error:
        raise MalformedPayload(f"the body is not valid JSON: {error.msg} at position {error.pos}") from error


def error_response(status_code: int, message: str) -> Response:
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": message}),
    )


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(WebhookRejected)
    def _rejected(error: WebhookRejected) -> Response:
        logger.warning("webhook rejected", status=error.status_code, reason=error.message)
        return error_response(error.status_code, error.message)

    @app.exception_handler(StorageUnavailable)
    def _storage(error: StorageUnavailable) -> Response:
        # 5xx makes the platform deliver again; nothing was acknowledged.
        logger.exception("storage unavailable")
        return error_response(503, "storage unavailable, retry later")
