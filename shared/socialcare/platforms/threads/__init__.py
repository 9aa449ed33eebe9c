"""Threads: replies to the brand's posts and mentions of it, by webhook; answers by create and publish.

Posting (`threads.replies`, which needs requests) is imported on use: the webhook never posts."""

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from socialcare.models import Author, Delivery, Mention, MentionKind
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.base import (
    AdapterDefaults,
    Handshake,
    PostContext,
    PostResult,
    ReplyRules,
    ReplyTarget,
    RequiredConfig,
    WebhookRequest,
    WebhookRoute,
)
from socialcare.platforms.threads.config import SECTION, ThreadsConfig
from socialcare.platforms.threads.webhook import (
    THREADS,
    parse_delivery,
    verify_signature,
    verify_subscription,
)

if TYPE_CHECKING:
    import requests

    from socialcare.platforms.base import CredentialProblem
    from socialcare.platforms.local import LocalPlatform

__all__ = ["THREADS", "ThreadsConfig", "ThreadsPlatform", "config_of"]

REPLY_LIMIT = 500  # characters per Threads post


def config_of(config: PlatformConfig) -> ThreadsConfig:
    return config.section(SECTION, ThreadsConfig)


class ThreadsPlatform(AdapterDefaults):
    webhook = THREADS
    required_config = RequiredConfig("threads", (("app_secret", "verify_token", "user_id", "access_token"),))

    def platforms(self, config: PlatformConfig) -> Collection[str]:
        return (THREADS,)

    def label(self, platform: str, config: PlatformConfig | None = None) -> str:
        return "Threads"

    def secrets(self, config: PlatformConfig) -> list[str]:
        threads = config_of(config)
        return [threads.app_secret, threads.verify_token, threads.access_token]

    # ---- receiving
    def routes(self) -> list[WebhookRoute]:
        return [WebhookRoute("/webhooks/threads", handshake=True)]

    def handshake(self, request: WebhookRequest, config: PlatformConfig) -> Handshake:
        return Handshake(verify_subscription(request.query, config_of(config)), content_type="text/plain")

    def verify(self, request: WebhookRequest, config: PlatformConfig) -> None:
        verify_signature(request.body, request.headers, config_of(config))

    def parse(self, payload: Any, request: WebhookRequest, config: PlatformConfig) -> Delivery:
        return parse_delivery(payload, config_of(config))

    def brand(self, platform: str, config: PlatformConfig) -> Author:
        threads = config_of(config)
        # Deliveries name authors by username only, so the username is the id our own posts carry.
        return Author(id=threads.username, handle=threads.username or None)

    # ---- answering
    def reply_rules(self, platform: str, kind: MentionKind | str | None) -> ReplyRules:
        return ReplyRules(limit=REPLY_LIMIT)

    def can_answer(self, kind: MentionKind | str) -> bool:
        return kind in (MentionKind.POST, MentionKind.COMMENT)

    def reply_kind(self, mention: Mention) -> MentionKind:
        return MentionKind.COMMENT

    def post_reply(self, target: ReplyTarget, text: str, context: PostContext) -> PostResult:
        from socialcare.platforms.threads import replies

        return replies.post(target, text, context, config_of(context.config))

    def find_reply(self, target: ReplyTarget, text: str, since: datetime, context: PostContext) -> str | None:
        from socialcare.platforms.threads import replies

        return replies.find(target, text, since, context, config_of(context.config))

    def can_delete(self, kind: MentionKind | str) -> bool:
        return True  # our answers are posts of the brand's (DELETE /{threads-media-id}, threads_delete)

    def delete_reply(
        self, platform: str, platform_reply_id: str, mention: Mention | None, context: PostContext
    ) -> None:
        from socialcare.platforms.threads import replies

        replies.delete(platform_reply_id, context, config_of(context.config))

    def check_credentials(
        self, config: PlatformConfig, session: "requests.Session", now: datetime
    ) -> "dict[str, list[CredentialProblem]]":
        threads = config_of(config)
        if not (threads.app_secret or threads.access_token or threads.user_id):
            return {}  # not in use
        from socialcare.platforms.threads import replies

        return {self.webhook: replies.check(config, threads, session)}

    def local(self) -> "LocalPlatform":
        from socialcare.platforms.threads.local import LocalThreads

        return LocalThreads()
