"""The `sources` section of the configuration document: one entry per Standard Webhooks source, by name."""

import re

from pydantic import ConfigDict, Field, RootModel, field_validator

from socialcare.modeling import Model
from socialcare.platforms.claimed import claimed_names

SECTION = "sources"
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class SourceConfig(Model):
    model_config = ConfigDict(extra="ignore")

    secret: str = Field(pattern=r"^whsec_[A-Za-z0-9+/=]+$")
    reply_url: str = ""
    display_name: str = ""  # how people know the source ("Trustpilot"); its name when empty


class SourcesConfig(RootModel[dict[str, SourceConfig]]):
    root: dict[str, SourceConfig] = Field(default_factory=dict)

    @field_validator("root")
    @classmethod
    def _source_names(cls, sources: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        taken = claimed_names()
        for name in sources:
            # A source's name is its platform name: it must not pose as another platform.
            if not SOURCE_NAME.fullmatch(name) or name in taken:
                raise ValueError(f"invalid source name {name!r}: lowercase letters, digits, - and _")
        return sources

    def get(self, name: str) -> SourceConfig | None:
        return self.root.get(name)
