"""Reading the configured feeds on a schedule: conditional requests (ETag, Last-Modified), RSS and Atom
through feedparser, the entries that match the feed's words stored once each (ingest's conditional puts on
the entry's id, else its link). Only the feed poller imports this module (and so feedparser).

A feed that fails (no answer, an error status, not a feed) is logged and remembered with its error; its
conditional-request state is left as it was, so the next run reads it again. The other feeds go on."""

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import feedparser
import requests

from socialcare.data.polling import PollState, PollStateStore
from socialcare.models import Author, Delivery, Mention, MentionKind, utc_now
from socialcare.observability import logger
from socialcare.platforms.base import Ingested
from socialcare.platforms.feeds.config import FeedConfig, FeedsConfig

POLLER = "feed"
TIMEOUT = (3.05, 15.0)
MAX_FEED_BYTES = 5 * 1024 * 1024
MAX_TEXT_CHARS = 10_000  # a long article is read on the site; the mention keeps its opening
MAX_KEPT_ID_BYTES = 200  # longer entry ids are stored as their hash (ids go into keys)
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
USER_AGENT = "SocialCare-FeedPoller/1.0"


class FeedFailed(Exception):
    """This feed could not be read this time."""


@dataclass
class FeedOutcome:
    name: str
    status: str  # stored | unchanged | failed
    stored: int = 0
    duplicates: int = 0
    not_matching: int = 0
    error: str | None = None


@dataclass
class PollReport:
    outcomes: list[FeedOutcome] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            outcome.name: {k: v for k, v in vars(outcome).items() if k != "name"} for outcome in self.outcomes
        }


