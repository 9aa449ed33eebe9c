"""A real browser (Debian's chromium, driven by Playwright) on a phone-sized screen, against the system as
`make run` serves it: the agent opens the texted link, reads a hostile mention rendered inert, and answers;
a form posted from another origin is refused."""

import json
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local.system import free_port
from socialcare.platforms.x.payloads import tweet
from tests.conftest import REPO_ROOT, tweet_delivery, x_signature
from tests.running_stack import RunningStack, running_stack

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO_ROOT / "test-artifacts"
HOSTILE_TEXT = (
    '@brand <script>alert("xss")</script><img src=x onerror="alert(1)" id="injected">'
    '<iframe id="frame" src="javascript:alert(2)"></iframe> "quotes" & <b id="bold">markup</b>'
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it)"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    log = Path(tmp_path_factory.mktemp("e2e-stack")) / "stack.log"
    with running_stack(log_path=str(log)) as running:
        agent = running.cli(
            "agents",
            "add",
            "--name",
            "Erin Agent",
            "--email",
            "erin@example.com",
            "--phone",
            "+14155550199",
            "--platforms",
            "x",
        )
        assert agent.returncode == 0, agent.stderr
        shift = running.cli("shifts", "set", "erin@example.com", "Mon-Sun 00:00-24:00", "--tz", "UTC")
        assert shift.returncode == 0, shift.stderr
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


