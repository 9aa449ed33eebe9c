"""The team pages' behaviour; socialcare.people.team_view renders, socialcare.people.team_auth holds the
sign-in rules.

Routes (functions/team_pages): GET|POST /team/sign-in, GET|POST /team/sign-in/{token}, POST /team/sign-out,
GET /team, POST /team/take/{mention_id}, GET /team/roster (leads), GET|POST /team/me, GET /team/report, and
the public GET /people.

* Signing in answers the same page for every email address; only an active agent gets the link. Requests
  count against a limit per address (known or not) and per client, before anything is looked up.
* Every signed-in page needs a live session of an active agent; a page asked for without one goes to the
  sign-in form, a post without one is refused. Every post is checked like the reply page's: same origin
  (socialcare.replies.page_flow.is_cross_site) and a nonce bound to the session.
* "I'll take it" adds the agent to the mention's assignees (a conditional update that expects it still
  needs a human), records that they took it now (others see "Ann is answering" for ANSWERING_WINDOW) and
  sends them to the reply page with a reply link of their own.
* Sign-ins, take-overs and changes to one's texts (pause, resume, the extra hour) go to the audit log."""

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from socialcare.data.agents import AgentRecord, AgentStore
from socialcare.data.mentions import OPEN_STATUSES, MentionStore
from socialcare.data.replies import LIVE_STATES, ReplyState, ReplyStore
from socialcare.data.rollups import RollupStore
from socialcare.data.surveys import SurveyStore
from socialcare.data.team import AuditEntry, RedeemOutcome, Session, TeamStore
from socialcare.data.tokens import TokenStore
from socialcare.measures.reports import Period, grouped
from socialcare.models import Agent, Mention, MentionStatus, Shift, utc_now
from socialcare.observability import logger
from socialcare.people.agents import validation_message
from socialcare.people.shifts import can_be_texted, is_on_shift, parse_instant, with_extra_window
from socialcare.people.team_auth import (
    MAX_PER_CLIENT,
    MAX_PER_EMAIL,
    RATE_WINDOW,
    SESSION_TTL,
    SIGN_IN_FORM_TTL,
    SIGN_IN_LINK_TTL,
    cleared_cookie,
    form_nonce,
    is_secure,
    nonce_is_valid,
    session_cookie,
    session_token_from,
)
from socialcare.people.team_view import (
    REPORT_DAYS,
    AnsweredRow,
    MySatisfaction,
    Nav,
    PersonRow,
    RosterRow,
    WorkRow,
    me_page,
    message_page,
    open_work_page,
    people_page,
    redirect,
    report_page,
    roster_page,
    sign_in_confirm_page,
    sign_in_page,
    sign_in_sent_page,
)
from socialcare.replies.forms import is_cross_site, parse_form
from socialcare.replies.page_view import Page
from socialcare.replies.tokens import hash_token, new_token
from socialcare.settings import Deadlines, FormKey, LinkLifetime, Notifications, OwnAddress, Table, load
from socialcare.singletons import one_per_process

MAX_FORM_BYTES = 16 * 1024
OPEN_WORK_DAYS = timedelta(days=14)  # older open mentions are the escalation's and the leads' business
ANSWERING_WINDOW = timedelta(minutes=5)
EXCERPT = 140
MAX_PAUSE = timedelta(days=90)
EXTRA_HOUR = timedelta(hours=1)
REPORT_PERIOD = timedelta(days=30)  # my answers on /team/me
REPORT_DAY_CHOICES = {str(days) for days in REPORT_DAYS}
LATEST_COMMENTS = 10
PRIORITY_ORDER = {"urgent": 0, "normal": 1, "low": 2}


@dataclass(frozen=True)
class Request:
    """What the handler passes on of an API Gateway request. Header names are lower case."""

    headers: Mapping[str, str]
    cookies: Sequence[str] = ()
    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    source_ip: str = ""
    domain: str = ""


@dataclass(frozen=True)
class Answer:
    page: Page
    cookies: Sequence[str] = ()


@dataclass(frozen=True)
class SignedIn:
    session: Session
    record: AgentRecord

    @property
    def agent(self) -> Agent:
        return self.record.agent


