"""Posting the brand's answers through the Graph API (Facebook comments, Instagram replies and mention
answers, Messenger and Instagram direct messages), Meta's error codes, and the look-up of an answer whose
outcome is unknown (the comment's comments or replies, or the conversation's recent messages)."""

import json
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import requests

from socialcare.models import MentionKind
from socialcare.platforms.base import (
    NeedsConfiguration,
    PermanentFailure,
    PostContext,
    PostResult,
    ReplyTarget,
    RetryLater,
)
from socialcare.platforms.http import PlatformClient, number, required_id, retry_after_header
from socialcare.platforms.meta.config import MetaConfig
from socialcare.platforms.meta.webhook import INSTAGRAM, THROTTLING_CODES, delete_request
from socialcare.signatures import hmac_sha256

TRANSIENT_CODES = frozenset({1, 2})  # "API Unknown" / "API Service": temporary on Meta's side
INVALID_TOKEN = 190
DELETED_OBJECT = 100
PERMISSION_CODES = frozenset({10, 200})
OUTSIDE_WINDOW_SUBCODE = 2018278  # the customer's last message is older than the messaging window


def _client(platform: str, context: PostContext, meta: MetaConfig) -> PlatformClient:
    return PlatformClient(platform, context, [meta.page_access_token, meta.app_secret], _refusal)


def _auth(meta: MetaConfig) -> dict[str, Any]:
    if not meta.page_access_token:
        raise NeedsConfiguration("meta.page_access_token is not configured")
    auth: dict[str, Any] = {"access_token": meta.page_access_token}
    if meta.app_secret:
        # Required when the app enforces "Require App Secret"; harmless otherwise.
        auth["appsecret_proof"] = hmac_sha256(meta.app_secret, meta.page_access_token).hex()
    return auth


def post(target: ReplyTarget, text: str, context: PostContext, meta: MetaConfig) -> PostResult:
    auth = _auth(meta)
    base = meta.graph_base.rstrip("/")
    platform = target.platform
    calls = _client(platform, context, meta)
    if target.kind == MentionKind.DIRECT_MESSAGE:
        if not meta.page_id or not target.author_id:
            raise NeedsConfiguration(
                "a Meta direct message needs meta.page_id and the author's id", "bad_target"
            )
        body = {
            "recipient": {"id": target.author_id},
            "message": {"text": text},
            # An agent's answer may use the human agent tag: 7 days after the customer's last message.
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
            **auth,
        }
        answer = calls.post(f"{base}/{meta.page_id}/messages", json_body=body)
        return PostResult(required_id(answer, "message_id", platform))
    if target.via_mention:
        if not meta.ig_user_id:
            raise NeedsConfiguration("meta.ig_user_id is not configured")
        media_id = target.media_id or (target.external_id if target.kind == MentionKind.POST else None)
        if not media_id:
            raise PermanentFailure("an Instagram mention reply needs the media id", "bad_target")
        body = {"media_id": media_id, "message": text, **auth}
        if target.kind == MentionKind.COMMENT:
            body["comment_id"] = target.external_id
        answer = calls.post(f"{base}/{meta.ig_user_id}/mentions", json_body=body)
    else:
        answer = calls.post(
            f"{base}/{_thread_of(target)}/{_edge(target)}", json_body={"message": text, **auth}
        )
    return PostResult(required_id(answer, "id", platform))


def _edge(target: ReplyTarget) -> str:
    return "replies" if target.platform == INSTAGRAM else "comments"


def _thread_of(target: ReplyTarget) -> str:
    # Instagram replies only attach to top-level comments: a reply's parent takes the answer.
    return target.parent_id or target.external_id


