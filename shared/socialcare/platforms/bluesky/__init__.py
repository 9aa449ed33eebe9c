"""Bluesky: no webhooks, so the poller reads the brand's notifications every minute (`notifications.py`);
answers are posts in the brand's repo, in reply to the post (`replies.py`). Plain XRPC over requests: the
atproto SDK would cost the poller's and the sender's cold start more than the three calls it saves."""

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from socialcare.models import Author, Mention, MentionKind
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.base import (
    PollContext,
    PolledAdapterDefaults,
    PostContext,
    PostResult,
    ReplyRules,
    ReplyTarget,
    RequiredConfig,
)
from socialcare.platforms.bluesky.config import SECTION, BlueskyConfig

if TYPE_CHECKING:
    import requests

    from socialcare.platforms.base import CredentialProblem
    from socialcare.platforms.local import LocalPlatform

PLATFORM = "bluesky"


class BlueskyPlatform(PolledAdapterDefaults):
    webhook = "bluesky"
    required_config = RequiredConfig("bluesky", (("handle", "app_password"),))
    aliases: ClassVar[dict[str, str]] = {"bsky": PLATFORM}  # names people type for it

    def platforms(self, config: PlatformConfig) -> Collection[str]:
        return (PLATFORM,)

    def label(self, platform: str, config: PlatformConfig | None = None) -> str:
        return "Bluesky"

    def secrets(self, config: PlatformConfig) -> list[str]:
        return [config.section(SECTION, BlueskyConfig).app_password]

    # ---- receiving: polled, never called
    def poll(self, context: PollContext) -> dict[str, Any]:
        from socialcare.platforms.bluesky.notifications import poll

        return poll(context)

    def brand(self, platform: str, config: PlatformConfig) -> Author:
        handle = config.section(SECTION, BlueskyConfig).handle
        return Author(id=handle or PLATFORM, handle=handle or None)

    # ---- answering
    def reply_rules(self, platform: str, kind: MentionKind | str | None) -> ReplyRules:
        from socialcare.platforms.bluesky.replies import COUNTING_RULE, POST_LIMIT, graphemes

        return ReplyRules(limit=POST_LIMIT, count=graphemes, counting_rule=COUNTING_RULE)

    def can_answer(self, kind: MentionKind | str) -> bool:
        return kind == MentionKind.POST

    def reply_target(self, mention: Mention) -> ReplyTarget:
        refs = mention.raw.get("reply_refs") or {}
        return ReplyTarget(
            platform=mention.platform,
            kind=mention.kind,
            external_id=mention.external_id,
            author_id=mention.author.id,
            refs={str(k): str(v) for k, v in refs.items()},
        )

    def reply_kind(self, mention: Mention) -> MentionKind:
        return MentionKind.POST

    def post_reply(self, target: ReplyTarget, text: str, context: PostContext) -> PostResult:
        from socialcare.platforms.bluesky import replies

        return replies.post(target, text, context)

    def find_reply(self, target: ReplyTarget, text: str, since: datetime, context: PostContext) -> str | None:
        from socialcare.platforms.bluesky import replies

        return replies.find(target, text, since, context)

    def can_delete(self, kind: MentionKind | str) -> bool:
        return True  # our answers are records in the brand's repo

    def delete_reply(
        self, platform: str, platform_reply_id: str, mention: Mention | None, context: PostContext
    ) -> None:
        from socialcare.platforms.bluesky import replies

        replies.delete(platform_reply_id, context)

    def check_credentials(
        self, config: PlatformConfig, session: "requests.Session", now: datetime
    ) -> "dict[str, list[CredentialProblem]]":
        bluesky = config.section(SECTION, BlueskyConfig)
        if not (bluesky.handle or bluesky.app_password):
            return {}  # not in use
        from socialcare.platforms.bluesky.client import check

        return {self.webhook: check(config, bluesky, session)}

    def local(self) -> "LocalPlatform":
        from socialcare.platforms.bluesky.local import LocalBluesky

        return LocalBluesky()
