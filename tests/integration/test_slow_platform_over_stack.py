"""Exactly one post when the platform answers after our read timeout, through the system as `make run` serves
it: a mention comes in by a signed webhook (what `socialcare simulate` sends), the agent answers it on the
reply page over HTTP, the simulator holds the answer to the first post past the sender's read timeout (the
post still lands), and the reply must end `sent` with one post at the platform: X (a public reply and a
direct message), a Facebook comment and an Instagram comment found by their adapter's look-up, a Standard
Webhooks source sent the same `webhook-id` again and dropping the repeat.

The five go out together: the reply sender's read timeout is cut to what its invocation has left (about 5 s
of the template's 10 s), and SLOW_S is longer than that, so each first attempt times out."""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.system import load_config
from socialcare.platform_config import PlatformConfig
from socialcare.platforms import registry
from socialcare.platforms.local import stable_id
from tests.integration.test_reply_over_http import AGENT_PHONE, eventually, open_and_answer
from tests.running_stack import RunningStack, running_stack

pytestmark = pytest.mark.integration

SLOW_S = 7.0  # > the sender's read timeout (10 s function timeout - 3.05 s connect - 1.5 s margin)


@dataclass(frozen=True)
class Case:
    name: str
    event: str  # what `socialcare simulate` calls it
    options: dict[str, Any]  # its options, as the command line passes them
    text: str  # the customer's words: unique, so the agent's SMS about it is found
    mention_id: str
    post_method: str
    post_path: str  # the answer's POST, which the simulator holds past the read timeout

    def posts(self, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [c for c in calls if c["method"] == self.post_method and c["path"].endswith(self.post_path)]


ALICE_ON_X = stable_id("x:alice")  # the simulated author's X user id (socialcare.platforms.x.local)
CASES = [
    Case(
        "x post",
        "x-mention",
        {"sender": "@alice", "id": "1850000000000000101"},
        "@brand my parcel never came",
        "x-1850000000000000101",
        "POST",
        "/2/tweets",
    ),
    Case(
        "x dm",
        "x-mention",
        {"sender": "@alice", "id": "1850000000000000102", "dm": True},
        "hi, my order 4411 is missing a shoe",
        "x-1850000000000000102",
        "POST",
        f"/2/dm_conversations/with/{ALICE_ON_X}/messages",
    ),
    Case(
        "facebook comment",
        "facebook-comment",
        {"sender": "Fay Example", "post": "2000000001_500", "id": "500_600"},
        "The zipper broke on day two",
        "facebook-500_600",
        "POST",
        "/500_600/comments",
    ),
    Case(
        "instagram comment",
        "instagram-comment",
        {"sender": "ines", "media": "17900000000000055", "id": "17850000000000066"},
        "@brand still waiting for my refund",
        "instagram-17850000000000066",
        "POST",
        "/17850000000000066/replies",
    ),
    Case(
        "source",
        "source",
        {"sender": "bea", "source": "reviews", "id": "rev-77"},
        "Two stars: the parcel came open",
        "reviews-rev-77",
        "POST",
        "/sources/reviews/replies",
    ),
]


@pytest.fixture(scope="module")
def answered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStack, dict[str, Any]]]:
    """The stack after all five were answered with a slow first post: (stack, mentions list by id)."""
    log = Path(tmp_path_factory.mktemp("slow-platform")) / "stack.log"
    with running_stack({"SOCIALCARE_PARAMETERS": "MaxOpenAssignments=10"}, log_path=str(log)) as stack:
        stack.add_agent_on_shift("Olga Agent", "olga@example.com", AGENT_PHONE)
        for case in CASES:
            simulate(stack, case)
            delay = {"seconds": SLOW_S, "method": case.post_method, "path": case.post_path}
            held = requests.post(f"{stack.simulator_url}/_simulator/delay", json=delay, timeout=5)
            assert held.status_code == 204
        for case in CASES:
            sent = open_and_answer(texted_link(stack, case.text), f"Sorry about that ({case.name}), on it.")
            assert sent.status_code == 200 and "Reply sent" in sent.text, sent.text

        def all_sent() -> dict[str, Any] | None:
            listed = {m["id"]: m for m in stack.cli_json("mentions", "list", "--json")}
            # The list reads each mention, then its replies: a reply marked sent between the two reads shows
            # beside a mention not yet answered, so wait for both (one transaction writes them).
            done = all(
                (listed.get(c.mention_id, {}).get("reply_status"), listed.get(c.mention_id, {}).get("status"))
                == ("sent", "answered")
                for c in CASES
            )
            return listed if done else None

        # The look-ups run when the held posts come back, about ten seconds on: no need to ask every 0.2 s.
        yield stack, eventually(all_sent, "every reply sent", timeout_s=180, interval_s=2)


def simulate(stack: RunningStack, case: Case) -> None:
    """What `socialcare simulate <event>` sends (the adapter's own signed payload), in this process: a CLI
    process per event costs seconds on a busy machine, and the command itself is tested elsewhere."""
    events = {event.name: event for adapter in registry.webhooks() for event in adapter.local().events}
    config = PlatformConfig.model_validate(load_config())
    request = events[case.event].build({**case.options, "text": case.text}, config)
    answer = requests.post(
        stack.api_url + request.path, data=request.body, headers=request.headers, timeout=30
    )
    assert answer.status_code == 200 and answer.json()["stored"] == 1, answer.text


def texted_link(stack: RunningStack, text: str) -> str:
    """The reply link in the agent's SMS about the mention with this text (the outbox `socialcare local
    outbox` reads, asked over HTTP: one request a poll instead of a process)."""

    def probe() -> str | None:
        for message in stack.outbox("sms"):
            if message["to"] == AGENT_PHONE and text in message["body"]:
                return re.search(r"(http://\S+/r/[A-Za-z0-9_-]+)", message["body"]).group(1)  # type: ignore[union-attr]
        return None

    return eventually(probe, f"the agent's text about {text!r}")


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "source"], ids=lambda c: c.name)
def test_a_post_that_landed_late_is_found_by_the_look_up_and_not_posted_again(
    answered: tuple[RunningStack, dict[str, Any]], case: Case
) -> None:
    stack, mentions = answered
    mention = mentions[case.mention_id]
    assert mention["reply_sent_via"] == "lookup", "the first answer came too late; the look-up found it"
    assert mention["status"] == "answered"
    (post,) = case.posts(stack.simulator_calls())
    assert post["status"] in (200, 201), post
    assert f"Sorry about that ({case.name}), on it." in post["raw_body"]


def test_a_source_gets_every_attempt_with_one_webhook_id_and_keeps_one_delivery(
    answered: tuple[RunningStack, dict[str, Any]],
) -> None:
    stack, mentions = answered
    case = next(c for c in CASES if c.name == "source")
    assert mentions[case.mention_id]["status"] == "answered"
    attempts = [
        c for c in case.posts(stack.simulator_calls()) if c["body"]["data"]["in_reply_to"] == "rev-77"
    ]
    assert len(attempts) == 2, "the first answer came too late: the reply went again"
    assert len({c["headers"]["webhook-id"] for c in attempts}) == 1
    assert len({c["answer"]["id"] for c in attempts}) == 1, "the receiver kept one delivery"


def test_an_instagram_comment_answered_over_the_stack_links_to_its_media(
    answered: tuple[RunningStack, dict[str, Any]],
) -> None:
    _, mentions = answered
    mention = mentions["instagram-17850000000000066"]
    assert mention["url"] == "https://www.instagram.com/p/17900000000000055/"
