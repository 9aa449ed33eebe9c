"""`make bench`: measures the targets of the benchmark issue, prints a table and writes bench/results.json."""

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import measures
from bench.lambda_like import REPO_ROOT, ensure_runtime

RESULTS = Path(__file__).resolve().parent / "results.json"

# key -> (target description, check)
TARGETS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "cold_import_ratio_max": ("<= 1.5", lambda v: v <= 1.5),
    "warm_overhead_ratio": ("<= 2.0", lambda v: v <= 2.0),
    "peak_rss_mb": ("< 128", lambda v: v < 128),
    "artifact_kb_max": ("< 64 (each function)", lambda v: v < 64),
    "layer_mb": ("< 25", lambda v: v < 25),
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
                print(f"  {name:<26} {item}")
    print(f"\nwritten to {RESULTS.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
