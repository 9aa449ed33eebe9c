"""Texts a platform did not send. Some mentions arrive as ids only (raw["needs_text"]); their text, author and
time come from the platform's API, through its adapter's `text_fetcher`. Others arrive with their text but
without a link to open them by (raw["needs_link"]: an Instagram comment names its media, not the media's
permalink); the same fetcher gives their `url`, on the way in only: a link that could not be fetched is
left out (the mention is complete without it, and the alert must not wait for it).

Ingest tries once, briefly (a platform waits seconds for the whole batch);
what fails is stored anyway with text_pending, and `retry_pending_texts` fills it in later.

`retry_pending_texts(store, config, limit)` is called every minute by the escalation sweep. Each attempt that
fails is retried with a growing delay (1, 2, 4 ... 60 minutes); after a day the mention keeps its empty text
and text_pending, and is no longer retried."""

from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from socialcare.data.mentions import MentionStore, PendingText
from socialcare.models import Author, Mention, utc_now
from socialcare.observability import logger
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.base import TextFetcher

# One Graph call during ingest; all calls of one delivery together. What does not make it is left pending.
INGEST_FETCH_TIMEOUT_S = 2.0
INGEST_FETCH_BUDGET_S = 6.0
# The sweep's own run is limited (the escalation function has 50 s for everything it does).
RETRY_FETCH_TIMEOUT_S = 5.0
RETRY_FETCH_BUDGET_S = 15.0
FETCH_CONCURRENCY = 8
FIRST_RETRY_AFTER = timedelta(minutes=1)
MAX_RETRY_DELAY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=1)
# A marker whose mention is not there: the mention's write failed after the marker's (the platform resends
# it, with a marker of its own). Kept a while in case the write is just slower than the sweep.
ORPHAN_AFTER = timedelta(minutes=10)


def needs_text(mention: Mention) -> bool:
    return bool(mention.raw.get("needs_text")) and not mention.text


def needs_link(mention: Mention) -> bool:
    return bool(mention.raw.get("needs_link")) and not mention.url


def apply_fetched(mention: Mention, fetched: dict[str, Any]) -> None:
    """Fill the mention in place from a text fetcher's answer: text, username, author_url, timestamp, and
    where the platform gives them the author's id and name and the item's url."""
    username = _text(fetched, "username")
    author_url = _text(fetched, "author_url")
    author_id = _text(fetched, "author_id") or username or mention.author.id
    mention.text = str(fetched.get("text") or "")
    mention.author = Author(id=author_id, handle=username, name=_text(fetched, "name"), url=author_url)
    mention.url = _text(fetched, "url") or mention.url
    timestamp = fetched.get("timestamp")
    if isinstance(timestamp, str):
        try:
            created_at = datetime.fromisoformat(timestamp)
        except ValueError:
            created_at = mention.created_at  # the delivery's time stays: not worth losing the text over
        mention.created_at = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    mention.text_pending = False


def _text(fetched: dict[str, Any], key: str) -> str | None:
    value = fetched.get(key)
    return value if isinstance(value, str) and value else None


def fetch_texts(mentions: list[Mention], fetch: TextFetcher, budget_s: float) -> None:
    """Fetch every mention's text in parallel within `budget_s` in all; each mention is filled in, or marked
    text_pending when its fetch failed or did not finish in time."""
    if not mentions:
        return
    pool = ThreadPoolExecutor(max_workers=min(FETCH_CONCURRENCY, len(mentions)))
    futures = {pool.submit(fetch, mention): mention for mention in mentions}
    done, _ = wait(futures, timeout=budget_s)
    # Calls still running end on their own timeout; nobody waits for them.
    pool.shutdown(wait=False, cancel_futures=True)
    for future, mention in futures.items():
        error = future.exception() if future in done else TimeoutError("fetch budget spent")
        link_only = not needs_text(mention)  # its text came with it: only its link was asked for
        if error is None:
            if link_only:
                mention.url = _text(future.result(), "url") or mention.url
            else:
                apply_fetched(mention, future.result())
            continue
        if not link_only:
            mention.text_pending = True
        # The error's text may hold the request URL, and with it the access token: log its kind only.
        logger.warning(
            "mention link not fetched" if link_only else "mention text not fetched",
            mention_id=mention.id,
            error=type(error).__name__,
            code=getattr(error, "code", None),
            status=getattr(error, "status", None),
        )


def _with_platform_fetchers(
    to_fetch: list[tuple[PendingText, Mention]], config: PlatformConfig
) -> tuple[list[tuple[PendingText, Mention]], TextFetcher]:
    """The mentions whose platform can fetch texts now, and one fetcher that asks each one's adapter. The
    others stay due: nothing to do until an operator configures their platform."""
    from socialcare.platforms.registry import adapter_for  # the sweep only: webhooks pass their adapter's

    fetchers: dict[str, TextFetcher] = {}
    ready = []
    for marker, mention in to_fetch:
        if mention.platform not in fetchers:
            fetcher = adapter_for(mention.platform).text_fetcher(config, RETRY_FETCH_TIMEOUT_S)
            if fetcher is None:
                logger.warning("texts pending, but the platform is not configured to fetch them")
                continue
            fetchers[mention.platform] = fetcher
        ready.append((marker, mention))
    return ready, lambda mention: fetchers[mention.platform](mention)


@dataclass
class RetryResult:
    filled: int = 0
    rescheduled: int = 0
    given_up: int = 0
    dropped: int = 0  # markers with nothing left to do


def retry_delay(attempts: int) -> timedelta:
    return min(FIRST_RETRY_AFTER * (2 ** min(attempts, 16)), MAX_RETRY_DELAY)


def retry_pending_texts(
    store: MentionStore,
    config: PlatformConfig,
    limit: int = 25,
    *,
    fetch: TextFetcher | None = None,
    now: datetime | None = None,
) -> RetryResult:
    """Fetch the texts of up to `limit` mentions stored with text_pending whose next attempt is due. Safe to
    run concurrently with itself and with ingest: the text is written only while the mention is pending."""
    now = now or utc_now()
    result = RetryResult()
    markers = store.due_pending_texts(now, limit)
    if not markers:
        return result
    stored = store.get_many(marker.mention_id for marker in markers)
    to_fetch: list[tuple[PendingText, Mention]] = []
    for marker in markers:
        mention = stored.get(marker.mention_id)
        if mention is None and now - marker.pending_since < ORPHAN_AFTER:
            store.reschedule_pending_text(marker, now + FIRST_RETRY_AFTER)
            result.rescheduled += 1
        elif mention is None or not mention.text_pending:
            store.drop_pending_text(marker)
            result.dropped += 1
        else:
            to_fetch.append((marker, mention))
    if not to_fetch:
        return result
    if fetch is None:
        to_fetch, fetch = _with_platform_fetchers(to_fetch, config)
    fetch_texts([mention for _, mention in to_fetch], fetch, RETRY_FETCH_BUDGET_S)
    for marker, mention in to_fetch:
        if not mention.text_pending:
            store.fill_text(mention)  # False when another run filled it first: the same text
            store.drop_pending_text(marker)
            result.filled += 1
        elif now - marker.pending_since >= GIVE_UP_AFTER:
            logger.warning("giving up on a mention's text", mention_id=mention.id, attempts=marker.attempts)
            store.drop_pending_text(marker)
            result.given_up += 1
        else:
            store.reschedule_pending_text(marker, now + retry_delay(marker.attempts + 1))
            result.rescheduled += 1
    logger.info("pending texts retried", **vars(result))
    return result
