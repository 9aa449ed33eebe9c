"""Answering a customer through the system as `make run` serves it, the way the README walks a newcomer
through it: `socialcare simulate x-mention`, the texted link in `socialcare local outbox`, the reply page over
HTTP, and the platform simulator's record of what was posted (`socialcare simulate calls`)."""

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.running_stack import RunningStack, running_stack

pytestmark = pytest.mark.integration

AGENT_PHONE = "+14155550177"
NONCE = re.compile(r'name="nonce" value="([^"]+)"')


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    log = Path(tmp_path_factory.mktemp("reply-stack")) / "stack.log"
    with running_stack(log_path=str(log)) as running:
        running.add_agent_on_shift("Olga Agent", "olga@example.com", AGENT_PHONE)
        yield running


def eventually[T](
    probe: Callable[[], T | None], what: str, timeout_s: float = 30, interval_s: float = 0.2
) -> T:
    """`interval_s`: longer for a probe that starts a CLI process, which costs half a CPU second."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval_s)


def simulate_mention(stack: RunningStack, text: str) -> str:
    """`socialcare simulate x-mention`; returns the tweet id it sent."""
    exchange = stack.cli_json("simulate", "x-mention", "--from", "@alice", "--text", text, "--json")
    assert exchange["answer"]["status"] == 200
    assert exchange["answer"]["body"]["stored"] == 1
    tweet_id: str = exchange["sent"]["body"]["tweet_create_events"][0]["id_str"]
    assert exchange["sent"]["headers"]["x-twitter-webhooks-signature"].startswith("sha256=")
    return tweet_id


def texted_link(stack: RunningStack, text: str) -> str:
    """The reply link in the SMS the agent got about the mention with this text."""

    def probe() -> str | None:
        for message in stack.outbox("sms"):
            if message["to"] == AGENT_PHONE and text in message["body"]:
                found = re.search(r"(http://\S+/r/[A-Za-z0-9_-]+)", message["body"])
                assert found, message
                return found.group(1)
        return None

    return eventually(probe, "the agent's text message")


def calls(stack: RunningStack) -> list[dict[str, Any]]:
    return stack.simulator_calls()


def calls_answering(stack: RunningStack, tweet_id: str) -> list[dict[str, Any]]:
    return [c for c in calls(stack) if c["body"].get("reply", {}).get("in_reply_to_tweet_id") == tweet_id]


def open_and_answer(link: str, text: str, headers: dict[str, str] | None = None) -> requests.Response:
    page = requests.get(link, timeout=10)
    assert page.status_code == 200, page.text
    nonce = unescape(NONCE.search(page.text).group(1))  # type: ignore[union-attr]
    # What a browser sends for the page's own form; requests encodes the form as browsers do.
    form_headers = {"Sec-Fetch-Site": "same-origin", "Origin": "null", **(headers or {})}
    return requests.post(link, data={"nonce": nonce, "text": text}, headers=form_headers, timeout=10)


def test_a_texted_link_answers_the_customer_once(stack: RunningStack) -> None:
    tweet_id = simulate_mention(stack, "@brand my parcel never came")
    link = texted_link(stack, "my parcel never came")
    assert link.startswith(stack.api_url + "/r/")

    page = requests.get(link, timeout=10)
    assert page.status_code == 200
    assert "my parcel never came" in page.text
    assert "Reply to <bdi>Alice (@alice)</bdi> on X" in unescape(page.text)
    assert page.headers["content-security-policy"].startswith("default-src 'none'")

    sent = open_and_answer(link, "Sorry Alice! A new parcel ships today.")
    assert sent.status_code == 200 and "Reply sent" in sent.text

    (call,) = eventually(lambda: calls_answering(stack, tweet_id) or None, "the reply at the simulator")
    assert call["method"] == "POST" and call["path"] == "/2/tweets"
    assert call["headers"]["authorization"] == "Bearer dev-x-bearer-token"
    assert call["body"] == {
        "text": "Sorry Alice! A new parcel ships today.",
        "reply": {"in_reply_to_tweet_id": tweet_id},
    }
    answered = eventually(
        lambda: next(
            (
                m
                for m in stack.cli_json("mentions", "list", "--json")
                if m["external_id"] == tweet_id and m["status"] == "answered"
            ),
            None,
        ),
        "the mention to be answered",
    )
    assert answered["text"] == "@brand my parcel never came"

    # The used link shows what went out, and posting it again sends nothing.
    again = requests.get(link, timeout=10)
    assert again.status_code == 200 and "Already answered" in again.text and 'name="nonce"' not in again.text
    nonce = unescape(NONCE.search(page.text).group(1))  # type: ignore[union-attr]
    resent = requests.post(
        link,
        data={"nonce": nonce, "text": "Posting twice?"},
        headers={"Sec-Fetch-Site": "same-origin"},
        timeout=10,
    )
    assert resent.status_code == 200 and "Already answered" in resent.text
    # Sync point: a later reply's post shows the queue has moved past anything that second POST could have
    # queued.
    later_id = simulate_mention(stack, "@brand and another thing")
    assert open_and_answer(texted_link(stack, "and another thing"), "Noted!").status_code == 200
    eventually(lambda: calls_answering(stack, later_id) or None, "the later reply at the simulator")
    assert len(calls_answering(stack, tweet_id)) == 1
    assert not [c for c in calls(stack) if "Posting twice?" in c["raw_body"]]


def test_a_cross_site_post_is_refused_and_the_link_still_works(stack: RunningStack) -> None:
    tweet_id = simulate_mention(stack, "@brand is anyone there?")
    link = texted_link(stack, "is anyone there?")
    page = requests.get(link, timeout=10)
    nonce = unescape(NONCE.search(page.text).group(1))  # type: ignore[union-attr]

    refused = requests.post(
        link,
        data={"nonce": nonce, "text": "Sent from evil.example"},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        timeout=10,
    )

    assert refused.status_code == 403
    assert refused.headers["x-frame-options"] == "DENY"
    still = requests.get(link, timeout=10)
    assert still.status_code == 200 and 'name="nonce"' in still.text, "the link was not used up"
    assert open_and_answer(link, "Yes, we're here!").status_code == 200
    (call,) = eventually(lambda: calls_answering(stack, tweet_id) or None, "the real reply")
    assert call["body"]["text"] == "Yes, we're here!"
    assert not [c for c in calls(stack) if "evil.example" in c["raw_body"]]


def poll_feeds(stack: RunningStack) -> dict[str, Any]:
    """One run of the feed poller's schedule, now (the local stack's /_local/schedules route)."""
    answer = requests.post(f"{stack.api_url}/_local/schedules/PollerFunction/Feeds", timeout=60)
    assert answer.status_code == 200, answer.text
    summary: dict[str, Any] = answer.json()
    return summary


def publish(stack: RunningStack, feed: str, entry_id: str, text: str) -> None:
    exchange = stack.cli_json(
        "simulate", "feed-entry", "--feed", feed, "--from", "Bea Blogger", "--text", text, "--id", entry_id,
        "--json",
    )  # fmt: skip
    assert exchange["answer"]["status"] == 201


def test_a_feed_entry_becomes_one_mention_and_i_answered_there_answers_it(stack: RunningStack) -> None:
    requests.post(f"{stack.simulator_url}/feeds/forum/status", json={"status": 500}, timeout=5)
    publish(stack, "blogs", "https://blogs.example/p1", "<p>My <b>brand</b> boots fell apart</p>")
    publish(stack, "blogs", "https://blogs.example/p2", "Nothing about us here")
    publish(stack, "forum", "https://forum.example/t/1", "Anyone else waiting for a refund?")

    first = poll_feeds(stack)
    assert first["blogs"]["stored"] == 1 and first["blogs"]["not_matching"] == 1
    assert first["forum"] == {**first["forum"], "status": "failed", "error": "HTTP 500"}
    assert poll_feeds(stack)["blogs"]["status"] == "unchanged"  # a second poll stores nothing new

    publish(stack, "blogs", "https://blogs.example/p3", "brand refund came quickly")
    requests.post(f"{stack.simulator_url}/feeds/forum/status", json={"status": 200}, timeout=5)
    third = poll_feeds(stack)
    assert (third["blogs"]["stored"], third["blogs"]["duplicates"]) == (1, 1)  # only the new entry
    assert third["forum"]["stored"] == 1  # the failed feed is read again on the next run

    listed = stack.cli_json("mentions", "list", "--json", "--platform", "blogs")
    assert sorted(m["external_id"] for m in listed) == [
        "https://blogs.example/p1",
        "https://blogs.example/p3",
    ]

    def platform_posts() -> int:
        return len([c for c in calls(stack) if c["method"] == "POST" and "/feeds/" not in c["path"]])

    posts_before = platform_posts()
    link = texted_link(stack, "boots fell apart")
    page = requests.get(link, timeout=10)
    assert "I answered there" in page.text and "on Blogs" in page.text
    recorded = open_and_answer(link, "Commented under the post: a new pair ships today.")
    assert recorded.status_code == 200 and "Recorded" in recorded.text

    def answered() -> dict[str, Any] | None:
        for mention in stack.cli_json("mentions", "list", "--json", "--platform", "blogs"):
            if mention["external_id"] == "https://blogs.example/p1" and mention["status"] == "answered":
                return dict(mention)
        return None

    mention = eventually(answered, "the feed mention answered")
    # Recorded as our first response, timed from the entry's post to the press of "I answered there".
    assert mention["answered_at"] is not None
    waited = datetime.fromisoformat(mention["answered_at"]) - datetime.fromisoformat(mention["created_at"])
    assert mention["first_response_seconds"] == pytest.approx(waited.total_seconds(), abs=1)
    shown = stack.cli_json("mentions", "show", mention["id"], "--json")
    ours = [m for m in shown["conversation"] if m["is_ours"]]
    assert [m["text"] for m in ours] == ["Commented under the post: a new pair ships today."]
    assert platform_posts() == posts_before  # recorded, not posted anywhere
