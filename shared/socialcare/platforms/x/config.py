"""The `x` section of the configuration document."""

from pydantic import ConfigDict

from socialcare.modeling import Model

SECTION = "x"


class XConfig(Model):
    model_config = ConfigDict(extra="ignore")

    consumer_secret: str = ""
    oauth2_client_secret: str = ""
    brand_user_id: str = ""
    brand_handle: str = ""  # the brand's @handle, shown on our own replies
    api_base: str = "https://api.x.com"
    bearer_token: str = ""

    @property
    def crc_secret(self) -> str:
        # X keys the CRC with the OAuth 2.0 client secret when the app has one, else the consumer secret.
        return self.oauth2_client_secret or self.consumer_secret
