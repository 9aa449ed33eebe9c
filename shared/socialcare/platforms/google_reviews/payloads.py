"""Google's Pub/Sub push of a review notification, as Pub/Sub sends it: shared by the tests, the simulator
and `socialcare simulate`."""

import base64
import json
from typing import Any


def review_name(review_id: str, account: str = "1000", location: str = "2000") -> str:
    return f"accounts/{account}/locations/{location}/reviews/{review_id}"


def push(review_id: str, kind: str = "NEW_REVIEW", message_id: str | None = None) -> dict[str, Any]:
    name = review_name(review_id)
    data = {"type": kind, "review": name, "location": name.rsplit("/reviews/", 1)[0]}
    return {
        "message": {
            "data": base64.b64encode(json.dumps(data).encode()).decode(),
            "messageId": message_id or f"m-{review_id}-{kind}",
            "publishTime": "2026-11-30T10:00:00Z",
            "attributes": {},
        },
        "subscription": "projects/brand/subscriptions/reviews-push",
    }


def review(review_id: str, comment: str, reviewer: str, stars: str = "TWO") -> dict[str, Any]:
    """A review as GET .../reviews/{id} answers it."""
    return {
        "name": review_name(review_id),
        "reviewId": review_id,
        "reviewer": {"displayName": reviewer},
        "starRating": stars,
        "comment": comment,
        "createTime": "2026-11-30T09:59:00Z",
        "updateTime": "2026-11-30T09:59:00Z",
    }


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def oidc_token(private_key_pem: str, kid: str, claims: dict[str, Any]) -> str:
    """An RS256 JWT as Google signs a push subscription's token (tests and local runs sign with their own
    key, which the configuration's `jwks` then holds)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    header = _b64url(json.dumps({"alg": "RS256", "kid": kid, "typ": "JWT"}).encode())
    body = _b64url(json.dumps(claims).encode())
    signature = key.sign(f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{body}.{_b64url(signature)}"


def claims(
    audience: str, now: float, email: str = "pubsub-push@brand.iam.gserviceaccount.com"
) -> dict[str, Any]:
    return {
        "aud": audience,
        "iss": "https://accounts.google.com",
        "iat": int(now),
        "exp": int(now) + 3600,
        "email": email,
        "email_verified": True,
        "sub": "112233445566778899",
    }


def jwks_of(private_key_pem: str, kid: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.public_key().public_numbers()

    def encoded(value: int) -> str:
        return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return {
        "keys": [
            {
                "kty": "RSA",
                "kid": kid,
                "alg": "RS256",
                "use": "sig",
                "n": encoded(numbers.n),
                "e": encoded(numbers.e),
            }
        ]
    }
