"""Reply-link tokens: the secret in the link texted to an agent, which opens one mention's reply page.

The link travels by SMS and email, so the token is long and random, and only its SHA-256 is stored: someone
who reads the table cannot open reply pages. Tokens expire; callers pass the clock."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

TOKEN_BYTES = 32  # 256 bits of randomness; 43 URL-safe characters
DEFAULT_TOKEN_TTL = timedelta(hours=24)


def new_token() -> str:
    """A fresh URL-safe token for a reply link. Give it to the agent; store only hash_token(token)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 hex of the token: the lookup key stored instead of the token itself. Unsalted on purpose: the
    token is random enough that no table of guesses helps, and the hash must be findable from the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    """Whether `token` is the one whose hash was stored, compared in constant time."""
    return hmac.compare_digest(hash_token(token), stored_hash)


def token_expiry(now: datetime, ttl: timedelta = DEFAULT_TOKEN_TTL) -> datetime:
    """When a token issued at `now` stops opening the reply page."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"token_expiry needs a timezone-aware datetime, got {now.isoformat()}")
    if ttl <= timedelta(0):
        raise ValueError(f"token ttl must be positive, got {ttl}")
    return now + ttl


def is_expired(expires_at: datetime, now: datetime) -> bool:
    return now >= expires_at
