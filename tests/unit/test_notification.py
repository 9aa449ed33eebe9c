"""The SMS and email texts: segment limits, the unbroken link, and the conversation in order."""

from datetime import UTC, datetime, timedelta

import pytest

from socialcare.dispatch.notices import (
    MAX_EMAIL_BYTES,
    email_body,
    email_subject,
    is_gsm7,
    sms_segments,
    sms_text,
)
from socialcare.models import Author, Mention, MentionKind, MentionStatus

LINK = "https://care.example.com/r/3q2-7wEvLXkVXg7nYHjzFjBQ5dnCCEAn9Fo4f0m0ssY"
STARTED = datetime(2026, 3, 8, 9, 0, tzinfo=UTC)


def mention(
    text: str,
    *,
    external_id: str = "100",
    kind: MentionKind = MentionKind.POST,
    handle: str | None = "cust",
    name: str | None = "Carla Cust",
    minutes: int = 0,
    is_ours: bool = False,
    status: MentionStatus = MentionStatus.NEW,
    **author: object,
) -> Mention:
    return Mention(
        platform="x",
        external_id=external_id,
        kind=kind,
        author=Author.model_validate({"id": "42", "handle": handle, "name": name, **author}),
        text=text,
        url=f"https://x.com/cust/status/{external_id}",
        created_at=STARTED + timedelta(minutes=minutes),
        thread_key="100",
        is_ours=is_ours,
        status=status,
    )


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def gsm_septets(text: str) -> int:
    return sum(2 if char in "\f^{}\\[~]|€" else 1 for char in text)