def send_mention(stack: RunningStack, tweet_id: str, text: str) -> None:
    body = tweet_delivery(tweet(tweet_id=tweet_id, text=text, screen_name="mallory"))
    headers = {"content-type": "application/json", "x-twitter-webhooks-signature": x_signature(body)}
    response = requests.post(f"{stack.api_url}/webhooks/x", data=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text


def link_texted_for(stack: RunningStack, text_fragment: str, timeout_s: float = 30) -> str:
    """The reply link of the SMS the local stack sent about the mention containing `text_fragment`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for message in stack.outbox():
            if message["channel"] == "sms" and text_fragment in message["body"]:
                return next(
                    word for word in message["body"].split() if word.startswith(f"{stack.api_url}/r/")
                )
        time.sleep(0.5)
    raise AssertionError(f"no SMS about {text_fragment!r} within {timeout_s} s")


def mention_status(stack: RunningStack, tweet_id: str) -> str:
    (mention,) = [m for m in stack.cli_json("mentions", "list", "--json") if m["external_id"] == tweet_id]
    return str(mention["status"])


def platform_calls(stack: RunningStack) -> list[dict[str, Any]]:
    return stack.simulator_calls()


def wait_for_calls(stack: RunningStack, count: int, timeout_s: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        calls = [c for c in platform_calls(stack) if c["path"].endswith("/2/tweets")]
        if len(calls) >= count:
            return calls
        time.sleep(0.5)
    raise AssertionError(f"the platform did not receive {count} reply within {timeout_s} s")


def test_agent_answers_a_hostile_mention_from_a_phone(stack: RunningStack, browser: Any) -> None:
    send_mention(stack, "90001", HOSTILE_TEXT)
    link = link_texted_for(stack, "mallory")
    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    response = page.goto(link)
    assert response is not None and response.status == 200

    # The stranger's markup is text on the page, not elements in it.
    assert page.locator("#injected").count() == 0
    assert page.locator("#bold").count() == 0
    assert page.locator("#frame").count() == 0
    assert (
        page.locator("script:not([nonce]):not([src])").evaluate_all(
            "scripts => scripts.filter(s => s.textContent.includes('xss')).length"
        )
        == 0
    )
    # ... and the agent still reads exactly what the customer wrote.
    assert page.get_by_text('<script>alert("xss")</script>', exact=False).count() >= 1
    # Usable on a 360-pixel phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reply-page-360x640.png"), full_page=True)

    # Opening the page in a browser is not a person taking the mention: it keeps escalating until the
    # agent says so.
    assert mention_status(stack, "90001") == "assigned"
    page.click("#on-it")
    page.wait_for_load_state()
    assert "You are on it." in page.inner_text("main")
    assert mention_status(stack, "90001") == "opened"

    page.fill("textarea[name=text]", "Hi Mallory, we are on it: your order ships today. — Erin")
    page.click("#send")
    page.wait_for_load_state()
    assert "sent" in page.content().lower() or "on its way" in page.content().lower()
    page.screenshot(path=str(ARTIFACTS / "reply-sent-360x640.png"), full_page=True)
    assert dialogs == []

    (call,) = wait_for_calls(stack, 1)
    sent = call.get("json") or call.get("body") or {}
    if isinstance(sent, str):
        sent = json.loads(sent)
    assert sent["reply"]["in_reply_to_tweet_id"] == "90001"
    assert sent["text"] == "Hi Mallory, we are on it: your order ships today. — Erin"
    context.close()


class _OtherOrigin(BaseHTTPRequestHandler):
    """A page on another origin with a form that posts to the reply link as soon as it loads."""

    target = ""

    def do_GET(self) -> None:
        page = (
            "<html><body><form id=f method=post action='" + self.target + "'>"
            "<input name=text value='forged reply'><input name=nonce value='guess'></form>"
            "<script>document.getElementById('f').submit()</script></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.send_header("content-length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_a_form_posted_from_another_origin_is_refused(stack: RunningStack, browser: Any) -> None:
    send_mention(stack, "90002", "@brand my refund never arrived")
    link = link_texted_for(stack, "refund never arrived")
    before = len([c for c in platform_calls(stack) if c["path"].endswith("/2/tweets")])

    _OtherOrigin.target = link
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _OtherOrigin)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        context = browser.new_context(viewport={"width": 360, "height": 640})
        page = context.new_page()
        with page.expect_response(lambda r: r.url == link and r.request.method == "POST") as posted:
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        assert posted.value.status == 403
        context.close()
    finally:
        server.shutdown()
    # The link still works for the agent, and nothing reached the platform.
    assert requests.get(link, timeout=10).status_code == 200
    time.sleep(1)
    assert len([c for c in platform_calls(stack) if c["path"].endswith("/2/tweets")]) == before


def test_a_refused_reply_shows_not_posted_and_try_again_posts_once(stack: RunningStack, browser: Any) -> None:
    send_mention(stack, "90003", "@brand where is my refund, failing_fred")
    link = link_texted_for(stack, "failing_fred")
    before = len(wait_for_calls(stack, 0))
    refusal = {"count": 1, "status": 403, "body": {"title": "Forbidden", "detail": "not permitted today"}}
    assert requests.post(f"{stack.simulator_url}/_simulator/fail", json=refusal, timeout=10).ok
    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(link)
    page.fill("textarea[name=text]", "Your refund left today, Fred.")
    page.click("#send")
    wait_for_calls(stack, before + 1)

    failed = link_texted_for(stack, "NOT posted")
    page.goto(failed)
    main = page.inner_text("main")
    assert "Not posted" in main and "Already answered" not in main
    assert "not permitted today" in main and "Your refund left today, Fred." in main
    page.click("#try-again")
    page.wait_for_load_state()
    calls = wait_for_calls(stack, before + 2)
    assert len([c for c in calls if "Your refund left today" in json.dumps(c)]) == 2  # refused, then posted
    deadline = time.monotonic() + 30
    while "Already answered" not in page.inner_text("main") and time.monotonic() < deadline:
        page.wait_for_timeout(300)  # the sender records the post a moment after the platform received it
        page.goto(failed)
    assert "Already answered" in page.inner_text("main")
    (mention,) = [m for m in stack.cli_json("mentions", "list", "--json") if m["external_id"] == "90003"]
    assert mention["reply_status"] == "sent" and mention["status"] == "answered"
    context.close()
