"""Priority, language, the choice of agent and escalation timing, all with explicit instants."""

from datetime import UTC, datetime, timedelta

import pytest

from socialcare.dispatch.routing import (
    DEFAULT_DEADLINES,
    Assignment,
    Priority,
    choose_assignee,
    classify_priority,
    covers,
    escalation_due,
    escalation_recipients,
    guess_language,
)
from socialcare.models import Agent, Author, Mention, MentionKind

MONDAY_NOON = datetime(2026, 1, 5, 12, tzinfo=UTC)
SUNDAY_NOON = datetime(2026, 1, 11, 12, tzinfo=UTC)
WEEKDAYS = "Mon-Fri 09:00-17:00"


def mention(
    text: str = "hello",
    kind: MentionKind = MentionKind.POST,
    followers: int | None = 10,
    verified: bool = False,
) -> Mention:
    return Mention(
        platform="x",
        external_id="1",
        kind=kind,
        author=Author(id="42", handle="cust", followers=followers, verified=verified),
        text=text,
        created_at=MONDAY_NOON,
        thread_key="1",
    )


def agent(name: str, weekly: str = WEEKDAYS, **fields: object) -> Agent:
    return Agent.model_validate(
        {
            "name": name,
            "email": f"{name}@example.com",
            "phone": "+14155550123",
            "shift": {"time_zone": "UTC", "weekly": weekly},
            **fields,
        }
    )


def emails(agents: list[Agent]) -> list[str]:
    return [agent.email for agent in agents]


# ---------------------------------------------------------------- priority
@pytest.mark.parametrize(
    "text",
    [
        "I want a REFUND now",
        "My order arrived broken",
        "Worst service ever",
        "I'm going to cancel",
        "This is a scam",
        "never   again",
        "So disappointed",
        "the app is not working",
        "it doesn\u2019t work",  # a phone's curly apostrophe
        "Quiero un reembolso",
        "llegó roto",
        "el peor servicio",
        "servicio pésimo",
        "Thanks, but my parcel is broken",  # a complaint wins over thanks
    ],
)
def test_complaints_are_urgent(text: str) -> None:
    assert classify_priority(mention(text)) is Priority.URGENT


@pytest.mark.parametrize(
    "text", ["Thanks!", "thank you so much", "love it", "Awesome team", "¡Muchas gracias!"]
)
def test_thanks_and_praise_are_low(text: str) -> None:
    assert classify_priority(mention(text)) is Priority.LOW


@pytest.mark.parametrize(
    "text",
    [
        "Where is my order?",
        "cancellation policy?",  # "cancel" only as a whole word
        "a brokenhearted song",
        "Thanksgiving hours?",  # "thanks" only as a whole word
        "greatest hits",
        "scampi on the menu?",
    ],
)
def test_everything_else_is_normal_and_words_match_whole(text: str) -> None:
    assert classify_priority(mention(text)) is Priority.NORMAL


def test_direct_messages_verified_and_big_authors_are_urgent_even_when_thankful() -> None:
    assert classify_priority(mention("thanks", kind=MentionKind.DIRECT_MESSAGE)) is Priority.URGENT
    assert classify_priority(mention("thanks", verified=True)) is Priority.URGENT
    assert classify_priority(mention("thanks", followers=10_000)) is Priority.URGENT
    assert classify_priority(mention("thanks", followers=9_999)) is Priority.LOW
    assert classify_priority(mention("thanks", followers=None)) is Priority.LOW


def test_follower_threshold_is_a_parameter() -> None:
    assert classify_priority(mention("hi", followers=600), follower_threshold=500) is Priority.URGENT
    assert classify_priority(mention("hi", followers=600), follower_threshold=1_000) is Priority.NORMAL


# ---------------------------------------------------------------- language
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hola, mi pedido llegó roto y nadie me responde", "es"),
        ("¿Dónde está mi pedido?", "es"),
        ("Quiero cancelar la suscripción porque es muy cara", "es"),
        ("My order arrived broken and nobody answers", "en"),
        ("Where is my order?", "en"),
        ("Gracias", "en"),  # one word is not clearly Spanish
        ("I had tapas at the café de la plaza and it was great", "en"),
        ("", "en"),
    ],
)
def test_guess_language(text: str, language: str) -> None:
    assert guess_language(text) == language


# ---------------------------------------------------------------- choosing the agent
def choose(
    candidates: list[Agent],
    *,
    platform: str = "x",
    language: str = "en",
    open_counts: dict[str, int] | None = None,
    max_open: int = 3,
    last: str | None = None,
    sticky: str | None = None,
    at: datetime = MONDAY_NOON,
) -> Assignment:
    return choose_assignee(platform, language, candidates, open_counts or {}, max_open, last, sticky, at)


