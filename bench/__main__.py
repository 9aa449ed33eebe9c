"""`make bench`: measures the targets of the benchmark issue, prints a table and writes bench/results.json."""

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.cost import costs
from bench.lambda_like import REPO_ROOT, ensure_runtime

RESULTS = Path(__file__).resolve().parent / "results.json"

# key -> (target description, check)
TARGETS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "cold_import_ratio_max": ("<= 1.3", lambda v: v <= 1.3),
    "warm_overhead_ratio": ("<= 1.5", lambda v: v <= 1.5),
    "cli_median_s": ("< 0.5", lambda v: v < 0.5),
    "peak_rss_mb": ("< 128", lambda v: v < 128),
    "artifact_kb_max": ("< 64 (each function)", lambda v: v < 64),
    "layer_mb": ("< 25", lambda v: v < 25),
    "layer_modules_without_bytecode": ("0", lambda v: v == 0),
    "aws_calls_per_mention": ("<= 5", lambda v: v <= 5),
    "aws_calls_per_reply": ("<= 6", lambda v: v <= 6),
    "ingest.p99_ms": ("< 2000", lambda v: v < 2000),
    "ingest.per_s": (">= 30", lambda v: v >= 30),
    "report_items_read": ("<= 1000 (a year)", lambda v: v <= 1000),
    "report_received_item_kb_max": ("<= 1 (what each mention writes)", lambda v: v <= 1),
    "ingest.lost": ("0", lambda v: v == 0),
    "ingest.double": ("0", lambda v: v == 0),
}
# A figure is noisy when its rounds disagree by more than this share of its median: rerun it on a quieter
# machine before trusting a verdict close to the target.
NOISY_SPREAD = 0.2


# Each step runs in a fresh interpreter, as separate Lambda functions would: no cached settings, clients or
# environment carry over from one measure to the next.
STEPS: dict[str, str] = {
    "artifact sizes": "from bench.measures import artifacts as step",
    "cold imports": "from bench.measures import cold_imports as step",
    "warm overhead": "from bench.measures import warm_overhead as step",
    "peak memory": "from bench.measures import peak_rss_step as step",
    "AWS calls": "from bench.aws_calls import aws_calls as step",
    "the command line": "from bench.cli_speed import cli_speed as step",
    "ingest through the local stack": "from bench.load import ingest_load as step",
    "a year's report": "from bench.report_reads import report_items_read as step",
}
STEP_CODE = "import json, sys\n{imports}\nsys.stdout.write('\\nRESULT ' + json.dumps(step()) + '\\n')\n"


def run_step(label: str, imports: str) -> dict[str, Any]:
    print(f"measuring {label}...", file=sys.stderr, flush=True)
    completed = subprocess.run(
        [sys.executable, "-c", STEP_CODE.format(imports=imports)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if completed.returncode != 0 or not lines:
        raise SystemExit(f"{label} failed:\n{completed.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return result


def main() -> None:
    subprocess.run(
        ["sam", "build", "--template", "template.yaml"], cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL
    )
    ensure_runtime()
    results: dict[str, Any] = {}
    for label, imports in STEPS.items():
        results.update(run_step(label, imports))
    results.update(costs(results))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)


def verdict(key: str, value: Any) -> str:
    target, check = TARGETS.get(key, ("", lambda _v: True))
    return ("yes" if check(value) else "NO") if target else ""


def noise(results: dict[str, Any], key: str, value: Any) -> str:
    """The spread of a figure measured in rounds, flagged when the rounds disagree."""
    spread = results.get(f"{key}_spread")
    if not isinstance(spread, int | float) or not isinstance(value, int | float) or not value:
        return ""
    return f"±{spread:g}" + (" noisy" if spread / value > NOISY_SPREAD else "")


def print_table(results: dict[str, Any]) -> None:
    print(f"\n{'measure':<28} {'value':>12}  {'spread':<14} {'target':<22} ok")
    for key, value in results.items():
        if isinstance(value, dict) or key.endswith("_spread"):
            continue
        target = TARGETS.get(key, ("",))[0]
        print(f"{key:<28} {value!s:>12}  {noise(results, key, value):<14} {target:<22} {verdict(key, value)}")
    for key, value in results.items():
        if not isinstance(value, dict) or key.endswith("_spread"):
            continue
        print(f"\n{key}:")
        spreads = results.get(f"{key}_spread", {})
        for name, item in value.items():
            spread = f"±{spreads[name]:g}" if name in spreads else ""
            target = TARGETS.get(f"{key}.{name}", ("",))[0]
            print(f"  {name:<26} {item!s:>12}  {spread:<14} {target:<20} {verdict(f'{key}.{name}', item)}")
    print(
        f"\n'noisy': the rounds of a figure disagree by more than {NOISY_SPREAD:.0%} of its median. "
        "The ingest figures are one run through the local stack: they follow the machine's load."
    )
    print(f"written to {RESULTS.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
