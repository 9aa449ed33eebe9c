"""Google's OIDC token on a Pub/Sub push (`Authorization: Bearer <JWT>`): an RS256 signature by one of
Google's keys, our audience, Google's issuer, not expired. `rsa` is imported here only, on the
push path: no other function pays for it at cold start."""

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from socialcare.errors import InvalidSignature, NotConfigured
from socialcare.platforms.google_reviews.config import GoogleReviewsConfig

ISSUERS = frozenset({"accounts.google.com", "https://accounts.google.com"})
LEEWAY_S = 60  # clock skew between Google and us
JWKS_TTL_S = 3600  # Google rotates its keys over days; an unknown kid refetches at once
_jwks_cache: dict[str, tuple[float, dict[str, Any]]] = {}

KeyFetcher = Callable[[str], dict[str, Any]]


def verify_push_token(
    headers: Mapping[str, str],
    config: GoogleReviewsConfig,
    now: float | None = None,
    fetch_keys: KeyFetcher | None = None,
) -> dict[str, Any]:
    """The token's claims, when it is Google's, for us, and current. Raises InvalidSignature otherwise."""
    if not config.audience:
        raise NotConfigured("google_reviews.audience is not configured")
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        raise InvalidSignature("missing or malformed Authorization: Bearer token")
    head_b64, claims_b64, signature_b64 = token.split(".")
    header = _json_part(head_b64)
    claims = _json_part(claims_b64)
    if header.get("alg") != "RS256":
        raise InvalidSignature("the token is not RS256")
    key = _key(str(header.get("kid", "")), config, fetch_keys or _fetch_jwks)
    _check_rs256(key, f"{head_b64}.{claims_b64}".encode(), _b64(signature_b64))
    _check_claims(claims, config, time.time() if now is None else now)
    return claims


def _check_claims(claims: Mapping[str, Any], config: GoogleReviewsConfig, now: float) -> None:
    audience = claims.get("aud")
    if audience != config.audience and not (isinstance(audience, list) and config.audience in audience):
        raise InvalidSignature("the token is for another audience")
    if claims.get("iss") not in ISSUERS:
        raise InvalidSignature("the token is not issued by Google")
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or expires + LEEWAY_S < now:
        raise InvalidSignature("the token has expired")
    issued = claims.get("iat")
    if isinstance(issued, int | float) and issued - LEEWAY_S > now:
        raise InvalidSignature("the token is issued in the future")
    if config.service_account_email and (
        claims.get("email") != config.service_account_email or claims.get("email_verified") is not True
    ):
        raise InvalidSignature("the token is not the push subscription's service account")


def _check_rs256(jwk: Mapping[str, Any], signed: bytes, signature: bytes) -> None:
    import rsa  # only on this path

    try:
        public = rsa.PublicKey(
            int.from_bytes(_b64(str(jwk["n"])), "big"), int.from_bytes(_b64(str(jwk["e"])), "big")
        )
        method = rsa.verify(signed, signature, public)
    except (rsa.VerificationError, KeyError, ValueError) as error:
        raise InvalidSignature("the token's signature does not verify") from error
    if method != "SHA-256":  # PKCS#1 v1.5 names its hash inside the signature: RS256 is SHA-256 only
        raise InvalidSignature("the token is not signed with SHA-256")


def _key(kid: str, config: GoogleReviewsConfig, fetch_keys: KeyFetcher) -> Mapping[str, Any]:
    if config.jwks is not None:
        found = _find(config.jwks, kid)
    else:
        found = _find(_cached_jwks(config.jwks_url, fetch_keys, refresh=False), kid)
        if found is None:  # a new key Google started signing with
            found = _find(_cached_jwks(config.jwks_url, fetch_keys, refresh=True), kid)
    if found is None:
        raise InvalidSignature("the token's key is not one of Google's")
    return found


def _find(jwks: Mapping[str, Any], kid: str) -> Mapping[str, Any] | None:
    keys = jwks.get("keys")
    for key in keys if isinstance(keys, list) else []:
        if isinstance(key, Mapping) and key.get("kid") == kid and key.get("kty") == "RSA":
            return key
    return None


def _cached_jwks(url: str, fetch_keys: KeyFetcher, *, refresh: bool) -> dict[str, Any]:
    cached = _jwks_cache.get(url)
    if cached is None or refresh or cached[0] < time.time():
        _jwks_cache[url] = (time.time() + JWKS_TTL_S, fetch_keys(url))
    return _jwks_cache[url][1]


def _fetch_jwks(url: str) -> dict[str, Any]:
    import requests

    try:
        response = requests.get(url, timeout=(3.05, 5))
        response.raise_for_status()
        keys = response.json()
    except (requests.RequestException, ValueError) as error:
        # Refused now; Pub/Sub retries the push with backoff.
        raise InvalidSignature(f"Google's keys could not be fetched: {type(error).__name__}") from error
    return keys if isinstance(keys, dict) else {}


def _b64(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as error:
        raise InvalidSignature("the token is not base64url") from error


def _json_part(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64(part))
    except ValueError as error:
        raise InvalidSignature("the token is not JSON") from error
    if not isinstance(value, dict):
        raise InvalidSignature("the token is not a JSON object")
    return value