def test_round_robin_alternates_in_email_order_and_wraps() -> None:
    team = [agent("cleo"), agent("ana"), agent("bo")]
    picked = []
    last = None
    for _ in range(4):
        assignment = choose(team, last=last)
        assert assignment.via == "round_robin"
        last = assignment.agents[0].email
        picked.append(last)
    assert picked == ["ana@example.com", "bo@example.com", "cleo@example.com", "ana@example.com"]


def test_round_robin_continues_after_an_agent_who_went_off_shift() -> None:
    team = [agent("ana"), agent("cleo")]
    assert emails(choose(team, last="bo@example.com").agents) == ["cleo@example.com"]


def test_agents_at_capacity_are_skipped() -> None:
    team = [agent("ana"), agent("bo"), agent("cleo")]
    assignment = choose(team, open_counts={"bo@example.com": 3}, last="ana@example.com")
    assert emails(assignment.agents) == ["cleo@example.com"]


def test_only_on_shift_active_agents_covering_platform_and_language_are_chosen() -> None:
    team = [
        agent("ana", weekly="Sat-Sun 09:00-17:00"),  # off on Monday
        agent("bo", active=False),
        agent("cleo", platforms=["facebook"]),
        agent("dee", languages=["es"]),
        agent("eve", platforms=["facebook", "x"], languages=["en", "es"]),
    ]
    assert emails(choose(team).agents) == ["eve@example.com"]
    assert emails(choose(team, language="es", last="eve@example.com").agents) == ["dee@example.com"]


def test_covers_reads_empty_platforms_as_all_and_regional_languages_by_their_base() -> None:
    assert covers(agent("ana"), "instagram", "en-US")
    assert not covers(agent("ana"), "x", "es")
    assert covers(agent("bo", platforms=["X"]), "x", "EN")


def test_the_sticky_agent_wins_even_at_capacity() -> None:
    team = [agent("ana"), agent("bo")]
    assignment = choose(
        team, sticky="BO@example.com", open_counts={"bo@example.com": 9}, last="bo@example.com"
    )
    assert emails(assignment.agents) == ["bo@example.com"]
    assert assignment.via == "sticky"


def test_a_sticky_agent_off_shift_falls_back_to_round_robin() -> None:
    team = [agent("ana"), agent("bo", weekly="Sat-Sun 09:00-17:00")]
    assignment = choose(team, sticky="bo@example.com")
    assert (assignment.via, emails(assignment.agents)) == ("round_robin", ["ana@example.com"])


def test_nobody_on_shift_goes_to_the_leads_on_shift() -> None:
    team = [
        agent("ana", weekly="Sat-Sun 09:00-17:00"),
        agent("lee", lead=True, languages=["de"]),  # a lead on shift takes it whatever they cover
        agent("lou", lead=True, weekly="Sat-Sun 09:00-17:00"),
    ]
    assignment = choose(team)
    assert assignment.via == "leads"
    assert emails(assignment.agents) == ["lee@example.com"]
    assert "nobody on shift covers x/en" in assignment.reason


def test_when_no_lead_is_on_shift_every_active_lead_gets_it() -> None:
    team = [
        agent("ana"),
        agent("lee", lead=True, weekly=""),
        agent("lou", lead=True, weekly=""),
        agent("max", lead=True, weekly="", active=False),
    ]
    assignment = choose(team, at=SUNDAY_NOON)
    assert assignment.via == "leads"
    assert emails(assignment.agents) == ["lee@example.com", "lou@example.com"]
    assert "no lead on shift" in assignment.reason


def test_everyone_at_capacity_goes_to_the_leads_and_says_so() -> None:
    team = [agent("ana"), agent("lee", lead=True, platforms=["facebook"])]
    assignment = choose(team, open_counts={"ana@example.com": 3})
    assert emails(assignment.agents) == ["lee@example.com"]
    assert "has 3 or more open" in assignment.reason


def test_no_leads_at_all_means_nobody_with_a_reason() -> None:
    assignment = choose([agent("ana", languages=["es"])], platform="instagram")
    assert assignment.agents == []
    assert assignment.via == "none"
    assert assignment.reason == "nobody on shift covers instagram/en and there are no leads"


# ---------------------------------------------------------------- escalation
NOTIFIED = datetime(2026, 1, 5, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("priority", "minutes"), [(Priority.URGENT, 5), (Priority.NORMAL, 15), (Priority.LOW, 60)]
)
def test_default_deadlines(priority: Priority, minutes: int) -> None:
    just_before = NOTIFIED + timedelta(minutes=minutes, seconds=-1)
    assert escalation_due(priority, NOTIFIED, False, False, 0, just_before) is None
    assert escalation_due(priority, NOTIFIED, False, False, 0, NOTIFIED + timedelta(minutes=minutes)) == 1


