"""Posting the brand's answer on Threads: the two-step create (`POST /{user-id}/threads` with
`media_type=TEXT`, `text`, `reply_to_id`) and publish (`POST /{user-id}/threads_publish` with
`creation_id`), and the look-up of an answer whose outcome is unknown (the post's replies)."""

import time
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests

from socialcare.platforms.base import (
    NeedsConfiguration,
    PermanentFailure,
    PostContext,
    PostResult,
    ReplyTarget,
    RetryLater,
)
from socialcare.platforms.http import PlatformClient, number, required_id, retry_after_header
from socialcare.platforms.threads.config import ThreadsConfig

if TYPE_CHECKING:
    from socialcare.platform_config import PlatformConfig
    from socialcare.platforms.base import CredentialProblem

THREADS_NAME = "threads"
THROTTLING_CODES = frozenset({4, 17, 32, 613})
TRANSIENT_CODES = frozenset({1, 2})
INVALID_TOKEN = 190
DELETED_OBJECT = 100


def _client(target: ReplyTarget, context: PostContext, threads: ThreadsConfig) -> PlatformClient:
    if not threads.access_token or not threads.user_id:
        raise NeedsConfiguration("threads.access_token and threads.user_id are not configured")
    return PlatformClient(target.platform, context, [threads.access_token, threads.app_secret], _refusal)


def _auth(threads: ThreadsConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {threads.access_token}"}


def post(target: ReplyTarget, text: str, context: PostContext, threads: ThreadsConfig) -> PostResult:
    calls = _client(target, context, threads)
    base = f"{threads.api_base.rstrip('/')}/{threads.user_id}"
    container = calls.post(
        f"{base}/threads",
        headers=_auth(threads),
        json_body={"media_type": "TEXT", "text": text, "reply_to_id": target.external_id},
    )
    creation_id = required_id(container, "id", target.platform)
    # A text container is ready at once; had it not been, publish answers a transient error and the reply
    # is retried (the unpublished container expires on its own).
    published = calls.post(
        f"{base}/threads_publish", headers=_auth(threads), json_body={"creation_id": creation_id}
    )
    return PostResult(required_id(published, "id", target.platform))


def delete(post_id: str, context: PostContext, threads: ThreadsConfig) -> None:
    """`DELETE /{threads-media-id}`: take our post down (an agent's UNDO). Threads allows 100 deletes a day
    and needs the token's `threads_delete` permission (without it: error 10, the leads are told)."""
    if not threads.access_token:
        raise NeedsConfiguration("threads.access_token is not configured")
    client = PlatformClient(THREADS_NAME, context, [threads.access_token, threads.app_secret], _refusal)
    client.request("DELETE", f"{threads.api_base.rstrip('/')}/{post_id}", headers=_auth(threads))


def find(
    target: ReplyTarget, text: str, since: datetime, context: PostContext, threads: ThreadsConfig
) -> str | None:
    """Our answer with `text` among the replies to `target`, or None."""
    calls = _client(target, context, threads)
    answer = calls.get(
        f"{threads.api_base.rstrip('/')}/{target.external_id}/replies",
        headers=_auth(threads),
        params={"fields": "id,text,username,timestamp"},
    )
    wanted = _normalized(text)
    data = answer.get("data")
    for reply in data if isinstance(data, list) else []:
        if not isinstance(reply, Mapping) or "id" not in reply:
            continue
        ours = str(reply.get("username", "")).lower() == threads.username.lower()
        if ours and wanted in _normalized(str(reply.get("text", ""))):
            return str(reply["id"])
    return None


def _normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _refusal(calls: PlatformClient, response: requests.Response, answer: Mapping[str, Any]) -> None:
    error = answer.get("error")
    if not isinstance(error, Mapping):
        return
    code = number(error.get("code"))
    message = error.get("message") if isinstance(error.get("message"), str) else ""
    reason = calls.reason(f"{calls.name}: error {'without a code' if code is None else int(code)}", message)
    if code in THROTTLING_CODES or code in TRANSIENT_CODES or error.get("is_transient") is True:
        raise RetryLater(reason, retry_after_header(response))
    if code == INVALID_TOKEN or code == 10 or (code is not None and 200 <= code <= 299):
        raise NeedsConfiguration(reason, "threads_permission")
    if code == DELETED_OBJECT:
        raise PermanentFailure(reason, "threads_deleted_object")
    if response.status_code < 500:
        raise PermanentFailure(reason, f"threads_{'unknown' if code is None else int(code)}")


# ---------------------------------------------------------------- the credentials check
RENEW = (
    "Renew the brand's long-lived Threads token (threads_basic, threads_read_replies, "
    "threads_manage_replies, threads_delete) and put it in threads.access_token."
)


def check(
    config: "PlatformConfig", threads: ThreadsConfig, session: requests.Session
) -> "list[CredentialProblem]":
    """Who am I (`GET /me?fields=id,username`) with the token: it answers, and for threads.user_id."""
    from socialcare.platforms.base import CredentialProblem, check_with

    key = "threads.access_token"
    if not threads.access_token or not threads.user_id:
        problem = f"{key} or threads.user_id is empty: replies to Threads cannot be posted"
        return [CredentialProblem("threads", key, problem, RENEW)]
    context = PostContext(config, session, time.time)

    def who_am_i() -> None:
        client = PlatformClient("Threads", context, [threads.access_token, threads.app_secret], _refusal)
        me = client.get(
            f"{threads.api_base.rstrip('/')}/me", headers=_auth(threads), params={"fields": "id,username"}
        )
        if str(me.get("id", "")) != threads.user_id:
            raise NeedsConfiguration(f"belongs to user {me.get('id')}, not threads.user_id")

    return check_with("threads", key, RENEW, who_am_i, "threads.api_base")
