"""The agent's reply page: GET /r/<token> shows the mention and the form, POST /r/<token> queues the answer.
What happens is decided in socialcare.replies.page_flow; this module only speaks HTTP."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.errors import StorageUnavailable
from socialcare.observability import logger
from socialcare.replies.page_flow import ReplyPageSettings, get_reply_flow
from socialcare.replies.page_view import Page, error_page
from socialcare.settings import load

load(ReplyPageSettings)  # at import: a missing variable stops the cold start, naming it

app = APIGatewayHttpResolver()


def as_response(page: Page) -> Response:
    headers = {name: value for name, value in page.headers.items() if name.lower() != "content-type"}
    return Response(
        status_code=page.status,
        content_type=page.headers.get("Content-Type", "text/html; charset=utf-8"),
        body=page.body,
        headers=headers,
    )


@app.get("/r/<token>")
def show(token: str) -> Response[str]:
    return as_response(get_reply_flow().show(token, app.current_event.headers))


@app.post("/r/<token>")
def send(token: str) -> Response[str]:
    try:
        body = (app.current_event.decoded_body or "").encode("utf-8")
    except (UnicodeDecodeError, ValueError):
        return as_response(error_page(400, "Not a form", "Send the reply from the reply page."))
    return as_response(get_reply_flow().submit(token, app.current_event.headers, body))


@app.exception_handler(StorageUnavailable)
def storage_unavailable(error: StorageUnavailable) -> Response:
    logger.exception("storage unavailable")
    return as_response(error_page(503, "Try again", "Something is briefly unavailable. Send it again."))


@app.exception_handler(Exception)
def unexpected(error: Exception) -> Response:
    logger.exception("reply page failed")
    return as_response(error_page(500, "Something went wrong", "Please try again in a moment."))


# The page holds a customer's words and the form nonce: keep the response out of traces.
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


socialcare.cold_start.ready()  # the cold start is over
