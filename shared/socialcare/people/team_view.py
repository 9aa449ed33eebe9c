"""The team pages' HTML (/team/..., /people); socialcare.people.team_flow decides what they show.

Like the reply page (socialcare.replies.page_view): server-rendered with the standard library, no scripts
and no
external resources, readable at 360 px, the inline style allowed by its hash in a strict Content-Security-
Policy, and everything anyone wrote (customers' mentions, agents' names and handles) escaped."""

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from urllib.parse import quote

from socialcare.models import DIRECTORY_HANDLES, DIRECTORY_NETWORKS, Agent, DirectoryNetwork
from socialcare.replies.page_view import Page, is_web_url, platform_label

STYLE = (
    "*{box-sizing:border-box}"
    "body{margin:0 auto;max-width:48rem;padding:12px;font:16px/1.45 system-ui,-apple-system,'Segoe UI',"
    "Roboto,sans-serif;color:#1a1a1a;background:#f6f6f4;overflow-wrap:anywhere}"
    "h1{font-size:1.2rem;margin:.25rem 0 .75rem}h2{font-size:1.05rem;margin:1rem 0 .4rem}"
    "nav ul{list-style:none;padding:0;margin:0 0 12px;display:flex;flex-wrap:wrap;gap:4px 14px}"
    "nav form{display:inline}"
    ".card{background:#fff;border:1px solid #ccc;border-radius:8px;padding:10px 12px;margin:0 0 12px}"
    ".meta{color:#444;font-size:.875rem;margin:0}"
    ".text{white-space:pre-wrap;margin:.35rem 0}"
    ".busy{background:#fff6dc;border:1px solid #a67c00;border-radius:6px;padding:4px 8px;margin:.35rem 0}"
    ".error,.notice{border-radius:6px;padding:8px 10px;margin:0 0 12px}"
    ".error{background:#fde8e8;border:1px solid #c33;color:#8a1111}"
    ".notice{background:#e8f3ea;border:1px solid #2a7a4a}"
    "label{display:block;margin:8px 0 2px}"
    "input,select,textarea{font:inherit;padding:8px;border:1px solid #767676;border-radius:6px;width:100%;"
    "background:#fff;color:#1a1a1a}"
    "input[type=checkbox]{width:auto}"
    "button{font:inherit;font-weight:600;padding:10px 14px;margin-top:8px;border:0;border-radius:6px;"
    "background:#1d5fd1;color:#fff}"
    "button.link{background:none;color:#1d5fd1;padding:0;margin:0;font-weight:400;text-decoration:underline}"
    "table{border-collapse:collapse;width:100%;background:#fff;font-size:.9rem}"
    "th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}"
    ".scroll{overflow-x:auto}.plain{list-style:none;padding:0}"
    ".filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end}.filters div{flex:1 1 9rem}"
)


def _style_hash(style: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"


def security_headers(styles: Sequence[str] = (STYLE,)) -> dict[str, str]:
    """The reply page's headers; each inline style is allowed by its hash, nothing else is."""
    hashes = " ".join(_style_hash(style) for style in styles)
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src {hashes}; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Robots-Tag": "noindex, nofollow",
    }


NETWORKS = {network.key: network for network in DIRECTORY_NETWORKS}
REPORT_DAYS = (7, 30, 90)
STATE_LABELS = {
    "waiting": "Waiting for someone on shift",
    "texted": "Texted, not opened",
    "opened": "Opened, not answered",
    "failed": "Reply failed",
}


@dataclass(frozen=True)
class Nav:
    """Who is signed in, for the menu on every signed-in page (and the sign-out form's nonce)."""

    name: str
    lead: bool
    nonce: str


@dataclass(frozen=True)
class WorkRow:
    mention_id: str
    platform: str
    author: str
    excerpt: str
    priority: str
    state: str  # a key of STATE_LABELS
    holders: Sequence[str]  # names of the agents who have it
    waited: timedelta
    deadline: timedelta | None = None  # texted: its escalation deadline
    answering: str | None = None  # "Ann" when Ann took or opened it in the last few minutes


