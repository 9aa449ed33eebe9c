"""DynamoDB data access: the only package that talks to the table. One module per entity; the table's
key layout and indexes are socialcare.data.table_map; how every store calls DynamoDB is
socialcare.data.dynamo."""

from botocore.exceptions import ClientError

from socialcare.data.dynamo import is_condition_failure, plain, table
from socialcare.errors import StorageUnavailable

__all__ = ["ClientError", "StorageUnavailable", "is_condition_failure", "plain", "table"]
