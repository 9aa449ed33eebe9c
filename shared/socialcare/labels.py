"""How a customer is named wherever they are shown: a pure rule, for the models (socialcare.models.Author)
and for what prints stored items without building them (the command line's `mentions list`)."""


def author_label(handle: str | None, name: str | None, author_id: str) -> str:
    """How people know them: the @handle where the platform has handles, else the name (Facebook names take
    no "@"), else the platform's id."""
    return f"@{handle.lstrip('@')}" if handle else (name or author_id)