@pytest.mark.parametrize(
    ("priority", "minutes", "level", "expected"),
    [
        (Priority.URGENT, 4, 0, None),
        (Priority.URGENT, 5, 0, 1),  # first miss
        (Priority.URGENT, 9, 1, None),  # level 1 done, level 2 not due yet
        (Priority.URGENT, 10, 1, 2),  # second miss
        (Priority.URGENT, 60, 2, None),  # nothing beyond level 2
        (Priority.URGENT, 12, 0, 2),  # a late run goes straight to level 2
        (Priority.NORMAL, 14, 0, None),
        (Priority.NORMAL, 15, 0, 1),
        (Priority.NORMAL, 30, 1, 2),
        (Priority.LOW, 59, 0, None),
        (Priority.LOW, 60, 0, 1),
        (Priority.LOW, 120, 1, 2),
    ],
)
def test_escalation_at_the_first_and_second_miss(
    priority: Priority, minutes: int, level: int, expected: int | None
) -> None:
    now = NOTIFIED + timedelta(minutes=minutes)
    assert escalation_due(priority, NOTIFIED, False, False, level, now, DEFAULT_DEADLINES) == expected


def test_escalation_stops_once_opened_or_answered() -> None:
    late = NOTIFIED + timedelta(hours=3)
    assert escalation_due(Priority.URGENT, NOTIFIED, True, False, 0, late) is None
    assert escalation_due(Priority.URGENT, NOTIFIED, False, True, 1, late) is None


def test_escalation_deadlines_are_a_parameter() -> None:
    fast = {Priority.URGENT: timedelta(minutes=1), Priority.NORMAL: timedelta(minutes=2)}
    now = NOTIFIED + timedelta(minutes=2)
    assert escalation_due(Priority.URGENT, NOTIFIED, False, False, 0, now, fast) == 2
    assert escalation_due(Priority.NORMAL, NOTIFIED, False, False, 0, now, fast) == 1
    assert escalation_due(Priority.LOW, NOTIFIED, False, False, 0, now, fast) is None  # default 60 min


def test_level_one_reaches_the_next_covering_agent_not_yet_notified() -> None:
    team = [agent("ana"), agent("bo", languages=["es"]), agent("cleo"), agent("lee", lead=True)]
    first = escalation_recipients(1, "x", "en", team, ["ana@example.com"], MONDAY_NOON)
    assert emails(first) == ["cleo@example.com"]


def test_level_one_falls_back_to_a_lead_then_to_nobody_new() -> None:
    team = [agent("ana"), agent("lee", lead=True, weekly=""), agent("lou", lead=True)]
    assert emails(
        escalation_recipients(1, "x", "en", team, ["ana@example.com", "lou@example.com"], SUNDAY_NOON)
    ) == ["lee@example.com"]
    everyone = ["ana@example.com", "lee@example.com", "lou@example.com"]
    assert escalation_recipients(1, "x", "en", team, everyone, MONDAY_NOON) == []


def test_level_two_reaches_everyone_on_shift_and_every_lead() -> None:
    team = [
        agent("ana"),
        agent("bo", languages=["es"]),
        agent("cleo", weekly="Sat-Sun 09:00-17:00"),
        agent("lee", lead=True, weekly=""),
        agent("max", active=False),
    ]
    level_two = escalation_recipients(2, "x", "en", team, ["ana@example.com"], MONDAY_NOON)
    assert emails(level_two) == ["ana@example.com", "bo@example.com", "lee@example.com"]


# ---------------------------------------------------------------- paused texts (/team/me)
def test_a_paused_agent_is_never_chosen_not_even_as_a_lead_until_the_pause_ends() -> None:
    until = MONDAY_NOON + timedelta(hours=2)
    team = [agent("ana", paused_until=until), agent("bo"), agent("lee", lead=True, paused_until=until)]
    assert emails(choose(team, last="bo@example.com").agents) == ["bo@example.com"]
    only_paused = [agent("ana", paused_until=until), agent("lee", lead=True, weekly="", paused_until=until)]
    assert choose(only_paused).via == "none"
    assert emails(escalation_recipients(2, "x", "en", team, [], MONDAY_NOON)) == ["bo@example.com"]
    # At the time given, texts start again.
    assert emails(choose(only_paused, at=until).agents) == ["ana@example.com"]


def test_the_next_hour_puts_an_agent_off_shift_on_shift_for_an_hour() -> None:
    from socialcare.people.shifts import with_extra_window

    volunteer = with_extra_window(agent("ana"), SUNDAY_NOON, SUNDAY_NOON + timedelta(hours=1))
    assert emails(choose([volunteer], at=SUNDAY_NOON + timedelta(minutes=59)).agents) == ["ana@example.com"]
    assert choose([volunteer], at=SUNDAY_NOON + timedelta(hours=1)).via == "none"
