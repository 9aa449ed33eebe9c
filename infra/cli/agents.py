"""`socialcare agents ...`, `socialcare shifts ...` and `socialcare on-shift`: who may be texted, and when.

Thin: every operation is socialcare.people.agents.AgentService; this module parses arguments and prints."""

import argparse
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from infra.cli.connection import CliError, stack_outputs
from infra.cli.inputs import check_platforms, instant, time_zone

# The SDK and the domain (pydantic) are imported by the commands that use them, not by `socialcare --help`.
if TYPE_CHECKING:
    from socialcare.data.agents import AgentRecord
    from socialcare.models import Agent
    from socialcare.people.agents import AgentService


def agent_service(arguments: argparse.Namespace) -> "AgentService":
    from socialcare.aws_clients import client as aws_client
    from socialcare.data import table
    from socialcare.data.agents import AgentStore
    from socialcare.people.agents import AgentService

    outputs = stack_outputs(arguments)
    return AgentService(
        AgentStore(table(outputs["TableName"])), aws_client("sns"), outputs["NotificationTopicArn"]
    )


def configured_platforms(arguments: argparse.Namespace) -> list[str]:
    """Every platform the running stack's configuration knows: each adapter's (X, Facebook, Instagram,
    Bluesky), and every source and feed it names."""
    from infra.cli.operations import read_config_document
    from socialcare.platform_config import PlatformConfig
    from socialcare.platforms import registry

    document = read_config_document(stack_outputs(arguments))
    return registry.known_platforms(PlatformConfig.model_validate(document))


def names(value: str) -> list[str]:
    """A comma-separated list on the command line: "x,facebook" -> ["x", "facebook"]."""
    return [part.strip() for part in value.split(",") if part.strip()]


def handles(value: str) -> dict[str, str]:
    """The public handles: "x:@ann,instagram:ann,website:https://ann.example" (an empty string: none)."""
    shown: dict[str, str] = {}
    for part in names(value):
        network, separator, handle = part.partition(":")
        if not separator:
            raise CliError(f"--handles: {part!r} is not network:handle (e.g. x:@ann)")
        shown[network.strip().lower()] = handle.strip()
    return shown


def platform_names(arguments: argparse.Namespace) -> list[str]:
    chosen = [name.lower() for name in names(arguments.platforms)]
    check_platforms(chosen, configured_platforms(arguments), "--platforms")
    return chosen


def agent_summary(record: "AgentRecord", now: datetime) -> dict[str, Any]:
    from socialcare.people.shifts import is_on_shift

    return {
        **record.agent.model_dump(mode="json"),
        "agent_id": record.agent_id,
        "subscription_arn": record.subscription_arn,
        "on_shift_now": record.agent.active and is_on_shift(record.agent, now),
    }


def describe(agent: "Agent") -> str:
    shift = agent.shift
    schedule = shift.weekly or "no weekly hours"
    extra = f", {len(shift.overrides)} override(s)" if shift.overrides else ""
    flags = (
        ("lead", agent.lead),
        ("inactive", not agent.active),
        ("sms-opted-out", agent.sms_opted_out),
        ("on /people", agent.directory),
    )
    tags = [tag for tag, on in flags if on]
    if agent.paused_until is not None and agent.paused_until > now():
        tags.append(f"texts paused until {agent.paused_until.isoformat()}")
    scope = ",".join(agent.platforms) or "all platforms"
    return (
        f"{agent.email:<32} {agent.name:<20} {agent.phone:<16} {scope} [{','.join(agent.languages)}] "
        f"{schedule} ({shift.time_zone}){extra}" + (f" [{' '.join(tags)}]" if tags else "")
    )


def now() -> datetime:
    from socialcare.models import utc_now

    return utc_now()


def run(action: Any) -> Any:
    from socialcare.people.agents import AgentError

    try:
        return action()
    except AgentError as error:
        raise CliError(str(error)) from None


# ---------------------------------------------------------------- agents
def cmd_agents_add(arguments: argparse.Namespace) -> None:
    fields: dict[str, Any] = {"name": arguments.name, "email": arguments.email, "phone": arguments.phone}
    fields["lead"] = arguments.lead
    if arguments.platforms is not None:
        fields["platforms"] = platform_names(arguments)
    if arguments.languages is not None:
        fields["languages"] = names(arguments.languages)
    from socialcare.people.agents import build_agent

    agent = run(lambda: build_agent(**fields))  # validated before anything is stored or subscribed
    record = run(lambda: agent_service(arguments).add(agent, now()))
    print(f"Added {record.email} ({record.agent_id}); email notifications subscribed, pending confirmation.")
    if not record.agent.shift.weekly:
        print(f'Set their hours with: socialcare shifts set {record.email} "Mon-Fri 09:00-17:00" --tz ...')


def cmd_agents_list(arguments: argparse.Namespace) -> None:
    from socialcare.people.shifts import is_on_shift

    records = agent_service(arguments).records()
    moment = now()
    if arguments.json:
        print(json.dumps([agent_summary(r, moment) for r in records], ensure_ascii=False, indent=2))
        return
    if not records:
        print("No agents. Add one with: socialcare agents add --name NAME --email EMAIL --phone +1...")
        return
    for record in records:
        marker = "*" if record.agent.active and is_on_shift(record.agent, moment) else " "
        print(f"{marker} {describe(record.agent)}")
    print("(* on shift now)")


