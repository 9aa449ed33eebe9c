"""The platform configuration document: one section per platform adapter ({"x": {...}, "meta": {...},
"sources": {...}}), each in a Secrets Manager secret of its own, so each function reads only the sections it
uses (the X webhook cannot read Meta's token: its role may read the x secret alone). A section is read on
first use, through Powertools Parameters (socialcare.secret_store), cached for POWERTOOLS_PARAMETERS_MAX_AGE
seconds, so a warm function does not call Secrets Manager. Each adapter owns its section's model
(`section(key, Model)`), so a new platform adds a section (and its secret) without a change here."""

from collections.abc import Callable
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

from socialcare.modeling import Model
from socialcare.secret_store import read_secret_document
from socialcare.settings import PlatformSections, load

# Each section as validated from the value it was read from: Powertools hands back the same object while it
# caches a secret, so a warm function validates a section once per read of its secret, not per request.
_validated: dict[tuple[str, type[BaseModel]], tuple[Any, BaseModel]] = {}


class PlatformConfig(Model):
    # Every top-level key is a platform's section, validated by its adapter's model on first use.
    model_config = ConfigDict(extra="allow")

    _sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)
    # Reads a section the document does not hold (from its secret); None: the document is all there is.
    _loader: Callable[[str], Any] | None = PrivateAttr(default=None)

    def section[SectionT: BaseModel](self, key: str, model: type[SectionT]) -> SectionT:
        """The `key` section as `model` (its defaults when the document has none)."""
        cached = self._sections.get(key)
        if isinstance(cached, model):
            return cached
        raw = self.raw_section(key)
        known = _validated.get((key, model))
        if raw is not None and known is not None and known[0] is raw and isinstance(known[1], model):
            value = known[1]
        else:
            value = model.model_validate(raw if raw is not None else {})
            if raw is not None:
                _validated[(key, model)] = (raw, value)
        self._sections[key] = value
        return value

    def raw_section(self, key: str) -> Any:
        extra = self.model_extra if self.model_extra is not None else {}
        if key not in extra and self._loader is not None:
            extra[key] = self._loader(key)
        return extra.get(key)


def section_secret_ids(value: str) -> dict[str, str]:
    """SECTION_SECRET_IDS ("name=<secret id>,...") as {section: secret id}."""
    pairs = (pair.split("=", 1) for pair in value.split(",") if pair)
    return {name: secret_id for name, secret_id in pairs}


def _read_section(secret_ids: dict[str, str], section: str) -> Any:
    secret_id = secret_ids.get(section, "")
    return read_secret_document(secret_id) if secret_id else None


def get_platform_config() -> PlatformConfig:
    """The document, each section read from its own secret when first asked for."""
    # The secret ids are read now, in the invocation: sections may be read later in worker threads.
    secret_ids = section_secret_ids(load(PlatformSections).section_secret_ids)
    config = PlatformConfig()
    config._loader = partial(_read_section, secret_ids)
    return config
