"""Where the CLI's commands find the system: the local stack of `make run` by default, or a deployed stack
named with --stack, whose outputs name its resources.

Reading the local stack's outputs is one local HTTP request to its gateway (no AWS call, no template to
parse, nothing created), and this module imports nothing heavy: `socialcare --help` and `mentions list` stay
well under half a second."""

import argparse
import http.client
import json
import os

from infra.local import OUTPUTS_PATH

REGION = "us-east-1"  # the local stack's region (infra.local.stack.REGION, not imported: it pulls in boto3)


class CliError(Exception):
    pass


def local_api_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"


def not_running() -> CliError:
    return CliError(f"the local stack is not running at {local_api_url()}: start it with `make run`")


def stack_outputs(arguments: argparse.Namespace) -> dict[str, str]:
    if arguments.stack:
        from socialcare.aws_clients import client as aws_client

        answer = aws_client("cloudformation").describe_stacks(StackName=arguments.stack)
        return {o["OutputKey"]: o["OutputValue"] for o in answer["Stacks"][0].get("Outputs", [])}
    # Point every client at the local stack's moto server.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    url = local_api_url() + OUTPUTS_PATH
    # http.client, not urllib.request: botocore loads the former anyway, the latter cost a tenth of `--help`.
    connection = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT", "3000")), timeout=30)
    try:
        connection.request("GET", OUTPUTS_PATH)
        response = connection.getresponse()
        body = response.read()
    except (http.client.HTTPException, OSError) as error:
        raise not_running() from error
    finally:
        connection.close()
    if response.status != 200:
        raise CliError(f"{url} answered {response.status}: is this the local stack of `make run`?")
    running = json.loads(body)
    outputs: dict[str, str] = running["outputs"]
    # The stack says where its moto listens; MOTO_PORT is the fallback for an older stack's answer.
    fallback = f"http://127.0.0.1:{os.environ.get('MOTO_PORT', '5000')}"
    os.environ["AWS_ENDPOINT_URL"] = running.get("endpoint_url", fallback)
    return outputs
