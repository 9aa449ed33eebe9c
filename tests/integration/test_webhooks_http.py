"""The Meta and Standard Webhooks endpoints as `make run` serves them: real HTTP to the gateway, moto and the
platform simulator behind it, and the CLI reading what was stored."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.webhook_requests import (
    PAGE_ID,
    direct_message,
    instagram_comment,
    instagram_delivery,
    messaging_delivery,
    meta_body,
    meta_headers,
    page_comment,
    page_delivery,
    page_post,
    review,
    source_headers,
)
from tests.running_stack import RunningStack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    log = Path(tmp_path_factory.mktemp("webhooks-stack")) / "stack.log"
    with running_stack(log_path=str(log)) as running:
        yield running


def post_meta(stack: RunningStack, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    body = meta_body(payload)
    return requests.post(
        f"{stack.api_url}/webhooks/meta", data=body, headers=headers or meta_headers(body), timeout=30
    )


def post_source(
    stack: RunningStack, payload: dict[str, Any], source: str = "reviews", **signing: Any
) -> requests.Response:
    body = json.dumps(payload).encode()
    return requests.post(
        f"{stack.api_url}/webhooks/sources/{source}",
        data=body,
        headers=source_headers(body, **signing),
        timeout=10,
    )


def listed(stack: RunningStack, *flags: str) -> dict[str, list[dict[str, Any]]]:
    """`mentions list --json`, grouped by id (a list per id, so a mention stored twice would show)."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for mention in stack.cli_json("mentions", "list", "--json", "--limit", "1000", *flags):
        by_id.setdefault(mention["id"], []).append(mention)
    return by_id


def test_meta_verification_over_http(stack: RunningStack) -> None:
    query = "hub.mode=subscribe&hub.verify_token=dev-meta-verify-token&hub.challenge=CHALLENGE_42"
    answer = requests.get(f"{stack.api_url}/webhooks/meta?{query}", timeout=5)
    assert answer.status_code == 200 and answer.text == "CHALLENGE_42"
    assert answer.headers["content-type"].startswith("text/plain")
    wrong = requests.get(f"{stack.api_url}/webhooks/meta?{query.replace('dev-meta', 'guessed')}", timeout=5)
    assert wrong.status_code == 403


def test_signed_deliveries_of_every_kind_are_listed_once_with_author_and_full_text(
    stack: RunningStack,
) -> None:
    long_text = "La caja llegó rota — ¿me mandan otra? " + "detalle " * 200
    deliveries = [
        page_delivery(page_comment("H1_C1", long_text, post_id="H1", author_name="Ana Cliente")),
        page_delivery(page_post("H2", "Visitor post: closed on a Tuesday?")),
        instagram_delivery("comments", instagram_comment("HIGC1", "Love it 😍 @brand")),
        messaging_delivery("page", direct_message("m_http_fb", "Messenger: where is my refund?")),
        messaging_delivery("instagram", direct_message("m_http_ig", "Instagram DM: size swap?")),
    ]
    for payload in deliveries:
        for _ in range(2):  # every platform resends; the second is a duplicate
            assert post_meta(stack, payload).status_code == 200
    for _ in range(2):
        assert post_source(stack, review("http-rev-1", "Reseña: ★★☆☆☆ slow delivery")).status_code == 200

    mentions = listed(stack)
    expected = {
        "facebook-H1_C1": ("facebook", "Ana Cliente", None, long_text),
        "facebook-H2": ("facebook", "Ana Cliente", None, "Visitor post: closed on a Tuesday?"),
        "instagram-HIGC1": ("instagram", None, "ana.cliente", "Love it 😍 @brand"),
        "facebook-m_http_fb": ("facebook", None, None, "Messenger: where is my refund?"),
        "instagram-m_http_ig": ("instagram", None, None, "Instagram DM: size swap?"),
        "reviews-http-rev-1": ("reviews", "Bea Buyer", "bea", "Reseña: ★★☆☆☆ slow delivery"),
    }
    for mention_id, (platform, name, handle, text) in expected.items():
        assert len(mentions.get(mention_id, [])) == 1, (
            f"{mention_id} listed {len(mentions.get(mention_id, []))}x"
        )
        (mention,) = mentions[mention_id]
        assert mention["platform"] == platform and mention["text"] == text
        assert (mention["author_name"], mention["author_handle"]) == (name, handle)
        assert not mention["is_ours"]


