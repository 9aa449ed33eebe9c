"""The Meta webhook in-process against moto: the subscription check, every Page and Instagram event kind we
store, edit, remove or ignore, batches, Instagram mentions' texts, and every bad input refused with nothing
written."""

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from socialcare.data.mentions import TEXT_PENDING_PK
from socialcare.models import MentionKind, MentionStatus
from socialcare.platforms import meta
from tests.integration.conftest import Aws, Invoke, http_event, json_of
from tests.integration.webhook_requests import (
    CUSTOMER,
    IG_USER_ID,
    PAGE_ID,
    T0,
    direct_message,
    instagram_comment,
    instagram_delivery,
    messaging_delivery,
    meta_body,
    meta_headers,
    page_comment,
    page_delivery,
    page_post,
)


@pytest.fixture
def meta_webhook(handlers: Callable[[str], Invoke]) -> Invoke:
    return handlers("MetaWebhookFunction")


def post(webhook: Invoke, payload: dict[str, Any] | bytes, headers: dict[str, str] | None = None) -> Any:
    body = payload if isinstance(payload, bytes) else meta_body(payload)
    return webhook(http_event("POST", "/webhooks/meta", body, headers or meta_headers(body)))


def stored_ok(response: dict[str, Any]) -> dict[str, Any]:
    assert response["statusCode"] == 200, response
    answer: dict[str, Any] = json_of(response)
    return answer


def mention_items(aws: Aws) -> list[dict[str, Any]]:
    return [item for item in aws.items() if item.get("entity") == "mention"]


# ---------------------------------------------------------------- subscription check
def test_verification_echoes_the_challenge_as_plain_text(meta_webhook: Invoke, aws: Aws) -> None:
    target = (
        "/webhooks/meta?hub.mode=subscribe&hub.verify_token=dev-meta-verify-token&hub.challenge=1158201444"
    )
    response = meta_webhook(http_event("GET", target))
    assert response["statusCode"] == 200
    assert response["body"] == "1158201444"
    assert response["headers"]["Content-Type"].startswith("text/plain")
    assert aws.items() == []


def test_verification_with_a_wrong_token_is_403(meta_webhook: Invoke) -> None:
    target = "/webhooks/meta?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444"
    response = meta_webhook(http_event("GET", target))
    assert response["statusCode"] == 403
    assert "1158201444" not in response["body"]


def test_verification_without_a_challenge_is_400(meta_webhook: Invoke) -> None:
    target = "/webhooks/meta?hub.mode=subscribe&hub.verify_token=dev-meta-verify-token"
    assert meta_webhook(http_event("GET", target))["statusCode"] == 400


# ---------------------------------------------------------------- Facebook Page
def test_page_comment_is_stored_with_its_author_and_conversation(meta_webhook: Invoke, aws: Aws) -> None:
    answer = stored_ok(post(meta_webhook, page_delivery(page_comment())))
    assert answer["stored"] == 1 and answer["duplicates"] == 0
    (mention,) = aws.mention_store().list()
    assert (mention.platform, mention.external_id, mention.kind) == ("facebook", "P1_C1", MentionKind.COMMENT)
    assert mention.author.name == "Ana Cliente" and mention.author.id == CUSTOMER
    assert mention.text == "Where is my order?" and mention.status is MentionStatus.NEW
    assert mention.conversation_id == "facebook:P1"


def test_reply_to_a_comment_joins_its_conversation_oldest_first(meta_webhook: Invoke, aws: Aws) -> None:
    post(meta_webhook, page_delivery(page_comment("P1_C1", "First")))
    reply = page_comment("P1_C2", "Ours", parent_id="P1_C1", author_id=PAGE_ID, author_name="Brand")
    reply["created_time"] += 60
    post(meta_webhook, page_delivery(reply))
    conversation = aws.mention_store().conversation("facebook:P1")
    assert [(m.external_id, m.is_ours) for m in conversation] == [("P1_C1", False), ("P1_C2", True)]


def test_edited_comment_replaces_the_text_and_keeps_the_old_one(meta_webhook: Invoke, aws: Aws) -> None:
    post(meta_webhook, page_delivery(page_comment(message="Where is my order?")))
    edit = page_delivery(page_comment(message="Where is my order #123?", verb="edited"))
    assert stored_ok(post(meta_webhook, edit))["edited"] == 1
    assert stored_ok(post(meta_webhook, edit))["edited"] == 0  # Meta's resend changes nothing
    mention = aws.mention_store().get("facebook-P1_C1")
    assert mention is not None and mention.text == "Where is my order #123?"
    (item,) = mention_items(aws)
    assert [entry["text"] for entry in item["edit_history"]] == ["Where is my order?"]
    assert item["edited_at"]


