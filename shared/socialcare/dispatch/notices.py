"""The words of a notification: the SMS and the email an agent gets about a mention. Pure formatting.

What a customer wrote must never pass for what we wrote: our reply link comes first in both, the customer's
words come after it, quoted (in quotes in the SMS, every line behind "> " in the email), and invisible format
characters (bidi controls, zero-width spaces) are removed from them (socialcare.untrusted_text).

The SMS must stay within two segments (a third costs money and may arrive out of order) and must always carry
the whole reply link, so the mention's text is what gets cut. The email must fit SNS (256 KiB a message): it
is bounded by MAX_EMAIL_BYTES, the mention's text by MAX_EMAIL_TEXT and each earlier message of the
conversation by MAX_EARLIER_TEXT characters; the oldest earlier messages that do not fit are left out with
"...and N more on the page". Its subject follows Amazon SNS's rules for email subjects (ASCII, one line,
under 100 characters), since SNS may be what sends it."""

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime

from socialcare.models import Author, Mention, MentionKind, MentionStatus
from socialcare.platforms import registry
from socialcare.untrusted_text import without_format_characters

MAX_SMS_SEGMENTS = 2

# GSM 03.38 default alphabet (one septet each) and its extension table (escape + character: two septets).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
# Units per segment: a lone SMS, and each part of a concatenated one (the rest holds the joining header).
GSM_SINGLE, GSM_PART = 160, 153  # septets
UCS2_SINGLE, UCS2_PART = 70, 67  # UTF-16 code units

# The first line of a notification email that can be answered by replying (socialcare.replies.by_email):
# whatever
# a mail client quotes from this line on is never posted to the customer.
REPLY_ABOVE = "## Reply above this line to answer the customer ##"
MAX_SUBJECT_LENGTH = 99  # SNS: "less than 100 characters"
MAX_EMAIL_BYTES = 100_000  # SNS refuses messages over 256 KiB; UTF-8 bytes count
MAX_EMAIL_TEXT = 10_000  # characters of the mention itself (at most 40 KB); the page has them all
MAX_EARLIER_TEXT = 500  # characters of each earlier message of the conversation
MAX_AUTHOR_LABEL = 40
_KIND_LABELS = {
    MentionKind.POST: "post",
    MentionKind.COMMENT: "comment",
    MentionKind.DIRECT_MESSAGE: "DM",
    MentionKind.REVIEW: "review",
}
_KIND_TITLES = {
    MentionKind.POST: "Post",
    MentionKind.COMMENT: "Comment",
    MentionKind.DIRECT_MESSAGE: "Direct message",
    MentionKind.REVIEW: "Review",
}
_GONE = {
    MentionStatus.DELETED: " (deleted by its author)",
    MentionStatus.REMOVED: " (removed by the platform)",
}
_WHITESPACE = re.compile(r"\s+")


# ---------------------------------------------------------------- SMS
def is_gsm7(text: str) -> bool:
    """Whether the text can be sent in the GSM 7-bit alphabet; otherwise the whole SMS becomes UCS-2."""
    return all(char in GSM_BASIC or char in GSM_EXTENSION for char in text)


def sms_segments(text: str) -> int:
    """How many SMS segments the text takes. Escape pairs (GSM) and surrogate pairs (UCS-2, e.g. emoji) are
    never split across segments, as phones and gateways do."""
    if is_gsm7(text):
        units = [2 if char in GSM_EXTENSION else 1 for char in text]
        single, part = GSM_SINGLE, GSM_PART
    else:
        units = [2 if ord(char) > 0xFFFF else 1 for char in text]
        single, part = UCS2_SINGLE, UCS2_PART
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for size in units:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return segments


def _fits(text: str) -> bool:
    return sms_segments(text) <= MAX_SMS_SEGMENTS


def sms_text(mention: Mention, link: str, code: str | None = None) -> str:
    """The SMS: the reply link on the first line, then `[X] DM @handle: "start of the text..."`, in at most
    two segments. The link comes first so that nothing the customer wrote can precede it or pose as it. With
    a text-back `code`, the line after the link says how to answer by texting back (also before anything the
    customer wrote).

    The link is never cut; the text is cut (at a word boundary when one is near) and ends with an ellipsis.
    Raises ValueError when the link alone cannot fit, which is a configuration mistake."""
    kind = "DM " if mention.kind == MentionKind.DIRECT_MESSAGE else ""
    reply_line = f"Reply {code} and your answer\n" if code else ""
    head = f"{link}\n{reply_line}[{registry.label(mention.platform)}] {kind}{_author_label(mention.author)}: "
    text = _one_line(mention.text)
    if not text:
        head, text, tail = head + "(no text)", "", ""
    else:
        head, tail = head + '"', '"'
    if _fits(head + text + tail):
        return head + text + tail
    # No more characters than two GSM segments hold can fit, so longer texts need not be tried.
    text = text[: MAX_SMS_SEGMENTS * GSM_PART]
    for length in range(len(text), -1, -1):
        message = _cut_message(head, text, length, tail)
        if _fits(message):
            return _at_word_boundary(head, text, length, tail) or message
    if reply_line and _fits(link + "\n" + reply_line.rstrip()):
        return link + "\n" + reply_line.rstrip()  # the author does not fit: the link and the code do
    if _fits(link):
        return link  # the author does not fit beside the link; the link is what the agent needs
    raise ValueError(
        f"the reply link ({len(link)} characters) does not fit in {MAX_SMS_SEGMENTS} SMS segments"
    )


