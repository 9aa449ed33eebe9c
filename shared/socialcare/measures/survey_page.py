"""The customer's survey page (GET and POST /s/<token>): "How did we do?", five choices, then an optional
comment. Mobile first, no JavaScript, nothing fetched, a strict Content-Security-Policy.

Opening the page records nothing: link scanners and previews open every link. A choice is a form post,
protected like the reply form (socialcare.replies.page_flow): it must come from our own page
(Sec-Fetch-Site or
Origin) and carry the nonce the page was rendered with. The customer may change their answer for 7 days
after first giving it; the link itself works 14 days (then 410), and an unknown link is a 404. Only the
token's hash is stored, and everything the customer wrote is escaped wherever it is shown."""

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from socialcare.data import table
from socialcare.data.surveys import MAX_COMMENT_CHARS, Survey, SurveyStore
from socialcare.models import utc_now
from socialcare.observability import logger
from socialcare.replies.forms import (
    MAX_FORM_BYTES,
    form_nonce,
    get_nonce_key,
    is_cross_site,
    nonce_rendered_since,
    parse_form,
)
from socialcare.replies.page_view import Page
from socialcare.replies.tokens import hash_token
from socialcare.settings import Table, load
from socialcare.singletons import one_per_process

CHANGE_WINDOW = timedelta(days=7)
CHOICES = ((1, "Very bad"), (2, "Bad"), (3, "OK"), (4, "Good"), (5, "Very good"))

STYLE = (
    "*{box-sizing:border-box}"
    "body{margin:0 auto;max-width:32rem;padding:16px;font:17px/1.45 system-ui,-apple-system,'Segoe UI',"
    "Roboto,sans-serif;color:#1a1a1a;background:#f6f6f4;overflow-wrap:anywhere}"
    "h1{font-size:1.3rem;margin:.3rem 0 1rem}"
    ".choices{display:flex;flex-direction:column;gap:8px;margin:0 0 16px}"
    ".choices button{font:inherit;padding:14px;border:1px solid #888;border-radius:8px;background:#fff;"
    "text-align:left}"
    ".choices button.chosen{background:#1d5fd1;color:#fff;border-color:#1d5fd1;font-weight:600}"
    "textarea{width:100%;min-height:7rem;font:inherit;padding:8px;border:1px solid #888;border-radius:6px}"
    ".send{width:100%;font:inherit;font-weight:600;padding:12px;margin-top:8px;border:0;border-radius:6px;"
    "background:#1d5fd1;color:#fff}.note{color:#555;font-size:.9rem}"
    ".thanks{background:#e6f4ea;border:1px solid #2a7a4a;border-radius:6px;padding:8px 10px}"
)

STYLE_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode() + "'"
HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": (
        f"default-src 'none'; style-src {STYLE_HASH}; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",  # the token in the URL must not leak
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}


def _document(title: str, content: str, status: int = 200) -> Page:
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex,nofollow">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>{content}</main></body></html>"
    )
    return Page(status=status, body=body, headers=HEADERS)


