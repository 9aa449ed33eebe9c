"""The reply page's and reply sender's pure rules: form nonces, where a post comes from, form parsing, the
backoff, what a reply answers on each platform, and the words of a failure."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialcare.data.replies import Reply, ReplyState, mention_for_reply, reply_id_for_link
from socialcare.data.tokens import ReplyLink
from socialcare.dispatch.notices import sms_segments
from socialcare.models import Author, Mention, MentionKind
from socialcare.replies.forms import form_nonce, is_cross_site, nonce_key_from_config, parse_form
from socialcare.replies.page_flow import nonce_is_valid, normalized_reply
from socialcare.replies.sender import (
    BASE_BACKOFF_S,
    LEASE,
    MAX_BACKOFF_S,
    MAX_RECEIVE_COUNT,
    MAX_VISIBILITY_S,
    failure_text,
    lead_alert,
    reply_target,
    retry_delay,
)
from tests.conftest import parsed_template

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
KEY = nonce_key_from_config('{"x": {"consumer_secret": "s"}}')
LINK = ReplyLink("x-1", "ann@example.com", NOW - timedelta(hours=1), NOW + timedelta(hours=23))


# ---------------------------------------------------------------- nonces
def test_a_nonce_is_valid_for_its_own_link_only() -> None:
    nonce = form_nonce(KEY, "hash-a", int(NOW.timestamp()))
    assert nonce_is_valid(KEY, "hash-a", nonce, LINK, NOW)
    assert not nonce_is_valid(KEY, "hash-b", nonce, LINK, NOW)
    other_key = nonce_key_from_config('{"x": {"consumer_secret": "rotated"}}')
    assert not nonce_is_valid(other_key, "hash-a", nonce, LINK, NOW)


def test_a_nonce_from_before_the_link_or_from_the_future_is_refused() -> None:
    before = form_nonce(KEY, "h", int((LINK.created_at - timedelta(hours=1)).timestamp()))
    future = form_nonce(KEY, "h", int((NOW + timedelta(hours=1)).timestamp()))
    assert not nonce_is_valid(KEY, "h", before, LINK, NOW)
    assert not nonce_is_valid(KEY, "h", future, LINK, NOW)


@given(st.text(max_size=80))
def test_anything_but_a_real_nonce_is_refused(candidate: str) -> None:
    assert not nonce_is_valid(KEY, "h", candidate, LINK, NOW)


def test_the_nonce_key_is_not_the_secret_itself() -> None:
    assert KEY != b'{"x": {"consumer_secret": "s"}}' and len(KEY) == 32


# ---------------------------------------------------------------- where a post comes from
@pytest.mark.parametrize(
    ("headers", "cross"),
    [
        ({"sec-fetch-site": "same-origin", "origin": "null", "host": "a.example"}, False),
        ({"sec-fetch-site": "none"}, False),
        ({"sec-fetch-site": "cross-site", "origin": "https://a.example", "host": "a.example"}, True),
        ({"sec-fetch-site": "same-site"}, True),
        ({"origin": "https://a.example", "host": "a.example"}, False),
        ({"origin": "https://A.example", "host": "a.example"}, False),
        ({"origin": "https://evil.example", "host": "a.example"}, True),
        ({"origin": "https://a.example:8443", "host": "a.example"}, True),
        ({"origin": "null", "host": "a.example"}, False),
        ({"host": "a.example"}, False),
    ],
)
def test_cross_site_posts_are_recognised(headers: dict[str, str], cross: bool) -> None:
    assert is_cross_site(headers) is cross


# ---------------------------------------------------------------- forms
def test_forms_are_parsed_and_nothing_else() -> None:
    form = parse_form(b"nonce=1.abc&text=Hi+there%21%0D%0Abye&text=last", "application/x-www-form-urlencoded")
    assert form == {"nonce": "1.abc", "text": "last"}
    assert parse_form(b'{"text": "hi"}', "application/json") is None
    # Escapes that are not UTF-8 are no form at all (a 400), never replacement characters.
    assert parse_form(b"text=%ff%fe", "application/x-www-form-urlencoded; charset=utf-8") is None
    assert parse_form(b"text=%C3%A9", "application/x-www-form-urlencoded") == {"text": "é"}
    assert parse_form(b"\xff", "application/x-www-form-urlencoded") is None
    assert parse_form(b"&".join(b"f%d=1" % i for i in range(50)), "application/x-www-form-urlencoded") is None


def test_a_reply_is_posted_as_typed_with_plain_line_ends() -> None:
    assert normalized_reply("  Hi Ann,\r\n\r\nthanks!\r\n") == "Hi Ann,\n\nthanks!"


def test_each_link_has_its_own_reply_id() -> None:
    assert reply_id_for_link("a" * 64) == reply_id_for_link("a" * 64)
    assert reply_id_for_link("a" * 64) != reply_id_for_link("b" * 64)


# ---------------------------------------------------------------- backoff
def test_the_platform_s_wait_is_honoured_with_a_little_jitter() -> None:
    assert retry_delay(1, 120.2, rand=lambda: 0.0) == 122
    assert retry_delay(1, 120.2, rand=lambda: 0.999) == 126
    assert retry_delay(1, 0, rand=lambda: 0.0) == 1
    assert retry_delay(1, 10**9, rand=lambda: 0.5) == MAX_VISIBILITY_S


@given(st.integers(min_value=1, max_value=40), st.floats(min_value=0, max_value=0.9999))
def test_backoff_doubles_up_to_its_ceiling_and_never_is_zero(attempts: int, jitter: float) -> None:
    ceiling = min(MAX_BACKOFF_S, BASE_BACKOFF_S * 2 ** (attempts - 1))
    delay = retry_delay(attempts, None, rand=lambda: jitter)
    assert ceiling / 2 <= delay <= ceiling and delay >= 1


def test_the_lease_and_the_give_up_fit_the_template() -> None:
    template = parsed_template()
    queue = template.resources["ReplyQueue"]["Properties"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT
    sender = template.functions["ReplySenderFunction"]
    # A live attempt never outlasts its lease; a dead sender's message comes back after the lease is over.
    assert sender.timeout < LEASE.total_seconds() < int(queue["VisibilityTimeout"])


# ---------------------------------------------------------------- targets
def mention(platform: str, kind: MentionKind, raw: dict[str, object], **extra: object) -> Mention:
    return Mention(
        platform=platform,
        external_id="c1",
        kind=kind,
        author=Author(id="u1", handle="ann"),
        text="hi",
        created_at=NOW,
        thread_key="t",
        raw=raw,
        **extra,  # type: ignore[arg-type]
    )


def test_an_instagram_reply_comment_is_answered_under_its_parent() -> None:
    raw = {"id": "c1", "text": "hi", "from": {"id": "u1"}, "media": {"id": "m1"}, "parent_id": "c0"}
    target = reply_target(mention("instagram", MentionKind.COMMENT, raw))
    assert (target.parent_id, target.media_id, target.via_mention) == ("c0", "m1", False)


def test_an_instagram_mention_uses_the_mentions_edge() -> None:
    target = reply_target(mention("instagram", MentionKind.COMMENT, {"comment_id": "c1", "media_id": "m9"}))
    assert target.via_mention and target.media_id == "m9"


def test_a_direct_message_goes_to_its_author() -> None:
    target = reply_target(mention("facebook", MentionKind.DIRECT_MESSAGE, {}))
    assert (target.kind, target.author_id, target.parent_id) == (MentionKind.DIRECT_MESSAGE, "u1", None)


@pytest.mark.parametrize(
    ("platform", "kind", "raw"),
    [
        ("instagram", MentionKind.COMMENT, {"id": "c1", "media": {"id": "m1", "caption": "x" * 999}}),
        ("instagram", MentionKind.COMMENT, {"media": {"id": "m1"}, "parent_id": "c0", "from": {"id": "u"}}),
        ("instagram", MentionKind.COMMENT, {"comment_id": "c1", "media_id": "m9"}),
        ("instagram", MentionKind.DIRECT_MESSAGE, {"sender": {"id": "u1"}}),
        ("facebook", MentionKind.COMMENT, {"parent_id": "p1", "post_id": "p0"}),
        ("x", MentionKind.POST, {"in_reply_to_status_id_str": "9"}),
    ],
)
def test_the_copy_of_a_mention_kept_with_its_reply_answers_the_same_target(
    platform: str, kind: MentionKind, raw: dict[str, object]
) -> None:
    full = mention(platform, kind, raw, url="https://example.com/c1", conversation_id="conv")
    copy = mention_for_reply(full)
    assert reply_target(copy) == reply_target(full)
    assert copy.text == "" and copy.id == full.id
    assert (copy.author, copy.url, copy.created_at, copy.conversation_id, copy.thread_key) == (
        full.author,
        full.url,
        full.created_at,
        full.conversation_id,
        full.thread_key,
    )


# ---------------------------------------------------------------- failure words
def failed(reason: str) -> Reply:
    return Reply(
        mention_id="x-1",
        reply_id="r1",
        platform="x",
        text="Sorry! ✨",
        agent_email="ann@example.com",
        agent_name="Ann Lee",
        state=ReplyState.FAILED,
        created_at=NOW,
        failure_code="x_403",
        failure_reason=reason,
    )


@given(st.text(max_size=400))
def test_the_failure_text_always_fits_two_segments(reason: str) -> None:
    message = failure_text(failed(reason), "@ann", "X")
    assert sms_segments(message) <= 2
    assert message.startswith("Social Care: your reply to @ann was NOT posted on X")


def test_the_failure_text_drops_a_customers_bidi_controls() -> None:
    message = failure_text(failed("refused"), "Eve\u202e\u2066 gnissim", "X")
    assert "Eve gnissim" in message and "\u202e" not in message and "\u2066" not in message


def test_the_lead_alert_has_an_ascii_subject_and_the_whole_story() -> None:
    subject, body = lead_alert(failed("x: refused (403): You are not allowed to create a Tweet"), None, "X")
    assert subject.isascii() and len(subject) < 100 and "x_403" in subject
    assert "Ann Lee" in body and "Sorry! ✨" in body and "not allowed" in body
