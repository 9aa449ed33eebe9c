"""Threads for local runs: `socialcare simulate threads-reply` (a signed webhook delivery) and the simulated
Threads API (create a container, publish it, list a post's replies from what was really published). The
simulated API lives under `/threads-api/v1.0`, apart from the Graph API's paths."""

import re
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
    section_urls,
)
from socialcare.platforms.threads import payloads
from socialcare.platforms.threads.config import SECTION, ThreadsConfig

PREFIX = "/threads-api/v1.0"
EDGE = re.compile(rf"^{re.escape(PREFIX)}/(?P<node>[^/]+)/(?P<edge>threads|threads_publish|replies)/?$")
ME = re.compile(rf"^{re.escape(PREFIX)}/me/?$")
POST = re.compile(rf"^{re.escape(PREFIX)}/(?P<id>\d+)/?$")
NO_TOKEN = {"message": "Invalid OAuth access token", "type": "OAuthException", "code": 190}
DEV_USER_ID = "9000000001"  # threads.user_id in infra/dev-config.json


def build_reply(options: Mapping[str, Any], config: PlatformConfig) -> SignedRequest:
    threads = config.section(SECTION, ThreadsConfig)
    if not threads.app_secret:
        raise SimulationError("threads.app_secret is empty in the configuration: deliveries cannot be signed")
    payload = payloads.reply(
        post_id=options.get("id") or numeric_id(17),
        text=options["text"],
        username=str(options["sender"]).lstrip("@"),
        field="mentions" if options.get("mention") else "replies",
        replied_to=options.get("reply_to") or numeric_id(17),
        root_owner=threads.username or "brand",
        target_id=threads.user_id or "9000000001",
    )
    body, headers = payloads.signed(payload, threads.app_secret)
    return SignedRequest("/webhooks/threads", body, headers)


class LocalThreads:
    events = (
        SimulatedEvent(
            name="threads-reply",
            help="a Threads reply to the brand's post (--mention: a post mentioning the brand)",
            sender_help="the author's Threads username",
            build=build_reply,
            options=(Option(("--mention",), {"action": "store_true"}),),
        ),
    )

    def simulated_urls(self, document: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        return section_urls(document, SECTION, "api_base")

    def answer(self, call: Call, simulator: Simulator) -> Answer | None:
        if ME.match(call.path) and call.method == "GET":
            return _me(call)
        post = POST.match(call.path)
        if post is not None and call.method == "DELETE":
            return _delete(call, simulator, post["id"])
        found = EDGE.match(call.path)
        if not found:
            return None
        if not call.headers.get("authorization", "").startswith("Bearer "):
            return 400, {"error": NO_TOKEN}, {}
        edge = found["edge"]
        if edge == "replies" and call.method == "GET":
            return 200, {"data": _published(simulator, found["node"])}, {}
        if call.method != "POST":
            return 405, {"error": {"message": f"{call.method} is not simulated", "code": 100}}, {}
        if edge == "threads":
            text = field_of(call.body, "text")
            if field_of(call.body, "media_type") != "TEXT" or not isinstance(text, str) or len(text) > 500:
                return 400, {"error": {"message": "Invalid parameter", "code": 100}}, {}
            return 200, {"id": f"c{simulator.next_id()}"}, {}
        creation_id = field_of(call.body, "creation_id")
        if creation_id not in _containers(simulator):
            return 400, {"error": {"message": "Invalid creation_id", "code": 100}}, {}
        return 200, {"id": numeric_id(17)}, {}


def _me(call: Call) -> Answer:
    """Who the token belongs to (the credentials check); the token "expired" is refused as Threads does."""
    authorization = call.headers.get("authorization", "")
    if not authorization.startswith("Bearer ") or authorization == "Bearer expired":
        return 400, {"error": {**NO_TOKEN, "message": "Error validating access token"}}, {}
    return 200, {"id": DEV_USER_ID, "username": "brand"}, {}


def _delete(call: Call, simulator: Simulator, post_id: str) -> Answer:
    """`DELETE /{threads-media-id}` of a post the brand published."""
    if not call.headers.get("authorization", "").startswith("Bearer "):
        return 400, {"error": NO_TOKEN}, {}
    published = ok_calls(simulator, "POST", lambda path: path.endswith("/threads_publish"))
    if not any(field_of(c.answer, "id") == post_id for c in published):
        return 400, {"error": {"message": "Object does not exist or cannot be deleted", "code": 100}}, {}
    return 200, {"success": True, "deleted_id": post_id}, {}


def _containers(simulator: Simulator) -> dict[str, Any]:
    """Each created container's id, with the create call's body."""
    created = ok_calls(simulator, "POST", lambda path: path.endswith("/threads"))
    return {
        call.answer["id"]: call.body
        for call in created
        if isinstance(call.answer, dict) and "id" in call.answer
    }


def _published(simulator: Simulator, post_id: str) -> list[dict[str, Any]]:
    containers = _containers(simulator)
    items = []
    for call in ok_calls(simulator, "POST", lambda path: path.endswith("/threads_publish")):
        body = containers.get(field_of(call.body, "creation_id"))
        if field_of(body, "reply_to_id") == post_id and isinstance(call.answer, dict):
            items.append({"id": call.answer["id"], "text": field_of(body, "text"), "username": "brand"})
    return items
