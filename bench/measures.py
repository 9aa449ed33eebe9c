"""The measurements behind `make bench`. Each key is measured in one run, baseline and subject side by side,
so their ratio holds on a noisy machine. Cold and warm ratios are of CPU time (the process's, or the calling
thread's): on a machine shared with other work, wall time also counts the moments the process waited for a
core, which Lambda, with its own share, does not; the wall times are reported beside them."""

import json
import statistics
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.lambda_like import BUILD_DIR, REPO_ROOT, run_isolated
from infra.local.stack import stand_in_environments
from infra.local.template import load_template

COLD_IMPORT_CODE = """
import importlib.util, sys, time
started, cpu = time.perf_counter(), time.process_time()
spec = importlib.util.spec_from_file_location("app", sys.argv[1] if len(sys.argv) > 1 else {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(time.perf_counter() - started, time.process_time() - cpu)
"""
BASELINE_IMPORT_CODE = """
import time
started, cpu = time.perf_counter(), time.process_time()
import boto3
boto3.client("dynamodb")
print(time.perf_counter() - started, time.process_time() - cpu)
"""


def function_build_dirs() -> dict[str, Path]:
    return {logical_id: BUILD_DIR / logical_id for logical_id in load_template().functions}


def spread(values: list[float]) -> float:
    """How far the rounds disagree: the largest minus the smallest."""
    return round(max(values) - min(values), 2)


def cold_imports(rounds: int = 11) -> dict[str, Any]:
    """Per function: its handler module's import time in a fresh Lambda-like interpreter, over the time of
    `import boto3; boto3.client("dynamodb")` in the same round. Rounds interleave baseline and functions, so a
    busy machine slows both; the figure is the median of the rounds' ratios of CPU time, with their spread.
    Eleven rounds: the figure is the largest of seventeen medians, and on this 2-core machine one function's
    rounds range from 1.0 to 1.6, so with seven the largest median swung by a tenth from run to run."""
    functions = function_build_dirs()
    # Each handler validates its own environment at import: it gets the template's, with stand-in names.
    environments = stand_in_environments(load_template())
    ratios: dict[str, list[float]] = {name: [] for name in functions}
    times: dict[str, list[float]] = {name: [] for name in functions}
    wall: dict[str, list[float]] = {name: [] for name in functions}
    baseline: list[float] = []
    for _ in range(rounds):
        for name, directory in functions.items():
            # The baseline right before each function: both see the same moment of the machine's load.
            _base_wall, base = map(float, run_isolated(BASELINE_IMPORT_CODE, None).split())
            code = COLD_IMPORT_CODE.format(path=str(directory / "app.py"))
            took_wall, took = map(float, run_isolated(code, directory.name, environments[name]).split())
            baseline.append(base)
            times[name].append(took)
            wall[name].append(took_wall)
            ratios[name].append(took / base)
    medians = {name: round(statistics.median(values), 2) for name, values in ratios.items()}
    worst = max(medians, key=lambda name: medians[name])
    return {
        "cold_import_ms": {name: round(statistics.median(t) * 1000, 1) for name, t in times.items()},
        "cold_import_wall_ms": {name: round(statistics.median(t) * 1000, 1) for name, t in wall.items()},
        "cold_import_baseline_ms": round(statistics.median(baseline) * 1000, 1),
        "cold_import_ratio": medians,
        "cold_import_ratio_spread": {name: spread(values) for name, values in ratios.items()},
        "cold_import_ratio_max": medians[worst],
        "cold_import_ratio_max_spread": spread(ratios[worst]),
        "cold_import_rounds": rounds,
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
        "layer_modules_without_bytecode": len(modules_without_bytecode(layer)),
    }


