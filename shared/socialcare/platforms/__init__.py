"""Platform adapters: one module per platform, each verifying, parsing and (in replies.py) posting. What
they share is here."""

from pydantic import BaseModel, ValidationError

from socialcare.errors import MalformedPayload


def validate_payload[ModelT: BaseModel](model: type[ModelT], item: object, where: str) -> ModelT:
    """Parse one part of a platform's payload; a malformed part is a 400 naming where it is wrong."""
    try:
        return model.model_validate(item)
    except ValidationError as error:
        first = error.errors()[0]
        location = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"])
        raise MalformedPayload(f"{where}{location}".lstrip(".") + f": {first['msg']}") from error
