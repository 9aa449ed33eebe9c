"""Reading a secret from Secrets Manager, through Powertools Parameters (cached per process for
POWERTOOLS_PARAMETERS_MAX_AGE seconds, so a warm function does not call Secrets Manager).

Parameters is imported by the first read, not by this module: its providers import boto3 at their top, a
tenth of a second of every cold start (socialcare.aws_clients). The functions that read no secret (the
dispatcher, the escalation sweep, the answers by text and email, the reports) never pay it; the ones that do
(the webhooks, the pages, the sender, the poller) pay it at their first read, as they pay the read."""

from typing import Any


def read_secret(secret_id: str) -> Any:
    """The secret's value as stored (a str)."""
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(secret_id)


def read_secret_document(secret_id: str) -> Any:
    """The secret's JSON document."""
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(secret_id, transform="json")
