"""`make run` remembers: a stack stopped cleanly or killed outright starts again with every acknowledged
delivery, every agent, every reply link and every pending reply, and a pending reply is posted once."""

import signal
import threading
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from socialcare.platforms.x.payloads import tweet
from tests.conftest import tweet_delivery, x_signature
from tests.integration.test_reply_over_http import (
    AGENT_PHONE,
    calls_answering,
    eventually,
    open_and_answer,
    simulate_mention,
    texted_link,
)
from tests.running_stack import RunningStack, running_stack

pytestmark = pytest.mark.integration


def leave_a_reply_pending(stack: RunningStack) -> tuple[str, str]:
    """A mention answered on its page while X refuses every post: the reply waits in the queue."""
    tweet_id = simulate_mention(stack, "@brand where is my order?")
    link = texted_link(stack, "where is my order?")
    failing = {"count": 1000, "status": 503, "body": {"title": "Service Unavailable"}}
    assert requests.post(f"{stack.simulator_url}/_simulator/fail", json=failing, timeout=5).ok
    sent = open_and_answer(link, "On its way, Alice!")
    assert sent.status_code == 200 and "Reply sent" in sent.text
    eventually(lambda: calls_answering(stack, tweet_id) or None, "a first refused attempt")
    return tweet_id, link


def cancel_a_transaction(stack: RunningStack) -> None:
    """What two taps on one form do: a transaction whose condition fails, so moto rolls it back."""
    dynamodb = stack.client("dynamodb")
    table = dynamodb.list_tables()["TableNames"][0]
    check = {"TableName": table, "Key": {"pk": {"S": "nothing"}, "sk": {"S": "here"}}}
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[{"ConditionCheck": {**check, "ConditionExpression": "attribute_exists(pk)"}}]
        )


def mention_ids(stack: RunningStack) -> set[str]:
    return {m["id"] for m in stack.cli_json("mentions", "list", "--json", "--limit", "1000")}


def check_after_restart(
    stack: RunningStack, tweet_id: str, link: str, delivered: set[str], sync_point: bool = True
) -> None:
    assert [a["email"] for a in stack.cli_json("agents", "list", "--json")] == ["olga@example.com"]
    assert delivered <= mention_ids(stack)
    assert any("where is my order?" in m["body"] for m in stack.cli_json("local", "outbox", "--json"))
    # The pending reply is posted, once, now that X answers; its link shows it, not a new form.
    (post,) = eventually(lambda: calls_answering(stack, tweet_id) or None, "the pending reply posted")
    assert post["body"]["text"] == "On its way, Alice!"
    answered = eventually(
        lambda: next(iter(stack.cli_json("mentions", "list", "--json", "--status", "answered")), None),
        "the mention answered",
    )
    assert answered["external_id"] == tweet_id
    assert requests.get(link, timeout=10).status_code == 200
    if sync_point:  # a later mention is texted: the dispatcher and the sender have moved past the old work
        cancel_a_transaction(stack)  # rolled back in place: the stream poller keeps reading the same table
        simulate_mention(stack, "@brand one more thing")
        texted_link(stack, "one more thing")
    assert len(calls_answering(stack, tweet_id)) == 1


def test_a_clean_stop_keeps_everything(tmp_path: Path) -> None:
    state = {"LOCAL_STATE_DIR": str(tmp_path / "state")}
    with running_stack(state, log_path=str(tmp_path / "first.log")) as stack:
        stack.add_agent_on_shift("Olga", "olga@example.com", AGENT_PHONE)
        tweet_id, link = leave_a_reply_pending(stack)
        delivered = mention_ids(stack)
        ports = (stack.moto_port, stack.port, stack.simulator_port)
    assert stack.process.returncode == 0, "SIGTERM stops the stack cleanly"
    with running_stack(state, log_path=str(tmp_path / "second.log"), ports=ports) as again:
        check_after_restart(again, tweet_id, link, delivered)
        refused = again.cli("local", "reset")
        assert refused.returncode != 0 and "stop it first" in refused.stderr
    assert "1 agents, 1 mentions, 1 replies" in (tmp_path / "second.log").read_text()
    forgotten = again.cli("local", "reset")
    assert forgotten.returncode == 0 and "Forgot the state" in forgotten.stdout
    assert not (tmp_path / "state").exists()


def test_kill_9_while_deliveries_arrive_loses_nothing_acknowledged(tmp_path: Path) -> None:
    state = {"LOCAL_STATE_DIR": str(tmp_path / "state")}
    acknowledged: set[str] = set()
    lock = threading.Lock()
    with running_stack(state, log_path=str(tmp_path / "first.log"), stop_signal=signal.SIGKILL) as stack:
        stack.add_agent_on_shift("Olga", "olga@example.com", AGENT_PHONE)
        tweet_id, link = leave_a_reply_pending(stack)
        acknowledged |= mention_ids(stack)
        ports = (stack.moto_port, stack.port, stack.simulator_port)
        enough = threading.Event()

        def send(first: int) -> None:
            session = requests.Session()
            for index in range(first, 200, 4):
                body = tweet_delivery(tweet(tweet_id=str(5 * 10**17 + index), text=f"@brand load {index}"))
                headers = {
                    "content-type": "application/json",
                    "x-twitter-webhooks-signature": x_signature(body),
                }
                try:
                    answer = session.post(
                        f"{stack.api_url}/webhooks/x", data=body, headers=headers, timeout=10
                    )
                except requests.RequestException:
                    return  # killed mid-request: not acknowledged
                if answer.status_code == 200:
                    with lock:
                        acknowledged.add(f"x-{5 * 10**17 + index}")
                        if len(acknowledged) >= 100:
                            enough.set()

        senders = [threading.Thread(target=send, args=(first,)) for first in range(4)]
        for sender in senders:
            sender.start()
        assert enough.wait(120), "100 deliveries acknowledged"
        stack.process.send_signal(signal.SIGKILL)  # mid-stream: senders are still sending
        for sender in senders:
            sender.join()
    with running_stack(state, log_path=str(tmp_path / "second.log"), ports=ports) as again:
        # No later mention as a sync point: the backlog of 100 and more would be texted first. The reply's
        # message was deleted once answered, so nothing can post it again.
        check_after_restart(again, tweet_id, link, acknowledged, sync_point=False)
