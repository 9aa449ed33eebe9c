"""Meta for local runs: the `socialcare simulate facebook-comment` and `instagram-comment` events, and the
simulated Graph API (comments, replies, mention answers, messages, an Instagram media's permalink, and the
look-ups of a comment's comments or replies and of a conversation's messages, answered from what was really
posted)."""

import re
import time
from collections.abc import Mapping
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
    field_of,
    numeric_id,
    ok_calls,
    query_value,
    stable_id,
)
from socialcare.platforms.meta import payloads
from socialcare.platforms.meta.config import SECTION, MetaConfig
from socialcare.platforms.meta.webhook import FACEBOOK, INSTAGRAM

EDGE = re.compile(r"^/v\d+(?:\.\d+)?/(?P<node>[^/]+)/(?P<edge>comments|replies|mentions|messages)/?$")
CONVERSATIONS = re.compile(r"^/v\d+(?:\.\d+)?/(?P<node>[^/]+)/conversations/?$")
NODE = re.compile(r"^/v\d+(?:\.\d+)?/(?P<node>[^/]+)/?$")
NO_TOKEN = {
    "message": "An access token is required to request this resource.",
    "type": "OAuthException",
    "code": 104,
    "fbtrace_id": "simulated",
}


def _signed(config: PlatformConfig, payload: dict[str, Any]) -> SignedRequest:
    meta = config.section(SECTION, MetaConfig)
    if not meta.app_secret:
        raise SimulationError(
            "meta.app_secret is empty in the configuration: Meta deliveries cannot be signed"
        )
    body, headers = payloads.signed(payload, meta.app_secret)
    return SignedRequest("/webhooks/meta", body, headers)


def build_facebook_comment(options: Mapping[str, Any], config: PlatformConfig) -> SignedRequest:
    page_id = config.section(SECTION, MetaConfig).page_id or "2000000001"
    post_id = options.get("post") or f"{page_id}_{numeric_id(15)}"
    now = int(time.time())
    comment = payloads.page_comment(
        comment_id=options.get("id") or f"{post_id.split('_')[-1]}_{numeric_id(15)}",
        message=options["text"],
        post_id=post_id,
        parent_id=options.get("reply_to"),
        author_id=stable_id(f"{FACEBOOK}:{options['sender']}", 16),
        author_name=options["sender"],
        created_time=now,
    )
    return _signed(config, payloads.page_delivery(comment, entry_id=page_id, time=now))


def build_instagram_comment(options: Mapping[str, Any], config: PlatformConfig) -> SignedRequest:
    username = str(options["sender"]).lstrip("@")
    extra = {"parent_id": options["reply_to"]} if options.get("reply_to") else {}
    comment = payloads.instagram_comment(
        options.get("id") or numeric_id(17),
        options["text"],
        author_id=stable_id(f"{INSTAGRAM}:{username}", 17),
        username=username,
        media_id=options.get("media") or numeric_id(17),
        **extra,
    )
    entry_id = config.section(SECTION, MetaConfig).ig_user_id or "3000000001"
    return _signed(
        config, payloads.instagram_delivery("comments", comment, entry_id=entry_id, time=int(time.time()))
    )


class LocalMeta:
    events = (
        SimulatedEvent(
            name="facebook-comment",
            help="a comment under a Page post",
            sender_help="the author's name",
            build=build_facebook_comment,
            options=(Option(("--post",), {"help": "the Page post's id (default: a fresh post)"}),),
        ),
        SimulatedEvent(
            name="instagram-comment",
            help="a comment on the brand's Instagram media",
            sender_help="the username",
            build=build_instagram_comment,
            options=(Option(("--media",), {"help": "the media id (default: a fresh one)"}),),
        ),
    )

    def simulated_urls(self, document: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        section = document.get(SECTION)
        return [(section, "graph_base")] if isinstance(section, dict) and "graph_base" in section else []

    def answer(self, call: Call, simulator: Simulator) -> Answer | None:
        media = NODE.match(call.path)
        if call.method == "GET" and media is not None and query_value(call, "fields") == "permalink":
            # An Instagram media's link, which ingest asks for a comment's media (a made-up shortcode).
            if not query_value(call, "access_token"):
                return 400, {"error": NO_TOKEN}, {}
            node = media["node"]
            return 200, {"id": node, "permalink": f"https://www.instagram.com/p/{node}/"}, {}
        edge, conversations = EDGE.match(call.path), CONVERSATIONS.match(call.path)
        if edge is None and conversations is None:
            return None
        token = field_of(call.body, "access_token") or query_value(call, "access_token")
        if not (token or call.headers.get("authorization")):
            return 400, {"error": NO_TOKEN}, {}
        if call.method == "GET" and conversations is not None:
            return 200, _conversations(simulator, conversations["node"], query_value(call, "user_id")), {}
        if edge is None:
            return 405, {"error": {"message": f"{call.method} is not simulated", "code": 100}}, {}
        node, name = edge["node"], edge["edge"]
        if call.method == "GET":
            return 200, _comments(simulator, call.path), {}
        if name == "messages":
            recipient = field_of(field_of(call.body, "recipient"), "id") or ""
            return 200, {"recipient_id": recipient, "message_id": f"m_{simulator.next_id()}"}, {}
        if name == "comments":
            return 200, {"id": f"{node}_{simulator.next_id()}"}, {}
        return 200, {"id": simulator.next_id()}, {}


def _comments(simulator: Simulator, path: str) -> dict[str, Any]:
    """The comments or replies really posted under this node, from the brand (the Page or the account)."""
    posted = ok_calls(simulator, "POST", lambda candidate: candidate.rstrip("/") == path.rstrip("/"))
    items = []
    for call in posted:
        text = field_of(call.body, "message") or ""
        items.append(
            {
                "id": field_of(call.answer, "id"),
                "message": text,
                "text": text,
                "from": {"id": _brand_of(call.path)},
            }
        )
    return {"data": items}


def _brand_of(path: str) -> str:
    # The simulator knows the brand by the development configuration's ids.
    return "3000000001" if path.rstrip("/").endswith("/replies") else "2000000001"


def _conversations(simulator: Simulator, page_id: str, user_id: str) -> dict[str, Any]:
    sent = [
        call
        for call in ok_calls(
            simulator, "POST", lambda path: path.rstrip("/").endswith(f"/{page_id}/messages")
        )
        if field_of(field_of(call.body, "recipient"), "id") == user_id
    ]
    messages = [
        {
            "id": field_of(call.answer, "message_id"),
            "message": field_of(field_of(call.body, "message"), "text") or "",
            "from": {"id": page_id},
        }
        for call in reversed(sent)
    ]
    return {"data": [{"id": f"t_{user_id}", "messages": {"data": messages}}] if messages else []}
