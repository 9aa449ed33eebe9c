"""The README's "Adding a platform" checklist, tried: a throwaway platform ("Chirp") is written here, in the
test, and registered at run time. With no production file changed, a Chirp delivery is received by the
webhook function, its mention texted to the agent on shift, answered on the reply page and posted back to
Chirp's (simulated) API once."""

import hmac
import json
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from pydantic import BaseModel

from infra.local.gateway import build_event
from infra.local.template import Route
from infra.simulator.server import PlatformSimulator
from socialcare.errors import InvalidSignature, MalformedPayload
from socialcare.models import Author, Delivery, Mention, MentionKind, MentionStatus
from socialcare.platform_config import PlatformConfig
from socialcare.platforms import registry
from socialcare.platforms.base import (
    Handshake,
    PostContext,
    PostResult,
    ReplyRules,
    ReplyTarget,
    TextFetcher,
    WebhookRequest,
    WebhookRoute,
)
from socialcare.platforms.local import Answer, Call, SimulatedEvent, Simulator, field_of
from socialcare.singletons import forget_all
from tests.integration.conftest import Aws, Invoke, json_of
from tests.integration.dispatch_support import link_in, make_world, new_mention_records, texts_to
from tests.integration.reply_support import ALICE, make_reply_world, text_of

NAME = "chirp"
KEY = "chirp-test-key"
REPLIES_PATH = re.compile(r"^/chirp/replies$")


# ---------------------------------------------------------------- the platform, as its package would be
class ChirpConfig(BaseModel):
    key: str = ""
    api_base: str = ""
    brand_id: str = "brand"


def chirp_config(config: PlatformConfig) -> ChirpConfig:
    return config.section(NAME, ChirpConfig)


