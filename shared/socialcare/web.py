"""The functions behind the HTTP API (payload format 2.0): routes by method and path, the request as the
handlers read it, responses, and exceptions mapped to responses by their class.

Powertools' APIGatewayHttpResolver did this, and its package imported every other resolver it has (AppSync,
Bedrock agents, VPC Lattice, ...), asyncio and every event source's data class at each cold start: a tenth
of these functions' import. It behaves as that resolver did for what the functions use: a path's `<name>`
matches one segment and is passed as a keyword argument, an unknown route is a JSON 404, a handler's dict
is a JSON 200, bytes go base64-encoded, and an exception without a handler reaches Lambda. The routes stay
describable: infra.local.openapi hands them to Powertools to write the OpenAPI document."""

import base64
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

# Powertools' characters of a path parameter (RFC 3986's unreserved and sub-delims, and what API Gateway
# decodes), so a path matches the same route it did.
_PARAMETER_CHARACTERS = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"
JSON = "application/json"

Handler = Callable[..., Any]


@dataclass
class Response:
    status_code: int
    content_type: str | None = None
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)  # Set-Cookie values

    def to_http_api(self) -> dict[str, Any]:
        headers = dict(self.headers)
        if self.content_type:
            headers["Content-Type"] = self.content_type
        encoded = isinstance(self.body, bytes)
        body = base64.b64encode(self.body).decode() if isinstance(self.body, bytes) else self.body
        return {
            "statusCode": self.status_code,
            "body": body,
            "isBase64Encoded": encoded,
            "headers": headers,
            "cookies": list(self.cookies),
        }


def json_response(status_code: int, document: Any) -> Response:
    return Response(status_code, JSON, json.dumps(document, separators=(",", ":")))


class Request:
    """One HTTP API event as the handlers read it (header names lower case, as HTTP API sends them)."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        context = event.get("requestContext") or {}
        self.method = str((context.get("http") or {}).get("method") or "").upper()
        self.path = str(event.get("rawPath") or "/")
        stage = str(context.get("stage") or "$default")
        if stage != "$default" and self.path.startswith(f"/{stage}"):
            self.path = (
                self.path[len(stage) + 1 :] or "/"
            )  # a named stage prefixes the path, as Powertools read it
        self.body: str | None = event.get("body")
        self.is_base64_encoded = bool(event.get("isBase64Encoded"))
        self.query_string_parameters: dict[str, str] = dict(event.get("queryStringParameters") or {})
        self.path_parameters: dict[str, str] = dict(event.get("pathParameters") or {})
        self.cookies: list[str] = list(event.get("cookies") or [])
        self.source_ip = str((context.get("http") or {}).get("sourceIp") or "")
        self.domain_name = str(context.get("domainName") or "")

    @cached_property
    def headers(self) -> dict[str, str]:
        return {str(name).lower(): str(value) for name, value in (self.event.get("headers") or {}).items()}

    @property
    def decoded_body(self) -> str | None:
        """The body as text (raises UnicodeDecodeError or ValueError for a base64 body that is not)."""
        if self.body is None or not self.is_base64_encoded:
            return self.body
        return base64.b64decode(self.body).decode("utf-8")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as written, "/r/<token>"
    handler: Handler
    pattern: re.Pattern[str]


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._exception_handlers: dict[type[Exception], Callable[[Any], Response]] = {}
        self._local = threading.local()  # the local stack runs invocations on several threads

    def route(self, method: str, path: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            parameters = re.sub(r"<(\w+)>", lambda name: f"(?P<{name[1]}>{_PARAMETER_CHARACTERS})", path)
            pattern = re.compile(f"^{parameters}$")
            self.routes.append(Route(method.upper(), path, handler, pattern))
            return handler

        return register

    def get(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("GET", path)

    def post(self, path: str) -> Callable[[Handler], Handler]:
        return self.route("POST", path)

    def exception_handler[ErrorT: Exception](
        self, kind: type[ErrorT]
    ) -> Callable[[Callable[[ErrorT], Response]], Callable[[ErrorT], Response]]:
        def register(handler: Callable[[ErrorT], Response]) -> Callable[[ErrorT], Response]:
            self._exception_handlers[kind] = handler
            return handler

        return register

    @property
    def current_event(self) -> Request:
        request: Request = self._local.request
        return request

    def resolve(self, event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        request = Request(event)
        self._local.request = request
        try:
            return self._answer(request).to_http_api()
        finally:
            self._local.request = None

    def _answer(self, request: Request) -> Response:
        for route in self.routes:
            if route.method != request.method:
                continue
            matched = route.pattern.match(request.path)
            if matched is None:
                continue
            try:
                answer = route.handler(**matched.groupdict())
            except Exception as error:
                handler = self._handler_of(error)
                if handler is None:
                    raise
                return handler(error)
            return answer if isinstance(answer, Response) else json_response(200, answer)
        return json_response(404, {"statusCode": 404, "message": "Not found"})

    def _handler_of(self, error: Exception) -> Callable[[Any], Response] | None:
        for kind in type(error).__mro__:
            if kind in self._exception_handlers:
                return self._exception_handlers[kind]
        return None
