"""Every metric the dashboard shows, and every metric an alarm watches, in the functions' own namespace is
emitted by some code path: a Powertools `metrics.add_metric(name=...)` (dimension `service`) or a
`platform_metrics(platform, counts={name: ...}, seconds={name: ...})` (dimensions `platform` and `service`),
found in the source by its name."""

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE = "SocialCare"
SUB_NAME = re.compile(r"\$\{[^}]+\}")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    document: dict[str, Any] = yaml_parse((ROOT / "template.yaml").read_text())
    return document


def emitted() -> dict[str, list[re.Pattern[str]]]:
    """Per kind ("plain" or "platform"), the metric names the code emits; an f-string name is a pattern."""
    found: dict[str, list[re.Pattern[str]]] = {"plain": [], "platform": []}
    for path in [*ROOT.glob("shared/socialcare/**/*.py"), *ROOT.glob("functions/*/app.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute | ast.Name):
                continue
            called = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            if called == "add_metric":
                names = [k.value for k in node.keywords if k.arg == "name"]
                kind = "plain"
            elif called == "platform_metrics":
                names = [key for k in node.keywords for key in metric_names(k.value)]
                kind = "platform"
            else:
                continue
            for name in names:
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    found[kind].append(re.compile(re.escape(name.value)))
                elif isinstance(name, ast.JoinedStr):
                    parts = [
                        re.escape(p.value) if isinstance(p, ast.Constant) else r"\w+" for p in name.values
                    ]
                    found[kind].append(re.compile("".join(parts)))
    return found


def metric_names(argument: ast.expr) -> list[ast.expr]:
    """The keys of the dicts written in a `platform_metrics` argument (`{...}`, or `{...} if ... else {}`)."""
    return [key for node in ast.walk(argument) if isinstance(node, ast.Dict) for key in node.keys if key]


def dashboard_body(template: dict[str, Any]) -> str:
    """The dashboard's JSON as written (a Sub of the text alone, or of the text and its variables)."""
    sub = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    return str(sub[0] if isinstance(sub, list) else sub)


def dashboard_metrics(template: dict[str, Any]) -> list[tuple[str, str]]:
    """(metric name, "plain" | "platform") of every SocialCare line on the dashboard."""
    body = dashboard_body(template)
    widgets = json.loads(SUB_NAME.sub("x", body))["widgets"]
    shown = []
    for widget in widgets:
        for line in widget["properties"]["metrics"]:
            fields = [field for field in line if isinstance(field, str)]
            if fields[0] == NAMESPACE:
                shown.append((fields[1], "platform" if "platform" in fields[2:] else "plain"))
    return shown


def alarm_metrics(template: dict[str, Any]) -> list[tuple[str, str]]:
    watched = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        properties = resource["Properties"]
        stats = [m["MetricStat"]["Metric"] for m in properties.get("Metrics", []) if "MetricStat" in m]
        for metric in [properties, *stats]:
            if metric.get("Namespace") == NAMESPACE:
                names = {d["Name"] for d in metric.get("Dimensions", [])}
                watched.append((metric["MetricName"], "platform" if "platform" in names else "plain"))
    return watched


def test_the_dashboard_shows_each_thing_the_issue_names(template: dict[str, Any]) -> None:
    names = {name for name, _kind in dashboard_metrics(template)}
    assert names >= {
        "MentionsReceived",
        "MentionsStored",
        "NotificationsSent",
        "TimeToFirstNotification",
        "RepliesSent",
        "RepliesFailed",
        "FirstResponseTime",
    }
    body = dashboard_body(template)
    for aws_metric in ("ApproximateNumberOfMessagesVisible", "Errors", "Throttles", "Duration"):
        assert f'"{aws_metric}"' in body


def test_every_metric_shown_or_alarmed_is_emitted_by_the_code(template: dict[str, Any]) -> None:
    code = emitted()
    assert code["plain"] and code["platform"]
    wanted = set(dashboard_metrics(template)) | set(alarm_metrics(template))
    missing = [
        (name, kind) for name, kind in sorted(wanted) if not any(p.fullmatch(name) for p in code[kind])
    ]
    assert missing == []


def test_a_metric_nobody_emits_is_caught(template: dict[str, Any]) -> None:
    code = emitted()
    assert not any(pattern.fullmatch("HandleTime") for pattern in code["plain"] + code["platform"])


def test_every_function_has_an_errors_alarm_and_dashboard_lines(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    functions = {k for k, v in resources.items() if v["Type"] == "AWS::Serverless::Function"}
    alarmed = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Ref"]
        for alarm in resources.values()
        if alarm["Type"] == "AWS::CloudWatch::Alarm"
        and alarm["Properties"].get("Namespace") == "AWS/Lambda"
        and alarm["Properties"].get("MetricName") == "Errors"
        and "OperationsTopic" in str(alarm["Properties"].get("AlarmActions"))
    }
    assert alarmed == functions
    sub = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    variables = sub[1] if isinstance(sub, list) else {}
    # A variable stands for a function that exists only under a condition (the email replies).
    named = {
        next(iter(value["Fn::If"][1].values())) if isinstance(value, dict) else value
        for value in variables.values()
    }
    shown = set(re.findall(r"\$\{(\w+)\}", dashboard_body(template)))
    lines = {name for name in shown if name in functions} | {
        n for v, n in zip(variables, named, strict=True) if v in shown
    }
    for metric in ("Errors", "Throttles", "Duration"):
        assert dashboard_body(template).count(f'"AWS/Lambda","{metric}"') == len(functions)
    assert lines == functions


def emf_records(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_a_platforms_metrics_of_one_moment_go_out_in_one_record(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialcare.platforms.metrics import platform_metrics

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "socialcare-dev")
    platform_metrics("x", counts={"RepliesSent": 1, "RepliesFailed": 0}, seconds={"FirstResponseTime": 42.5})
    platform_metrics("a-company-blog", counts={"MentionsReceived": 2})
    first, second = emf_records(capsys.readouterr().out)
    assert (first["platform"], first["RepliesSent"], first["FirstResponseTime"]) == ("x", [1.0], [42.5])
    assert "RepliesFailed" not in first  # a count of 0 is left out
    metrics = first["_aws"]["CloudWatchMetrics"][0]
    assert {m["Name"]: m["Unit"] for m in metrics["Metrics"]} == {
        "RepliesSent": "Count",
        "FirstResponseTime": "Seconds",
    }
    # The dashboard's and the alarms' lines: the platform and the service.
    assert (
        sorted(metrics["Dimensions"][0]) == ["platform", "service"] and first["service"] == "socialcare-dev"
    )
    assert (second["platform"], second["MentionsReceived"]) == ("source", [2.0])  # sources share one line


def test_no_platform_metric_goes_out_where_metrics_are_turned_off(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from socialcare.platforms.metrics import platform_metrics

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    platform_metrics("x", counts={"MentionsReceived": 1})
    assert emf_records(capsys.readouterr().out) == []
