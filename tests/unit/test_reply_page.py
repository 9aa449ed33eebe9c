"""The reply page: what a stranger wrote can never run or link anywhere unsafe, the security headers are on
every page, the agent's draft survives an error, and the length rules match the platforms'."""

import base64
import hashlib
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from socialcare.models import MentionKind
from socialcare.replies.page_view import (
    COUNTER_SCRIPT,
    STYLE,
    Page,
    PreviousReply,
    ReplyView,
    answered_page,
    count_length,
    expired_page,
    forbidden_page,
    limit_for,
    not_found_page,
    reply_form_page,
    sent_page,
    validate_reply,
)

HOSTILE = '<script>alert("x")</script> it\'s "quoted" & <b>bold</b>'


def view(**changes: object) -> ReplyView:
    fields: dict[str, object] = {
        "platform": "x",
        "kind": MentionKind.POST,
        "text": "My order #1234 never arrived, can you help? https://example.com/photo",
        "created_at": datetime(2024, 5, 1, 14, 3, tzinfo=UTC),
        "author_handle": "jane_doe",
        "author_name": "Jane Doe",
        "url": "https://x.com/jane_doe/status/1790000000000000001",
        "conversation": [
            ("Jane Doe (@jane_doe)", "Hello? Anyone there?", False),
            ("Brand", "Hi Jane, we are looking into it.", True),
        ],
        "other_agents": ["Ana", "Ben"],
    }
    fields.update(changes)
    return ReplyView(**fields)  # type: ignore[arg-type]


