"""Meta: Facebook Pages, Instagram and Messenger, on one webhook and one Graph API.

Posting (`meta.replies`, which needs requests) is imported on use: the webhook never posts."""

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

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
    TextFetcher,
    WebhookRequest,
    WebhookRoute,
)
from socialcare.platforms.meta import webhook
from socialcare.platforms.meta.config import SECTION, MetaConfig
from socialcare.platforms.meta.hub import LEGACY_SIGNATURE_HEADER, SIGNATURE_HEADER
from socialcare.platforms.meta.webhook import (
    FACEBOOK,
    INSTAGRAM,
    GraphApiError,
    parse_delivery,
    verify_signature,
    verify_subscription,
)

if TYPE_CHECKING:
    import requests

    from socialcare.platforms.base import CredentialProblem
    from socialcare.platforms.local import LocalPlatform

__all__ = [
    "FACEBOOK",
    "INSTAGRAM",
    "LEGACY_SIGNATURE_HEADER",
    "SIGNATURE_HEADER",
    "GraphApiError",
    "MetaConfig",
    "MetaPlatform",
    "parse_delivery",
    "verify_signature",
    "verify_subscription",
    "webhook",
]

COMMENT_LIMITS = {FACEBOOK: 8000, INSTAGRAM: 2200}
DM_LIMIT = 1000
LABELS = {FACEBOOK: "Facebook", INSTAGRAM: "Instagram"}
# Messenger and Instagram take a business's message only this long after the customer's last one.
MESSAGING_WINDOW = timedelta(hours=24)
PRIVATE_REPLY_WINDOW = timedelta(days=7)  # Meta takes one private reply per comment, within 7 days


def config_of(config: PlatformConfig) -> MetaConfig:
    return config.section(SECTION, MetaConfig)


