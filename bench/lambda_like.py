"""A Python environment shaped like Lambda's: the function's code, the layer `sam build` made, and the boto3
the Python runtime ships, and nothing else (no dev tools on sys.path), so import times and memory are what a
cold start pays, not what this machine's development virtualenv pays."""

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO_ROOT / ".aws-sam" / "build"
RUNTIME_DIR = REPO_ROOT / ".aws-sam" / "bench-runtime"
# What the python3.12 Lambda runtime provides besides the standard library.
RUNTIME_PACKAGES = ["boto3==1.44.5", "botocore==1.44.5"]


def ensure_build() -> None:
    if not (BUILD_DIR / "SharedLayer" / "python" / "socialcare").is_dir():
        subprocess.run(
            ["sam", "build", "--template", str(REPO_ROOT / "template.yaml")],
            check=True,
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
        )


def ensure_runtime() -> None:
    marker = RUNTIME_DIR / ".installed"
    if marker.exists():
        return
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            str(RUNTIME_DIR),
            *RUNTIME_PACKAGES,
        ],
        check=True,
    )
    marker.touch()


def python_path(function_dir: str | None) -> str:
    parts = [str(BUILD_DIR / "SharedLayer" / "python"), str(RUNTIME_DIR)]
    if function_dir:
        parts.insert(0, str(BUILD_DIR / function_dir))
    return os.pathsep.join(parts)


def run_isolated(code: str, function_dir: str | None, extra_env: dict[str, str] | None = None) -> str:
    """Run `code` in a fresh interpreter that sees only the Lambda-like path; returns its stdout."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": python_path(function_dir),
        "PYTHONNOUSERSITE": "1",
        # As on Lambda, where code is read-only: only the bytecode the build ships is used, none is cached.
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_SERVICE_NAME": "socialcare",
        "POWERTOOLS_METRICS_NAMESPACE": "SocialCare",
        "TABLE_NAME": "bench-table",
        "SECTION_SECRET_IDS": "x=bench-secret",
        **(extra_env or {}),
    }
    # -S: no site-packages of the interpreter's own virtualenv; -I would also drop PYTHONPATH.
    completed = subprocess.run(
        [sys.executable, "-S", "-c", code], env=environment, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"isolated run failed:\n{completed.stderr[-3000:]}")
    return completed.stdout
