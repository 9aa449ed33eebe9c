"""The AWS clients of a process, made by botocore, which boto3 wraps.

`import boto3` also loads s3transfer (through boto3.compat) and boto3's resource layer, a third of
`import boto3; boto3.client("dynamodb")` on a cold start, and this code uses neither: its stores speak to
DynamoDB's low-level client (socialcare.data.dynamo). botocore resolves region, credentials and
AWS_ENDPOINT_URL from the environment as boto3's clients do.

One session per process, as boto3's default session: the service models it loads are shared by every client.
Clients are made under a lock, because a botocore session is not safe to create clients from two threads at
once (the local stack runs functions in threads)."""

import threading
from typing import Any

from botocore.config import Config
from botocore.session import Session, get_session

from socialcare.singletons import one_per_process

_CREATING = threading.Lock()


@one_per_process
def session() -> Session:
    return get_session()


def client(service: str, config: Config | None = None) -> Any:
    """A new client of `service` (a botocore service name: "dynamodb", "sns", "sqs", ...)."""
    with _CREATING:
        return session().create_client(service, config=config)
