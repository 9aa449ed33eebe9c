"""The sign-in rules of the team pages: cookies, nonces and what the pages show, without AWS."""

from datetime import UTC, datetime, timedelta

from socialcare.data.replies import ReplyState
from socialcare.models import Author, Mention, MentionKind, MentionStatus
from socialcare.people.team_auth import (
    cleared_cookie,
    form_nonce,
    nonce_is_valid,
    session_cookie,
    session_token_from,
)
from socialcare.people.team_flow import who_is_answering, work_state
from socialcare.people.team_view import Nav, PersonRow, WorkRow, open_work_page, people_page

KEY = b"k" * 32
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
TOKEN = "A" * 43


def test_on_https_the_cookie_is_secure_with_the_host_prefix() -> None:
    cookie = session_cookie(TOKEN, secure=True)
    assert cookie.startswith(f"__Host-socialcare_team={TOKEN}; Path=/;")
    assert "; HttpOnly" in cookie and "; SameSite=Lax" in cookie and cookie.endswith("; Secure")
    assert "Max-Age=43200" in cookie and "Domain" not in cookie
    assert session_token_from([f"__Host-socialcare_team={TOKEN}"], secure=True) == TOKEN
    # Over HTTPS, a cookie without the prefix (which any subdomain could have set) is not read.
    assert session_token_from([f"socialcare_team={TOKEN}"], secure=True) is None
    assert "Max-Age=0" in cleared_cookie(secure=True)


def test_a_cookie_that_is_not_a_token_is_ignored() -> None:
    assert session_token_from(["socialcare_team=short"], secure=False) is None
    assert session_token_from(["socialcare_team=" + "a" * 30 + ";x"], secure=False) is None


def test_a_nonce_works_only_for_its_purpose_binding_and_time() -> None:
    nonce = form_nonce(KEY, "session", "hash1", int(NOW.timestamp()))
    assert nonce_is_valid(KEY, "session", "hash1", nonce, NOW - timedelta(hours=1), NOW)
    assert not nonce_is_valid(KEY, "session", "hash2", nonce, NOW - timedelta(hours=1), NOW)
    assert not nonce_is_valid(KEY, "link", "hash1", nonce, NOW - timedelta(hours=1), NOW)
    assert not nonce_is_valid(b"x" * 32, "session", "hash1", nonce, NOW - timedelta(hours=1), NOW)
    # Rendered before the session began (an old page of an earlier session), or a forgery.
    assert not nonce_is_valid(
        KEY, "session", "hash1", nonce, NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    )
    assert not nonce_is_valid(KEY, "session", "hash1", "1.forged", NOW, NOW)


def mention(**fields: object) -> Mention:
    return Mention.model_validate(
        {
            "platform": "x",
            "external_id": "1",
            "kind": MentionKind.POST,
            "author": Author(id="1", handle="cust"),
            "text": "hi",
            "created_at": NOW,
            "thread_key": "1",
            **fields,
        }
    )


def test_the_work_states() -> None:
    assert work_state(mention(status=MentionStatus.WAITING), []) == "waiting"
    assert work_state(mention(status=MentionStatus.ASSIGNED), []) == "texted"
    assert work_state(mention(status=MentionStatus.OPENED), []) == "opened"
    assert work_state(mention(status=MentionStatus.OPENED), [ReplyState.FAILED]) == "failed"
    assert (
        work_state(mention(status=MentionStatus.OPENED), [ReplyState.FAILED, ReplyState.PENDING]) == "opened"
    )


def test_someone_is_answering_for_a_few_minutes_after_taking_or_opening() -> None:
    names = {"ann@example.com": "Ann", "bob@example.com": "Bob"}
    taken = mention(taken_by="ann@example.com", taken_at=NOW - timedelta(minutes=2))
    assert who_is_answering(taken, names, NOW) == "Ann"
    assert who_is_answering(taken, names, NOW + timedelta(minutes=4)) is None
    both = mention(
        taken_by="ann@example.com",
        taken_at=NOW - timedelta(minutes=3),
        opened_by="bob@example.com",
        opened_at=NOW - timedelta(minutes=1),
    )
    assert who_is_answering(both, names, NOW) == "Bob"


def test_what_strangers_wrote_is_escaped_on_the_team_pages() -> None:
    row = WorkRow(
        mention_id="x-1",
        platform="x",
        author='@<img src=x onerror="alert(1)">',
        excerpt="<script>alert(2)</script>",
        priority="normal",
        state="waiting",
        holders=["<b>Ann</b>"],
        waited=timedelta(minutes=5),
        answering="<i>Ann</i>",
    )
    body = open_work_page(
        Nav("<Ann>", False, "n"), [row], platforms=["x"], platform=None, state=None, nonce="n"
    ).body
    assert "<script>" not in body and "<img" not in body and "<b>Ann" not in body and "<i>" not in body
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in body
    people = people_page(
        [PersonRow('<a href="x">Eve</a>', "<role>", {"website": "javascript:alert(1)"}, 3)]
    ).body
    assert '<a href="x">' not in people and "&lt;role&gt;" in people
    assert 'href="javascript' not in people
