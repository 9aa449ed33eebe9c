"""What an emailed answer posts: the new text only. No line of our notification reaches the customer,
whichever way the agent's mail client quotes it (Gmail, Apple Mail, Outlook, a German client)."""

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from socialcare.dispatch.notices import email_body
from socialcare.models import Author, Mention, MentionKind
from socialcare.replies.by_email import REPLY_ABOVE, Receipt, body_text, cut_quote, is_auto_reply, token_from

NOW = datetime(2026, 12, 1, 21, 0, tzinfo=UTC)
MENTION = Mention(
    platform="x",
    external_id="1850000000000000001",
    kind=MentionKind.POST,
    author=Author(id="42", handle="jane", name="Jane Doe", followers=1200),
    text="@brand my parcel never came\nand nobody answers the phone",
    url="https://x.com/jane/status/1850000000000000001",
    created_at=NOW,
    received_at=NOW,
    thread_key="1850000000000000001",
)
NOTIFICATION = REPLY_ABOVE + "\n\n" + email_body(MENTION, [], "https://care.example.com/r/" + "t" * 43)
ANSWER = "So sorry, Jane! I am on it:\nyour refund is on its way."


def quoted(prefix: str = "> ") -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in NOTIFICATION.splitlines())


CLIENTS = {
    "gmail": f"{ANSWER}\n\nOn Tue, Dec 1, 2026 at 9:01 PM Social Care <alerts@reply.example.com> wrote:\n\n"
    + quoted(),
    "apple_mail": f"{ANSWER}\n\nSent from my iPhone\n\n> On 1 Dec 2026, at 21:01, Social Care "
    "<alerts@reply.example.com> wrote:\n>\n" + quoted(),
    "outlook": f"{ANSWER}\n\n________________________________\nFrom: Social Care <alerts@reply.example.com>\n"
    "Sent: Tuesday, December 1, 2026 9:01 PM\nTo: Ann Lee <ann@example.com>\n"
    "Subject: [x] post from @jane: @brand my parcel never came\n\n" + NOTIFICATION,
    "german": f"{ANSWER}\n\nAm Di., 1. Dez. 2026 um 21:01 Uhr schrieb Social Care "
    "<alerts@reply.example.com>:\n\n" + quoted(),
    "no_attribution": f"{ANSWER}\n\n" + NOTIFICATION,  # a client that pastes the original unquoted
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_no_line_of_the_notification_reaches_the_customer(client: str) -> None:
    answer = cut_quote(CLIENTS[client])
    assert answer == ANSWER
    ours = {line.strip() for line in NOTIFICATION.splitlines() if line.strip()}
    assert not [line for line in answer.splitlines() if line.strip() in ours]


def test_html_only_mail_is_converted_and_its_blockquote_dropped() -> None:
    message = EmailMessage()
    quote = "".join(f"<div>{line}</div>" for line in NOTIFICATION.splitlines())
    message.set_content(
        f"<div>{ANSWER.replace(chr(10), '<br>')}</div><blockquote>{quote}</blockquote>", "html"
    )
    assert cut_quote(body_text(message)) == ANSWER


def test_auto_replies_are_recognised() -> None:
    for header, value in [
        ("Auto-Submitted", "auto-replied"),
        ("Precedence", "bulk"),
        ("Precedence", "auto_reply"),
        ("X-Autoreply", "yes"),
    ]:
        message = EmailMessage()
        message[header] = value
        assert is_auto_reply(message), header
    human = EmailMessage()
    human["Auto-Submitted"] = "no"
    assert not is_auto_reply(human)


def test_the_token_comes_from_the_envelope_recipients_at_our_domain() -> None:
    token = "a" * 32
    assert (
        token_from(["someone@other.example", f"R-{token.upper()}@Reply.Example.com"], "reply.example.com")
        == token
    )
    assert token_from([f"r-{token}@evil.example"], "reply.example.com") is None
    assert token_from(["r-0189@reply.example.com"], "reply.example.com") is None  # not base32


@pytest.mark.parametrize(
    ("spf", "dkim", "dmarc", "accepted"),
    [
        ("PASS", "PASS", "PASS", True),
        ("FAIL", "PASS", "GRAY", True),
        ("PASS", "FAIL", "PASS", True),
        ("FAIL", "FAIL", "GRAY", False),
        ("PASS", "PASS", "FAIL", False),
    ],
)
def test_dmarc_must_not_fail_and_dkim_or_spf_must_pass(
    spf: str, dkim: str, dmarc: str, accepted: bool
) -> None:
    receipt = Receipt("m", [], spf, dkim, dmarc)
    assert receipt.authenticated is accepted