def edit_at(message: str, entry_time: int) -> dict[str, Any]:
    """A signed-to-be "edited" delivery whose entry (the event) happened at `entry_time`."""
    delivery = page_delivery(page_comment(message=message, verb="edited"))
    delivery["entry"][0]["time"] = entry_time
    return delivery


def test_an_edit_older_than_the_stored_text_is_acknowledged_and_ignored(
    meta_webhook: Invoke, aws: Aws
) -> None:
    post(meta_webhook, page_delivery(page_comment(message="v0: where is my order?")))
    v1, v2 = edit_at("v1: order #1", T0 + 10), edit_at("v2: order #2, sorry", T0 + 20)
    assert stored_ok(post(meta_webhook, v1))["edited"] == 1
    assert stored_ok(post(meta_webhook, v2))["edited"] == 1

    late = stored_ok(post(meta_webhook, v1))  # a resend of v1 after v2, by Meta's retry or anybody

    assert late["edited"] == 0
    (item,) = mention_items(aws)
    assert item["text"] == "v2: order #2, sorry"
    assert [entry["text"] for entry in item["edit_history"]] == ["v0: where is my order?", "v1: order #1"]


def test_edits_arriving_out_of_order_end_with_the_latest(meta_webhook: Invoke, aws: Aws) -> None:
    post(meta_webhook, page_delivery(page_comment(message="v0")))
    assert stored_ok(post(meta_webhook, edit_at("v2", T0 + 20)))["edited"] == 1
    assert stored_ok(post(meta_webhook, edit_at("v1", T0 + 10)))["edited"] == 0
    (item,) = mention_items(aws)
    assert item["text"] == "v2"


def test_an_edit_that_arrives_after_a_later_one_is_kept_in_the_history_marked_out_of_order(
    meta_webhook: Invoke, aws: Aws
) -> None:
    """Nothing the customer wrote is hidden: v1 never became the text, but it is in the history."""
    post(meta_webhook, page_delivery(page_comment(message="v0")))
    post(meta_webhook, edit_at("v2", T0 + 20))
    post(meta_webhook, edit_at("v1", T0 + 10))
    post(meta_webhook, edit_at("v1", T0 + 10))  # Meta's resend of it adds nothing
    (item,) = mention_items(aws)
    assert item["text"] == "v2"
    first, late = item["edit_history"]
    assert first["text"] == "v0" and "out_of_order" not in first
    assert late["text"] == "v1" and late["out_of_order"] is True
    assert late["written_at"].startswith(datetime.fromtimestamp(T0 + 10, UTC).strftime("%Y-%m-%dT%H:%M:%S"))


def test_add_and_edits_in_one_batch_end_with_the_last_text(meta_webhook: Invoke, aws: Aws) -> None:
    batch = page_delivery(
        page_comment(message="v1"),
        page_comment(message="v2", verb="edited"),
        page_comment(message="v3", verb="edited"),
    )
    answer = stored_ok(post(meta_webhook, batch))
    assert (answer["stored"], answer["edited"]) == (1, 2)
    (item,) = mention_items(aws)
    assert item["text"] == "v3" and [e["text"] for e in item["edit_history"]] == ["v1", "v2"]


def test_edit_of_a_comment_we_never_stored_stores_it(meta_webhook: Invoke, aws: Aws) -> None:
    answer = stored_ok(post(meta_webhook, page_delivery(page_comment("P1_C7", "now edited", verb="edited"))))
    assert answer["stored"] == 1
    (mention,) = aws.mention_store().list()
    assert mention.id == "facebook-P1_C7" and mention.text == "now edited"
    assert mention.conversation_id == "facebook:P1"


def test_removed_comment_is_marked_removed(meta_webhook: Invoke, aws: Aws) -> None:
    post(meta_webhook, page_delivery(page_comment()))
    removal = {"item": "comment", "verb": "remove", "comment_id": "P1_C1", "post_id": "P1"}
    assert stored_ok(post(meta_webhook, page_delivery(removal)))["gone"] == 1
    assert aws.mention_store().get("facebook-P1_C1").status is MentionStatus.REMOVED  # type: ignore[union-attr]