@dataclass(frozen=True)
class RosterRow:
    name: str
    email: str
    lead: bool
    active: bool
    on_shift: bool
    paused_until: datetime | None


@dataclass(frozen=True)
class AnsweredRow:
    mention_id: str
    platform: str
    author: str
    excerpt: str
    answered_at: datetime | None


@dataclass(frozen=True)
class PersonRow:
    name: str
    role: str | None
    handles: dict[str, str]
    answered_this_month: int


@dataclass(frozen=True)
class MySatisfaction:
    """What customers said about my answers, from the report's roll-ups (surveys are anonymous per answer)."""

    days: int
    answered: int
    responses: int
    satisfied: float | None  # the share of 4 and 5 among the responses


# ---------------------------------------------------------------- shared pieces
def _document(
    title: str, content: str, *, status: int = 200, nav: Nav | None = None, styles: Sequence[str] = (STYLE,)
) -> Page:
    style_tags = "".join(f"<style>{style}</style>" for style in styles)
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex,nofollow">'
        f"<title>{escape(title)}</title>{style_tags}</head>"
        f"<body>{_nav(nav)}<main>{content}</main></body></html>"
    )
    return Page(status=status, body=body, headers=security_headers(styles))


def _nav(nav: Nav | None) -> str:
    if nav is None:
        return ""
    links = [("/team", "Open work"), ("/team/me", "Me"), ("/team/report", "Report")]
    if nav.lead:
        links.append(("/team/roster", "Roster"))
    items = "".join(f'<li><a href="{href}">{label}</a></li>' for href, label in links)
    sign_out = (
        '<li><form method="post" action="/team/sign-out">'
        f'<input type="hidden" name="nonce" value="{escape(nav.nonce)}">'
        f'<button class="link" type="submit">Sign out {escape(nav.name)}</button></form></li>'
    )
    return f'<nav aria-label="Team"><ul>{items}{sign_out}</ul></nav>'


def _time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    utc = moment.astimezone(UTC)
    return f'<time datetime="{utc.isoformat()}">{utc:%Y-%m-%d %H:%M} UTC</time>'


