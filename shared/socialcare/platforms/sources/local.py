"""Standard Webhooks sources for local runs: the `socialcare simulate source` event, and a source's reply
endpoint, which (as the README asks of source authors) drops a repeated `webhook-id`: it answers with the
reply it already has."""

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from socialcare.platform_config import PlatformConfig
from socialcare.platforms.local import (
    Answer,
    Call,
    Option,
    SignedRequest,
    SimulatedEvent,
    SimulationError,
    Simulator,
    numeric_id,
    ok_calls,
)
from socialcare.platforms.sources import payloads
from socialcare.platforms.sources.config import SECTION, SourcesConfig

REPLIES = re.compile(r"^/sources/(?P<name>[^/]+)/replies/?$")


def build_mention(options: Mapping[str, Any], config: PlatformConfig) -> SignedRequest:
    sources = config.section(SECTION, SourcesConfig)
    name = str(options.get("source") or "")
    source = sources.get(name)
    if source is None:
        known = ", ".join(sorted(sources.root)) or "none"
        raise SimulationError(f"no source {name!r} in the configuration (configured: {known})")
    item_id = options.get("id") or numeric_id(8)
    now = datetime.now(UTC)
    payload = payloads.mention_created(
        item_id,
        options["text"],
        handle=str(options["sender"]).lstrip("@"),
        name=options.get("name"),
        url=options.get("link") or f"https://{name}.example/{item_id}",
        created_at=now.isoformat(),
        in_reply_to=options.get("reply_to"),
    )
    body, headers = payloads.signed(payload, source.secret, timestamp=int(now.timestamp()))
    return SignedRequest(f"/webhooks/sources/{name}", body, headers)


class LocalSources:
    events = (
        SimulatedEvent(
            name="source",
            help="a mention from a Standard Webhooks source",
            sender_help="the author's handle",
            build=build_mention,
            options=(
                Option(("--source",), {"required": True, "help": "the source's name in the configuration"}),
                Option(("--name",), {"help": "the author's display name"}),
                Option(("--link",), {"help": "the mention's URL"}),
            ),
        ),
    )

    def simulated_urls(self, document: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        sources = document.get(SECTION)
        if not isinstance(sources, dict):
            return []
        return [
            (source, "reply_url")
            for source in sources.values()
            if isinstance(source, dict) and "reply_url" in source
        ]

    def answer(self, call: Call, simulator: Simulator) -> Answer | None:
        if not REPLIES.match(call.path):
            return None
        if call.method != "POST":
            return 405, {"error": f"{call.method} is not simulated"}, {}
        webhook_id = call.headers.get("webhook-id", "")
        for earlier in ok_calls(simulator, "POST", lambda path: path == call.path):
            if (
                webhook_id
                and earlier.headers.get("webhook-id") == webhook_id
                and isinstance(earlier.answer, dict)
            ):
                return 200, earlier.answer, {}  # a repeat: the receiver keeps the first
        return 200, {"id": f"reply_{simulator.next_id()}"}, {}
