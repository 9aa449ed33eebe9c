"""The `feeds` section of the configuration document: one entry per RSS or Atom feed, by name. The name is
the platform of the feed's mentions, like a Standard Webhooks source's."""

from pydantic import ConfigDict, Field, RootModel, field_validator

from socialcare.modeling import Model
from socialcare.platforms.claimed import claimed_names
from socialcare.platforms.sources.config import SOURCE_NAME

SECTION = "feeds"


class FeedConfig(Model):
    model_config = ConfigDict(extra="ignore")

    url: str = Field(pattern=r"^https?://\S+$")
    # Words or phrases, any of which (case-insensitive, as whole words) keeps an entry; empty keeps all.
    match: list[str] = Field(default_factory=list)
    label: str = ""  # how people know the feed ("Shoe blogs"); its name when empty

    @field_validator("match")
    @classmethod
    def _no_blank_words(cls, words: list[str]) -> list[str]:
        cleaned = [word.strip() for word in words]
        if "" in cleaned:
            raise ValueError("match must not contain empty words")
        return cleaned


class FeedsConfig(RootModel[dict[str, FeedConfig]]):
    root: dict[str, FeedConfig] = Field(default_factory=dict)

    @field_validator("root")
    @classmethod
    def _feed_names(cls, feeds: dict[str, FeedConfig]) -> dict[str, FeedConfig]:
        taken = claimed_names()
        for name in feeds:
            if not SOURCE_NAME.fullmatch(name) or name in taken:
                raise ValueError(f"invalid feed name {name!r}: lowercase letters, digits, - and _")
        return feeds

    def get(self, name: str) -> FeedConfig | None:
        return self.root.get(name)