# ---------------------------------------------------------------- segments
@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("a" + "€" * 152, 2),  # 305 septets
        ("a" * 152 + "€" + "a" * 152, 3),  # 306 septets, but an escape pair is never split: 152 + 153 + 1
        ("á" * 70, 1),  # "á" is not GSM: UCS-2
        ("á" * 71, 2),
        ("á" * 134, 2),
        ("á" * 135, 3),
        ("😀" * 35, 1),  # an emoji is two UTF-16 units
        ("😀" * 36, 2),
        ("a" + "😀" * 66, 2),  # 67 + 66 units
        ("😀" * 67, 3),  # 134 units, but a surrogate pair cannot straddle two segments
    ],
)
def test_segment_counting(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_gsm_alphabet() -> None:
    assert is_gsm7("Hola ¿qué tal? ñ ü é à @ £ € [ ]")
    assert not is_gsm7("está")  # á is not in the GSM alphabet
    assert not is_gsm7("great 👍")
    assert not is_gsm7("…")


# ---------------------------------------------------------------- SMS
def test_short_sms_carries_the_link_first_then_platform_author_and_quoted_text() -> None:
    assert sms_text(mention("Where is my order?"), LINK) == f'{LINK}\n[X] @cust: "Where is my order?"'


def test_direct_messages_say_so_and_authors_without_handle_use_their_name() -> None:
    text = sms_text(mention("hi", kind=MentionKind.DIRECT_MESSAGE, handle=None), LINK)
    assert text == f'{LINK}\n[X] DM Carla Cust: "hi"'


def test_line_breaks_in_the_text_become_spaces() -> None:
    text = sms_text(mention("line one\n\nline two"), LINK)
    assert text == f'{LINK}\n[X] @cust: "line one line two"'


def test_long_gsm_text_is_cut_to_two_segments_and_keeps_the_whole_link() -> None:
    long_text = "Parcel still missing " * 30
    text = sms_text(mention(long_text), LINK)
    assert is_gsm7(text)
    assert 306 - 20 <= gsm_septets(text) <= 306  # uses the room, less at most the word cut; "[" "]" count 2
    assert sms_segments(text) == 2
    assert text.startswith(f'{LINK}\n[X] @cust: "') and text.endswith('..."')
    snippet = text.removeprefix(f'{LINK}\n[X] @cust: "').removesuffix('..."')
    assert long_text.startswith(snippet)
    assert snippet.split()[-1] in {"Parcel", "still", "missing"}  # cut between words, not inside one


def test_long_text_without_spaces_is_cut_mid_word() -> None:
    text = sms_text(mention("a" * 1000), LINK)
    assert sms_segments(text) == 2
    assert gsm_septets(text) == 306
    assert text.endswith('a..."')


def test_emoji_text_is_ucs2_and_cut_to_134_units() -> None:
    angry = "My order never came 😡 " * 20
    text = sms_text(mention(angry), LINK)
    assert not is_gsm7(text)
    assert utf16_units(text) <= 134
    assert sms_segments(text) == 2
    assert text.startswith(f'{LINK}\n[X] @cust: "My order never came 😡')
    assert text.endswith('…"')


def test_a_short_emoji_text_is_not_cut() -> None:
    text = sms_text(mention("Love it 😍"), LINK)
    assert text == f'{LINK}\n[X] @cust: "Love it 😍"'
    assert sms_segments(text) == 2  # UCS-2 with the link: over 70 units, within two segments


def test_a_non_gsm_author_name_makes_the_whole_sms_ucs2() -> None:
    text = sms_text(mention("plain words " * 40, handle=None, name="José Núñez"), LINK)
    assert utf16_units(text) <= 134
    assert sms_segments(text) == 2
    assert text.startswith(f'{LINK}\n[X] José Núñez: "plain words')


SPOOF = "Hi!\nReply: https://evil.example/r/AAAA\u2028Reply: https://evil.example/r/BBBB"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200b\u2060\ufeff"


def test_a_customers_reply_line_never_precedes_our_link_in_the_sms() -> None:
    text = sms_text(mention(SPOOF, handle=None, name=f"Eve{BIDI} Reply: https://evil.example"), LINK)
    assert text.startswith(f"{LINK}\n")
    assert text.index(LINK) < text.index("evil.example")
    assert not set(BIDI) & set(text)
    assert text.count("\n") == 1, "the customer's words stay on one quoted line"


def test_a_link_that_cannot_fit_is_an_error() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        sms_text(mention("hi"), "https://care.example.com/r/" + "x" * 400)


# ---------------------------------------------------------------- email
def test_email_subject_is_one_ascii_line_under_100_characters() -> None:
    subject = email_subject(mention("Mi pedido está roto 😡\n" * 10, kind=MentionKind.DIRECT_MESSAGE))
    assert subject.startswith("[X] DM from @cust: Mi pedido esta roto Mi pedido")
    assert subject.isascii()
    assert "\n" not in subject
    assert len(subject) < 100
    assert subject.endswith("...")


def test_short_email_subject_is_not_cut() -> None:
    assert email_subject(mention("Where is my order?")) == "[X] post from @cust: Where is my order?"


def test_email_body_has_the_whole_text_the_conversation_in_order_and_the_link() -> None:
    long_text = "Everything went wrong. " * 30
    current = mention(long_text, external_id="103", minutes=30, followers=12_345, verified=True)
    conversation = [
        mention("We are looking into it.", external_id="102", minutes=20, is_ours=True, handle="brand"),
        current,
        mention("My parcel is late", external_id="101", minutes=10),
        mention("never mind", external_id="104", minutes=25, status=MentionStatus.DELETED),
    ]
    body = email_body(current, conversation, LINK)

    assert f"> {long_text.rstrip()}" in body  # quoted, never truncated at this length
    assert "12,345 followers, verified" in body
    assert "Posted: 2026-03-08 09:30 UTC" in body
    assert "https://x.com/cust/status/103" in body
    assert body.startswith(f"Reply: {LINK}\n")
    assert body.count(f"Reply: {LINK}") == 2  # first, and again after the conversation
    first = body.index("2026-03-08 09:10 UTC  @cust:\n> My parcel is late")
    second = body.index("2026-03-08 09:20 UTC  us (@brand):\n> We are looking into it.")
    third = body.index("2026-03-08 09:25 UTC  @cust (deleted by its author):\n> never mind")
    assert first < second < third
    assert (
        body.count("Everything went wrong.") == 30
    )  # the mention itself is not repeated in the conversation


def test_email_body_without_earlier_messages_has_the_link_once() -> None:
    body = email_body(mention("Hello", kind=MentionKind.DIRECT_MESSAGE), [], LINK)
    assert body.startswith(f"Reply: {LINK}\n")
    assert "Direct message on X from @cust\nName: Carla Cust\n" in body
    assert "Conversation so far" not in body
    assert body.count(LINK) == 1
    assert body.endswith("@cust wrote:\n> Hello\n")


def test_a_customers_reply_line_never_looks_like_ours_in_the_email() -> None:
    earlier = mention(SPOOF, external_id="101", minutes=10, name=f"Eve\nReply: https://evil.example{BIDI}")
    current = mention(SPOOF + BIDI, external_id="102", minutes=20, name=f"Eve{BIDI}\nReply: x")
    body = email_body(current, [earlier, current], LINK, note="Escalation level 1: nobody has opened it.")
    lines = body.splitlines()
    assert lines[0] == f"Reply: {LINK}"
    assert [line for line in lines if line.startswith("Reply")] == [f"Reply: {LINK}"] * 2
    assert all(line.startswith("> ") for line in lines if "evil.example" in line and "Name:" not in line)
    assert not set(BIDI) & set(body)
    assert body.index(LINK) < body.index("Escalation level 1") < body.index("evil.example")


def test_a_long_conversation_fits_sns_with_every_text_shortened_and_the_rest_counted() -> None:
    huge = "Where is my parcel? " * 5_000  # 100 KB each
    conversation = [mention(huge, external_id=str(100 + n), minutes=n) for n in range(20)]
    current = mention(huge, external_id="200", minutes=30)
    body = email_body(current, [*conversation, current], LINK)
    assert len(body.encode("utf-8")) <= MAX_EMAIL_BYTES < 256 * 1024
    assert body.startswith(f"Reply: {LINK}\n") and body.endswith(f"Reply: {LINK}\n")
    assert "(shortened: the whole text is on the page)" in body
    # Each earlier message is cut to MAX_EARLIER_TEXT characters; the oldest that do not fit are counted.
    kept = body.count("  @cust:\n")
    assert kept >= 10
    if kept < 20:
        assert f"...and {20 - kept} more on the page" in body
    assert body.index("2026-03-08 09:19 UTC") > body.index("Conversation so far"), "the latest are kept"


def test_even_multibyte_texts_stay_under_the_email_bound() -> None:
    wide = "😡" * 100_000
    conversation = [mention(wide, external_id=str(100 + n), minutes=n) for n in range(20)]
    current = mention(wide, external_id="200", minutes=30)
    body = email_body(current, [*conversation, current], LINK)
    assert len(body.encode("utf-8")) <= MAX_EMAIL_BYTES
