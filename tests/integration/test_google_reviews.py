"""Google reviews end to end in process: a Pub/Sub push with an OIDC token signed by a key made here is
stored, the review read from the (simulated) Business Profile API, texted, answered on the reply page and
put once as the review's reply; a forged, stale or misaddressed token is refused."""

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.local.gateway import build_event
from infra.local.template import Route
from infra.simulator.server import PlatformSimulator
from socialcare.models import MentionStatus
from socialcare.platforms.google_reviews import payloads
from tests.integration.conftest import Aws, Invoke, json_of
from tests.integration.dispatch_support import link_in, make_world, new_mention_records, texts_to
from tests.integration.reply_support import ALICE, make_reply_world, point_config_at, text_of

PATH = "/webhooks/google-reviews"
AUDIENCE = "https://care.example/webhooks/google-reviews"


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _push(webhook: Invoke, body: dict[str, Any], token: str) -> dict[str, Any]:
    route = Route("POST", PATH, "GoogleReviewsWebhookFunction")
    headers = [("content-type", "application/json"), ("authorization", f"Bearer {token}")]
    return webhook(build_event(route, {}, "POST", PATH, headers, json.dumps(body).encode(), "203.0.113.9"))


def test_a_pushed_review_is_read_texted_answered_and_replied_to_once(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
) -> None:
    reply_world = make_reply_world(aws, handlers, running_simulator, dev_config)
    google_key, stranger_key = _pem(), _pem()
    dev_config["google_reviews"] = {
        "audience": AUDIENCE,
        "jwks": payloads.jwks_of(google_key, "g1"),
        "access_token": "test-google-token",
        "api_base": f"{running_simulator.url}/google-api/v4",
    }
    point_config_at(aws, dev_config, running_simulator)
    world = make_world(aws)
    world.add_agent("Alice", ALICE.phone, at=datetime.now(UTC), platforms=["google"])
    webhook = handlers("GoogleReviewsWebhookFunction")
    now = time.time()
    review = payloads.review("rev42", "Soles came off in a week", "Dana Reviewer", stars="ONE")

    assert requests.post(f"{running_simulator.url}/google/reviews", json=review, timeout=5).status_code == 201
    push = payloads.push("rev42")

    forged = payloads.oidc_token(stranger_key, "g1", payloads.claims(AUDIENCE, now))
    stale = payloads.oidc_token(google_key, "g1", payloads.claims(AUDIENCE, now - 7200))
    elsewhere = payloads.oidc_token(google_key, "g1", payloads.claims("https://other.example/push", now))
    for refused in (forged, stale, elsewhere, "not-a-jwt"):
        assert _push(webhook, push, refused)["statusCode"] == 401
    assert aws.mention_store().get("google-rev42") is None

    token = payloads.oidc_token(google_key, "g1", payloads.claims(AUDIENCE, now))
    stored = _push(webhook, push, token)
    assert stored["statusCode"] == 200 and json_of(stored)["stored"] == 1
    assert json_of(_push(webhook, push, token)).get("stored", 0) == 0  # Pub/Sub's redelivery: nothing new
    mention = aws.mention_store().get("google-rev42")
    assert mention is not None and "Soles came off in a week" in mention.text
    assert mention.author.handle == "Dana Reviewer"

    assert handlers("DispatcherFunction")({"Records": new_mention_records(aws)}) == {"batchItemFailures": []}
    (sms,) = texts_to(ALICE.phone)
    assert "[Google reviews]" in sms
    link = link_in(sms).rsplit("/r/", 1)[-1]
    assert "at most 4096" in text_of(reply_world.answer(link, "x" * 4097)).replace(",", "")
    assert reply_world.answer(link, "Sorry, Dana: a new pair is on its way.")["statusCode"] == 200
    reply_world.drain()

    puts = running_simulator.calls_to("/google-api/v4/accounts/1000/locations/2000/reviews/rev42/reply")
    assert [(c.method, c.body) for c in puts] == [
        ("PUT", {"comment": "Sorry, Dana: a new pair is on its way."})
    ]
    answered = aws.mention_store().get("google-rev42")
    assert answered is not None and answered.status is MentionStatus.ANSWERED
