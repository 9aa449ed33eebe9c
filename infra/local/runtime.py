"""Runs the template's Lambda handlers in this process, the way Lambda would: each handler module is
imported once (its cold start), then invoked with an event and a context.

Each function sees the environment the template gives it (Globals merged with its own), as on Lambda,
although all share one process: its import and its invocations run with a FunctionEnvironment installed
(socialcare.settings.use_environment), so a handler reading a variable only another function is given fails
here as it would there.

An invocation ends at the function's Timeout, as Lambda ends it: the caller gets FunctionTimeout (the SQS
poller leaves the batch to come back after its visibility timeout, the stream poller retries it) and what
the handler returns later is dropped. Lambda then stops the sandbox; a Python thread cannot be stopped, so
the handler's thread runs on, but from then on every AWS call (botocore) and every HTTP request (requests)
it makes raises InvocationEnded: a timed-out run cannot write to the table, queue a message or post to a
platform after its caller has given up on it. Threads the handler started itself are not covered."""

import gc
import importlib.util
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from infra.local.template import FunctionSpec
from socialcare.settings import use_environment

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


class FunctionEnvironment(Mapping[str, str]):
    """The process environment as one function sees it: the variables the template gives it (a value the
    process sets wins: tests change one that way), none of those the template gives only to other functions,
    and the rest of the process environment (what Lambda itself provides: region, credentials)."""

    def __init__(self, own: Mapping[str, str], hidden: frozenset[str]) -> None:
        self._own = dict(own)
        self._hidden = hidden - self._own.keys()

    def __getitem__(self, key: str) -> str:
        if key in self._hidden:
            raise KeyError(key)
        if key in self._own:
            return os.environ.get(key, self._own[key])
        return os.environ[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._own
        yield from (key for key in list(os.environ) if key not in self._own and key not in self._hidden)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def function_environments(environments: Mapping[str, Mapping[str, str]]) -> dict[str, FunctionEnvironment]:
    """Each function's view, hiding from it every variable the template gives only to others."""
    every = frozenset(key for environment in environments.values() for key in environment)
    return {logical_id: FunctionEnvironment(own, every) for logical_id, own in environments.items()}


def shared_environment(environments: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """What every function is given alike (the template's Globals). The process environment carries it, for
    the libraries that read os.environ themselves, once per process (Powertools' service, namespace and log
    level); no function sees more through it than it is given anyway."""
    present = [environment for environment in environments.values() if environment]
    if not present:
        return {}
    first, *others = present
    return {k: v for k, v in first.items() if all(other.get(k) == v for other in others)}


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
    """Before any handler module makes a client (botocore copies the session's event hooks into each client
    it creates); the patches once per process."""
    global _guards_installed
    import boto3

    from socialcare.aws_clients import session

    # The sessions of the moment: the functions' (socialcare.aws_clients), and boto3's default (mock_aws swaps
    # it for each test). Registering again is a no-op.
    for events in (session().get_component("event_emitter"), boto3._get_default_session().events):
        events.register("before-call", _refuse_after_timeout, unique_id="socialcare-local-timeout")
    with _guards_lock:
        if _guards_installed:
            return
        import botocore.handlers
        import requests.sessions

        # Every session made from now on gets the hook too.
        botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _refuse_after_timeout))
        # On the session, not the adapter: mock_aws (responses) patches HTTPAdapter.send while it runs and
        # puts back on exit what it found on entry, which would drop a guard installed in between.
        send = requests.sessions.Session.send

        def guarded_send(self: Any, *args: Any, **kwargs: Any) -> Any:
            _refuse_after_timeout()
            return send(self, *args, **kwargs)

        requests.sessions.Session.send = guarded_send  # type: ignore[method-assign]
        _guards_installed = True


class FunctionRuntime:
    def __init__(
        self,
        functions: dict[str, FunctionSpec],
        log: Callable[[str], None] | None = None,
        environments: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self._functions = functions
        self._modules: dict[str, ModuleType] = {}
        self._lock = threading.Lock()
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        # None: every function sees the process environment as it is.
        self._environments = function_environments(environments) if environments is not None else None
        _install_timeout_guards()

    def environment(self, logical_id: str) -> Mapping[str, str]:
        if self._environments is None:
            return os.environ
        return self._environments.get(logical_id) or FunctionEnvironment({}, frozenset())

    def module(self, logical_id: str) -> ModuleType:
        """The function's handler module, imported on first use (its cold start), in its environment."""
        with self._lock:
            if logical_id not in self._modules:
                with use_environment(self.environment(logical_id)):
                    self._modules[logical_id] = self._load(self._functions[logical_id])
            return self._modules[logical_id]

    def handler(self, logical_id: str) -> Handler:
        """The function's handler, run in the function's environment."""
        attribute = self._functions[logical_id].handler.rpartition(".")[2]
        handler: Handler = getattr(self.module(logical_id), attribute)
        environment = self.environment(logical_id)

        def in_its_environment(event: dict[str, Any], context: Any) -> Any:
            with use_environment(environment):
                return handler(event, context)

        return in_its_environment

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
        try:
            module_spec.loader.exec_module(module)
        finally:
            # A handler turns garbage collection off while it loads (socialcare.cold_start) and back on at its
            # end: an import that fails halfway must not leave it off in this shared process.
            gc.enable()
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
