"""Platforms resend, phones double-tap: the same delivery sent from many threads at once, and the same reply
form posted from many threads at once, through the system as `make run` serves it, end in one mention, one
text to the agent, and one post on the platform."""

import re
import threading
import time
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import requests

from socialcare.platforms.x.payloads import tweet
from tests.conftest import tweet_delivery, x_signature
from tests.running_stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

AGENT_PHONE = "+14155550166"
TWEET_ID = "880000000000000001"
TEXT = "@brand the zipper broke on day one"
THREADS = 12
NONCE = re.compile(r'name="nonce" value="([^"]+)"')


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    log = Path(tmp_path_factory.mktemp("concurrency-stack")) / "stack.log"
    with running_stack(log_path=str(log)) as running:
        running.add_agent_on_shift("Cleo Agent", "cleo@example.com", AGENT_PHONE)
        yield running


def all_at_once(action: Callable[[], requests.Response]) -> list[requests.Response]:
    responses: list[requests.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def run() -> None:
        start.wait()
        response = action()
        with lock:
            responses.append(response)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def settled[T](
    probe: Callable[[], T], done: Callable[[T], bool], quiet_s: float = 3, timeout_s: float = 40
) -> T:
    """Poll until `done` holds, then keep looking for `quiet_s` more, so that a late duplicate is seen."""
    deadline = time.monotonic() + timeout_s
    while not done(value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last seen: {value!r}")
        time.sleep(0.3)
    time.sleep(quiet_s)
    return probe()


def texts_about(stack: RunningStack) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = stack.cli_json("local", "outbox", "--json", "--channel", "sms")
    return [m for m in messages if m["to"] == AGENT_PHONE and "zipper broke" in m["body"]]


def posts_answering(stack: RunningStack) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = stack.cli_json("simulate", "calls", "--json")
    return [
        c for c in calls if (c.get("body") or {}).get("reply", {}).get("in_reply_to_tweet_id") == TWEET_ID
    ]


def test_concurrent_resends_give_one_mention_one_text_and_one_reply(stack: RunningStack) -> None:
    body = tweet_delivery(tweet(tweet_id=TWEET_ID, text=TEXT, screen_name="dora"))
    headers = {"content-type": "application/json", "x-twitter-webhooks-signature": x_signature(body)}
    url = f"{stack.api_url}/webhooks/x"
    deliveries = all_at_once(lambda: requests.post(url, data=body, headers=headers, timeout=30))
    assert [r.status_code for r in deliveries] == [200] * THREADS
    assert sum(r.json()["stored"] for r in deliveries) == 1
    listed = [m for m in stack.cli_json("mentions", "list", "--json") if m["external_id"] == TWEET_ID]
    assert len(listed) == 1

    texts = settled(lambda: texts_about(stack), lambda found: len(found) >= 1)
    assert len(texts) == 1, texts
    link = re.search(r"(http://\S+/r/[A-Za-z0-9_-]+)", texts[0]["body"])
    assert link is not None
    page = requests.get(link.group(1), timeout=10)
    assert page.status_code == 200
    nonce = unescape(NONCE.search(page.text).group(1))  # type: ignore[union-attr]

    form = {"nonce": nonce, "text": "So sorry, Dora: a replacement ships today."}
    form_headers = {"Sec-Fetch-Site": "same-origin"}
    posts = all_at_once(lambda: requests.post(link.group(1), data=form, headers=form_headers, timeout=30))
    assert all(r.status_code < 500 for r in posts), [r.status_code for r in posts]
    assert any(r.status_code == 200 for r in posts)

    replies = settled(lambda: posts_answering(stack), lambda found: len(found) >= 1)
    assert len(replies) == 1, replies
    assert replies[0]["body"]["text"] == "So sorry, Dora: a replacement ships today."