class MetaPlatform(AdapterDefaults):
    webhook = "meta"
    required_config = RequiredConfig(
        "meta", (("app_secret", "verify_token", "page_id", "page_access_token"),)
    )
    # Names people type for its platforms.
    aliases: ClassVar[dict[str, str]] = {
        "fb": FACEBOOK,
        "meta": FACEBOOK,
        "ig": INSTAGRAM,
        "insta": INSTAGRAM,
    }

    def platforms(self, config: PlatformConfig) -> Collection[str]:
        return (FACEBOOK, INSTAGRAM)

    def label(self, platform: str, config: PlatformConfig | None = None) -> str:
        return LABELS.get(platform, platform)

    def secrets(self, config: PlatformConfig) -> list[str]:
        meta = config_of(config)
        return [meta.page_access_token, meta.app_secret, meta.verify_token]

    # ---- receiving
    def routes(self) -> list[WebhookRoute]:
        return [WebhookRoute("/webhooks/meta", handshake=True)]

    def handshake(self, request: WebhookRequest, config: PlatformConfig) -> Handshake:
        challenge = verify_subscription(request.query, config_of(config))
        return Handshake(challenge, content_type="text/plain")

    def verify(self, request: WebhookRequest, config: PlatformConfig) -> None:
        verify_signature(request.body, request.headers, config_of(config))

    def parse(self, payload: Any, request: WebhookRequest, config: PlatformConfig) -> Delivery:
        return parse_delivery(payload, config_of(config))

    def text_fetcher(self, config: PlatformConfig, timeout: float) -> TextFetcher | None:
        meta = config_of(config)
        if not meta.page_access_token:
            return None

        links: dict[str, dict[str, Any]] = {}  # media id -> its permalink, for this delivery's comments

        def fetch(mention: Mention) -> dict[str, Any]:
            # Looked up on the module at call time, so a test can stand in for the Graph API.
            if mention.raw.get("needs_link") and mention.text:  # an Instagram comment: its media's link
                media_id = mention.thread_key
                if media_id not in links:
                    links[media_id] = webhook.fetch_instagram_permalink(media_id, meta, timeout=timeout)
                return links[media_id]
            if mention.platform == FACEBOOK:  # a Page `mention`: the post or comment that tags us
                return webhook.fetch_facebook_mention(mention.external_id, meta, timeout=timeout)
            if mention.kind is MentionKind.POST:  # a mention in a post's caption
                fetched = webhook.fetch_instagram_caption(mention.external_id, meta, timeout=timeout)
            else:
                fetched = webhook.fetch_instagram_mention(mention.external_id, meta, timeout=timeout)
            username = fetched.get("username")
            if isinstance(username, str) and username:
                fetched["author_url"] = f"https://www.instagram.com/{username}"
            return fetched

        return fetch

    def brand(self, platform: str, config: PlatformConfig) -> Author:
        meta = config_of(config)
        if platform == INSTAGRAM:
            return Author(id=meta.ig_user_id, handle=meta.ig_username or None)
        return Author(id=meta.page_id, name=meta.page_name or None)  # a Page has a name, no @handle

    # ---- answering
    def reply_rules(self, platform: str, kind: MentionKind | str | None) -> ReplyRules:
        direct = kind == MentionKind.DIRECT_MESSAGE
        return ReplyRules(limit=DM_LIMIT if direct else COMMENT_LIMITS.get(platform))

    def can_answer(self, kind: MentionKind | str) -> bool:
        return kind in (MentionKind.POST, MentionKind.COMMENT, MentionKind.DIRECT_MESSAGE)

    def answers_privately(self, kind: MentionKind | str) -> bool:
        return kind == MentionKind.DIRECT_MESSAGE

    def private_reply(self, mention: Mention, now: datetime) -> str | None:
        """How this public mention can be answered privately now (shown on the reply page), or None."""
        if mention.kind is not MentionKind.COMMENT or now - mention.created_at >= PRIVATE_REPLY_WINDOW:
            return None
        return "private reply"

    def can_follow_up(self, mention: Mention, now: datetime) -> bool:
        """Whether one more message may go into this direct-message conversation now (a survey): only inside
        Meta's 24-hour messaging window after the customer's message."""
        in_window = now - mention.created_at < MESSAGING_WINDOW
        return mention.kind is MentionKind.DIRECT_MESSAGE and bool(mention.author.id) and in_window

    def reply_target(self, mention: Mention) -> ReplyTarget:
        raw = mention.raw
        media = raw.get("media")
        media_id = (media.get("id") if isinstance(media, dict) else None) or raw.get("media_id")
        instagram = mention.platform == INSTAGRAM
        parent_id = raw.get("parent_id") if instagram else None
        # An Instagram @mention arrives as {"comment_id", "media_id"} (field "mentions"), not as a comment;
        # one in a post's caption as {"media_id"} only.
        via_mention = instagram and "media_id" in raw and "media" not in raw
        return ReplyTarget(
            platform=mention.platform,
            kind=mention.kind,
            external_id=mention.external_id,
            author_id=mention.author.id,
            parent_id=str(parent_id) if parent_id else None,
            media_id=str(media_id) if media_id else None,
            via_mention=via_mention,
        )

    def reply_kind(self, mention: Mention) -> MentionKind:
        return mention.kind if mention.kind is MentionKind.DIRECT_MESSAGE else MentionKind.COMMENT

    def post_reply(self, target: ReplyTarget, text: str, context: PostContext) -> PostResult:
        from socialcare.platforms.meta import replies

        if target.private:
            meta = config_of(context.config)
            return replies.post_private(target.platform, target.external_id, text, context, meta)
        return replies.post(target, text, context, config_of(context.config))

    def find_reply(self, target: ReplyTarget, text: str, since: datetime, context: PostContext) -> str | None:
        from socialcare.platforms.meta import replies

        if target.private:
            return None  # Meta refuses a second private reply to a comment: posting again is safe
        return replies.find(target, text, since, context, config_of(context.config))

    def can_delete(self, kind: MentionKind | str) -> bool:
        return kind != MentionKind.DIRECT_MESSAGE  # the Send API deletes no message

    def delete_reply(
        self, platform: str, platform_reply_id: str, mention: Mention | None, context: PostContext
    ) -> None:
        from socialcare.platforms.meta import replies

        kind = mention.kind if mention is not None else MentionKind.COMMENT
        replies.delete(platform_reply_id, platform, kind, context, config_of(context.config))

    def check_credentials(
        self, config: PlatformConfig, session: "requests.Session", now: datetime
    ) -> "dict[str, list[CredentialProblem]]":
        from socialcare.platforms.meta import credentials

        meta = config_of(config)
        return (
            {self.webhook: credentials.check_meta(meta, session, now)}
            if credentials.is_configured(meta)
            else {}
        )

    def local(self) -> "LocalPlatform":
        from socialcare.platforms.meta.local import LocalMeta

        return LocalMeta()
