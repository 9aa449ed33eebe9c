"""A Standard Webhooks source's credentials check: its reply URL answers."""

import requests

from socialcare.platforms.base import CredentialProblem
from socialcare.platforms.http import probe
from socialcare.platforms.sources.config import SourceConfig


def check_source(name: str, config: SourceConfig, session: requests.Session) -> list[CredentialProblem]:
    """A source: its reply URL answers (any answer but a server error or a missing page)."""
    key = f"sources.{name}.reply_url"
    action = f"Ask the owner of the {name} source for the URL that takes replies and put it in {key}."
    if not config.reply_url:
        return [CredentialProblem(name, key, f"{key} is empty: replies to {name} cannot be posted", action)]
    answer = probe(session, config.reply_url)
    if isinstance(answer, str):
        return [CredentialProblem(name, key, f"{key}: {answer}", action)]
    if answer.status_code >= 500 or answer.status_code in (404, 410):
        return [CredentialProblem(name, key, f"{key} answered {answer.status_code}", action)]
    return []
