"""The HTML report in a real browser (Debian's chromium through Playwright) at a phone's 360 px and at a
desktop width: every chart drawn, nothing fetched, no script, no page-wide sideways scrolling. Screenshots
go to test-artifacts/."""

import random
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from socialcare.measures.figures import Counters, bucket_of, distribution_index
from socialcare.measures.report_render import Comment, report_html
from socialcare.measures.reports import Period
from tests.conftest import REPO_ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO_ROOT / "test-artifacts"
PERIOD = Period(date(2026, 10, 5), date(2026, 11, 1))

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)"),
]


def generated_rollups(seed: int = 3) -> dict[str, dict[str, Counters]]:
    """Four weeks of mentions on three platforms, answered by five agents, with ratings."""
    rng = random.Random(seed)
    rollups: dict[str, dict[str, Counters]] = {}
    for offset in range(28):
        day = (PERIOD.since + timedelta(days=offset)).isoformat()
        groups: dict[str, Counters] = {}
        for _ in range(rng.randrange(20, 60)):
            platform = rng.choice(["x", "facebook", "instagram"])
            hour = f"hour={rng.choice([9, 10, 11, 12, 13, 14, 15, 16, 20]):02d}"
            priority = f"priority={rng.choice(['urgent', 'normal', 'low'])}"
            names = ["all", f"platform={platform}", hour, priority]
            answered = rng.random() < 0.9
            if answered:
                names.append(f"agent={rng.choice(['ann', 'bob', 'cy', 'dee', 'eve'])}@example.com")
            seconds = int(rng.lognormvariate(7.5, 1.3))
            rating = rng.choice([None, None, 3, 4, 5, 5, 1])
            for name in names:
                counters = groups.setdefault(name, Counters())
                counters.mentions += 0 if name.startswith("agent=") else 1
                if answered:
                    counters.answered += 1
                    counters.met += seconds <= 3600
                    counters.missed += seconds > 3600
                    counters.histogram[bucket_of(seconds)] = counters.histogram.get(bucket_of(seconds), 0) + 1
                    counters.distribution[distribution_index(seconds)] += 1
                    counters.sent += 1
                    if rating:
                        counters.responses += 1
                        counters.ratings[rating] += 1
        rollups[day] = groups
    return rollups


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    comments = [
        Comment(5, "Fast and kind, thank you!", "x", "2026-10-31T10:00:00Z"),
        Comment(1, "<b>Nobody</b> answered my DM for two days", "instagram", "2026-10-30T10:00:00Z"),
    ]
    path = Path(tmp_path_factory.mktemp("report")) / "report.html"
    path.write_text(report_html(generated_rollups(), PERIOD, comments), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.mark.parametrize(
    ("name", "viewport", "mobile"),
    [("360", {"width": 360, "height": 740}, True), ("desktop", {"width": 1280, "height": 900}, False)],
)
def test_the_report_reads_on_a_phone_and_on_a_desktop(
    browser: Any, report_file: Path, name: str, viewport: dict[str, int], mobile: bool
) -> None:
    context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report_file.as_uri())
    assert requests == [report_file.as_uri()], "the page fetches nothing but itself"
    assert page.locator("script").count() == 0
    charts = page.locator("svg")
    assert charts.count() == 5  # per day, distribution, hour of week, SLA, satisfaction
    for index in range(charts.count()):
        box = charts.nth(index).bounding_box()
        assert box is not None and 0 < box["width"] <= viewport["width"] and box["height"] > 50
    # Wide tables scroll inside their own box; the page itself never scrolls sideways.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1
    assert page.get_by_text("<b>Nobody</b> answered my DM").count() == 1  # the markup came out as text
    assert page.locator("blockquote b").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-{name}.png"), full_page=True)
    context.close()
