"""The reply page an agent opens from the SMS link (/r/<token>) on a phone.

Server-rendered with the standard library only: a few kilobytes, no external resources, readable at 360 px
wide over a poor connection, and it works without JavaScript. Everything a stranger wrote (the mention, the
conversation, names) is escaped; only http(s) URLs become links. Every page carries strict security headers:
the inline style and the optional counter script are allowed by their sha256 hash, never 'unsafe-inline'.

The platform's words (its label, its length rules) come from its adapter (socialcare.platforms.registry)."""

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from urllib.parse import urlsplit

from socialcare.models import MentionKind
from socialcare.platforms import registry
from socialcare.untrusted_text import is_blank


# ---- length rules: each platform's adapter has them (socialcare.platforms), so the page, the POST handler
# and the reply sender agree on what fits.
def count_length(platform: str, text: str) -> int:
    """The length the platform will see."""
    return registry.reply_rules(platform, None).count(text)


def limit_for(platform: str, kind: MentionKind | str | None = None) -> int | None:
    """The longest reply the platform takes for this kind of mention; None when there is no known limit."""
    return registry.reply_rules(platform, kind).limit


def counting_rule(platform: str) -> str:
    return registry.reply_rules(platform, None).counting_rule


def validate_reply(platform: str, kind: MentionKind | str | None, text: str) -> str | None:
    """An error message to show the agent, or None when the reply can be sent."""
    if not text.strip():
        return "Write a reply before sending."
    if is_blank(text):
        return "The reply has nothing visible in it (only spaces or invisible characters). Write a reply."
    limit = limit_for(platform, kind)
    length = count_length(platform, text)
    if limit is not None and length > limit:
        return (
            f"The reply is {length} characters; {platform_label(platform)} takes at most {limit}. "
            f"Shorten it by {length - limit}."
        )
    return None


# ---- page model
@dataclass(frozen=True)
class PreviousReply:
    by: str
    text: str
    at: datetime | str | None = None


@dataclass(frozen=True)
class ReplyView:
    """What the reply form shows. Every string may come from a stranger: the page escapes all of them."""

    platform: str
    kind: MentionKind | str
    text: str
    created_at: datetime | str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    url: str | None = None
    # Earlier messages of the conversation, oldest first, without the mention itself:
    # (author label, text, is_ours).
    conversation: Sequence[tuple[str, str, bool]] = ()
    other_agents: Sequence[str] = ()  # who else was notified about this mention
    previous_replies: Sequence[PreviousReply] = ()  # replies already sent: a second one needs confirming
    # No API can post to the platform (a feed): the agent answers on the site and records it here.
    answer_there: bool = False
    label: str | None = None  # the platform's name when the caller knows it better than the registry does
    can_say_on_it: bool = False  # nobody said "I'm on it" yet: the page offers the button
    on_it: str | None = None  # who did ("You", a name)
    can_ask_privately: bool = False  # a public post whose author the platform lets us message privately
    # How the platform lets us answer this public mention privately ("private reply", "direct message").
    private_reply: str | None = None

    @property
    def limit(self) -> int | None:
        return limit_for(self.platform, self.kind)

    @property
    def counting_rule(self) -> str:
        return counting_rule(self.platform)


@dataclass(frozen=True)
class Page:
    status: int
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)


