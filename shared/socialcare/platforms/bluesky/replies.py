"""Answering on Bluesky: a post in the brand's repo (`com.atproto.repo.createRecord`) whose `reply` names
the thread's root and the post answered (`parent`), each by uri and cid. Posts take 300 graphemes."""

import unicodedata
from datetime import UTC, datetime
from urllib.parse import urlencode

from socialcare.platforms.base import PermanentFailure, PostContext, PostResult, ReplyTarget
from socialcare.platforms.bluesky.client import Xrpc
from socialcare.platforms.bluesky.config import SECTION, BlueskyConfig
from socialcare.platforms.http import required_id

POST_LIMIT = 300
COUNTING_RULE = "Bluesky counts what you see: an emoji or an accented letter is 1."
ZWJ = "\u200d"


def graphemes(text: str) -> int:
    """User-perceived characters, near enough for a counter: combining marks, variation selectors, skin
    tones and what a zero-width joiner glues on do not count again."""
    count, glue = 0, False
    for char in unicodedata.normalize("NFC", text):
        code = ord(char)
        attached = (
            unicodedata.category(char) in ("Mn", "Me", "Mc")
            or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF
            or 0xE0020 <= code <= 0xE007F  # tag characters of flag sequences
        )
        if char == ZWJ:
            glue = True
            continue
        if not attached and not glue:
            count += 1
        glue = False
    return count


def _refs(target: ReplyTarget) -> dict[str, dict[str, str]]:
    refs = target.refs
    if not all(refs.get(key) for key in ("uri", "cid", "root_uri", "root_cid")):
        raise PermanentFailure("the Bluesky post has no uri and cid to answer", "bad_target")
    return {
        "root": {"uri": refs["root_uri"], "cid": refs["root_cid"]},
        "parent": {"uri": refs["uri"], "cid": refs["cid"]},
    }


def post(target: ReplyTarget, text: str, context: PostContext) -> PostResult:
    xrpc = Xrpc(context.config.section(SECTION, BlueskyConfig), context)
    record = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": datetime.fromtimestamp(context.now(), UTC).isoformat().replace("+00:00", "Z"),
        "reply": _refs(target),
    }
    body = {"repo": xrpc.session().did, "collection": "app.bsky.feed.post", "record": record}
    answer = xrpc.call("POST", "com.atproto.repo.createRecord", json_body=body)
    return PostResult(required_id(answer, "uri", "Bluesky"))


def find(target: ReplyTarget, text: str, since: datetime, context: PostContext) -> str | None:
    """Our answer among the brand's latest posts: same parent, same text, written after `since`."""
    xrpc = Xrpc(context.config.section(SECTION, BlueskyConfig), context)
    parent = _refs(target)["parent"]["uri"]
    query = urlencode({"repo": xrpc.session().did, "collection": "app.bsky.feed.post", "limit": "50"})
    answer = xrpc.call("GET", f"com.atproto.repo.listRecords?{query}")
    for item in answer.get("records") or []:
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, dict) or value.get("text") != text:
            continue
        reply = value.get("reply") or {}
        created = str(value.get("createdAt", ""))
        if (reply.get("parent") or {}).get("uri") == parent and created >= since.astimezone(UTC).isoformat()[
            :19
        ]:
            return str(item.get("uri"))
    return None


def delete(post_uri: str, context: PostContext) -> None:
    """Take our post down (an agent's UNDO): `com.atproto.repo.deleteRecord` of its record in our repo."""
    xrpc = Xrpc(context.config.section(SECTION, BlueskyConfig), context)
    repo, _, rest = post_uri.removeprefix("at://").partition("/")
    collection, _, rkey = rest.partition("/")
    if repo != xrpc.session().did or collection != "app.bsky.feed.post" or not rkey:
        raise PermanentFailure(f"{post_uri[:80]} is not a post of the brand's", "bad_target")
    body = {"repo": repo, "collection": collection, "rkey": rkey}
    xrpc.call("POST", "com.atproto.repo.deleteRecord", json_body=body)
