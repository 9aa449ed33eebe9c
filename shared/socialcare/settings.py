"""The environment every function runs with, read once and validated (never scattered os.environ reads)."""

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    stage: str = Field(default="dev", alias="STAGE")
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    config_secret_id: str = Field(alias="CONFIG_SECRET_ID", min_length=1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
