"""What every form behind a token link shares (the reply page, the survey page, the team pages): its nonce,
an HMAC of the token and the time the form was rendered under a key of the form's own secret; the
cross-site check; and the urlencoded body. Its own module, so a page imports these without another page's
flow."""

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from socialcare.secret_store import read_secret
from socialcare.settings import FormKey, load

MAX_FORM_BYTES = 64 * 1024  # the longest reply anywhere is 10,000 characters, at most 4 bytes each
NONCE_SKEW = timedelta(minutes=5)
_NONCE = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{43})$")


# ---------------------------------------------------------------- the form nonce
def nonce_key_from_config(secret_text: str) -> bytes:
    """The form nonce key: derived from the reply form's own secret (random, made by the template), under a
    label of its own. The page reads no platform secret at all."""
    return hmac.new(secret_text.encode("utf-8"), b"socialcare reply-form nonce v1", hashlib.sha256).digest()


def get_nonce_key() -> bytes:
    # Powertools caches the secret (POWERTOOLS_PARAMETERS_MAX_AGE), like the platform configuration.
    secret = read_secret(load(FormKey).reply_form_key_secret_id)
    return nonce_key_from_config(secret if isinstance(secret, str) else bytes(secret).decode("utf-8"))


def form_nonce(key: bytes, token_hash: str, rendered_at: int) -> str:
    mac = hmac.new(key, f"reply-form|{token_hash}|{rendered_at}".encode(), hashlib.sha256).digest()
    return f"{rendered_at}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def nonce_rendered_since(key: bytes, token_hash: str, nonce: str, issued_at: datetime, now: datetime) -> bool:
    """Rendered by us, for the token with this hash, after the token was issued (and not in the future).
    Every form behind a token link (the reply page, the survey page) checks its nonce with this."""
    found = _NONCE.fullmatch(nonce)
    if found is None:
        return False
    rendered_at = int(found.group(1))
    expected = form_nonce(key, token_hash, rendered_at)
    if not hmac.compare_digest(expected.encode(), nonce.encode()):
        return False
    earliest = (issued_at - NONCE_SKEW).timestamp()
    return earliest <= rendered_at <= (now + NONCE_SKEW).timestamp()


# ---------------------------------------------------------------- request checks
def is_cross_site(headers: Mapping[str, str]) -> bool:
    """Whether a browser says this POST comes from another site. Headers are lower case (HTTP API)."""
    fetch_site = headers.get("sec-fetch-site", "").strip().lower()
    if fetch_site:
        # "none": the user made the request (typed, bookmarked); "same-site" is a sibling host, not us.
        return fetch_site not in ("same-origin", "none")
    origin = headers.get("origin", "").strip()
    if not origin or origin == "null":
        return False  # no browser claim either way: the nonce still has to match
    host = headers.get("host", "").strip().lower()
    try:
        origin_host = urlsplit(origin).netloc.lower()
    except ValueError:
        return True
    return not host or origin_host != host


def parse_form(body: bytes, content_type: str) -> dict[str, str] | None:
    """The posted form fields (last value wins), or None when it is not a urlencoded UTF-8 form. Percent
    escapes must decode as UTF-8 too: `%ff%fe` is refused, never posted as replacement characters."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        return None
    try:
        text = body.decode("utf-8")
        pairs = parse_qs(
            text, keep_blank_values=True, strict_parsing=False, max_num_fields=20, errors="strict"
        )
    except (UnicodeDecodeError, ValueError):
        return None
    return {name: values[-1] for name, values in pairs.items()}