class LocalChirp:
    events: tuple[SimulatedEvent, ...] = ()

    def answer(self, call: Call, simulator: Simulator) -> Answer | None:
        if not REPLIES_PATH.match(call.path):
            return None
        return 201, {"chirp_id": f"c{simulator.next_id()}", "text": field_of(call.body, "text")}, {}

    def simulated_urls(self, document: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        return []


class Chirp:
    webhook = NAME

    def platforms(self, config: PlatformConfig) -> Collection[str]:
        return (NAME,)

    def label(self, platform: str, config: PlatformConfig | None = None) -> str:
        return "Chirp"

    def secrets(self, config: PlatformConfig) -> list[str]:
        return [chirp_config(config).key]

    def routes(self) -> list[WebhookRoute]:
        return [WebhookRoute("/webhooks/chirp")]

    def handshake(self, request: WebhookRequest, config: PlatformConfig) -> Handshake:
        raise MalformedPayload("Chirp does not check its webhook")

    def verify(self, request: WebhookRequest, config: PlatformConfig) -> None:
        key = chirp_config(config).key
        if not key or not hmac.compare_digest(request.headers.get("x-chirp-key", ""), key):
            raise InvalidSignature("wrong x-chirp-key")

    def parse(self, payload: Any, request: WebhookRequest, config: PlatformConfig) -> Delivery:
        if not isinstance(payload, Mapping) or not isinstance(payload.get("id"), str):
            raise MalformedPayload("id is required")
        return Delivery(
            mentions=[
                Mention(
                    platform=NAME,
                    external_id=payload["id"],
                    kind=MentionKind.POST,
                    author=Author(id=payload["user"], handle=payload["user"]),
                    text=payload["text"],
                    url=f"https://chirp.example/{payload['id']}",
                    created_at=datetime.now(UTC),
                    thread_key=payload["id"],
                )
            ]
        )

    def delivery_id(self, request: WebhookRequest) -> str | None:
        return None

    def text_fetcher(self, config: PlatformConfig, timeout: float) -> TextFetcher | None:
        return None

    def brand(self, platform: str, config: PlatformConfig) -> Author:
        return Author(id=chirp_config(config).brand_id, handle="chirpbrand")

    def reply_rules(self, platform: str, kind: MentionKind | str | None) -> ReplyRules:
        return ReplyRules(limit=60)

    def can_answer(self, kind: MentionKind | str) -> bool:
        return True

    def answers_privately(self, kind: MentionKind | str) -> bool:
        return False

    def reply_target(self, mention: Mention) -> ReplyTarget:
        return ReplyTarget(platform=NAME, kind=mention.kind, external_id=mention.external_id)

    def passes_survey_links(self) -> bool:
        return False

    def reply_kind(self, mention: Mention) -> MentionKind:
        return MentionKind.POST

    def post_reply(self, target: ReplyTarget, text: str, context: PostContext) -> PostResult:
        from socialcare.platforms.http import PlatformClient, required_id

        chirp = chirp_config(context.config)
        client = PlatformClient(NAME, context, [chirp.key])
        body = {"in_reply_to": target.external_id, "text": text}
        answer = client.post(f"{chirp.api_base}/chirp/replies", json_body=body)
        return PostResult(required_id(answer, "chirp_id", NAME))

    def find_reply(self, target: ReplyTarget, text: str, since: datetime, context: PostContext) -> str | None:
        return None

    def local(self) -> LocalChirp:
        return LocalChirp()


# ---------------------------------------------------------------- the test
@pytest.fixture
def chirp() -> Iterator[Chirp]:
    adapter = Chirp()
    unregister = registry.register(adapter)
    yield adapter
    unregister()


def chirp_delivery(webhook: Invoke, payload: dict[str, Any], key: str = KEY) -> dict[str, Any]:
    route = Route("POST", "/webhooks/chirp", "XWebhookFunction")  # its template route, in production
    headers = [("content-type", "application/json"), ("x-chirp-key", key)]
    body = json.dumps(payload).encode()
    return webhook(build_event(route, {}, "POST", "/webhooks/chirp", headers, body, "203.0.113.9"))


def test_a_platform_registered_at_run_time_goes_from_webhook_to_posted_reply(
    chirp: Chirp,
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reply_world = make_reply_world(aws, handlers, running_simulator, dev_config)
    # Its configuration section, in a secret of its own, named to the functions by SECTION_SECRET_IDS.
    section = {"key": KEY, "api_base": running_simulator.url}
    secrets = boto3.client("secretsmanager")
    secret_id = secrets.create_secret(Name=NAME, SecretString=json.dumps(section))["ARN"]
    monkeypatch.setenv("SECTION_SECRET_IDS", f"{aws.environment['SECTION_SECRET_IDS']},{NAME}={secret_id}")
    forget_all()
    world = make_world(aws)
    world.add_agent("Alice", ALICE.phone, at=datetime.now(UTC), platforms=[NAME])

    # Received: the webhook function, built from the registered adapters, verifies and stores it.
    webhook = handlers("XWebhookFunction")
    assert (
        chirp_delivery(webhook, {"id": "k1", "user": "kim", "text": "my order?"}, key="wrong")["statusCode"]
        == 401
    )
    answer = chirp_delivery(webhook, {"id": "k1", "user": "kim", "text": "my order?"})
    assert answer["statusCode"] == 200 and json_of(answer)["stored"] == 1

    # Notified: the dispatcher texts the agent on shift who covers Chirp, with a reply link.
    assert handlers("DispatcherFunction")({"Records": new_mention_records(aws)}) == {"batchItemFailures": []}
    (sms,) = texts_to(ALICE.phone)
    assert "[Chirp] @kim" in sms
    token = link_in(sms).rsplit("/r/", 1)[-1]

    # Answered on the page, under Chirp's own label and length rule.
    page = reply_world.get(token)
    assert page["statusCode"] == 200 and "Reply to @kim on Chirp" in text_of(page)
    too_long = reply_world.answer(token, "x" * 61)
    assert "Chirp takes at most 60" in text_of(too_long)
    sent = reply_world.answer(token, "On its way, Kim!")
    assert sent["statusCode"] == 200 and "On its way to Chirp" in text_of(sent)

    # Posted, once, through the adapter; the mention is answered.
    reply_world.drain()
    posted = running_simulator.calls_to("/chirp/replies")
    assert [(call.body["in_reply_to"], call.body["text"]) for call in posted] == [("k1", "On its way, Kim!")]
    mention = aws.mention_store().get("chirp-k1")
    assert mention is not None and mention.status is MentionStatus.ANSWERED
