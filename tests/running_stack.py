"""The local stack as a newcomer runs it (`python -m infra.local`, what `make run` starts), in a subprocess on
free ports, for tests that go over HTTP and through the CLI."""

import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests

from infra.local.system import free_port


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    api_url: str
    moto_port: int
    port: int
    extra_env: dict[str, str]
    simulator_port: int = 4000

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.simulator_port}"

    def env(self) -> dict[str, str]:
        ports = {
            "MOTO_PORT": str(self.moto_port),
            "PORT": str(self.port),
            "SIMULATOR_PORT": str(self.simulator_port),
        }
        return {**os.environ, **self.extra_env, **ports}

    def cli(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """`socialcare ARGUMENTS` against this stack, run in the test's process: the command's own code, in
        the environment the command would get, without a new interpreter importing boto3 again each time
        (0.6 s of CPU a call, a hundred calls in the suite). Its exit code, stdout and stderr come back as a
        process's would. The command as a process, start-up included, has tests of its own
        (tests/unit/test_cli_startup.py, `cli_process`)."""
        from infra.cli import main
        from socialcare.singletons import forget_all

        saved = dict(os.environ)
        stdout, stderr = io.StringIO(), io.StringIO()
        code: int = 0
        os.environ.clear()
        os.environ.update(self.env())
        forget_all()  # clients and settings built for another stack, or for no stack at all
        try:
            with redirect_stdout(stdout), redirect_stderr(stderr):
                main(list(arguments))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
        finally:
            os.environ.clear()
            os.environ.update(saved)
            forget_all()
        return subprocess.CompletedProcess(
            ["socialcare", *arguments], code, stdout.getvalue(), stderr.getvalue()
        )

    def cli_process(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """`socialcare ARGUMENTS` as a process of its own, as a newcomer runs it."""
        return subprocess.run(
            [sys.executable, "-c", "from infra.cli import main; main()", *arguments],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def client(self, service: str) -> Any:
        """A boto3 client of the stack's moto, with the local stack's credentials."""
        return self._session().client(service, endpoint_url=f"http://127.0.0.1:{self.moto_port}")

    def resource(self, service: str) -> Any:
        return self._session().resource(service, endpoint_url=f"http://127.0.0.1:{self.moto_port}")

    @staticmethod
    def _session() -> Any:
        import boto3

        return boto3.Session(
            region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
        )

    def add_agent_on_shift(self, name: str, email: str, phone: str) -> None:
        """`socialcare agents add` and `shifts set` for a shift around the clock, as a newcomer would."""
        added = self.cli("agents", "add", "--name", name, "--email", email, "--phone", phone)
        assert added.returncode == 0, added.stderr
        shift = self.cli("shifts", "set", email, "Mon-Sun 00:00-24:00", "--tz", "UTC")
        assert shift.returncode == 0, shift.stderr

    # What `socialcare local outbox --json` and `socialcare simulate calls --json` print, read over HTTP as
    # they read it: cheap enough to poll, where starting the CLI every 0.2 s cost more than the tests' work.
    def outbox(self, channel: str | None = None) -> list[dict[str, Any]]:
        from infra.local.outbox import OUTBOX_PATH

        answer = requests.get(f"{self.api_url}{OUTBOX_PATH}", timeout=60)
        answer.raise_for_status()
        messages: list[dict[str, Any]] = answer.json()["messages"]
        return [m for m in messages if channel in (None, m["channel"])]

    def simulator_calls(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.simulator_url}/_simulator/calls", timeout=60)
        answer.raise_for_status()
        calls: list[dict[str, Any]] = answer.json()
        return calls

    def cli_json(self, *arguments: str) -> Any:
        completed = self.cli(*arguments)
        assert completed.returncode == 0, completed.stderr
        return json.loads(completed.stdout)


@contextmanager
def running_stack(
    extra_env: dict[str, str] | None = None,
    log_path: str | None = None,
    ports: tuple[int, int, int] | None = None,
    stop_signal: signal.Signals = signal.SIGTERM,
) -> Iterator[RunningStack]:
    """ports: (moto, gateway, simulator), to start again where a stopped stack ran (its reply links)."""
    # Each stack keeps its state in a folder of its own unless told where: never the developer's.
    scratch = None if "LOCAL_STATE_DIR" in (extra_env or {}) else tempfile.TemporaryDirectory()
    stack_env = {**(extra_env or {})}
    if scratch is not None:
        stack_env["LOCAL_STATE_DIR"] = scratch.name
    log = open(log_path or os.devnull, "w")  # noqa: SIM115 - closed below
    # The platform simulator gets a free port too: the local stack points the dev configuration's platform
    # URLs at it, so tests run beside `make run` (which holds 4000) and beside each other. A port found free
    # can be taken by another worker's stack before ours binds it: then the stack starts again on others.
    for attempt in range(1, PORT_ATTEMPTS + 1):
        stack = _start(stack_env, ports or (free_port(), free_port(), free_port()), log)
        if stack.process.poll() is None or ports is not None or attempt == PORT_ATTEMPTS:
            break
        if log_path is None or "Address already in use" not in Path(log_path).read_text():
            break
        log.seek(0)
        log.truncate()
    try:
        _wait_until_ready(stack, log_path)
        yield stack
    finally:
        stack.process.send_signal(stop_signal)
        try:
            stack.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()
        log.close()
        if scratch is not None:
            scratch.cleanup()


PORT_ATTEMPTS = 3


def _start(stack_env: dict[str, str], ports: tuple[int, int, int], log: IO[str]) -> RunningStack:
    """Starts the stack on these ports; returns once it answers, or once it has exited."""
    moto_port, port, simulator_port = ports
    port_env = {"MOTO_PORT": str(moto_port), "PORT": str(port), "SIMULATOR_PORT": str(simulator_port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local"],
        env={**os.environ, **stack_env, **port_env},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = RunningStack(process, f"http://127.0.0.1:{port}", moto_port, port, stack_env, simulator_port)
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline and not _answers(stack):
        time.sleep(0.2)
    return stack


def _answers(stack: RunningStack) -> bool:
    try:
        return requests.get(f"{stack.api_url}/webhooks/x?crc_token=ready", timeout=1).status_code == 200
    except (requests.ConnectionError, requests.Timeout):  # still starting, or busy importing
        return False


def _wait_until_ready(stack: RunningStack, log_path: str | None) -> None:
    if stack.process.poll() is not None:
        raise RuntimeError(f"the local stack exited with {stack.process.returncode}; see {log_path}")
    if not _answers(stack):
        raise TimeoutError("the local stack did not answer within 60 s")
