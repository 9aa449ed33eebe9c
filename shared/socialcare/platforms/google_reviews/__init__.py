"""Google Business Profile reviews: pushed by Pub/Sub (authenticated by Google's OIDC token), read from the
Business Profile API, answered with `PUT .../reviews/{id}/reply`.

The token check (`google_reviews.token`, which imports rsa) and posting (`google_reviews.replies`,
requests) are imported on use."""

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
    TextFetcher,
    WebhookRequest,
    WebhookRoute,
)
from socialcare.platforms.google_reviews import push
from socialcare.platforms.google_reviews.config import SECTION, GoogleReviewsConfig
from socialcare.platforms.google_reviews.push import GOOGLE

if TYPE_CHECKING:
    import requests

    from socialcare.platforms.base import CredentialProblem
    from socialcare.platforms.local import LocalPlatform

__all__ = ["GOOGLE", "GoogleReviewsConfig", "GoogleReviewsPlatform", "config_of"]

REPLY_LIMIT = 4096  # characters in a review reply's comment


def config_of(config: PlatformConfig) -> GoogleReviewsConfig:
    return config.section(SECTION, GoogleReviewsConfig)


def _review_name(mention: Mention) -> str:
    refs = mention.raw.get("reply_refs")
    return str(refs.get("review", "")) if isinstance(refs, dict) else ""


class GoogleReviewsPlatform(AdapterDefaults):
    webhook = "google_reviews"
    required_config = RequiredConfig(
        "google_reviews",
        # The push audience, and the refresh flow or a fixed access token.
        (("audience", "client_id", "client_secret", "refresh_token"), ("audience", "access_token")),
    )

    def platforms(self, config: PlatformConfig) -> Collection[str]:
        return (GOOGLE,)

    def label(self, platform: str, config: PlatformConfig | None = None) -> str:
        return "Google reviews"

    def secrets(self, config: PlatformConfig) -> list[str]:
        google = config_of(config)
        return [google.access_token, google.client_secret, google.refresh_token]

    # ---- receiving
    def routes(self) -> list[WebhookRoute]:
        return [WebhookRoute("/webhooks/google-reviews")]

    def handshake(self, request: WebhookRequest, config: PlatformConfig) -> Handshake:
        raise MalformedPayload("Pub/Sub push does not check the endpoint")

    def verify(self, request: WebhookRequest, config: PlatformConfig) -> None:
        from socialcare.platforms.google_reviews.token import verify_push_token

        verify_push_token(request.headers, config_of(config))

    def parse(self, payload: Any, request: WebhookRequest, config: PlatformConfig) -> Delivery:
        return push.parse_push(payload)

    def delivery_id(self, request: WebhookRequest) -> str | None:
        return push.delivery_id(request.body)

    def text_fetcher(self, config: PlatformConfig, timeout: float) -> TextFetcher | None:
        google = config_of(config)
        if not google.can_read:
            return None

        def fetch(mention: Mention) -> dict[str, Any]:
            import time

            import requests

            from socialcare.platforms.google_reviews import replies

            with requests.Session() as session:
                context = PostContext(config, session, time.time, (min(3.05, timeout), timeout))
                return replies.fetch_review(_review_name(mention), google, context)

        return fetch

    def brand(self, platform: str, config: PlatformConfig) -> Author:
        name = config_of(config).business_name
        return Author(id=name, name=name or None)

    # ---- answering
    def reply_rules(self, platform: str, kind: MentionKind | str | None) -> ReplyRules:
        return ReplyRules(limit=REPLY_LIMIT)

    def can_answer(self, kind: MentionKind | str) -> bool:
        return kind == MentionKind.REVIEW

    def reply_target(self, mention: Mention) -> ReplyTarget:
        return ReplyTarget(
            platform=mention.platform,
            kind=mention.kind,
            external_id=mention.external_id,
            refs={"review": _review_name(mention)},
        )

    def reply_kind(self, mention: Mention) -> MentionKind:
        return MentionKind.REVIEW

    def post_reply(self, target: ReplyTarget, text: str, context: PostContext) -> PostResult:
        from socialcare.platforms.google_reviews import replies

        return replies.post(target, text, context, config_of(context.config))

    def find_reply(self, target: ReplyTarget, text: str, since: datetime, context: PostContext) -> str | None:
        from socialcare.platforms.google_reviews import replies

        return replies.find(target, text, since, context, config_of(context.config))

    def can_delete(self, kind: MentionKind | str) -> bool:
        return True  # DELETE .../reviews/{id}/reply

    def delete_reply(
        self, platform: str, platform_reply_id: str, mention: Mention | None, context: PostContext
    ) -> None:
        from socialcare.platforms.google_reviews import replies

        name = _review_name(mention) if mention is not None else ""
        replies.delete(name, context, config_of(context.config))

    def check_credentials(
        self, config: PlatformConfig, session: "requests.Session", now: datetime
    ) -> "dict[str, list[CredentialProblem]]":
        google = config_of(config)
        if not (google.audience or google.can_read):
            return {}  # not in use
        from socialcare.platforms.google_reviews import oauth

        return {self.webhook: oauth.check(config, google, session)}

    def local(self) -> "LocalPlatform":
        from socialcare.platforms.google_reviews.local import LocalGoogleReviews

        return LocalGoogleReviews()
