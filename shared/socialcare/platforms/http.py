"""Calling a platform's API, the same way for every adapter: timeouts on every request, no redirects, secrets
redacted from every reason, and the failures every HTTP API shares (network, 429, 5xx) classified once. An
adapter passes `refusal`, which turns its own error answers into RetryLater / PermanentFailure first."""

from collections.abc import Callable, Mapping
from typing import Any

import requests

from socialcare.platforms.base import (
    NeedsConfiguration,
    PermanentFailure,
    PostContext,
    RetryLater,
)

USER_AGENT = "socialcare-reply/0.1"
REASON_MAX_CHARS = 300

# Raises for the platform's own error answers; returns when it has nothing to say about this one.
Refusal = Callable[["PlatformClient", requests.Response, Mapping[str, Any]], None]


class PlatformClient:
    """One adapter's calls in one post or look-up. `name` starts every reason ("x: rate limited")."""

    def __init__(self, name: str, context: PostContext, secrets: list[str], refusal: Refusal | None = None):
        self.name = name
        self.context = context
        self.secrets = [secret for secret in secrets if secret]
        self.refusal = refusal

    def post(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
    ) -> Mapping[str, Any]:
        return self.request("POST", url, headers=headers, json_body=json_body, data=data)

    def get(
        self, url: str, *, headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None
    ) -> Mapping[str, Any]:
        return self.request("GET", url, headers=headers, params=params)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        """The JSON object answered with a 2xx. Raises RetryLater or PermanentFailure otherwise."""
        name = self.name
        try:
            response = self.context.session.request(
                method,
                url,
                headers={"User-Agent": USER_AGENT, **(headers or {})},
                json=json_body,
                data=data,
                params=params,
                timeout=self.context.timeout,
                allow_redirects=False,  # a redirected POST turns into a GET: refuse it instead
            )
        except requests.ConnectTimeout as error:
            raise RetryLater(self.reason(f"{name}: connection timed out", error)) from None
        except requests.Timeout as error:
            sent = method != "GET"  # a GET changes nothing: it cannot have "landed"
            raise RetryLater(self.reason(f"{name}: no answer in time", error), maybe_delivered=sent) from None
        except requests.ConnectionError as error:
            raise RetryLater(self.reason(f"{name}: connection failed", error)) from None
        except requests.RequestException as error:
            raise PermanentFailure(self.reason(f"{name}: request failed", error), "request_error") from None
        answer = json_object(response)
        if 200 <= response.status_code < 300:
            return answer
        if self.refusal is not None:
            self.refusal(self, response, answer)
        self._raise_http(response, answer)
        raise AssertionError("unreachable")  # _raise_http always raises

    def reason(self, reason: str, detail: object = None) -> str:
        text = f"{reason}: {detail}" if detail not in (None, "") else reason
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text[:REASON_MAX_CHARS]

    def _raise_http(self, response: requests.Response, answer: Mapping[str, Any]) -> None:
        status = response.status_code
        reason = self.reason(f"{self.name}: HTTP {status}", error_detail(answer) or answer.get("error"))
        if status == 429 or status >= 500 or status == 408:
            raise RetryLater(reason, retry_after_header(response))
        if status in (401, 403):
            raise NeedsConfiguration(reason, f"http_{status}")
        raise PermanentFailure(reason, f"http_{status}")


def json_object(response: requests.Response) -> Mapping[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, Mapping) else {}


def required_id(answer: Mapping[str, Any], key: str, platform: str) -> str:
    value = answer.get(key)
    if not isinstance(value, str | int) or value == "":
        # The platform said yes but gave no id: the reply probably went out; do not post it again.
        raise PermanentFailure(f"{platform} answered without {key}", "bad_answer")
    return str(value)


def error_detail(answer: Mapping[str, Any]) -> str:
    """The human part of a JSON error answer ({"detail"}, {"title"} or {"errors": [{"message"}]})."""
    for key in ("detail", "title"):
        if isinstance(answer.get(key), str):
            return str(answer[key])
    errors = answer.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        return str(errors[0].get("message") or errors[0].get("detail") or "")
    return ""


def number(value: object) -> float | None:
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


def retry_after_header(response: requests.Response) -> float | None:
    seconds = number(response.headers.get("retry-after"))
    return max(0.0, seconds) if seconds is not None else None


# ---------------------------------------------------------------- credentials checks
CHECK_TIMEOUT = (3.05, 10.0)  # (connect, read) seconds
CHECK_USER_AGENT = "socialcare-credentials-check/0.1"


def probe(
    session: requests.Session, url: str, *, token: str = "", params: dict[str, str] | None = None
) -> requests.Response | str:
    """A credentials check's GET: the response, or why there is none (the reason names the host, never the
    token or the query)."""
    headers = {"user-agent": CHECK_USER_AGENT}
    if token:
        headers["authorization"] = f"Bearer {token}"
    try:
        return session.get(url, timeout=CHECK_TIMEOUT, headers=headers, params=params)
    except requests.RequestException as error:
        return f"could not reach {url.split('?')[0]}: {type(error).__name__}"


def json_mapping(response: requests.Response) -> Mapping[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, Mapping) else {}
