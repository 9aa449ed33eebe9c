"""Each function validates at its cold start the environment it needs: its handler module refuses to import
without any variable the template gives it, naming the variable; and the local stack gives each function
only its own variables, so reading another function's fails there as on Lambda."""

from pathlib import Path

import pytest

from infra.local.runtime import FunctionRuntime, shared_environment
from infra.local.stack import stand_in_environments
from infra.local.template import FunctionSpec, load_template
from socialcare.settings import MissingSettings, Notifications, Table, load

TEMPLATE = load_template()
ENVIRONMENTS = stand_in_environments(TEMPLATE)
# Powertools' and pydantic's own switches are read by them, with defaults; everything else is ours.
OWN_VARIABLES = [
    (function, variable)
    for function, environment in ENVIRONMENTS.items()
    for variable in sorted(environment)
    if not variable.startswith(("POWERTOOLS_", "PYDANTIC_"))
]


@pytest.fixture(autouse=True)
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # handler modules create their clients at import


@pytest.mark.parametrize("function", sorted(ENVIRONMENTS))
def test_each_handler_imports_with_the_environment_the_template_gives_it(function: str) -> None:
    runtime = FunctionRuntime(TEMPLATE.functions, log=lambda _line: None, environments=ENVIRONMENTS)
    assert callable(runtime.handler(function))


@pytest.mark.parametrize(("function", "variable"), OWN_VARIABLES)
def test_each_handler_refuses_to_import_without_a_variable_of_its_own_naming_it(
    function: str, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(variable, raising=False)
    without = {**ENVIRONMENTS, function: {k: v for k, v in ENVIRONMENTS[function].items() if k != variable}}
    runtime = FunctionRuntime(TEMPLATE.functions, log=lambda _line: None, environments=without)
    with pytest.raises(MissingSettings, match=rf"missing {variable}\b"):
        runtime.module(function)


def test_a_malformed_value_is_refused_by_name_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {**ENVIRONMENTS["DispatcherFunction"], "ESCALATION_MINUTES": "soon-ish"}
    environments = {**ENVIRONMENTS, "DispatcherFunction": broken}
    runtime = FunctionRuntime(TEMPLATE.functions, log=lambda _line: None, environments=environments)
    with pytest.raises(MissingSettings, match=r"invalid ESCALATION_MINUTES") as refused:
        runtime.module("DispatcherFunction")
    assert "soon-ish" not in str(refused.value)


def test_a_function_reading_a_variable_only_another_function_has_fails_as_on_lambda(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All handlers share one process locally; the topic the notifying function is given must still be out of
    reach of a function the template does not give it to, as it is on Lambda."""
    monkeypatch.delenv("NOTIFICATION_TOPIC_ARN", raising=False)
    (tmp_path / "app.py").write_text(
        "from socialcare.settings import Notifications, Table, load\n"
        "table = load(Table).table_name\n"
        "def lambda_handler(event, context):\n"
        "    return {'topic': load(Notifications).notification_topic_arn}\n"
    )
    specs = {name: FunctionSpec(name, tmp_path, "app.lambda_handler", 5) for name in ("Mine", "Other")}
    runtime = FunctionRuntime(
        specs,
        log=lambda _line: None,
        environments={
            "Mine": {"TABLE_NAME": "the-table"},
            "Other": {"TABLE_NAME": "the-table", "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:1:topic"},
        },
    )
    assert runtime.invoke("Other", {}) == {"topic": "arn:aws:sns:us-east-1:1:topic"}
    with pytest.raises(MissingSettings, match="missing NOTIFICATION_TOPIC_ARN"):
        runtime.invoke("Mine", {})
    # Outside any function (the process itself), neither is set: the variables live in the functions alone.
    with pytest.raises(MissingSettings, match="missing TABLE_NAME"):
        load(Table)
    with pytest.raises(MissingSettings, match="missing NOTIFICATION_TOPIC_ARN"):
        load(Notifications)


def test_a_value_the_process_sets_still_reaches_the_functions_given_that_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests change a function's variable with monkeypatch.setenv; it must reach the functions that have it,
    and only them."""
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", "arn:aws:sns:us-east-1:1:changed")
    (tmp_path / "app.py").write_text(
        "from socialcare.settings import Notifications, load\n"
        "def lambda_handler(event, context):\n"
        "    return load(Notifications).notification_topic_arn\n"
    )
    specs = {name: FunctionSpec(name, tmp_path, "app.lambda_handler", 5) for name in ("Mine", "Other")}
    runtime = FunctionRuntime(
        specs,
        log=lambda _line: None,
        environments={"Mine": {}, "Other": {"NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:1:topic"}},
    )
    assert runtime.invoke("Other", {}) == "arn:aws:sns:us-east-1:1:changed"
    with pytest.raises(MissingSettings):
        runtime.invoke("Mine", {})


def test_the_process_carries_only_what_every_function_is_given_the_globals() -> None:
    """Powertools reads its switches from os.environ once per process: the local stack puts there what all
    functions share, which is the template's Globals and nothing a single function is given."""
    globals_ = TEMPLATE.document["Globals"]["Function"]["Environment"]["Variables"]
    assert sorted(shared_environment(ENVIRONMENTS)) == sorted(globals_)