def cmd_agents_update(arguments: argparse.Namespace) -> None:
    changes: dict[str, Any] = {}
    for field in ("name", "phone", "lead", "active", "directory", "role"):
        if getattr(arguments, field) is not None:
            changes[field] = getattr(arguments, field)
    if arguments.platforms is not None:
        changes["platforms"] = platform_names(arguments)
    if arguments.languages is not None:
        changes["languages"] = names(arguments.languages)
    if arguments.handles is not None:
        changes["handles"] = handles(arguments.handles)
    if changes.get("role") == "":
        changes["role"] = None
    if not changes:
        raise CliError(
            "nothing to update: give --name, --phone, --platforms, --languages, --lead, --active, "
            "--directory, --handles or --role"
        )
    record = run(lambda: agent_service(arguments).update(arguments.email, changes, now()))
    print(f"Updated {describe(record.agent)}")


def cmd_agents_remove(arguments: argparse.Namespace) -> None:
    record, problem = run(lambda: agent_service(arguments).remove(arguments.email))
    print(f"Removed {record.email}.")
    if problem:
        print(f"note: their email subscription could not be removed ({problem}); a pending one expires.")


# ---------------------------------------------------------------- shifts
def cmd_shifts_set(arguments: argparse.Namespace) -> None:
    record = run(
        lambda: agent_service(arguments).set_schedule(
            arguments.email, arguments.schedule, arguments.tz, now()
        )
    )
    print(
        f"{record.email}: {record.agent.shift.weekly or 'no weekly hours'} ({record.agent.shift.time_zone})"
    )


def cmd_shifts_add(arguments: argparse.Namespace) -> None:
    service = agent_service(arguments)
    record = run(lambda: service.add_window(arguments.email, arguments.starts, arguments.ends, now()))
    zone = record.agent.shift.time_zone
    print(f"{record.email}: on shift from {arguments.starts} to {arguments.ends} ({zone})")


def cmd_shifts_off(arguments: argparse.Namespace) -> None:
    service = agent_service(arguments)
    record = run(lambda: service.add_time_off(arguments.email, arguments.starts, arguments.ends, now()))
    print(f"{record.email}: off from {arguments.starts} to {arguments.ends} ({record.agent.shift.time_zone})")


def cmd_on_shift(arguments: argparse.Namespace) -> None:
    at = arguments.at or now()
    agents = agent_service(arguments).on_shift(at)
    if arguments.json:
        print(json.dumps([agent.model_dump(mode="json") for agent in agents], ensure_ascii=False, indent=2))
        return
    if not agents:
        print(f"Nobody is on shift at {at.isoformat()}.")
        return
    print(f"On shift at {at.isoformat()}:")
    for agent in agents:
        print(f"  {describe(agent)}")


def register(commands: Any) -> None:
    agents = commands.add_parser("agents", help="the people who get texts").add_subparsers(
        dest="agents_command", required=True
    )
    add = agents.add_parser("add", help="add an agent and subscribe their email to notifications")
    add.add_argument("--name", required=True)
    add.add_argument("--email", required=True)
    add.add_argument("--phone", required=True, help="E.164, e.g. +14155550123")
    add.add_argument(
        "--platforms", help="comma-separated (x,facebook,instagram,bluesky,<source>,<feed>); default: all"
    )
    add.add_argument("--languages", help="comma-separated language codes; default: en")
    add.add_argument("--lead", action="store_true", help="gets what nobody on shift can take")
    add.set_defaults(run=cmd_agents_add)

    listing = agents.add_parser("list", help="every agent, with their hours")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(run=cmd_agents_list)

    update = agents.add_parser("update", help="change an agent (not their email)")
    update.add_argument("email")
    update.add_argument("--name")
    update.add_argument("--phone", help="E.164")
    update.add_argument("--platforms", help="comma-separated; an empty string means all")
    update.add_argument("--languages", help="comma-separated language codes")
    update.add_argument("--lead", action=argparse.BooleanOptionalAction, default=None)
    update.add_argument(
        "--active", action=argparse.BooleanOptionalAction, default=None, help="--no-active: never notified"
    )
    update.add_argument(
        "--directory",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show the agent on the public /people page (--no-directory: hide them)",
    )
    update.add_argument(
        "--handles",
        help="public handles, e.g. x:@ann,instagram:ann,bluesky:ann.example.com,website:https://...",
    )
    update.add_argument("--role", help='shown on /people, e.g. "Customer Loyalty" (empty: none)')
    update.set_defaults(run=cmd_agents_update)

    remove = agents.add_parser("remove", help="remove an agent and their email subscription")
    remove.add_argument("email")
    remove.set_defaults(run=cmd_agents_remove)

    shifts = commands.add_parser("shifts", help="when agents work").add_subparsers(
        dest="shifts_command", required=True
    )
    weekly = shifts.add_parser("set", help='weekly hours, e.g. "Mon-Fri 09:00-17:00, Sat 10:00-14:00"')
    weekly.add_argument("email")
    weekly.add_argument("schedule")
    weekly.add_argument(
        "--tz", type=time_zone, help="IANA time zone, e.g. America/Los_Angeles (default: unchanged)"
    )
    weekly.set_defaults(run=cmd_shifts_set)
    for name, helptext, handler in (
        ("add", "an extra on-shift window", cmd_shifts_add),
        ("off", "time off (wins over everything)", cmd_shifts_off),
    ):
        window = shifts.add_parser(name, help=helptext)
        window.add_argument("email")
        window.add_argument("--from", dest="starts", required=True, help="ISO; no offset: agent's zone")
        window.add_argument("--to", dest="ends", required=True, help="ISO; no offset: agent's zone")
        window.set_defaults(run=handler)

    on_shift = commands.add_parser("on-shift", help="who is on shift now (or --at)")
    on_shift.add_argument(
        "--at",
        type=instant,
        help="ISO 8601: 2026-12-01 (midnight UTC), 2026-12-01T09:30 (UTC), or with an offset",
    )
    on_shift.add_argument("--json", action="store_true", help="print a JSON array")
    on_shift.set_defaults(run=cmd_on_shift)