def test_removal_of_something_we_never_stored_writes_nothing(meta_webhook: Invoke, aws: Aws) -> None:
    removal = {"item": "comment", "verb": "remove", "comment_id": "P1_C404", "post_id": "P1"}
    assert stored_ok(post(meta_webhook, page_delivery(removal)))["gone"] == 0
    assert aws.items() == []


@pytest.mark.parametrize("item", ["post", "status"])
def test_visitor_post_on_the_page_is_stored(meta_webhook: Invoke, aws: Aws, item: str) -> None:
    stored_ok(post(meta_webhook, page_delivery(page_post("P9", "Closed today?", item=item))))
    (mention,) = aws.mention_store().list()
    assert (
        mention.id == "facebook-P9" and mention.kind is MentionKind.POST and mention.text == "Closed today?"
    )


@pytest.mark.parametrize("item", ["reaction", "like", "share"])
def test_reactions_likes_and_shares_are_acknowledged_and_ignored(
    meta_webhook: Invoke, aws: Aws, item: str
) -> None:
    value = {"item": item, "verb": "add", "post_id": "P1", "from": {"id": CUSTOMER}, "reaction_type": "like"}
    answer = stored_ok(post(meta_webhook, page_delivery(value)))
    assert answer["stored"] == 0 and answer["ignored"] == [f"feed:{item}"]
    assert aws.items() == []


def test_the_pages_own_comment_is_ours_and_not_listed(meta_webhook: Invoke, aws: Aws) -> None:
    own = page_comment("P1_C3", "Thanks, on its way!", author_id=PAGE_ID, author_name="Brand")
    stored_ok(post(meta_webhook, page_delivery(own)))
    assert aws.mention_store().list() == []
    (ours,) = aws.mention_store().list(include_ours=True)
    assert ours.is_ours and ours.status is MentionStatus.OURS


def test_two_subscribed_accounts_receiving_one_event_store_one_mention(
    meta_webhook: Invoke, aws: Aws
) -> None:
    comment = page_comment("P5_C1", "Seen on two pages", post_id="P5")
    twice = page_delivery(comment)
    twice["entry"].append({**twice["entry"][0], "id": "2000000002"})  # one POST, two entries
    answer = stored_ok(post(meta_webhook, twice))
    assert (answer["stored"], answer["duplicates"]) == (1, 1)
    other_account = stored_ok(post(meta_webhook, page_delivery(comment, entry_id="2000000003")))
    assert (other_account["stored"], other_account["duplicates"]) == (0, 1)
    assert [m.id for m in aws.mention_store().list()] == ["facebook-P5_C1"]


def test_unicode_escaped_by_meta_is_stored_decoded(meta_webhook: Invoke, aws: Aws) -> None:
    text = "¿Dónde está mi pedido? 📦 — ありがとう"
    body = meta_body(page_delivery(page_comment(message=text)))
    assert b"\\u00bf" in body and "¿".encode() not in body  # the bytes Meta signs are ASCII escapes
    stored_ok(post(meta_webhook, body))
    (mention,) = aws.mention_store().list()
    assert mention.text == text


def test_a_base64_encoded_body_is_verified_over_its_decoded_bytes(meta_webhook: Invoke, aws: Aws) -> None:
    body = meta_body(page_delivery(page_comment()))
    event = http_event("POST", "/webhooks/meta", body, meta_headers(body))
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    assert stored_ok(meta_webhook(event))["stored"] == 1


def test_a_batch_of_500_changes_stores_500_mentions_and_its_resend_none(
    meta_webhook: Invoke, aws: Aws
) -> None:
    comments = [page_comment(f"P2_C{i}", f"comment number {i}", post_id="P2") for i in range(500)]
    body = meta_body(page_delivery(*comments))
    first = stored_ok(post(meta_webhook, body))
    assert (first["stored"], first["duplicates"]) == (500, 0)
    assert len(mention_items(aws)) == 500
    again = stored_ok(post(meta_webhook, body))
    assert (again["stored"], again["duplicates"]) == (0, 500)
    assert len(mention_items(aws)) == 500
    assert len(aws.mention_store().conversation("facebook:P2")) == 500


# ---------------------------------------------------------------- Instagram
def test_instagram_comment_is_stored_with_its_handle(meta_webhook: Invoke, aws: Aws) -> None:
    stored_ok(post(meta_webhook, instagram_delivery("comments", instagram_comment())))
    (mention,) = aws.mention_store().list()
    assert (mention.platform, mention.external_id, mention.kind) == ("instagram", "IGC1", MentionKind.COMMENT)
    assert mention.author.handle == "ana.cliente" and mention.text == "Love it @brand"
    assert mention.conversation_id == "instagram:MEDIA1"


