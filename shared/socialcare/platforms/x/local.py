"""X for local runs: the `socialcare simulate x-mention` event, and the simulated X API (posts, DMs, and the
look-ups of the brand's recent posts and of a DM conversation, answered from what was really posted)."""

import re
import time
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
    field_of,
    numeric_id,
    ok_calls,
    section_urls,
    stable_id,
)
from socialcare.platforms.x import payloads
from socialcare.platforms.x.config import SECTION, XConfig

TWEETS = re.compile(r"^/2/tweets/?$")
DIRECT_MESSAGE = re.compile(r"^/2/dm_conversations/with/(?P<participant>[^/]+)/messages/?$")
USER_TWEETS = re.compile(r"^/2/users/(?P<user>[^/]+)/tweets/?$")
DM_EVENTS = re.compile(r"^/2/dm_conversations/with/(?P<participant>[^/]+)/dm_events/?$")
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


def build_mention(options: Mapping[str, Any], config: PlatformConfig) -> SignedRequest:
    x = config.section(SECTION, XConfig)
    if not x.consumer_secret:
        raise SimulationError(
            "x.consumer_secret is empty in the configuration: X deliveries cannot be signed"
        )
    handle = str(options["sender"]).lstrip("@")
    user_id = stable_id(f"x:{handle}")
    name = options.get("name") or handle.title()
    brand = x.brand_user_id or "1000000001"
    now = datetime.now(UTC)
    event_id = options.get("id") or numeric_id()
    if options.get("dm"):
        message = payloads.direct_message(
            event_id, user_id, brand, options["text"], int(now.timestamp() * 1000)
        )
        payload = payloads.delivery(
            brand, direct_messages=[message], users=[payloads.dm_user(user_id, handle, name)]
        )
    else:
        post = payloads.tweet(
            event_id,
            options["text"],
            user_id,
            handle,
            name=name,
            followers_count=options.get("followers") or 10,
            created_at=now.strftime("%a %b %d %H:%M:%S +0000 %Y"),
            in_reply_to_status_id_str=options.get("reply_to"),
        )
        payload = payloads.delivery(brand, tweets=[post])
    body, headers = payloads.signed(payload, x.consumer_secret, x.oauth2_client_secret)
    return SignedRequest("/webhooks/x", body, headers)


class LocalX:
    events = (
        SimulatedEvent(
            name="x-mention",
            help="a post (or --dm) to the brand on X",
            sender_help="the author's @handle",
            build=build_mention,
            options=(
                Option(("--name",), {"help": "the author's display name"}),
                Option(("--followers",), {"type": int, "default": 10}),
                Option(("--dm",), {"action": "store_true", "help": "a direct message instead of a post"}),
            ),
        ),
    )

    def simulated_urls(self, document: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        return section_urls(document, SECTION, "api_base")

    def answer(self, call: Call, simulator: Simulator) -> Answer | None:
        routes = (TWEETS, DIRECT_MESSAGE, USER_TWEETS, DM_EVENTS)
        if not any(route.match(call.path) for route in routes):
            return None
        if not call.headers.get("authorization", "").startswith("Bearer "):
            return 401, UNAUTHORIZED, {}
        limits = {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "99",
            "x-rate-limit-reset": str(int(time.time()) + 900),
        }
        if call.method == "POST" and (direct := DIRECT_MESSAGE.match(call.path)):
            conversation = f"{direct['participant']}-1000000001"
            return (
                201,
                {"data": {"dm_conversation_id": conversation, "dm_event_id": simulator.next_id()}},
                limits,
            )
        if call.method == "POST" and TWEETS.match(call.path):
            return (
                201,
                {"data": {"id": simulator.next_id(), "text": field_of(call.body, "text") or ""}},
                limits,
            )
        if call.method == "GET" and (user := USER_TWEETS.match(call.path)):
            return 200, _recent_posts(simulator, user["user"]), limits
        if call.method == "GET" and (events := DM_EVENTS.match(call.path)):
            return 200, _dm_events(simulator, events["participant"]), limits
        return 405, {"title": f"{call.method} is not simulated"}, {}


def _recent_posts(simulator: Simulator, user_id: str) -> dict[str, Any]:
    """The posts that really landed, newest first, in the v2 shape with referenced_tweets."""
    posts = []
    for call in reversed(ok_calls(simulator, "POST", lambda path: bool(TWEETS.match(path)))):
        data = field_of(call.answer, "data")
        replied_to = field_of(field_of(call.body, "reply"), "in_reply_to_tweet_id")
        post: dict[str, Any] = {"id": field_of(data, "id"), "text": field_of(call.body, "text") or ""}
        if replied_to:
            post["referenced_tweets"] = [{"type": "replied_to", "id": replied_to}]
        posts.append(post)
    return {"data": posts, "meta": {"result_count": len(posts)}} if posts else {"meta": {"result_count": 0}}


def _dm_events(simulator: Simulator, participant: str) -> dict[str, Any]:
    path = f"/2/dm_conversations/with/{participant}/messages"
    sent = ok_calls(simulator, "POST", lambda candidate: candidate.rstrip("/") == path)
    events = [
        {
            "id": field_of(field_of(call.answer, "data"), "dm_event_id"),
            "event_type": "MessageCreate",
            "text": field_of(call.body, "text") or "",
            "sender_id": "1000000001",
        }
        for call in reversed(sent)
    ]
    return {"data": events, "meta": {"result_count": len(events)}}
