"""What keeps the command line quick to start (its speed is `make bench`'s to measure): building the parser
for `--help` imports neither boto3 nor pydantic, and the first install's progress filter turns pip's log into
a few lines."""

import argparse
import subprocess
import sys

from tests.conftest import REPO_ROOT

HEAVY = ("boto3", "botocore", "pydantic", "moto", "requests", "yaml")


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter of the repository, as a command starts."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )


def test_help_imports_no_aws_sdk_and_no_models() -> None:
    code = (
        "import sys\n"
        "from infra.cli import build_parser\n"
        "build_parser().format_help()\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    completed = run_python(code)
    assert completed.stdout.strip() == "[]"


def test_a_command_imports_only_its_own_group_and_help_lists_every_command() -> None:
    code = (
        "import sys\n"
        "from infra.cli import build_parser\n"
        "lazy = build_parser([]).format_help()\n"
        "build_parser(['mentions', 'list']).parse_args(['mentions', 'list'])\n"
        "groups = ('agents', 'audit', 'doctor', 'local', 'mentions', 'operations', 'report', 'simulate')\n"
        "print(sorted(g for g in groups if f'infra.cli.{g}' in sys.modules))\n"
        "print(lazy == build_parser().format_help())\n"
    )
    completed = run_python(code)
    assert completed.stdout.split() == ["['mentions']", "True"]


def test_each_group_registers_the_commands_and_help_lines_listed_for_it() -> None:
    from infra.cli import COMMAND_GROUPS, build_parser

    parser = build_parser()
    choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    registered = {action.dest: action.help for action in choices._choices_actions}
    listed = {name: line for group in COMMAND_GROUPS.values() for name, line in group.items()}
    assert registered == listed


PIP_LOG = "".join(
    [
        *(f"Collecting package{number}==1.0\n" for number in range(25)),
        "Requirement already satisfied: pip in ./.venv/lib/python3.12/site-packages (25.0)\n",
        "  Downloading package1-1.0-py3-none-any.whl (10 kB)\n",
        "Installing collected packages: package0, package1, package2\n",
        "Successfully installed package0-1.0 package1-1.0 package2-1.0\n",
    ]
)


def install_progress(log: str) -> subprocess.CompletedProcess[str]:
    """infra/install_progress.py reading `log`, as make pipes an installer's output into it."""
    script = str(REPO_ROOT / "infra" / "install_progress.py")
    return subprocess.run([sys.executable, script], input=log, capture_output=True, text=True, check=True)


def test_the_install_progress_counts_packages_and_says_when_it_installs() -> None:
    completed = install_progress(PIP_LOG)
    assert completed.stdout.splitlines() == [
        "  resolved 20 packages (latest: package19==1.0)",
        "  installing 3 packages into .venv...",
        "  done: 3 packages installed",
    ]
    assert completed.stderr == ""


UV_LOG = """Using Python 3.12.1 environment at: .venv
Resolved 134 packages in 1.21s
Downloading botocore (12.7MiB)
 Downloaded botocore
Prepared 134 packages in 3.40s
Installed 134 packages in 310ms
 + boto3==1.44.5
 + moto==5.2.5
error: a failure uv reports
"""


def test_the_install_progress_passes_uv_summaries_and_errors_without_its_package_list() -> None:
    completed = install_progress(UV_LOG)
    assert completed.stdout.splitlines() == [
        "  Resolved 134 packages in 1.21s",
        "  Prepared 134 packages in 3.40s",
        "  Installed 134 packages in 310ms",
    ]
    assert completed.stderr == "error: a failure uv reports\n"


def test_a_command_that_reads_loads_the_sdk_without_boto3_crt_or_pyopenssl() -> None:
    """A reading command brings botocore in, but not boto3 (its s3transfer and resources), the AWS CRT nor
    pyOpenSSL: the commands use none of them, and would only pay their import."""
    code = (
        "import os, sys\n"
        "import infra.cli\n"
        "def read(arguments):\n"
        "    from socialcare.data.dynamo import client\n"
        "    os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1')\n"
        "    client()\n"
        "infra.cli.build_parser = lambda *_: type('P', (), {'parse_args': lambda self, argv: "
        "type('A', (), {'run': staticmethod(read)})()})()\n"
        "infra.cli.main([])\n"
        "sdk = ('botocore', 'boto3', 'OpenSSL', 'cryptography', 'awscrt')\n"
        "print(sorted(m for m in sdk if sys.modules.get(m)))\n"
    )
    completed = run_python(code)
    assert completed.stdout.strip() == "['botocore']"


def test_mentions_list_reads_and_prints_without_the_models() -> None:
    """`mentions list` prints the items as stored (socialcare.data.mention_feed): what it imports to read and
    print brings in no pydantic, a quarter of the command's time (`--json` builds the models)."""
    code = (
        "import sys\n"
        "import infra.cli.mentions, socialcare.data.mention_feed, socialcare.labels, socialcare.data.dynamo\n"
        "print(sorted(m for m in ('pydantic', 'socialcare.models') if m in sys.modules))\n"
    )
    completed = run_python(code)
    assert completed.stdout.strip() == "[]"