# ---- rendering
ON_IT = "on_it"  # the `action` of the "I'm on it" form
TRY_AGAIN = "try_again"  # the `action` of a failed reply's Try again (the same text) and Edit and send
EDIT_AND_SEND = "edit_and_send"
STYLE = (
    "*{box-sizing:border-box}"
    "body{margin:0 auto;max-width:40rem;padding:12px;font:16px/1.45 system-ui,-apple-system,'Segoe UI',"
    "Roboto,sans-serif;color:#1a1a1a;background:#f6f6f4;overflow-wrap:anywhere}"
    "h1{font-size:1.15rem;margin:.25rem 0 .75rem}h2{font-size:1rem;margin:1rem 0 .4rem}"
    ".card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:10px 12px;margin:0 0 12px}"
    ".meta{color:#555;font-size:.875rem;margin:0}"
    ".text{white-space:pre-wrap;margin:.35rem 0}"
    ".thread{list-style:none;padding:0;margin:0 0 12px}"
    ".thread li{background:#fff;border-left:3px solid #bbb;padding:4px 8px;margin:0 0 6px}"
    ".thread li.ours{border-color:#2a7a4a}"
    ".error,.notice{border-radius:6px;padding:8px 10px;margin:0 0 12px}"
    ".error{background:#fde8e8;border:1px solid #c33;color:#8a1111}"
    ".notice{background:#fff6dc;border:1px solid #d9a300}"
    "label{display:block;margin:8px 0}"
    "textarea{width:100%;min-height:9rem;font:inherit;padding:8px;border:1px solid #888;border-radius:6px}"
    "button{width:100%;font:inherit;font-weight:600;padding:12px;margin-top:8px;border:0;border-radius:6px;"
    "background:#1d5fd1;color:#fff}"
    "#count{float:right}.over{color:#b00;font-weight:600}"
    "button.secondary{background:#fff;color:#1d5fd1;border:1px solid #1d5fd1;margin:0 0 12px}"
)
# Optional live counter with the rules of count_length, except that an emoji sequence counts per code point
# and trailing punctuation is never part of a link: it can only overestimate. The server check decides.
COUNTER_SCRIPT = (
    "(function(){var t=document.getElementById('text'),o=document.getElementById('count');"
    "if(!t||!o||!t.dataset.limit)return;var L=+t.dataset.limit,x=t.dataset.weighted==='1';"
    "function w(p){return p<=4351||(p>=8192&&p<=8205)||(p>=8208&&p<=8223)||(p>=8242&&p<=8247)?1:2}"
    "function n(s){s=s.normalize('NFC');if(!x)return Array.from(s).length;"
    "s=s.replace(/https?:\\/\\/[^\\s\\/?#<>\"'`]+[^\\s<>\"'`]*/gi,function(m){"
    "var k=m.replace(/[.,:;!?'\")]+$/,'');return '#'.repeat(23)+m.slice(k.length)});"
    "var c=0;for(var ch of s)c+=w(ch.codePointAt(0));return c}"
    "function u(){var k=n(t.value);o.textContent=k+' / '+L;o.className=k>L?'over':''}"
    "t.addEventListener('input',u);u()})();"
)


def _sha256_source(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


STYLE_HASH = _sha256_source(STYLE)
SCRIPT_HASH = _sha256_source(COUNTER_SCRIPT)


def security_headers(*, with_script: bool = False) -> dict[str, str]:
    script_source = f"; script-src {SCRIPT_HASH}" if with_script else ""
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src {STYLE_HASH}{script_source}; form-action 'self'; "
            "base-uri 'none'; frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",  # the token in the URL must not leak to the platform's site
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",  # a shared phone's back button must not show someone's conversation
        "X-Content-Type-Options": "nosniff",
        "X-Robots-Tag": "noindex, nofollow",
    }


KIND_LABELS = {
    MentionKind.POST: "post",
    MentionKind.COMMENT: "comment",
    MentionKind.DIRECT_MESSAGE: "direct message",
    MentionKind.REVIEW: "review",
}


def platform_label(platform: str) -> str:
    return registry.label(platform)


def _kind_label(kind: MentionKind | str) -> str:
    try:
        return KIND_LABELS[MentionKind(kind)]
    except ValueError:
        return str(kind)


def _format_time(moment: datetime | str | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, str):
        return f"<time>{escape(moment)}</time>"
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f'<time datetime="{utc.isoformat()}">{utc:%Y-%m-%d %H:%M} UTC</time>'


def is_web_url(url: str | None) -> bool:
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _link_or_text(url: str | None, label: str) -> str:
    if not url:
        return ""
    if is_web_url(url):
        return f'<a href="{escape(url.strip())}" rel="noopener noreferrer">{escape(label)}</a>'
    return f"<span>{escape(url)}</span>"  # javascript:, data: and other schemes stay inert text


def _document(title: str, content: str, *, status: int, with_script: bool = False) -> Page:
    script = f"<script>{COUNTER_SCRIPT}</script>" if with_script else ""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex,nofollow">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{content}</main>{script}</body></html>"
    )
    return Page(status=status, body=body, headers=security_headers(with_script=with_script))


def _bdi(value: str) -> str:
    """A stranger's words inline: escaped and bidi-isolated, so controls in them cannot reorder ours."""
    return f"<bdi>{escape(value)}</bdi>"


def _text_block(value: str) -> str:
    """A stranger's text as a paragraph: escaped, its direction its own (dir=auto isolates it)."""
    return f'<p class="text" dir="auto">{escape(value)}</p>'


def _author_label(view: ReplyView) -> str:
    handle = f"@{view.author_handle.lstrip('@')}" if view.author_handle else ""
    if view.author_name and handle:
        return f"{view.author_name} ({handle})"
    return view.author_name or handle or "someone"


def _previous_replies(replies: Sequence[PreviousReply]) -> str:
    if not replies:
        return ""
    items = "".join(
        f'<p class="meta">{_bdi(reply.by)} replied {_format_time(reply.at)}</p>{_text_block(reply.text)}'
        for reply in replies
    )
    return f'<section class="notice"><p><strong>Already answered</strong></p>{items}</section>'


