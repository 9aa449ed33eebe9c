"""The Threads adapter's webhook: what becomes a mention, what is ours, what is ignored or refused."""

import pytest

from socialcare.errors import InvalidSignature, MalformedPayload
from socialcare.models import MentionKind, MentionStatus
from socialcare.platforms.threads import ThreadsConfig, payloads
from socialcare.platforms.threads.webhook import parse_delivery, verify_signature

CONFIG = ThreadsConfig(app_secret="s3cret", username="Brand", user_id="9000000001")


def test_a_reply_and_a_mention_become_a_comment_and_a_post_in_the_root_posts_thread() -> None:
    reply = parse_delivery(payloads.reply("11", "hi", "kim", replied_to="7", root_id="5"), CONFIG)
    mention = parse_delivery(payloads.reply("12", "@brand hi", "kim", field="mentions"), CONFIG)
    (comment,) = reply.mentions
    assert (comment.kind, comment.thread_key, comment.in_reply_to, comment.author.handle) == (
        MentionKind.COMMENT,
        "5",
        "7",
        "kim",
    )
    assert mention.mentions[0].kind is MentionKind.POST
    assert comment.created_at.isoformat() == "2026-11-30T10:33:16+00:00"


def test_our_own_reply_is_stored_as_ours_and_other_fields_are_ignored() -> None:
    (own,) = parse_delivery(payloads.reply("13", "On its way", "brand"), CONFIG).mentions
    assert own.is_ours and own.status is MentionStatus.OURS
    publish = payloads.reply("14")
    publish["values"]["field"] = "publish"
    delivery = parse_delivery(publish, CONFIG)
    assert delivery.mentions == [] and delivery.ignored == ["field:publish"]


def test_a_value_without_an_id_is_refused_naming_the_place() -> None:
    broken = payloads.reply("15")
    del broken["values"]["value"]["id"]
    with pytest.raises(MalformedPayload, match=r"values\.value\.id"):
        parse_delivery(broken, CONFIG)


def test_the_signature_is_checked_over_the_raw_bytes_with_the_threads_app_secret() -> None:
    body, headers = payloads.signed(payloads.reply("16"), "s3cret")
    verify_signature(body, headers, CONFIG)
    with pytest.raises(InvalidSignature):
        verify_signature(body + b" ", headers, CONFIG)
    with pytest.raises(InvalidSignature):
        verify_signature(body, {}, CONFIG)
