"""`socialcare simulate ...`: play a platform against the local stack of `make run`.

    socialcare simulate x-mention --from @alice --text "@brand my order is late"
    socialcare simulate facebook-comment --from "Alice Example" --text "Where is my parcel?"
    socialcare simulate instagram-comment --from alice --text "Love it, but it broke"
    socialcare simulate source --source reviews --from alice --text "Two stars: slow delivery"
    socialcare simulate feed-entry --feed blogs --from "Bea Blogger" --text "Brand lost my parcel"
    socialcare simulate bluesky-mention --from carol.bsky.social --text "@brand.bsky.social help"
    socialcare simulate sms-reply --from +14155550101 --text "A7 On it!"
    socialcare simulate email-reply --to r-...@reply.example.com --from ann@example.com --text "On it!" \
        [--quote] [--dkim fail] [--spf fail] [--auto-reply]
    socialcare simulate calls [--json] [--clear]

Each event is signed the way the platform signs it, with the secrets of the configuration the local stack
verifies against (its secret in moto; SOCIALCARE_CONFIG or infra/dev-config.json when that cannot be read),
and the command prints what it sent and what the stack answered. `calls` shows what the platform simulator
(SIMULATOR_PORT, 4000) received: the replies the reply sender posted."""

import argparse
import json
import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from infra.cli.connection import CliError, stack_outputs
from infra.local import OUTPUTS_PATH

# requests, the SDK and the local stack (moto) are imported by the commands that use them, not by --help.
if TYPE_CHECKING:
    import requests

    from socialcare.platforms.local import SignedRequest, SimulatedEvent

TIMEOUT_S = 30


# ---------------------------------------------------------------- where and with what
def api_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"


def simulator_url(arguments: argparse.Namespace) -> str:
    default = f"http://127.0.0.1:{os.environ.get('SIMULATOR_PORT', '4000')}"
    return getattr(arguments, "simulator", None) or default


def platform_config(arguments: argparse.Namespace) -> dict[str, Any]:
    """The configuration the running stack verifies signatures with: its secret, else the file."""
    from botocore.exceptions import BotoCoreError, ClientError

    from infra.cli.operations import read_config_document
    from infra.local.system import load_config

    try:
        # One secret per section of the configuration document (infra.cli.operations).
        return read_config_document(stack_outputs(arguments))
    except (CliError, BotoCoreError, ClientError, KeyError, ValueError):
        return load_config()


# ---------------------------------------------------------------- sending
def send(arguments: argparse.Namespace, event: "SimulatedEvent") -> None:
    if arguments.stack:
        raise CliError(
            "simulate talks to the local stack only: it would make real agents answer fake customers"
        )
    from pydantic import ValidationError

    from socialcare.platform_config import PlatformConfig
    from socialcare.platforms.local import SimulationError

    try:
        config = PlatformConfig.model_validate(platform_config(arguments))
        request = event.build(vars(arguments), config)
    except (SimulationError, ValidationError) as error:
        raise CliError(str(error)) from error
    for given in request.given:  # what the simulator answers our look-ups with, first
        _post(arguments, given, "the simulator refused what the event's look-up is to answer")
    path, body, headers = request.path, request.body, request.headers
    url = (simulator_url(arguments) if request.to_simulator else api_url()) + path
    response = _post(arguments, request)
    if arguments.json:
        print(json.dumps(_exchange(url, body, headers, response), ensure_ascii=False, indent=2))
    else:
        print(f"POST {url}")
        for name, value in headers.items():
            print(f"  {name}: {value}")
        print(f"  {body.decode()}")
        print(f"-> {response.status_code} {response.text}")
    if response.status_code >= 400:
        raise CliError(f"the stack refused the event ({response.status_code})")


def _post(arguments: argparse.Namespace, request: "SignedRequest", refused: str = "") -> "requests.Response":
    import requests

    url = (simulator_url(arguments) if request.to_simulator else api_url()) + request.path
    try:
        response = requests.post(url, data=request.body, headers=request.headers, timeout=TIMEOUT_S)
    except requests.ConnectionError as error:
        raise CliError(f"the local stack is not running at {api_url()}: start it with `make run`") from error
    if refused and response.status_code >= 400:
        raise CliError(f"{refused} ({response.status_code} {response.text[:200]})")
    return response


