"""Every AWS call answered in-process by a stub, for measuring our own code's memory without a backend:
botocore's HTTP sender is replaced, so every client answers from here, whichever session made it (Powertools
Parameters makes its own)."""

import json
from collections.abc import Iterator
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.httpsession import URLLib3Session

from infra.local.gateway import build_event
from infra.local.template import Route


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class FakeContext:
    function_name = "bench"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def install_stub_aws(config_document: str) -> None:
    answers: dict[str, dict[str, Any]] = {
        "secretsmanager.GetSecretValue": {
            "ARN": "arn",
            "Name": "bench-secret",
            "SecretString": config_document,
        },
        "DynamoDB_20120810.PutItem": {},
        "DynamoDB_20120810.UpdateItem": {},
        "DynamoDB_20120810.GetItem": {},
        "DynamoDB_20120810.BatchGetItem": {"Responses": {}, "UnprocessedKeys": {}},
        "DynamoDB_20120810.Query": {"Items": [], "Count": 0},
    }

    def answer(_session: Any, request: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        body = json.dumps(answers.get(target, {})).encode()
        headers = HTTPHeaders()
        headers["content-type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, 200, headers, _Body(body))

    URLLib3Session.send = answer  # type: ignore[method-assign,assignment]


def x_delivery_events(count: int, secret: str) -> Iterator[dict[str, Any]]:
    import base64
    import hashlib
    import hmac

    route = Route("POST", "/webhooks/x", "XWebhookFunction")
    for index in range(count):
        body = json.dumps(
            {
                "for_user_id": "1000000001",
                "tweet_create_events": [
                    {
                        "id_str": str(10**15 + index),
                        "text": f"@brand bench mention {index} ✨",
                        "created_at": "Wed Oct 10 20:19:24 +0000 2018",
                        "user": {"id_str": str(index % 97), "screen_name": f"user{index % 97}"},
                    }
                ],
            }
        ).encode()
        signature = (
            "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        )
        headers = [("content-type", "application/json"), ("x-twitter-webhooks-signature", signature)]
        yield build_event(route, {}, "POST", "/webhooks/x", headers, body, "198.51.100.7")
