"""Posting an agent's reply back to the platform the mention came from.

One call per reply, with timeouts on every request. The outcome is a PostResult or one of two exceptions the
reply sender acts on: RetryLater (throttled, 5xx, network: try again, after retry_after_s when the platform
says how long) and PermanentFailure (the post is gone, the text is refused, the token is dead: do not retry;
alert_leads when a person must fix the configuration). Tokens never appear in a message or an exception."""

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict

from socialcare.models import MentionKind
from socialcare.platform_config import MetaConfig, PlatformConfig, SourceConfig, XConfig
from socialcare.signatures import hmac_sha256, standard_webhooks_signature

DEFAULT_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds
USER_AGENT = "socialcare-reply/0.1"
REASON_MAX_CHARS = 300

# Meta error codes (https://developers.facebook.com/docs/graph-api/guides/error-handling).
META_THROTTLING_CODES = frozenset({4, 17, 32, 613, 80001})
META_TRANSIENT_CODES = frozenset({1, 2})  # "API Unknown" / "API Service": temporary on Meta's side
META_INVALID_TOKEN = 190
META_DELETED_OBJECT = 100
META_PERMISSION_CODES = frozenset({10, 200})
META_OUTSIDE_WINDOW_SUBCODE = 2018278  # the customer's last message is older than the messaging window


class ReplyTarget(BaseModel):
    """What a reply answers, with every id the platform needs to attach it in the right place."""

    model_config = ConfigDict(frozen=True)

    platform: str  # "x", "facebook", "instagram", or a Standard Webhooks source's name
    kind: MentionKind
    external_id: str  # the tweet, comment, message or source item we answer
    author_id: str = ""  # the DM recipient: X participant id, Messenger PSID, Instagram IGSID
    # Instagram replies only attach to top-level comments: the parent of a reply comment, when there is one.
    parent_id: str | None = None
    media_id: str | None = None  # Instagram mention: the media the brand was mentioned on
    is_instagram_mention: bool = False
    reply_url: str | None = None  # a Standard Webhooks source: overrides the configured reply_url
    survey_url: str | None = None  # a Standard Webhooks source: the customer's survey link, to pass on


@dataclass(frozen=True)
class PostResult:
    external_id: str  # the platform's id for our reply


class ReplyFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(ReplyFailed):
    """Throttled or a temporary failure. maybe_delivered: the request went out and no answer came back, so
    the platform may have posted it (check before a retry posts it twice)."""

    def __init__(self, reason: str, retry_after_s: float | None = None, *, maybe_delivered: bool = False):
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.maybe_delivered = maybe_delivered


