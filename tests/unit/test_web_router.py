"""socialcare.web, the HTTP functions' router: it answers as Powertools' resolver did for what the functions
use (routes by method and path, one-segment parameters, JSON 404s and dicts, exception handlers by class,
base64 bodies, headers and cookies in the HTTP API's payload 2.0)."""

import base64
import json
from typing import Any

import pytest

from socialcare.web import Response, Router


def event(method: str, path: str, body: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "rawPath": path,
        "requestContext": {"http": {"method": method, "sourceIp": "198.51.100.7"}, "stage": "$default"},
        "headers": {"Content-Type": "text/plain"},
        "body": body,
        **extra,
    }


class Refused(Exception):
    pass


class Gone(Refused):
    pass


@pytest.fixture
def app() -> Router:
    router = Router()

    @router.get("/r/<token>")
    def show(token: str) -> Response:
        return Response(200, "text/html", f"token {token}", headers={"x-a": "1"}, cookies=["s=1; Secure"])

    @router.post("/r/<token>")
    def send(token: str) -> dict[str, Any]:
        return {"token": token, "body": router.current_event.decoded_body}

    @router.get("/gone")
    def gone() -> Response:
        raise Gone("no more")

    @router.get("/broken")
    def broken() -> Response:
        raise ValueError("bug")

    @router.get("/bytes")
    def raw() -> Response:
        return Response(200, "application/octet-stream", b"\x00\x01")

    @router.exception_handler(Refused)
    def refused(error: Refused) -> Response:
        return Response(410, "text/plain", str(error))

    return router


def test_a_route_gets_its_path_parameter_and_answers_in_payload_2_0(app: Router) -> None:
    answer = app.resolve(event("GET", "/r/abc-1_2.x"))
    assert answer == {
        "statusCode": 200,
        "body": "token abc-1_2.x",
        "isBase64Encoded": False,
        "headers": {"x-a": "1", "Content-Type": "text/html"},
        "cookies": ["s=1; Secure"],
    }


def test_a_dict_is_json_and_a_base64_body_is_decoded(app: Router) -> None:
    body = base64.b64encode("héllo".encode()).decode()
    answer = app.resolve(event("POST", "/r/t", body, isBase64Encoded=True))
    assert answer["statusCode"] == 200 and answer["headers"]["Content-Type"] == "application/json"
    assert json.loads(answer["body"]) == {"token": "t", "body": "héllo"}


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("DELETE", "/r/t"), ("GET", "/r/a/b")])
def test_an_unknown_route_is_a_json_404(app: Router, method: str, path: str) -> None:
    answer = app.resolve(event(method, path))
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"]) == {"statusCode": 404, "message": "Not found"}


def test_an_exception_goes_to_the_handler_of_its_nearest_class_or_reaches_lambda(app: Router) -> None:
    assert app.resolve(event("GET", "/gone")) | {"headers": None} == {
        "statusCode": 410,
        "body": "no more",
        "isBase64Encoded": False,
        "headers": None,
        "cookies": [],
    }
    with pytest.raises(ValueError, match="bug"):
        app.resolve(event("GET", "/broken"))


def test_bytes_go_base64_encoded(app: Router) -> None:
    answer = app.resolve(event("GET", "/bytes"))
    assert answer["isBase64Encoded"] and base64.b64decode(answer["body"]) == b"\x00\x01"


def test_a_named_stage_is_not_part_of_the_route(app: Router) -> None:
    staged = event("GET", "/prod/r/abc")
    staged["requestContext"]["stage"] = "prod"
    assert app.resolve(staged)["body"] == "token abc"


def test_the_request_reads_headers_lower_case_and_the_callers_address(app: Router) -> None:
    seen = {}

    @app.get("/who")
    def who() -> dict[str, str]:
        request = app.current_event
        seen.update(request.headers, ip=request.source_ip)
        return {}

    app.resolve(event("GET", "/who"))
    assert seen == {"content-type": "text/plain", "ip": "198.51.100.7"}
