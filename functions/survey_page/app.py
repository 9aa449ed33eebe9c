"""The customer's survey page: GET /s/<token> asks "How did we do?" (and records nothing), POST /s/<token>
records a rating or a comment. What happens is decided in socialcare.measures.survey_page; this module
speaks HTTP."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.errors import StorageUnavailable
from socialcare.measures.survey_page import get_survey_flow
from socialcare.observability import logger
from socialcare.replies.page_view import Page
from socialcare.settings import FormKey, Table, load


class SurveyPageSettings(Table, FormKey):
    """The surveys' table and the forms' key."""


load(SurveyPageSettings)  # at import: a missing variable stops the cold start, naming it

app = APIGatewayHttpResolver()


def as_response(page: Page) -> Response:
    headers = {name: value for name, value in page.headers.items() if name.lower() != "content-type"}
    return Response(
        status_code=page.status,
        content_type=page.headers.get("Content-Type", "text/html; charset=utf-8"),
        body=page.body,
        headers=headers,
    )


@app.get("/s/<token>")
def show(token: str) -> Response[str]:
    return as_response(get_survey_flow().show(token))


@app.post("/s/<token>")
def answer(token: str) -> Response[str]:
    try:
        body = (app.current_event.decoded_body or "").encode("utf-8")
    except (UnicodeDecodeError, ValueError):
        body = b"\xff"  # not a form: refused as such below
    return as_response(get_survey_flow().submit(token, app.current_event.headers, body))


@app.exception_handler(StorageUnavailable)
def storage_unavailable(error: StorageUnavailable) -> Response:
    logger.exception("storage unavailable")
    return Response(status_code=503, content_type="text/plain", body="Please try again in a moment.")


# The page holds the customer's words and the form nonce: keep the response out of traces.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


socialcare.cold_start.ready()  # the cold start is over
