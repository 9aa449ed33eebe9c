"""X (Twitter): the Account Activity webhook, the reply rules, posting replies and DMs, and the look-up.

Posting (`x.replies`, which needs requests) is imported on use: the webhook never posts."""

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from socialcare.errors import MalformedPayload
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
from socialcare.platforms.x import rules
from socialcare.platforms.x.config import SECTION, XConfig
from socialcare.platforms.x.webhook import (
    CRC_TOKEN,
    ENVELOPES,
    OAUTH2_SIGNATURE_HEADER,
    PLATFORM,
    SIGNATURE_HEADER,
    crc_response,
    is_crc_token,
    parse_delivery,
    verify_signature,
)

if TYPE_CHECKING:
    import requests

    from socialcare.platforms.base import CredentialProblem
    from socialcare.platforms.local import LocalPlatform

__all__ = [
    "CRC_TOKEN",
    "ENVELOPES",
    "OAUTH2_SIGNATURE_HEADER",
    "PLATFORM",
    "SIGNATURE_HEADER",
    "XConfig",
    "XPlatform",
    "crc_response",
    "is_crc_token",
    "parse_delivery",
    "verify_signature",
]


def config_of(config: PlatformConfig) -> XConfig:
    return config.section(SECTION, XConfig)


class XPlatform(AdapterDefaults):
    webhook = "x"
    required_config = RequiredConfig("x", (("consumer_secret", "brand_user_id", "bearer_token"),))
    aliases: ClassVar[dict[str, str]] = {"twitter": PLATFORM}  # names people type for it

    def platforms(self, config: PlatformConfig) -> Collection[str]:
        return (PLATFORM,)

    def label(self, platform: str, config: PlatformConfig | None = None) -> str:
        return "X"

    def secrets(self, config: PlatformConfig) -> list[str]:
        x = config_of(config)
        return [x.bearer_token, x.consumer_secret, x.oauth2_client_secret]

    # ---- receiving
    def routes(self) -> list[WebhookRoute]:
        return [WebhookRoute("/webhooks/x", handshake=True)]

    def handshake(self, request: WebhookRequest, config: PlatformConfig) -> Handshake:
        token = request.query.get("crc_token")
        if not token:
            raise MalformedPayload("the crc_token query parameter is required")
        return Handshake(crc_response(token, config_of(config)))

    def verify(self, request: WebhookRequest, config: PlatformConfig) -> None:
        verify_signature(request.body, request.headers, config_of(config))

    def parse(self, payload: Any, request: WebhookRequest, config: PlatformConfig) -> Delivery:
        return parse_delivery(payload, config_of(config))

    def brand(self, platform: str, config: PlatformConfig) -> Author:
        x = config_of(config)
        return Author(id=x.brand_user_id, handle=x.brand_handle or None)

    # ---- answering
    def reply_rules(self, platform: str, kind: MentionKind | str | None) -> ReplyRules:
        direct = kind == MentionKind.DIRECT_MESSAGE
        return ReplyRules(
            limit=rules.DM_LIMIT if direct else rules.POST_LIMIT,
            count=rules.count_length,
            counting_rule=rules.COUNTING_RULE,
            weighted_counter=True,
        )

    def can_answer(self, kind: MentionKind | str) -> bool:
        return kind in (MentionKind.POST, MentionKind.DIRECT_MESSAGE)

    def answers_privately(self, kind: MentionKind | str) -> bool:
        return kind == MentionKind.DIRECT_MESSAGE

    def private_reply(self, mention: Mention, now: datetime) -> str | None:
        """How this public post can be answered privately (shown on the reply page), or None: a DM to its
        author, which X refuses when their DMs are closed."""
        return "direct message" if mention.kind is MentionKind.POST and mention.author.id else None

    def can_follow_up(self, mention: Mention, now: datetime) -> bool:
        """Whether one more message may go into this direct-message conversation now (a survey): always."""
        return mention.kind is MentionKind.DIRECT_MESSAGE and bool(mention.author.id)

    def _private(self, target: ReplyTarget) -> ReplyTarget:
        # An X private answer is a direct message to the author: posted and looked up as one.
        return target.model_copy(update={"kind": MentionKind.DIRECT_MESSAGE}) if target.private else target

    def reply_kind(self, mention: Mention) -> MentionKind:
        # An answer to a post is a post of its own on X.
        return mention.kind if mention.kind is MentionKind.DIRECT_MESSAGE else MentionKind.POST

    def post_reply(self, target: ReplyTarget, text: str, context: PostContext) -> PostResult:
        from socialcare.platforms.x import replies

        return replies.post(self._private(target), text, context, config_of(context.config))

    def find_reply(self, target: ReplyTarget, text: str, since: datetime, context: PostContext) -> str | None:
        from socialcare.platforms.x import replies

        return replies.find(self._private(target), text, since, context, config_of(context.config))

    def can_delete(self, kind: MentionKind | str) -> bool:
        return kind != MentionKind.DIRECT_MESSAGE  # the API deletes posts, not direct messages

    def delete_reply(
        self, platform: str, platform_reply_id: str, mention: Mention | None, context: PostContext
    ) -> None:
        from socialcare.platforms.x import replies

        kind = mention.kind if mention is not None else MentionKind.COMMENT
        replies.delete(platform_reply_id, kind, context, config_of(context.config))

    def check_credentials(
        self, config: PlatformConfig, session: "requests.Session", now: datetime
    ) -> "dict[str, list[CredentialProblem]]":
        from socialcare.platforms.x import credentials

        x = config_of(config)
        return {self.webhook: credentials.check_x(x, session)} if credentials.is_configured(x) else {}

    def local(self) -> "LocalPlatform":
        from socialcare.platforms.x.local import LocalX

        return LocalX()
