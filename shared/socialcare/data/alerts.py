"""Alerts already sent, so a problem is emailed once a day until it is fixed: one item per subject and UTC
date (key: socialcare.data.table_map).

The item is put only if it is not there (a conditional put): two checks on the same day, the daily one and
one on demand, email the leads once. DynamoDB's TTL (`expires_at`) removes it after a few days."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from socialcare.data.dynamo import is_condition_failure
from socialcare.data.table_map import daily_alert_key

KEEP_FOR = timedelta(days=3)


@dataclass
class AlertStore:
    table: Any

    def claim_daily(self, subject: str, now: datetime) -> bool:
        """True when this subject has not been alerted yet today (UTC): the caller sends the alert."""
        day: date = now.date()
        try:
            self.table.put_item(
                Item={
                    **daily_alert_key(subject, day.isoformat()),
                    "entity": "alert",
                    "alerted_at": now.isoformat(),
                    "expires_at": int((now + KEEP_FOR).timestamp()),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if is_condition_failure(error):
                return False
            raise
        return True

    def release(self, subject: str, now: datetime) -> None:
        """Forget today's claim: the email could not be sent, the next check must try again."""
        self.table.delete_item(Key=daily_alert_key(subject, now.date().isoformat()))
