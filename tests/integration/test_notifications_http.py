"""Notifications as `make run` serves them: agents added with the CLI, a signed X mention over HTTP, and the
agent's text in `socialcare local outbox`, with a reply link to the local gateway."""

import re
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import requests

from socialcare.platforms.x.payloads import tweet
from tests.conftest import REPO_ROOT, tweet_delivery, x_signature
from tests.running_stack import RunningStack, running_stack

ANN, BEN = "+14155550101", "+14155550102"
TOKEN = r"[A-Za-z0-9_-]{43}"  # reply_tokens.new_token(): 32 random bytes, URL-safe base64


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    log = Path(tmp_path_factory.mktemp("notifications-stack")) / "stack.log"
    with running_stack(log_path=str(log)) as running:
        yield running


def post_mention(stack: RunningStack, tweet_id: str, text: str) -> None:
    body = tweet_delivery(tweet(tweet_id=tweet_id, text=text))
    headers = {"content-type": "application/json", "x-twitter-webhooks-signature": x_signature(body)}
    response = requests.post(f"{stack.api_url}/webhooks/x", data=body, headers=headers, timeout=10)
    assert response.status_code == 200 and response.json()["stored"] == 1


def wait_for_text(stack: RunningStack, containing: str, timeout_s: float = 15) -> dict[str, Any]:
    """The outbox's SMS whose body contains `containing`, polled until it shows up (bounded)."""
    return wait_for_message(stack, "sms", lambda message: containing in message["body"], timeout_s)


def wait_for_message(
    stack: RunningStack, channel: str, matches: Callable[[dict[str, Any]], bool], timeout_s: float = 15
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        found = [message for message in stack.outbox(channel) if matches(message)]
        if found:
            assert len(found) == 1, found
            return found[0]
        assert time.monotonic() < deadline, f"no {channel} message as expected within {timeout_s} s"
        time.sleep(0.3)


def only_agents(stack: RunningStack, *agents: tuple[str, str]) -> None:
    """Exactly these (name, phone) agents, on shift around the clock: each test stands alone, whichever
    tests ran before it on this stack."""
    for agent in stack.cli_json("agents", "list", "--json"):
        removed = stack.cli("agents", "remove", agent["email"])
        assert removed.returncode == 0, removed.stderr
    for name, phone in agents:
        stack.add_agent_on_shift(name, f"{name.lower()}@example.com", phone)


def test_a_signed_mention_texts_the_agent_on_shift_a_working_reply_link(stack: RunningStack) -> None:
    only_agents(stack, ("Ann", ANN))
    assert [a["email"] for a in stack.cli_json("on-shift", "--json")] == ["ann@example.com"]

    post_mention(stack, "5001", "@brand my parcel never arrived")
    sms = wait_for_text(stack, "my parcel never arrived")

    assert sms["to"] == ANN and sms["sent_at"]
    link, rest = sms["body"].split("\n", 1)
    assert rest == '[X] @alice: "@brand my parcel never arrived"'
    assert re.fullmatch(re.escape(stack.api_url) + "/r/" + TOKEN, link), link
    # The email goes out just after the text.
    email = wait_for_message(stack, "email", lambda message: message["to"] == "ann@example.com")
    assert email["subject"] == "[X] post from @alice: @brand my parcel never arrived"
    if (REPO_ROOT / "functions" / "reply_page").is_dir():  # another developer's page; check it opens
        assert requests.get(link, timeout=10).status_code == 200


def test_new_mentions_alternate_between_two_agents_on_shift(stack: RunningStack) -> None:
    only_agents(stack, ("Ann", ANN), ("Ben", BEN))
    recipients = []
    for number in range(4):
        text = f"@brand question number {number} about my order"
        post_mention(stack, f"600{number}", text)
        recipients.append(wait_for_text(stack, text)["to"])  # one at a time: the order is the dispatch order
    assert set(recipients) == {ANN, BEN}
    assert all(first != second for first, second in pairwise(recipients))
