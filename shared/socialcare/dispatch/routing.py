"""Who hears about a mention, and how soon: priority, language, the choice of agent and escalation timing.

Pure decisions over plain values (agents, counts, instants) so the dispatcher and the escalation job stay thin
and every rule is tested with a controlled clock. The word lists are small and deliberate, not a classifier:
a false "urgent" costs a faster text, a missed one costs a customer waiting."""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from socialcare.models import Agent, Mention, MentionKind
from socialcare.people.shifts import can_be_texted, is_on_shift


class Priority(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"
    LOW = "low"


DEFAULT_FOLLOWER_THRESHOLD = 10_000
DEFAULT_DEADLINES: Mapping[Priority, timedelta] = {
    Priority.URGENT: timedelta(minutes=5),
    Priority.NORMAL: timedelta(minutes=15),
    Priority.LOW: timedelta(minutes=60),
}
MAX_ESCALATION_LEVEL = 2
# An agent said "I'm on it" (the mention is opened) but nobody answered: after this many of its priority's
# deadlines it escalates to everyone on shift and the leads, as an unopened one does.
ANSWER_DEADLINE_FACTOR = 4

URGENT_PHRASES = (
    # English
    "refund", "refunds", "broken", "broke", "worst", "terrible", "horrible", "awful", "angry", "furious",
    "cancel", "cancelled", "canceled", "scam", "fraud", "never again", "disappointed", "disappointing",
    "not working", "doesn't work", "does not work", "didn't arrive", "never arrived", "complaint",
    "unacceptable", "ripoff", "rip off", "useless", "lawyer",
    # Spanish
    "reembolso", "devolución", "devolucion", "roto", "rota", "peor", "pésimo", "pésima", "pesimo",
    "enojado", "enojada", "cancelar", "estafa", "fraude", "nunca más", "nunca mas",
    "decepcionado", "decepcionada", "no funciona", "no llegó", "no llego", "queja", "inaceptable",
)  # fmt: skip
PRAISE_PHRASES = (
    # English
    "thanks", "thank you", "thx", "love", "loved", "great", "awesome", "amazing", "excellent", "perfect",
    "fantastic", "wonderful",
    # Spanish
    "gracias", "me encanta", "encanta", "genial", "excelente", "increíble", "increible", "perfecto",
    "maravilloso", "buenísimo",
)  # fmt: skip


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    # \b is Unicode-aware for str patterns, so "pésimo" and "devolución" match as whole words.
    alternatives = sorted({r"\s+".join(map(re.escape, phrase.split())) for phrase in phrases}, key=len)
    return re.compile(r"\b(?:" + "|".join(reversed(alternatives)) + r")\b", re.IGNORECASE)


_URGENT = _phrase_pattern(URGENT_PHRASES)
_PRAISE = _phrase_pattern(PRAISE_PHRASES)


def _plain_apostrophes(text: str) -> str:
    return text.replace("\u2019", "'")  # phones type a curly apostrophe in "doesn't"


def classify_priority(mention: Mention, follower_threshold: int = DEFAULT_FOLLOWER_THRESHOLD) -> Priority:
    """Urgent: a complaint word, a direct message, a verified author or one with many followers.
    Low: thanks or praise with nothing urgent. Normal: everything else."""
    text = _plain_apostrophes(mention.text)
    author = mention.author
    if (
        _URGENT.search(text)
        or mention.kind == MentionKind.DIRECT_MESSAGE
        or author.verified
        or (author.followers is not None and author.followers >= follower_threshold)
    ):
        return Priority.URGENT
    if _PRAISE.search(text):
        return Priority.LOW
    return Priority.NORMAL


# Common words of one language that are rare in the other: enough to tell Spanish mentions from English ones.
SPANISH_HINTS = frozenset((
    "el", "la", "los", "las", "del", "al", "que", "de", "en", "y", "por", "para", "con", "una", "unos",
    "unas", "es", "son", "está", "están", "estoy", "mi", "mis", "su", "sus", "pero", "muy", "más", "ya",
    "hola", "gracias", "porque", "cuando", "donde", "dónde", "qué", "cómo", "esto", "este", "esta", "eso",
    "hay", "tengo", "tiene", "pedido", "nada", "también", "sí",
))  # fmt: skip
ENGLISH_HINTS = frozenset((
    "the", "and", "is", "are", "was", "were", "to", "of", "my", "your", "it", "this", "that", "with", "for",
    "have", "has", "not", "you", "i", "we", "they", "on", "at", "from", "but", "be", "been", "please", "what",
    "when", "where", "why", "how", "thanks", "order",
))  # fmt: skip
_WORD = re.compile(r"\w+")
_SPANISH_MARKS = re.compile(r"[ñ¿¡áéíóú]", re.IGNORECASE)


def guess_language(text: str) -> str:
    """Return "es" when the text is clearly Spanish, else "en". A stopword count, nothing cleverer: at least
    two Spanish hints (function words; Spanish letters and marks count once) outnumbering the English ones."""
    words = [word.lower() for word in _WORD.findall(text)]
    spanish = sum(word in SPANISH_HINTS for word in words) + (1 if _SPANISH_MARKS.search(text) else 0)
    english = sum(word in ENGLISH_HINTS for word in words)
    return "es" if spanish >= 2 and spanish > english else "en"


# ---------------------------------------------------------------- choosing the agent
@dataclass(frozen=True)
class Assignment:
    """Whom to notify about a mention, and why (the reason is logged and shown to leads)."""

    agents: list[Agent]
    reason: str
    via: Literal["sticky", "round_robin", "leads", "none"]


def covers(agent: Agent, platform: str, language: str) -> bool:
    """Whether the agent takes this platform (no platforms listed = all) and speaks the language ("es-MX"
    is covered by "es")."""
    language = language.lower()
    platform_ok = not agent.platforms or platform.lower() in agent.platforms
    return platform_ok and (language in agent.languages or language.split("-")[0] in agent.languages)


def choose_assignee(
    mention_platform: str,
    language: str,
    candidates: list[Agent],
    open_counts: Mapping[str, int],
    max_open: int,
    last_assigned_email: str | None,
    sticky_email: str | None,
    at: datetime,
) -> Assignment:
    """Pick who gets a new mention at instant `at`.

    1. The agent already on the conversation (sticky_email), if active and on shift, even at capacity:
       follow-ups reach the person the customer is talking to.
    2. Round robin over active, on-shift agents covering the platform and language with fewer than max_open
       open mentions: the first after last_assigned_email in email order, wrapping around.
    3. Else the active leads on shift; if none is on shift, every active lead.
    Nobody paused (socialcare.people.shifts.can_be_texted) is ever chosen, not even a lead.
    4. Else nobody, with the reason."""
    working = sorted(
        (agent for agent in candidates if can_be_texted(agent, at) and is_on_shift(agent, at)),
        key=lambda a: a.email,
    )
    if sticky_email is not None:
        sticky = next((agent for agent in working if agent.email == sticky_email.lower()), None)
        if sticky is not None:
            return Assignment([sticky], f"{sticky.email} is already on this conversation", "sticky")

    scope = f"{mention_platform}/{language}"
    covering = [agent for agent in working if covers(agent, mention_platform, language)]
    with_room = [agent for agent in covering if open_counts.get(agent.email, 0) < max_open]
    if with_room:
        chosen = _next_after(with_room, last_assigned_email)
        return Assignment([chosen], f"round robin among {len(with_room)} on shift for {scope}", "round_robin")

    shortfall = (
        f"everyone on shift for {scope} has {max_open} or more open"
        if covering
        else f"nobody on shift covers {scope}"
    )
    leads = sorted(
        (agent for agent in candidates if can_be_texted(agent, at) and agent.lead), key=lambda a: a.email
    )
    working_emails = {agent.email for agent in working}
    leads_on_shift = [lead for lead in leads if lead.email in working_emails]
    if leads_on_shift:
        return Assignment(leads_on_shift, f"{shortfall}; leads on shift notified", "leads")
    if leads:
        return Assignment(leads, f"{shortfall}; no lead on shift, all leads notified", "leads")
    return Assignment([], f"{shortfall} and there are no leads", "none")


def _next_after(agents: list[Agent], last_email: str | None) -> Agent:
    # By comparison rather than position, so rotation continues even when the last assignee is off shift now.
    if last_email is not None:
        for agent in agents:
            if agent.email > last_email.lower():
                return agent
    return agents[0]


# ---------------------------------------------------------------- escalation
def escalation_due(
    priority: Priority,
    notified_at: datetime,
    opened: bool,
    answered: bool,
    level: int,
    now: datetime,
    deadlines: Mapping[Priority, timedelta] = DEFAULT_DEADLINES,
) -> int | None:
    """The escalation level to run now, or None.

    `notified_at` is the first notification, `level` the last escalation done (0 = none). Level 1 (the next
    agent on shift) is due once the priority's deadline has passed unopened, level 2 (every agent on shift
    and the leads) after twice the deadline. A late run that finds level 2 due skips straight to it."""
    if opened or answered or level >= MAX_ESCALATION_LEVEL:
        return None
    deadline = deadlines.get(priority, DEFAULT_DEADLINES[priority])
    waited = now - notified_at
    due = 2 if waited >= 2 * deadline else 1 if waited >= deadline else 0
    return due if due > level else None


def answer_due(
    priority: str | None, opened_at: datetime, deadlines: Mapping[str, timedelta] | None = None
) -> datetime:
    """When an opened mention that is still unanswered escalates."""
    chosen = Priority(priority) if priority in set(Priority) else Priority.NORMAL
    deadline = (deadlines or {}).get(chosen.value, DEFAULT_DEADLINES[chosen])
    return opened_at + ANSWER_DEADLINE_FACTOR * deadline


def escalation_recipients(
    level: int,
    mention_platform: str,
    language: str,
    candidates: list[Agent],
    already_notified: Iterable[str],
    at: datetime,
) -> list[Agent]:
    """Whom an escalation reaches. Level 1: the next active agent on shift covering the mention who was not
    notified yet, else a lead not notified yet (on shift first); empty when there is nobody new to tell
    (level 2 follows). Level 2: every active agent on shift and every active lead, notified before or not."""
    notified = {email.lower() for email in already_notified}
    working = sorted(
        (agent for agent in candidates if can_be_texted(agent, at) and is_on_shift(agent, at)),
        key=lambda a: a.email,
    )
    working_emails = {agent.email for agent in working}
    leads = sorted(
        (agent for agent in candidates if can_be_texted(agent, at) and agent.lead),
        key=lambda a: (a.email not in working_emails, a.email),  # leads on shift first
    )
    if level >= MAX_ESCALATION_LEVEL:
        return working + [lead for lead in leads if lead.email not in working_emails]
    fresh = [
        agent
        for agent in working
        if agent.email not in notified and covers(agent, mention_platform, language)
    ]
    fresh_leads = [lead for lead in leads if lead.email not in notified]
    return (fresh or fresh_leads)[:1]
