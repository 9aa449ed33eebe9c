"""Meta's webhook checks, shared by every Meta app's webhook (Facebook, Instagram, Messenger and Threads): the
`hub.*` subscription GET and the `x-hub-signature-256` HMAC over the raw request bytes."""

from collections.abc import Mapping

from socialcare.errors import InvalidSignature, MalformedPayload, NotConfigured, WrongVerifyToken
from socialcare.signatures import matches, sha256_hex

SIGNATURE_HEADER = "x-hub-signature-256"
LEGACY_SIGNATURE_HEADER = "x-hub-signature"


def answer_subscription(query: Mapping[str, str], verify_token: str, section: str) -> str:
    """Answer the `hub.mode=subscribe` check: returns the challenge to echo back as plain text. `section`
    names the configuration section in the error when the verify token is not configured."""
    if not verify_token:
        raise NotConfigured(f"{section}.verify_token is not configured")
    if query.get("hub.mode") != "subscribe":
        raise MalformedPayload("hub.mode must be subscribe")
    challenge = query.get("hub.challenge")
    if not challenge:
        raise MalformedPayload("the hub.challenge query parameter is required")
    if not matches(verify_token, query.get("hub.verify_token")):
        raise WrongVerifyToken("wrong hub.verify_token")
    return challenge


def check_signature(raw_body: bytes, headers: Mapping[str, str], app_secret: str, section: str) -> None:
    """Check the SHA-256 signature over the raw bytes (Meta signs its own escaping of non-ASCII); the SHA-1
    legacy header alone is refused."""
    if not app_secret:
        raise NotConfigured(f"{section}.app_secret is not configured")
    received = headers.get(SIGNATURE_HEADER)
    if received is None and LEGACY_SIGNATURE_HEADER in headers:
        raise InvalidSignature(
            f"missing {SIGNATURE_HEADER} (the SHA-1 {LEGACY_SIGNATURE_HEADER} is not enough)"
        )
    if not matches(sha256_hex(app_secret, raw_body), received):
        raise InvalidSignature(f"missing or wrong {SIGNATURE_HEADER}")
