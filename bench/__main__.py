"""`make bench`: measures the targets of the benchmark issue, prints a table and writes bench/results.json."""

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.lambda_like import REPO_ROOT, ensure_runtime

RESULTS = Path(__file__).resolve().parent / "results.json"

# key -> (target description, check)
TARGETS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "cold_import_ratio_max": ("<= 1.5", lambda v: v <= 1.5),
    "warm_overhead_ratio": ("<= 2.0", lambda v: v <= 2.0),
    "peak_rss_mb": ("< 128", lambda v: v < 128),
    "artifact_kb_max": ("< 64 (each function)", lambda v: v < 64),
    "layer_mb": ("< 25", lambda v: v < 25),
    "aws_calls_per_mention": ("<= 5", lambda v: v <= 5),
    "aws_calls_per_reply": ("<= 6", lambda v: v <= 6),
    "report_items_read": ("<= 1000 (a year)", lambda v: v <= 1000),
    "ingest.lost": ("0", lambda v: v == 0),
    "ingest.double": ("0", lambda v: v == 0),
}


# Each step runs in a fresh interpreter, as separate Lambda functions would: no cached settings, clients or
# environment carry over from one measure to the next.
STEPS: dict[str, str] = {
    "artifact sizes": "from bench.measures import artifacts as step",
    "cold imports": "from bench.measures import cold_imports as step",
    "warm overhead": "from bench.measures import warm_overhead as step",
    "peak memory": "from bench.measures import peak_rss_step as step",
    "AWS calls": "from bench.aws_calls import aws_calls as step",
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
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)


def print_table(results: dict[str, Any]) -> None:
    print(f"\n{'measure':<28} {'value':>12}  {'target':<22} ok")
    for key, value in results.items():
        if isinstance(value, dict):
            continue
        target, check = TARGETS.get(key, ("", lambda _v: True))
        verdict = ("yes" if check(value) else "NO") if target else ""
        print(f"{key:<28} {value!s:>12}  {target:<22} {verdict}")
    for key, value in results.items():
        if isinstance(value, dict):
            print(f"\n{key}:")
            for name, item in value.items():
                target, check = TARGETS.get(f"{key}.{name}", ("", lambda _v: True))
                verdict = ("yes" if check(item) else "NO") if target else ""
                print(f"  {name:<26} {item!s:>12}  {target:<20} {verdict}")
    print(f"\nwritten to {RESULTS.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
