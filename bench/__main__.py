"""`make bench`: measures the targets of the benchmark issue, prints a table and writes bench/results.json."""

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import measures
from bench.aws_calls import aws_calls
from bench.lambda_like import REPO_ROOT, ensure_runtime
from bench.load import ingest_load

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
    "ingest.lost": ("0", lambda v: v == 0),
    "ingest.double": ("0", lambda v: v == 0),
}


def main() -> None:
    subprocess.run(
        ["sam", "build", "--template", "template.yaml"], cwd=REPO_ROOT, check=True, stdout=subprocess.DEVNULL
    )
    ensure_runtime()
    results: dict[str, Any] = {}
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("artifact sizes", measures.artifacts),
        ("cold imports", measures.cold_imports),
        ("warm overhead", measures.warm_overhead),
        ("peak memory", lambda: {"peak_rss_mb": measures.peak_rss()}),
        ("AWS calls", aws_calls),
        ("ingest through the local stack", ingest_load),
    ]
    for label, step in steps:
        print(f"measuring {label}...", file=sys.stderr, flush=True)
        results.update(step())
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
