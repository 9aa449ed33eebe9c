"""DynamoDB data access: the only package that talks to the table. One module per entity; they share the
table, its key layout and the error mapping below."""

from typing import Any

import boto3
from botocore.exceptions import ClientError

from socialcare.errors import StorageUnavailable


def table(table_name: str) -> Any:
    return boto3.resource("dynamodb").Table(table_name)


def is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in (
        "ConditionalCheckFailedException",
        "TransactionCanceledException",
    )


def plain(value: Any) -> Any:
    """DynamoDB returns numbers as Decimal; the models want ints."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if type(value).__name__ == "Decimal":
        return int(value)
    return value


__all__ = ["ClientError", "StorageUnavailable", "is_condition_failure", "plain", "table"]
