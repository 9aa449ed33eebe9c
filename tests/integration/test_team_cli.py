"""`socialcare agents update --directory/--handles/--role` and `socialcare audit` in-process against moto."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.cli import agents as agents_cli
from infra.cli import audit as audit_cli
from infra.cli import main
from socialcare.data import table
from socialcare.data.agents import AgentStore
from socialcare.data.team import AuditEntry, TeamStore
from tests.integration.conftest import Aws

ADD_ANN = ("agents", "add", "--name", "Ann Lee", "--email", "ann@example.com", "--phone", "+14155550101")


@pytest.fixture
def cli(aws: Aws, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    outputs = aws.stack.outputs(aws.resolver)
    monkeypatch.setattr(agents_cli, "stack_outputs", lambda _arguments: outputs)
    monkeypatch.setattr(audit_cli, "stack_outputs", lambda _arguments: outputs)

    def run(*arguments: str) -> tuple[int, str, str]:
        try:
            main(list(arguments))
            code = 0
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_directory_handles_and_role(cli: Any, aws: Aws) -> None:
    assert cli(*ADD_ANN)[0] == 0
    code, _, err = cli(
        "agents", "update", "ann@example.com", "--directory", "--handles", "x:@ann,instagram:ann",
        "--role", "Customer Loyalty",
    )  # fmt: skip
    assert code == 0, err
    record = AgentStore(table(aws.table_name)).get("ann@example.com")
    assert record is not None
    assert (record.agent.directory, record.agent.role) == (True, "Customer Loyalty")
    assert record.agent.handles == {"x": "@ann", "instagram": "ann"}

    code, _, err = cli("agents", "update", "ann@example.com", "--handles", "myspace:ann")
    assert code == 1 and "myspace" in err
    code, _, err = cli("agents", "update", "ann@example.com", "--handles", "x")
    assert code == 1 and "network:handle" in err
    assert cli("agents", "update", "ann@example.com", "--no-directory", "--handles", "")[0] == 0
    record = AgentStore(table(aws.table_name)).get("ann@example.com")
    assert record is not None and not record.agent.directory and record.agent.handles == {}


def test_audit_lists_entries_since_a_date(cli: Any, aws: Aws) -> None:
    store = TeamStore(table(aws.table_name))
    store.record(AuditEntry(datetime(2026, 11, 30, 9, tzinfo=UTC), "sign-in", "ann@example.com"))
    store.record(AuditEntry(datetime(2026, 12, 1, 9, tzinfo=UTC), "take", "ann@example.com", "x-1"))
    store.record(AuditEntry(datetime(2026, 12, 1, 10, tzinfo=UTC), "pause", "bob@example.com", "", "until x"))
    code, out, _ = cli("audit")
    assert code == 0 and [line.split()[3] for line in out.splitlines()] == ["sign-in", "take", "pause"]
    code, out, _ = cli("audit", "--since", "2026-12-01", "--json")
    rows = json.loads(out)
    assert [(r["action"], r["actor"], r["subject"]) for r in rows] == [
        ("take", "ann@example.com", "x-1"),
        ("pause", "bob@example.com", ""),
    ]
