"""The `bluesky` section of the configuration document: the brand's account and an app password (Settings,
Privacy and security, App passwords), never the account's own password."""

from pydantic import ConfigDict

from socialcare.modeling import Model

SECTION = "bluesky"


class BlueskyConfig(Model):
    model_config = ConfigDict(extra="ignore")

    handle: str = ""  # the brand's handle ("brand.bsky.social"); empty: Bluesky is not polled
    app_password: str = ""
    service: str = "https://bsky.social"  # the account's PDS (or the entryway that routes to it)

    @property
    def configured(self) -> bool:
        return bool(self.handle and self.app_password)
