"""`socialcare simulate ...`: play a platform against the local stack of `make run`.

    socialcare simulate x-mention --from @alice --text "@brand my order is late"
    socialcare simulate facebook-comment --from "Alice Example" --text "Where is my parcel?"
    socialcare simulate instagram-comment --from alice --text "Love it, but it broke"
    socialcare simulate source --source reviews --from alice --text "Two stars: slow delivery"
    socialcare simulate calls [--json] [--clear]

Each event is signed the way the platform signs it, with the secrets of the configuration the local stack
verifies against (its secret in moto; SOCIALCARE_CONFIG or infra/dev-config.json when that cannot be read),
and the command prints what it sent and what the stack answered. `calls` shows what the platform simulator
(SIMULATOR_PORT, 4000) received: the replies the reply sender posted."""

import argparse
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from infra.cli.connection import CliError, stack_outputs
from socialcare.signatures import sha256_base64, sha256_hex

# requests, boto3 and the local stack (moto) are imported by the commands that use them, not by --help.
if TYPE_CHECKING:
    import requests

TIMEOUT_S = 30


# ---------------------------------------------------------------- where and with what
def api_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"


def simulator_url(arguments: argparse.Namespace) -> str:
    return arguments.simulator or f"http://127.0.0.1:{os.environ.get('SIMULATOR_PORT', '4000')}"


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


def numeric_id(digits: int = 19) -> str:
    """An id shaped like X's and Meta's numeric ids, different on every run."""
    return str(secrets.randbelow(9 * 10 ** (digits - 1)) + 10 ** (digits - 1))


def stable_id(name: str, digits: int = 10) -> str:
    """The same author always gets the same id, so their mentions join one conversation."""
    return str(
        int(uuid.uuid5(uuid.NAMESPACE_URL, name).hex, 16) % (9 * 10 ** (digits - 1)) + 10 ** (digits - 1)
    )


