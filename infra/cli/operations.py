"""`socialcare stack outputs` and `socialcare credentials check`: what scripts and operators need to run a
stack. The outputs are the stack's, by name (the local stack's too), as `aws cloudformation describe-stacks`
gives them; the credentials check is the daily one (socialcare.credentials), run now."""

import argparse
import json
from typing import TYPE_CHECKING, Any

from infra.cli.connection import CliError, stack_outputs

if TYPE_CHECKING:  # the AWS SDK and the models load when a command runs, not for `--help`
    from socialcare.platforms.credentials import CheckReport


def read_config_document(outputs: dict[str, str]) -> dict[str, Any]:
    """The configuration document as the stack holds it, one section per secret (output ConfigSecretIds)."""
    from socialcare.aws_clients import client as aws_client
    from socialcare.platform_config import section_secret_ids

    if "ConfigSecretIds" not in outputs:
        raise CliError("the stack has no output ConfigSecretIds: deploy this version of the template")
    secrets = aws_client("secretsmanager")
    document: dict[str, Any] = {}
    for section, secret_id in section_secret_ids(outputs["ConfigSecretIds"]).items():
        text = secrets.get_secret_value(SecretId=secret_id).get("SecretString") or "{}"
        try:
            document[section] = json.loads(text)
        except ValueError as error:
            raise CliError(f"the {section} section ({secret_id}) is not JSON") from error
    return document


def check_now(outputs: dict[str, str], *, alert: bool) -> "CheckReport":
    import requests

    from socialcare.aws_clients import client as aws_client
    from socialcare.credentials import run_daily_check
    from socialcare.data import table
    from socialcare.data.agents import AgentStore
    from socialcare.data.alerts import AlertStore
    from socialcare.models import utc_now
    from socialcare.platform_config import PlatformConfig
    from socialcare.platforms.credentials import check_credentials
    from socialcare.replies.sender import SnsNotifier

    config = PlatformConfig.model_validate(read_config_document(outputs))
    session = requests.Session()
    if not alert:
        return check_credentials(config, session, utc_now())
    shared_table = table(outputs["TableName"])
    notifier = SnsNotifier(aws_client("sns"), outputs["NotificationTopicArn"], AgentStore(shared_table))
    return run_daily_check(lambda: config, session, AlertStore(shared_table), notifier, utc_now())


def cmd_outputs(arguments: argparse.Namespace) -> None:
    outputs = stack_outputs(arguments)
    if arguments.json:
        print(json.dumps(outputs, indent=2, sort_keys=True))
        return
    width = max((len(name) for name in outputs), default=0)
    for name in sorted(outputs):
        print(f"{name:<{width}}  {outputs[name]}")


def cmd_credentials_check(arguments: argparse.Namespace) -> None:
    report = check_now(stack_outputs(arguments), alert=True)
    if arguments.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(f"checked: {', '.join(report.checked) or 'nothing is configured'}")
        for problem in report.problems:
            print(f"{'FAIL' if problem.blocking else 'WARN'}  {problem.problem}\n      {problem.action}")
        if report.emailed:
            print(f"leads emailed about: {', '.join(report.emailed)}")
    if report.blocking:
        raise SystemExit(1)


def register(commands: Any) -> None:
    stack = commands.add_parser("stack", help="the stack itself").add_subparsers(
        dest="stack_command", required=True
    )
    outputs = stack.add_parser("outputs", help="the stack's outputs by name (webhook URLs, topics, secrets)")
    outputs.add_argument("--json", action="store_true", help="print a JSON object")
    outputs.set_defaults(run=cmd_outputs)

    credentials = commands.add_parser("credentials", help="the platforms' credentials").add_subparsers(
        dest="credentials_command", required=True
    )
    check = credentials.add_parser(
        "check", help="check every platform's credential now; the leads are emailed, once a day, as daily"
    )
    check.add_argument("--json", action="store_true", help="print a JSON object")
    check.set_defaults(run=cmd_credentials_check)