def _message(status: int, title: str, text: str) -> Page:
    return _document(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>", status)


def survey_page(survey: Survey, nonce: str, now: datetime, *, thanks: bool = False, notice: str = "") -> Page:
    """The question; once answered, the choice marked and the comment form."""
    can_change = survey.first_rated_at is None or now <= survey.first_rated_at + CHANGE_WINDOW
    hidden = f'<input type="hidden" name="nonce" value="{escape(nonce)}">'
    parts = ["<h1>How did we do?</h1>"]
    if thanks:
        parts.append('<p class="thanks">Thank you! Your answer is saved.</p>')
    if notice:
        parts.append(f'<p class="note">{escape(notice)}</p>')
    if can_change:
        buttons = "".join(
            f'<button type="submit" name="rating" value="{value}"'
            f"{' class=chosen' if survey.rating == value else ''}>{value} · {label}</button>"
            for value, label in CHOICES
        )
        parts.append(f'<form method="post" class="choices">{hidden}{buttons}</form>')
    else:
        parts.append(f"<p>Your answer: {survey.rating} of 5. It can no longer be changed.</p>")
    if survey.rating is not None:
        parts.append(
            f'<form method="post">{hidden}<label for="comment">Anything you want to add? (optional)</label>'
            f'<textarea id="comment" name="comment" maxlength="{MAX_COMMENT_CHARS}">'
            f"{escape(survey.comment or '')}</textarea>"
            '<button type="submit" class="send">Send comment</button></form>'
        )
        if can_change and survey.first_rated_at is not None:
            until = survey.first_rated_at + CHANGE_WINDOW
            parts.append(f'<p class="note">You can change your answer until {until:%d %b %Y}.</p>')
    return _document("How did we do?", "".join(parts))


@dataclass
class SurveyFlow:
    surveys: SurveyStore
    nonce_key: Callable[[], bytes]
    now: Callable[[], datetime] = utc_now

    def _open(self, token: str, now: datetime) -> Survey | Page:
        survey = self.surveys.get(token)
        if survey is None or survey.state != "sent":
            return _message(404, "Link not found", "Check that the whole link was opened.")
        if now >= survey.valid_until:
            return _message(410, "This survey has closed", "Survey links work for 14 days. Thank you anyway!")
        return survey

    def _nonce(self, token: str, now: datetime) -> str:
        return form_nonce(self.nonce_key(), hash_token(token), int(now.timestamp()))

    def show(self, token: str) -> Page:
        """GET: the page, and nothing recorded."""
        now = self.now()
        opened = self._open(token, now)
        if isinstance(opened, Page):
            return opened
        return survey_page(opened, self._nonce(token, now), now)

    def submit(self, token: str, headers: Mapping[str, str], body: bytes) -> Page:
        """POST: a rating (1 to 5) or a comment, from our own page only."""
        if is_cross_site(headers):
            logger.warning("cross-site survey post refused")
            return _message(403, "Not allowed", "This form can only be sent from its own page.")
        now = self.now()
        opened = self._open(token, now)
        if isinstance(opened, Page):
            return opened
        survey = opened
        form = parse_form(body, headers.get("content-type", "")) if len(body) <= MAX_FORM_BYTES else None
        if form is None:
            return _message(400, "Not a form", "Answer from the survey page.")
        nonce_ok = nonce_rendered_since(
            self.nonce_key(), hash_token(token), form.get("nonce", ""), survey.sent_at, now
        )
        if not nonce_ok:
            return _message(403, "Not allowed", "Open the survey link again and choose once more.")
        if "rating" in form:
            return self._rate(token, survey, form["rating"], now)
        if "comment" in form and survey.rating is not None:
            saved = self.surveys.set_comment(survey, form["comment"], now)
            return self._after(token, now, saved)
        return _message(400, "Nothing chosen", "Choose one of the five answers.")

    def _rate(self, token: str, survey: Survey, value: str, now: datetime) -> Page:
        if value not in {str(choice) for choice, _ in CHOICES}:
            return _message(400, "Nothing chosen", "Choose one of the five answers.")
        if survey.first_rated_at is not None and now > survey.first_rated_at + CHANGE_WINDOW:
            return survey_page(
                survey, self._nonce(token, now), now, notice="Your answer can no longer change."
            )
        if survey.rating == int(value):
            return survey_page(survey, self._nonce(token, now), now, thanks=True)
        saved = self.surveys.rate(survey, int(value), now)
        if saved:
            logger.info("survey answered", survey_id=survey.survey_id, rating=int(value))
        return self._after(token, now, saved)

    def _after(self, token: str, now: datetime, saved: bool) -> Page:
        """The page as it is now; when another tap changed it first, say so instead of thanking."""
        current = self.surveys.get(token)
        if current is None:
            return _message(404, "Link not found", "Check that the whole link was opened.")
        notice = "" if saved else "Your answer changed in another window meanwhile: this is what we have."
        return survey_page(current, self._nonce(token, now), now, thanks=saved, notice=notice)


@one_per_process
def get_survey_flow() -> SurveyFlow:
    return SurveyFlow(SurveyStore(table(load(Table).table_name)), get_nonce_key)
