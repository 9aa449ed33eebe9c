"""Bluesky for local runs: the simulator plays the brand's PDS (login, refresh, notifications, posting,
listing and deleting its records), and `socialcare simulate bluesky-mention` adds a notification to it.
Notifications are built from the posts given to POST /bluesky/notifications; a login with the password
"wrong" fails."""

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from socialcare.platform_config import PlatformConfig
from socialcare.platforms.bluesky.config import SECTION, BlueskyConfig
from socialcare.platforms.local import (
    Answer,
    Call,
    Option,
    SignedRequest,
    SimulatedEvent,
    SimulationError,
    Simulator,
    ok_calls,
    section_urls,
    stable_id,
)

BRAND_DID = "did:plc:brand000000000000000000"
XRPC = re.compile(r"^/xrpc/(?P<method>[A-Za-z0-9.]+)$")
NOTIFY = "/bluesky/notifications"


def did_of(handle: str) -> str:
    return f"did:plc:{stable_id(f'bluesky:{handle}', 24)}"


def notification(
    handle: str,
    text: str,
    rkey: str,
    *,
    reason: str = "mention",
    indexed_at: str | None = None,
    reply_to: Mapping[str, str] | None = None,
    display_name: str | None = None,
) -> dict[str, Any]:
    """One listNotifications item, as the PDS answers it; `reply_to` gives the parent's and root's refs."""
    did = did_of(handle)
    now = indexed_at or datetime.now(UTC).isoformat().replace("+00:00", "Z")
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": now}
    if reply_to:
        record["reply"] = {
            "root": {"uri": reply_to["root_uri"], "cid": reply_to["root_cid"]},
            "parent": {"uri": reply_to["uri"], "cid": reply_to["cid"]},
        }
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": f"bafy{rkey}",
        "author": {"did": did, "handle": handle, "displayName": display_name or handle.split(".")[0].title()},
        "reason": reason,
        "record": record,
        "isRead": False,
        "indexedAt": now,
    }


def build_mention(options: Mapping[str, Any], config: PlatformConfig) -> SignedRequest:
    if not config.section(SECTION, BlueskyConfig).configured:
        raise SimulationError("bluesky.handle and bluesky.app_password are empty in the configuration")
    handle = str(options["sender"]).lstrip("@")
    rkey = str(options.get("id") or f"3l{stable_id(f'{handle}:{options["text"]}:{datetime.now(UTC)}', 11)}")
    item = notification(handle, options["text"], rkey, reason=options.get("reason") or "mention")
    body = json.dumps(item, ensure_ascii=False).encode()
    return SignedRequest(NOTIFY, body, {"content-type": "application/json"}, to_simulator=True)


class LocalBluesky:
    events = (
        SimulatedEvent(
            name="bluesky-mention",
            help="a Bluesky post mentioning the brand (the poller reads it on its next run)",
            sender_help="the author's handle (alice.bsky.social)",
            build=build_mention,
            options=(
                Option(("--reason",), {"choices": ["mention", "reply", "quote"], "default": "mention"}),
            ),
        ),
    )

    def simulated_urls(self, document: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        return section_urls(document, SECTION, "service")

    def answer(self, call: Call, simulator: Simulator) -> Answer | None:
        if call.path == NOTIFY:
            ok = call.method == "POST" and isinstance(call.body, dict) and "uri" in call.body
            return (201, {"uri": call.body["uri"]}, {}) if ok else (400, {"error": "POST a notification"}, {})
        found = XRPC.match(call.path)
        if not found:
            return None
        method = found["method"]
        if method == "com.atproto.server.createSession":
            if not isinstance(call.body, dict) or call.body.get("password") == "wrong":
                return (
                    401,
                    {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                    {},
                )
            return 200, _session(simulator), {}
        if method == "com.atproto.server.refreshSession":
            return 200, _session(simulator), {}
        if not call.headers.get("authorization", "").startswith("Bearer access-"):
            return 401, {"error": "AuthenticationRequired"}, {}
        if method == "app.bsky.notification.listNotifications":
            posted = [c.body for c in ok_calls(simulator, "POST", lambda path: path == NOTIFY)]
            return 200, {"notifications": list(reversed(posted))}, {}  # newest first, one page
        if method == "com.atproto.repo.createRecord" and isinstance(call.body, dict):
            rkey = f"3r{simulator.next_id()}"
            return 200, {"uri": f"at://{BRAND_DID}/app.bsky.feed.post/{rkey}", "cid": f"bafy{rkey}"}, {}
        if method == "com.atproto.repo.deleteRecord" and isinstance(call.body, dict):
            uri = f"at://{call.body.get('repo')}/{call.body.get('collection')}/{call.body.get('rkey')}"
            if not any(record["uri"] == uri for record in _records(simulator)):
                return 400, {"error": "InvalidRequest", "message": "Could not locate record"}, {}
            return 200, {}, {}
        if method == "com.atproto.repo.listRecords":
            return 200, {"records": _records(simulator)}, {}
        return 404, {"error": "MethodNotImplemented"}, {}


def _session(simulator: Simulator) -> dict[str, str]:
    serial = simulator.next_id()
    return {
        "did": BRAND_DID,
        "handle": "brand.bsky.social",
        "accessJwt": f"access-{serial}",
        "refreshJwt": f"refresh-{serial}",
    }


def _records(simulator: Simulator) -> list[dict[str, Any]]:
    created = ok_calls(simulator, "POST", lambda path: path == "/xrpc/com.atproto.repo.createRecord")
    return [
        {"uri": call.answer["uri"], "cid": call.answer["cid"], "value": call.body["record"]}
        for call in reversed(created)
        if isinstance(call.answer, dict) and isinstance(call.body, dict)
    ]
