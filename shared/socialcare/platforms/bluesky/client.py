"""Talking to the account's PDS over XRPC with an app password. The session (access and refresh JWTs) is kept
in memory for the warm function, never stored: createSession is rate limited (a few hundred a day), so a
poll every minute refreshes the session it has instead of logging in again."""

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from socialcare.platforms.base import NeedsConfiguration, PostContext
from socialcare.platforms.bluesky.config import BlueskyConfig
from socialcare.platforms.http import PlatformClient

if TYPE_CHECKING:
    import requests

    from socialcare.platform_config import PlatformConfig
    from socialcare.platforms.base import CredentialProblem

ACCESS_LIFETIME_S = 60 * 60  # access JWTs live about two hours; refresh well before


@dataclass
class Session:
    did: str
    access_jwt: str
    refresh_jwt: str
    created_at: float


_sessions: dict[tuple[str, str], Session] = {}
_lock = threading.Lock()


def forget_sessions() -> None:
    with _lock:
        _sessions.clear()


class Xrpc:
    def __init__(self, config: BlueskyConfig, context: PostContext) -> None:
        if not config.configured:
            raise NeedsConfiguration("bluesky.handle and bluesky.app_password are not configured")
        self.config = config
        self.context = context
        self.client = PlatformClient("Bluesky", context, [config.app_password])

    def url(self, method: str) -> str:
        return f"{self.config.service.rstrip('/')}/xrpc/{method}"

    def session(self) -> Session:
        key = (self.config.service, self.config.handle)
        with _lock:
            current = _sessions.get(key)
        now = self.context.now()
        if current is not None and now - current.created_at < ACCESS_LIFETIME_S:
            return current
        fresh = self._refresh(current, now) if current is not None else None
        fresh = fresh or self._login(now)
        with _lock:
            _sessions[key] = fresh
        return fresh

    def check_login(self) -> None:
        """Log in afresh (the credentials check): raises NeedsConfiguration when the password is refused."""
        self._login(self.context.now())

    def _login(self, now: float) -> Session:
        body = {"identifier": self.config.handle, "password": self.config.app_password}
        answer = self.client.post(self.url("com.atproto.server.createSession"), json_body=body)
        return _session_of(answer, now)

    def _refresh(self, current: Session, now: float) -> Session | None:
        headers = {"Authorization": f"Bearer {current.refresh_jwt}"}
        try:
            answer = self.client.post(self.url("com.atproto.server.refreshSession"), headers=headers)
        except NeedsConfiguration:
            return None  # the refresh token expired too: log in again
        return _session_of(answer, now)

    def call(self, http_method: str, method: str, **kwargs: Any) -> Mapping[str, Any]:
        session = self.session()
        headers = {"Authorization": f"Bearer {session.access_jwt}"}
        try:
            return self.client.request(http_method, self.url(method), headers=headers, **kwargs)
        except NeedsConfiguration:
            # An access token the PDS no longer takes (expired early, revoked): one fresh login, then give up.
            forget_sessions()
            headers = {"Authorization": f"Bearer {self.session().access_jwt}"}
            return self.client.request(http_method, self.url(method), headers=headers, **kwargs)


def _session_of(answer: Mapping[str, Any], now: float) -> Session:
    try:
        return Session(str(answer["did"]), str(answer["accessJwt"]), str(answer["refreshJwt"]), now)
    except KeyError as error:
        raise NeedsConfiguration(f"Bluesky answered the login without {error.args[0]}") from None


ACTION = (
    "Create a new app password for the brand's account (Settings, Privacy and security, App passwords) and "
    "put it in bluesky.app_password."
)


def check(
    config: "PlatformConfig", bluesky: BlueskyConfig, session: "requests.Session"
) -> "list[CredentialProblem]":
    """One login with the app password (logins are rate limited: this is one a day)."""
    import time

    from socialcare.platforms.base import CredentialProblem, check_with

    if not bluesky.configured:
        key = "bluesky.app_password" if bluesky.handle else "bluesky.handle"
        return [CredentialProblem("bluesky", key, f"{key} is empty: Bluesky is not read", ACTION)]
    xrpc = Xrpc(bluesky, PostContext(config, session, time.time))
    return check_with("bluesky", "bluesky.app_password", ACTION, xrpc.check_login, "bluesky.service")
