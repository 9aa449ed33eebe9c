"""The system as `make run` serves it: real HTTP to the gateway, moto behind it, and the CLI reading it."""

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from socialcare.platforms.x.payloads import tweet
from tests.conftest import tweet_delivery, x_signature
from tests.running_stack import RunningStack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    log = Path(tmp_path_factory.mktemp("local-stack")) / "stack.log"
    with running_stack(log_path=str(log)) as running:
        yield running
    last_lines = "".join(log.read_text().splitlines(keepends=True)[-40:])
    stopped_cleanly = running.process.returncode == 0
    assert stopped_cleanly, f"the local stack stops cleanly on SIGTERM; its log ends:\n{last_lines}"


def post_signed(stack: RunningStack, body: bytes) -> requests.Response:
    headers = {"content-type": "application/json", "x-twitter-webhooks-signature": x_signature(body)}
    return requests.post(f"{stack.api_url}/webhooks/x", data=body, headers=headers, timeout=10)


def test_crc_over_http(stack: RunningStack) -> None:
    response = requests.get(f"{stack.api_url}/webhooks/x?crc_token=abc", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"response_token": "sha256=FpF0AT94pPaLQeGpOLr9zODO256VpvxBQXzkcUPqNjw="}


def test_signed_mention_shows_up_once_in_the_cli(stack: RunningStack) -> None:
    body = tweet_delivery(
        tweet(tweet_id="4242", text="@brand the app logs me out — ¿por qué?", screen_name="bob")
    )
    responses: list[requests.Response] = []
    start = threading.Barrier(8)

    def send() -> None:
        start.wait()
        responses.append(post_signed(stack, body))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    responses.append(post_signed(stack, body))  # and once more, later
    assert [r.status_code for r in responses] == [200] * 9
    assert sum(r.json()["stored"] for r in responses) == 1

    listed = [m for m in stack.cli_json("mentions", "list", "--json") if m["external_id"] == "4242"]
    assert len(listed) == 1
    (mention,) = listed
    assert mention["platform"] == "x" and mention["kind"] == "post"
    # The stack's dispatcher may already have handled it: nobody is on shift here, so it waits.
    assert mention["status"] in {"new", "waiting"}
    assert mention["author_handle"] == "bob" and mention["text"] == "@brand the app logs me out — ¿por qué?"
    assert mention["id"] == "x-4242" and mention["received_at"]


def test_forged_delivery_leaves_nothing(stack: RunningStack) -> None:
    body = tweet_delivery(tweet(tweet_id="666"))
    response = requests.post(
        f"{stack.api_url}/webhooks/x",
        data=body,
        headers={
            "content-type": "application/json",
            "x-twitter-webhooks-signature": x_signature(body, "wrong"),
        },
        timeout=5,
    )
    assert response.status_code == 401
    assert not [m for m in stack.cli_json("mentions", "list", "--json") if m["external_id"] == "666"]


def test_the_cli_finds_the_running_stack_without_creating_anything(stack: RunningStack) -> None:
    running = requests.get(f"{stack.api_url}/_local/outputs", timeout=5).json()
    assert running["endpoint_url"] == f"http://127.0.0.1:{stack.moto_port}"
    assert running["outputs"]["TableName"] and running["outputs"]["ReplyQueueUrl"].startswith(
        "http://127.0.0.1"
    )
    rebound = requests.get(
        f"{stack.api_url}/_local/outputs", headers={"host": "rebind.evil.example"}, timeout=5
    )
    assert rebound.status_code == 403


def test_unknown_route_is_404(stack: RunningStack) -> None:
    assert requests.get(f"{stack.api_url}/nowhere", timeout=5).status_code == 404


def test_cli_reports_a_stack_that_is_not_running() -> None:
    from infra.local.system import free_port

    idle = RunningStack(process=None, api_url="", moto_port=free_port(), port=free_port(), extra_env={})  # type: ignore[arg-type]
    completed = idle.cli_process("mentions", "list")
    assert completed.returncode == 1 and "make run" in completed.stderr


def test_stack_outputs_name_the_local_stacks_urls_and_secrets(stack: RunningStack) -> None:
    outputs = stack.cli_json("stack", "outputs", "--json")
    assert outputs["XWebhookUrl"] == f"{stack.api_url}/webhooks/x"
    assert outputs["MetaWebhookUrl"] == f"{stack.api_url}/webhooks/meta"
    for name in ("XConfigSecretId", "MetaConfigSecretId", "SourcesConfigSecretId", "OperationsTopicArn"):
        assert outputs[name].startswith("arn:aws:"), name
    # What the functions do not have locally (the dashboard, the functions' names) is left out, not faked.
    assert "DashboardName" not in outputs
