"""The measurements behind `make bench`. Each key is measured in one run, baseline and subject side by side,
so their ratio holds on a noisy machine."""

import json
import statistics
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.lambda_like import BUILD_DIR, REPO_ROOT, run_isolated
from infra.local.template import load_template

COLD_IMPORT_CODE = """
import importlib.util, sys, time
started = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1] if len(sys.argv) > 1 else {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - started)
"""
BASELINE_IMPORT_CODE = """
import time
started = time.perf_counter()
import boto3
boto3.client("dynamodb")
print(time.perf_counter() - started)
"""


def function_build_dirs() -> dict[str, Path]:
    return {logical_id: BUILD_DIR / logical_id for logical_id in load_template().functions}


def cold_imports(rounds: int = 5) -> dict[str, Any]:
    """Per function: median time to import its handler module in a fresh Lambda-like interpreter, over the
    median time of `import boto3; boto3.client("dynamodb")` measured in the same rounds."""
    functions = function_build_dirs()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    baseline: list[float] = []
    for _ in range(rounds):
        baseline.append(float(run_isolated(BASELINE_IMPORT_CODE, None)))
        for name, directory in functions.items():
            code = COLD_IMPORT_CODE.format(path=str(directory / "app.py"))
            samples[name].append(float(run_isolated(code, directory.name)))
    baseline_s = statistics.median(baseline)
    ratios = {name: round(statistics.median(times) / baseline_s, 2) for name, times in samples.items()}
    return {
        "cold_import_ms": {name: round(statistics.median(t) * 1000, 1) for name, t in samples.items()},
        "cold_import_baseline_ms": round(baseline_s * 1000, 1),
        "cold_import_ratio": ratios,
        "cold_import_ratio_max": max(ratios.values()),
    }


def artifacts() -> dict[str, Any]:
    """Each function's deployment zip (its own folder, as sam package zips it) and the unzipped layer."""
    sizes: dict[str, float] = {}
    for name, directory in function_build_dirs().items():
        archive = REPO_ROOT / ".aws-sam" / f"bench-{name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
            for file in sorted(directory.rglob("*")):
                if file.is_file():
                    bundle.write(file, file.relative_to(directory))
        sizes[name] = round(archive.stat().st_size / 1024, 1)
        archive.unlink()
    layer = BUILD_DIR / "SharedLayer"
    layer_bytes = sum(f.stat().st_size for f in layer.rglob("*") if f.is_file())
    return {
        "artifact_kb": sizes,
        "artifact_kb_max": max(sizes.values()),
        "layer_mb": round(layer_bytes / 2**20, 1),
    }


# ---------------------------------------------------------------- memory, with every AWS call stubbed
PEAK_RSS_CODE = """
import json, resource, sys
sys.path.insert(0, {repo!r})
from bench.stub_aws import install_stub_aws, x_delivery_events
install_stub_aws({config!r})
import importlib.util
spec = importlib.util.spec_from_file_location("app", {app!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from bench.stub_aws import FakeContext
for event in x_delivery_events({count}, {secret!r}):
    answer = module.lambda_handler(event, FakeContext())
    assert answer["statusCode"] == 200, answer
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_rss(deliveries: int = 1000) -> float:
    """Peak memory (MB) of a Lambda-like process running the X webhook for `deliveries` deliveries."""
    config = json.loads((REPO_ROOT / "infra" / "dev-config.json").read_text())
    code = PEAK_RSS_CODE.format(
        repo=str(REPO_ROOT),
        config=json.dumps(config["x"]),  # the X webhook reads the x section alone
        app=str(BUILD_DIR / "XWebhookFunction" / "app.py"),
        count=deliveries,
        secret=config["x"]["consumer_secret"],
    )
    return round(float(run_isolated(code, "XWebhookFunction").strip().splitlines()[-1]), 1)


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


# ---------------------------------------------------------------- warm overhead, against moto in-process
def warm_overhead(deliveries: int = 300) -> dict[str, Any]:
    """Warm time per X delivery through the handler over a minimal baseline doing only the necessary work
    (HMAC check, JSON parse, one conditional put) against the same in-process moto backend."""
    import base64
    import hashlib
    import hmac
    import os

    import boto3
    from moto import mock_aws

    from bench.stub_aws import FakeContext, x_delivery_events
    from infra.local.runtime import FunctionRuntime
    from infra.local.stack import REGION, LocalStack

    config = json.loads((REPO_ROOT / "infra" / "dev-config.json").read_text())
    secret = config["x"]["consumer_secret"]
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    with mock_aws():
        template = load_template()
        stack = LocalStack(template, endpoint_url=None, api_url="http://127.0.0.1:3000")  # type: ignore[arg-type]
        resolver = stack.provision(config)
        os.environ.update(stack.function_environment(resolver, "XWebhookFunction"))
        handler = FunctionRuntime(template.functions, log=lambda _line: None).handler("XWebhookFunction")
        events = list(x_delivery_events(deliveries * 2, secret))
        subject_events, baseline_events = events[:deliveries], events[deliveries:]
        handler(subject_events[0], FakeContext())  # warm: the secret is cached, clients exist
        client = boto3.client("dynamodb")
        table_name = os.environ["TABLE_NAME"]

        def baseline(event: dict[str, Any]) -> None:
            body = event["body"].encode()
            expected = (
                "sha256="
                + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
            )
            if not hmac.compare_digest(expected, event["headers"]["x-twitter-webhooks-signature"]):
                raise AssertionError("bad signature")
            tweet = json.loads(body)["tweet_create_events"][0]
            client.put_item(
                TableName=table_name,
                Item={
                    "pk": {"S": f"MENTION#x-{tweet['id_str']}"},
                    "sk": {"S": "MENTION"},
                    "text": {"S": tweet["text"]},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )

        baseline(baseline_events[0])
        subject_times: list[float] = []
        baseline_times: list[float] = []
        # Interleaved, so both see the same machine load.
        for subject_event, baseline_event in zip(subject_events[1:], baseline_events[1:], strict=True):
            started = time.perf_counter()
            answer = handler(subject_event, FakeContext())
            subject_times.append(time.perf_counter() - started)
            assert answer["statusCode"] == 200, answer
            started = time.perf_counter()
            baseline(baseline_event)
            baseline_times.append(time.perf_counter() - started)
    subject_ms = statistics.median(subject_times) * 1000
    baseline_ms = statistics.median(baseline_times) * 1000
    return {
        "warm_ms": round(subject_ms, 2),
        "warm_baseline_ms": round(baseline_ms, 2),
        "warm_overhead_ratio": round(subject_ms / baseline_ms, 2),
    }


def peak_rss_step() -> dict[str, Any]:
    return {"peak_rss_mb": peak_rss()}
