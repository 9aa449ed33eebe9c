"""The platform configuration document: one Secrets Manager secret (JSON), read through Powertools Parameters
and cached for POWERTOOLS_PARAMETERS_MAX_AGE seconds, so a warm function does not call Secrets Manager.

The document has one section per platform adapter ({"x": {...}, "meta": {...}, "sources": {...}}); each
adapter owns its section's model (`section(key, Model)`), so a new platform adds a section without a change
here."""

from typing import Any

from aws_lambda_powertools.utilities import parameters
from pydantic import BaseModel, ConfigDict, PrivateAttr

from socialcare.settings import get_settings


class PlatformConfig(BaseModel):
    # Every top-level key is a platform's section, validated by its adapter's model on first use.
    model_config = ConfigDict(extra="allow")

    _sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    def section[SectionT: BaseModel](self, key: str, model: type[SectionT]) -> SectionT:
        """The `key` section as `model` (its defaults when the document has none)."""
        cached = self._sections.get(key)
        if isinstance(cached, model):
            return cached
        raw: Any = (self.model_extra or {}).get(key)
        value = model.model_validate(raw if raw is not None else {})
        self._sections[key] = value
        return value

    def raw_section(self, key: str) -> Any:
        return (self.model_extra or {}).get(key)


def get_platform_config() -> PlatformConfig:
    document = parameters.get_secret(get_settings().config_secret_id, transform="json")
    return PlatformConfig.model_validate(document)
