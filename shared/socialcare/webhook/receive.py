"""What every webhook does with an HTTP API (payload 2.0) request: the raw bytes (signatures are over them),
size and content-type limits, JSON decoding with a clear error, the one receive path every platform shares
(`receive`), and the mapping of refusals to 4xx and storage failures to 503.

`webhook_app` builds the one webhook handler: every registered platform adapter's routes (its GET check and
its POST deliveries) on one Powertools resolver. The template's webhook functions all run it; API Gateway
sends each only its own routes."""

import base64
import binascii
import functools
import inspect
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import ValidationError

from socialcare.data.mentions import get_mention_store
from socialcare.errors import (
    MalformedPayload,
    PayloadTooLarge,
    StorageUnavailable,
    UnsupportedMediaType,
    WebhookRejected,
)
from socialcare.ingest.enrichment import INGEST_FETCH_TIMEOUT_S
from socialcare.ingest.mentions import ingest
from socialcare.models import Delivery
from socialcare.observability import logger, metrics
from socialcare.platform_config import get_platform_config
from socialcare.platforms import registry
from socialcare.platforms.base import PlatformAdapter, TextFetcher, WebhookRequest, WebhookRoute
from socialcare.platforms.metrics import platform_metrics

MAX_BODY_BYTES = 1024 * 1024
# What the encoding check of json_body looks for can only come from a \uD800-\uDFFF escape (UTF-8 bytes
# cannot hold a surrogate) or from nesting as deep as the recursion limit (each level opens a bracket): a
# body with neither skips the check, which cost as much as parsing it.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
NESTING_CHECKED_FROM = 200

# A platform adapter's two halves: check the raw bytes (raises WebhookRejected), then parse the decoded JSON
# into a Delivery (raises MalformedPayload).
Verify = Callable[[bytes, Mapping[str, str]], None]
Parse = Callable[[Any], Delivery]


def receive(
    request: WebhookRequest,
    verify: Verify,
    parse: Parse,
    *,
    fetch_text: TextFetcher | None = None,
    delivery_id: str | None = None,
) -> dict[str, Any]:
    """The one way a webhook delivery is handled: raw body -> verify -> JSON -> parse -> ingest -> metrics ->
    response. Refusals raise WebhookRejected (4xx, nothing written); see socialcare.ingest.mentions for the
    options."""
    verify(request.body, request.headers)
    delivery = decode_delivery(request.body, request.headers, parse)
    result = ingest(delivery, get_mention_store(), fetch_text=fetch_text, delivery_id=delivery_id)
    metrics.add_metric(name="MentionsStored", unit=MetricUnit.Count, value=len(result.stored))
    # Per platform, customers' mentions only (our own posts come back as events too).
    received = Counter(m.platform for m in delivery.mentions if not m.is_ours)
    stored = Counter(m.platform for m in result.stored if not m.is_ours)
    for platform in received | stored:
        platform_metrics(
            platform, counts={"MentionsReceived": received[platform], "MentionsStored": stored[platform]}
        )
    metrics.add_metric(name="DuplicateMentions", unit=MetricUnit.Count, value=result.duplicates)
    if result.text_pending:
        metrics.add_metric(name="MentionTextsPending", unit=MetricUnit.Count, value=result.text_pending)
    return result.summary()


def decode_delivery(body: bytes, headers: Mapping[str, str], parse: Parse) -> Delivery:
    """JSON, then the adapter: anything wrong with the body is a MalformedPayload (400)."""
    payload = json_body(body, headers)
    try:
        return parse(payload)
    except ValidationError as error:
        # An adapter passed on a value the Mention model refuses (an empty id, say): still the body's fault.
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise MalformedPayload(f"{where}: {first['msg']}") from error


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
        # Decoded as UTF-8 explicitly: json.loads would guess UTF-16 or UTF-32 from the first bytes.
        payload = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as error:
        raise MalformedPayload("the body is not UTF-8") from error
    except json.JSONDecodeError as error:
        raise MalformedPayload(f"the body is not valid JSON: {error.msg} at position {error.pos}") from error
    except RecursionError as error:
        raise MalformedPayload("the body is not valid JSON: nested too deeply") from error
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise MalformedPayload(f"the body is not valid JSON: {error}"[:200]) from error
    if _SURROGATE_ESCAPE.search(raw) is None and raw.count(b"[") + raw.count(b"{") < NESTING_CHECKED_FROM:
        return payload  # neither a lone surrogate nor nesting deep enough for the check below to find
    try:
        # \ud800-style escapes decode to lone surrogates, which no store or log can encode later.
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise MalformedPayload("the body is not valid JSON: it escapes a lone surrogate") from error
    except RecursionError as error:
        raise MalformedPayload("the body is not valid JSON: nested too deeply") from error
    return payload


