"""The daily credentials check and `socialcare doctor`, in-process against moto and the platform simulator:
a dead Meta token (the token debug look-up answers it expired) emails the leads once a day, and doctor
refuses the stack, naming the configuration key to fix."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.cli import main as cli_main
from infra.simulator.server import PlatformSimulator
from socialcare.data import table
from socialcare.data.agents import AgentRecord, AgentStore
from tests.integration.conftest import Aws, Invoke
from tests.integration.reply_support import ALICE, LEAD, point_config_at

pytestmark = pytest.mark.integration

ALWAYS = "Mon-Sun 00:00-24:00"


@pytest.fixture
def checked_stack(
    aws: Aws, running_simulator: PlatformSimulator, dev_config: dict[str, Any]
) -> Callable[..., None]:
    running_simulator.reset()
    point_config_at(aws, dev_config, running_simulator)
    store = AgentStore(table(aws.table_name))
    for agent in (ALICE, LEAD):
        on_shift = agent.model_copy(update={"shift": agent.shift.model_copy(update={"weekly": ALWAYS})})
        store.add(AgentRecord(agent=on_shift))

    def expire_meta_token(**token: Any) -> None:
        running_simulator.set_meta_token(**token)

    return expire_meta_token


def lead_emails(aws: Aws) -> list[tuple[str, str]]:
    from moto.sns.models import sns_backends

    topic = sns_backends["123456789012"]["us-east-1"].topics[aws.environment["NOTIFICATION_TOPIC_ARN"]]
    return [(subject, message) for _, message, subject, _, _ in topic.sent_notifications]


def doctor(aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, Any]:
    outputs = aws.stack.outputs(aws.resolver)
    monkeypatch.setattr("infra.cli.doctor.stack_outputs", lambda _arguments: outputs)
    with pytest.raises(SystemExit) as exit_status:
        cli_main(["doctor", "--json"])
        raise SystemExit(0)
    return int(exit_status.value.code or 0), json.loads(capsys.readouterr().out)


def test_an_expired_meta_token_emails_the_leads_once_a_day(
    aws: Aws, handlers: Callable[[str], Invoke], checked_stack: Callable[..., None]
) -> None:
    checked_stack(is_valid=False, expires_at=int((datetime.now(UTC) - timedelta(days=1)).timestamp()))
    check = handlers("CredentialsCheckFunction")

    first = check({})
    assert [p["key"] for p in first["problems"]] == ["meta.page_access_token"]
    assert first["emailed"] == ["meta.page_access_token"]
    (subject, body), *others = lead_emails(aws)
    assert not others, "one email: the stack has one lead"
    assert "credentials" in subject and subject.isascii() and len(subject) < 100
    assert "meta.page_access_token" in body and "long-lived Page access token" in body

    second = check({})  # an on-demand run later the same day
    assert second["problems"] == first["problems"] and second["emailed"] == []
    assert len(lead_emails(aws)) == 1


def test_a_soon_expiring_token_warns_without_blocking(
    aws: Aws, handlers: Callable[[str], Invoke], checked_stack: Callable[..., None]
) -> None:
    checked_stack(is_valid=True, expires_at=int((datetime.now(UTC) + timedelta(days=3)).timestamp()))
    report = handlers("CredentialsCheckFunction")({})
    (problem,) = report["problems"]
    assert problem["key"] == "meta.page_access_token" and problem["blocking"] is False
    assert "expires in" in problem["problem"]
    assert len(lead_emails(aws)) == 1  # still emailed: a person must renew it before it dies


def test_good_credentials_email_nobody(
    aws: Aws, handlers: Callable[[str], Invoke], checked_stack: Callable[..., None]
) -> None:
    checked_stack(is_valid=True, expires_at=0)
    report = handlers("CredentialsCheckFunction")({})
    assert sorted(report["checked"]) == ["google_reviews", "meta", "reviews", "threads", "x"]
    assert report["problems"] == []
    assert lead_emails(aws) == []


def test_doctor_exits_non_zero_naming_the_expired_key(
    aws: Aws,
    checked_stack: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checked_stack(is_valid=False)
    status, answer = doctor(aws, monkeypatch, capsys)
    assert status == 1 and answer["ready"] is False
    failing = [check for check in answer["checks"] if check["status"] == "fail"]
    assert [check["check"] for check in failing] == ["credentials meta"]
    assert "meta.page_access_token" in failing[0]["detail"]
    assert lead_emails(aws) == [], "doctor looks; only the check emails"


def test_doctor_passes_a_ready_stack_and_names_what_is_missing(
    aws: Aws,
    checked_stack: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    checked_stack(is_valid=True)
    status, answer = doctor(aws, monkeypatch, capsys)
    statuses = {check["check"]: check["status"] for check in answer["checks"]}
    assert status == 0 and answer["ready"] is True, answer
    assert statuses["leads"] == "ok" and statuses["on shift now"] == "ok"
    assert statuses["register XWebhookUrl"] == "ok"

    AgentStore(table(aws.table_name)).remove(LEAD.email)
    status, answer = doctor(aws, monkeypatch, capsys)
    leads = next(check for check in answer["checks"] if check["check"] == "leads")
    assert status == 1 and leads["status"] == "fail" and "no lead" in leads["detail"]
