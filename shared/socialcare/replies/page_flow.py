"""The reply page's behaviour (GET and POST /r/<token>); socialcare.replies.page_view renders, this decides.

GET shows the mention and the form and changes nothing: mail security scanners and chat previews fetch
every link (plain GETs, headless browsers navigating), so a GET neither uses the link up nor marks the mention
opened. A person says so with the page's "I'm on it" button (a form post, checked like the reply's): the
mention becomes opened, its unopened escalation stops, and it escalates again if nobody answers it within
socialcare.routing.answer_due. POST with the reply is the only thing that uses a link, and only once:

* It must come from our own page. Browsers say where a form post comes from in Sec-Fetch-Site (every
  current browser) or, failing that, in Origin; a cross-site post is refused. The page's own post may carry
  `Origin: null`, because the page sends Referrer-Policy: no-referrer, so `null` alone proves nothing.
* It must carry the form nonce the page was rendered with: an HMAC, under a key derived from the
  reply form key secret, of the link's token hash and the render time. Nothing secret lives in code or in the
  table, a nonce only works for its own link, and rotating that secret retires every nonce.
* The reply gets an id derived from the link (socialcare.data.replies.reply_id_for_link) and is written
  together with the link's use, in one transaction (ReplyStore.create_for_link): the reply put if new, the
  link marked used if unused, and, unless the agent ticked "send another reply anyway", on the condition
  that no other reply to the mention is live. A double tap, two tabs, or a retry after a crash find the
  reply instead of making a second one; two agents sending at the same moment get one reply and one
  question. Then the reply is queued. Should the queueing fail, the agent's retry finds the reply still
  pending and never attempted, and queues it again; duplicate messages are harmless, the reply sender
  claims a reply once.
* What a send reads: the link, the mention (is it still there, what the platform takes, what the sender
  needs to post), the agent (name and phone, kept on the reply). Other agents' replies are read (a Query)
  only when the mention shows one was sent, or when the transaction says one is live."""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from socialcare.aws_clients import client as aws_client
from socialcare.data import table
from socialcare.data.agents import AgentRecord, AgentStore
from socialcare.data.mentions import MentionStore
from socialcare.data.replies import (
    LIVE_STATES,
    CreateOutcome,
    Reply,
    ReplyState,
    ReplyStore,
    mention_for_reply,
    reply_id_for_link,
)
from socialcare.data.surveys import SurveyStore
from socialcare.data.tokens import ReplyLink, TokenStore
from socialcare.models import Mention, MentionKind, MentionStatus, utc_now
from socialcare.observability import logger
from socialcare.platform_config import PlatformConfig, get_platform_config
from socialcare.platforms import registry
from socialcare.platforms.surveys import can_ask_privately
from socialcare.replies.forms import (
    MAX_FORM_BYTES,
    form_nonce,
    get_nonce_key,
    is_cross_site,
    nonce_rendered_since,
    parse_form,
)
from socialcare.replies.page_view import (
    EDIT_AND_SEND,
    ON_IT,
    TRY_AGAIN,
    Page,
    PreviousReply,
    ReplyView,
    answered_page,
    error_page,
    expired_page,
    forbidden_page,
    not_found_page,
    not_posted_page,
    reply_form_page,
    sent_page,
    validate_reply,
)
from socialcare.replies.tokens import hash_token
from socialcare.settings import Deadlines, FormKey, PlatformSections, ReplyQueue, Table, load
from socialcare.singletons import one_per_process

MAX_CONVERSATION = 20  # earlier messages shown on the page
MAX_CONVERSATION_READ = 500
REQUEUE_AFTER = timedelta(minutes=1)  # the sender picks a queued reply up within seconds
GONE_STATUSES = (MentionStatus.DELETED, MentionStatus.REMOVED)


# ---------------------------------------------------------------- the form nonce
def nonce_is_valid(key: bytes, token_hash: str, nonce: str, link: ReplyLink, now: datetime) -> bool:
    """Rendered by us, for this link, while the link was valid (and not in the future)."""
    return nonce_rendered_since(key, token_hash, nonce, link.created_at, now)