def test_instagram_mention_is_stored_pending_when_the_graph_api_fails(stack: RunningStack) -> None:
    # The simulator answers the Graph fetch with an error: the mention is stored anyway, its text pending.
    payload = instagram_delivery("mentions", {"comment_id": "HIGM1", "media_id": "HMEDIA1"})
    answer = post_meta(stack, payload)
    assert answer.status_code == 200 and answer.json()["text_pending"] == 1
    assert post_meta(stack, payload).json()["duplicates"] == 1
    (mention,) = listed(stack)["instagram-HIGM1"]
    assert mention["text"] == "" and mention["text_pending"] is True
    calls = stack.simulator_calls()
    fetches = [
        c for c in calls if c["method"] == "GET" and "mentioned_comment.comment_id(HIGM1)" in str(c["query"])
    ]
    assert len(fetches) == 1  # tried once; the resend was known before any fetch


def test_our_own_comments_and_echoes_are_stored_but_not_listed(stack: RunningStack) -> None:
    own = page_comment("H3_C2", "Thanks for waiting!", post_id="H3", author_id=PAGE_ID, author_name="Brand")
    assert post_meta(stack, page_delivery(own)).status_code == 200
    echo = messaging_delivery("page", direct_message("m_http_echo", "On its way", echo=True))
    assert post_meta(stack, echo).status_code == 200
    assert {"facebook-H3_C2", "facebook-m_http_echo"}.isdisjoint(listed(stack))
    everything = listed(stack, "--all")
    assert everything["facebook-H3_C2"][0]["is_ours"] and everything["facebook-m_http_echo"][0]["is_ours"]


def test_show_gives_the_conversation_over_the_cli(stack: RunningStack) -> None:
    first = page_comment("H4_C1", "Is the shop open?", post_id="H4")
    ours = page_comment(
        "H4_C2", "Until 8!", post_id="H4", parent_id="H4_C1", author_id=PAGE_ID, author_name="Brand"
    )
    ours["created_time"] += 60
    for value in (first, ours):
        assert post_meta(stack, page_delivery(value)).status_code == 200
    document = stack.cli_json("mentions", "show", "facebook-H4_C1", "--json")
    assert document["mention"]["text"] == "Is the shop open?"
    assert [(m["id"], m["is_ours"]) for m in document["conversation"]] == [
        ("facebook-H4_C1", False),
        ("facebook-H4_C2", True),
    ]


def test_forged_stale_and_unknown_source_deliveries_leave_nothing(stack: RunningStack) -> None:
    forged_meta = meta_body(page_delivery(page_comment("H5_C1", "forged", post_id="H5")))
    answer = requests.post(
        f"{stack.api_url}/webhooks/meta",
        data=forged_meta,
        headers=meta_headers(forged_meta, secret="not-the-app-secret"),
        timeout=10,
    )
    assert answer.status_code == 401
    forged_source = post_source(stack, review("http-forged"), secret="whsec_Zm9yZ2VkLXNlY3JldA==")
    assert forged_source.status_code == 401
    stale = post_source(stack, review("http-stale"), timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401
    unknown = post_source(stack, review("http-unknown"), source="blog")
    assert unknown.status_code == 404
    oversized = requests.post(
        f"{stack.api_url}/webhooks/meta",
        data=b"{" + b" " * (1024 * 1024 + 1) + b"}",
        headers={"content-type": "application/json", "x-hub-signature-256": "sha256=00"},
        timeout=10,
    )
    assert oversized.status_code == 413
    everything = listed(stack, "--all")
    assert not {"facebook-H5_C1", "reviews-http-forged", "reviews-http-stale", "blog-http-unknown"} & set(
        everything
    )
