"""Fixtures shared by every test: the development configuration, signed-request builders and a clean
process for each test (cached settings, stores and secrets do not leak from one test into the next)."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from socialcare.observability import metrics
from socialcare.platforms.x import payloads as x_payloads
from socialcare.signatures import sha256_base64
from socialcare.singletons import forget_all

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS_ROOT = Path(__file__).resolve().parent
# A test's folder is its kind: `pytest -m unit`, `-m integration` and `-m e2e` select one folder each.
FOLDER_MARKERS = ("unit", "integration", "e2e")
DEV_CONFIG: dict[str, Any] = json.loads((REPO_ROOT / "infra" / "dev-config.json").read_text())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.relative_to(TESTS_ROOT).parts[0] if item.path.is_relative_to(TESTS_ROOT) else ""
        if folder in FOLDER_MARKERS:
            item.add_marker(folder)


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "SocialCareTests")
    for variable in ("AWS_ENDPOINT_URL",):
        monkeypatch.delenv(variable, raising=False)
    yield
    forget_all()
    parameters.clear_caches()
    # With metrics disabled Powertools never flushes, so values pile up across tests; at 100 of one metric it
    # serializes them and fails (no namespace at import time). Lambda flushes after every invocation.
    metrics.clear_metrics()


@pytest.fixture
def dev_config() -> dict[str, Any]:
    return json.loads(json.dumps(DEV_CONFIG))


def x_signature(body: bytes, secret: str = DEV_CONFIG["x"]["consumer_secret"]) -> str:
    return sha256_base64(secret, body)


def tweet_delivery(*tweets: dict[str, Any], for_user_id: str = DEV_CONFIG["x"]["brand_user_id"]) -> bytes:
    return json.dumps(x_payloads.delivery(for_user_id, tweets=list(tweets))).encode()
