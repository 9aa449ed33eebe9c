"""The Meta adapter: subscription check, signatures over raw bytes, every event shape we parse or ignore."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from socialcare.errors import InvalidSignature, MalformedPayload, NotConfigured, WrongVerifyToken
from socialcare.models import MentionKind, MentionStatus
from socialcare.platforms import meta
from socialcare.platforms.meta import MetaConfig, payloads
from socialcare.signatures import hmac_sha256, sha256_hex

SECRET = "It's a Secret to Everybody"
PAGE = "1111"
IG_USER = "1789"
CUSTOMER = "2222"
T0 = 1_700_000_000

CONFIG = MetaConfig(
    app_secret=SECRET,
    verify_token="the-verify-token",
    page_id=PAGE,
    ig_user_id=IG_USER,
    page_access_token="page-token",
    graph_base="https://graph.example/v21.0",
)


def page_body(*values: dict[str, Any], entry_id: str = PAGE) -> dict[str, Any]:
    return payloads.page_delivery(*values, entry_id=entry_id)


def comment(**overrides: Any) -> dict[str, Any]:
    return {**payloads.page_comment(author_id=CUSTOMER), **overrides}


def instagram_body(field: str, value: dict[str, Any], entry_id: str = IG_USER) -> dict[str, Any]:
    return payloads.instagram_delivery(field, value, entry_id=entry_id)


def ig_comment(**overrides: Any) -> dict[str, Any]:
    return {**payloads.instagram_comment(), **overrides}


def messaging_body(obj: str, *items: dict[str, Any]) -> dict[str, Any]:
    return payloads.messaging_delivery(obj, *items, entry_id=PAGE)


def dm(mid: str = "m_1", text: str = "Hi, help please", echo: bool = False) -> dict[str, Any]:
    return payloads.direct_message(mid, text, echo, page_id=PAGE, customer_id=CUSTOMER)


def malformed(payload: object) -> str:
    with pytest.raises(MalformedPayload) as caught:
        meta.parse_delivery(payload, CONFIG)
    return caught.value.message


# ---------------------------------------------------------------- subscription check
def subscribe_query(**overrides: str) -> dict[str, str]:
    query = {"hub.mode": "subscribe", "hub.verify_token": "the-verify-token", "hub.challenge": "1158201444"}
    query.update(overrides)
    return query


def test_subscription_answers_the_challenge_when_the_token_matches() -> None:
    assert meta.verify_subscription(subscribe_query(), CONFIG) == "1158201444"


@pytest.mark.parametrize("token", ["wrong", "the-verify-token-", ""])
def test_subscription_refuses_a_wrong_token_with_403(token: str) -> None:
    with pytest.raises(WrongVerifyToken) as caught:
        meta.verify_subscription(subscribe_query(**{"hub.verify_token": token}), CONFIG)
    assert caught.value.status_code == 403


def test_subscription_refuses_a_missing_token() -> None:
    query = subscribe_query()
    del query["hub.verify_token"]
    with pytest.raises(WrongVerifyToken):
        meta.verify_subscription(query, CONFIG)


@pytest.mark.parametrize(
    ("missing", "message"), [("hub.mode", "hub.mode"), ("hub.challenge", "hub.challenge")]
)
def test_subscription_needs_mode_and_challenge(missing: str, message: str) -> None:
    query = subscribe_query()
    del query[missing]
    with pytest.raises(MalformedPayload, match=message):
        meta.verify_subscription(query, CONFIG)


def test_subscription_needs_mode_subscribe() -> None:
    with pytest.raises(MalformedPayload, match="subscribe"):
        meta.verify_subscription(subscribe_query(**{"hub.mode": "unsubscribe"}), CONFIG)


def test_subscription_refuses_when_no_verify_token_is_configured() -> None:
    # An empty configured token must not match an empty or missing hub.verify_token.
    with pytest.raises(NotConfigured):
        meta.verify_subscription(subscribe_query(**{"hub.verify_token": ""}), MetaConfig(app_secret=SECRET))


# ---------------------------------------------------------------- signature
VECTOR = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_signature_matches_the_contract_vector() -> None:
    assert sha256_hex(SECRET, b"Hello, World!") == VECTOR
    meta.verify_signature(b"Hello, World!", {"x-hub-signature-256": VECTOR}, CONFIG)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-hub-signature-256": ""},
        {"x-hub-signature-256": VECTOR.replace("7571", "7572")},
        {"x-hub-signature-256": VECTOR.removeprefix("sha256=")},
    ],
)
def test_a_missing_or_wrong_signature_is_refused(headers: dict[str, str]) -> None:
    with pytest.raises(InvalidSignature) as caught:
        meta.verify_signature(b"Hello, World!", headers, CONFIG)
    assert caught.value.status_code == 401


def test_a_signature_over_other_bytes_is_refused() -> None:
    with pytest.raises(InvalidSignature):
        meta.verify_signature(b"Hello, World?", {"x-hub-signature-256": VECTOR}, CONFIG)


def test_the_sha1_signature_alone_is_not_enough() -> None:
    import hashlib
    import hmac

    sha1 = "sha1=" + hmac.new(SECRET.encode(), b"Hello, World!", hashlib.sha1).hexdigest()
    with pytest.raises(InvalidSignature, match="SHA-1"):
        meta.verify_signature(b"Hello, World!", {"x-hub-signature": sha1}, CONFIG)


def test_signature_check_needs_the_app_secret() -> None:
    with pytest.raises(NotConfigured):
        meta.verify_signature(b"Hello, World!", {"x-hub-signature-256": VECTOR}, MetaConfig())


def test_unicode_is_verified_over_metas_escaped_bytes_and_decoded_for_the_mention() -> None:
    raw = (
        b'{"object":"page","entry":[{"id":"1111","time":1700000005,"changes":[{"field":"feed","value":'
        b'{"item":"comment","verb":"add","comment_id":"P1_C1","post_id":"P1","parent_id":"P1",'
        b'"from":{"id":"2222","name":"Jos\\u00e9"},"message":"Caf\\u00e9 tr\\u00e8s cher \\ud83d\\ude00",'
        b'"created_time":1700000000}}]}]}'
    )
    signature = "sha256=" + hmac_sha256(SECRET, raw).hex()
    meta.verify_signature(raw, {"x-hub-signature-256": signature}, CONFIG)
    [mention] = meta.parse_delivery(json.loads(raw), CONFIG).mentions
    assert mention.text == "Caf\u00e9 tr\u00e8s cher \U0001f600"
    assert mention.author.name == "Jos\u00e9"
    # The same JSON serialized differently (unescaped UTF-8) is other bytes: its signature does not match.
    reserialized = json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode()
    assert reserialized != raw
    with pytest.raises(InvalidSignature):
        meta.verify_signature(reserialized, {"x-hub-signature-256": signature}, CONFIG)


# ---------------------------------------------------------------- Facebook Page feed
def test_a_page_comment_becomes_a_comment_mention() -> None:
    delivery = meta.parse_delivery(page_body(comment()), CONFIG)
    [mention] = delivery.mentions
    assert mention.id == "facebook-P1_C1"
    assert (mention.platform, mention.external_id, mention.kind) == ("facebook", "P1_C1", MentionKind.COMMENT)
    assert (mention.author.id, mention.author.name) == (CUSTOMER, "Ana Cliente")
    assert mention.text == "Where is my order?"
    assert mention.url == "https://www.facebook.com/P1_C1"
    assert mention.created_at == datetime.fromtimestamp(T0, UTC)
    assert (mention.thread_key, mention.in_reply_to) == ("P1", "P1")
    assert (mention.is_ours, mention.status) == (False, MentionStatus.NEW)
    assert mention.raw == comment()
    assert (delivery.edits, delivery.tombstones, delivery.ignored) == ([], [], [])


def test_a_reply_to_a_comment_answers_that_comment() -> None:
    [mention] = meta.parse_delivery(
        page_body(comment(comment_id="P1_C2", parent_id="P1_C1")), CONFIG
    ).mentions
    assert (mention.thread_key, mention.in_reply_to) == ("P1", "P1_C1")


def test_a_comment_without_parent_id_answers_the_post() -> None:
    value = comment()
    del value["parent_id"]
    [mention] = meta.parse_delivery(page_body(value), CONFIG).mentions
    assert mention.in_reply_to == "P1"


@pytest.mark.parametrize(
    ("created_time", "expected"),
    [
        (T0, datetime.fromtimestamp(T0, UTC)),
        (str(T0), datetime.fromtimestamp(T0, UTC)),
        ("2023-11-14T22:13:20+0000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("2023-11-14T22:13:20", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        (None, datetime.fromtimestamp(T0 + 5, UTC)),  # none of its own: the entry's time
    ],
)
def test_created_time_is_unix_seconds_or_iso(created_time: object, expected: datetime) -> None:
    [mention] = meta.parse_delivery(page_body(comment(created_time=created_time)), CONFIG).mentions
    assert mention.created_at == expected


def test_an_unreadable_created_time_names_its_place() -> None:
    message = malformed(page_body(comment(), comment(created_time="yesterday")))
    assert message.startswith("entry[0].changes[1].value.created_time:")
    assert "yesterday" in message


@pytest.mark.parametrize("item", ["post", "status"])
def test_a_visitor_post_becomes_a_post_mention(item: str) -> None:
    value = {
        "item": item,
        "verb": "add",
        "post_id": "PAGE_P7",
        "from": {"id": CUSTOMER, "name": "Ana Cliente"},
        "message": "Your store was closed today",
        "created_time": T0,
    }
    [mention] = meta.parse_delivery(page_body(value), CONFIG).mentions
    assert (mention.external_id, mention.kind) == ("PAGE_P7", MentionKind.POST)
    assert (mention.thread_key, mention.in_reply_to) == ("PAGE_P7", None)
    assert mention.url == "https://www.facebook.com/PAGE_P7"
    assert mention.status == MentionStatus.NEW


def test_the_pages_own_comment_is_an_echo() -> None:
    value = comment(comment_id="P1_C3", parent_id="P1_C1", **{"from": {"id": PAGE, "name": "Brand"}})
    [mention] = meta.parse_delivery(page_body(value), CONFIG).mentions
    assert (mention.is_ours, mention.status) == (True, MentionStatus.OURS)


def test_without_a_configured_page_id_the_entry_id_is_the_page() -> None:
    config = CONFIG.model_copy(update={"page_id": ""})
    ours = comment(comment_id="P1_C3", **{"from": {"id": "9999", "name": "Brand"}})
    delivery = meta.parse_delivery(page_body(ours, comment(), entry_id="9999"), config)
    assert [(m.external_id, m.is_ours) for m in delivery.mentions] == [("P1_C3", True), ("P1_C1", False)]


def test_an_edit_carries_the_new_text_as_an_edit() -> None:
    delivery = meta.parse_delivery(page_body(comment(verb="edited", message="Found it, thanks")), CONFIG)
    assert delivery.mentions == []
    [edit] = delivery.edits
    assert (edit.id, edit.text) == ("facebook-P1_C1", "Found it, thanks")


@pytest.mark.parametrize(("value", "external_id"), [(comment(verb="remove"), "P1_C1")])
def test_a_removed_comment_is_a_tombstone(value: dict[str, Any], external_id: str) -> None:
    delivery = meta.parse_delivery(page_body(value), CONFIG)
    [tombstone] = delivery.tombstones
    assert (tombstone.platform, tombstone.external_id) == ("facebook", external_id)
    assert tombstone.status == MentionStatus.REMOVED
    assert delivery.mentions == []


def test_a_removed_post_is_a_tombstone_for_the_post() -> None:
    delivery = meta.parse_delivery(
        page_body({"item": "status", "verb": "remove", "post_id": "PAGE_P7"}), CONFIG
    )
    assert [(t.external_id, t.status) for t in delivery.tombstones] == [("PAGE_P7", MentionStatus.REMOVED)]


def test_a_removed_comment_needs_its_comment_id() -> None:
    value = comment(verb="remove")
    del value["comment_id"]
    assert malformed(page_body(value)) == "entry[0].changes[0].value.comment_id: Field required"


@pytest.mark.parametrize("item", ["reaction", "like", "share", "photo"])
def test_reactions_likes_and_shares_are_ignored(item: str) -> None:
    value = {"item": item, "verb": "add", "post_id": "P1", "from": {"id": CUSTOMER}, "reaction_type": "like"}
    delivery = meta.parse_delivery(page_body(value), CONFIG)
    assert delivery.ignored == [f"feed:{item}"]
    assert (delivery.mentions, delivery.edits, delivery.tombstones) == ([], [], [])


def test_other_verbs_are_ignored() -> None:
    delivery = meta.parse_delivery(page_body(comment(verb="hide")), CONFIG)
    assert (delivery.mentions, delivery.ignored) == ([], ["feed:comment:hide"])


def test_ids_sent_as_numbers_are_read_as_strings() -> None:
    value = comment(comment_id=123, post_id=456, parent_id=456, **{"from": {"id": 789, "name": "N"}})
    [mention] = meta.parse_delivery(page_body(value), CONFIG).mentions
    assert (mention.external_id, mention.thread_key, mention.author.id) == ("123", "456", "789")


# ---------------------------------------------------------------- Instagram comments and mentions
def test_an_instagram_comment_becomes_a_comment_mention() -> None:
    [mention] = meta.parse_delivery(instagram_body("comments", ig_comment()), CONFIG).mentions
    assert (mention.id, mention.kind) == ("instagram-IGC1", MentionKind.COMMENT)
    assert (mention.author.id, mention.author.handle) == ("IGS9", "ana.cliente")
    assert mention.author.url == "https://www.instagram.com/ana.cliente"
    assert mention.text == "Love it @brand"
    assert (mention.thread_key, mention.in_reply_to) == ("MEDIA1", "MEDIA1")
    assert mention.created_at == datetime.fromtimestamp(T0, UTC)  # the entry's time: the comment has none
    assert mention.status == MentionStatus.NEW
    assert mention.raw == {**ig_comment(), "needs_link": True}  # its media's permalink is read on the way in


def test_an_instagram_reply_answers_its_parent_comment() -> None:
    [mention] = meta.parse_delivery(instagram_body("comments", ig_comment(parent_id="IGC0")), CONFIG).mentions
    assert (mention.thread_key, mention.in_reply_to) == ("MEDIA1", "IGC0")


def test_our_own_instagram_comment_is_an_echo() -> None:
    value = ig_comment(id="IGC2", parent_id="IGC1", **{"from": {"id": IG_USER, "username": "brand"}})
    [mention] = meta.parse_delivery(instagram_body("comments", value), CONFIG).mentions
    assert (mention.is_ours, mention.status) == (True, MentionStatus.OURS)


def test_without_a_configured_ig_user_the_entry_id_is_ours() -> None:
    config = CONFIG.model_copy(update={"ig_user_id": ""})
    value = ig_comment(**{"from": {"id": "IG_ENTRY", "username": "brand"}})
    [mention] = meta.parse_delivery(instagram_body("comments", value, entry_id="IG_ENTRY"), config).mentions
    assert mention.is_ours


def test_an_instagram_comment_without_from_names_the_field() -> None:
    value = ig_comment()
    del value["from"]
    assert malformed(instagram_body("comments", value)) == "entry[0].changes[0].value.from: Field required"


def test_an_instagram_mention_is_stored_without_text_and_flagged_for_fetching() -> None:
    value = {"comment_id": "IGC77", "media_id": "THEIR_MEDIA"}
    delivery = meta.parse_delivery(instagram_body("mentions", value), CONFIG)
    [mention] = delivery.mentions
    assert (mention.id, mention.kind, mention.text) == ("instagram-IGC77", MentionKind.COMMENT, "")
    assert mention.thread_key == "THEIR_MEDIA"
    assert mention.raw == {"comment_id": "IGC77", "media_id": "THEIR_MEDIA", "needs_text": True}
    assert mention.created_at == datetime.fromtimestamp(T0, UTC)


def test_a_caption_mention_without_comment_is_a_post_whose_text_is_fetched() -> None:
    delivery = meta.parse_delivery(instagram_body("mentions", {"media_id": "THEIR_MEDIA"}), CONFIG)
    (mention,) = delivery.mentions
    assert (mention.platform, mention.external_id, mention.kind) == (
        "instagram",
        "THEIR_MEDIA",
        MentionKind.POST,
    )
    assert mention.raw["needs_text"] and mention.text == "" and mention.in_reply_to is None
    target = meta.MetaPlatform().reply_target(mention)
    assert target.via_mention and target.media_id == "THEIR_MEDIA", (
        "answered through POST /{ig-user}/mentions"
    )


@pytest.mark.parametrize(
    ("value", "external_id", "kind", "in_reply_to"),
    [
        (payloads.page_mention("comment", "P9", "P9_C1"), "P9_C1", MentionKind.COMMENT, "P9"),
        (payloads.page_mention("post", "P9", None), "P9", MentionKind.POST, None),
    ],
    ids=["in-a-comment", "in-a-post"],
)
def test_a_page_mention_becomes_a_facebook_mention_whose_text_is_fetched(
    value: dict[str, Any], external_id: str, kind: MentionKind, in_reply_to: str | None
) -> None:
    delivery = meta.parse_delivery(payloads.page_mention_delivery(value, entry_id=PAGE), CONFIG)
    (mention,) = delivery.mentions
    assert (mention.platform, mention.external_id, mention.kind) == ("facebook", external_id, kind)
    assert (mention.thread_key, mention.in_reply_to) == ("P9", in_reply_to)
    assert mention.raw["needs_text"] and mention.text == ""


def test_a_page_mention_removed_is_ignored_and_one_without_its_comment_is_malformed() -> None:
    removed = payloads.page_mention(verb="remove")
    delivery = meta.parse_delivery(payloads.page_mention_delivery(removed, entry_id=PAGE), CONFIG)
    assert (delivery.mentions, delivery.ignored) == ([], ["mention:comment:remove"])
    missing = payloads.page_mention_delivery(payloads.page_mention(comment_id=None), entry_id=PAGE)
    assert malformed(missing) == "entry[0].changes[0].value.comment_id: Field required"


def test_an_instagram_mention_needs_its_media_id() -> None:
    message = malformed(instagram_body("mentions", {"comment_id": "IGC77"}))
    assert message == "entry[0].changes[0].value.media_id: Field required"


# ---------------------------------------------------------------- direct messages
def test_a_messenger_message_becomes_a_direct_message() -> None:
    delivery = meta.parse_delivery(messaging_body("page", dm()), CONFIG)
    [mention] = delivery.mentions
    assert (mention.id, mention.kind) == ("facebook-m_1", MentionKind.DIRECT_MESSAGE)
    assert (mention.author.id, mention.text, mention.thread_key) == (
        CUSTOMER,
        "Hi, help please",
        f"dm:{CUSTOMER}",
    )
    assert mention.created_at == datetime.fromtimestamp(T0 + 0.25, UTC)
    assert (mention.is_ours, mention.status) == (False, MentionStatus.NEW)
    assert mention.raw == dm()


def test_an_echo_is_ours_and_keyed_by_the_customer() -> None:
    [mention] = meta.parse_delivery(
        messaging_body("page", dm("m_2", "On its way!", echo=True)), CONFIG
    ).mentions
    assert (mention.author.id, mention.thread_key) == (PAGE, f"dm:{CUSTOMER}")
    assert (mention.is_ours, mention.status) == (True, MentionStatus.OURS)


def test_an_instagram_direct_message_is_an_instagram_mention() -> None:
    delivery = meta.parse_delivery(messaging_body("instagram", dm("ig_m_1"), dm("ig_m_2", echo=True)), CONFIG)
    assert [(m.id, m.platform, m.is_ours) for m in delivery.mentions] == [
        ("instagram-ig_m_1", "instagram", False),
        ("instagram-ig_m_2", "instagram", True),
    ]
    assert {m.thread_key for m in delivery.mentions} == {f"dm:{CUSTOMER}"}


def test_messaging_events_without_a_message_are_ignored() -> None:
    parties = {"sender": {"id": CUSTOMER}, "recipient": {"id": PAGE}, "timestamp": T0 * 1000}
    read = {**parties, "read": {"watermark": T0 * 1000}}
    delivered = {**parties, "delivery": {"mids": ["m_1"], "watermark": T0 * 1000}}
    reaction = {**parties, "reaction": {"mid": "m_1", "action": "react", "reaction": "love"}}
    delivery = meta.parse_delivery(messaging_body("page", read, delivered, reaction, dm()), CONFIG)
    assert delivery.ignored == ["messaging:read", "messaging:delivery", "messaging:reaction"]
    assert [m.external_id for m in delivery.mentions] == ["m_1"]


def test_an_unsent_instagram_message_is_a_tombstone() -> None:
    unsent = dm("ig_m_1")
    unsent["message"] = {"mid": "ig_m_1", "is_deleted": True}
    delivery = meta.parse_delivery(messaging_body("instagram", unsent), CONFIG)
    assert delivery.mentions == []
    assert [(t.platform, t.external_id, t.status) for t in delivery.tombstones] == [
        ("instagram", "ig_m_1", MentionStatus.DELETED)
    ]


def test_a_message_without_mid_names_its_place() -> None:
    broken = dm()
    del broken["message"]["mid"]
    assert (
        malformed(messaging_body("page", dm(), broken)) == "entry[0].messaging[1].message.mid: Field required"
    )


# ---------------------------------------------------------------- envelopes, batches and errors
def test_an_unknown_object_is_acknowledged_and_ignored() -> None:
    delivery = meta.parse_delivery({"object": "whatsapp_business_account", "entry": "anything"}, CONFIG)
    assert delivery.ignored == ["object:whatsapp_business_account"]
    assert delivery.mentions == []


def test_unknown_fields_and_event_lists_are_ignored() -> None:
    payload = page_body(comment())
    payload["entry"][0]["changes"].append({"field": "ratings", "value": {"review_text": "meh"}})
    payload["entry"][0]["changes"].append({"field": "comments", "value": "not for a page"})
    payload["entry"][0]["standby"] = [dm()]
    delivery = meta.parse_delivery(payload, CONFIG)
    assert delivery.ignored == ["ratings", "comments", "standby"]
    assert [m.external_id for m in delivery.mentions] == ["P1_C1"]


def test_many_entries_and_changes_parse_in_one_delivery() -> None:
    entries = [
        {
            "id": PAGE,
            "time": T0,
            "changes": [
                {
                    "field": "feed",
                    "value": comment(comment_id=f"P{e}_C{c}", post_id=f"P{e}", parent_id=f"P{e}"),
                }
                for c in range(100)
            ],
        }
        for e in range(5)
    ]
    delivery = meta.parse_delivery({"object": "page", "entry": entries}, CONFIG)
    assert len(delivery.mentions) == 500
    assert len({m.id for m in delivery.mentions}) == 500
    assert delivery.mentions[-1].external_id == "P4_C99"
    assert delivery.mentions[-1].thread_key == "P4"


def test_a_mixed_batch_sorts_each_event_into_its_place() -> None:
    body = page_body(
        comment(),
        comment(comment_id="P1_C2", verb="edited", message="edited"),
        comment(comment_id="P1_C3", verb="remove"),
        {"item": "reaction", "verb": "add", "post_id": "P1"},
    )
    delivery = meta.parse_delivery(body, CONFIG)
    assert [m.external_id for m in delivery.mentions] == ["P1_C1"]
    assert [m.external_id for m in delivery.edits] == ["P1_C2"]
    assert [t.external_id for t in delivery.tombstones] == ["P1_C3"]
    assert delivery.ignored == ["feed:reaction"]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "the body must be a JSON object"),
        ("page", "the body must be a JSON object"),
        ({"entry": []}, "object must be a string"),
        ({"object": "page"}, "entry must be a list"),
        ({"object": "page", "entry": {"id": PAGE}}, "entry must be a list"),
        ({"object": "page", "entry": ["x"]}, "entry[0]: Input should be a valid dictionary"),
        ({"object": "page", "entry": [{"time": T0}]}, "entry[0].id: Field required"),
        (
            {"object": "page", "entry": [{"id": PAGE, "changes": {}}]},
            "entry[0].changes: Input should be a valid list",
        ),
        (
            {"object": "page", "entry": [{"id": PAGE, "changes": [{"value": {}}]}]},
            "entry[0].changes[0].field: Field",
        ),
        (
            {"object": "page", "entry": [{"id": PAGE, "changes": [{"field": "feed", "value": []}]}]},
            "entry[0].changes[0].value: Input should be",
        ),
    ],
)
def test_malformed_envelopes_say_where(payload: object, message: str) -> None:
    assert malformed(payload).startswith(message)


def test_a_malformed_change_in_a_batch_names_the_entry_and_change() -> None:
    broken = comment(comment_id="P1_C9")
    del broken["from"]
    payload = {
        "object": "page",
        "entry": [page_body(comment())["entry"][0], page_body(comment(), broken)["entry"][0]],
    }
    assert malformed(payload) == "entry[1].changes[1].value.from: Field required"


def test_a_comment_without_comment_id_is_malformed() -> None:
    value = comment()
    del value["comment_id"]
    assert malformed(page_body(value)) == "entry[0].changes[0].value.comment_id: Field required"


# ---------------------------------------------------------------- fetching an Instagram mention's text
class StubResponse:
    def __init__(self, status_code: int, body: object) -> None:
        self.status_code = status_code
        self._body = body

    def json(self) -> object:
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


class StubSession:
    def __init__(self, response: StubResponse | Exception) -> None:
        self.response = response
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get(self, url: str, **kwargs: Any) -> StubResponse:
        self.calls.append((url, kwargs))
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def fetch(session: StubSession, config: MetaConfig = CONFIG) -> dict[str, Any]:
    return meta.webhook.fetch_instagram_mention("IGC77", config, session=session, timeout=2.5)  # type: ignore[arg-type]


def test_fetch_instagram_mention_asks_the_graph_api_for_the_comment() -> None:
    body = {
        "mentioned_comment": {
            "text": "@brand my parcel is late \u00e9",
            "username": "ana.cliente",
            "timestamp": "2023-11-14T22:13:20+0000",
            "media": {"permalink": "https://www.instagram.com/p/DA1b2c3/", "id": "M5"},
            "id": "IGC77",
        },
        "id": IG_USER,
    }
    session = StubSession(StubResponse(200, body))
    assert fetch(session) == {
        "text": "@brand my parcel is late \u00e9",
        "username": "ana.cliente",
        "timestamp": "2023-11-14T22:13:20+0000",
        "url": "https://www.instagram.com/p/DA1b2c3/",  # the media's: a comment has no link of its own
    }
    [(url, kwargs)] = session.calls
    assert url == f"https://graph.example/v21.0/{IG_USER}"
    assert kwargs["params"] == {
        "fields": "mentioned_comment.comment_id(IGC77){text,username,timestamp,media{permalink}}",
        "access_token": "page-token",
    }
    assert kwargs["timeout"] == 2.5


def test_fetch_instagram_permalink_reads_the_medias_link() -> None:
    body = {"permalink": "https://www.instagram.com/p/DA1b2c3/", "id": "M5"}
    session = StubSession(StubResponse(200, body))
    fetched = meta.webhook.fetch_instagram_permalink("M5", CONFIG, session=session, timeout=2.5)  # type: ignore[arg-type]
    assert fetched == {"url": "https://www.instagram.com/p/DA1b2c3/"}
    [(url, kwargs)] = session.calls
    assert url == "https://graph.example/v21.0/M5"
    assert kwargs["params"] == {"fields": "permalink", "access_token": "page-token"}
    with pytest.raises(meta.GraphApiError, match="no permalink"):
        meta.webhook.fetch_instagram_permalink(  # type: ignore[arg-type]
            "M5", CONFIG, session=StubSession(StubResponse(200, {"id": "M5"})), timeout=2.5
        )


@pytest.mark.parametrize(("code", "retryable"), [(190, False), (100, False), (4, True), (80001, True)])
def test_a_graph_error_body_raises_graph_api_error(code: int, retryable: bool) -> None:
    error = {"error": {"message": "Error validating access token", "type": "OAuthException", "code": code}}
    with pytest.raises(meta.GraphApiError) as caught:
        fetch(StubSession(StubResponse(400, error)))
    assert (caught.value.code, caught.value.status) == (code, 400)
    assert caught.value.message == "Error validating access token"
    assert caught.value.retryable is retryable


def test_a_graph_error_body_with_200_is_still_an_error() -> None:
    with pytest.raises(meta.GraphApiError) as caught:
        fetch(StubSession(StubResponse(200, {"error": {"message": "nope", "code": 10}})))
    assert caught.value.code == 10


def test_a_server_error_without_json_raises_a_retryable_graph_api_error() -> None:
    with pytest.raises(meta.GraphApiError) as caught:
        fetch(StubSession(StubResponse(502, ValueError("not JSON"))))
    assert (caught.value.code, caught.value.status, caught.value.retryable) == (None, 502, True)


def test_a_response_without_the_comment_raises_graph_api_error() -> None:
    with pytest.raises(meta.GraphApiError, match="mentioned_comment"):
        fetch(StubSession(StubResponse(200, {"id": IG_USER})))


def test_a_network_failure_raises_a_retryable_graph_api_error() -> None:
    with pytest.raises(meta.GraphApiError) as caught:
        fetch(StubSession(requests.ConnectionError("connection reset")))
    assert caught.value.status is None
    assert caught.value.retryable


def test_fetch_instagram_caption_asks_for_the_mentioned_media() -> None:
    media = {"caption": "Love my @brand shoes", "username": "ana", "timestamp": "2026-11-30T10:00:00+0000"}
    body = {"mentioned_media": {**media, "permalink": "https://www.instagram.com/p/abc/", "id": "M1"}}
    session = StubSession(StubResponse(200, body))
    fetched = meta.webhook.fetch_instagram_caption("M1", CONFIG, session=session, timeout=2.5)  # type: ignore[arg-type]
    assert fetched == {
        "text": "Love my @brand shoes",
        "username": "ana",
        "timestamp": "2026-11-30T10:00:00+0000",
        "url": "https://www.instagram.com/p/abc/",
    }
    [(url, kwargs)] = session.calls
    assert url == f"https://graph.example/v21.0/{IG_USER}"
    assert kwargs["params"]["fields"] == "mentioned_media.media_id(M1){caption,username,timestamp,permalink}"


def test_fetch_facebook_mention_reads_the_tagging_post_or_comment() -> None:
    body = {
        "message": "@Brand where is my order?",
        "from": {"id": "9001", "name": "Ana Cliente"},
        "created_time": "2026-11-30T10:00:00+0000",
        "permalink_url": "https://www.facebook.com/P9?comment_id=C1",
        "id": "P9_C1",
    }
    session = StubSession(StubResponse(200, body))
    fetched = meta.webhook.fetch_facebook_mention("P9_C1", CONFIG, session=session, timeout=2.5)  # type: ignore[arg-type]
    assert fetched == {
        "text": "@Brand where is my order?",
        "author_id": "9001",
        "name": "Ana Cliente",
        "timestamp": "2026-11-30T10:00:00+0000",
        "url": "https://www.facebook.com/P9?comment_id=C1",
    }
    [(url, kwargs)] = session.calls
    assert url == "https://graph.example/v21.0/P9_C1"
    assert kwargs["params"] == {
        "fields": "message,from,created_time,permalink_url",
        "access_token": "page-token",
    }


def test_fetching_needs_the_ig_user_and_a_token() -> None:
    session = StubSession(StubResponse(200, {}))
    with pytest.raises(NotConfigured):
        fetch(session, CONFIG.model_copy(update={"page_access_token": ""}))
    assert session.calls == []