def _conversation(lines: Sequence[tuple[str, str, bool]]) -> str:
    if not lines:
        return ""
    items = "".join(
        f'<li class="{"ours" if ours else "theirs"}"><p class="meta">{_bdi(who)}</p>{_text_block(text)}</li>'
        for who, text, ours in lines
    )
    return f'<h2>Earlier in the conversation</h2><ol class="thread">{items}</ol>'


def _on_it(view: ReplyView, nonce: str) -> str:
    """Opening the page is not taking the mention (link scanners open every link): a person presses this."""
    if view.on_it:
        return f'<p class="meta">{_bdi(view.on_it)} {"are" if view.on_it == "You" else "is"} on it.</p>'
    if not view.can_say_on_it:
        return ""
    return (
        '<form method="post">'
        f'<input type="hidden" name="nonce" value="{escape(nonce)}">'
        f'<input type="hidden" name="action" value="{ON_IT}">'
        '<button type="submit" id="on-it" class="secondary">I\'m on it</button></form>'
    )


def reply_form_page(view: ReplyView, *, nonce: str, error: str | None = None, draft: str = "") -> Page:
    """The form. `nonce` is the form's one-time value (posted back in a hidden field), not a CSP nonce."""
    platform = view.label or platform_label(view.platform)
    author = _author_label(view)
    limit = None if view.answer_there else view.limit
    button = "I answered there" if view.answer_there else "Send"
    source_link = _link_or_text(view.url, f"Open on {platform}")
    source = f'<p class="meta">{source_link}</p>' if source_link else ""
    error_notice = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    others = (
        f'<p class="meta">Also sent to: {", ".join(_bdi(name) for name in view.other_agents)}</p>'
        if view.other_agents
        else ""
    )
    counter = f"{count_length(view.platform, draft)} / {limit}" if limit is not None else ""
    weighted = registry.reply_rules(view.platform, view.kind).weighted_counter
    data = f' data-limit="{limit}" data-weighted="{int(weighted)}"' if limit is not None else ""
    confirm = (
        '<label><input type="checkbox" name="confirm_second" value="yes" required> '
        "Send another reply anyway</label>"
        if view.previous_replies
        else ""
    )
    ask = (
        '<label><input type="checkbox" name="ask_survey" value="yes"> Ask privately how we did</label>'
        if view.can_ask_privately
        else ""
    )
    content = (
        f"<h1>Reply to {_bdi(author)} on {escape(platform)}</h1>"
        f"{_conversation(view.conversation)}"
        f'<section class="card"><p class="meta">{_bdi(author)} · {escape(_kind_label(view.kind))} '
        f"{_format_time(view.created_at)}</p>"
        f"{_text_block(view.text)}"
        f"{source}</section>"
        f"{_previous_replies(view.previous_replies)}{others}{_on_it(view, nonce)}{error_notice}"
        '<form method="post" autocomplete="off">'
        f'<input type="hidden" name="nonce" value="{escape(nonce)}">'
        f"{_answer_there_notice(view, platform)}"
        f'<label for="text">Your reply <span id="count">{counter}</span></label>'
        # The newline after <textarea> is dropped by the parser, so a draft starting with one survives.
        f'<textarea id="text" name="text" rows="6" dir="auto" required{data}>\n{escape(draft)}</textarea>'
        f'<p class="meta">{escape(_rule_line(view))}</p>'
        f'{_private_choice(view)}{ask}{confirm}<button type="submit" id="send">{button}</button></form>'
    )
    return _document(f"Reply on {platform}", content, status=200, with_script=limit is not None)


def _private_choice(view: ReplyView) -> str:
    """ "Reply privately", where the platform allows it, with the optional public line that goes with it."""
    if not view.private_reply or view.answer_there:
        return ""
    return (
        '<fieldset class="card"><label><input type="checkbox" name="private" value="yes" id="private"> '
        f"Reply privately ({escape(view.private_reply)}; the conversation continues there)</label>"
        '<label for="public_line">Public line with it (optional)</label>'
        '<input type="text" id="public_line" name="public_line" maxlength="280" dir="auto" '
        'placeholder="We\'ve sent you a DM"></fieldset>'
    )


def _answer_there_notice(view: ReplyView, platform: str) -> str:
    if not view.answer_there:
        return ""
    where = _link_or_text(view.url, "Open the post") or "Open the post"
    return (
        f'<p class="notice">{where} and answer there: {escape(platform)} cannot take a reply from here. '
        "Then paste your answer below and press <strong>I answered there</strong>, so the team knows it "
        "is answered.</p>"
    )


def _rule_line(view: ReplyView) -> str:
    if view.answer_there:
        return "Your answer is recorded here; nothing is posted anywhere."
    return view.counting_rule


