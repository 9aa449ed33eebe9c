"""Reply-link tokens: random enough, stored only as a hash, and expiring."""

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest

from socialcare.replies.tokens import (
    DEFAULT_TOKEN_TTL,
    hash_token,
    is_expired,
    new_token,
    token_expiry,
    token_matches,
)

NOW = datetime(2026, 3, 8, 9, 30, tzinfo=UTC)


def test_tokens_are_url_safe_and_carry_at_least_128_bits() -> None:
    token = new_token()
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert len(token) * 6 >= 128  # each URL-safe base64 character carries 6 bits
    assert len(token) == 43  # 32 random bytes


def test_tokens_do_not_repeat() -> None:
    assert len({new_token() for _ in range(1000)}) == 1000


def test_the_hash_is_sha256_hex_and_not_the_token() -> None:
    token = new_token()
    digest = hash_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert token not in digest
    assert hash_token(token) == digest  # stable: the stored hash is found again from the link's token


def test_token_matches_only_its_own_hash() -> None:
    token, other = new_token(), new_token()
    assert token_matches(token, hash_token(token))
    assert not token_matches(other, hash_token(token))
    assert not token_matches(token[:-1], hash_token(token))


def test_expiry_is_now_plus_ttl() -> None:
    assert token_expiry(NOW, timedelta(hours=2)) == datetime(2026, 3, 8, 11, 30, tzinfo=UTC)
    assert token_expiry(NOW) == NOW + DEFAULT_TOKEN_TTL


def test_expiry_refuses_naive_clocks_and_non_positive_ttls() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        token_expiry(datetime(2026, 3, 8, 9, 30), timedelta(hours=1))
    with pytest.raises(ValueError, match="must be positive"):
        token_expiry(NOW, timedelta(0))


def test_a_token_is_expired_from_its_expiry_on() -> None:
    expires_at = token_expiry(NOW, timedelta(minutes=10))
    assert not is_expired(expires_at, NOW + timedelta(minutes=9, seconds=59))
    assert is_expired(expires_at, NOW + timedelta(minutes=10))