def modules_without_bytecode(root: Path) -> list[Path]:
    """The modules under `root` with no bytecode beside them for this Python: each is compiled at every cold
    start, where the code is read-only."""
    tag = sys.implementation.cache_tag
    return [
        module
        for module in root.rglob("*.py")
        if not (module.parent / "__pycache__" / f"{module.stem}.{tag}.pyc").is_file()
    ]


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
def _minimal_handler(client: Any, table_name: str, secret: str) -> Callable[..., None]:
    """The baseline of the warm measure: only the work a webhook cannot skip (HMAC check, JSON parse, one
    conditional put)."""
    import base64
    import hashlib
    import hmac

    def baseline(event: dict[str, Any], shape: dict[str, Any] | None = None) -> None:
        """`shape`: put an item with every attribute a stored mention has, instead of three."""
        body = event["body"].encode()
        expected = (
            "sha256=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        )
        if not hmac.compare_digest(expected, event["headers"]["x-twitter-webhooks-signature"]):
            raise AssertionError("bad signature")
        tweet = json.loads(body)["tweet_create_events"][0]
        key = f"MENTION#x-{tweet['id_str']}" + ("-same-item" if shape else "")
        item = {**(shape or {}), "pk": {"S": key}, "sk": {"S": "MENTION"}, "text": {"S": tweet["text"]}}
        client.put_item(TableName=table_name, Item=item, ConditionExpression="attribute_not_exists(pk)")

    return baseline


def _interleaved_rounds(
    handler: Callable[..., Any],
    baseline: Callable[..., None],
    subject_events: list[dict[str, Any]],
    baseline_events: list[dict[str, Any]],
    rounds: int,
    mention_item: dict[str, Any],
) -> tuple[list[float], list[float], list[float], list[float], list[float]]:
    """Subject and baselines one after the other, so both see the same machine load: the per-round ratios
    (against the minimal put and against a put of a mention-shaped item) and every CPU and wall time."""
    from bench.stub_aws import FakeContext

    same_item_ratios: list[float] = []
    ratios: list[float] = []
    subject_times: list[float] = []
    subject_wall: list[float] = []
    baseline_times: list[float] = []
    per_round = (len(subject_events) - 1) // rounds
    pairs = list(zip(subject_events[1:], baseline_events[1:], strict=True))
    for start in range(0, per_round * rounds, per_round):
        round_subject: list[float] = []
        round_baseline: list[float] = []
        round_same_item: list[float] = []
        # Interleaved, one subject then one baseline, so both see the same machine load.
        for subject_event, baseline_event in pairs[start : start + per_round]:
            wall, cpu = time.perf_counter(), time.thread_time()
            answer = handler(subject_event, FakeContext())
            round_subject.append(time.thread_time() - cpu)
            subject_wall.append(time.perf_counter() - wall)
            assert answer["statusCode"] == 200, answer
            cpu = time.thread_time()
            baseline(baseline_event)
            round_baseline.append(time.thread_time() - cpu)
            cpu = time.thread_time()
            baseline(baseline_event, mention_item)
            round_same_item.append(time.thread_time() - cpu)
        ratios.append(statistics.median(round_subject) / statistics.median(round_baseline))
        same_item_ratios.append(statistics.median(round_subject) / statistics.median(round_same_item))
        subject_times += round_subject
        baseline_times += round_baseline
    return ratios, same_item_ratios, subject_times, subject_wall, baseline_times


def warm_overhead(deliveries: int = 301, rounds: int = 5) -> dict[str, Any]:
    """Warm CPU time per X delivery through the handler over a minimal baseline doing only the necessary work
    (HMAC check, JSON parse, one conditional put) against the same in-process moto backend: the median of
    `rounds` rounds' ratios (each the ratio of the round's medians), with their spread. moto answers in the
    calling thread, so its work counts on both sides, as the backend's would in their wall times."""
    import os

    import boto3
    from moto import mock_aws

    from bench.stub_aws import FakeContext, x_delivery_events
    from infra.local import moto_item_size, moto_transactions
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
    # moto as the local stack runs it: a put costs its item's attributes once, as in DynamoDB.
    moto_transactions.install()
    moto_item_size.install()
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

        baseline = _minimal_handler(client, table_name, secret)
        baseline(baseline_events[0])
        # moto's cost of a put grows faster than linearly with an item's attributes (its size accounting), a
        # cost DynamoDB does not have: a second baseline puts an item shaped like a stored mention, to tell
        # our code's overhead from moto's.
        first_id = json.loads(subject_events[0]["body"])["tweet_create_events"][0]["id_str"]
        mention_item = client.get_item(
            TableName=table_name, Key={"pk": {"S": f"MENTION#x-{first_id}"}, "sk": {"S": "MENTION"}}
        )["Item"]
        timings = _interleaved_rounds(
            handler, baseline, subject_events, baseline_events, rounds, mention_item
        )
    ratios, same_item_ratios, subject_times, subject_wall, baseline_times = timings
    return {
        "warm_ms": round(statistics.median(subject_times) * 1000, 2),
        "warm_wall_ms": round(statistics.median(subject_wall) * 1000, 2),
        "warm_baseline_ms": round(statistics.median(baseline_times) * 1000, 2),
        "warm_overhead_ratio": round(statistics.median(ratios), 2),
        "warm_overhead_ratio_spread": spread(ratios),
        "warm_overhead_ratio_same_item": round(statistics.median(same_item_ratios), 2),
        "warm_overhead_ratio_same_item_spread": spread(same_item_ratios),
        "warm_overhead_rounds": rounds,
    }


def peak_rss_step() -> dict[str, Any]:
    return {"peak_rss_mb": peak_rss()}
