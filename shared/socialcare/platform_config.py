"""The platform configuration document: one JSON section per platform (`x`, `meta`, `sources`), each in a
Secrets Manager secret of its own, so each function can read only the platforms it serves (the X webhook
cannot read Meta's token). Read through Powertools Parameters and cached for POWERTOOLS_PARAMETERS_MAX_AGE
seconds, so a warm function does not call Secrets Manager."""

import re

from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict, Field, field_validator

from socialcare.models import BUILT_IN_PLATFORMS
from socialcare.settings import get_settings


class XConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    consumer_secret: str = ""
    oauth2_client_secret: str = ""
    brand_user_id: str = ""
    api_base: str = "https://api.x.com"
    bearer_token: str = ""

    @property
    def crc_secret(self) -> str:
        # X keys the CRC with the OAuth 2.0 client secret when the app has one, else the consumer secret.
        return self.oauth2_client_secret or self.consumer_secret


class MetaConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    app_secret: str = ""
    app_id: str = ""  # optional: the token debug look-up then uses the app token instead of the Page token
    verify_token: str = ""
    page_id: str = ""
    ig_user_id: str = ""
    page_access_token: str = ""
    graph_base: str = "https://graph.facebook.com/v21.0"


class SourceConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    secret: str = Field(pattern=r"^whsec_[A-Za-z0-9+/=]+$")
    reply_url: str = ""


SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class PlatformConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    x: XConfig = Field(default_factory=XConfig)
    meta: MetaConfig = Field(default_factory=MetaConfig)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)

    @field_validator("sources")
    @classmethod
    def _source_names(cls, sources: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        for name in sources:
            # A source's name is its platform name: it must not pose as a built-in platform.
            if not SOURCE_NAME.fullmatch(name) or name in BUILT_IN_PLATFORMS:
                raise ValueError(f"invalid source name {name!r}: lowercase letters, digits, - and _")
        return sources


# The document's sections, in the order the README lists them.
SECTIONS = ("x", "meta", "sources")


def secret_id_of(section: str) -> str:
    settings = get_settings()
    ids = {"x": settings.x_secret_id, "meta": settings.meta_secret_id, "sources": settings.sources_secret_id}
    return ids[section]


def _section(section: str) -> object:
    return parameters.get_secret(secret_id_of(section), transform="json")


def get_x_config() -> XConfig:
    return XConfig.model_validate(_section("x"))


def get_meta_config() -> MetaConfig:
    return MetaConfig.model_validate(_section("meta"))


def get_sources_config() -> dict[str, SourceConfig]:
    return PlatformConfig.model_validate({"sources": _section("sources")}).sources


def get_platform_config() -> PlatformConfig:
    """Every platform's section: only for the functions that serve them all (reply sender, credentials)."""
    return PlatformConfig(x=get_x_config(), meta=get_meta_config(), sources=get_sources_config())
