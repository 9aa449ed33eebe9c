"""The environment, read once and validated (never scattered os.environ reads), one model per concern.

Each concern is a small model of the variables it reads (`Table`, `Notifications`, `ReplyLinks`, ...); a
composition root composes the ones it needs (`class DispatchSettings(Table, Notifications, ...)`), and each
handler module loads its function's composition at import, so a function deployed without a variable stops
at its cold start with a message naming it, not on the first request that needs it. The template gives each
function exactly these variables (Globals: only what every function reads).

`load(Model)` caches per environment. On Lambda that is os.environ; the local stack, which runs every
function in one process, installs each function's own environment for its import and its invocations
(`use_environment`), so a handler there sees only what the template gives its function."""

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from socialcare.modeling import Model
from socialcare.singletons import one_per_process

# "urgent=5,normal=15,low=60": minutes per priority name.
PER_PRIORITY = r"^urgent=\d+,normal=\d+,low=\d+$"


class MissingSettings(RuntimeError):
    """The environment lacks (or has a malformed) variable a function needs: a deployment mistake."""


class Concern(Model):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class Table(Concern):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)


class PlatformSections(Concern):
    # Each section's secret: "x=<secret id>,meta=<secret id>,..." (a platform added later adds its own).
    section_secret_ids: str = Field(
        alias="SECTION_SECRET_IDS", pattern=r"^[a-z0-9_-]+=[^,=]+(,[a-z0-9_-]+=[^,=]+)*$"
    )


class FormKey(Concern):
    # The secret the form nonces' key comes from (random, made by the template).
    reply_form_key_secret_id: str = Field(alias="REPLY_FORM_KEY_SECRET_ID", min_length=1)


class Notifications(Concern):
    notification_topic_arn: str = Field(alias="NOTIFICATION_TOPIC_ARN", min_length=1)


class ReplyQueue(Concern):
    reply_queue_url: str = Field(alias="REPLY_QUEUE_URL", min_length=1)


class PublicUrl(Concern):
    # Where links sent to people point (reply pages, surveys): the HTTP API's URL or PublicBaseUrl.
    public_base_url: str = Field(alias="PUBLIC_BASE_URL", min_length=1)


class LinkLifetime(Concern):
    reply_link_ttl_hours: int = Field(alias="REPLY_LINK_TTL_HOURS", ge=1)

    @property
    def reply_link_ttl(self) -> timedelta:
        return timedelta(hours=self.reply_link_ttl_hours)


class ReplyLinks(PublicUrl, LinkLifetime):
    """Reply links sent to agents: where they point and how long they stay valid."""


class OwnAddress(Concern):
    # A function behind the HTTP API cannot name the API's URL (a circular reference): PublicBaseUrl when
    # set, empty for "the domain the request came in on".
    public_base_url: str = Field(alias="PUBLIC_BASE_URL")


class Deadlines(Concern):
    escalation_minutes: str = Field(alias="ESCALATION_MINUTES", pattern=PER_PRIORITY)

    @property
    def escalation_deadlines(self) -> dict[str, timedelta]:
        """Minutes a mention may go unopened, per priority name."""
        return _per_priority(self.escalation_minutes)


class Routing(Deadlines):
    max_open_assignments: int = Field(alias="MAX_OPEN_ASSIGNMENTS", ge=1)


class Texting(Concern):
    # Text back (socialcare.replies.by_text): the two-way number alerts come from; empty = off, no codes.
    sms_origination_number: str = Field(alias="SMS_ORIGINATION_NUMBER", pattern=r"^(\+[1-9]\d{6,14})?$")
    # Only the local stack sets this: moto has no End User Messaging, so texts go through SNS to its outbox.
    sms_via_sns: bool = Field(default=False, alias="SMS_VIA_SNS")


class Emailing(Concern):
    # Reply to the email (socialcare.replies.by_email): the domain SES receives answers at; empty = off.
    reply_email_domain: str = Field(alias="REPLY_EMAIL_DOMAIN", pattern=r"^([a-z0-9-]+(\.[a-z0-9-]+)+)?$")


class InboundMail(Concern):
    inbound_mail_bucket: str = Field(alias="INBOUND_MAIL_BUCKET", min_length=3)


class Targets(Concern):
    response_target_minutes: str = Field(alias="RESPONSE_TARGET_MINUTES", pattern=PER_PRIORITY)
    survey_delay_minutes: int = Field(alias="SURVEY_DELAY_MINUTES", ge=0)

    @property
    def response_targets(self) -> dict[str, timedelta]:
        """The first response time each priority should meet (the SLA of the reports)."""
        return _per_priority(self.response_target_minutes)


def _per_priority(value: str) -> dict[str, timedelta]:
    pairs = (part.split("=") for part in value.split(","))
    return {name: timedelta(minutes=int(minutes)) for name, minutes in pairs}


# ---------------------------------------------------------------- reading
_environment: ContextVar[Mapping[str, str] | None] = ContextVar("socialcare_environment", default=None)
_cache_lock = threading.Lock()


@one_per_process
def _loaded() -> dict[int, tuple[Mapping[str, str], dict[type[BaseModel], BaseModel]]]:
    """The models loaded so far, per environment (tests forget them with everything else: forget_all)."""
    return {}


def environment() -> Mapping[str, str]:
    """The environment of the function running: os.environ, unless the local stack installed another."""
    installed = _environment.get()
    return os.environ if installed is None else installed


@contextmanager
def use_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """Run a function's import or invocation with `variables` as its environment (the local stack)."""
    token = _environment.set(variables)
    try:
        yield
    finally:
        _environment.reset(token)


def load[ModelT: BaseModel](model: type[ModelT]) -> ModelT:
    """`model` read from the environment, once per environment; MissingSettings names what is wrong."""
    variables = environment()
    with _cache_lock:
        _, models = _loaded().setdefault(id(variables), (variables, {}))
        cached = models.get(model)
    if isinstance(cached, model):
        return cached
    aliases = [field.alias or name for name, field in model.model_fields.items()]
    try:
        value = model.model_validate({alias: variables[alias] for alias in aliases if alias in variables})
    except ValidationError as error:
        raise MissingSettings(describe(model, error)) from None  # the values may be secrets' names: no echo
    with _cache_lock:
        models[model] = value
    return value


def describe(model: type[BaseModel], error: ValidationError) -> str:
    missing = [str(e["loc"][0]) for e in error.errors() if e["type"] == "missing"]
    invalid = [f"{e['loc'][0]} ({e['msg'].lower()})" for e in error.errors() if e["type"] != "missing"]
    parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
        [f"invalid {', '.join(invalid)}"] if invalid else []
    )
    return f"{model.__name__}: the environment is {'; '.join(parts)} (set by template.yaml for this function)"