def normalized_reply(text: str) -> str:
    """What the agent typed, as it will be posted: the form's CRLF line ends as LF, no surrounding blanks."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


# ---------------------------------------------------------------- the flow
@dataclass
class ReplyFlow:
    tokens: TokenStore
    mentions: MentionStore
    replies: ReplyStore
    agents: AgentStore
    queue: Callable[[Reply], None]
    nonce_key: Callable[[], bytes]
    now: Callable[[], datetime] = utc_now
    # The platform configuration: which platforms are answered on their own site (feeds), and their labels.
    config: Callable[[], PlatformConfig] = PlatformConfig
    # The agent ticked "Ask privately how we did" (socialcare.measures.survey_sending asks after the delay).
    request_survey: Callable[[Mention, str], None] | None = None

    # ---- GET
    def _live_link(self, token: str) -> "tuple[ReplyLink, datetime] | Page":
        """The link of this token and the time now, or the page for an unknown (404) or expired (410) one."""
        link = self.tokens.find(token)
        if link is None:
            return not_found_page()
        now = self.now()
        return expired_page() if link.is_expired(now) else (link, now)

    def show(self, token: str, headers: Mapping[str, str]) -> Page:
        token_hash = hash_token(token)
        live = self._live_link(token)
        if isinstance(live, Page):
            return live
        link, _ = live
        mention = self.mentions.get(link.mention_id)
        if mention is None:
            logger.warning("a reply link points at a missing mention", link=token_hash[:12])
            return not_found_page()
        own = self.replies.get(mention.id, link.reply_id or reply_id_for_link(token_hash))
        if own is not None and own.state is ReplyState.FAILED:
            return self._not_posted(own, mention, token_hash)
        if own is not None or link.used_at is not None:
            return self._answered(own, link, mention)
        error = _gone_notice(mention)
        return self._form(mention, link, token_hash, self._others_replies(mention, None), error=error)

    def _mark_opened(self, mention: Mention, link: ReplyLink, now: datetime) -> Mention:
        """assigned/waiting -> opened, once: the first agent to say "I'm on it". Its unopened escalation
        stops; it stays pending until its answer deadline, when the sweep escalates it if still unanswered.
        (A reply sent without it leaves the mention assigned: the sender marks it answered within seconds,
        and should the reply fail, it keeps escalating as it was.)"""
        from socialcare.dispatch.routing import (
            answer_due,  # only this path needs routing (and its word lists)
        )

        if mention.status not in (MentionStatus.ASSIGNED, MentionStatus.WAITING):
            return mention
        opened = {"status": MentionStatus.OPENED, "opened_at": now, "opened_by": link.agent_email}
        due = answer_due(mention.priority, now, load(Deadlines).escalation_deadlines)
        if not self.mentions.mark_opened(mention.id, link.agent_email, now, due, was=mention.status):
            return self.mentions.get(mention.id) or mention  # someone was first, or it changed meanwhile
        logger.info("mention opened", mention_id=mention.id)
        return mention.model_copy(update=opened)

    # ---- POST
    def submit(self, token: str, headers: Mapping[str, str], body: bytes) -> Page:
        checked = self._checked_post(token, headers, body)
        if isinstance(checked, Page):
            return checked
        link, token_hash, form, now = checked
        # The agent is read with the mention (one call), though only a valid post needs them.
        mention, record = self.mentions.get_with_agent(link.mention_id, link.agent_email)
        if mention is None:
            return not_found_page()
        reply_id = reply_id_for_link(token_hash)
        if link.used_at is not None:
            own = self.replies.get(mention.id, link.reply_id or reply_id)
            if own is not None and own.state is ReplyState.FAILED:
                return self._retry(own, mention, token_hash, form)
            return self._again(token, link, own)
        if form.get("action") == ON_IT:
            mention = self._mark_opened(mention, link, now)
            others = self._others_replies(mention, None)
            return self._form(mention, link, token_hash, others, error=_gone_notice(mention))
        return self._answer(token, link, token_hash, form, mention, record, now)

    def _checked_post(
        self, token: str, headers: Mapping[str, str], body: bytes
    ) -> "Page | tuple[ReplyLink, str, dict[str, str], datetime]":
        """The link, its hash, the form and the time of a post that passes every check; else the page that
        says which failed (cross-site, unknown or expired link, too long, not a form, a stale nonce)."""
        if is_cross_site(headers):
            logger.warning("cross-site reply post refused")
            return forbidden_page("This form can only be sent from its own page.")
        token_hash = hash_token(token)
        live = self._live_link(token)
        if isinstance(live, Page):
            return live
        link, now = live
        if len(body) > MAX_FORM_BYTES:
            return error_page(413, "Too long", "The reply is far longer than any platform takes.")
        form = parse_form(body, headers.get("content-type", ""))
        if form is None:
            return error_page(400, "Not a form", "Send the reply from the reply page.")
        if not nonce_is_valid(self.nonce_key(), token_hash, form.get("nonce", ""), link, now):
            logger.warning("reply post with a bad form nonce refused", link=token_hash[:12])
            return forbidden_page("This form is out of date. Open the link from the text message again.")
        return link, token_hash, form, now

    def _answer(
        self,
        token: str,
        link: ReplyLink,
        token_hash: str,
        form: dict[str, str],
        mention: Mention,
        record: AgentRecord | None,
        now: datetime,
    ) -> Page:
        """The agent's answer: checked against the platform's rules, recorded once, and queued."""
        reply_id = reply_id_for_link(token_hash)
        text = normalized_reply(form.get("text", ""))
        private = form.get("private") == "yes"
        public_line = normalized_reply(form.get("public_line", "")) if private else ""
        problem = self._private_problem(mention, private, public_line, now) or (
            validate_reply(mention.platform, _answer_kind(mention, private), text) or _gone_notice(mention)
        )
        if problem is not None:
            others = self._others_replies(mention, reply_id)
            return replace(
                self._form(mention, link, token_hash, others, error=problem, draft=text), status=422
            )
        confirmed = form.get("confirm_second") == "yes"
        # Another agent's reply that was sent shows on the mention (answered_at): read them all, as
        # before. One still on its way (or sent at this very moment) is what the transaction's condition
        # on the mention's live replies catches; it is then read the same way.
        if not confirmed and mention.answered_at is not None:
            others = self._others_replies(mention, reply_id)
            if others:
                return self._answered_meanwhile(mention, link, token_hash, others, text)
        reply = Reply(
            mention_id=mention.id,
            reply_id=reply_id,
            platform=mention.platform,
            text=text,
            agent_email=link.agent_email,
            agent_name=record.agent.name if record else None,
            agent_phone=record.agent.phone if record else None,
            created_at=now,
            target_mention=mention_for_reply(mention),
            private=private,
            public_line=public_line or None,
        )
        refused = self._record(token, link, token_hash, mention, reply, confirmed)
        if refused is not None:
            return refused
        self.queue(reply)
        if form.get("ask_survey") == "yes" and self.request_survey and can_ask_privately(mention, now):
            self.request_survey(mention, link.agent_email)
        logger.info(
            "reply queued",
            mention_id=mention.id,
            reply_id=reply_id,
            confirmed_second=confirmed,
            private=private,
        )
        config = self.config()
        return sent_page(
            text,
            platform=mention.platform,
            url=mention.url,
            answered_there=registry.answered_elsewhere(mention.platform, mention.kind, config),
            label=registry.label(mention.platform, config),
        )

    def _record(
        self, token: str, link: ReplyLink, token_hash: str, mention: Mention, reply: Reply, confirmed: bool
    ) -> Page | None:
        """One write: the link used, the reply pending, and (unless confirmed) no other live reply. None when
        recorded; else the page that says why not."""
        outcome = self.replies.create_for_link(reply, token_hash, only_live_reply=not confirmed)
        if outcome is CreateOutcome.OTHERS_LIVE:
            others = self._others_replies(mention, reply.reply_id)
            if others:
                return self._answered_meanwhile(mention, link, token_hash, others, reply.text)
            # Only failed replies after all (the live-replies item only ever says too much): send it.
            outcome = self.replies.create_for_link(reply, token_hash, only_live_reply=False)
        if outcome is CreateOutcome.PRIVATE_TAKEN:  # refused here, before it reaches the platform
            problem = "This was answered privately already: the platform takes one private reply to it."
            others = self._others_replies(mention, reply.reply_id)
            return replace(
                self._form(mention, link, token_hash, others, error=problem, draft=reply.text), status=409
            )
        if outcome is CreateOutcome.TAKEN:  # the same link, posted twice at the same moment
            return self._again(token, link, self.replies.get(mention.id, reply.reply_id))
        return None

    def _private_problem(
        self, mention: Mention, private: bool, public_line: str, now: datetime
    ) -> str | None:
        """What is wrong with a private answer's choices, or None (also when the answer is public)."""
        if not private:
            return None
        if registry.private_reply(mention, now, self.config()) is None:
            return "This message cannot be answered privately on its platform."
        if public_line:
            return validate_reply(mention.platform, mention.kind, public_line)
        return None

    def _answered_meanwhile(
        self, mention: Mention, link: ReplyLink, token_hash: str, others: list[Reply], text: str
    ) -> Page:
        names = ", ".join(dict.fromkeys(_agent_label(r) for r in others))
        problem = f"{names} answered meanwhile. Read it first; to send yours too, tick the box and send."
        return replace(self._form(mention, link, token_hash, others, error=problem, draft=text), status=409)

    def _again(self, token: str, link: ReplyLink, own: Reply | None) -> Page:
        """A used link posted again: nothing more is sent. A reply that never left (the first POST died
        between storing and queueing it: still pending, never attempted, long after the sender would have
        picked it up) is queued again; the sender posts a reply once however often it is queued."""
        if own is not None:
            if link.used_at is None:
                self.tokens.mark_used(token, own.reply_id, self.now())
            stuck = self.now() - own.created_at > REQUEUE_AFTER
            if own.state is ReplyState.PENDING and own.attempts == 0 and stuck:
                logger.warning("queueing a reply again that never left", reply_id=own.reply_id)
                self.queue(own)
        return self._answered(own, link)

    def _retry(self, own: Reply, mention: Mention, token_hash: str, form: Mapping[str, str]) -> Page:
        """Try again (the same text) or Edit and send (a new one) for a failed reply: it goes back to pending
        and on the one reply queue, once however often the button is pressed."""
        action = form.get("action")
        if action not in (TRY_AGAIN, EDIT_AND_SEND):
            return self._not_posted(own, mention, token_hash)
        text = own.text if action == TRY_AGAIN else normalized_reply(form.get("text", ""))
        problem = validate_reply(mention.platform, mention.kind, text)
        if problem is not None:
            edited = own.model_copy(update={"text": text})
            return replace(self._not_posted(edited, mention, token_hash, error=problem), status=422)
        if self.replies.retry_failed(own, text):
            retried = own.model_copy(update={"text": text, "state": ReplyState.PENDING, "attempts": 0})
            self.queue(retried)
            logger.info("failed reply queued again", reply_id=own.reply_id, edited=action == EDIT_AND_SEND)
        config = self.config()
        return sent_page(
            text,
            platform=mention.platform,
            url=mention.url,
            label=registry.label(mention.platform, config),
        )

    # ---- pages
    def _not_posted(self, own: Reply, mention: Mention, token_hash: str, error: str | None = None) -> Page:
        nonce = form_nonce(self.nonce_key(), token_hash, int(self.now().timestamp()))
        return not_posted_page(
            own.text,
            plain_reason(own),
            nonce=nonce,
            platform=mention.platform,
            label=registry.label(mention.platform, self.config()),
            url=mention.url,
            customer=PreviousReply(by=_author(mention), text=mention.text, at=mention.created_at),
            error=error,
        )

    def _answered(self, own: Reply | None, link: ReplyLink, mention: Mention | None = None) -> Page:
        mention = mention or (own.target_mention if own is not None else None)
        place: dict[str, Any] = {}
        if mention is not None:
            who = _author(mention)
            place = {
                "customer": PreviousReply(by=who, text=mention.text, at=mention.created_at),
                "platform": mention.platform,
                "url": mention.url,
            }
        if own is None:
            note = "This link was used already."
            return answered_page("", link.agent_email, link.used_at, note=note, **place)
        notes = {
            ReplyState.PENDING: "It is on its way to the platform.",
            ReplyState.SENDING: "It is on its way to the platform.",
            ReplyState.SENT: None,
            ReplyState.FAILED: (
                f"It could not be posted: {own.failure_reason or own.failure_code}. "
                "Please answer on the platform directly."
            ),
        }
        # "Already answered" only once it is posted; a reply on its way says so.
        heading = "Already answered" if own.state is ReplyState.SENT else "Reply on its way"
        return answered_page(
            own.text,
            _agent_label(own),
            own.sent_at or own.created_at,
            note=notes[own.state],
            heading=heading,
            **place,
        )

    def _form(
        self,
        mention: Mention,
        link: ReplyLink,
        token_hash: str,
        others: list[Reply],
        *,
        error: str | None = None,
        draft: str = "",
    ) -> Page:
        config = self.config()
        view = ReplyView(
            platform=mention.platform,
            kind=mention.kind,
            text=mention.text,
            created_at=mention.created_at,
            author_handle=mention.author.handle,
            author_name=mention.author.name,
            url=mention.url,
            conversation=self._conversation(mention),
            other_agents=self._other_agents(mention, link),
            previous_replies=[
                PreviousReply(by=_agent_label(r), text=r.text, at=r.sent_at or r.created_at) for r in others
            ],
            answer_there=registry.answered_elsewhere(mention.platform, mention.kind, config),
            label=registry.label(mention.platform, config),
            can_say_on_it=mention.status in (MentionStatus.ASSIGNED, MentionStatus.WAITING),
            on_it=self._on_it(mention, link),
            can_ask_privately=can_ask_privately(mention, self.now()),
            private_reply=registry.private_reply(mention, self.now(), config),
        )
        nonce = form_nonce(self.nonce_key(), token_hash, int(self.now().timestamp()))
        return reply_form_page(view, nonce=nonce, error=error, draft=draft)

    def _others_replies(self, mention: Mention, reply_id: str | None) -> list[Reply]:
        return [
            reply
            for reply in self.replies.for_mention(mention.id)
            if reply.reply_id != reply_id and reply.state in LIVE_STATES
        ]

    def _on_it(self, mention: Mention, link: ReplyLink) -> str | None:
        """Who said "I'm on it", as the page names them."""
        if mention.status is not MentionStatus.OPENED or not mention.opened_by:
            return None
        if mention.opened_by.lower() == link.agent_email.lower():
            return "You"
        record = self.agents.get(mention.opened_by)
        return record.agent.name if record else mention.opened_by

    def _other_agents(self, mention: Mention, link: ReplyLink) -> list[str]:
        labels = []
        for email in mention.assigned_to:
            if email.lower() == link.agent_email.lower():
                continue
            record = self.agents.get(email)
            labels.append(record.agent.name if record else email)
        return labels

    def _conversation(self, mention: Mention) -> list[tuple[str, str, bool]]:
        """The conversation up to this mention (ours included), oldest first, the last MAX_CONVERSATION."""
        if not mention.conversation_id:
            return []
        earlier = [
            m
            for m in self.mentions.conversation(mention.conversation_id, limit=MAX_CONVERSATION_READ)
            if m.id != mention.id and m.created_at <= mention.created_at
        ][-MAX_CONVERSATION:]
        return [(_author(m), m.text, m.is_ours) for m in earlier]


