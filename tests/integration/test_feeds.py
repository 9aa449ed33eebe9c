"""The feed poller in-process against moto and the platform simulator's feeds: matching entries stored once,
conditional requests, a failing feed that stops nothing else, and "I answered there" on the reply page."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from infra.simulator.server import PlatformSimulator
from socialcare.data import table
from socialcare.data.polling import PollStateStore
from socialcare.data.replies import ReplyState
from socialcare.models import MentionKind, MentionStatus
from socialcare.platform_config import section_secret_ids
from tests.integration.conftest import Aws, Invoke
from tests.integration.reply_support import ALICE, customer_mention, make_reply_world

pytestmark = pytest.mark.integration


def configure_feeds(aws: Aws, config: dict[str, Any], simulator: PlatformSimulator) -> None:
    config["feeds"] = {
        "blogs": {"url": f"{simulator.url}/feeds/blogs.xml", "match": ["brand"], "label": "Blogs"},
        "forum": {"url": f"{simulator.url}/feeds/forum.xml", "match": []},
    }
    # Each section in its own secret (SECTION_SECRET_IDS), as the template makes them.
    for section, secret_id in section_secret_ids(aws.environment["SECTION_SECRET_IDS"]).items():
        text = json.dumps(config.get(section, {}))
        boto3.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=text)


def publish(simulator: PlatformSimulator, feed: str, entry_id: str, text: str, title: str = "") -> None:
    entry = {"id": entry_id, "title": title, "text": text, "author": "Bea", "link": entry_id}
    answer = requests.post(f"{simulator.url}/feeds/{feed}/entries", json=entry, timeout=5)
    assert answer.status_code == 201


def feed_gets(simulator: PlatformSimulator, feed: str) -> list[int | None]:
    return [c.status for c in simulator.calls if c.method == "GET" and c.path == f"/feeds/{feed}.xml"]


@pytest.fixture
def poller(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
) -> Invoke:
    running_simulator.reset()
    configure_feeds(aws, dev_config, running_simulator)
    poll = handlers("PollerFunction")
    return lambda _event: poll({"poller": "feeds"})


def stored_ids(aws: Aws, platform: str) -> set[str]:
    return {m.external_id for m in aws.mention_store().list(platform=platform)}


def test_matching_entries_are_stored_once_and_a_changed_feed_adds_only_its_new_entry(
    aws: Aws, poller: Invoke, running_simulator: PlatformSimulator
) -> None:
    publish(running_simulator, "blogs", "https://blogs.example/1", "<b>Brand</b> lost my parcel", "Oh no")
    publish(running_simulator, "blogs", "https://blogs.example/2", "A post about something else")

    first = poller({})
    assert first["blogs"] == {
        "status": "stored",
        "stored": 1,
        "duplicates": 0,
        "not_matching": 1,
        "error": None,
    }
    assert stored_ids(aws, "blogs") == {"https://blogs.example/1"}
    mention = aws.mention_store().get("blogs-https://blogs.example/1")
    assert mention is not None
    assert mention.text == "Oh no\n\nBrand lost my parcel"  # the HTML reduced to text
    assert mention.status is MentionStatus.NEW

    second = poller({})
    assert second["blogs"]["status"] == "unchanged"  # If-None-Match answered 304
    assert feed_gets(running_simulator, "blogs") == [200, 304]
    assert stored_ids(aws, "blogs") == {"https://blogs.example/1"}

    publish(running_simulator, "blogs", "https://blogs.example/3", "brand, where is my refund?")
    third = poller({})
    assert third["blogs"]["stored"] == 1
    assert third["blogs"]["duplicates"] == 1  # the first entry is still in the feed
    assert stored_ids(aws, "blogs") == {"https://blogs.example/1", "https://blogs.example/3"}


def test_a_failing_feed_is_retried_next_time_and_does_not_stop_another(
    aws: Aws, poller: Invoke, running_simulator: PlatformSimulator
) -> None:
    requests.post(f"{running_simulator.url}/feeds/forum/status", json={"status": 500}, timeout=5)
    publish(running_simulator, "forum", "https://forum.example/t/9", "Anyone else waiting?")
    publish(running_simulator, "blogs", "https://blogs.example/4", "brand shipped fast")

    report = poller({})
    assert report["forum"]["status"] == "failed"
    assert report["forum"]["error"] == "HTTP 500"
    assert report["blogs"]["stored"] == 1
    state = PollStateStore(table(aws.table_name)).get("feed", "forum")
    assert state.error == "HTTP 500"
    assert state.failed_since is not None

    requests.post(f"{running_simulator.url}/feeds/forum/status", json={"status": 200}, timeout=5)
    again = poller({})
    assert again["forum"]["stored"] == 1  # an empty match list keeps every entry
    assert stored_ids(aws, "forum") == {"https://forum.example/t/9"}
    assert PollStateStore(table(aws.table_name)).get("feed", "forum").error is None


def test_i_answered_there_records_the_answer_and_its_response_time(
    aws: Aws,
    handlers: Callable[[str], Invoke],
    running_simulator: PlatformSimulator,
    dev_config: dict[str, Any],
) -> None:
    world = make_reply_world(aws, handlers, running_simulator, dev_config, ALICE)
    configure_feeds(aws, dev_config, running_simulator)
    running_simulator.reset()
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    mention = world.assigned(
        customer_mention(
            "https://blogs.example/7",
            platform="blogs",
            kind=MentionKind.REVIEW,
            text="Brand lost my parcel",
            url="https://blogs.example/7",
            created_at=created,
        ),
        ALICE,
    )
    token = world.link(mention, ALICE)

    page = world.get(token)
    assert page["statusCode"] == 200
    assert "Open the post</a> and answer there" in page["body"]
    assert "I answered there" in page["body"]
    assert "Reply to" in page["body"] and "on Blogs" in page["body"]

    sent = world.answer(token, "Commented: sorry Carol, a new parcel left today.")
    assert sent["statusCode"] == 200
    assert "Recorded" in sent["body"]
    world.drain()

    answered = aws.mention_store().get(mention.id)
    assert answered is not None
    assert answered.status is MentionStatus.ANSWERED
    assert answered.answered_by == ALICE.email
    assert answered.first_response_seconds is not None and answered.first_response_seconds >= 30 * 60
    (reply,) = world.replies(mention)
    assert reply.state is ReplyState.SENT
    assert reply.text == "Commented: sorry Carol, a new parcel left today."
    assert running_simulator.calls == []  # nothing was posted anywhere