def find(
    target: ReplyTarget, text: str, since: datetime, context: PostContext, meta: MetaConfig
) -> str | None:
    """Our answer to `target` with `text` among the comments, replies or messages Meta has, or None."""
    auth = _auth(meta)
    base = meta.graph_base.rstrip("/")
    calls = _client(target.platform, context, meta)
    wanted = _normalized(text)
    if target.kind == MentionKind.DIRECT_MESSAGE:
        params = {
            "platform": "instagram" if target.platform == INSTAGRAM else "messenger",
            "user_id": target.author_id,
            "fields": "messages.limit(20){id,message,from,created_time}",
            "access_token": auth["access_token"],
        }
        answer = calls.get(f"{base}/{meta.page_id}/conversations", params=params)
        brand_ids = {meta.page_id, meta.ig_user_id} - {""}
        for conversation in _items(answer):
            messages = conversation.get("messages")
            for message in _items(messages if isinstance(messages, Mapping) else {}):
                if _from_id(message) in brand_ids and wanted in _normalized(str(message.get("message", ""))):
                    return str(message["id"])
        return None
    own_id = meta.ig_user_id if target.platform == INSTAGRAM else meta.page_id
    thread = target.media_id if target.via_mention and target.kind == MentionKind.POST else _thread_of(target)
    edge = "comments" if target.via_mention and target.kind == MentionKind.POST else _edge(target)
    fields = "id,text,from,username,timestamp" if target.platform == INSTAGRAM else "id,message,from"
    params = {"fields": fields, "access_token": auth["access_token"]}
    for comment in _items(calls.get(f"{base}/{thread}/{edge}", params=params)):
        said = str(comment.get("message") or comment.get("text") or "")
        if _from_id(comment) == own_id and wanted in _normalized(said):
            return str(comment["id"])
    return None


def _normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _items(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = answer.get("data")
    return (
        [item for item in data if isinstance(item, Mapping) and "id" in item]
        if isinstance(data, list)
        else []
    )


def _from_id(item: Mapping[str, Any]) -> str:
    sender = item.get("from")
    return str(sender.get("id", "")) if isinstance(sender, Mapping) else ""


def _refusal(calls: PlatformClient, response: requests.Response, answer: Mapping[str, Any]) -> None:
    error = answer.get("error")
    if not isinstance(error, Mapping):
        return
    code = number(error.get("code"))
    subcode = number(error.get("error_subcode"))
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    reason = calls.reason(f"{calls.name}: error {'without a code' if code is None else int(code)}", message)
    if code in THROTTLING_CODES or code in TRANSIENT_CODES or error.get("is_transient") is True:
        raise RetryLater(reason, _retry_after(response))
    if code == INVALID_TOKEN:
        raise NeedsConfiguration(reason, "meta_invalid_token")
    if code == DELETED_OBJECT:
        raise PermanentFailure(reason, "meta_deleted_object")
    if code in PERMISSION_CODES and subcode == OUTSIDE_WINDOW_SUBCODE:
        raise PermanentFailure(reason, "meta_outside_window")
    if code in PERMISSION_CODES or (code is not None and 200 <= code <= 299):
        raise NeedsConfiguration(reason, "meta_permission")
    if response.status_code < 500:
        raise PermanentFailure(reason, f"meta_{'unknown' if code is None else int(code)}")


def _retry_after(response: requests.Response) -> float | None:
    # x-business-use-case-usage: {"<id>": [{"type", "call_count", "estimated_time_to_regain_access"}]},
    # the last in minutes.
    try:
        usage = json.loads(response.headers.get("x-business-use-case-usage", "") or "{}")
    except ValueError:
        usage = {}
    minutes = [
        number(entry.get("estimated_time_to_regain_access"))
        for entries in (usage.values() if isinstance(usage, Mapping) else [])
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, Mapping)
    ]
    longest = max((value for value in minutes if value), default=None)
    return longest * 60 if longest else retry_after_header(response)


def post_private(
    platform: str, comment_id: str, text: str, context: PostContext, meta: MetaConfig
) -> PostResult:
    """A private reply: one message into the commenter's inbox, allowed once per comment within 7 days
    (POST /{page-id}/messages with recipient.comment_id). Raises RetryLater or PermanentFailure."""
    if not meta.page_access_token or not meta.page_id:
        raise NeedsConfiguration("meta.page_access_token and meta.page_id are needed")
    body = {"recipient": {"comment_id": comment_id}, "message": {"text": text}, **_auth(meta)}
    url = f"{meta.graph_base.rstrip('/')}/{meta.page_id}/messages"
    return PostResult(
        required_id(_client(platform, context, meta).post(url, json_body=body), "message_id", platform)
    )


def delete(object_id: str, platform: str, kind: MentionKind, context: PostContext, meta: MetaConfig) -> None:
    """Take our comment down (an agent's UNDO): `DELETE /{comment-id}` with the Page token."""
    try:
        method, url, query = delete_request(object_id, kind, meta)
    except ValueError as refused:
        raise PermanentFailure(str(refused), "not_deletable") from None
    _client(platform, context, meta).request(method, url, params=query)
