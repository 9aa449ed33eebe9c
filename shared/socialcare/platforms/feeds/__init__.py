"""Feeds (RSS and Atom): blogs, news searches, forums and review sites that will never call a webhook. Each
configured feed is a platform of its own, named in the configuration's `feeds` section, and read on a
schedule by the feed poller (`platforms/feeds/poll.py`, the only module that imports feedparser).

Nothing can be posted to a feed: the agent answers on the site itself, and the reply page's "I answered
there" records that answer. Recording it is this adapter's `post_reply`: the reply sender then marks the
mention answered, with its response time, the way it does for every platform."""

import hashlib
from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from socialcare.models import Author, Mention, MentionKind
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.base import (
    PollContext,
    PolledAdapterDefaults,
    PostContext,
    PostResult,
    ReplyRules,
    ReplyTarget,
)
from socialcare.platforms.feeds.config import SECTION, FeedConfig, FeedsConfig

if TYPE_CHECKING:
    from socialcare.platforms.local import LocalPlatform

__all__ = ["FeedConfig", "FeedsConfig", "FeedsPlatform", "feeds_of"]


def feeds_of(config: PlatformConfig) -> FeedsConfig:
    return config.section(SECTION, FeedsConfig)


class FeedsPlatform(PolledAdapterDefaults):
    webhook = "feeds"

    def platforms(self, config: PlatformConfig) -> Collection[str]:
        return tuple(feeds_of(config).root)

    def label(self, platform: str, config: PlatformConfig | None = None) -> str:
        feed = feeds_of(config).get(platform) if config is not None else None
        return (feed.label if feed else "") or platform

    def secrets(self, config: PlatformConfig) -> list[str]:
        feeds_of(config)  # validates the section; a feed has no secret
        return []

    # ---- receiving: feeds are read on a schedule, they never call us
    def brand(self, platform: str, config: PlatformConfig) -> Author:
        return Author(id=platform)

    def poll(self, context: PollContext) -> dict[str, Any]:
        from socialcare.platforms.feeds.poll import poll_feeds  # feedparser: the poller's cold start only

        report = poll_feeds(
            feeds_of(context.config), context.states, context.ingest, context.session, context.now
        )
        return report.summary()

    # ---- answering: on the site itself
    def reply_rules(self, platform: str, kind: MentionKind | str | None) -> ReplyRules:
        return ReplyRules(limit=None, counting_rule="Paste what you wrote there, so the team can see it.")

    def can_answer(self, kind: MentionKind | str) -> bool:
        return False  # no API to post to: the page says where to answer and offers "I answered there"

    def reply_target(self, mention: Mention) -> ReplyTarget:
        return ReplyTarget(platform=mention.platform, kind=mention.kind, external_id=mention.external_id)

    def reply_kind(self, mention: Mention) -> MentionKind:
        return MentionKind.COMMENT

    def post_reply(self, target: ReplyTarget, text: str, context: PostContext) -> PostResult:
        # The agent posted it on the site already; the same reply always gets the same id.
        key = context.idempotency_key or f"{target.external_id}\n{text}"
        return PostResult(f"answered-there-{hashlib.sha256(key.encode()).hexdigest()[:24]}")

    def find_reply(self, target: ReplyTarget, text: str, since: datetime, context: PostContext) -> str | None:
        return None  # recording never has an unknown outcome worth asking about

    def local(self) -> "LocalPlatform":
        from socialcare.platforms.feeds.local import LocalFeeds

        return LocalFeeds()
