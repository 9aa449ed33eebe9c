"""Bluesky in-process: the poller reads the brand's notifications from the simulated PDS, stores each post
once, and the reply page's answer is posted once as a reply with the thread's root and parent."""

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests
from aws_lambda_powertools.utilities import parameters

from infra.simulator.server import PlatformSimulator
from socialcare.data import table
from socialcare.data.polling import PollStateStore
from socialcare.models import MentionStatus
from socialcare.platform_config import section_secret_ids
from socialcare.platforms.bluesky.client import forget_sessions
from socialcare.platforms.bluesky.local import did_of, notification
from tests.integration.conftest import Aws, Invoke
from tests.integration.reply_support import ALICE, make_reply_world

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _no_session() -> Iterator[None]:
    forget_sessions()
    yield
    forget_sessions()


APP_PASSWORD = "app-pw"


def configure(
    aws: Aws, config: dict[str, Any], simulator: PlatformSimulator, password: str = APP_PASSWORD
) -> None:
    config["bluesky"] = {"handle": "brand.bsky.social", "app_password": password, "service": simulator.url}
    # Each section in its own secret (SECTION_SECRET_IDS), as the template makes them.
    for section, secret_id in section_secret_ids(aws.environment["SECTION_SECRET_IDS"]).items():
        text = json.dumps(config.get(section, {}))
        boto3.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=text)
    parameters.clear_caches()  # the functions read the configuration again, as after its cache expires


def notify(simulator: PlatformSimulator, item: dict[str, Any]) -> None:
    assert requests.post(f"{simulator.url}/bluesky/notifications", json=item, timeout=5).status_code == 201


def test_a_polled_mention_is_stored_once_and_answered_once_in_its_thread(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
) -> None:
    world = make_reply_world(aws, handlers, running_simulator, dev_config, ALICE)
    configure(aws, dev_config, running_simulator)
    poller = handlers("PollerFunction")
    root = {"uri": "at://did:plc:brand/app.bsky.feed.post/root1", "cid": "bafyroot1"}
    notify(
        running_simulator,
        notification(
            "carol.bsky.social",
            "@brand.bsky.social my order is late",
            "3kpost1",
            reason="reply",
            reply_to={**root, "root_uri": root["uri"], "root_cid": root["cid"]},
        ),
    )
    first = poller({"poller": "bluesky"})
    assert first["brand.bsky.social"]["stored"] == 1
    assert poller({"poller": "bluesky"})["brand.bsky.social"]["stored"] == 0  # read from where it stopped

    uri = f"at://{did_of('carol.bsky.social')}/app.bsky.feed.post/3kpost1"
    mention = aws.mention_store().get(f"bluesky-{uri}")
    assert mention is not None
    assert (mention.author.handle, mention.in_reply_to, mention.thread_key) == (
        "carol.bsky.social",
        root["uri"],
        root["uri"],
    )
    assert mention.url == "https://bsky.app/profile/carol.bsky.social/post/3kpost1"

    assert aws.mention_store().transition(  # as dispatch leaves it
        mention.id,
        set_fields={"status": MentionStatus.ASSIGNED, "assigned_to": [ALICE.email]},
        expected={"status": MentionStatus.NEW},
    )
    assigned = mention
    sent = world.answer(world.link(assigned, ALICE), "Sorry Carol, it ships today.")
    assert sent["statusCode"] == 200, sent["body"]
    world.drain()
    posts = [c for c in running_simulator.calls if c.path == "/xrpc/com.atproto.repo.createRecord"]
    assert len(posts) == 1
    record = posts[0].body["record"]
    assert record["text"] == "Sorry Carol, it ships today."
    assert record["reply"] == {"root": root, "parent": {"uri": uri, "cid": "bafy3kpost1"}}
    answered = aws.mention_store().get(mention.id)
    assert answered is not None and answered.status is MentionStatus.ANSWERED


def test_a_forged_notification_and_a_refused_login_store_nothing(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
) -> None:
    running_simulator.reset()
    poller = handlers("PollerFunction")
    forged = notification("mallory.bsky.social", "@brand.bsky.social refund me", "3kfake")
    forged["uri"] = f"at://{did_of('carol.bsky.social')}/app.bsky.feed.post/3kfake"  # in someone else's repo
    notify(running_simulator, forged)
    genuine = notification("dora.bsky.social", "@brand.bsky.social hello", "3kreal")
    notify(running_simulator, genuine)

    configure(aws, dev_config, running_simulator, password="wrong")
    refused = poller({"poller": "bluesky"})["brand.bsky.social"]
    assert refused["status"] == "failed" and "401" in refused["error"]
    assert "wrong" not in refused["error"]  # the app password never reaches a log line
    assert PollStateStore(table(aws.table_name)).get("bluesky", "brand.bsky.social").error

    configure(aws, dev_config, running_simulator)
    assert poller({"poller": "bluesky"})["brand.bsky.social"]["stored"] == 1
    stored = [m.external_id for m in aws.mention_store().list(platform="bluesky")]
    assert stored == [genuine["uri"]]