def excerpt(text: str, limit: int = EXCERPT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def author_label(mention: Mention) -> str:
    author = mention.author
    return f"@{author.handle}" if author.handle else (author.name or "someone")


def work_state(mention: Mention, reply_states: Sequence[ReplyState]) -> str:
    """waiting (nobody texted yet), texted (not opened), opened, or failed (its replies all failed)."""
    if mention.status in (MentionStatus.NEW, MentionStatus.WAITING):
        return "waiting"
    if mention.status is MentionStatus.ASSIGNED:
        return "texted"
    if reply_states and not any(state in LIVE_STATES for state in reply_states):
        return "failed"
    return "opened"


def who_is_answering(mention: Mention, names: Mapping[str, str], now: datetime) -> str | None:
    """The name of whoever took or opened the mention within ANSWERING_WINDOW, the latest first."""
    recent = [
        (at, email)
        for at, email in ((mention.taken_at, mention.taken_by), (mention.opened_at, mention.opened_by))
        if at is not None and email and now - at <= ANSWERING_WINDOW
    ]
    if not recent:
        return None
    _, email = max(recent)
    return names.get(email, email)


@dataclass
class TeamFlow:
    team: TeamStore
    agents: AgentStore
    mentions: MentionStore
    replies: ReplyStore
    tokens: TokenStore
    send_email: Callable[[AgentRecord, str, str], None]  # (agent, subject, body)
    nonce_key: Callable[[], bytes]
    base_url: str = ""  # PUBLIC_BASE_URL; empty: the domain the request came in on, over HTTPS
    deadlines: Mapping[str, timedelta] = field(default_factory=dict)
    reply_link_ttl: timedelta = timedelta(hours=24)
    now: Callable[[], datetime] = utc_now
    # The reports' daily roll-ups and the surveys' comments (socialcare.measures.reports, socialcare report).
    rollups: RollupStore | None = None
    surveys: SurveyStore | None = None

    # ---------------------------------------------------------------- signing in
    def sign_in_form(self, request: Request) -> Answer:
        return Answer(sign_in_page(self._nonce("sign-in", "form")))

    def request_link(self, request: Request) -> Answer:
        form, refusal = self._form(request, "sign-in", "form", self.now() - SIGN_IN_FORM_TTL)
        if refusal is not None:
            return Answer(refusal)
        email = form.get("email", "").strip().lower()[:254]
        if not email:
            return Answer(sign_in_page(self._nonce("sign-in", "form"), status=422, error="Enter your email."))
        now = self.now()
        # Counted for every address, known or not, so the limit says nothing about who works here.
        client_ok = self.team.count_attempt(
            "client", request.source_ip or "unknown", now, RATE_WINDOW, MAX_PER_CLIENT
        )
        if not client_ok or not self.team.count_attempt("email", email, now, RATE_WINDOW, MAX_PER_EMAIL):
            logger.warning("sign-in requests over the limit", per_client=not client_ok)
            message = "Too many sign-in requests. Wait 15 minutes, then ask again."
            return Answer(message_page(429, "Too many requests", message))
        record = self.agents.get(email) if "@" in email else None
        if record is not None and record.agent.active:
            token = new_token()
            self.team.create_sign_in_link(token, record.email, now, SIGN_IN_LINK_TTL)
            link = f"{self._base(request)}/team/sign-in/{token}"
            self.send_email(record, "Sign in to Social Care", _sign_in_email(record.agent.name, link))
            logger.info("sign-in link sent", agent_id=record.agent_id)
        return Answer(sign_in_sent_page())

    def show_link(self, request: Request, token: str) -> Answer:
        link = self.team.sign_in_link(token)
        if link is None:
            return Answer(self._link_refusal(unknown=True))
        if link.used_at is not None or self.now() >= link.expires_at:
            return Answer(self._link_refusal(expired=link.used_at is None))
        return Answer(sign_in_confirm_page(self._nonce("link", hash_token(token))))

    def redeem_link(self, request: Request, token: str) -> Answer:
        link = self.team.sign_in_link(token)
        if link is None:
            return Answer(self._link_refusal(unknown=True))
        _, refusal = self._form(request, "link", hash_token(token), link.created_at)
        if refusal is not None:
            return Answer(refusal)
        record = self.agents.get(link.email)
        if record is None or not record.agent.active:
            return Answer(message_page(403, "Not allowed", "This account cannot sign in."))
        now = self.now()
        session_token = new_token()
        outcome, session = self.team.redeem(token, session_token, now, SESSION_TTL)
        if outcome != RedeemOutcome.SIGNED_IN or session is None:
            refusal = self._link_refusal(
                unknown=outcome == RedeemOutcome.UNKNOWN, expired=outcome == RedeemOutcome.EXPIRED
            )
            return Answer(refusal)
        self._audit("sign-in", record.email, now)
        cookie = session_cookie(session_token, secure=is_secure(self._base(request)))
        return Answer(redirect("/team"), cookies=[cookie])

    def sign_out(self, request: Request) -> Answer:
        signed_in, refusal = self._signed_in_post(request)
        if signed_in is None:
            return Answer(refusal or redirect("/team/sign-in"))
        ended = self.team.end_sessions(signed_in.record.email)
        self._audit("sign-out", signed_in.record.email, self.now(), detail=f"{ended} session(s) ended")
        secure = is_secure(self._base(request))
        return Answer(
            message_page(200, "Signed out", "You are signed out everywhere."), [cleared_cookie(secure=secure)]
        )

    # ---------------------------------------------------------------- open work
    def open_work(self, request: Request) -> Answer:
        signed_in = self._session(request)
        if signed_in is None:
            return Answer(redirect("/team/sign-in"))
        now = self.now()
        records = self.agents.records()
        names = {record.email: record.agent.name for record in records}
        rows = [self._row(mention, names, now) for mention in self.mentions.open_work(now - OPEN_WORK_DAYS)]
        platforms = sorted({row.platform for row in rows})
        platform, state = request.query.get("platform") or None, request.query.get("state") or None
        shown = [
            row
            for row in rows
            if (not platform or row.platform == platform) and (not state or row.state == state)
        ]
        shown.sort(key=lambda row: (PRIORITY_ORDER.get(row.priority, 3), -row.waited))
        page = open_work_page(
            self._nav(signed_in),
            shown,
            platforms=platforms,
            platform=platform,
            state=state,
            nonce=self._session_nonce(signed_in),
        )
        return Answer(page)

    def _row(self, mention: Mention, names: Mapping[str, str], now: datetime) -> WorkRow:
        states = (
            [reply.state for reply in self.replies.for_mention(mention.id)]
            if mention.status is MentionStatus.OPENED
            else []
        )
        state = work_state(mention, states)
        priority = mention.priority or "normal"
        return WorkRow(
            mention_id=mention.id,
            platform=mention.platform,
            author=author_label(mention),
            excerpt=excerpt(mention.text) or "(text still being fetched)",
            priority=priority,
            state=state,
            holders=[names.get(email, email) for email in mention.assigned_to],
            waited=now - mention.received_at,
            deadline=self.deadlines.get(priority) if state == "texted" else None,
            answering=who_is_answering(mention, names, now),
        )

    def take(self, request: Request, mention_id: str) -> Answer:
        signed_in, refusal = self._signed_in_post(request)
        if signed_in is None:
            return Answer(refusal or redirect("/team/sign-in"))
        email, now = signed_in.record.email, self.now()
        for _attempt in range(2):  # the second sees what changed under the first
            mention = self.mentions.get(mention_id)
            if mention is None:
                return Answer(
                    message_page(404, "Not found", "There is no such mention.", nav=self._nav(signed_in))
                )
            if mention.status not in OPEN_STATUSES:
                message = "Somebody answered it already, or it is gone. Back to the open work."
                return Answer(message_page(409, "Already handled", message, nav=self._nav(signed_in)))
            if self.mentions.take(mention.id, email, now, join=email not in mention.assigned_to):
                token = self.tokens.create(mention.id, email, now, self.reply_link_ttl)
                self._audit("take", email, now, subject=mention.id)
                return Answer(redirect(f"/r/{token}"))
        return Answer(
            message_page(409, "Try again", "It changed meanwhile. Try again.", nav=self._nav(signed_in))
        )

    # ---------------------------------------------------------------- leads' roster
    def roster(self, request: Request) -> Answer:
        signed_in = self._session(request)
        if signed_in is None:
            return Answer(redirect("/team/sign-in"))
        if not signed_in.agent.lead:
            return Answer(
                message_page(403, "Leads only", "The roster is for leads.", nav=self._nav(signed_in))
            )
        now = self.now()
        rows = [
            RosterRow(
                name=r.agent.name,
                email=r.email,
                lead=r.agent.lead,
                active=r.agent.active,
                on_shift=can_be_texted(r.agent, now) and is_on_shift(r.agent, now),
                paused_until=r.agent.paused_until,
            )
            for r in self.agents.records()
        ]
        return Answer(roster_page(self._nav(signed_in), rows, now))

    # ---------------------------------------------------------------- me
    def me(self, request: Request) -> Answer:
        signed_in = self._session(request)
        if signed_in is None:
            return Answer(redirect("/team/sign-in"))
        return Answer(self._me_page(signed_in, notice=None))

    def update_me(self, request: Request) -> Answer:
        signed_in, refusal = self._signed_in_post(request, with_form=True)
        if signed_in is None:
            return Answer(refusal or redirect("/team/sign-in"))
        form = parse_form(request.body, request.headers.get("content-type", "")) or {}
        action, agent, now = form.get("action", ""), signed_in.agent, self.now()
        if action == "shifts" and not agent.lead:
            return Answer(
                message_page(403, "Leads only", "Only a lead changes shifts.", nav=self._nav(signed_in))
            )
        try:
            updated, notice = self._apply(action, agent, form, now)
        except ValueError as error:
            message = validation_message(error) if isinstance(error, ValidationError) else str(error)
            return Answer(self._me_page(signed_in, notice=None, error=message, status=422))
        saved = AgentRecord(updated, signed_in.record.subscription_arn, signed_in.record.created_at, now)
        if not self.agents.save(saved):
            return Answer(message_page(404, "Not found", "Your agent record was removed."))
        if action in ("pause", "resume", "next_hour"):
            detail = (
                f"until {updated.paused_until.isoformat()}"
                if action == "pause" and updated.paused_until
                else ""
            )
            self._audit(action.replace("_", "-"), agent.email, now, detail=detail)
        return Answer(self._me_page(SignedIn(signed_in.session, saved), notice=notice))

    def _apply(self, action: str, agent: Agent, form: Mapping[str, str], now: datetime) -> tuple[Agent, str]:
        """The agent after the action, and what to tell them. ValueError (or ValidationError) says why not."""
        if action == "pause":
            until = parse_instant(form.get("pause_until", ""), agent.shift.time_zone)
            if until <= now or until - now > MAX_PAUSE:
                raise ValueError(f"Pick a time in the next {MAX_PAUSE.days} days.")
            return agent.model_copy(update={"paused_until": until.astimezone(UTC)}), "Texts paused."
        if action == "resume":
            return agent.model_copy(update={"paused_until": None}), "Texts are on again."
        if action == "next_hour":
            resumed = agent.model_copy(update={"paused_until": None})
            return with_extra_window(
                resumed, now, now + EXTRA_HOUR
            ), "You get new mentions for the next hour."
        if action == "shifts":
            shift = Shift(
                time_zone=agent.shift.time_zone,
                weekly=form.get("weekly", ""),
                overrides=agent.shift.overrides,
            )
            return agent.model_copy(update={"shift": shift}), "Shifts saved."
        if action == "save":
            handles = {
                name.removeprefix("handle_"): value
                for name, value in form.items()
                if name.startswith("handle_")
            }
            shift = Shift(
                time_zone=form.get("time_zone", ""),
                weekly=agent.shift.weekly,
                overrides=agent.shift.overrides,
            )
            fields = {
                **agent.model_dump(),
                "phone": form.get("phone", ""),
                "languages": _names(form.get("languages", "")),
                "platforms": _names(form.get("platforms", "")),
                "directory": form.get("directory") == "yes",
                "handles": handles,
                "shift": shift,
            }
            return Agent.model_validate(fields), "Settings saved."
        raise ValueError("Unknown action.")

    def _me_page(
        self, signed_in: SignedIn, *, notice: str | None, error: str | None = None, status: int = 200
    ) -> Page:
        now = self.now()
        mine = [
            m
            for m in self.mentions.list(status=MentionStatus.ANSWERED, since=now - REPORT_PERIOD, limit=5000)
            if m.answered_by == signed_in.record.email
        ][:50]
        rows = [AnsweredRow(m.id, m.platform, author_label(m), excerpt(m.text), m.answered_at) for m in mine]
        return me_page(
            self._nav(signed_in),
            signed_in.agent,
            rows,
            satisfaction=self._my_satisfaction(signed_in.record.email, now),
            nonce=self._session_nonce(signed_in),
            now=now,
            notice=notice,
            error=error,
            status=status,
        )

    # ---------------------------------------------------------------- report and people
    def report(self, request: Request) -> Answer:
        signed_in = self._session(request)
        if signed_in is None:
            return Answer(redirect("/team/sign-in"))
        from socialcare.measures.report_render import STYLE, Comment, report_sections

        days = (
            int(request.query.get("days", "7")) if request.query.get("days", "7") in REPORT_DAY_CHOICES else 7
        )
        period = Period.last_days(days, self.now().astimezone(UTC).date())
        rollups = self.rollups.read(period.days()) if self.rollups is not None else {}
        comments = [
            Comment(s.rating or 0, s.comment or "", s.platform, s.rated_at.isoformat() if s.rated_at else "")
            for s in (self.surveys.latest_comments(LATEST_COMMENTS) if self.surveys is not None else [])
        ]
        sections = report_sections(rollups, period, comments, with_agents=signed_in.agent.lead)
        label = f"{period.since.isoformat()} to {period.until.isoformat()}, as `socialcare report` shows it."
        return Answer(report_page(self._nav(signed_in), days, label, sections, STYLE))

    def _my_satisfaction(self, email: str, now: datetime) -> MySatisfaction | None:
        """My answers and what customers said of them, from the roll-ups the reports read."""
        if self.rollups is None:
            return None
        period = Period.last_days(REPORT_PERIOD.days, now.astimezone(UTC).date())
        mine = grouped(self.rollups.read(period.days()), period, "agent").get(email)
        if mine is None:
            return MySatisfaction(REPORT_PERIOD.days, 0, 0, None)
        rated = sum(mine.ratings.values())
        satisfied = (mine.ratings.get(4, 0) + mine.ratings.get(5, 0)) / rated if rated else None
        return MySatisfaction(REPORT_PERIOD.days, mine.answered, mine.responses, satisfied)

    def people(self, request: Request) -> Answer:
        """The public page: only agents who opted in, only their name, role and chosen handles."""
        now = self.now()
        month_start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        answered = Counter(
            m.answered_by
            for m in self.mentions.list(status=MentionStatus.ANSWERED, since=month_start, limit=100_000)
        )
        people = [
            PersonRow(r.agent.name, r.agent.role, dict(r.agent.handles), answered.get(r.email, 0))
            for r in self.agents.records()
            if r.agent.directory and r.agent.active
        ]
        return Answer(people_page(people))

    # ---------------------------------------------------------------- internals
    def _base(self, request: Request) -> str:
        return (self.base_url or f"https://{request.domain}").rstrip("/")

    def _nonce(self, purpose: str, binding: str) -> str:
        return form_nonce(self.nonce_key(), purpose, binding, int(self.now().timestamp()))

    def _session_nonce(self, signed_in: SignedIn) -> str:
        return self._nonce("session", signed_in.session.token_hash)

    def _nav(self, signed_in: SignedIn) -> Nav:
        return Nav(signed_in.agent.name, signed_in.agent.lead, self._session_nonce(signed_in))

    def _session(self, request: Request) -> SignedIn | None:
        token = session_token_from(list(request.cookies), secure=is_secure(self._base(request)))
        if token is None:
            return None
        session = self.team.session(token, self.now())
        if session is None:
            return None
        record = self.agents.get(session.email)
        if record is None or not record.agent.active:
            return None
        return SignedIn(session, record)

    def _signed_in_post(
        self, request: Request, *, with_form: bool = False
    ) -> tuple[SignedIn | None, Page | None]:
        """The signed-in agent behind a post that passed the same-origin and nonce checks, else a refusal."""
        if is_cross_site(request.headers):
            return None, message_page(403, "Not allowed", "This form can only be sent from its own page.")
        signed_in = self._session(request)
        if signed_in is None:
            return None, message_page(403, "Sign in first", "Your session ended. Sign in again.")
        session = signed_in.session
        _, refusal = self._form(request, "session", session.token_hash, session.created_at)
        return (None, refusal) if refusal is not None else (signed_in, None)

    def _form(
        self, request: Request, purpose: str, binding: str, earliest: datetime
    ) -> tuple[dict[str, str], Page | None]:
        if is_cross_site(request.headers):
            logger.warning("cross-site team post refused", purpose=purpose)
            return {}, message_page(403, "Not allowed", "This form can only be sent from its own page.")
        if len(request.body) > MAX_FORM_BYTES:
            return {}, message_page(413, "Too long", "That form is far too long.")
        form = parse_form(request.body, request.headers.get("content-type", ""))
        if form is None:
            return {}, message_page(400, "Not a form", "Send it from the page's own form.")
        if not nonce_is_valid(
            self.nonce_key(), purpose, binding, form.get("nonce", ""), earliest, self.now()
        ):
            logger.warning("team post with a bad form nonce refused", purpose=purpose)
            return {}, message_page(
                403, "Out of date", "This form is out of date. Reload the page and try again."
            )
        return form, None

    @staticmethod
    def _link_refusal(*, unknown: bool = False, expired: bool = False) -> Page:
        """Why a sign-in link cannot sign in: unknown, expired, or else used already."""
        if unknown:
            return message_page(404, "Link not found", "Ask for a new sign-in link.")
        if expired:
            return message_page(410, "Link expired", "Sign-in links work for 15 minutes. Ask for a new one.")
        return message_page(410, "Link already used", "Each sign-in link works once. Ask for a new one.")

    def _audit(self, action: str, actor: str, at: datetime, *, subject: str = "", detail: str = "") -> None:
        self.team.record(AuditEntry(at=at, action=action, actor=actor, subject=subject, detail=detail))


def _names(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _sign_in_email(name: str, link: str) -> str:
    return (
        f"Hello {name},\n\nOpen this link to sign in to the team pages. It works once, for 15 minutes:\n\n"
        f"{link}\n\nIf you did not ask to sign in, ignore this email: nothing happens without the link.\n"
    )


# ---------------------------------------------------------------- wiring
def sns_email(sns: Any, topic_arn: str) -> Callable[[AgentRecord, str, str], None]:
    """Emails go through the notification topic, to the agent's own subscription (filter on agent_id)."""

    def send(record: AgentRecord, subject: str, body: str) -> None:
        sns.publish(
            TopicArn=topic_arn,
            Subject=subject,
            Message=body,
            MessageAttributes={"agent_id": {"DataType": "String", "StringValue": record.agent_id}},
        )

    return send


class TeamSettings(Table, Notifications, FormKey, OwnAddress, LinkLifetime, Deadlines):
    """What the team pages read: sign-in emails, the forms' key, links and the escalation deadlines."""


@one_per_process
def get_team_flow() -> TeamFlow:
    from socialcare.aws_clients import client as aws_client
    from socialcare.data import table
    from socialcare.replies.forms import get_nonce_key

    settings = load(TeamSettings)
    shared_table = table(settings.table_name)
    return TeamFlow(
        team=TeamStore(shared_table),
        agents=AgentStore(shared_table),
        mentions=MentionStore(shared_table),
        replies=ReplyStore(shared_table),
        tokens=TokenStore(shared_table),
        rollups=RollupStore(shared_table),
        surveys=SurveyStore(shared_table),
        send_email=sns_email(aws_client("sns"), settings.notification_topic_arn),
        nonce_key=get_nonce_key,
        base_url=settings.public_base_url,
        deadlines=settings.escalation_deadlines,
        reply_link_ttl=settings.reply_link_ttl,
    )