# ---------------------------------------------------------------- HTML to text
class _TextExtractor(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                        "pre", "tr", "table", "section", "article", "hr"})  # fmt: skip
    HIDDEN = frozenset({"script", "style", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """What a reader sees of `markup`: its text, paragraphs as blank-line-free lines, no tags or scripts."""
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    lines = (re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip() for line in "".join(extractor.parts).split("\n"))
    return "\n".join(line for line in lines if line)


# ---------------------------------------------------------------- entries
def matcher(words: Iterable[str]) -> Callable[[str], bool]:
    """Any of `words` as a whole word or phrase, case-insensitive; no words keeps everything."""
    patterns = [re.compile(rf"(?<!\w){re.escape(word.casefold())}(?!\w)") for word in words]
    if not patterns:
        return lambda _text: True
    return lambda text: any(pattern.search(text.casefold()) for pattern in patterns)


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return None


def _entry_body(entry: Any) -> str:
    contents = [part.get("value", "") for part in entry.get("content") or [] if part.get("value")]
    return html_to_text(contents[0] if contents else entry.get("summary", "") or "")


def entry_id(entry: Any) -> str | None:
    """The entry's id, else its link; a very long one as its hash."""
    identifier = str(entry.get("id") or entry.get("link") or "").strip()
    if not identifier:
        return None
    if len(identifier.encode("utf-8")) > MAX_KEPT_ID_BYTES:
        return "sha256-" + hashlib.sha256(identifier.encode("utf-8")).hexdigest()
    return identifier


def entry_mention(feed_name: str, entry: Any, now: datetime) -> Mention | None:
    identifier = entry_id(entry)
    if identifier is None:
        return None
    title = html_to_text(entry.get("title", "") or "")
    body = _entry_body(entry)
    # A feed without a separate summary repeats the title as the body's opening.
    parts = [body] if title and body.startswith(title) else [title, body]
    text = "\n\n".join(part for part in parts if part)
    author_name = html_to_text(entry.get("author", "") or "") or None
    author_url = (entry.get("author_detail") or {}).get("href")
    link = entry.get("link") or None
    return Mention(
        platform=feed_name,
        external_id=identifier,
        kind=MentionKind.REVIEW,
        author=Author(id=author_name or feed_name, name=author_name, url=author_url),
        text=text[:MAX_TEXT_CHARS] or "(no text)",
        url=link,
        created_at=_entry_time(entry) or now,
        thread_key=identifier,
        raw={"feed": feed_name, "title": title[:500], "entry_id": str(entry.get("id") or "")[:1000]},
    )


# ---------------------------------------------------------------- one feed, every feed
def _conditional_headers(state: PollState, feed: FeedConfig) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if state.values.get("url") != feed.url:
        return headers  # a new address starts over
    if state.values.get("etag"):
        headers["If-None-Match"] = state.values["etag"]
    if state.values.get("last_modified"):
        headers["If-Modified-Since"] = state.values["last_modified"]
    return headers


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: dict[str, str]
    content: bytes


def _fetch(session: requests.Session, feed: FeedConfig, state: PollState) -> Fetched:
    headers = _conditional_headers(state, feed)
    try:
        with session.get(feed.url, headers=headers, timeout=TIMEOUT, stream=True) as response:
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > MAX_FEED_BYTES:
                    raise FeedFailed(f"larger than {MAX_FEED_BYTES} bytes")
                chunks.append(chunk)
            fetched = Fetched(response.status_code, dict(response.headers), b"".join(chunks))
    except requests.RequestException as error:
        raise FeedFailed(f"no answer: {type(error).__name__}") from error
    if fetched.status != 304 and not 200 <= fetched.status < 300:
        raise FeedFailed(f"HTTP {fetched.status}")
    return fetched


def poll_feed(
    name: str,
    feed: FeedConfig,
    states: PollStateStore,
    ingest: Callable[[Delivery], Ingested],
    session: requests.Session,
    now: datetime,
) -> FeedOutcome:
    state = states.get(POLLER, name)
    response = _fetch(session, feed, state)
    if response.status == 304:
        states.save(POLLER, name, PollState(values=state.values, polled_at=now))
        return FeedOutcome(name, "unchanged")
    parsed = feedparser.parse(response.content, response_headers=_lower(response.headers))
    if parsed.get("bozo") and not parsed.entries and not parsed.get("version"):
        raise FeedFailed(f"not an RSS or Atom feed ({type(parsed.get('bozo_exception')).__name__})")
    keep = matcher(feed.match)
    mentions, not_matching = [], 0
    for entry in parsed.entries:
        mention = entry_mention(name, entry, now)
        if mention is None:
            continue
        if keep(f"{mention.raw['title']}\n{mention.text}"):
            mentions.append(mention)
        else:
            not_matching += 1
    result = ingest(Delivery(mentions=mentions)) if mentions else None
    values = {"url": feed.url}
    for header, key in (("ETag", "etag"), ("Last-Modified", "last_modified")):
        value = _lower(response.headers).get(header.lower())
        if value:
            values[key] = value
    states.save(POLLER, name, PollState(values=values, polled_at=now))
    return FeedOutcome(
        name,
        "stored",
        stored=len(result.stored) if result else 0,
        duplicates=result.duplicates if result else 0,
        not_matching=not_matching,
    )


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def poll_feeds(
    feeds: FeedsConfig,
    states: PollStateStore,
    ingest: Callable[[Delivery], Ingested],
    session: requests.Session,
    now: Callable[[], datetime] = utc_now,
) -> PollReport:
    """Every configured feed once; one feed's failure is recorded and never stops the others."""
    report = PollReport()
    for name, feed in feeds.root.items():
        started = now()
        try:
            report.outcomes.append(poll_feed(name, feed, states, ingest, session, started))
        except Exception as error:  # a broken feed, or storage failing for it: the next run tries again
            reason = str(error) if isinstance(error, FeedFailed) else f"{type(error).__name__}: {error}"
            logger.warning("feed poll failed", feed=name, reason=reason[:300])
            report.outcomes.append(FeedOutcome(name, "failed", error=reason[:300]))
            _remember_failure(states, name, reason, started)
    return report


def _remember_failure(states: PollStateStore, name: str, reason: str, now: datetime) -> None:
    try:
        previous = states.get(POLLER, name)
        failed_since = previous.failed_since if previous.error else now
        states.save(POLLER, name, PollState(previous.values, now, reason, failed_since))
    except Exception:  # storage itself is down: the log line above is all we can leave
        logger.exception("recording a feed's failure failed", feed=name)
