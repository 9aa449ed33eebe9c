"""The `google_reviews` section of the configuration document (Google Business Profile reviews)."""

from typing import Any

from pydantic import BaseModel, ConfigDict

SECTION = "google_reviews"
GOOGLE_CERTS = "https://www.googleapis.com/oauth2/v3/certs"


class GoogleReviewsConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # The `aud` of the push subscription's OIDC token: the push endpoint's URL unless the subscription names
    # another audience. Empty: every push is refused.
    audience: str = ""
    # The service account the push subscription signs as; empty: any Google-signed token for `audience`.
    service_account_email: str = ""
    jwks_url: str = GOOGLE_CERTS  # Google's signing keys, fetched and cached by the warm function
    jwks: dict[str, Any] | None = None  # fixed keys instead of jwks_url (tests, air-gapped checks)
    access_token: str = ""  # an OAuth token with the business.manage scope
    api_base: str = "https://mybusiness.googleapis.com/v4"
    business_name: str = ""  # the business as reviewers see it, on our own replies
