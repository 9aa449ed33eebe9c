"""Text back's pure parts: reading a code off an answer, AWS's inbound payload, the alert's code line, the
two-way sender (End User Messaging, which moto lacks: botocore's Stubber), template parameter overrides."""

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from infra.cli.simulate import inbound_sms_payload
from socialcare.data.sms_codes import CODE_ALPHABET, new_code
from socialcare.dispatch.notices import sms_segments, sms_text
from socialcare.dispatch.sms import SnsSmsSender, TwoWaySmsSender, sms_sender
from socialcare.models import Author, Mention, MentionKind
from socialcare.replies.by_text import parse_inbound, split_code
from socialcare.settings import Texting


@pytest.mark.parametrize(
    ("body", "code", "text", "marked"),
    [
        ("A7 On it!", "A7", "On it!", False),
        ("#A7 On it!", "A7", "On it!", True),
        ("a7: On it!", "A7", "On it!", True),
        ("A7 - On it!", "A7", "On it!", True),
        ("A7 \u2013 On it!", "A7", "On it!", True),  # an en dash, as phones turn "-" into
        ("K3\nTwo lines\nof answer", "K3", "Two lines\nof answer", False),
        ("On it!", "ON", "it!", False),  # a candidate only: no digit, unmarked (resolve decides)
        ("We'll refund you", None, "We'll refund you", False),
        ("Thanks for waiting", None, "Thanks for waiting", False),
    ],
)
def test_split_code_reads_every_spelling(body: str, code: str | None, text: str, marked: bool) -> None:
    parsed = split_code(body)
    assert (parsed.code, parsed.text, parsed.marked) == (code, text, marked)


def test_codes_use_no_look_alike_characters() -> None:
    codes = {new_code(2) for _ in range(500)}
    assert all(len(code) == 2 and set(code) <= set(CODE_ALPHABET) for code in codes)
    assert not set("01258BGILOQSUVZ") & set(CODE_ALPHABET)
    assert all(code[0].isalpha() for code in codes)


def test_inbound_payload_is_awss_and_parses_back() -> None:
    payload = inbound_sms_payload("+14155550101", "+18005550199", "A7 On it!", "prev-id")
    assert set(payload) == {
        "originationNumber",
        "destinationNumber",
        "messageKeyword",
        "messageBody",
        "inboundMessageId",
        "previousPublishedMessageId",
    }
    import json

    inbound = parse_inbound(json.dumps(payload))
    assert (inbound.originationNumber, inbound.messageBody) == ("+14155550101", "A7 On it!")
    with pytest.raises(ValueError):
        parse_inbound('{"messageBody": "no sender"}')


def _mention(text: str) -> Mention:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return Mention(
        platform="x",
        external_id="1",
        kind=MentionKind.POST,
        author=Author(id="1", handle="jane"),
        text=text,
        created_at=now,
        received_at=now,
        thread_key="1",
    )


def test_an_alert_names_its_code_after_the_whole_link_within_two_segments() -> None:
    link = "https://abc123.execute-api.us-east-1.amazonaws.com/r/" + "t" * 43
    message = sms_text(_mention("my parcel never came " * 30), link, "A7")
    assert message.startswith(f"{link}\nReply A7 and your answer\n[X] @jane: ")
    assert sms_segments(message) <= 2
    assert "Reply" not in sms_text(_mention("short"), link)  # text back off: the alert as before


def test_the_two_way_sender_sends_from_the_number_with_end_user_messaging() -> None:
    client = boto3.client("pinpoint-sms-voice-v2", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response(
            "send_text_message",
            {"MessageId": "msg-1"},
            {
                "DestinationPhoneNumber": "+14155550101",
                "OriginationIdentity": "+18005550199",
                "MessageBody": "Which one?",
                "MessageType": "TRANSACTIONAL",
            },
        )
        assert TwoWaySmsSender(client, "+18005550199").send("+14155550101", "Which one?") == "msg-1"
        stub.assert_no_pending_responses()


def test_settings_choose_the_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    base = {"SMS_ORIGINATION_NUMBER": ""}
    sns = boto3.client("sns", region_name="us-east-1")
    assert isinstance(sms_sender(Texting.model_validate(base), sns), SnsSmsSender)
    two_way = Texting.model_validate({**base, "SMS_ORIGINATION_NUMBER": "+18005550199"})
    assert isinstance(sms_sender(two_way, sns), TwoWaySmsSender)
    local = Texting.model_validate({**base, "SMS_ORIGINATION_NUMBER": "+18005550199", "SMS_VIA_SNS": "true"})
    assert isinstance(sms_sender(local, sns), SnsSmsSender)
    with pytest.raises(ValueError):
        Texting.model_validate({**base, "SMS_ORIGINATION_NUMBER": "0800 555"})


def test_each_adapter_names_its_delete_and_refuses_what_cannot_be_deleted() -> None:
    from socialcare.platforms.meta import webhook as meta
    from socialcare.platforms.meta.config import MetaConfig
    from socialcare.platforms.sources import webhook as standard_webhooks
    from socialcare.platforms.x import webhook as x
    from socialcare.platforms.x.config import XConfig

    x_config = XConfig(api_base="https://api.x.com", bearer_token="bearer")
    assert x.delete_request("190", MentionKind.POST, x_config) == (
        "DELETE",
        "https://api.x.com/2/tweets/190",
        {"Authorization": "Bearer bearer"},
    )
    meta_config = MetaConfig(graph_base="https://graph.facebook.com/v21.0", page_access_token="page")
    assert meta.delete_request("1_2", MentionKind.COMMENT, meta_config) == (
        "DELETE",
        "https://graph.facebook.com/v21.0/1_2",
        {"access_token": "page"},
    )
    for module, config in ((x, x_config), (meta, meta_config)):
        with pytest.raises(ValueError):
            module.delete_request("1", MentionKind.DIRECT_MESSAGE, config)  # type: ignore[attr-defined]
    event = standard_webhooks.delete_event("reply_7", datetime(2026, 12, 1, tzinfo=UTC))
    assert event["type"] == "reply.deleted" and event["data"] == {"id": "reply_7"}


def test_agents_list_shows_who_opted_out_of_texts() -> None:
    from infra.cli.agents import describe
    from socialcare.models import Agent

    agent = Agent(name="Ann Lee", email="ann@example.com", phone="+14155550101")
    assert "sms-opted-out" not in describe(agent)
    assert describe(agent.model_copy(update={"sms_opted_out": True})).endswith("[sms-opted-out]")


def test_what_end_user_messaging_and_ses_refuse_for_good_is_not_retried() -> None:
    from botocore.exceptions import ClientError

    from socialcare.dispatch.notifier import never_succeeds

    def error(code: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "no"}}, "SendTextMessage")

    assert never_succeeds(error("ConflictException"))  # the destination opted out
    assert never_succeeds(error("ValidationException"))
    assert never_succeeds(error("MessageRejected"))
    assert not never_succeeds(error("ThrottlingException"))
