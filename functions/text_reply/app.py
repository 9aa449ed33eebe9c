"""Texts agents send to the two-way number, as AWS End User Messaging SMS publishes them to InboundSmsTopic.
The rules (who may answer, codes, UNDO, STOP) live in socialcare.replies.by_text; this walks the SNS records.

SNS invokes Lambda asynchronously and retries a failed invocation; each text is taken once whatever the
retries (keyed on its inboundMessageId), and a text whose handling failed is released for the retry."""

import socialcare.cold_start  # first: no garbage collection while the modules load

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from socialcare.observability import logger, metrics
from socialcare.replies.by_text import TextBackSettings, get_text_back
from socialcare.settings import load

load(TextBackSettings)  # at import: a missing variable stops the cold start, naming it


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    results = []
    # SNS's records read as they come: Powertools' SNSEvent imported every event source's data class.
    for record in event.get("Records") or []:
        outcome = get_text_back().handle(record["Sns"]["Message"])
        logger.info("inbound text handled", result=outcome.result, mention_id=outcome.mention_id)
        results.append(outcome.result)
    return {"results": results}


socialcare.cold_start.ready()  # the cold start is over
