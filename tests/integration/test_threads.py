"""Threads end to end in process: a signed reply delivery is stored and texted, answered on the reply page,
and posted once through the two-step create and publish of the (simulated) Threads API; a forged delivery
and a wrong verify token are refused."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infra.local.gateway import build_event
from infra.local.template import Route
from infra.simulator.server import PlatformSimulator
from socialcare.models import MentionStatus
from socialcare.platforms.threads import payloads
from tests.integration.conftest import Aws, Invoke, json_of
from tests.integration.dispatch_support import link_in, make_world, new_mention_records, texts_to
from tests.integration.reply_support import ALICE, make_reply_world, point_config_at, text_of

PATH = "/webhooks/threads"


def _request(
    webhook: Invoke, method: str, body: bytes = b"", headers: dict[str, str] | None = None, query: str = ""
) -> dict[str, Any]:
    route = Route(method, PATH, "ThreadsWebhookFunction")
    path = f"{PATH}?{query}" if query else PATH
    event = build_event(route, {}, method, path, list((headers or {}).items()), body, "203.0.113.9")
    return webhook(event)


def test_a_threads_reply_is_texted_answered_and_published_once(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
) -> None:
    reply_world = make_reply_world(aws, handlers, running_simulator, dev_config)
    dev_config["threads"]["api_base"] = f"{running_simulator.url}/threads-api/v1.0"
    point_config_at(aws, dev_config, running_simulator)
    world = make_world(aws)
    world.add_agent("Alice", ALICE.phone, at=datetime.now(UTC), platforms=["threads"])
    webhook = handlers("ThreadsWebhookFunction")
    secret = dev_config["threads"]["app_secret"]

    # The subscription check echoes the challenge only for the configured verify token.
    good = "hub.mode=subscribe&hub.challenge=c-42&hub.verify_token=dev-threads-verify-token"
    check = _request(webhook, "GET", query=good)
    assert check["statusCode"] == 200 and check["body"] == "c-42"
    assert _request(webhook, "GET", query=good.replace("dev-threads", "forged"))["statusCode"] == 403

    body, headers = payloads.signed(payloads.reply("1801", "@brand where are my boots?", "kim"), secret)
    forged_body, forged = payloads.signed(
        payloads.reply("1801", "@brand where are my boots?", "kim"), "forged"
    )
    assert _request(webhook, "POST", forged_body, forged)["statusCode"] == 401
    stored = _request(webhook, "POST", body, headers)
    assert stored["statusCode"] == 200 and json_of(stored)["stored"] == 1
    assert json_of(_request(webhook, "POST", body, headers))["stored"] == 0  # a resend stores nothing new

    assert handlers("DispatcherFunction")({"Records": new_mention_records(aws)}) == {"batchItemFailures": []}
    (sms,) = texts_to(ALICE.phone)
    assert "[Threads] @kim" in sms
    token = link_in(sms).rsplit("/r/", 1)[-1]

    assert "at most 500" in text_of(reply_world.answer(token, "x" * 501))
    sent = reply_world.answer(token, "They ship today, Kim!")
    assert sent["statusCode"] == 200
    reply_world.drain()

    user = "/threads-api/v1.0/9000000001"
    created = [c for c in running_simulator.calls_to(f"{user}/threads") if c.path == f"{user}/threads"]
    assert [(c.body["media_type"], c.body["text"], c.body["reply_to_id"]) for c in created] == [
        ("TEXT", "They ship today, Kim!", "1801")
    ]
    published = running_simulator.calls_to(f"{user}/threads_publish")
    assert [c.body["creation_id"] for c in published] == [created[0].answer["id"]]
    mention = aws.mention_store().get("threads-1801")
    assert mention is not None and mention.status is MentionStatus.ANSWERED
