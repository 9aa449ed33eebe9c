"""Integration fixtures. `aws` gives an in-process moto (mock_aws) holding the template's resources, made by
the same provisioning code as the local stack; `handlers` loads the template's functions the way the
gateway does, and `http_event` builds the API Gateway events the gateway would send them."""

import json
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from infra.local import moto_item_size, moto_transactions
from infra.local.gateway import build_event
from infra.local.runtime import FunctionRuntime, LambdaContext
from infra.local.stack import REGION, LocalStack, parse_parameter_overrides
from infra.local.template import Resolver, Template
from infra.simulator.server import PlatformSimulator
from socialcare.data.mentions import MentionStore, table
from tests.conftest import parsed_template


@dataclass
class Aws:
    template: Template
    stack: LocalStack
    resolver: Resolver
    environment: dict[str, str]  # every function's variables together (what a test reads or overrides)
    environments: dict[str, dict[str, str]]  # each function's own, as the template gives it

    @property
    def table_name(self) -> str:
        return self.environment["TABLE_NAME"]

    def mention_store(self) -> MentionStore:
        return MentionStore(table(self.table_name))

    def items(self) -> list[dict[str, Any]]:
        return list(table(self.table_name).scan()["Items"])


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, dev_config: dict[str, Any]) -> Iterator[Aws]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_transactions.install()  # as the local stack does: a transaction costs the items it touches
    moto_item_size.install()  # and a put costs the item's attributes once
    with mock_aws():
        template = parsed_template()
        # SOCIALCARE_PARAMETERS, as `make run` reads it: a test sets it to provision the optional parts.
        overrides = parse_parameter_overrides(
            os.environ.get("SOCIALCARE_PARAMETERS", ""), template.document.get("Parameters", {})
        )
        stack = LocalStack(
            template,
            endpoint_url=None,  # type: ignore[arg-type]
            api_url="http://127.0.0.1:3000",
            parameter_overrides=overrides,
        )
        resolver = stack.provision(dev_config)
        environments = {
            logical_id: stack.function_environment(resolver, logical_id) for logical_id in template.functions
        }
        environment = {key: value for own in environments.values() for key, value in own.items()}
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        yield Aws(template, stack, resolver, environment, environments)


Invoke = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def handlers(aws: Aws) -> Callable[[str], Invoke]:
    # Each handler sees only its own function's variables, as on Lambda (a value a test sets still wins).
    runtime = FunctionRuntime(aws.template.functions, log=lambda _line: None, environments=aws.environments)

    def get(logical_id: str) -> Invoke:
        handler = runtime.handler(logical_id)
        timeout = aws.template.functions[logical_id].timeout
        return lambda event: handler(event, LambdaContext(logical_id, timeout, "test-request"))

    return get


def http_event(
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The event API Gateway builds for a request to the template's route `method` + path of `target`."""
    template = parsed_template()
    path = target.split("?")[0]
    for route in template.routes:
        found = route.match(method, path)
        if found is not None:
            return build_event(
                route,
                path_parameters or found,
                method,
                target,
                list((headers or {}).items()),
                body,
                "203.0.113.9",
            )
    raise AssertionError(f"no route in template.yaml for {method} {path}")


def json_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


@pytest.fixture
def atomic_aws_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each conditional write atomically; moto in-process does not lock. Serialize each AWS
    call, so threads still interleave between calls as concurrent Lambdas do, but a call is one step."""
    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def one_at_a_time(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", one_at_a_time)


@pytest.fixture(scope="module")
def running_simulator() -> Iterator[PlatformSimulator]:
    """Fake X and Graph APIs for the tests that post replies; reset by whoever uses it."""
    with PlatformSimulator() as simulator:
        yield simulator