def duration(span: timedelta) -> str:
    minutes = max(0, int(span.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} days"


def _hidden_nonce(nonce: str) -> str:
    return f'<input type="hidden" name="nonce" value="{escape(nonce)}">'


def message_page(status: int, title: str, message: str, *, nav: Nav | None = None) -> Page:
    """Any refusal or short answer, with the same strict headers as every team page."""
    return _document(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>", status=status, nav=nav)


def redirect(location: str) -> Page:
    return Page(status=303, body="", headers={**security_headers(), "Location": location})


# ---------------------------------------------------------------- signing in
def sign_in_page(nonce: str, *, status: int = 200, error: str | None = None) -> Page:
    problem = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    content = (
        "<h1>Sign in to the team pages</h1>"
        "<p>We email you a link that signs you in. No password.</p>"
        f'{problem}<form method="post" action="/team/sign-in">{_hidden_nonce(nonce)}'
        '<label for="email">Your work email</label>'
        '<input id="email" name="email" type="email" autocomplete="email" required>'
        '<button type="submit">Email me a sign-in link</button></form>'
    )
    return _document("Sign in", content, status=status)


def sign_in_sent_page() -> Page:
    """The same answer for every address, on the team or not: nobody learns who works here."""
    content = (
        "<h1>Check your email</h1>"
        "<p>If this address belongs to someone on the team, a sign-in link is on its way. "
        "It works once, for 15 minutes.</p>"
        '<p><a href="/team/sign-in">Send another link</a></p>'
    )
    return _document("Check your email", content)


def sign_in_confirm_page(nonce: str) -> Page:
    """What the emailed link opens: a button, because mail scanners open links and must not sign in."""
    content = (
        "<h1>Sign in</h1><p>Press the button to sign in on this device for 12 hours.</p>"
        f'<form method="post">{_hidden_nonce(nonce)}<button type="submit">Sign in</button></form>'
    )
    return _document("Sign in", content)


# ---------------------------------------------------------------- open work
def open_work_page(
    nav: Nav,
    rows: Sequence[WorkRow],
    *,
    platforms: Sequence[str],
    platform: str | None,
    state: str | None,
    nonce: str,
) -> Page:
    platform_options = _options(
        [("", "All platforms")] + [(p, platform_label(p)) for p in platforms], platform
    )
    state_options = _options([("", "Every state"), *STATE_LABELS.items()], state)
    filters = (
        '<form method="get" action="/team" class="filters">'
        f'<div><label for="platform">Platform</label><select id="platform" name="platform">{platform_options}'
        "</select></div>"
        f'<div><label for="state">State</label><select id="state" name="state">{state_options}</select></div>'
        '<div><button type="submit">Filter</button></div></form>'
    )
    cards = "".join(_work_card(row, nonce) for row in rows) or "<p>Nothing is waiting for a human. 🎉</p>"
    content = f"<h1>Open work</h1>{filters}<h2>{len(rows)} waiting, oldest first by priority</h2>{cards}"
    return _document("Open work", content, nav=nav)


def _options(choices: Sequence[tuple[str, str]], selected: str | None) -> str:
    return "".join(
        f'<option value="{escape(value)}"{" selected" if value == (selected or "") else ""}>'
        f"{escape(label)}</option>"
        for value, label in choices
    )


def _work_card(row: WorkRow, nonce: str) -> str:
    deadline = f" (escalates after {duration(row.deadline)})" if row.deadline is not None else ""
    holders = ", ".join(row.holders) if row.holders else "nobody yet"
    answering = f'<p class="busy">{escape(row.answering)} is answering</p>' if row.answering else ""
    return (
        f'<section class="card" aria-label="Mention from {escape(row.author)}">'
        f'<p class="meta">{escape(platform_label(row.platform))} · {escape(row.author)} · '
        f"{escape(row.priority)} · {escape(STATE_LABELS.get(row.state, row.state))}</p>"
        f'<p class="text">{escape(row.excerpt)}</p>'
        f'<p class="meta">Waited {duration(row.waited)}{deadline} · Who has it: {escape(holders)}</p>'
        f"{answering}"
        f'<form method="post" action="/team/take/{escape(row.mention_id)}">{_hidden_nonce(nonce)}'
        f'<button type="submit">I\'ll take it</button></form></section>'
    )


# ---------------------------------------------------------------- roster (leads)
def roster_page(nav: Nav, rows: Sequence[RosterRow], now: datetime) -> Page:
    body = "".join(
        f"<tr><td>{escape(row.name)}{' (lead)' if row.lead else ''}</td><td>{escape(row.email)}</td>"
        f"<td>{'yes' if row.on_shift else 'no'}</td>"
        f"<td>{_pause_label(row, now)}</td></tr>"
        for row in rows
    )
    content = (
        "<h1>Roster</h1>"
        '<div class="scroll"><table><caption>Who is on shift now, and who paused their texts</caption>'
        '<thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">On shift</th>'
        f'<th scope="col">Texts</th></tr></thead><tbody>{body}</tbody></table></div>'
    )
    return _document("Roster", content, nav=nav)


def _pause_label(row: RosterRow, now: datetime) -> str:
    if not row.active:
        return "inactive"
    if row.paused_until is not None and row.paused_until > now:
        return f"paused until {_time(row.paused_until)}"
    return "on"


# ---------------------------------------------------------------- me
def me_page(
    nav: Nav,
    agent: Agent,
    answered: Sequence[AnsweredRow],
    *,
    satisfaction: MySatisfaction | None = None,
    nonce: str,
    now: datetime,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Page:
    banner = (f'<p class="notice" role="status">{escape(notice)}</p>' if notice else "") + (
        f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    )
    content = (
        f"<h1>{escape(agent.name)}</h1>{banner}"
        f"{_texts_section(agent, nonce, now)}{_settings_form(agent, nonce)}"
        f"{_shift_section(agent, nonce, nav)}"
        f"{_answered_section(answered, satisfaction)}"
    )
    return _document("My settings", content, nav=nav, status=status)


def _texts_section(agent: Agent, nonce: str, now: datetime) -> str:
    paused = agent.paused_until is not None and agent.paused_until > now
    state = f"Paused until {_time(agent.paused_until)}." if paused else "On: you get texts while on shift."
    resume = (
        f'<form method="post" action="/team/me">{_hidden_nonce(nonce)}'
        '<button type="submit" name="action" value="resume">Resume texts now</button></form>'
        if paused
        else ""
    )
    return (
        '<section class="card" aria-labelledby="texts"><h2 id="texts">Texts</h2>'
        f"<p>{state}</p>{resume}"
        f'<form method="post" action="/team/me">{_hidden_nonce(nonce)}'
        f'<label for="pause_until">Pause texts until (your time, {escape(agent.shift.time_zone)})</label>'
        '<input id="pause_until" name="pause_until" type="datetime-local" required>'
        '<button type="submit" name="action" value="pause">Pause texts</button></form>'
        f'<form method="post" action="/team/me">{_hidden_nonce(nonce)}'
        '<button type="submit" name="action" value="next_hour">'
        "Text me new mentions for the next hour</button>"
        "</form></section>"
    )


def _settings_form(agent: Agent, nonce: str) -> str:
    handles = "".join(
        f'<label for="handle_{network}">{_handle_field_label(network)}</label>'
        f'<input id="handle_{network}" name="handle_{network}" '
        f'value="{escape(agent.handles.get(network, ""))}">'
        for network in DIRECTORY_HANDLES
    )
    checked = " checked" if agent.directory else ""
    return (
        '<section class="card" aria-labelledby="settings"><h2 id="settings">Settings</h2>'
        f'<form method="post" action="/team/me">{_hidden_nonce(nonce)}'
        '<label for="phone">Phone (E.164, like +14155550123)</label>'
        f'<input id="phone" name="phone" type="tel" value="{escape(agent.phone)}" required>'
        '<label for="time_zone">Time zone (IANA, like America/Los_Angeles)</label>'
        f'<input id="time_zone" name="time_zone" value="{escape(agent.shift.time_zone)}" required>'
        '<label for="languages">Languages (comma-separated codes)</label>'
        f'<input id="languages" name="languages" value="{escape(",".join(agent.languages))}" required>'
        '<label for="platforms">Platforms (comma-separated; empty means all)</label>'
        f'<input id="platforms" name="platforms" value="{escape(",".join(agent.platforms))}">'
        f'<p><label><input type="checkbox" name="directory" value="yes"{checked}> '
        "Show me on the public team page (/people)</label></p>"
        f"{handles}"
        '<button type="submit" name="action" value="save">Save settings</button></form></section>'
    )


def _handle_field_label(network: str) -> str:
    if network == "website":
        return "Website (https://...)"
    return f"{NETWORKS[network].label} handle (like @ann)"


def _shift_section(agent: Agent, nonce: str, nav: Nav) -> str:
    weekly = agent.shift.weekly or "no weekly hours"
    extra = "".join(
        f"<li>{'Extra window' if o.kind == 'add' else 'Time off'}: "
        f"{_time(o.starts_at)} to {_time(o.ends_at)}</li>"
        for o in agent.shift.overrides
    )
    overrides = f"<ul>{extra}</ul>" if extra else ""
    if not nav.lead:
        return (
            '<section class="card" aria-labelledby="shifts"><h2 id="shifts">My shifts</h2>'
            f"<p>{escape(weekly)} ({escape(agent.shift.time_zone)})</p>{overrides}"
            '<p class="meta">A lead changes your weekly hours.</p></section>'
        )
    return (
        '<section class="card" aria-labelledby="shifts"><h2 id="shifts">My shifts</h2>'
        f'{overrides}<form method="post" action="/team/me">{_hidden_nonce(nonce)}'
        '<label for="weekly">Weekly hours (like Mon-Fri 09:00-17:00)</label>'
        f'<input id="weekly" name="weekly" value="{escape(agent.shift.weekly)}">'
        '<button type="submit" name="action" value="shifts">Save shifts</button></form></section>'
    )


def _satisfaction(mine: MySatisfaction | None) -> str:
    if mine is None:
        return ""
    share = f"{round(mine.satisfied * 100)}% satisfied" if mine.satisfied is not None else "no ratings yet"
    return (
        f'<p class="meta">The last {mine.days} days: {mine.answered} answered, {mine.responses} survey '
        f"responses, {share}.</p>"
    )


def _answered_section(rows: Sequence[AnsweredRow], satisfaction: MySatisfaction | None) -> str:
    heading = f'<h2 id="answered">My answers</h2>{_satisfaction(satisfaction)}'
    if not rows:
        return f'<section aria-labelledby="answered">{heading}<p>None yet.</p></section>'
    items = "".join(
        f'<li class="card"><p class="meta">{escape(platform_label(row.platform))} · {escape(row.author)} · '
        f"{_time(row.answered_at)}</p>"
        f'<p class="text">{escape(row.excerpt)}</p></li>'
        for row in rows
    )
    return f'<section aria-labelledby="answered">{heading}<ul class="plain">{items}</ul></section>'


# ---------------------------------------------------------------- report
def report_page(nav: Nav, days: int, period: str, sections: str, report_style: str) -> Page:
    """The report's sections (socialcare.measures.report_render, what `socialcare report --html` draws)
    under the team
    menu, with a choice of period. The report's style comes first, so the team pages' own wins."""
    choices = "".join(
        f'<option value="{n}"{" selected" if n == days else ""}>The last {n} days</option>'
        for n in REPORT_DAYS
    )
    content = (
        f"<h1>Report</h1><p>{escape(period)}</p>"
        '<form method="get" action="/team/report" class="filters">'
        f'<div><label for="days">Period</label><select id="days" name="days">{choices}</select></div>'
        '<div><button type="submit">Show</button></div></form>'
        f"{sections}"
    )
    return _document("Report", content, nav=nav, styles=(report_style, STYLE))


# ---------------------------------------------------------------- public team page
def people_page(people: Sequence[PersonRow]) -> Page:
    cards = "".join(_person_card(person) for person in people) or "<p>Nobody has joined this page yet.</p>"
    content = (
        f"<h1>Our team</h1><p>The people who answer you. Say hello: they chose to be listed here.</p>{cards}"
    )
    return _document("Our team", content)


def _person_card(person: PersonRow) -> str:
    role = f'<p class="meta">{escape(person.role)}</p>' if person.role else ""
    links = "".join(
        f"<li>{NETWORKS[network].label}: {_handle_link(NETWORKS[network], handle)}</li>"
        for network, handle in person.handles.items()
        if network in NETWORKS
    )
    handles = f"<ul>{links}</ul>" if links else ""
    return (
        f'<section class="card" aria-label="{escape(person.name)}"><h2>{escape(person.name)}</h2>{role}'
        f"{handles}<p>Answered {person.answered_this_month} customers this month.</p></section>"
    )


def _handle_link(network: DirectoryNetwork, handle: str) -> str:
    if network.profile_url == "{}":
        url = handle  # a website: the handle is the address
    else:
        url = network.profile_url.format(quote(handle.lstrip("@"), safe="._-"))
    if not is_web_url(url):
        return escape(handle)
    return f'<a href="{escape(url)}" rel="noopener noreferrer me">{escape(handle)}</a>'