def plain_reason(reply: Reply) -> str:
    """Why, and what helps: a refusal that needs the configuration fixed (a dead token, a missing permission)
    says so, since Try again only works after a lead fixed it."""
    reason = reply.failure_reason or reply.failure_code or "the platform refused it"
    if reply.alert_leads:
        return f"{reason}. Our access needs fixing (the leads were told); Try again once it is fixed."
    return reason


def _author(mention: Mention) -> str:
    author = mention.author
    if mention.is_ours:
        # Our own posts by the brand's handle or name, when the platform or the configuration gives one.
        return f"Us ({author.label})" if author.handle or author.name else "Us"
    return author.label if author.handle or author.name else "someone"


_VIA = {"sms": " (by text)", "email": " (by email)"}


def _agent_label(reply: Reply) -> str:
    """Who answered, and how when it was not this page: "Ann Lee (by text)"."""
    return (reply.agent_name or reply.agent_email) + _VIA.get(reply.via, "")


def _answer_kind(mention: Mention, private: bool) -> MentionKind:
    """What the answer is held to: a private answer is a direct message, with its length limit."""
    return MentionKind.DIRECT_MESSAGE if private else mention.kind


def _gone_notice(mention: Mention) -> str | None:
    if mention.status is MentionStatus.DELETED:
        return "The customer deleted this message: there is nothing to reply to any more."
    if mention.status is MentionStatus.REMOVED:
        return "The platform removed this message: there is nothing to reply to any more."
    return None


# ---------------------------------------------------------------- wiring
def sqs_queue(sqs: Any, queue_url: str) -> Callable[[Reply], None]:
    def send(reply: Reply) -> None:
        body = json.dumps({"mention_id": reply.mention_id, "reply_id": reply.reply_id})
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    return send


class ReplyPageSettings(Table, FormKey, ReplyQueue, Deadlines, PlatformSections):
    """What the reply page reads: its form key, the queue of replies, the escalation deadlines, and the
    sections that name platforms (feeds answered there, sources' display names)."""


@one_per_process
def get_reply_flow() -> ReplyFlow:
    settings = load(ReplyPageSettings)
    shared_table = table(settings.table_name)
    return ReplyFlow(
        tokens=TokenStore(shared_table),
        mentions=MentionStore(shared_table),
        replies=ReplyStore(shared_table),
        agents=AgentStore(shared_table),
        queue=sqs_queue(aws_client("sqs"), settings.reply_queue_url),
        nonce_key=get_nonce_key,
        config=get_platform_config,
        request_survey=SurveyStore(shared_table).request,
    )
