"""Reading the brand's Bluesky notifications (`app.bsky.notification.listNotifications`, reasons mention,
reply and quote) and turning each post into a mention. Bluesky has no webhooks: the poller runs this every
minute. Notifications come newest first; a run reads back to the newest one the previous run saw (kept as
the poll state's `seen_until`), at most MAX_PAGES pages, and ingest stores each post once however often
it is read."""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import Field, ValidationError

from socialcare.data.polling import PollState
from socialcare.modeling import Model
from socialcare.models import Author, Delivery, Mention, MentionKind, MentionStatus
from socialcare.observability import logger
from socialcare.platforms.base import PollContext, PostContext
from socialcare.platforms.bluesky.client import Xrpc
from socialcare.platforms.bluesky.config import SECTION, BlueskyConfig

PLATFORM = "bluesky"
POLLER = "bluesky"
REASONS = ("mention", "reply", "quote")
PAGE_SIZE = 50
MAX_PAGES = 5


class _Ref(Model):
    uri: str
    cid: str


class _ReplyRefs(Model):
    root: _Ref
    parent: _Ref


class _Record(Model):
    text: str = ""
    createdAt: datetime
    reply: _ReplyRefs | None = None


class _Actor(Model):
    did: str = Field(min_length=1)
    handle: str | None = None
    displayName: str | None = None


class _Notification(Model):
    uri: str = Field(min_length=1)
    cid: str = Field(min_length=1)
    author: _Actor
    reason: str
    record: dict[str, Any]
    indexedAt: datetime


def post_url(handle: str | None, did: str, uri: str) -> str:
    return f"https://bsky.app/profile/{handle or did}/post/{uri.rsplit('/', 1)[-1]}"


def mention_of(notification: dict[str, Any], brand_did: str) -> Mention | None:
    """The post a notification is about, or None when it is not one (or claims a post in another's repo:
    a post's uri names the repo that holds it, and only its author can write there)."""
    try:
        item = _Notification.model_validate(notification)
        record = _Record.model_validate(item.record)
    except ValidationError:
        return None
    if item.reason not in REASONS or not item.uri.startswith(f"at://{item.author.did}/app.bsky.feed.post/"):
        return None
    created = record.createdAt if record.createdAt.tzinfo else record.createdAt.replace(tzinfo=UTC)
    root = record.reply.root if record.reply else _Ref(uri=item.uri, cid=item.cid)
    ours = item.author.did == brand_did
    return Mention(
        platform=PLATFORM,
        external_id=item.uri,
        kind=MentionKind.POST,
        author=Author(
            id=item.author.did,
            handle=item.author.handle,
            name=item.author.displayName,
            url=f"https://bsky.app/profile/{item.author.handle or item.author.did}",
        ),
        text=record.text,
        url=post_url(item.author.handle, item.author.did, item.uri),
        created_at=created,
        thread_key=root.uri,
        in_reply_to=record.reply.parent.uri if record.reply else None,
        is_ours=ours,
        status=MentionStatus.OURS if ours else MentionStatus.NEW,
        raw={
            "reason": item.reason,
            "reply_refs": {"uri": item.uri, "cid": item.cid, "root_uri": root.uri, "root_cid": root.cid},
        },
    )


def poll(context: PollContext) -> dict[str, Any]:
    config = context.config.section(SECTION, BlueskyConfig)
    if not config.configured:
        return {}
    now = context.now()
    state = context.states.get(POLLER, config.handle)
    post = PostContext(context.config, context.session, lambda: context.now().timestamp())
    xrpc = Xrpc(config, post)
    try:
        notifications, newest = _read(xrpc, state.values.get("seen_until", ""))
        brand_did = xrpc.session().did
        mentions = [m for m in (mention_of(n, brand_did) for n in notifications) if m is not None]
        result = context.ingest(Delivery(mentions=mentions)) if mentions else None
    except Exception as error:  # the next run tries again from the same place
        reason = f"{type(error).__name__}: {error}"[:300]
        logger.warning("bluesky poll failed", reason=reason)
        failed_since = state.failed_since if state.error else now
        context.states.save(POLLER, config.handle, PollState(state.values, now, reason, failed_since))
        return {config.handle: {"status": "failed", "stored": 0, "error": reason}}
    seen_until = max(newest, state.values.get("seen_until", ""))
    context.states.save(POLLER, config.handle, PollState({"seen_until": seen_until}, now))
    stored = len(result.stored) if result else 0
    return {config.handle: {"status": "stored", "stored": stored, "read": len(notifications), "error": None}}


def _read(xrpc: Xrpc, seen_until: str) -> tuple[list[dict[str, Any]], str]:
    """Notifications newer than `seen_until` (ISO time, as the PDS indexed them), newest first."""
    found: list[dict[str, Any]] = []
    newest, cursor = "", ""
    for _ in range(MAX_PAGES):
        query = [("reasons", reason) for reason in REASONS] + [("limit", str(PAGE_SIZE))]
        if cursor:
            query.append(("cursor", cursor))
        page = xrpc.call("GET", f"app.bsky.notification.listNotifications?{urlencode(query)}")
        items = [n for n in page.get("notifications") or [] if isinstance(n, dict)]
        for item in items:
            indexed = str(item.get("indexedAt", ""))
            newest = max(newest, indexed)
            if seen_until and indexed and indexed <= seen_until:
                return found, newest
            found.append(item)
        cursor = str(page.get("cursor") or "")
        if not cursor or not items:
            break
    return found, newest
