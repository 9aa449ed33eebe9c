"""`socialcare agents|shifts|on-shift` in-process against moto: agents are stored with their email subscribed
(filter policy on their agent id), bad input is refused with a clear message and nothing stored, and shifts
are read in each agent's time zone."""

import json
from typing import Any

import boto3
import pytest

from infra.cli import agents as agents_cli
from infra.cli import main
from socialcare.data.agents import agent_id_for
from tests.integration.conftest import Aws


@pytest.fixture
def cli(aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    outputs = aws.stack.outputs(aws.resolver)
    monkeypatch.setattr(agents_cli, "stack_outputs", lambda _arguments: outputs)

    def run(*arguments: str) -> tuple[int, str, str]:
        try:
            main(list(arguments))
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def subscriptions(aws: Aws) -> list[dict[str, Any]]:
    sns = boto3.client("sns")
    topic = aws.environment["NOTIFICATION_TOPIC_ARN"]
    found = []
    for subscription in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])
        found.append({**subscription, **attributes["Attributes"]})
    return found


def agent_items(aws: Aws) -> list[dict[str, Any]]:
    return [item for item in aws.items() if item.get("entity") == "agent"]


ADD_ANN = ("agents", "add", "--name", "Ann Lee", "--email", "Ann@Example.com", "--phone", "+14155550101")


def test_add_stores_the_agent_and_subscribes_their_email_with_a_filter_policy(cli: Any, aws: Aws) -> None:
    code, out, _ = cli(*ADD_ANN, "--platforms", "x,facebook", "--languages", "en,es", "--lead")
    assert code == 0 and "ann@example.com" in out

    (subscription,) = subscriptions(aws)
    assert subscription["Protocol"] == "email" and subscription["Endpoint"] == "ann@example.com"
    assert json.loads(subscription["FilterPolicy"]) == {"agent_id": [agent_id_for("ann@example.com")]}

    code, out, _ = cli("agents", "list", "--json")
    (listed,) = json.loads(out)
    assert listed["email"] == "ann@example.com" and listed["name"] == "Ann Lee"
    assert listed["platforms"] == ["x", "facebook"] and listed["languages"] == ["en", "es"]
    assert listed["lead"] is True and listed["active"] is True
    assert listed["subscription_arn"] == subscription["SubscriptionArn"]
    assert listed["agent_id"] == agent_id_for("ann@example.com")


@pytest.mark.parametrize(
    ("email", "phone", "complaint"),
    [
        ("not-an-email", "+14155550101", "email 'not-an-email' is not a valid address"),
        ("ann@example.com", "415 555 0101", "not in E.164 form"),
        ("ann@example.com", "+0123456", "not in E.164 form"),
    ],
)
def test_invalid_email_or_phone_is_refused_and_nothing_is_stored(
    cli: Any, aws: Aws, email: str, phone: str, complaint: str
) -> None:
    code, out, err = cli("agents", "add", "--name", "Ann", "--email", email, "--phone", phone)
    assert code == 1 and complaint in err and out == ""
    assert agent_items(aws) == [] and subscriptions(aws) == []


def test_an_unknown_platform_is_refused_with_the_name_meant(cli: Any, aws: Aws) -> None:
    code, out, err = cli(*ADD_ANN, "--platforms", "twitter,facebook")
    assert (code, out) == (1, "")
    assert err == (
        "socialcare: unknown platform 'twitter' "
        "(known: blogs, bluesky, facebook, forum, google, instagram, reviews, threads, x): "
        "did you mean --platforms x?\n"
    )
    assert agent_items(aws) == []
    # A configured source or feed is a platform too, and so is every adapter's.
    assert cli(*ADD_ANN, "--platforms", "x,reviews,blogs,bluesky")[0] == 0


def test_adding_the_same_email_twice_is_refused(cli: Any, aws: Aws) -> None:
    assert cli(*ADD_ANN)[0] == 0
    code, _, err = cli(
        "agents", "add", "--name", "Other", "--email", "ann@example.com", "--phone", "+14155550199"
    )
    assert code == 1 and "already exists" in err
    assert len(agent_items(aws)) == 1 and len(subscriptions(aws)) == 1
    assert agent_items(aws)[0]["name"] == "Ann Lee"