def _cut_message(head: str, text: str, length: int, tail: str) -> str:
    snippet = text[:length].rstrip()
    # "…" is not GSM: use it only when the message is UCS-2 anyway, where it is one unit instead of three.
    ellipsis = "..." if is_gsm7(head + snippet + tail) else "…"
    return head + snippet + ellipsis + tail


def _at_word_boundary(head: str, text: str, length: int, tail: str, reach: int = 20) -> str | None:
    """The message cut at the last space within `reach` characters before `length`, if that still fits."""
    space = text.rfind(" ", max(0, length - reach), length + 1)
    if space <= 0 or space == length:
        return None
    message = _cut_message(head, text, space, tail)
    return message if _fits(message) else None


def _author_label(author: Author) -> str:
    label = _one_line(author.label)
    return label if len(label) <= MAX_AUTHOR_LABEL else label[: MAX_AUTHOR_LABEL - 3] + "..."


def _one_line(text: str) -> str:
    return _WHITESPACE.sub(" ", without_format_characters(text)).strip()


# ---------------------------------------------------------------- email
def email_subject(mention: Mention) -> str:
    """One ASCII line under 100 characters: "[X] DM from @handle: start of the text"."""
    who = _ascii(_author_label(mention.author)) or "someone"
    platform = _ascii(registry.label(mention.platform))
    subject = f"[{platform}] {_KIND_LABELS[mention.kind]} from {who}: {_ascii(mention.text)}"
    subject = subject.rstrip(": ")
    if len(subject) <= MAX_SUBJECT_LENGTH:
        return subject
    return subject[: MAX_SUBJECT_LENGTH - 3].rstrip() + "..."


def _ascii(text: str) -> str:
    # Accents fold to their base letter ("está" -> "esta"); emoji and other scripts drop out.
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _one_line("".join(char for char in folded if char.isprintable()))


def email_body(mention: Mention, conversation: Iterable[Mention], link: str, note: str | None = None) -> str:
    """Plain text: the reply link first, then `note` (an escalation says so), who wrote what and where, the
    text quoted, then the conversation so far (oldest first, this mention left out, each message quoted) and
    the link again when the conversation pushed it far up. At most MAX_EMAIL_BYTES in UTF-8."""
    lines = [f"Reply: {link}", "(This link is ours. Everything after a '>' is what the customer wrote.)"]
    if note:
        lines += ["", note]
    lines += ["", *_about(mention), "", f"{_who(mention)} wrote{_GONE.get(mention.status, '')}:"]
    lines += _quoted(mention.text, MAX_EMAIL_TEXT)
    earlier = [
        [f"{_when(item.created_at)}  {_who(item)}{_GONE.get(item.status, '')}:", *_quoted(item.text)]
        for item in sorted(
            (item for item in conversation if item.id != mention.id), key=lambda item: item.created_at
        )
    ]
    if earlier:
        footer = ["", f"Reply: {link}"]
        heading = ["", "Conversation so far, oldest first:", ""]
        budget = MAX_EMAIL_BYTES - _size([*lines, *heading, "...and 99 more on the page", *footer])
        kept: list[list[str]] = []
        for entry in reversed(earlier):  # the latest matter most: the oldest are left out first
            budget -= _size(entry)
            if budget < 0:
                break
            kept.insert(0, entry)
        lines += heading
        if len(kept) < len(earlier):
            lines.append(f"...and {len(earlier) - len(kept)} more on the page")
        lines += [line for entry in kept for line in entry] + footer
    return "\n".join(lines) + "\n"


def _about(mention: Mention) -> list[str]:
    """Who wrote the mention, where and when: one line each, whatever the names contain."""
    author = mention.author
    platform = registry.label(mention.platform)
    lines = [f"{_KIND_TITLES[mention.kind]} on {platform} from {_who(mention)}"]
    if author.name and author.handle:
        lines.append(f"Name: {_one_line(author.name)}")
    reach = [f"{author.followers:,} followers"] if author.followers is not None else []
    if author.verified:
        reach.append("verified")
    if reach:
        lines.append(", ".join(reach))
    lines.append(f"Posted: {_when(mention.created_at)}")
    if mention.url:
        lines.append(f"Open on {platform}: {_one_line(mention.url)}")
    return lines


def _quoted(text: str, limit: int = MAX_EARLIER_TEXT) -> list[str]:
    """A customer's text as quoted lines ("> "), without format characters, cut at `limit` characters."""
    clean = without_format_characters(text)
    if len(clean) > limit:
        clean = clean[:limit].rstrip() + " [...] (shortened: the whole text is on the page)"
    return ["> " + line for line in clean.splitlines() or [""]]


def _size(lines: list[str]) -> int:
    return sum(len(line.encode("utf-8")) + 1 for line in lines)


def _who(mention: Mention) -> str:
    if mention.is_ours:
        # Our own posts by the brand's handle or name, when the platform or the configuration gives one.
        author = mention.author
        return f"us ({_author_label(author)})" if author.handle or author.name else "us"
    return _author_label(mention.author)


def _when(moment: datetime) -> str:
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
