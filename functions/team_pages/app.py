"""The team pages: sign in by email link, the open work and "I'll take it", my settings, the leads' roster,
the report, and the public /people page. What happens is decided in socialcare.people.team_flow; this
module only
speaks HTTP."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.errors import StorageUnavailable
from socialcare.observability import logger
from socialcare.people.team_flow import Answer, Request, TeamSettings, get_team_flow
from socialcare.people.team_view import message_page
from socialcare.settings import load
from socialcare.web import Response, Router

load(TeamSettings)  # at import: a missing variable stops the cold start, naming it

app = Router()


def request() -> Request:
    event = app.current_event
    try:
        body = (event.decoded_body or "").encode("utf-8")
    except (UnicodeDecodeError, ValueError):
        body = b"\xff"  # not a form: the flow refuses it
    return Request(
        headers=dict(event.headers),
        cookies=list(event.cookies),
        query=dict(event.query_string_parameters),
        body=body,
        source_ip=event.source_ip,
        domain=event.domain_name,
    )


def as_response(answer: Answer) -> Response:
    page = answer.page
    headers = {name: value for name, value in page.headers.items() if name.lower() != "content-type"}
    return Response(
        status_code=page.status,
        content_type=page.headers.get("Content-Type", "text/html; charset=utf-8"),
        body=page.body,
        headers=headers,
        # Set-Cookie values as socialcare.people.team_auth builds them (the __Host- prefix is its rule).
        cookies=list(answer.cookies),
    )


@app.get("/team/sign-in")
def sign_in_form() -> Response:
    return as_response(get_team_flow().sign_in_form(request()))


@app.post("/team/sign-in")
def request_link() -> Response:
    return as_response(get_team_flow().request_link(request()))


@app.get("/team/sign-in/<token>")
def show_link(token: str) -> Response:
    return as_response(get_team_flow().show_link(request(), token))


@app.post("/team/sign-in/<token>")
def redeem_link(token: str) -> Response:
    return as_response(get_team_flow().redeem_link(request(), token))


@app.post("/team/sign-out")
def sign_out() -> Response:
    return as_response(get_team_flow().sign_out(request()))


@app.get("/team")
def open_work() -> Response:
    return as_response(get_team_flow().open_work(request()))


@app.post("/team/take/<mention_id>")
def take(mention_id: str) -> Response:
    return as_response(get_team_flow().take(request(), mention_id))


@app.get("/team/roster")
def roster() -> Response:
    return as_response(get_team_flow().roster(request()))


@app.get("/team/me")
def me() -> Response:
    return as_response(get_team_flow().me(request()))


@app.post("/team/me")
def update_me() -> Response:
    return as_response(get_team_flow().update_me(request()))


@app.get("/team/report")
def report() -> Response:
    return as_response(get_team_flow().report(request()))


@app.get("/people")
def people() -> Response:
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
