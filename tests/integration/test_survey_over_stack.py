"""The satisfaction survey's done-when through the system as `SOCIALCARE_PARAMETERS="SurveyDelayMinutes=0"
make run` serves it: an X DM answered from the reply page over HTTP, the per-minute sweep run through
`/_local/schedules`, the survey DM at the platform simulator, the survey page over HTTP (a scanner's GET
changes nothing, a cross-site post is a 403, a same-origin 5 is recorded), and `socialcare report --json`."""

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.test_reply_over_http import eventually, open_and_answer, texted_link
from tests.running_stack import RunningStack, running_stack

pytestmark = pytest.mark.integration

AGENT_PHONE = "+14155550177"  # the phone texted_link looks for
NONCE = re.compile(r'name="nonce" value="([^"]+)"')
SURVEY_LINK = re.compile(r"(http://\S+/s/[A-Za-z0-9_-]+)")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    log = Path(tmp_path_factory.mktemp("survey-stack")) / "stack.log"
    with running_stack({"SOCIALCARE_PARAMETERS": "SurveyDelayMinutes=0"}, log_path=str(log)) as running:
        running.add_agent_on_shift("Sam Survey", "sam@example.com", AGENT_PHONE)
        running.extra_env = {}  # the CLI asks the stack for its parameters, as in another terminal
        yield running


def survey_items(stack: RunningStack) -> list[dict[str, Any]]:
    """The stored surveys, read from the stack's moto as DynamoDB would answer."""
    outputs = requests.get(f"{stack.api_url}/_local/outputs", timeout=10).json()["outputs"]
    dynamodb = stack.resource("dynamodb")
    found = dynamodb.Table(outputs["TableName"]).scan()["Items"]
    return [item for item in found if item.get("entity") == "survey"]


def survey_dm(stack: RunningStack, participant: str) -> str | None:
    """Runs the per-minute sweep once; the survey link of the DM it sent the customer, if it did."""
    swept = requests.post(f"{stack.api_url}/_local/schedules/EscalationFunction/EveryMinute", timeout=30)
    assert swept.status_code == 200, swept.text
    for call in stack.simulator_calls():
        if call["method"] == "POST" and call["path"] == f"/2/dm_conversations/with/{participant}/messages":
            found = SURVEY_LINK.search(str(call["body"].get("text", "")))
            if found:
                return found.group(1)
    return None


def report(stack: RunningStack) -> dict[str, Any]:
    figures: dict[str, Any] = stack.cli_json("report", "--json")
    return figures


def test_an_answered_x_dm_gets_a_survey_whose_five_shows_in_the_report(stack: RunningStack) -> None:
    exchange = stack.cli_json(
        "simulate", "x-mention", "--dm", "--from", "@dora", "--text", "my order is stuck", "--json"
    )
    assert exchange["answer"]["status"] == 200
    message = exchange["sent"]["body"]["direct_message_events"][0]
    customer = message["message_create"]["sender_id"]
    answered = open_and_answer(texted_link(stack, "my order is stuck"), "Unstuck it, Dora: it ships today.")
    assert answered.status_code == 200 and "Reply sent" in answered.text

    # The stream schedules the survey once the answer is stored; the sweep asks as soon as it is due.
    link = eventually(lambda: survey_dm(stack, customer), "the survey DM at the simulator", timeout_s=60)
    assert link.startswith(stack.api_url + "/s/")
    (survey,) = survey_items(stack)
    assert (survey["state"], survey["agent"], survey["rating_version"]) == ("sent", "sam@example.com", 0)

    # A link scanner opens the page, twice: nothing is recorded.
    for _ in range(2):
        page = requests.get(link, timeout=10)
        assert page.status_code == 200 and "How did we do?" in page.text
    assert survey_items(stack) == [survey]

    nonce = unescape(NONCE.search(page.text).group(1))  # type: ignore[union-attr]
    refused = requests.post(
        link, data={"nonce": nonce, "rating": "1"}, headers={"Sec-Fetch-Site": "cross-site"}, timeout=10
    )
    assert refused.status_code == 403
    assert survey_items(stack) == [survey]

    chosen = requests.post(
        link, data={"nonce": nonce, "rating": "5"}, headers={"Sec-Fetch-Site": "same-origin"}, timeout=10
    )
    assert chosen.status_code == 200, chosen.text
    (rated,) = survey_items(stack)
    assert (rated["rating"], rated["rating_version"]) == (5, 1)

    def rated_in_report() -> dict[str, Any] | None:
        found = report(stack)
        return found if found["csat"]["responses"] else None

    figures = eventually(rated_in_report, "the rating in the report (the stream counts it)")
    csat = figures["csat"]
    assert (csat["sent"], csat["responses"], csat["score_share"]) == (1, 1, 1.0)
    assert csat["ratings"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}
    assert (figures["mentions"], figures["answered"]) == (1, 1)