def _exchange(
    url: str, body: bytes, headers: Mapping[str, str], response: "requests.Response"
) -> dict[str, Any]:
    try:
        answer: Any = response.json()
    except ValueError:
        answer = response.text
    return {
        "sent": {"method": "POST", "url": url, "headers": dict(headers), "body": json.loads(body)},
        "answer": {"status": response.status_code, "body": answer},
    }


def running_stack_description(arguments: argparse.Namespace) -> dict[str, dict[str, str]]:
    """The outputs of the running local stack and the parameters it was started with (its
    SOCIALCARE_PARAMETERS may not be in this terminal's environment)."""
    import requests

    stack_outputs(arguments)  # points the clients at the local stack's moto
    try:
        description: dict[str, dict[str, str]] = requests.get(
            f"{api_url()}{OUTPUTS_PATH}", timeout=TIMEOUT_S
        ).json()
    except (requests.RequestException, ValueError) as error:
        raise CliError(f"the local stack is not running at {api_url()}: start it with `make run`") from error
    return description


def inbound_sms_payload(
    sender: str, destination: str, text: str, previous_message_id: str = ""
) -> dict[str, str]:
    """What AWS End User Messaging SMS publishes for an inbound text (its two-way SMS payload)."""
    first = text.split()[0].upper() if text.split() else ""
    return {
        "originationNumber": sender,
        "destinationNumber": destination,
        # The keyword AWS recognised (its own STOP/HELP and the number's registered ones), else empty.
        "messageKeyword": first if first in ("STOP", "HELP", "START", "UNSTOP") else "",
        "messageBody": text,
        "inboundMessageId": str(uuid.uuid4()),
        "previousPublishedMessageId": previous_message_id,
    }


def cmd_sms_reply(arguments: argparse.Namespace) -> None:
    """Publish an agent's text to InboundSmsTopic exactly as AWS does; the stack's TextReplyFunction,
    subscribed like SNS subscribes it, takes it from there."""
    from socialcare.aws_clients import client as aws_client

    if arguments.stack:
        raise CliError("simulate talks to the local stack only")
    stack = running_stack_description(arguments)
    topic_arn = stack["outputs"].get("InboundSmsTopicArn")
    if not topic_arn:
        raise CliError("the local stack has no InboundSmsTopic: is it running this version of the template?")
    destination = arguments.to or stack["parameters"].get("SmsOriginationNumber")
    if not destination:
        raise CliError(
            "text back is off: start the stack with SOCIALCARE_PARAMETERS=SmsOriginationNumber=+1..."
        )
    payload = inbound_sms_payload(
        arguments.sender, destination, arguments.text, _last_text_id(arguments.sender)
    )
    message_id = aws_client("sns").publish(TopicArn=topic_arn, Message=json.dumps(payload))["MessageId"]
    if arguments.json:
        print(json.dumps({"topic_arn": topic_arn, "message_id": message_id, "message": payload}, indent=2))
    else:
        print(f"published to {topic_arn}: {json.dumps(payload, ensure_ascii=False)}")


def _last_text_id(phone: str) -> str:
    """The id of the last text the local stack sent to this phone (AWS's previousPublishedMessageId)."""
    import requests

    try:
        messages = requests.get(f"{api_url()}/_local/outbox", timeout=TIMEOUT_S).json()["messages"]
    except (requests.RequestException, ValueError, KeyError):
        return ""
    texts = [m for m in messages if m.get("channel") == "sms" and m.get("to") == phone]
    return str(texts[-1]["id"]) if texts else ""