# ---------------------------------------------------------------- events
def x_mention(arguments: argparse.Namespace, config: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
    x = config.get("x") or {}
    handle = arguments.sender.lstrip("@")
    user = {
        "id_str": stable_id(f"x:{handle}"),
        "screen_name": handle,
        "name": arguments.name or handle.title(),
        "followers_count": arguments.followers,
        "verified": False,
    }
    now = datetime.now(UTC)
    if arguments.dm:
        brand = x.get("brand_user_id") or "1000000001"
        event = {
            "type": "message_create",
            "id": arguments.id or numeric_id(),
            "created_timestamp": str(int(now.timestamp() * 1000)),
            "message_create": {
                "sender_id": user["id_str"],
                "target": {"recipient_id": brand},
                "message_data": {"text": arguments.text},
            },
        }
        payload: dict[str, Any] = {
            "for_user_id": brand,
            "direct_message_events": [event],
            "users": {user["id_str"]: user},
        }
    else:
        tweet = {
            "id_str": arguments.id or numeric_id(),
            "text": arguments.text,
            "truncated": False,
            "created_at": now.strftime("%a %b %d %H:%M:%S +0000 %Y"),
            "in_reply_to_status_id_str": arguments.reply_to,
            "user": user,
        }
        payload = {"for_user_id": x.get("brand_user_id") or "1000000001", "tweet_create_events": [tweet]}
    body = json.dumps(payload, ensure_ascii=False).encode()
    secret = x.get("consumer_secret") or ""
    if not secret:
        raise CliError("x.consumer_secret is empty in the configuration: X deliveries cannot be signed")
    headers = {
        "Content-Type": "application/json",
        "x-twitter-webhooks-signature": sha256_base64(secret, body),
    }
    if x.get("oauth2_client_secret"):
        headers["x-twitter-webhooks-signature-oauth2"] = sha256_base64(x["oauth2_client_secret"], body)
    return "/webhooks/x", body, headers


def _meta(config: dict[str, Any], payload: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
    secret = (config.get("meta") or {}).get("app_secret") or ""
    if not secret:
        raise CliError("meta.app_secret is empty in the configuration: Meta deliveries cannot be signed")
    # Meta escapes non-ASCII characters in its JSON; the signature is over exactly these bytes.
    body = json.dumps(payload).encode()
    return (
        "/webhooks/meta",
        body,
        {"Content-Type": "application/json", "x-hub-signature-256": sha256_hex(secret, body)},
    )


def facebook_comment(
    arguments: argparse.Namespace, config: dict[str, Any]
) -> tuple[str, bytes, dict[str, str]]:
    meta = config.get("meta") or {}
    page_id = meta.get("page_id") or "2000000001"
    post_id = arguments.post or f"{page_id}_{numeric_id(15)}"
    comment_id = arguments.id or f"{post_id.split('_')[-1]}_{numeric_id(15)}"
    now = int(time.time())
    value = {
        "item": "comment",
        "verb": "add",
        "comment_id": comment_id,
        "post_id": post_id,
        "parent_id": arguments.reply_to or post_id,
        "from": {"id": stable_id(f"facebook:{arguments.sender}", 16), "name": arguments.sender},
        "message": arguments.text,
        "created_time": now,
    }
    entry = {"id": page_id, "time": now, "changes": [{"field": "feed", "value": value}]}
    return _meta(config, {"object": "page", "entry": [entry]})


def instagram_comment(
    arguments: argparse.Namespace, config: dict[str, Any]
) -> tuple[str, bytes, dict[str, str]]:
    meta = config.get("meta") or {}
    username = arguments.sender.lstrip("@")
    value: dict[str, Any] = {
        "id": arguments.id or numeric_id(17),
        "text": arguments.text,
        "from": {"id": stable_id(f"instagram:{username}", 17), "username": username},
        "media": {"id": arguments.media or numeric_id(17), "media_product_type": "FEED"},
    }
    if arguments.reply_to:
        value["parent_id"] = arguments.reply_to
    now = int(time.time())
    entry = {
        "id": meta.get("ig_user_id") or "3000000001",
        "time": now,
        "changes": [{"field": "comments", "value": value}],
    }
    return _meta(config, {"object": "instagram", "entry": [entry]})


def source_mention(
    arguments: argparse.Namespace, config: dict[str, Any]
) -> tuple[str, bytes, dict[str, str]]:
    from socialcare.platforms.standard_webhooks import sign_headers

    sources = config.get("sources") or {}
    source = sources.get(arguments.source)
    if not source:
        known = ", ".join(sorted(sources)) or "none"
        raise CliError(f"no source {arguments.source!r} in the configuration (configured: {known})")
    item_id = arguments.id or numeric_id(8)
    now = datetime.now(UTC)
    data: dict[str, Any] = {
        "id": item_id,
        "text": arguments.text,
        "author": {"handle": arguments.sender.lstrip("@"), "name": arguments.name},
        "url": arguments.link or f"https://{arguments.source}.example/{item_id}",
        "created_at": now.isoformat(),
    }
    if arguments.reply_to:
        data["in_reply_to"] = arguments.reply_to
    payload = {"type": "mention.created", "timestamp": now.isoformat(), "data": data}
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {
        "Content-Type": "application/json",
        **sign_headers(source["secret"], body, f"msg_{uuid.uuid4().hex}", int(now.timestamp())),
    }
    return f"/webhooks/sources/{arguments.source}", body, headers


# ---------------------------------------------------------------- sending
Builder = Callable[[argparse.Namespace, dict[str, Any]], tuple[str, bytes, dict[str, str]]]


def send(arguments: argparse.Namespace, build: Builder) -> None:
    if arguments.stack:
        raise CliError(
            "simulate talks to the local stack only: it would make real agents answer fake customers"
        )
    import requests

    path, body, headers = build(arguments, platform_config(arguments))
    url = api_url() + path
    try:
        response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT_S)
    except requests.ConnectionError as error:
        raise CliError(f"the local stack is not running at {api_url()}: start it with `make run`") from error
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
    simulate = commands.add_parser(
        "simulate", help="send signed platform events to the local stack; see what the simulator received"
    ).add_subparsers(dest="simulate_command", required=True)

    def event(name: str, help_text: str, build: Builder, sender_help: str) -> argparse.ArgumentParser:
        parser = simulate.add_parser(name, help=help_text)
        parser.add_argument("--from", dest="sender", required=True, help=sender_help)
        parser.add_argument("--text", required=True)
        parser.add_argument("--id", help="the platform's id for it (default: a fresh one)")
        parser.add_argument("--reply-to", help="the id of what it answers")
        parser.add_argument("--json", action="store_true", help="print the exchange as JSON")
        parser.set_defaults(run=lambda arguments: send(arguments, build))
        return parser

    x = event("x-mention", "a post (or --dm) to the brand on X", x_mention, "the author's @handle")
    x.add_argument("--name", help="the author's display name")
    x.add_argument("--followers", type=int, default=10)
    x.add_argument("--dm", action="store_true", help="a direct message instead of a post")
    facebook = event("facebook-comment", "a comment under a Page post", facebook_comment, "the author's name")
    facebook.add_argument("--post", help="the Page post's id (default: a fresh post)")
    instagram = event(
        "instagram-comment", "a comment on the brand's Instagram media", instagram_comment, "the username"
    )
    instagram.add_argument("--media", help="the media id (default: a fresh one)")
    source = event(
        "source", "a mention from a Standard Webhooks source", source_mention, "the author's handle"
    )
    source.add_argument("--source", required=True, help="the source's name in the configuration")
    source.add_argument("--name", help="the author's display name")
    source.add_argument("--link", help="the mention's URL")

    calls = simulate.add_parser("calls", help="what the platform simulator received (the posted replies)")
    calls.add_argument("--json", action="store_true", help="print the recorded calls as JSON")
    calls.add_argument("--clear", action="store_true", help="forget the recorded calls")
    calls.add_argument("--simulator", help="the simulator's URL (default: 127.0.0.1:$SIMULATOR_PORT)")
    calls.set_defaults(run=cmd_calls)
