"""The team pages in-process against moto, through the template's TeamPagesFunction: signing in by email
link and its refusals, the open work and "I'll take it", my settings (pausing texts), the leads' pages, the
public /people page and the audit log."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialcare.data import table
from socialcare.data.agents import AgentStore
from socialcare.data.team import TeamStore
from socialcare.data.tokens import TokenStore
from socialcare.models import MentionStatus, utc_now
from socialcare.people import team_flow
from socialcare.replies.tokens import new_token
from socialcare.settings import Table, load
from tests.integration.conftest import Aws
from tests.integration.dispatch_support import World, emails, make_world
from tests.integration.team_support import Browser, nonce_in, sign_in, sign_in_tokens


@pytest.fixture
def world(aws: Aws) -> World:
    world = make_world(aws)
    now = utc_now()
    world.add_agent("Ann", "+14155550101", at=now)
    world.add_agent("Bob", "+14155550102", at=now)
    world.add_agent("Lea", "+14155550103", at=now, lead=True)
    return world


@pytest.fixture
def invoke(handlers: Any, world: World) -> Any:
    return handlers("TeamPagesFunction")


def team_store() -> TeamStore:
    return TeamStore(table(load(Table).table_name))


def agent(email: str) -> Any:
    record = AgentStore(table(load(Table).table_name)).get(email)
    assert record is not None
    return record.agent


# ---------------------------------------------------------------- signing in
def test_known_and_unknown_emails_get_the_same_answer_and_only_the_agent_a_link(invoke: Any) -> None:
    browser = Browser(invoke)
    known = browser.submit("/team/sign-in", "/team/sign-in", {"email": "ann@example.com"})
    unknown = browser.submit("/team/sign-in", "/team/sign-in", {"email": "mallory@example.com"})
    assert (
        (known["statusCode"], known["body"])
        == (unknown["statusCode"], unknown["body"])
        == (
            200,
            known["body"],
        )
    )
    sent = [e for e in emails() if e["subject"] == "Sign in to Social Care"]
    assert len(sent) == 1 and sent[0]["agent_id"] is not None
    assert "Hello Ann" in sent[0]["body"]


def test_the_link_only_shows_a_button_and_the_buttons_post_signs_in_once(invoke: Any) -> None:
    browser = Browser(invoke)
    browser.submit("/team/sign-in", "/team/sign-in", {"email": "ann@example.com"})
    (token,) = sign_in_tokens()
    shown = browser.get(f"/team/sign-in/{token}")  # what a mail scanner does: no session
    assert shown["statusCode"] == 200 and ">Sign in</button>" in shown["body"]
    assert browser.cookies == {}
    nonce = nonce_in(shown["body"])
    signed_in = browser.post(f"/team/sign-in/{token}", {"nonce": nonce})
    assert signed_in["statusCode"] == 303 and signed_in["headers"]["Location"] == "/team"
    (cookie,) = signed_in["cookies"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # the local stack is plain HTTP; on HTTPS: __Host- and Secure (unit tests)
    # Only the token's hash is stored.
    session_token = browser.cookies["socialcare_team"]
    assert session_token not in str(table(load(Table).table_name).scan()["Items"])
    assert browser.get("/team")["statusCode"] == 200

    again = Browser(invoke).post(f"/team/sign-in/{token}", {"nonce": nonce})
    assert again["statusCode"] == 410 and "already used" in again["body"]
    assert Browser(invoke).get(f"/team/sign-in/{token}")["statusCode"] == 410


def test_an_expired_link_is_refused(invoke: Any) -> None:
    token = new_token()
    team_store().create_sign_in_link(
        token, "ann@example.com", utc_now() - timedelta(minutes=16), timedelta(minutes=15)
    )
    browser = Browser(invoke)
    assert browser.get(f"/team/sign-in/{token}")["statusCode"] == 410
    # A nonce for this link rendered before it expired does not help either.
    from socialcare.people.team_auth import form_nonce
    from socialcare.replies.forms import get_nonce_key
    from socialcare.replies.tokens import hash_token

    nonce = form_nonce(get_nonce_key(), "link", hash_token(token), int(utc_now().timestamp()) - 600)
    refused = browser.post(f"/team/sign-in/{token}", {"nonce": nonce})
    assert refused["statusCode"] == 410 and "expired" in refused["body"]
    assert browser.cookies == {}


def test_a_cross_site_post_is_refused(invoke: Any) -> None:
    browser = Browser(invoke)
    browser.submit("/team/sign-in", "/team/sign-in", {"email": "ann@example.com"})
    (token,) = sign_in_tokens()
    nonce = nonce_in(browser.get(f"/team/sign-in/{token}")["body"])
    forged = browser.post(
        f"/team/sign-in/{token}", {"nonce": nonce}, headers={"sec-fetch-site": "cross-site"}
    )
    assert forged["statusCode"] == 403 and browser.cookies == {}
    other_origin = browser.post(
        f"/team/sign-in/{token}", {"nonce": nonce}, headers={"origin": "https://evil.example"}
    )
    assert other_origin["statusCode"] == 403 and browser.cookies == {}
    # The link still works from its own page.
    assert browser.post(f"/team/sign-in/{token}", {"nonce": nonce})["statusCode"] == 303


def test_a_forged_or_signed_out_cookie_opens_nothing(invoke: Any, world: World) -> None:
    forged = Browser(invoke, cookies={"socialcare_team": new_token()})
    answer = forged.get("/team")
    assert answer["statusCode"] == 303 and answer["headers"]["Location"] == "/team/sign-in"
    assert forged.get("/team/me")["statusCode"] == 303

    phone, laptop = Browser(invoke), Browser(invoke)
    sign_in(phone, "ann@example.com")
    sign_in(laptop, "ann@example.com")
    stolen = dict(laptop.cookies)
    signed_out = laptop.submit("/team/me", "/team/sign-out", {})
    assert signed_out["statusCode"] == 200 and laptop.cookies == {}
    # Signing out ends the session everywhere it is used: the phone's and a copy of the laptop's cookie.
    assert phone.get("/team")["statusCode"] == 303
    assert Browser(invoke, cookies=stolen).get("/team")["statusCode"] == 303


def test_sign_in_requests_are_rate_limited_per_email_and_per_client(
    invoke: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(team_flow, "MAX_PER_EMAIL", 3)  # smaller limits, the same rule: fewer requests
    monkeypatch.setattr(team_flow, "MAX_PER_CLIENT", 5)
    browser = Browser(invoke)
    nonce = nonce_in(browser.get("/team/sign-in")["body"])

    def ask(email: str) -> int:
        status: int = browser.post("/team/sign-in", {"email": email, "nonce": nonce})["statusCode"]
        return status

    # Known or not, an address gets its limit; then the same 429 for both.
    assert [ask("nobody@example.com") for _ in range(4)] == [200, 200, 200, 429]
    # Another address from the same client still works, up to the client's own limit.
    assert [ask("ann@example.com"), ask("bob@example.com")] == [200, 429]
    assert len(sign_in_tokens()) == 1  # Ann's link; Bob's request was refused before anything was sent


def test_an_inactive_agent_gets_no_link(invoke: Any, world: World) -> None:
    world.agents.update("bob@example.com", {"active": False}, utc_now())
    answer = Browser(invoke).submit("/team/sign-in", "/team/sign-in", {"email": "bob@example.com"})
    assert answer["statusCode"] == 200 and sign_in_tokens() == []


# ---------------------------------------------------------------- open work and taking it
def test_take_joins_the_assignees_and_opens_the_reply_page_with_a_link_of_ones_own(
    invoke: Any, world: World
) -> None:
    now = utc_now()
    world.mention("5001", now - timedelta(minutes=3), text="@brand where is my parcel <b>now</b>")
    ann, bob = Browser(invoke), Browser(invoke)
    sign_in(ann, "ann@example.com")
    sign_in(bob, "bob@example.com")

    page = ann.get("/team")["body"]
    assert "where is my parcel &lt;b&gt;now&lt;/b&gt;" in page and "Waiting for someone on shift" in page
    taken = ann.post("/team/take/x-5001", {"nonce": nonce_in(page)})
    assert taken["statusCode"] == 303 and taken["headers"]["Location"].startswith("/r/")
    token = taken["headers"]["Location"].removeprefix("/r/")
    link = TokenStore(table(load(Table).table_name)).find(token)
    assert link is not None and link.agent_email == "ann@example.com" and link.mention_id == "x-5001"
    stored = world.stored("x-5001")
    assert stored.assigned_to == ["ann@example.com"] and stored.taken_by == "ann@example.com"

    # Bob sees who has it and that Ann is answering; taking it twice never lists Ann twice.
    bobs = bob.get("/team")["body"]
    assert "Ann is answering" in bobs and "Who has it: Ann" in bobs
    assert ann.post("/team/take/x-5001", {"nonce": nonce_in(page)})["statusCode"] == 303
    assert world.stored("x-5001").assigned_to == ["ann@example.com"]
    assert [(e.action, e.actor, e.subject) for e in team_store().audit() if e.action == "take"] == [
        ("take", "ann@example.com", "x-5001"),
        ("take", "ann@example.com", "x-5001"),
    ]


def test_answered_mentions_leave_the_open_work_and_cannot_be_taken(invoke: Any, world: World) -> None:
    now = utc_now()
    world.mention("5002", now - timedelta(minutes=30), text="@brand still open")
    world.mention("5003", now - timedelta(minutes=20), text="@brand answered already")
    world.aws.mention_store().transition(
        "x-5003",
        set_fields={"status": MentionStatus.ANSWERED, "answered_at": now, "answered_by": "bob@example.com"},
    )
    ann = Browser(invoke)
    sign_in(ann, "ann@example.com")
    page = ann.get("/team")["body"]
    assert "still open" in page and "answered already" not in page
    refused = ann.post("/team/take/x-5003", {"nonce": nonce_in(page)})
    assert refused["statusCode"] == 409 and world.stored("x-5003").assigned_to == []


def test_filters_by_platform_and_state(invoke: Any, world: World) -> None:
    now = utc_now()
    world.mention("5004", now - timedelta(minutes=5), text="@brand on x")
    world.mention("5005", now - timedelta(minutes=5), text="a facebook comment", platform="facebook")
    world.aws.mention_store().transition("x-5004", set_fields={"status": MentionStatus.ASSIGNED})
    ann = Browser(invoke)
    sign_in(ann, "ann@example.com")
    facebook = ann.get("/team?platform=facebook")["body"]
    assert "a facebook comment" in facebook and "on x" not in facebook
    texted = ann.get("/team?state=texted")["body"]
    assert "on x" in texted and "a facebook comment" not in texted


def test_a_take_without_a_session_or_from_another_site_is_refused(invoke: Any, world: World) -> None:
    world.mention("5006", utc_now(), text="@brand hello")
    ann = Browser(invoke)
    sign_in(ann, "ann@example.com")
    nonce = nonce_in(ann.get("/team")["body"])
    assert (
        ann.post("/team/take/x-5006", {"nonce": nonce}, headers={"sec-fetch-site": "cross-site"})[
            "statusCode"
        ]
        == 403
    )
    assert ann.post("/team/take/x-5006", {"nonce": "1.forged"})["statusCode"] == 403
    assert Browser(invoke).post("/team/take/x-5006", {"nonce": nonce})["statusCode"] == 403
    assert world.stored("x-5006").assigned_to == []


# ---------------------------------------------------------------- leads
def test_non_leads_are_refused_the_lead_pages(invoke: Any) -> None:
    ann, lea = Browser(invoke), Browser(invoke)
    sign_in(ann, "ann@example.com")
    sign_in(lea, "lea@example.com")
    assert ann.get("/team/roster")["statusCode"] == 403
    roster = lea.get("/team/roster")
    assert roster["statusCode"] == 200 and "ann@example.com" in roster["body"]
    refused = ann.submit("/team/me", "/team/me", {"action": "shifts", "weekly": "Mon 09:00-10:00"})
    assert refused["statusCode"] == 403 and agent("ann@example.com").shift.weekly == "Mon-Sun 00:00-24:00"
    allowed = lea.submit("/team/me", "/team/me", {"action": "shifts", "weekly": "Mon 09:00-10:00"})
    assert allowed["statusCode"] == 200 and agent("lea@example.com").shift.weekly == "Mon 09:00-10:00"
    assert "Per agent" not in ann.get("/team/report")["body"]
    assert "Per agent" in lea.get("/team/report")["body"]


# ---------------------------------------------------------------- me
def test_pause_then_the_next_hour_and_the_audit(invoke: Any) -> None:
    ann = Browser(invoke)
    sign_in(ann, "ann@example.com")
    until = (utc_now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    paused = ann.submit("/team/me", "/team/me", {"action": "pause", "pause_until": until})
    assert paused["statusCode"] == 200 and "Texts paused" in paused["body"]
    stored = agent("ann@example.com")
    assert stored.paused_until == datetime.fromisoformat(until).replace(tzinfo=UTC)

    hour = ann.submit("/team/me", "/team/me", {"action": "next_hour"})
    assert hour["statusCode"] == 200
    stored = agent("ann@example.com")
    assert stored.paused_until is None
    assert [o.kind for o in stored.shift.overrides] == ["add"]
    actions = [(e.action, e.actor) for e in team_store().audit()]
    assert actions == [
        ("sign-in", "ann@example.com"),
        ("pause", "ann@example.com"),
        ("next-hour", "ann@example.com"),
    ]


def test_settings_are_validated_and_saved(invoke: Any) -> None:
    ann = Browser(invoke)
    sign_in(ann, "ann@example.com")
    form = {
        "action": "save",
        "phone": "555",
        "time_zone": "Europe/Berlin",
        "languages": "en,es",
        "platforms": "x",
        "handle_x": "@ann",
    }
    refused = ann.submit("/team/me", "/team/me", form)
    assert refused["statusCode"] == 422 and "E.164" in refused["body"]
    assert agent("ann@example.com").phone == "+14155550101"
    saved = ann.submit("/team/me", "/team/me", {**form, "phone": "+14155550111", "directory": "yes"})
    assert saved["statusCode"] == 200
    stored = agent("ann@example.com")
    assert (stored.phone, stored.shift.time_zone, stored.languages, stored.platforms) == (
        "+14155550111",
        "Europe/Berlin",
        ["en", "es"],
        ["x"],
    )
    assert stored.directory and stored.handles == {"x": "@ann"}


# ---------------------------------------------------------------- people
def test_people_lists_exactly_who_opted_in_with_only_what_they_chose(invoke: Any, world: World) -> None:
    now = utc_now()
    world.agents.update(
        "ann@example.com", {"directory": True, "role": "Customer Loyalty", "handles": {"x": "@ann"}}, now
    )
    world.agents.update("bob@example.com", {"handles": {"x": "@bob_hidden"}}, now)
    world.mention("5007", now, text="@brand thanks")
    world.aws.mention_store().transition(
        "x-5007",
        set_fields={"status": MentionStatus.ANSWERED, "answered_at": now, "answered_by": "ann@example.com"},
    )
    page = Browser(invoke).get("/people")
    body = page["body"]
    assert page["statusCode"] == 200
    assert "Ann" in body and "Customer Loyalty" in body and "https://x.com/ann" in body
    assert "Answered 1 customers this month" in body
    assert "Bob" not in body and "bob_hidden" not in body and "Lea" not in body
    assert "@example.com" not in body and "+1415" not in body and "00:00" not in body


def test_texts_paused_on_the_page_stop_dispatch_and_the_next_hour_starts_them(
    invoke: Any, world: World
) -> None:
    now = utc_now()
    world.agents.set_schedule("bob@example.com", "", "UTC", now)  # only Ann works; Lea is the fallback lead
    world.agents.update("lea@example.com", {"active": False}, now)
    ann = Browser(invoke)
    sign_in(ann, "ann@example.com")
    until = (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert ann.submit("/team/me", "/team/me", {"action": "pause", "pause_until": until})["statusCode"] == 200
    paused = world.mention("5101", now, text="@brand hello while Ann pauses")
    assert world.dispatcher.dispatch(paused.id, now).result == "waiting"
    assert world.dispatcher.dispatch(paused.id, now + timedelta(days=1, minutes=1)).recipients == (
        "ann@example.com",
    )

    world.agents.set_schedule("ann@example.com", "", "UTC", now)  # off shift, and paused again
    assert ann.submit("/team/me", "/team/me", {"action": "pause", "pause_until": until})["statusCode"] == 200
    assert ann.submit("/team/me", "/team/me", {"action": "next_hour"})["statusCode"] == 200
    volunteered = world.mention("5102", now, text="@brand hello in the extra hour")
    # The same dispatcher, within the seconds it reuses its roster: the change is seen at once.
    assert world.dispatcher.dispatch(volunteered.id, utc_now()).recipients == ("ann@example.com",)
