"""Meta for local runs: the `socialcare simulate facebook-comment`, `instagram-comment`, `instagram-mention`
and `facebook-mention` events, and the simulated Graph API (comments, replies, mention answers, messages,
an Instagram media's permalink, the look-ups of a comment's comments or replies and of a conversation's
messages, answered from what was really posted, and the reads of what a mention delivery names by id only,
answered from what the simulate command gave the simulator at POST /meta/objects)."""

import json
import re
import time
from collections.abc import Mapping
from dataclasses import replace
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
    section_urls,
    stable_id,
)
from socialcare.platforms.meta import payloads
from socialcare.platforms.meta.config import SECTION, MetaConfig
from socialcare.platforms.meta.webhook import FACEBOOK, INSTAGRAM

EDGE = re.compile(r"^/v\d+(?:\.\d+)?/(?P<node>[^/]+)/(?P<edge>comments|replies|mentions|messages)/?$")
CONVERSATIONS = re.compile(r"^/v\d+(?:\.\d+)?/(?P<node>[^/]+)/conversations/?$")
NODE = re.compile(r"^/v\d+(?:\.\d+)?/(?P<node>[^/]+)/?$")
MENTIONED = re.compile(
    r"^(?P<field>mentioned_media|mentioned_comment)\.(?:media_id|comment_id)\((?P<id>[^)]+)\)"
)
OBJECTS = "/meta/objects"  # where `simulate` gives the simulator what Meta sends by id only
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


def _given(item: dict[str, Any]) -> SignedRequest:
    """What the simulator is to answer the Graph API's look-up of an object sent as an id only."""
    body = json.dumps(item, ensure_ascii=False).encode()
    return SignedRequest(OBJECTS, body, {"content-type": "application/json"}, to_simulator=True)


def _iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(seconds))


def build_instagram_mention(options: Mapping[str, Any], config: PlatformConfig) -> SignedRequest:
    """Someone's post (its caption) or comment (--comment) mentions the brand's Instagram account: the
    delivery has ids only, and the simulator is given the words our look-up reads."""
    username = str(options["sender"]).lstrip("@")
    media_id = str(options.get("media") or numeric_id(17))
    now = int(time.time())
    if options.get("comment"):
        comment_id = str(options.get("id") or numeric_id(17))
        item = {"id": comment_id, "text": options["text"], "username": username, "timestamp": _iso(now)}
        value = {"media_id": media_id, "comment_id": comment_id}
    else:
        media_id = str(options.get("id") or media_id)
        permalink = f"https://www.instagram.com/p/{stable_id(media_id, 11)}/"
        item = {
            "id": media_id,
            "caption": options["text"],
            "username": username,
            "timestamp": _iso(now),
            "permalink": permalink,
        }
        value = {"media_id": media_id}
    entry_id = config.section(SECTION, MetaConfig).ig_user_id or "3000000001"
    delivery = _signed(config, payloads.instagram_delivery("mentions", value, entry_id=entry_id, time=now))
    return replace(delivery, given=(_given(item),))


def build_facebook_mention(options: Mapping[str, Any], config: PlatformConfig) -> SignedRequest:
    """Someone tags the Page in a post of theirs (or, with --post, in a comment under that post): Meta's
    `mention` change has ids only, and the simulator is given the post or comment our look-up reads."""
    page_id = config.section(SECTION, MetaConfig).page_id or "2000000001"
    author_id = stable_id(f"{FACEBOOK}:{options['sender']}", 16)
    now = int(time.time())
    post_id = str(options.get("post") or "")
    if post_id:
        object_id = str(options.get("id") or f"{post_id.split('_')[-1]}_{numeric_id(15)}")
        value = payloads.page_mention("comment", post_id=post_id, comment_id=object_id)
    else:
        object_id = str(options.get("id") or f"{author_id}_{numeric_id(15)}")
        value = payloads.page_mention("post", post_id=object_id, comment_id=None)
    item = {
        "id": object_id,
        "message": options["text"],
        "from": {"id": author_id, "name": options["sender"]},
        "created_time": _iso(now),
        "permalink_url": f"https://www.facebook.com/{object_id}",
    }
    delivery = _signed(config, payloads.page_mention_delivery(value, entry_id=page_id, time=now))
    return replace(delivery, given=(_given(item),))


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
        SimulatedEvent(
            name="instagram-mention",
            help="someone's post mentions the brand in its caption (--comment: in a comment); ids only",
            sender_help="the username",
            build=build_instagram_mention,
            options=(
                Option(("--comment",), {"action": "store_true", "help": "in a comment, not a caption"}),
                Option(("--media",), {"help": "the media commented on (default: a fresh one)"}),
            ),
        ),
        SimulatedEvent(
            name="facebook-mention",
            help="someone tags the Page in their post (--post: in a comment under that post); ids only",
            sender_help="the author's name",
            build=build_facebook_mention,
            options=(Option(("--post",), {"help": "tag the Page in a comment under this post"}),),
        ),
    )

    def simulated_urls(self, document: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        return section_urls(document, SECTION, "graph_base")

    def answer(self, call: Call, simulator: Simulator) -> Answer | None:
        if call.path == OBJECTS:
            ok = call.method == "POST" and isinstance(field_of(call.body, "id"), str)
            return (201, call.body, {}) if ok else (400, {"error": "POST an object with its id"}, {})
        media = NODE.match(call.path)
        if call.method == "GET" and media is not None and query_value(call, "fields") == "permalink":
            # An Instagram media's link, which ingest asks for a comment's media (a made-up shortcode).
            if not query_value(call, "access_token"):
                return 400, {"error": NO_TOKEN}, {}
            node = media["node"]
            return 200, {"id": node, "permalink": f"https://www.instagram.com/p/{node}/"}, {}
        if call.method == "GET" and media is not None:
            return _look_up(simulator, media["node"], query_value(call, "fields"), call)
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


def _look_up(simulator: Simulator, node: str, fields: str, call: Call) -> Answer:
    """`GET /{node}?fields=...` for what a mention delivery names by id only, answered from the objects the
    simulate command gave: a Page mention's post or comment (`/{object-id}`), and on the Instagram account
    (`/{ig-user-id}`) the `mentioned_media.media_id(<id>)` or `mentioned_comment.comment_id(<id>)` field."""
    if not (query_value(call, "access_token") or call.headers.get("authorization")):
        return 400, {"error": NO_TOKEN}, {}
    given = {
        field_of(c.body, "id"): c.body for c in ok_calls(simulator, "POST", lambda path: path == OBJECTS)
    }
    nested = MENTIONED.match(fields)
    if nested is not None:
        found = given.get(nested["id"])
        if found is None:
            return 400, {"error": {"message": "Invalid media or comment id", "code": 100}}, {}
        return 200, {nested["field"]: found, "id": node}, {}
    found = given.get(node)
    if found is None:
        return 400, {"error": {"message": f"Unsupported get request: {node}", "code": 100}}, {}
    return 200, found, {}


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
