"""Fixtures shared by every test: the development configuration, signed-request builders and a clean
process for each test (cached settings, stores and secrets do not leak from one test into the next)."""

import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.loaders
import botocore.session
import hypothesis
import pytest
from aws_lambda_powertools.utilities import parameters

from infra.local.template import Template, load_template
from socialcare.observability import metrics
from socialcare.platforms.x import payloads as x_payloads
from socialcare.signatures import sha256_base64
from socialcare.singletons import forget_all

REPO_ROOT = Path(__file__).resolve().parents[1]
TESTS_ROOT = Path(__file__).resolve().parent
# A test's folder is its kind: `pytest -m unit`, `-m integration` and `-m e2e` select one folder each.
FOLDER_MARKERS = ("unit", "integration", "e2e")
DEV_CONFIG: dict[str, Any] = json.loads((REPO_ROOT / "infra" / "dev-config.json").read_text())


# Property tests: `make test` runs a quarter of each property's examples (about 25 where none are given);
# HYPOTHESIS_PROFILE=thorough runs them all (hypothesis' usual 100 where none are given).
THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
hypothesis.settings.register_profile("quick", max_examples=25)
hypothesis.settings.register_profile("thorough", max_examples=100)
hypothesis.settings.load_profile("thorough" if THOROUGH else "quick")


def examples(thorough: int) -> int:
    """A property's example count: `thorough` with HYPOTHESIS_PROFILE=thorough, a quarter of it otherwise."""
    return thorough if THOROUGH else max(10, thorough // 4)


class _UniquePaths(list[str]):
    """boto3 appends its data folder to the loader's paths for every session it makes: keep one of each."""

    def append(self, path: str) -> None:
        if path not in self:
            super().append(path)


@functools.cache
def _shared_loader(search_path: str | None = None) -> botocore.loaders.Loader:
    loader = _create_loader(search_path)
    loader._search_paths = _UniquePaths(loader.search_paths)  # type: ignore[attr-defined]
    return loader


# mock_aws gives every test a new boto3 session, and each session read botocore's service models again (tens
# of milliseconds a client, several clients a test). The models are read-only data: every session in the
# test process shares one loader, and with it the models it already read.
_create_loader = botocore.session.create_loader
botocore.session.create_loader = _shared_loader


@functools.cache
def parsed_template() -> Template:
    """template.yaml, parsed once per test process: parsing takes a third of a second (pure-Python YAML), and
    the fixtures and event builders would otherwise parse it for every test and every request. Read only."""
    return load_template()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.relative_to(TESTS_ROOT).parts[0] if item.path.is_relative_to(TESTS_ROOT) else ""
        if folder in FOLDER_MARKERS:
            item.add_marker(folder)
    # The modules that start a local stack take longest (10 to 90 s each): handed out first, they do not end
    # up as a long tail on one worker after the others ran out of work (xdist deals files in this order).
    items.sort(key=lambda item: not starts_a_local_stack(item))


def starts_a_local_stack(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    return module is not None and hasattr(module, "running_stack")


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