def sent_page(
    reply_text: str,
    *,
    platform: str,
    url: str | None = None,
    posted: bool = False,
    answered_there: bool = False,
    label: str | None = None,
) -> Page:
    """The confirmation after a POST: the reply is posted already, or queued for the reply sender, or (a
    platform answered on its own site) recorded."""
    label = label or platform_label(platform)
    state = f"Posted on {label}." if posted else f"On its way to {label}: it goes out in a moment."
    if answered_there:
        state = "Recorded: the mention is marked answered in a moment."
    link = _link_or_text(url, f"Open on {label}")
    content = (
        f"<h1>Reply sent</h1><p>{escape(state)}</p>"
        f'<section class="card">{_text_block(reply_text)}</section>'
        f"{f'<p>{link}</p>' if link else ''}<p>Thank you! You can close this page.</p>"
    )
    return _document("Reply sent", content, status=200)


def answered_page(
    reply_text: str,
    by: str,
    at: datetime | str | None = None,
    *,
    note: str | None = None,
    customer: PreviousReply | None = None,
    platform: str | None = None,
    url: str | None = None,
    heading: str = "Already answered",
) -> Page:
    """A used link: the customer's message it answered (`customer`: who wrote it, the text, when), the reply
    it sent and who sent it, and a link to the post on the platform. `note` says where that reply is, when
    it is not simply out (still on its way, or refused by the platform)."""
    status = f'<p class="notice">{escape(note)}</p>' if note else "<p>Nothing left to do here.</p>"
    theirs = (
        f'<section class="card"><p class="meta">{_bdi(customer.by)} wrote {_format_time(customer.at)}</p>'
        f"{_text_block(customer.text)}</section>"
        if customer is not None
        else ""
    )
    link = _link_or_text(url, f"Open on {platform_label(platform)}") if platform else ""
    content = (
        f"<h1>{escape(heading)}</h1>"
        f"{theirs}"
        f'<p class="meta">{_bdi(by)} replied {_format_time(at)}</p>'
        f'<section class="card">{_text_block(reply_text)}</section>'
        f"{f'<p>{link}</p>' if link else ''}{status}"
    )
    return _document(heading, content, status=200)


def not_posted_page(
    reply_text: str,
    reason: str,
    *,
    nonce: str,
    platform: str,
    label: str | None = None,
    url: str | None = None,
    customer: PreviousReply | None = None,
    error: str | None = None,
) -> Page:
    """A reply the platform refused: why, in plain words, the agent's text, the post on the platform, and two
    forms: Try again (the same text, once the cause is fixed, e.g. a renewed token) and Edit and send (a new
    text, for a text the platform refused). Both carry the page's nonce like every form of the page."""
    label = label or platform_label(platform)
    theirs = (
        f'<section class="card"><p class="meta">{_bdi(customer.by)} wrote {_format_time(customer.at)}</p>'
        f"{_text_block(customer.text)}</section>"
        if customer is not None
        else ""
    )
    link = _link_or_text(url, f"Open on {label}")
    hidden = f'<input type="hidden" name="nonce" value="{escape(nonce)}">'
    error_notice = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    content = (
        f"<h1>Not posted</h1>{error_notice}"
        f'<p class="error">{escape(label)} did not take your reply: {escape(reason)}</p>'
        f"{theirs}"
        f'<section class="card">{_text_block(reply_text)}</section>'
        f"{f'<p>{link}</p>' if link else ''}"
        f'<form method="post">{hidden}<input type="hidden" name="action" value="{TRY_AGAIN}">'
        '<button type="submit" id="try-again">Try again</button></form>'
        f'<form method="post">{hidden}<input type="hidden" name="action" value="{EDIT_AND_SEND}">'
        f'<label for="edit-text">Edit your reply</label>'
        f'<textarea id="edit-text" name="text" rows="5" required>{escape(reply_text)}</textarea>'
        '<button type="submit" id="edit-and-send" class="secondary">Edit and send</button></form>'
    )
    return _document("Not posted", content, status=200)


def expired_page() -> Page:
    content = (
        "<h1>This link has expired</h1>"
        "<p>Reply links work for a limited time. If the customer still needs an answer, a new link will be "
        "sent to whoever is on shift.</p>"
    )
    return _document("Link expired", content, status=410)


def not_found_page() -> Page:
    content = "<h1>Link not found</h1><p>Check that the whole link from the text message was opened.</p>"
    return _document("Not found", content, status=404)


def forbidden_page(reason: str) -> Page:
    content = f"<h1>Not allowed</h1><p>{escape(reason)}</p>"
    return _document("Not allowed", content, status=403)


def error_page(status: int, title: str, message: str) -> Page:
    """Any other refusal or failure, with the same strict headers as every page."""
    content = f"<h1>{escape(title)}</h1><p>{escape(message)}</p>"
    return _document(title, content, status=status)