def test_instagram_accounts_own_comment_is_ours(meta_webhook: Invoke, aws: Aws) -> None:
    own = instagram_comment("IGC2", "Thank you!", **{"from": {"id": IG_USER_ID, "username": "brand"}})
    stored_ok(post(meta_webhook, instagram_delivery("comments", own)))
    assert aws.mention_store().list() == []
    assert [m.is_ours for m in aws.mention_store().list(include_ours=True)] == [True]


def test_instagram_comments_get_their_medias_permalink_once_per_media(
    meta_webhook: Invoke, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comments webhook names the media, not its link: ingest asks the Graph API for the permalink once
    per media, so the page and the alerts can offer "Open on Instagram"."""
    asked: list[str] = []

    def fetch(media_id: str, config: Any, session: Any = None, timeout: float = 5) -> dict[str, Any]:
        asked.append(media_id)
        assert timeout <= 2
        return {"url": f"https://www.instagram.com/p/{media_id}-code/"}

    monkeypatch.setattr(meta.webhook, "fetch_instagram_permalink", fetch)
    delivery = instagram_delivery("comments", instagram_comment("IGC1", media_id="MEDIA5"))
    second = instagram_comment("IGC2", "Me too @brand", media_id="MEDIA5")
    delivery["entry"][0]["changes"].append({"field": "comments", "value": second})
    answer = stored_ok(post(meta_webhook, delivery))
    assert (answer["stored"], answer["text_pending"]) == (2, 0)
    assert stored_ok(post(meta_webhook, delivery))["duplicates"] == 2
    assert asked == ["MEDIA5"], "one look-up for two comments on one media, none for the resend"
    urls = {m.external_id: m.url for m in aws.mention_store().list()}
    assert urls == {
        "IGC1": "https://www.instagram.com/p/MEDIA5-code/",
        "IGC2": "https://www.instagram.com/p/MEDIA5-code/",
    }


def test_an_instagram_comment_whose_permalink_cannot_be_read_is_stored_without_it(
    meta_webhook: Invoke, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(media_id: str, config: Any, session: Any = None, timeout: float = 5) -> dict[str, Any]:
        raise meta.GraphApiError("Application request limit reached", code=4, status=403)

    monkeypatch.setattr(meta.webhook, "fetch_instagram_permalink", fail)
    answer = stored_ok(post(meta_webhook, instagram_delivery("comments", instagram_comment())))
    assert (answer["stored"], answer["text_pending"]) == (1, 0)
    (mention,) = aws.mention_store().list()
    assert mention.text == "Love it @brand" and mention.url is None and not mention.text_pending
    assert not [item for item in aws.items() if item["pk"] == TEXT_PENDING_PK]


def test_instagram_mention_gets_its_text_from_the_graph_api(
    meta_webhook: Invoke, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def fetch(comment_id: str, config: Any, session: Any = None, timeout: float = 5) -> dict[str, Any]:
        asked.append(comment_id)
        assert config.ig_user_id == IG_USER_ID and timeout <= 2
        return {"text": "@brand wrong size 👟", "username": "carla", "timestamp": "2024-05-01T12:00:00+0000"}

    monkeypatch.setattr(meta.webhook, "fetch_instagram_mention", fetch)
    delivery = instagram_delivery("mentions", {"comment_id": "IGM1", "media_id": "MEDIA7"})
    answer = stored_ok(post(meta_webhook, delivery))
    assert (answer["stored"], answer["text_pending"]) == (1, 0)
    assert stored_ok(post(meta_webhook, delivery))["duplicates"] == 1
    assert asked == ["IGM1"]  # the resend was recognised before any Graph call
    (mention,) = aws.mention_store().list()
    assert mention.text == "@brand wrong size 👟" and not mention.text_pending
    assert mention.author.handle == "carla" and mention.created_at.isoformat() == "2024-05-01T12:00:00+00:00"
    assert not [item for item in aws.items() if item["pk"] == TEXT_PENDING_PK]


def test_instagram_mention_is_stored_pending_when_the_fetch_fails(
    meta_webhook: Invoke, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(comment_id: str, config: Any, session: Any = None, timeout: float = 5) -> dict[str, Any]:
        raise meta.GraphApiError("Application request limit reached", code=4, status=403)

    monkeypatch.setattr(meta.webhook, "fetch_instagram_mention", fail)
    delivery = instagram_delivery("mentions", {"comment_id": "IGM2", "media_id": "MEDIA7"})
    answer = stored_ok(post(meta_webhook, delivery))
    assert (answer["stored"], answer["text_pending"]) == (1, 1)
    (mention,) = aws.mention_store().list()
    assert mention.id == "instagram-IGM2" and mention.text == "" and mention.text_pending
    (marker,) = [item for item in aws.items() if item["pk"] == TEXT_PENDING_PK]
    assert marker["mention_id"] == "instagram-IGM2"


def test_instagram_caption_mention_gets_its_caption_from_the_graph_api(
    meta_webhook: Invoke, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def fetch(media_id: str, config: Any, session: Any = None, timeout: float = 5) -> dict[str, Any]:
        asked.append(media_id)
        return {
            "text": "New shoes from @brand, one came torn",
            "username": "dana",
            "timestamp": "2026-11-30T10:00:00+0000",
            "url": "https://www.instagram.com/p/abc/",
        }

    monkeypatch.setattr(meta.webhook, "fetch_instagram_caption", fetch)
    answer = stored_ok(post(meta_webhook, instagram_delivery("mentions", {"media_id": "MEDIA8"})))
    assert (answer["stored"], answer["text_pending"], answer["ignored"]) == (1, 0, [])
    assert asked == ["MEDIA8"]
    (mention,) = aws.mention_store().list()
    assert (mention.id, mention.kind) == ("instagram-MEDIA8", MentionKind.POST)
    assert mention.text == "New shoes from @brand, one came torn" and mention.author.handle == "dana"
    assert mention.url == "https://www.instagram.com/p/abc/"


def test_a_facebook_page_mention_gets_its_text_and_author_from_the_graph_api(
    meta_webhook: Invoke, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fetch(object_id: str, config: Any, session: Any = None, timeout: float = 5) -> dict[str, Any]:
        assert object_id == "P9_C1" and config.page_access_token
        return {
            "text": "@Brand my order never came",
            "author_id": "9001",
            "name": "Ana Cliente",
            "timestamp": "2026-11-30T10:00:00+0000",
        }

    monkeypatch.setattr(meta.webhook, "fetch_facebook_mention", fetch)
    delivery = meta.payloads.page_mention_delivery(meta.payloads.page_mention(), entry_id=PAGE_ID)
    answer = stored_ok(post(meta_webhook, delivery))
    assert (answer["stored"], answer["text_pending"]) == (1, 0)
    assert stored_ok(post(meta_webhook, delivery))["duplicates"] == 1
    (mention,) = aws.mention_store().list()
    assert (mention.id, mention.kind, mention.in_reply_to) == ("facebook-P9_C1", MentionKind.COMMENT, "P9")
    assert mention.text == "@Brand my order never came"
    assert (mention.author.id, mention.author.name) == ("9001", "Ana Cliente")


def test_a_facebook_page_mention_is_stored_pending_when_the_fetch_fails(
    meta_webhook: Invoke, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(object_id: str, config: Any, session: Any = None, timeout: float = 5) -> dict[str, Any]:
        raise meta.GraphApiError("Application request limit reached", code=4, status=403)

    monkeypatch.setattr(meta.webhook, "fetch_facebook_mention", fail)
    post_mention = meta.payloads.page_mention("post", "P10", None)
    delivery = meta.payloads.page_mention_delivery(post_mention, entry_id=PAGE_ID)
    assert stored_ok(post(meta_webhook, delivery))["text_pending"] == 1
    (mention,) = aws.mention_store().list()
    assert mention.id == "facebook-P10" and mention.text_pending
    (marker,) = [item for item in aws.items() if item["pk"] == TEXT_PENDING_PK]
    assert marker["mention_id"] == "facebook-P10"


# ---------------------------------------------------------------- direct messages
@pytest.mark.parametrize(("obj", "platform"), [("page", "facebook"), ("instagram", "instagram")])
def test_direct_messages_are_stored_in_the_customers_conversation(
    meta_webhook: Invoke, aws: Aws, obj: str, platform: str
) -> None:
    stored_ok(post(meta_webhook, messaging_delivery(obj, direct_message("m_1", "Hi, help please"))))
    stored_ok(post(meta_webhook, messaging_delivery(obj, direct_message("m_2", "On it!", echo=True))))
    (mention,) = aws.mention_store().list()
    assert (mention.platform, mention.kind, mention.text) == (
        platform,
        MentionKind.DIRECT_MESSAGE,
        "Hi, help please",
    )
    conversation = aws.mention_store().conversation(f"{platform}:dm:{CUSTOMER}")
    assert [(m.external_id, m.is_ours) for m in conversation] == [("m_1", False), ("m_2", True)]


def test_delivery_and_read_receipts_are_ignored(meta_webhook: Invoke, aws: Aws) -> None:
    receipt = {
        "sender": {"id": CUSTOMER},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1,
        "read": {"watermark": 1},
    }
    answer = stored_ok(post(meta_webhook, messaging_delivery("page", receipt)))
    assert answer["ignored"] == ["messaging:read"] and aws.items() == []


def test_other_objects_are_acknowledged_and_ignored(meta_webhook: Invoke, aws: Aws) -> None:
    answer = stored_ok(post(meta_webhook, {"object": "permissions", "entry": []}))
    assert answer["ignored"] == ["object:permissions"] and aws.items() == []


# ---------------------------------------------------------------- refused, nothing written
GOOD = meta_body(page_delivery(page_comment()))


@pytest.mark.parametrize(
    "headers",
    [
        {"content-type": "application/json"},
        {"content-type": "application/json", "x-hub-signature-256": ""},
        {"content-type": "application/json", "x-hub-signature-256": "sha256=" + "0" * 64},
        meta_headers(GOOD, secret="not-the-app-secret"),
        meta_headers(b"another body"),
        {
            "content-type": "application/json",
            "x-hub-signature": "sha1=0123456789abcdef0123456789abcdef01234567",
        },
    ],
    ids=["missing", "empty", "zeros", "other-secret", "other-body", "sha1-only"],
)
def test_missing_or_wrong_signature_is_401(meta_webhook: Invoke, aws: Aws, headers: dict[str, str]) -> None:
    response = post(meta_webhook, GOOD, headers)
    assert response["statusCode"] == 401 and json_of(response)["error"]
    assert aws.items() == []


def test_a_body_changed_after_signing_is_401(meta_webhook: Invoke, aws: Aws) -> None:
    tampered = GOOD.replace(b"Where is my order?", b"Where is my order!")
    assert post(meta_webhook, tampered, meta_headers(GOOD))["statusCode"] == 401
    assert aws.items() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"object": "page", "entry": [}', "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"object": "page", "entry": [{"id": "1", "time": NaN}]}', "NaN"),
        (b"[1, 2]", "JSON object"),
        (b'{"entry": []}', "object"),
        (b'{"object": "page"}', "entry"),
        (b'{"object": "page", "entry": [{"time": 1}]}', "entry[0].id"),
        (json.dumps(page_delivery({"item": "comment", "verb": "add", "post_id": "P1"})).encode(), "from"),
        (json.dumps(page_delivery({**page_comment(), "comment_id": "C" * 600})).encode(), "longer than"),
        (json.dumps(instagram_delivery("comments", {"id": "IGC1", "text": "x"})).encode(), "from"),
    ],
    ids=[
        "syntax",
        "not-utf8",
        "nan",
        "array",
        "no-object",
        "no-entry",
        "no-entry-id",
        "no-from",
        "long-id",
        "ig",
    ],
)
def test_malformed_or_incomplete_signed_body_is_400(
    meta_webhook: Invoke, aws: Aws, body: bytes, message: str
) -> None:
    response = post(meta_webhook, body)
    assert response["statusCode"] == 400, response
    assert message in json_of(response)["error"]
    assert aws.items() == []


def test_one_bad_change_refuses_the_whole_batch(meta_webhook: Invoke, aws: Aws) -> None:
    bad = {**page_comment("P1_C2"), "from": "not an object"}
    response = post(meta_webhook, page_delivery(page_comment("P1_C1"), bad))
    assert response["statusCode"] == 400 and "changes[1]" in json_of(response)["error"]
    assert aws.items() == []


def test_wrong_content_type_is_415(meta_webhook: Invoke, aws: Aws) -> None:
    headers = {**meta_headers(GOOD), "content-type": "application/x-www-form-urlencoded"}
    assert post(meta_webhook, GOOD, headers)["statusCode"] == 415
    assert aws.items() == []


def test_a_body_over_1_mb_is_413(meta_webhook: Invoke, aws: Aws) -> None:
    big = meta_body(page_delivery(page_comment(message="x" * (1024 * 1024))))
    assert post(meta_webhook, big)["statusCode"] == 413
    assert aws.items() == []