def reply_email(
    to: str, sender: str, text: str, quoted: str | None, *, auto_reply: bool = False
) -> EmailMessage:
    """An agent's answer to a notification email, as a mail client writes it (Gmail's quoting)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Re: your notification"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.example.com>"
    if auto_reply:
        message["Auto-Submitted"] = "auto-replied"
    body = text
    if quoted is not None:
        when = datetime.now(UTC).strftime("%a, %b %d, %Y at %I:%M %p")
        quote = "\n".join(f"> {line}" if line else ">" for line in quoted.splitlines())
        body += f"\n\nOn {when} Social Care <alerts@{to.rpartition('@')[2]}> wrote:\n\n{quote}\n"
    message.set_content(body)
    return message


def ses_receipt_event(
    message_id: str, message: EmailMessage, recipient: str, *, dkim: str = "PASS", spf: str = "PASS"
) -> dict[str, Any]:
    """SES's Lambda action event for a received message (its receipt, with the verdicts)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    dmarc = "PASS" if "PASS" in (dkim, spf) else "FAIL"
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {
                        "timestamp": now,
                        "source": str(message["From"]),
                        "messageId": message_id,
                        "destination": [recipient],
                        "headersTruncated": False,
                        "headers": [{"name": k, "value": str(v)} for k, v in message.items()],
                        "commonHeaders": {
                            "from": [str(message["From"])],
                            "to": [str(message["To"])],
                            "subject": str(message["Subject"]),
                            "messageId": str(message["Message-ID"]),
                        },
                    },
                    "receipt": {
                        "timestamp": now,
                        "processingTimeMillis": 120,
                        "recipients": [recipient],
                        "spamVerdict": {"status": "PASS"},
                        "virusVerdict": {"status": "PASS"},
                        "spfVerdict": {"status": spf},
                        "dkimVerdict": {"status": dkim},
                        "dmarcVerdict": {"status": dmarc},
                        "dmarcPolicy": "none",
                        "action": {
                            "type": "Lambda",
                            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:EmailReply",
                            "invocationType": "Event",
                        },
                    },
                },
            }
        ]
    }


def cmd_email_reply(arguments: argparse.Namespace) -> None:
    """Store the MIME message where SES's S3 action would and run the receipt rule's Lambda action."""
    import requests

    from socialcare.aws_clients import client as aws_client

    if arguments.stack:
        raise CliError("simulate talks to the local stack only")
    bucket = running_stack_description(arguments)["outputs"].get("InboundMailBucketName")
    if not bucket:
        raise CliError(
            "reply by email is off: start the stack with SOCIALCARE_PARAMETERS=ReplyEmailDomain=..."
        )
    quoted = _notification_for(arguments.to) if arguments.quote else None
    message = reply_email(
        arguments.to, arguments.sender, arguments.text, quoted, auto_reply=arguments.auto_reply
    )
    message_id = uuid.uuid4().hex
    aws_client("s3").put_object(Bucket=bucket, Key=f"inbound/{message_id}", Body=message.as_bytes())
    event = ses_receipt_event(
        message_id, message, arguments.to, dkim=arguments.dkim.upper(), spf=arguments.spf.upper()
    )
    try:
        response = requests.post(f"{api_url()}/_local/ses-receipt", json=event, timeout=TIMEOUT_S)
    except requests.ConnectionError as error:
        raise CliError(f"the local stack is not running at {api_url()}: start it with `make run`") from error
    if arguments.json:
        print(
            json.dumps({"message": message.as_string(), "event": event, "answer": response.json()}, indent=2)
        )
    else:
        print(message.as_string())
        print(f"-> {response.status_code} {response.text}")


def _notification_for(address: str) -> str:
    """The notification email that carried this reply address (what the agent's client quotes)."""
    import requests

    messages = requests.get(f"{api_url()}/_local/outbox", timeout=TIMEOUT_S).json()["messages"]
    for message in messages:
        if address.lower() in str(message.get("reply_to") or "").lower():
            return str(message["body"])
    raise CliError(f"no notification email in the outbox was sent with the reply address {address}")


