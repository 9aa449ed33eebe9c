"""Signing in to the team pages: one-time email links, session cookies and the forms' nonces. Pure rules.

* A sign-in link is valid SIGN_IN_LINK_TTL and signs in once; opening it only shows a "Sign in" button (mail
  scanners open links), and the button's post is what signs in.
* The session cookie holds a random token; only its SHA-256 is stored. It is HttpOnly and SameSite=Lax, and
  on HTTPS also Secure with the __Host- prefix (so no other subdomain can set or read it); it lasts
  SESSION_TTL. Signing out deletes every session of the agent, so the cookie stops working everywhere.
* Every form is protected like the reply page's (socialcare.replies.page_flow): browsers' Sec-Fetch-Site /
Origin
  say where a post comes from, and the form carries a nonce, an HMAC under the key derived from the
  configuration secret, of what it is for (the sign-in form, one link, one session) and when it was shown."""

import base64
import hashlib
import hmac
import re
from datetime import datetime, timedelta

SIGN_IN_LINK_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
# Sign-in requests: per email address (any address, known or not) and per client address, per window.
RATE_WINDOW = timedelta(minutes=15)
MAX_PER_EMAIL = 5
MAX_PER_CLIENT = 20
SIGN_IN_FORM_TTL = timedelta(hours=1)
NONCE_SKEW = timedelta(minutes=5)
COOKIE = "socialcare_team"
_NONCE = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{43})$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


def cookie_name(secure: bool) -> str:
    return f"__Host-{COOKIE}" if secure else COOKIE


def session_cookie(token: str, *, secure: bool) -> str:
    attributes = f"Path=/; Max-Age={int(SESSION_TTL.total_seconds())}; HttpOnly; SameSite=Lax"
    return f"{cookie_name(secure)}={token}; {attributes}{'; Secure' if secure else ''}"


def cleared_cookie(*, secure: bool) -> str:
    return f"{cookie_name(secure)}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{'; Secure' if secure else ''}"


def session_token_from(cookies: list[str], *, secure: bool) -> str | None:
    """The session token in the request's cookies (API Gateway 2.0 passes them as "name=value" strings)."""
    name = cookie_name(secure)
    for cookie in cookies:
        key, _, value = cookie.strip().partition("=")
        if key == name and _TOKEN.fullmatch(value):
            return value
    return None


def is_secure(base_url: str) -> bool:
    return base_url.lower().startswith("https://")


def form_nonce(key: bytes, purpose: str, binding: str, rendered_at: int) -> str:
    """A form's nonce: for one purpose ("sign-in", "link", "session") and one binding (a token hash)."""
    message = f"team-form|{purpose}|{binding}|{rendered_at}".encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    return f"{rendered_at}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def nonce_is_valid(
    key: bytes, purpose: str, binding: str, nonce: str, earliest: datetime, now: datetime
) -> bool:
    """Rendered by us, for this purpose and binding, no earlier than `earliest` and not in the future."""
    found = _NONCE.fullmatch(nonce)
    if found is None:
        return False
    rendered_at = int(found.group(1))
    if not hmac.compare_digest(form_nonce(key, purpose, binding, rendered_at).encode(), nonce.encode()):
        return False
    return (earliest - NONCE_SKEW).timestamp() <= rendered_at <= (now + NONCE_SKEW).timestamp()
