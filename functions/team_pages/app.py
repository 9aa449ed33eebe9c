"""The team pages: sign in by email link, the open work and "I'll take it", my settings, the leads' roster,
the report, and the public /people page. What happens is decided in socialcare.people.team_flow; this
module only
speaks HTTP."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.shared.cookies import Cookie
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.errors import StorageUnavailable
from socialcare.observability import logger
from socialcare.people.team_flow import Answer, Request, TeamSettings, get_team_flow
from socialcare.people.team_view import message_page
from socialcare.settings import load

load(TeamSettings)  # at import: a missing variable stops the cold start, naming it

app = APIGatewayHttpResolver()


def request() -> Request:
    event = app.current_event
    try:
        body = (event.decoded_body or "").encode("utf-8")
    except (UnicodeDecodeError, ValueError):
        body = b"\xff"  # not a form: the flow refuses it
    context = event.request_context
    return Request(
        headers={name.lower(): value for name, value in (event.headers or {}).items()},
        cookies=list(event.cookies or []),
        query=dict(event.query_string_parameters or {}),
        body=body,
        source_ip=context.http.source_ip or "",
        domain=context.domain_name or "",
    )


def as_response(answer: Answer) -> Response:
    page = answer.page
    headers = {name: value for name, value in page.headers.items() if name.lower() != "content-type"}
    response: Response[str] = Response(
        status_code=page.status,
        content_type=page.headers.get("Content-Type", "text/html; charset=utf-8"),
        body=page.body,
        headers=headers,
        cookies=[RawCookie(value) for value in answer.cookies],
    )
    return response


class RawCookie(Cookie):
    """A Set-Cookie value built by socialcare.people.team_auth (the __Host- prefix and attributes are its
    rules)."""

    def __init__(self, value: str) -> None:
        name, _, rest = value.partition("=")
        super().__init__(name=name, value=rest.split(";")[0])
        self._raw = value

    def __str__(self) -> str:
        return self._raw


@app.get("/team/sign-in")
def sign_in_form() -> Response[str]:
    return as_response(get_team_flow().sign_in_form(request()))


@app.post("/team/sign-in")
def request_link() -> Response[str]:
    return as_response(get_team_flow().request_link(request()))


@app.get("/team/sign-in/<token>")
def show_link(token: str) -> Response[str]:
    return as_response(get_team_flow().show_link(request(), token))


@app.post("/team/sign-in/<token>")
def redeem_link(token: str) -> Response[str]:
    return as_response(get_team_flow().redeem_link(request(), token))


@app.post("/team/sign-out")
def sign_out() -> Response[str]:
    return as_response(get_team_flow().sign_out(request()))


@app.get("/team")
def open_work() -> Response[str]:
    return as_response(get_team_flow().open_work(request()))


@app.post("/team/take/<mention_id>")
def take(mention_id: str) -> Response[str]:
    return as_response(get_team_flow().take(request(), mention_id))


@app.get("/team/roster")
def roster() -> Response[str]:
    return as_response(get_team_flow().roster(request()))


@app.get("/team/me")
def me() -> Response[str]:
    return as_response(get_team_flow().me(request()))


@app.post("/team/me")
def update_me() -> Response[str]:
    return as_response(get_team_flow().update_me(request()))


@app.get("/team/report")
def report() -> Response[str]:
    return as_response(get_team_flow().report(request()))


@app.get("/people")
def people() -> Response[str]:
    return as_response(get_team_flow().people(request()))


@app.exception_handler(StorageUnavailable)
def storage_unavailable(error: StorageUnavailable) -> Response:
    logger.exception("storage unavailable")
    return as_response(Answer(message_page(503, "Try again", "Something is briefly unavailable. Try again.")))


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    logger.exception("team page failed")
    return as_response(Answer(message_page(500, "Something went wrong", "Please try again in a moment.")))


# The pages carry customers' words, session cookies and form nonces: keep responses out of logs and traces.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


socialcare.cold_start.ready()  # the cold start is over