def cmd_calls(arguments: argparse.Namespace) -> None:
    import requests

    base = simulator_url(arguments)
    try:
        if arguments.clear:
            requests.delete(f"{base}/_simulator/calls", timeout=TIMEOUT_S).raise_for_status()
            print("Forgot every recorded call.")
            return
        response = requests.get(f"{base}/_simulator/calls", timeout=TIMEOUT_S)
        response.raise_for_status()
    except requests.ConnectionError as error:
        raise CliError(
            f"the platform simulator is not running at {base}: start the local stack with `make run`"
        ) from error
    calls: list[dict[str, Any]] = response.json()
    if arguments.json:
        print(json.dumps(calls, ensure_ascii=False, indent=2))
        return
    if not calls:
        print("The simulator has received no calls yet.")
        return
    for call in calls:
        when = datetime.fromtimestamp(call["timestamp"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        answered = f" -> {call['status']}" if call.get("status") else ""
        print(f"{when}  {call['method']} {call['path']}{answered}")
        print(f"  {json.dumps(_readable(call['body']), ensure_ascii=False)}")


def _readable(body: Any) -> Any:
    """A recorded body without the credentials a platform call carries."""
    if not isinstance(body, dict):
        return body
    return {k: ("[redacted]" if k in ("access_token", "appsecret_proof") else v) for k, v in body.items()}


# ---------------------------------------------------------------- arguments
def register(commands: Any) -> None:
    # Each platform adapter brings its events (socialcare.platforms.<name>.local); they are read when a
    # simulate command runs, so that building the parser (`--help`) imports none of the platforms' code.
    simulate = commands.add_parser(
        "simulate",
        help="send signed platform events to the local stack; see what the simulator received",
        description="EVENT is one of the platforms' events (`socialcare simulate events` lists them, "
        "`socialcare simulate EVENT --help` shows its options), or `calls`: what the simulator received.",
    )
    simulate.add_argument(
        "event", metavar="EVENT", help="a platform's event, `events`, `calls`, `sms-reply` or `email-reply`"
    )
    simulate.add_argument("options", nargs=argparse.REMAINDER, help="the event's options")
    simulate.set_defaults(run=run_simulate)


def _sms_reply_parser() -> argparse.ArgumentParser:
    sms = argparse.ArgumentParser(
        prog="socialcare simulate sms-reply", description="an agent's text to the two-way number (text back)"
    )
    sms.add_argument("--from", dest="sender", required=True, help="the agent's phone, E.164")
    sms.add_argument("--text", required=True, help='e.g. "A7 On it!", "UNDO A7", "STOP"')
    sms.add_argument("--to", help="the two-way number (default: SmsOriginationNumber)")
    sms.add_argument("--json", action="store_true", help="print what was published as JSON")
    return sms


def _email_reply_parser() -> argparse.ArgumentParser:
    mail = argparse.ArgumentParser(
        prog="socialcare simulate email-reply",
        description="an agent's answer to a notification email, through SES's receipt",
    )
    mail.add_argument("--to", required=True, help="the notification's reply address, r-...@ReplyEmailDomain")
    mail.add_argument("--from", dest="sender", required=True, help="the sender's email address")
    mail.add_argument("--text", required=True, help="the new text above the quote")
    mail.add_argument("--quote", action="store_true", help="quote the notification below it, as Gmail does")
    mail.add_argument("--dkim", choices=["pass", "fail"], default="pass", help="SES's DKIM verdict")
    mail.add_argument("--spf", choices=["pass", "fail"], default="pass", help="SES's SPF verdict")
    mail.add_argument("--auto-reply", action="store_true", help="an out-of-office (Auto-Submitted)")
    mail.add_argument("--json", action="store_true", help="print the message, the event and the answer")
    return mail


def _calls_parser() -> argparse.ArgumentParser:
    calls = argparse.ArgumentParser(prog="socialcare simulate calls")
    calls.add_argument("--json", action="store_true", help="print the recorded calls as JSON")
    calls.add_argument("--clear", action="store_true", help="forget the recorded calls")
    calls.add_argument("--simulator", help="the simulator's URL (default: 127.0.0.1:$SIMULATOR_PORT)")
    return calls


def _event_parser(event: "SimulatedEvent") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"socialcare simulate {event.name}", description=event.help)
    parser.add_argument("--from", dest="sender", required=True, help=event.sender_help)
    parser.add_argument("--text", required=True)
    parser.add_argument("--id", help="the platform's id for it (default: a fresh one)")
    parser.add_argument("--reply-to", help="the id of what it answers")
    parser.add_argument("--json", action="store_true", help="print the exchange as JSON")
    for option in event.options:
        parser.add_argument(*option.flags, **option.settings)
    return parser


def run_simulate(arguments: argparse.Namespace) -> None:
    if arguments.event == "calls":
        cmd_calls(_calls_parser().parse_args(arguments.options, namespace=arguments))
        return
    if arguments.event == "sms-reply":
        cmd_sms_reply(_sms_reply_parser().parse_args(arguments.options, namespace=arguments))
        return
    if arguments.event == "email-reply":
        cmd_email_reply(_email_reply_parser().parse_args(arguments.options, namespace=arguments))
        return
    from socialcare.platforms import registry

    events = {event.name: event for adapter in registry.webhooks() for event in adapter.local().events}
    if arguments.event == "events":
        for event in events.values():
            print(f"{event.name:<20} {event.help}")
        return
    chosen = events.get(arguments.event)
    if chosen is None:
        known = ", ".join([*events, "events", "calls"])
        raise CliError(f"no simulated event {arguments.event!r}: one of {known}")
    send(_event_parser(chosen).parse_args(arguments.options, namespace=arguments), chosen)
