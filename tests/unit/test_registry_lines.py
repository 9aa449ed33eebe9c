"""The registry's lines say, without importing an adapter, what the adapter itself says (its webhook, its
platform names, its routes); and a function that asks for one platform imports that platform alone."""

import subprocess
import sys

import pytest

from socialcare.platform_config import PlatformConfig
from socialcare.platforms import registry
from tests.conftest import REPO_ROOT

PACKAGES = [line.location.split(":")[0] for line in registry.lines() if line.location]


@pytest.mark.parametrize("line", registry.lines(), ids=lambda line: line.webhook)
def test_each_line_says_what_its_adapter_says(line: registry.Line) -> None:
    adapter = line.adapter
    assert adapter.webhook == line.webhook
    assert tuple(adapter.routes()) == line.routes
    if line in registry.ADAPTERS:
        assert tuple(adapter.platforms(PlatformConfig())) == line.platforms
    else:  # named by the configuration: the line claims none
        assert line.platforms == ()


def imported_after(code: str) -> list[str]:
    check = f"import sys\n{code}\nprint(sorted(m for m in {PACKAGES!r} if m in sys.modules))\n"
    completed = subprocess.run(
        [sys.executable, "-c", check], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return [name.strip("' ") for name in completed.stdout.strip("[]\n").split(",") if name.strip()]


def test_the_registry_and_the_webhook_handler_import_no_platform_until_asked() -> None:
    assert imported_after("from socialcare.webhook.receive import webhook_app\nwebhook_app()") == []
    names = imported_after(
        "from socialcare.platforms import registry\n"
        "registry.named_platforms()\n"
        "registry.adapter_for('x').label('x')\n"
    )
    assert names == ["socialcare.platforms.x"]