class _Collector(HTMLParser):
    """The parsed page: tags with their attributes and the text nodes, as a browser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: Page) -> _Collector:
    collector = _Collector()
    collector.feed(page.body)
    return collector


def tags(page: Page, name: str) -> list[dict[str, str | None]]:
    return [attrs for tag, attrs in parse(page).tags if tag == name]


def all_pages() -> list[Page]:
    return [
        reply_form_page(view(), nonce="n1"),
        reply_form_page(view(platform="reviews", kind=MentionKind.REVIEW), nonce="n1"),
        expired_page(),
        not_found_page(),
        answered_page("Sorted, thanks!", "Ana", datetime(2024, 5, 1, tzinfo=UTC)),
        sent_page("Sorted, thanks!", platform="x"),
        forbidden_page("This link was sent to someone else."),
    ]


# ---- escaping
def test_a_strangers_markup_is_shown_as_text_never_as_tags() -> None:
    page = reply_form_page(
        view(
            text=HOSTILE,
            author_name=HOSTILE,
            author_handle='"><img src=x onerror=alert(1)>',
            conversation=[(HOSTILE, HOSTILE, False)],
            other_agents=[HOSTILE],
            previous_replies=[PreviousReply(by=HOSTILE, text=HOSTILE, at="<i>yesterday</i>")],
        ),
        nonce='"><script>',
        error=HOSTILE,
        draft=HOSTILE + "</textarea><script>alert(2)</script>",
    )
    parsed = parse(page)
    tag_names = {tag for tag, _ in parsed.tags}
    assert "img" not in tag_names and "b" not in tag_names and "i" not in tag_names
    # The only script is the hashed counter.
    assert page.body.count("<script>") == 1 and f"<script>{COUNTER_SCRIPT}</script>" in page.body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; it&#x27;s" in page.body
    assert HOSTILE in "".join(parsed.text)  # the agent still reads exactly what was written
    assert tags(page, "input")[0] == {"type": "hidden", "name": "nonce", "value": '"><script>'}


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "//evil",
    ],
)
def test_only_http_urls_become_links(url: str) -> None:
    page = reply_form_page(view(url=url), nonce="n")
    assert tags(page, "a") == []
    assert url.strip() in "".join(parse(page).text)


def test_the_original_post_is_linked_without_leaking_the_reply_link() -> None:
    links = tags(reply_form_page(view(url='https://x.com/a/status/1?a="b"&c=1'), nonce="n"), "a")
    assert links == [{"href": 'https://x.com/a/status/1?a="b"&c=1', "rel": "noopener noreferrer"}]


# ---- headers
@pytest.mark.parametrize("page", all_pages(), ids=lambda page: str(page.status))
def test_every_page_has_strict_security_headers(page: Page) -> None:
    headers = page.headers
    csp = headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Type"] == "text/html; charset=utf-8"


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("page", all_pages(), ids=lambda page: str(page.status))
def test_inline_style_and_script_are_allowed_by_their_exact_hash(page: Page) -> None:
    csp = page.headers["Content-Security-Policy"]
    styles = re.findall(r"<style>(.*?)</style>", page.body, re.DOTALL)
    scripts = re.findall(r"<script>(.*?)</script>", page.body, re.DOTALL)
    assert styles == [STYLE]
    assert f"style-src {_sha256(STYLE)}" in csp
    for script in scripts:
        assert f"script-src {_sha256(script)}" in csp
    if not scripts:
        assert "script-src" not in csp  # default-src 'none' then blocks every script


def test_pages_load_nothing_from_elsewhere() -> None:
    for page in all_pages():
        assert not re.search(r"<(link|img|iframe|object|embed)\b", page.body)
        assert not re.search(r"<script[^>]*\bsrc=", page.body)
        assert "@import" not in page.body and "url(" not in page.body


def test_status_codes() -> None:
    assert [page.status for page in all_pages()] == [200, 200, 410, 404, 200, 200, 403]


# ---- the form
def test_the_form_shows_the_mention_and_its_context() -> None:
    page = reply_form_page(view(), nonce="n-123")
    text = "".join(parse(page).text)  # inline <bdi> splits the text nodes
    assert "Reply to Jane Doe (@jane_doe) on X" in text
    assert "My order #1234 never arrived" in text
    assert "Hello? Anyone there?" in text and "we are looking into it" in text
    assert "Also sent to: Ana, Ben" in text
    assert "2024-05-01 14:03 UTC" in text
    assert "Links count as 23 characters" in text
    form = tags(page, "form")
    assert form == [{"method": "post", "autocomplete": "off"}]
    assert {"name": "nonce", "type": "hidden", "value": "n-123"}.items() <= tags(page, "input")[0].items()
    assert tags(page, "textarea")[0]["name"] == "text"
    assert tags(page, "button") == [{"type": "submit", "id": "send"}]
    assert not [attrs for attrs in tags(page, "input") if attrs.get("name") == "confirm_second"]
    assert [attrs["class"] for attrs in tags(page, "li")] == ["theirs", "ours"]


def test_the_draft_and_the_error_survive_a_failed_post() -> None:
    draft = "\nLine one\nhttps://example.com & more"
    page = reply_form_page(view(), nonce="n", error="The reply is 300 characters", draft=draft)
    body = page.body
    assert body.index('role="alert"') < body.index("<form")  # the error is read before the form
    textarea = re.search(r"<textarea[^>]*>(.*?)</textarea>", body, re.DOTALL)
    assert textarea is not None
    # The parser drops one newline after <textarea>, so the draft's own leading newline survives.
    assert textarea.group(1) == "\n\nLine one\nhttps://example.com &amp; more"
    assert "The reply is 300 characters" in " ".join(parse(page).text)
    assert f">{count_length('x', draft)} / 280<" in body


def test_a_second_reply_needs_an_explicit_confirmation() -> None:
    page = reply_form_page(
        view(previous_replies=[PreviousReply("Ana", "We sent a new parcel today.", "2024-05-01 15:00 UTC")]),
        nonce="n",
    )
    text = " ".join(parse(page).text)
    assert "Already answered" in text and "We sent a new parcel today." in text and "Ana" in text
    confirm = [attrs for attrs in tags(page, "input") if attrs.get("name") == "confirm_second"]
    assert confirm == [{"type": "checkbox", "name": "confirm_second", "value": "yes", "required": None}]
    assert page.body.index("confirm_second") < page.body.index("<button")


def test_a_source_without_a_limit_has_no_counter_and_no_script() -> None:
    page = reply_form_page(view(platform="reviews", kind=MentionKind.REVIEW, url=None), nonce="n")
    assert "<script>" not in page.body
    assert "data-limit" not in page.body
    assert "Every character counts as 1." in page.body


def test_a_typical_page_is_a_few_kilobytes() -> None:
    page = reply_form_page(view(), nonce="n" * 43, draft="Hi Jane, sorry about that!")
    assert len(page.body.encode()) < 8 * 1024
    assert '<meta name="viewport" content="width=device-width,initial-scale=1">' in page.body


def test_result_pages_say_what_happened() -> None:
    answered = "".join(parse(answered_page("We refunded you.", "Ana", datetime(2024, 5, 2, 9, 30))).text)
    assert "Ana replied" in answered and "We refunded you." in answered and "2024-05-02 09:30 UTC" in answered
    sent = " ".join(parse(sent_page("Thanks <3", platform="instagram", posted=True)).text)
    assert "Posted on Instagram." in sent and "Thanks <3" in sent
    queued = " ".join(parse(sent_page("Thanks", platform="x")).text)
    assert "On its way to X" in queued
    forbidden = " ".join(parse(forbidden_page("Sent to <someone> else")).text)
    assert "Sent to <someone> else" in forbidden
    assert "expired" in " ".join(parse(expired_page()).text)


# ---- length rules
def test_x_counts_280_with_every_url_as_23() -> None:
    url = "https://example.com/" + "a" * 100
    text = "a" * 256 + " " + url  # 256 + 1 + 23 = 280
    assert count_length("x", text) == 280
    assert validate_reply("x", MentionKind.POST, text) is None
    assert validate_reply("x", MentionKind.POST, text + "!") == (
        "The reply is 281 characters; X takes at most 280. Shorten it by 1."
    )
    assert count_length("x", "see http://a.co and https://b.example/x?y=1.") == len("see ") + 23 + 5 + 23 + 1
    assert count_length("x", "(https://en.wikipedia.org/wiki/Foo_(bar))") == 1 + 23 + 1


def test_x_weighs_cjk_and_emoji_as_two() -> None:
    assert count_length("x", "日本") == 4
    assert count_length("x", "😀") == 2
    assert count_length("x", "👍🏽") == 2  # with a skin tone: one emoji
    assert count_length("x", "👨\u200d👩\u200d👧") == 2  # a ZWJ family: one emoji
    assert count_length("x", "❤️") == 2
    assert count_length("x", "🇫🇷") == 2
    assert count_length("x", "café — “ok”") == 11  # Latin, general punctuation: weight 1
    assert count_length("x", "e\u0301") == 1  # counted after NFC normalization
    assert count_length("x", "😀" * 140) == 280 and count_length("x", "😀" * 141) == 282


def test_other_platforms_count_code_points() -> None:
    assert count_length("facebook", "😀 日本") == 4
    assert count_length("instagram", "https://example.com/" + "a" * 50) == 70


@pytest.mark.parametrize(
    ("platform", "kind", "limit"),
    [
        ("x", MentionKind.POST, 280),
        ("x", MentionKind.DIRECT_MESSAGE, 10_000),
        ("facebook", MentionKind.COMMENT, 8000),
        ("facebook", MentionKind.DIRECT_MESSAGE, 1000),
        ("instagram", MentionKind.COMMENT, 2200),
        ("instagram", "direct_message", 1000),
        ("reviews", MentionKind.REVIEW, None),
    ],
)
def test_limits(platform: str, kind: MentionKind | str, limit: int | None) -> None:
    assert limit_for(platform, kind) == limit
    if limit is not None:
        assert validate_reply(platform, kind, "a" * limit) is None
        assert validate_reply(platform, kind, "a" * (limit + 1)) is not None
    else:
        assert validate_reply(platform, kind, "a" * 100_000) is None


@pytest.mark.parametrize("text", ["", "   ", "\n\t \u3000"])
def test_an_empty_reply_is_refused(text: str) -> None:
    assert validate_reply("facebook", MentionKind.COMMENT, text) == "Write a reply before sending."


def test_the_answered_page_shows_what_the_customer_wrote_and_where() -> None:
    page = answered_page(
        "We refunded you.",
        "Ana",
        datetime(2024, 5, 2, 9, 30, tzinfo=UTC),
        customer=PreviousReply(
            by="<Carla>", text="Where is my <refund>?", at=datetime(2024, 5, 2, 9, tzinfo=UTC)
        ),
        platform="instagram",
        url="https://www.instagram.com/p/abc/",
    )
    assert "<bdi>&lt;Carla&gt;</bdi> wrote" in page.body and "Where is my &lt;refund&gt;?" in page.body
    assert page.body.index("Where is my") < page.body.index("We refunded you.")
    assert (
        '<a href="https://www.instagram.com/p/abc/" rel="noopener noreferrer">Open on Instagram</a>'
        in page.body
    )


@pytest.mark.parametrize(
    "text",
    ["\u200b", "\u200b\u200b\u200b", "\u200b \u2060\ufeff\n", "\u202e\u2066\u2069", "\u200d\u3164\u2800"],
)
def test_a_reply_with_nothing_visible_is_refused_with_the_reason(text: str) -> None:
    problem = validate_reply("x", MentionKind.POST, text)
    assert problem is not None and "nothing visible" in problem


def test_a_reply_with_invisible_characters_around_words_is_fine() -> None:
    assert validate_reply("x", MentionKind.POST, "\u200bthanks!\u200b") is None
    assert validate_reply("x", MentionKind.POST, "👨\u200d👩\u200d👧") is None


def test_the_im_on_it_button_is_a_form_post_with_the_nonce() -> None:
    page = reply_form_page(view(can_say_on_it=True), nonce="n-123")
    forms = tags(page, "form")
    assert len(forms) == 2 and all(form["method"] == "post" for form in forms)
    on_it_inputs = tags(page, "input")[:2]
    assert [(i["name"], i["value"]) for i in on_it_inputs] == [("nonce", "n-123"), ("action", "on_it")]
    assert {"type": "submit", "id": "on-it", "class": "secondary"} in tags(page, "button")
    taken = reply_form_page(view(on_it="Ana"), nonce="n-123")
    assert "Ana is on it." in "".join(parse(taken).text) and len(tags(taken, "form")) == 1


def test_a_strangers_bidi_controls_are_isolated_from_the_page() -> None:
    spoof = "Ann\u202e ot ylper"
    page = reply_form_page(
        view(author_name=spoof, text=spoof, conversation=[(spoof, spoof, False)]), nonce="n"
    )
    assert f"<h1>Reply to <bdi>{spoof} (@jane_doe)</bdi> on X</h1>" in page.body
    assert page.body.count(f'<p class="text" dir="auto">{spoof}</p>') == 2
    assert f'<p class="meta"><bdi>{spoof}</bdi></p>' in page.body
