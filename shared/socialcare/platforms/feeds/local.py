"""Feeds for local runs: the simulator serves each feed as RSS 2.0 at /feeds/<name>.xml, with an ETag and
Last-Modified and 304 answers to conditional requests, built from the entries posted to
/feeds/<name>/entries (what `socialcare simulate feed-entry` sends). POST /feeds/<name>/status with
{"status": 500} makes that feed fail until a status of 200 is posted."""

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from socialcare.platform_config import PlatformConfig
from socialcare.platforms.feeds.config import SECTION, FeedsConfig
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
)

FEED = re.compile(r"^/feeds/(?P<name>[a-z0-9][a-z0-9_-]*)\.xml$")
ENTRIES = re.compile(r"^/feeds/(?P<name>[a-z0-9][a-z0-9_-]*)/entries$")
STATUS = re.compile(r"^/feeds/(?P<name>[a-z0-9][a-z0-9_-]*)/status$")


def build_entry(options: Mapping[str, Any], config: PlatformConfig) -> SignedRequest:
    feeds = config.section(SECTION, FeedsConfig)
    name = str(options.get("feed") or "")
    if feeds.get(name) is None:
        known = ", ".join(sorted(feeds.root)) or "none"
        raise SimulationError(f"no feed {name!r} in the configuration (configured: {known})")
    entry_id = options.get("id") or f"https://{name}.example/posts/{numeric_id(8)}"
    entry = {
        "id": entry_id,
        "title": options.get("title") or "",
        "text": options["text"],
        "author": str(options["sender"]),
        "link": options.get("link") or entry_id,
    }
    body = json.dumps(entry, ensure_ascii=False).encode()
    return SignedRequest(
        f"/feeds/{name}/entries", body, {"content-type": "application/json"}, to_simulator=True
    )


def render_rss(name: str, entries: list[tuple[dict[str, Any], float]]) -> str:
    items = "".join(
        "<item>"
        f'<guid isPermaLink="false">{escape(str(entry.get("id", "")))}</guid>'
        f"<title>{escape(str(entry.get('title', '')))}</title>"
        f"<link>{escape(str(entry.get('link', '')))}</link>"
        f"<author>{escape(str(entry.get('author', '')))}</author>"
        f"<description>{escape(str(entry.get('text', '')))}</description>"  # HTML, as blogs send it
        f"<pubDate>{format_datetime(datetime.fromtimestamp(at, UTC), usegmt=True)}</pubDate>"
        "</item>"
        for entry, at in reversed(entries)  # newest first, as feeds list them
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(name)}</title><link>https://{escape(name)}.example/</link>"
        f"<description>Simulated feed {escape(name)}</description>{items}</channel></rss>"
    )


class LocalFeeds:
    events = (
        SimulatedEvent(
            name="feed-entry",
            help="a new entry in a simulated feed (the feed poller reads it on its next run)",
            sender_help="the entry's author",
            build=build_entry,
            options=(
                Option(("--feed",), {"required": True, "help": "the feed's name in the configuration"}),
                Option(("--title",), {"help": "the entry's title"}),
                Option(("--link",), {"help": "the entry's URL"}),
            ),
        ),
    )

    def simulated_urls(self, document: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
        feeds = document.get(SECTION)
        if not isinstance(feeds, dict):
            return []
        return [(feed, "url") for feed in feeds.values() if isinstance(feed, dict) and "url" in feed]

    def answer(self, call: Call, simulator: Simulator) -> Answer | None:
        for pattern, answer in ((ENTRIES, self._add), (STATUS, self._status), (FEED, self._feed)):
            found = pattern.match(call.path)
            if found:
                return answer(found.group("name"), call, simulator)
        return None

    def _add(self, name: str, call: Call, simulator: Simulator) -> Answer:
        if call.method != "POST" or not isinstance(call.body, dict) or not field_of(call.body, "text"):
            return 400, {"error": "POST a JSON entry with at least text"}, {}
        return 201, {"id": call.body.get("id") or simulator.next_id()}, {}

    def _status(self, name: str, call: Call, simulator: Simulator) -> Answer:
        if call.method != "POST" or not isinstance(field_of(call.body, "status"), int):
            return 400, {"error": 'POST {"status": 500}'}, {}
        return 200, {"status": call.body["status"]}, {}

    def _feed(self, name: str, call: Call, simulator: Simulator) -> Answer:
        if call.method != "GET":
            return 405, {"error": f"{call.method} is not simulated"}, {}
        statuses = ok_calls(simulator, "POST", lambda path: path == f"/feeds/{name}/status")
        status = int(statuses[-1].body["status"]) if statuses else 200
        if status != 200:
            return status, {"error": "the feed is failing (simulated)"}, {}
        posted = [
            (dict(c.body), c.timestamp)
            for c in ok_calls(simulator, "POST", lambda p: p == f"/feeds/{name}/entries")
        ]
        document = render_rss(name, posted)
        etag = '"' + hashlib.sha256(document.encode()).hexdigest()[:32] + '"'
        last = max((at for _, at in posted), default=0.0)
        headers = {
            "Content-Type": "application/rss+xml; charset=utf-8",
            "ETag": etag,
            "Last-Modified": format_datetime(datetime.fromtimestamp(last, UTC), usegmt=True),
        }
        if call.headers.get("if-none-match") == etag:
            return 304, None, headers
        return 200, document, headers
