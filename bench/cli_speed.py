"""The command line as a user starts it: `socialcare --help` and `socialcare mentions list` against a running
local stack (with a few mentions in it), each a fresh process, timed from start to exit. Beside the wall time
a user waits, the command's own CPU time: on a shared machine the wall time also counts the waits for a core
(and the local stack's own work shares the same cores)."""

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.lambda_like import REPO_ROOT
from bench.measures import spread
from tests.running_stack import RunningStack, running_stack

COMMANDS = {"help": ["--help"], "mentions_list": ["mentions", "list"]}


def socialcare_command() -> list[str]:
    """The installed console script, as a user runs it (else the same entry point through the interpreter)."""
    script = Path(sys.executable).parent / "socialcare"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from infra.cli import main; main()"]


def cli_speed(rounds: int = 7) -> dict[str, Any]:
    log = REPO_ROOT / ".aws-sam" / "bench-cli-stack.log"
    with running_stack(log_path=str(log)) as stack:
        add_mentions(stack, 20)
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for _ in range(rounds):  # interleaved: both commands see the same moments of the machine's load
            for name, arguments in COMMANDS.items():
                before = children_cpu()
                started = time.perf_counter()
                completed = subprocess.run(
                    [*socialcare_command(), *arguments],
                    env=stack.env(),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                times[name].append(time.perf_counter() - started)
                cpu[name].append(children_cpu() - before)
                assert completed.returncode == 0, completed.stderr
    medians = {name: round(statistics.median(values), 3) for name, values in times.items()}
    slowest = max(medians, key=lambda name: medians[name])
    return {
        "cli_s": medians,
        "cli_s_spread": {name: spread(values) for name, values in times.items()},
        "cli_median_s": medians[slowest],
        "cli_median_s_spread": spread(times[slowest]),
        "cli_cpu_s": {name: round(statistics.median(values), 3) for name, values in cpu.items()},
        "cli_cpu_s_spread": {name: spread(values) for name, values in cpu.items()},
        "cli_rounds": rounds,
    }


def children_cpu() -> float:
    """CPU seconds (user and system) of the child processes that ended so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def add_mentions(stack: RunningStack, count: int, timeout_s: float = 120) -> None:
    """`count` mentions, then wait until the dispatcher has handled them all (nobody is on shift: each ends
    `waiting`), so the timed commands do not compete with it for the local stack."""
    for number in range(count):
        text = f"@brand bench {number}"
        sent = stack.cli("simulate", "x-mention", "--from", f"@bench{number}", "--text", text)
        assert sent.returncode == 0, sent.stderr
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        listed = stack.cli_json("mentions", "list", "--json", "--status", "waiting")
        if len(listed) >= count:
            return
        time.sleep(1)
    raise AssertionError(f"the dispatcher did not handle {count} mentions within {timeout_s:.0f} s")