def test_update_changes_fields_and_refuses_bad_ones(cli: Any) -> None:
    cli(*ADD_ANN)
    code, _, _ = cli("agents", "update", "ann@example.com", "--phone", "+442071838750", "--no-active")
    assert code == 0
    code, _, err = cli("agents", "update", "ann@example.com", "--phone", "12345")
    assert code == 1 and "E.164" in err
    code, _, err = cli("agents", "update", "nobody@example.com", "--name", "X")
    assert code == 1 and "no agent with email nobody@example.com" in err
    (listed,) = json.loads(cli("agents", "list", "--json")[1])
    assert listed["phone"] == "+442071838750" and listed["active"] is False


def test_remove_unsubscribes_the_email(cli: Any, aws: Aws) -> None:
    cli(*ADD_ANN)
    code, out, _ = cli("agents", "remove", "ANN@example.com")
    assert code == 0 and "Removed ann@example.com" in out
    assert agent_items(aws) == [] and subscriptions(aws) == []
    assert cli("agents", "remove", "ann@example.com")[0] == 1


def test_shifts_are_set_in_the_agents_time_zone_and_on_shift_reads_them(cli: Any) -> None:
    cli(*ADD_ANN)
    cli("agents", "add", "--name", "Bea", "--email", "bea@example.com", "--phone", "+4930123456")
    code, _, _ = cli(
        "shifts",
        "set",
        "ann@example.com",
        "Mon-Fri 09:00-17:00, Sat 10:00-14:00",
        "--tz",
        "America/Los_Angeles",
    )
    assert code == 0
    assert cli("shifts", "set", "bea@example.com", "Mon-Fri 09:00-17:00", "--tz", "Europe/Berlin")[0] == 0

    def on_shift(at: str) -> list[str]:
        code, out, err = cli("on-shift", "--at", at, "--json")
        assert code == 0, err
        return [agent["email"] for agent in json.loads(out)]

    assert on_shift("2026-03-04T17:30:00Z") == ["ann@example.com"]  # 09:30 in LA, 18:30 in Berlin
    assert on_shift("2026-03-04T08:30:00Z") == ["bea@example.com"]  # 00:30 in LA, 09:30 in Berlin
    assert on_shift("2026-03-07T19:00:00Z") == ["ann@example.com"]  # Saturday 11:00 in LA
    assert on_shift("2026-03-08T19:00:00Z") == []  # Sunday


def test_extra_windows_and_time_off_use_the_agents_zone_unless_an_offset_is_given(cli: Any) -> None:
    cli(*ADD_ANN)
    cli("shifts", "set", "ann@example.com", "Mon-Fri 09:00-17:00", "--tz", "America/Los_Angeles")
    # Sunday 10:00-12:00 Los Angeles time (no offset given) is 17:00-19:00 UTC (PDT).
    assert (
        cli("shifts", "add", "ann@example.com", "--from", "2030-03-17T10:00", "--to", "2030-03-17T12:00")[0]
        == 0
    )
    # Time off on Monday morning, given in UTC.
    code, _, _ = cli(
        "shifts",
        "off",
        "ann@example.com",
        "--from",
        "2030-03-18T16:00:00+00:00",
        "--to",
        "2030-03-18T18:00:00+00:00",
    )
    assert code == 0

    def on_shift(at: str) -> bool:
        return bool(json.loads(cli("on-shift", "--at", at, "--json")[1]))

    assert on_shift("2030-03-17T17:30:00Z") and not on_shift("2030-03-17T19:30:00Z")
    assert not on_shift("2030-03-18T17:00:00Z") and on_shift("2030-03-18T18:30:00Z")


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (("shifts", "set", "ann@example.com", "Mon-Fri 9-5"), "is not HH:MM-HH:MM"),
        (("shifts", "set", "bob@example.com", "Mon 09:00-17:00"), "no agent with email bob@example.com"),
        (
            ("shifts", "add", "ann@example.com", "--from", "2030-01-02T10:00", "--to", "2030-01-02T09:00"),
            "after",
        ),
        (("shifts", "off", "ann@example.com", "--from", "tomorrow", "--to", "2030-01-02T09:00"), "ISO 8601"),
    ],
)
def test_bad_shifts_are_refused_with_the_reason(cli: Any, arguments: tuple[str, ...], complaint: str) -> None:
    cli(*ADD_ANN)
    before = cli("agents", "list", "--json")[1]
    code, _, err = cli(*arguments)
    assert code == 1 and complaint in err
    assert cli("agents", "list", "--json")[1] == before  # nothing changed


def test_local_outbox_refuses_a_deployed_stack(cli: Any) -> None:
    code, _, err = cli("--stack", "prod", "local", "outbox")
    assert code == 1 and "only in the local stack" in err