class PermanentFailure(ReplyFailed):
    """Retrying cannot help. alert_leads: the configuration (token, permission, URL) needs a person."""

    def __init__(self, reason: str, code: str, alert_leads: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.alert_leads = alert_leads


def post_reply(
    target: ReplyTarget,
    text: str,
    config: PlatformConfig,
    session: requests.Session | None = None,
    now: Callable[[], float] = time.time,
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> PostResult:
    """Post `text` as the brand's answer to `target`. Raises RetryLater or PermanentFailure."""
    poster = _Poster(session or requests.Session(), now, timeout, config)
    try:
        if target.platform == "x":
            return poster.x(target, text, config.x)
        if target.platform in ("facebook", "instagram"):
            return poster.meta(target, text, config.meta)
        return poster.source(target, text, config.sources.get(target.platform))
    finally:
        if session is None:
            poster.session.close()


def post_private_reply(platform: str, comment_id: str, text: str, config: PlatformConfig) -> PostResult:
    """A Meta private reply: one message into the commenter's inbox, allowed once per comment within 7 days
    (POST /{page-id}/messages with recipient.comment_id). Raises RetryLater or PermanentFailure."""
    poster = _Poster(requests.Session(), time.time, DEFAULT_TIMEOUT, config)
    try:
        return poster.private_reply(platform, comment_id, text, config.meta)
    finally:
        poster.session.close()


class _Poster:
    def __init__(
        self,
        session: requests.Session,
        now: Callable[[], float],
        timeout: tuple[float, float],
        config: PlatformConfig,
    ) -> None:
        self.session = session
        self.now = now
        self.timeout = timeout
        # Redacted from every reason, in case a platform or requests echoes one back.
        self.secrets = [
            secret
            for secret in (
                config.x.bearer_token,
                config.x.consumer_secret,
                config.x.oauth2_client_secret,
                config.meta.page_access_token,
                config.meta.app_secret,
                *(source.secret for source in config.sources.values()),
            )
            if secret
        ]

    # ---- X
    def x(self, target: ReplyTarget, text: str, x: XConfig) -> PostResult:
        if not x.bearer_token:
            raise PermanentFailure("x.bearer_token is not configured", "not_configured", alert_leads=True)
        headers = {"Authorization": f"Bearer {x.bearer_token}"}
        if target.kind == MentionKind.DIRECT_MESSAGE:
            if not target.author_id:
                raise PermanentFailure("an X direct message reply needs the author's id", "bad_target")
            url = f"{x.api_base}/2/dm_conversations/with/{target.author_id}/messages"
            data = self._data(self._send("x", url, headers=headers, json_body={"text": text}), "x")
            return PostResult(_required_id(data, "dm_event_id", "x"))
        url = f"{x.api_base}/2/tweets"
        body = {"text": text, "reply": {"in_reply_to_tweet_id": target.external_id}}
        data = self._data(self._send("x", url, headers=headers, json_body=body), "x")
        return PostResult(_required_id(data, "id", "x"))

    def _data(self, answer: Mapping[str, Any], platform: str) -> Mapping[str, Any]:
        data = answer.get("data")
        if not isinstance(data, Mapping):
            raise PermanentFailure(f"{platform} answered without a data object", "bad_answer")
        return data

    # ---- Meta
    def private_reply(self, platform: str, comment_id: str, text: str, meta: MetaConfig) -> PostResult:
        if not meta.page_access_token or not meta.page_id:
            raise PermanentFailure(
                "meta.page_access_token and meta.page_id are needed", "not_configured", alert_leads=True
            )
        body = {"recipient": {"comment_id": comment_id}, "message": {"text": text}, **self._meta_auth(meta)}
        url = f"{meta.graph_base.rstrip('/')}/{meta.page_id}/messages"
        return PostResult(_required_id(self._send(platform, url, json_body=body), "message_id", platform))

    def _meta_auth(self, meta: MetaConfig) -> dict[str, Any]:
        auth: dict[str, Any] = {"access_token": meta.page_access_token}
        if meta.app_secret:
            # Required when the app enforces "Require App Secret"; harmless otherwise.
            auth["appsecret_proof"] = hmac_sha256(meta.app_secret, meta.page_access_token).hex()
        return auth

    def meta(self, target: ReplyTarget, text: str, meta: MetaConfig) -> PostResult:
        if not meta.page_access_token:
            raise PermanentFailure(
                "meta.page_access_token is not configured", "not_configured", alert_leads=True
            )
        auth = self._meta_auth(meta)
        base = meta.graph_base.rstrip("/")
        platform = target.platform
        if target.kind == MentionKind.DIRECT_MESSAGE:
            if not meta.page_id or not target.author_id:
                raise PermanentFailure(
                    "a Meta direct message needs meta.page_id and the author's id",
                    "bad_target",
                    alert_leads=True,
                )
            body = {
                "recipient": {"id": target.author_id},
                "message": {"text": text},
                # An agent's answer may use the human agent tag: 7 days after the customer's last message.
                "messaging_type": "MESSAGE_TAG",
                "tag": "HUMAN_AGENT",
                **auth,
            }
            answer = self._send(platform, f"{base}/{meta.page_id}/messages", json_body=body)
            return PostResult(_required_id(answer, "message_id", platform))
        if platform == "instagram" and target.is_instagram_mention:
            if not meta.ig_user_id:
                raise PermanentFailure(
                    "meta.ig_user_id is not configured", "not_configured", alert_leads=True
                )
            media_id = target.media_id or (target.external_id if target.kind == MentionKind.POST else None)
            if not media_id:
                raise PermanentFailure("an Instagram mention reply needs the media id", "bad_target")
            body = {"media_id": media_id, "message": text, **auth}
            if target.kind == MentionKind.COMMENT:
                body["comment_id"] = target.external_id
            answer = self._send(platform, f"{base}/{meta.ig_user_id}/mentions", json_body=body)
        elif platform == "instagram":
            comment_id = target.parent_id or target.external_id
            answer = self._send(platform, f"{base}/{comment_id}/replies", json_body={"message": text, **auth})
        else:
            answer = self._send(
                platform, f"{base}/{target.external_id}/comments", json_body={"message": text, **auth}
            )
        return PostResult(_required_id(answer, "id", platform))

    # ---- sources
    def source(self, target: ReplyTarget, text: str, source: SourceConfig | None) -> PostResult:
        if source is None:
            raise PermanentFailure(
                f"source {target.platform!r} is not configured", "not_configured", alert_leads=True
            )
        url = target.reply_url or source.reply_url
        if not url:
            raise PermanentFailure(
                f"source {target.platform!r} has no reply_url", "not_configured", alert_leads=True
            )
        timestamp = int(self.now())
        created_at = datetime.fromtimestamp(timestamp, UTC).isoformat()
        data = {"in_reply_to": target.external_id, "text": text, "created_at": created_at}
        if target.survey_url:
            data["survey_url"] = target.survey_url
        payload = {"type": "reply.created", "timestamp": created_at, "data": data}
        body = json.dumps(payload, separators=(",", ":")).encode()
        message_id = f"msg_{uuid.uuid4().hex}"
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": standard_webhooks_signature(source.secret, message_id, timestamp, body),
        }
        answer = self._send(target.platform, url, headers=headers, data=body)
        reply_id = answer.get("id")
        return PostResult(str(reply_id) if isinstance(reply_id, str | int) and reply_id != "" else message_id)

    # ---- HTTP
    def _send(
        self,
        platform: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
    ) -> Mapping[str, Any]:
        try:
            response = self.session.post(
                url,
                headers={"User-Agent": USER_AGENT, **(headers or {})},
                json=json_body,
                data=data,
                timeout=self.timeout,
                allow_redirects=False,  # a redirected POST turns into a GET: refuse it instead
            )
        except requests.ConnectTimeout as error:
            raise RetryLater(self._reason(f"{platform}: connection timed out", error)) from None
        except requests.Timeout as error:
            raise RetryLater(
                self._reason(f"{platform}: no answer in time", error), maybe_delivered=True
            ) from None
        except requests.ConnectionError as error:
            raise RetryLater(self._reason(f"{platform}: connection failed", error)) from None
        except requests.RequestException as error:
            raise PermanentFailure(
                self._reason(f"{platform}: request failed", error), "request_error"
            ) from None
        answer = _json_object(response)
        if 200 <= response.status_code < 300:
            return answer
        if platform in ("facebook", "instagram"):
            self._raise_meta(platform, response, answer)
        elif platform == "x":
            self._raise_x(response, answer)
        self._raise_http(platform, response, answer)
        raise AssertionError("unreachable")  # every _raise_* raises

    def _reason(self, reason: str, detail: object = None) -> str:
        text = f"{reason}: {detail}" if detail not in (None, "") else reason
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text[:REASON_MAX_CHARS]

    def _raise_x(self, response: requests.Response, answer: Mapping[str, Any]) -> None:
        status = response.status_code
        detail = _x_detail(answer)
        if status == 429:
            raise RetryLater(self._reason("x: rate limited", detail), self._x_retry_after(response))
        if status == 401:
            raise PermanentFailure(self._reason("x: not authorized", detail), "x_401", alert_leads=True)
        if status == 404:
            raise PermanentFailure(self._reason("x: the post or user is gone", detail), "x_404")
        if status in (400, 403):
            # Too long, duplicate content, replying to a deleted or protected post, DMs closed.
            raise PermanentFailure(self._reason(f"x: refused ({status})", detail), f"x_{status}")

    def _x_retry_after(self, response: requests.Response) -> float | None:
        headers = response.headers
        # A user's 24-hour posting cap has its own reset, far later than the 15-minute window's.
        if headers.get("x-user-limit-24hour-remaining") == "0":
            reset = _number(headers.get("x-user-limit-24hour-reset"))
        else:
            reset = _number(headers.get("x-rate-limit-reset"))
        if reset is None:
            return _retry_after_header(response)
        return max(0.0, reset - self.now())

    def _raise_meta(self, platform: str, response: requests.Response, answer: Mapping[str, Any]) -> None:
        error = answer.get("error")
        if not isinstance(error, Mapping):
            return
        code = _number(error.get("code"))
        subcode = _number(error.get("error_subcode"))
        message = error.get("message") if isinstance(error.get("message"), str) else ""
        reason = self._reason(f"{platform}: error {'without a code' if code is None else int(code)}", message)
        if code in META_THROTTLING_CODES or code in META_TRANSIENT_CODES or error.get("is_transient") is True:
            raise RetryLater(reason, _meta_retry_after(response))
        if code == META_INVALID_TOKEN:
            raise PermanentFailure(reason, "meta_invalid_token", alert_leads=True)
        if code == META_DELETED_OBJECT:
            raise PermanentFailure(reason, "meta_deleted_object")
        if code in META_PERMISSION_CODES and subcode == META_OUTSIDE_WINDOW_SUBCODE:
            raise PermanentFailure(reason, "meta_outside_window")
        if code in META_PERMISSION_CODES or (code is not None and 200 <= code <= 299):
            raise PermanentFailure(reason, "meta_permission", alert_leads=True)
        if response.status_code < 500:
            raise PermanentFailure(reason, f"meta_{'unknown' if code is None else int(code)}")

    def _raise_http(self, platform: str, response: requests.Response, answer: Mapping[str, Any]) -> None:
        status = response.status_code
        reason = self._reason(f"{platform}: HTTP {status}", _x_detail(answer) or answer.get("error"))
        if status == 429:
            raise RetryLater(reason, _retry_after_header(response))
        if status >= 500 or status == 408:
            raise RetryLater(reason, _retry_after_header(response))
        if status in (401, 403):
            raise PermanentFailure(reason, f"http_{status}", alert_leads=True)
        raise PermanentFailure(reason, f"http_{status}")


def _json_object(response: requests.Response) -> Mapping[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, Mapping) else {}


def _required_id(answer: Mapping[str, Any], key: str, platform: str) -> str:
    value = answer.get(key)
    if not isinstance(value, str | int) or value == "":
        # The platform said yes but gave no id: the reply probably went out; do not post it again.
        raise PermanentFailure(f"{platform} answered without {key}", "bad_answer")
    return str(value)


def _x_detail(answer: Mapping[str, Any]) -> str:
    for key in ("detail", "title"):
        if isinstance(answer.get(key), str):
            return str(answer[key])
    errors = answer.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        return str(errors[0].get("message") or errors[0].get("detail") or "")
    return ""


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _retry_after_header(response: requests.Response) -> float | None:
    seconds = _number(response.headers.get("retry-after"))
    return max(0.0, seconds) if seconds is not None else None


def _meta_retry_after(response: requests.Response) -> float | None:
    # x-business-use-case-usage: {"<id>": [{"type", "call_count", "estimated_time_to_regain_access"}]},
    # the last in minutes.
    try:
        usage = json.loads(response.headers.get("x-business-use-case-usage", "") or "{}")
    except ValueError:
        usage = {}
    minutes = [
        _number(entry.get("estimated_time_to_regain_access"))
        for entries in (usage.values() if isinstance(usage, Mapping) else [])
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, Mapping)
    ]
    longest = max((value for value in minutes if value), default=None)
    return longest * 60 if longest else _retry_after_header(response)
