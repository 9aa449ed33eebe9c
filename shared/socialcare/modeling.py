"""The base of every pydantic model here: a model builds its validator and serializer on first use
(defer_build), not when its module is imported, so a cold start pays for the models its function uses,
not for every model of the modules it imports."""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
