"""Runs the template's Lambda handlers in this process, the way Lambda would: each handler module is
imported once (its cold start), then invoked with an event and a context.

Every function gets the same environment (the template sets it in Globals), so one process environment
serves them all; a template that gave two functions different values for one variable is refused.

An invocation ends at the function's Timeout, as Lambda ends it: the caller gets FunctionTimeout (the SQS
poller leaves the batch to come back after its visibility timeout, the stream poller retries it) and what
the handler returns later is dropped. Lambda then stops the sandbox; a Python thread cannot be stopped, so
the handler's thread runs on, but from then on every AWS call (botocore) and every HTTP request (requests)
it makes raises InvocationEnded: a timed-out run cannot write to the table, queue a message or post to a
platform after its caller has given up on it. Threads the handler started itself are not covered."""

import importlib.util
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from infra.local.template import FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class LambdaContext:
    function_name: str
    timeout_s: int
    aws_request_id: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self.timed_out = False  # set when the invocation ran past timeout_s (its caller gave up)
        self._deadline = time.monotonic() + self.timeout_s
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_invocation = threading.local()  # the LambdaContext of the invocation this thread runs, if any
_plain_record_factory = logging.getLogRecordFactory()


def _record_with_function(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Every log line names the function it was logged in. Lambda runs one function per process; here one
    Powertools Logger serves every handler, and the keys inject_lambda_context appends to it are shared by
    concurrent invocations, so the record carries the invocation's own (record fields win over those keys)."""
    record = _plain_record_factory(*args, **kwargs)
    context = getattr(_invocation, "context", None)
    if context is not None:
        record.function_name = context.function_name
        record.function_arn = context.invoked_function_arn
        record.function_request_id = context.aws_request_id
        record.function_memory_size = context.memory_limit_in_mb
    return record


logging.setLogRecordFactory(_record_with_function)


class FunctionTimeout(Exception):
    """The invocation ran past the function's Timeout: Lambda's "Task timed out after N seconds"."""


class InvocationEnded(Exception):
    """Raised in a timed-out invocation's thread at its next AWS call or HTTP request: on Lambda its sandbox
    would have been stopped, so nothing it does after the timeout may reach anything."""


def _refuse_after_timeout(**_: Any) -> None:
    """botocore's before-call hook, and the check before every HTTP request a handler's thread makes."""
    context = getattr(_invocation, "context", None)
    if context is not None and context.timed_out:
        raise InvocationEnded(
            f"{context.function_name}: the invocation timed out after {context.timeout_s} s; "
            "on Lambda it would have been stopped"
        )


_guards_lock = threading.Lock()
_guards_installed = False


def _install_timeout_guards() -> None:
    """Once per process, before any handler module makes a client (botocore copies the session's event
    hooks into each client it creates)."""
    global _guards_installed
    with _guards_lock:
        if _guards_installed:
            return
        import boto3
        import requests.adapters

        boto3._get_default_session().events.register(
            "before-call", _refuse_after_timeout, unique_id="socialcare-local-timeout"
        )
        send = requests.adapters.HTTPAdapter.send

        def guarded_send(self: Any, *args: Any, **kwargs: Any) -> Any:
            _refuse_after_timeout()
            return send(self, *args, **kwargs)

        requests.adapters.HTTPAdapter.send = guarded_send  # type: ignore[method-assign]
        _guards_installed = True


def merged_environment(environments: dict[str, dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for function, environment in environments.items():
        for key, value in environment.items():
            if key in merged and merged[key] != value:
                raise ValueError(
                    f"{function} sets {key}={value!r} but another function sets {merged[key]!r}: the local "
                    "stack runs every handler in one process, so put function settings in Globals"
                )
            merged[key] = value
    return merged


class FunctionRuntime:
    def __init__(self, functions: dict[str, FunctionSpec], log: Callable[[str], None] | None = None) -> None:
        self._functions = functions
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        _install_timeout_guards()

    def module(self, logical_id: str) -> ModuleType:
        """The function's handler module, imported on first use (its cold start)."""
        with self._lock:
            if logical_id not in self._modules:
                self._modules[logical_id] = self._load(self._functions[logical_id])
            return self._modules[logical_id]

    def handler(self, logical_id: str) -> Handler:
        attribute = self._functions[logical_id].handler.rpartition(".")[2]
        handler: Handler = getattr(self.module(logical_id), attribute)
        return handler

    @staticmethod
    def _load(spec: FunctionSpec) -> ModuleType:
        module_name = spec.handler.rpartition(".")[0]
        path = spec.code_dir / f"{module_name.replace('.', '/')}.py"
        unique_name = f"socialcare_functions.{spec.logical_id}.{module_name}"
        module_spec = importlib.util.spec_from_file_location(unique_name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module: ModuleType = importlib.util.module_from_spec(module_spec)
        sys.modules[unique_name] = module
        module_spec.loader.exec_module(module)
        return module

    def invoke(self, logical_id: str, event: dict[str, Any], summary: str = "") -> Any:
        """The handler's answer, or FunctionTimeout once the template's Timeout has passed (as Lambda ends
        the invocation; here the handler's thread is left to run on, its AWS and HTTP calls refused and its
        answer unused)."""
        spec = self._functions[logical_id]
        handler = self.handler(logical_id)  # the cold start is not part of the invocation's time
        context = LambdaContext(
            function_name=logical_id, timeout_s=spec.timeout, aws_request_id=str(uuid.uuid4())
        )
        started = time.perf_counter()
        outcome = "error"
        answer: list[Any] = []
        failure: list[BaseException] = []

        def run() -> None:
            _invocation.context = context
            try:
                answer.append(handler(event, context))
            except BaseException as error:  # handed to the caller, as Lambda reports it
                failure.append(error)

        worker = threading.Thread(target=run, name=f"{logical_id}-{context.aws_request_id[:8]}", daemon=True)
        worker.start()
        try:
            worker.join(spec.timeout)
            if worker.is_alive():
                outcome = "timeout"
                context.timed_out = True  # its thread runs on, but reaches nothing more
                raise FunctionTimeout(f"{logical_id}: task timed out after {spec.timeout} seconds")
            if failure:
                raise failure[0]
            result = answer[0]
            outcome = str(result.get("statusCode", "ok")) if isinstance(result, dict) else "ok"
            return result
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            self._log(f"[invoke] {logical_id} {summary} -> {outcome} {elapsed_ms:.0f}ms".replace("  ", " "))


def apply_environment(environment: dict[str, str]) -> None:
    os.environ.update(environment)
