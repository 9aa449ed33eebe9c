"""Emails agents send back to a notification's reply address: SES's receipt rule stored the raw message in
the inbound bucket and invokes this with the receipt. The rules live in socialcare.email_reply."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.observability import logger, metrics
from socialcare.replies.by_email import EmailReplySettings, get_email_reply
from socialcare.settings import load

load(EmailReplySettings)  # at import: a missing variable stops the cold start, naming it


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results = []
    for record in event.get("Records", []):
        outcome = get_email_reply().handle(record)
        logger.info("emailed answer handled", result=outcome.result, reason=outcome.reason)
        results.append(outcome.result)
    return {"results": results}


socialcare.cold_start.ready()  # the cold start is over
