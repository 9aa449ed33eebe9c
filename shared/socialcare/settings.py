"""The environment every function runs with, read once and validated (never scattered os.environ reads)."""

import os
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from socialcare.singletons import one_per_process


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    stage: str = Field(default="dev", alias="STAGE")
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    # One secret per section of the configuration document, and one for the reply form's nonce key: the
    # names are no secret, but each function's role may read only the ones it needs.
    reply_form_key_secret_id: str = Field(default="", alias="REPLY_FORM_KEY_SECRET_ID")
    # Each section's secret: "x=<secret id>,meta=<secret id>,..." (a platform added later adds its own).
    section_secret_ids: str = Field(
        default="", alias="SECTION_SECRET_IDS", pattern=r"^([a-z0-9_-]+=[^,=]+(,[a-z0-9_-]+=[^,=]+)*)?$"
    )
    operations_topic_arn: str = Field(default="", alias="OPERATIONS_TOPIC_ARN")
    notification_topic_arn: str = Field(default="", alias="NOTIFICATION_TOPIC_ARN")
    reply_queue_url: str = Field(default="", alias="REPLY_QUEUE_URL")
    public_base_url: str = Field(default="", alias="PUBLIC_BASE_URL")
    reply_link_ttl_hours: int = Field(default=24, alias="REPLY_LINK_TTL_HOURS", ge=1)
    escalation_minutes: str = Field(
        default="urgent=5,normal=15,low=60",
        alias="ESCALATION_MINUTES",
        pattern=r"^urgent=\d+,normal=\d+,low=\d+$",
    )
    max_open_assignments: int = Field(default=5, alias="MAX_OPEN_ASSIGNMENTS", ge=1)
    # Text back (socialcare.replies.by_text): the two-way number alerts come from; empty = off, no codes.
    sms_origination_number: str = Field(
        default="", alias="SMS_ORIGINATION_NUMBER", pattern=r"^(\+[1-9]\d{6,14})?$"
    )
    # Only the local stack sets this: moto has no End User Messaging, so texts go through SNS to its outbox.
    sms_via_sns: bool = Field(default=False, alias="SMS_VIA_SNS")
    # Reply to the email (socialcare.replies.by_email): the domain SES receives answers at; empty = off.
    reply_email_domain: str = Field(
        default="", alias="REPLY_EMAIL_DOMAIN", pattern=r"^([a-z0-9-]+(\.[a-z0-9-]+)+)?$"
    )
    inbound_mail_bucket: str = Field(default="", alias="INBOUND_MAIL_BUCKET")
    survey_delay_minutes: int = Field(default=60, alias="SURVEY_DELAY_MINUTES", ge=0)
    response_target_minutes: str = Field(
        default="urgent=30,normal=60,low=240",
        alias="RESPONSE_TARGET_MINUTES",
        pattern=r"^urgent=\d+,normal=\d+,low=\d+$",
    )

    @property
    def escalation_deadlines(self) -> dict[str, timedelta]:
        """Minutes a mention may go unopened, per priority name."""
        pairs = (part.split("=") for part in self.escalation_minutes.split(","))
        return {name: timedelta(minutes=int(minutes)) for name, minutes in pairs}

    @property
    def response_targets(self) -> dict[str, timedelta]:
        """The first response time each priority should meet (the SLA of the reports)."""
        pairs = (part.split("=") for part in self.response_target_minutes.split(","))
        return {name: timedelta(minutes=int(minutes)) for name, minutes in pairs}

    @property
    def reply_link_ttl(self) -> timedelta:
        return timedelta(hours=self.reply_link_ttl_hours)


@one_per_process
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