def _refuse_constant(name: str) -> NoReturn:
    # Python's json accepts NaN and Infinity; JSON does not, and neither do times or counts.
    raise MalformedPayload(f"the body is not valid JSON: {name} is not a JSON value")


def error_response(status_code: int, message: str) -> Response:
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": message}),
    )


def webhook_app(adapters: list[PlatformAdapter] | None = None) -> APIGatewayHttpResolver:
    """The webhook handler: the routes of `adapters` (every registered one by default). A registered
    adapter's package is imported at its route's first request: a function loads the platform it serves."""
    app = APIGatewayHttpResolver()
    register_error_handlers(app)
    if adapters is not None:
        for adapter in adapters:
            for route in adapter.routes():
                _add_route(app, adapter.webhook, functools.partial(_same, adapter), route)
        return app
    for line in registry.lines():
        for route in line.routes:
            _add_route(app, line.webhook, functools.partial(_loaded, line), route)
    return app


def _same(adapter: PlatformAdapter) -> PlatformAdapter:
    return adapter


def _loaded(line: registry.Line) -> PlatformAdapter:
    return line.adapter


def _add_route(
    app: APIGatewayHttpResolver, webhook: str, adapter_of: Callable[[], PlatformAdapter], route: WebhookRoute
) -> None:
    def request(body: bytes = b"") -> WebhookRequest:
        event = app.current_event
        return WebhookRequest(
            body=body,
            headers=event.headers,
            query=event.query_string_parameters or {},
            path=event.path_parameters or {},
        )

    def delivery(**_path: str) -> dict[str, Any]:
        adapter = adapter_of()
        config = get_platform_config()
        incoming = request(raw_body(app.current_event))
        return receive(
            incoming,
            verify=lambda _body, _headers: adapter.verify(incoming, config),
            parse=lambda payload: adapter.parse(payload, incoming, config),
            fetch_text=adapter.text_fetcher(config, INGEST_FETCH_TIMEOUT_S),
            delivery_id=adapter.delivery_id(incoming),
        )

    app.post(route.path)(_described(delivery, f"{webhook}_delivery", route))
    if route.handshake:

        def handshake(**_path: str) -> Response[Any]:
            answer = adapter_of().handshake(request(), get_platform_config())
            if isinstance(answer.body, str):
                # The check wants its value back as the whole body; nosniff: browsers must not read it as
                # anything else.
                return Response(
                    status_code=200,
                    content_type=answer.content_type,
                    body=answer.body,
                    headers={"x-content-type-options": "nosniff"},
                )
            return Response(
                status_code=200, content_type=content_types.APPLICATION_JSON, body=json.dumps(answer.body)
            )

        app.get(route.path)(_described(handshake, f"{webhook}_check", route))


def _described[HandlerT: Callable[..., Any]](handler: HandlerT, name: str, route: WebhookRoute) -> HandlerT:
    """Give a generated route handler the name and the signature (the route's path parameters, as strings)
    that the OpenAPI document Powertools generates from handlers shows."""
    handler.__name__ = handler.__qualname__ = name
    parameters = [
        inspect.Parameter(part[1:-1], inspect.Parameter.KEYWORD_ONLY, annotation=str)
        for part in route.path.split("/")
        if part.startswith("<") and part.endswith(">")
    ]
    handler.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    handler.__annotations__ = {parameter.name: str for parameter in parameters}
    return handler


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
