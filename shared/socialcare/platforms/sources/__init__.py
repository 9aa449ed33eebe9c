"""Standard Webhooks sources (blogs, review sites, forums, bridges): each configured source is a platform
of its own, named in the configuration, received on /webhooks/sources/<name> and answered at its reply URL."""

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from socialcare.errors import MalformedPayload, UnknownSource
from socialcare.models import Author, Delivery, Mention, MentionKind
from socialcare.platform_config import PlatformConfig
from socialcare.platforms.base import (
    AdapterDefaults,
    Handshake,
    PostContext,
    PostResult,
    ReplyRules,
    ReplyTarget,
    WebhookRequest,
    WebhookRoute,
)
from socialcare.platforms.sources.config import SECTION, SourceConfig, SourcesConfig
from socialcare.platforms.sources.webhook import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    parse_delivery,
    sign_headers,
    verify,
)

if TYPE_CHECKING:
    import requests

    from socialcare.platforms.base import CredentialProblem
    from socialcare.platforms.local import LocalPlatform

__all__ = [
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SourceConfig",
    "SourcesConfig",
    "SourcesPlatform",
    "parse_delivery",
    "sign_headers",
    "verify",
]


def sources_of(config: PlatformConfig) -> SourcesConfig:
    return config.section(SECTION, SourcesConfig)


class SourcesPlatform(AdapterDefaults):
    webhook = "sources"

    def platforms(self, config: PlatformConfig) -> Collection[str]:
        return tuple(sources_of(config).root)

    def label(self, platform: str, config: PlatformConfig | None = None) -> str:
        source = sources_of(config).get(platform) if config is not None else None
        return (source.display_name if source else "") or platform

    def secrets(self, config: PlatformConfig) -> list[str]:
        return [source.secret for source in sources_of(config).root.values()]

    # ---- receiving
    def routes(self) -> list[WebhookRoute]:
        return [WebhookRoute("/webhooks/sources/<source>")]

    def handshake(self, request: WebhookRequest, config: PlatformConfig) -> Handshake:
        raise MalformedPayload("sources are not checked with a GET")

    def _source(self, request: WebhookRequest, config: PlatformConfig) -> SourceConfig:
        source = sources_of(config).get(request.path.get("source", ""))
        if source is None:
            raise UnknownSource("no source of that name is configured")
        return source

    def verify(self, request: WebhookRequest, config: PlatformConfig) -> None:
        verify(request.body, request.headers, self._source(request, config).secret)

    def parse(self, payload: Any, request: WebhookRequest, config: PlatformConfig) -> Delivery:
        # verify() refuses a delivery without webhook-id, so the id is there by now.
        return parse_delivery(request.path["source"], payload, request.headers.get(ID_HEADER, ""))

    def delivery_id(self, request: WebhookRequest) -> str | None:
        # webhook-id is the idempotency key: ingest claims it with a conditional put, so a resend with the
        # same id stores nothing new even when its body differs (see socialcare.ingest.mentions.ingest).
        return f"{request.path.get('source', '')}:{request.headers.get(ID_HEADER, '')}"

    def brand(self, platform: str, config: PlatformConfig) -> Author:
        # A source knows us by the name it gave us; its echoes carry no id of ours.
        return Author(id=platform)

    # ---- answering
    def reply_rules(self, platform: str, kind: MentionKind | str | None) -> ReplyRules:
        return ReplyRules(limit=None)  # a source sets its own rules

    def can_answer(self, kind: MentionKind | str) -> bool:
        return True

    def passes_survey_links(self) -> bool:
        return True

    def reply_kind(self, mention: Mention) -> MentionKind:
        return mention.kind if mention.kind is MentionKind.DIRECT_MESSAGE else MentionKind.COMMENT

    def can_delete(self, kind: MentionKind | str) -> bool:
        return kind != MentionKind.DIRECT_MESSAGE

    def delete_reply(
        self, platform: str, platform_reply_id: str, mention: Mention | None, context: PostContext
    ) -> None:
        from socialcare.platforms.sources import replies

        replies.delete(platform_reply_id, platform, context, sources_of(context.config).get(platform))

    def post_reply(self, target: ReplyTarget, text: str, context: PostContext) -> PostResult:
        from socialcare.platforms.sources import replies

        return replies.post(target, text, context, sources_of(context.config).get(target.platform))

    def find_reply(self, target: ReplyTarget, text: str, since: datetime, context: PostContext) -> str | None:
        # Nothing to ask: every attempt carries the same webhook-id, and the source drops repeats.
        return None

    def configuration_gaps(self, document: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        """`socialcare doctor`'s row per source: each needs its signing secret and its reply URL."""
        findings = []
        for name, source in sorted((document.get(SECTION) or {}).items()):
            keys = ("secret", "reply_url")
            empty = [f"{SECTION}.{name}.{key}" for key in keys if not (source or {}).get(key)]
            detail = "missing or empty: " + ", ".join(empty) if empty else "complete"
            findings.append((f"config source {name}", "fail" if empty else "ok", detail))
        return findings

    def check_credentials(
        self, config: PlatformConfig, session: "requests.Session", now: datetime
    ) -> "dict[str, list[CredentialProblem]]":
        from socialcare.platforms.sources import credentials

        return {
            name: credentials.check_source(name, source, session)
            for name, source in sorted(sources_of(config).root.items())
        }

    def local(self) -> "LocalPlatform":
        from socialcare.platforms.sources.local import LocalSources

        return LocalSources()
