"""HMAC signatures as the platforms compute them. Always over the raw request bytes; always compared in
constant time."""

import base64
import hashlib
import hmac


def hmac_sha256(secret: bytes | str, message: bytes | str) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    msg = message.encode() if isinstance(message, str) else message
    return hmac.new(key, msg, hashlib.sha256).digest()


def sha256_base64(secret: bytes | str, message: bytes | str) -> str:
    return "sha256=" + base64.b64encode(hmac_sha256(secret, message)).decode()


def sha256_hex(secret: bytes | str, message: bytes | str) -> str:
    return "sha256=" + hmac_sha256(secret, message).hex()


def matches(expected: str, received: str | None) -> bool:
    if not received or not expected:
        return False
    return hmac.compare_digest(expected.encode(), received.strip().encode())


def standard_webhooks_signature(secret: str, message_id: str, timestamp: int | str, body: bytes) -> str:
    """The Standard Webhooks v1 signature: HMAC-SHA256 over "{id}.{timestamp}.{body}" keyed with the
    base64-decoded part of a `whsec_` secret. Returns "v1,<base64>"."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac_sha256(key, signed)).decode()
