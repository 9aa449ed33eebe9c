"""Helpers for the team pages' tests: requests as a browser on the page's own origin sends them, the forms'
nonces, and signing in through the emailed link, all in-process against moto."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from tests.integration.conftest import http_event
from tests.integration.dispatch_support import emails

HOST = "127.0.0.1:3000"
SAME_ORIGIN = {"sec-fetch-site": "same-origin", "origin": f"http://{HOST}"}
_NONCE = re.compile(r'name="nonce" value="([^"]+)"')
_SIGN_IN_LINK = re.compile(r"https?://\S+/team/sign-in/([A-Za-z0-9_-]+)")

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Browser:
    """One device: it keeps the cookies the team pages set, and sends them back."""

    invoke: Invoke
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        target: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        sent = {"host": HOST, **(headers or {})}
        if self.cookies:
            sent["cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            sent.setdefault("content-type", "application/x-www-form-urlencoded")
        response = self.invoke(http_event(method, target, body, sent))
        for cookie in response.get("cookies") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";")[0]
            if value and "Max-Age=0" not in cookie:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response

    def get(self, target: str) -> dict[str, Any]:
        return self.request("GET", target, headers={"sec-fetch-site": "none", "sec-fetch-mode": "navigate"})

    def post(
        self, target: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        return self.request("POST", target, form, headers=SAME_ORIGIN if headers is None else headers)

    def submit(self, page_target: str, action: str, form: dict[str, str]) -> dict[str, Any]:
        """Load the page, then post its form with the nonce it was rendered with."""
        return self.post(action, {**form, "nonce": nonce_in(self.get(page_target)["body"])})


def nonce_in(html: str) -> str:
    found = _NONCE.search(html)
    assert found is not None, html
    return found.group(1)


def sign_in_tokens() -> list[str]:
    """The tokens of every sign-in link emailed so far, oldest first."""
    return [m.group(1) for e in emails() if (m := _SIGN_IN_LINK.search(e["body"] or ""))]


def sign_in(browser: Browser, email: str) -> None:
    before = len(sign_in_tokens())
    answer = browser.submit("/team/sign-in", "/team/sign-in", {"email": email})
    assert answer["statusCode"] == 200, answer["body"]
    token = sign_in_tokens()[before]
    confirmed = browser.submit(f"/team/sign-in/{token}", f"/team/sign-in/{token}", {})
    assert confirmed["statusCode"] == 303, confirmed["body"]
