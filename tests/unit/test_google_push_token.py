"""Google's push token: accepted only when signed by a listed key, for our audience, by Google, current."""

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from socialcare.errors import InvalidSignature
from socialcare.platforms.google_reviews import GoogleReviewsConfig, payloads
from socialcare.platforms.google_reviews.push import delivery_id, parse_push
from socialcare.platforms.google_reviews.token import verify_push_token

AUDIENCE = "https://care.example/webhooks/google-reviews"
NOW = 1_800_000_000.0
PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)


def _bearer(claims: dict[str, Any], kid: str = "g1") -> dict[str, str]:
    return {"authorization": f"Bearer {payloads.oidc_token(PEM, kid, claims)}"}


def test_google_issuer_with_or_without_scheme_is_accepted_and_another_is_refused() -> None:
    config = GoogleReviewsConfig(audience=AUDIENCE, jwks=payloads.jwks_of(PEM, "g1"))
    for issuer in ("accounts.google.com", "https://accounts.google.com"):
        claims = {**payloads.claims(AUDIENCE, NOW), "iss": issuer}
        assert verify_push_token(_bearer(claims), config, now=NOW)["iss"] == issuer
    with pytest.raises(InvalidSignature, match="issued by Google"):
        verify_push_token(_bearer({**payloads.claims(AUDIENCE, NOW), "iss": "evil.example"}), config, now=NOW)


def test_keys_are_fetched_and_refetched_for_an_unknown_kid() -> None:
    fetched: list[str] = []
    rotations = iter([payloads.jwks_of(PEM, "old"), payloads.jwks_of(PEM, "new")])

    def fetch(url: str) -> dict[str, Any]:
        fetched.append(url)
        return next(rotations)

    config = GoogleReviewsConfig(audience=AUDIENCE, jwks_url="https://keys.test/certs-rotation")
    verify_push_token(_bearer(payloads.claims(AUDIENCE, NOW), kid="new"), config, now=NOW, fetch_keys=fetch)
    assert fetched == ["https://keys.test/certs-rotation"] * 2


def test_a_configured_service_account_must_be_the_tokens_verified_email() -> None:
    config = GoogleReviewsConfig(
        audience=AUDIENCE, jwks=payloads.jwks_of(PEM, "g1"), service_account_email="push@brand.iam"
    )
    with pytest.raises(InvalidSignature, match="service account"):
        verify_push_token(_bearer(payloads.claims(AUDIENCE, NOW)), config, now=NOW)
    ok = payloads.claims(AUDIENCE, NOW, email="push@brand.iam")
    assert verify_push_token(_bearer(ok), config, now=NOW)["email"] == "push@brand.iam"


def test_the_push_names_the_review_and_other_notifications_are_ignored() -> None:
    (mention,) = parse_push(payloads.push("abc-1")).mentions
    assert mention.external_id == "abc-1" and mention.raw["reply_refs"]["review"].endswith("/reviews/abc-1")
    assert parse_push(payloads.push("q", kind="NEW_QUESTION")).ignored == ["type:NEW_QUESTION"]
    assert delivery_id(b'{"message": {"messageId": "77"}}') == "google-77"
