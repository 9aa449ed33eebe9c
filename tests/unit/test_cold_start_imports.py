"""What a cold start imports (its time is `make bench`'s to measure): no function's handler imports boto3,
and none collects garbage while its modules load.
Its import loads s3transfer and its resource layer, a third of `import boto3; boto3.client(...)`, and this
code uses neither: clients come from botocore (socialcare.aws_clients), and Powertools Parameters, whose
providers import boto3, is imported by the first secret a function reads (socialcare.secret_store)."""

import ast
import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local.runtime import FunctionRuntime
from infra.local.stack import stand_in_environments
from infra.local.template import FunctionSpec, load_template
from tests.conftest import REPO_ROOT

# The template is read with samtranslator, which imports boto3 itself: from then on, an import of boto3 or
# s3transfer is an ImportError, which names the handler's module that asked for it.
IMPORT_EVERY_HANDLER = """
import gc, json, sys
from infra.local.runtime import FunctionRuntime
from infra.local.template import load_template
environments = json.loads(sys.argv[1])
runtime = FunctionRuntime(load_template().functions, log=lambda _line: None, environments=environments)
sys.modules.update({"boto3": None, "s3transfer": None})
for name in environments:
    runtime.module(name)
    assert gc.isenabled(), name  # the handler's cold start ended (socialcare.cold_start.ready)
print(json.dumps(sorted(environments)))
"""


def test_no_functions_handler_imports_boto3() -> None:
    environments = stand_in_environments(load_template())
    completed = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_HANDLER, json.dumps(environments)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "", "AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "socialcare"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == sorted(environments)  # all imported


def test_every_handler_loads_its_modules_without_garbage_collection_and_then_collects_again() -> None:
    """Its first import turns the collector off (socialcare.cold_start), its last statement on."""
    for path in sorted(REPO_ROOT.glob("functions/*/app.py")):
        body = ast.parse(path.read_text()).body
        first_import = next(node for node in body if isinstance(node, ast.Import | ast.ImportFrom))
        assert ast.unparse(first_import) == "import socialcare.cold_start", path
        assert ast.unparse(body[-1]) == "socialcare.cold_start.ready()", path


def test_an_import_that_fails_halfway_leaves_the_local_stacks_process_collecting(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import socialcare.cold_start\nimport gc\ngc.disable()\nraise RuntimeError('a missing variable')\n"
    )
    spec = FunctionSpec(logical_id="Broken", code_dir=tmp_path, handler="app.lambda_handler", timeout=3)
    runtime = FunctionRuntime({"Broken": spec}, log=lambda _line: None)
    try:
        with pytest.raises(RuntimeError, match="a missing variable"):
            runtime.module("Broken")
        assert gc.isenabled()
    finally:
        gc.enable()
