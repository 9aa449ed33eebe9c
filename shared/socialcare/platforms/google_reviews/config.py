"""The `google_reviews` section of the configuration document (Google Business Profile reviews)."""

from typing import Any

from pydantic import ConfigDict

from socialcare.modeling import Model

SECTION = "google_reviews"
GOOGLE_CERTS = "https://www.googleapis.com/oauth2/v3/certs"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret


class GoogleReviewsConfig(Model):
    model_config = ConfigDict(extra="ignore")

    # The `aud` of the push subscription's OIDC token: the push endpoint's URL unless the subscription names
    # another audience. Empty: every push is refused.
    audience: str = ""
    # The service account the push subscription signs as; empty: any Google-signed token for `audience`.
    service_account_email: str = ""
    jwks_url: str = GOOGLE_CERTS  # Google's signing keys, fetched and cached by the warm function
    jwks: dict[str, Any] | None = None  # fixed keys instead of jwks_url (tests, air-gapped checks)
    # The OAuth client and the brand's refresh token (business.manage scope): access tokens are got from
    # `token_url` and renewed before they expire. Or a fixed `access_token` (expires within the hour).
    client_id: str = ""
    client_secret: str = ""
    refresh_token: str = ""
    token_url: str = GOOGLE_TOKEN_URL
    access_token: str = ""
    api_base: str = "https://mybusiness.googleapis.com/v4"
    business_name: str = ""  # the business as reviewers see it, on our own replies

    @property
    def refreshes(self) -> bool:
        """The refresh flow is configured: access tokens are got and renewed, not fixed."""
        return bool(self.client_id and self.client_secret and self.refresh_token)

    @property
    def can_read(self) -> bool:
        """Some way to call the Business Profile API is configured."""
        return self.refreshes or bool(self.access_token)
