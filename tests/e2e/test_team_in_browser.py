"""The team pages in a real browser (Debian's chromium, Playwright) at 360 px against the local stack: a lead
pauses her texts, Ann signs in from the link in the local outbox, sees the waiting mention, takes it and
answers it, Bob sees "Ann is answering", and the mention leaves the open work. axe-core (from npm, injected by
the test, never served by the pages) checks every page on the way, and the reply page."""

import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from socialcare.platforms.x.payloads import tweet
from tests.conftest import REPO_ROOT, tweet_delivery, x_signature
from tests.running_stack import RunningStack, running_stack

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO_ROOT / "test-artifacts"
PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True}

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)"),
    pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed (make test runs npm ci)"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    log = Path(tmp_path_factory.mktemp("e2e-team")) / "stack.log"
    with running_stack(log_path=str(log)) as running:
        # Nobody has hours, so a new mention waits for someone on shift: only the lead would get it.
        for name, email, phone, *lead in (
            ("Ann Lee", "ann@example.com", "+14155550101"),
            ("Bob Ray", "bob@example.com", "+14155550102"),
            ("Lea Lead", "lea@example.com", "+14155550103", "--lead"),
        ):
            added = running.cli("agents", "add", "--name", name, "--email", email, "--phone", phone, *lead)
            assert added.returncode == 0, added.stderr
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        )
        yield launched
        launched.close()


def wait_for[T](what: str, probe: Callable[[], T | None], timeout_s: float = 30) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def assert_accessible(page: Any, name: str) -> None:
    """No serious or critical axe-core violation on the page as it is now (and a screenshot of it)."""
    page.add_script_tag(content=AXE.read_text())
    violations = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], f"{name}: {serious}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, f"{name} is wider than the phone"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"team-{name}-360x640.png"), full_page=True)


def sign_in(stack: RunningStack, page: Any, email: str) -> None:
    """Ask for a link on /team/sign-in, open it from the local outbox, press Sign in."""
    page.goto(f"{stack.api_url}/team/sign-in")
    assert_accessible(page, "sign-in")
    page.fill("input[name=email]", email)
    page.click("button[type=submit]")
    assert "Check your email" in page.content()

    def link() -> str | None:
        for message in stack.outbox():
            if message["to"] == email and message["subject"] == "Sign in to Social Care":
                found = re.search(r"http://\S+/team/sign-in/\S+", message["body"])
                return found.group(0) if found else None
        return None

    page.goto(wait_for(f"the sign-in email to {email}", link))
    assert_accessible(page, "sign-in-link")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{stack.api_url}/team")


def send_mention(stack: RunningStack, tweet_id: str, text: str) -> None:
    body = tweet_delivery(tweet(tweet_id=tweet_id, text=text, screen_name="carol"))
    headers = {"content-type": "application/json", "x-twitter-webhooks-signature": x_signature(body)}
    assert (
        requests.post(f"{stack.api_url}/webhooks/x", data=body, headers=headers, timeout=10).status_code
        == 200
    )


def test_the_team_answers_a_waiting_mention_from_phones(stack: RunningStack, browser: Any) -> None:
    lea = browser.new_context(**PHONE, bypass_csp=True).new_page()  # bypass_csp: only to inject axe-core
    sign_in(stack, lea, "lea@example.com")
    lea.goto(f"{stack.api_url}/team/me")
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    lea.fill("input[name=pause_until]", f"{tomorrow:%Y-%m-%dT%H:%M}")
    lea.click("button[value=pause]")
    assert "Texts paused" in lea.content()
    assert_accessible(lea, "me")
    lea.goto(f"{stack.api_url}/team/roster")
    assert "paused until" in lea.content()
    assert_accessible(lea, "roster")
    lea.goto(f"{stack.api_url}/team/report")
    assert_accessible(lea, "report")

    # With the lead paused and nobody on shift, the mention waits; nobody is texted about it.
    send_mention(stack, "70001", "@brand my blue shoes came in red")
    wait_for(
        "the mention waiting",
        lambda: stack.cli_json("mentions", "list", "--status", "waiting", "--json"),
    )
    assert not [m for m in stack.outbox() if m["channel"] == "sms" and "carol" in m["body"]]

    ann = browser.new_context(**PHONE, bypass_csp=True).new_page()
    sign_in(stack, ann, "ann@example.com")
    card = ann.locator("section.card", has_text="my blue shoes came in red")
    assert "Waiting for someone on shift" in card.inner_text()
    assert_accessible(ann, "open-work")
    card.get_by_role("button", name="I'll take it").click()
    ann.wait_for_url(re.compile(r".*/r/[A-Za-z0-9_-]+$"))
    assert "my blue shoes came in red" in ann.content()
    assert_accessible(ann, "reply-page")

    bob = browser.new_context(**PHONE, bypass_csp=True).new_page()
    sign_in(stack, bob, "bob@example.com")
    bobs_card = bob.locator("section.card", has_text="my blue shoes came in red")
    assert "Ann Lee is answering" in bobs_card.inner_text()
    assert "Who has it: Ann Lee" in bobs_card.inner_text()

    ann.click("#on-it")
    assert "You are on it." in ann.inner_text("main")
    ann.fill("textarea[name=text]", "Hi Carol, so sorry! Red ones go back free, blue ones ship today. Ann")
    ann.click("#send")
    assert "on its way" in ann.content().lower() or "posted" in ann.content().lower()

    def gone_from_open_work() -> bool:
        ann.goto(f"{stack.api_url}/team")
        return "my blue shoes came in red" not in ann.content()

    wait_for("the answered mention leaving the open work", gone_from_open_work)
    public = browser.new_context(**PHONE, bypass_csp=True).new_page()
    public.goto(f"{stack.api_url}/people")
    assert_accessible(public, "people")


def test_the_survey_page_passes_axe(browser: Any) -> None:
    """The survey page as socialcare.measures.survey_page renders it (a survey link needs a customer's
    answered
    mention and the survey sweep; the page's HTML is the same)."""
    from socialcare.data.surveys import Survey
    from socialcare.measures.survey_page import survey_page

    now = datetime.now(UTC)
    survey = Survey(
        survey_id="s1",
        token_hash="h",
        mention_id="x-1",
        platform="x",
        priority="normal",
        agent="ann@example.com",
        received_at=now,
        state="sent",
        sent_at=now,
        valid_until=now + timedelta(days=14),
    )
    page = browser.new_context(**PHONE, bypass_csp=True).new_page()
    for name, thanks in (("survey", False), ("survey-thanks", True)):
        page.set_content(survey_page(survey, "1.nonce", now, thanks=thanks).body)
        assert_accessible(page, name)
