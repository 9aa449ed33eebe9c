"""The `meta` section of the configuration document (Facebook Page, Instagram, Messenger)."""

from pydantic import ConfigDict

from socialcare.modeling import Model

SECTION = "meta"


class MetaConfig(Model):
    model_config = ConfigDict(extra="ignore")

    app_secret: str = ""
    app_id: str = ""  # optional: the credentials check's token look-up then uses the app token
    verify_token: str = ""
    page_id: str = ""
    ig_user_id: str = ""
    page_access_token: str = ""
    graph_base: str = "https://graph.facebook.com/v21.0"
    page_name: str = ""  # the Page's name, shown on our own replies on Facebook
    ig_username: str = ""  # the Instagram account's username, shown on our own replies there
