"""Bluesky, Threads and Google reviews through the system as `make run` serves it (one local stack for the
module): a mention arrives (polled from the simulated PDS, or pushed to our webhook by `socialcare
simulate`), the agent on shift is texted, answers from the reply page (a form post with the page's nonce),
and the answer reaches the platform simulator exactly once. Each has its forged or stale request refused:
a Threads delivery with a wrong signature and a Google push with an expired or foreign token store
nothing; Bluesky calls nobody, so a notification read again is stored once."""

import base64
import json
import re
import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import requests

from socialcare.platforms.google_reviews import payloads as google_payloads
from socialcare.platforms.threads import payloads as threads_payloads
from tests.integration.test_reply_over_http import NONCE, eventually
from tests.running_stack import RunningStack, running_stack

pytestmark = pytest.mark.integration

AGENT_PHONE = "+14155550166"
ROOT = Path(__file__).resolve().parents[2]
BLUESKY = {"handle": "brand.bsky.social", "app_password": "dev", "service": "http://127.0.0.1:4000"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    folder = Path(tmp_path_factory.mktemp("new-sources-stack"))
    # The dev configuration with Bluesky on, as the README tells a newcomer to try it.
    config = json.loads((ROOT / "infra" / "dev-config.json").read_text())
    config["bluesky"] = BLUESKY
    (folder / "config.json").write_text(json.dumps(config))
    with running_stack(
        {"SOCIALCARE_CONFIG": str(folder / "config.json")}, log_path=str(folder / "stack.log")
    ) as running:
        running.add_agent_on_shift("Nia Agent", "nia@example.com", AGENT_PHONE)
        yield running


# ---------------------------------------------------------------- what the agent and the platform see
def texted_link(stack: RunningStack, fragment: str) -> str:
    """The reply link of the agent's text about the mention whose text has `fragment`."""

    def probe() -> str | None:
        for message in stack.outbox("sms"):
            if message["to"] == AGENT_PHONE and fragment in message["body"]:
                found = re.search(r"(http://\S+/r/[A-Za-z0-9_-]+)", message["body"])
                assert found, message
                return found.group(1)
        return None

    return eventually(probe, f"the agent's text about {fragment!r}")


def answer_on_page(link: str, text: str) -> str:
    """Open the reply page and send its form, as the phone's browser does; the page's answer."""
    page = requests.get(link, timeout=10)
    assert page.status_code == 200, page.text
    nonce = unescape(NONCE.search(page.text).group(1))  # type: ignore[union-attr]
    sent = requests.post(
        link,
        data={"nonce": nonce, "text": text},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"},
        timeout=10,
    )
    assert sent.status_code == 200 and "Reply sent" in sent.text, sent.text
    return page.text


def mentions(stack: RunningStack, platform: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = stack.cli_json("mentions", "list", "--json", "--platform", platform)
    return listed


def answered(stack: RunningStack, platform: str, external_id: str) -> dict[str, Any]:
    return eventually(
        lambda: next(
            (
                m
                for m in mentions(stack, platform)
                if m["external_id"] == external_id and m["status"] == "answered"
            ),
            None,
        ),
        f"{platform} mention {external_id} answered",
    )


def send_to_webhook(stack: RunningStack, path: str, body: bytes, headers: dict[str, str]) -> int:
    return requests.post(f"{stack.api_url}{path}", data=body, headers=headers, timeout=10).status_code


# ---------------------------------------------------------------- Threads
def test_a_threads_reply_is_texted_answered_and_published_once(stack: RunningStack) -> None:
    sent = stack.cli_json(
        "simulate", "threads-reply", "--from", "kim", "--text", "@brand my boots never came", "--json"
    )
    assert sent["answer"] == {"status": 200, "body": {**sent["answer"]["body"], "stored": 1}}
    post_id = sent["sent"]["body"]["values"]["value"]["id"]

    link = texted_link(stack, "my boots never came")
    page = answer_on_page(link, "Sorry Kim, a new pair ships today.")
    assert "on Threads" in unescape(page)

    def published() -> list[dict[str, Any]]:
        containers = {
            c["answer"]["id"]: c["body"]
            for c in stack.simulator_calls()
            if c["method"] == "POST" and c["path"].endswith("/threads") and c["status"] == 200
        }
        return [
            c
            for c in stack.simulator_calls()
            if c["path"].endswith("/threads_publish")
            and containers.get(c["body"].get("creation_id"), {}).get("reply_to_id") == post_id
        ]

    (publish,) = eventually(lambda: published() or None, "the answer published on Threads")
    assert publish["status"] == 200
    created = [c for c in stack.simulator_calls() if c["body"] and c["body"].get("reply_to_id") == post_id]
    assert [c["body"]["text"] for c in created] == ["Sorry Kim, a new pair ships today."]
    answered(stack, "threads", post_id)
    assert len(published()) == 1


def test_a_threads_delivery_with_a_wrong_signature_is_refused_and_stores_nothing(
    stack: RunningStack,
) -> None:
    payload = threads_payloads.reply("18099000000000001", "@brand refund me now", "mallory")
    body, headers = threads_payloads.signed(payload, "not-the-app-secret")
    assert send_to_webhook(stack, "/webhooks/threads", body, headers) == 401
    unsigned = {"content-type": "application/json"}
    assert send_to_webhook(stack, "/webhooks/threads", body, unsigned) == 401
    assert all(m["external_id"] != "18099000000000001" for m in mentions(stack, "threads"))


# ---------------------------------------------------------------- Google reviews
def test_a_google_review_is_read_texted_answered_and_replied_to_once(stack: RunningStack) -> None:
    sent = stack.cli_json(
        "simulate", "google-review", "--from", "Dana Reviewer", "--text", "Two stars: the box came open",
        "--json",
    )  # fmt: skip
    assert sent["answer"]["status"] == 200 and sent["answer"]["body"]["stored"] == 1
    data = json.loads(base64.b64decode(sent["sent"]["body"]["message"]["data"]))
    review_id = data["review"].rsplit("/", 1)[-1]

    link = texted_link(stack, "Two stars: the box")
    page = answer_on_page(link, "Dana, we are sorry: new laces are on their way.")
    assert "on Google reviews" in unescape(page)

    def replies() -> list[dict[str, Any]]:
        return [
            c
            for c in stack.simulator_calls()
            if c["method"] == "PUT" and c["path"].endswith(f"/{review_id}/reply")
        ]

    (reply,) = eventually(lambda: replies() or None, "the review's reply put")
    assert reply["status"] == 200
    assert reply["body"] == {"comment": "Dana, we are sorry: new laces are on their way."}
    # The dev configuration uses the refresh flow: the token is one Google's token endpoint issued.
    issued = {
        c["answer"]["access_token"] for c in stack.simulator_calls() if c["path"] == "/google-oauth/token"
    }
    assert reply["headers"]["authorization"].removeprefix("Bearer ") in issued
    answered(stack, "google", review_id)
    assert len(replies()) == 1


def test_a_google_push_with_an_expired_or_foreign_token_is_refused_and_stores_nothing(
    stack: RunningStack,
) -> None:
    document = json.loads((ROOT / "infra" / "dev-config.json").read_text())["google_reviews"]
    key, audience = document["dev_signing_key"], document["audience"]
    body = json.dumps(google_payloads.push("rForged1")).encode()

    def pushed(token: str) -> int:
        headers = {"content-type": "application/json", "authorization": f"Bearer {token}"}
        return send_to_webhook(stack, "/webhooks/google-reviews", body, headers)

    two_hours_ago = time.time() - 7200  # its token expired an hour ago
    stale = google_payloads.oidc_token(key, "dev-google-key", google_payloads.claims(audience, two_hours_ago))
    assert pushed(stale) == 401
    elsewhere = google_payloads.claims("https://someone-else.example/push", time.time())
    assert pushed(google_payloads.oidc_token(key, "dev-google-key", elsewhere)) == 401
    assert pushed("not.a.token") == 401
    assert all(m["external_id"] != "rForged1" for m in mentions(stack, "google"))
    assert not [
        c for c in stack.simulator_calls() if "rForged1" in c["path"]
    ]  # the review was never even read


# ---------------------------------------------------------------- Bluesky
def poll_bluesky(stack: RunningStack) -> dict[str, Any]:
    answer = requests.post(f"{stack.api_url}/_local/schedules/PollerFunction/Bluesky", timeout=60)
    assert answer.status_code == 200, answer.text
    summary: dict[str, Any] = answer.json()[BLUESKY["handle"]]
    return summary


def test_a_bluesky_mention_is_polled_texted_answered_and_posted_once(stack: RunningStack) -> None:
    text = "@brand.bsky.social my order is late"
    added = stack.cli_json(
        "simulate", "bluesky-mention", "--from", "carol.bsky.social", "--text", text, "--id", "3lcarol1",
        "--json",
    )  # fmt: skip
    assert added["answer"]["status"] == 201
    uri = added["sent"]["body"]["uri"]

    first = poll_bluesky(stack)
    assert (first["status"], first["stored"]) == ("stored", 1)
    # The same post notified again (a page read twice, a cursor the poller did not know): stored once.
    again = stack.cli_json(
        "simulate", "bluesky-mention", "--from", "carol.bsky.social", "--text", text, "--id", "3lcarol1",
        "--json",
    )  # fmt: skip
    assert again["sent"]["body"]["uri"] == uri
    second = poll_bluesky(stack)
    assert (second["status"], second["read"], second["stored"]) == ("stored", 1, 0)
    assert [m["external_id"] for m in mentions(stack, "bluesky")] == [uri]

    link = texted_link(stack, "my order is late")
    page = answer_on_page(link, "Carol, it ships today!")
    assert "on Bluesky" in unescape(page)

    def posts() -> list[dict[str, Any]]:
        return [
            c
            for c in stack.simulator_calls()
            if c["path"] == "/xrpc/com.atproto.repo.createRecord"
            and c["body"]["record"]["reply"]["parent"]["uri"] == uri
        ]

    (post,) = eventually(lambda: posts() or None, "the answer posted on Bluesky")
    assert post["status"] == 200 and post["body"]["record"]["text"] == "Carol, it ships today!"
    assert post["body"]["record"]["reply"]["root"]["uri"] == uri
    answered(stack, "bluesky", uri)
    assert len(posts()) == 1


# ---------------------------------------------------------------- Meta's mentions sent as ids only
def test_meta_mentions_sent_as_ids_only_are_stored_with_the_words_read_from_the_graph_api(
    stack: RunningStack,
) -> None:
    caption = stack.cli_json(
        "simulate", "instagram-mention", "--from", "lena", "--text", "New boots from @brand already torn",
        "--json",
    )  # fmt: skip
    assert caption["sent"]["body"]["entry"][0]["changes"][0]["value"].keys() == {"media_id"}
    in_comment = stack.cli_json(
        "simulate", "instagram-mention", "--comment", "--from", "omar", "--text", "@brand any news?", "--json"
    )
    tagged = stack.cli_json(
        "simulate",
        "facebook-mention",
        "--from",
        "Pia Poster",
        "--text",
        "Brand Shoes lost my order",
        "--json",
    )
    assert tagged["sent"]["body"]["entry"][0]["changes"][0]["field"] == "mention"
    for sent in (caption, in_comment, tagged):
        assert sent["answer"]["status"] == 200 and sent["answer"]["body"]["stored"] == 1

    stored = {m["text"]: m for m in stack.cli_json("mentions", "list", "--json")}
    assert stored["New boots from @brand already torn"]["kind"] == "post"
    assert stored["New boots from @brand already torn"]["author_handle"] == "lena"
    assert stored["New boots from @brand already torn"]["url"].startswith("https://www.instagram.com/p/")
    assert stored["@brand any news?"]["author_handle"] == "omar"
    assert stored["Brand Shoes lost my order"]["author_name"] == "Pia Poster"
    assert not any(m["text_pending"] for m in stored.values())
