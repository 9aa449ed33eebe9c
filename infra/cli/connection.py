"""Where the CLI's commands find the system: the local stack of `make run` (moto on MOTO_PORT) by default, or
a deployed stack named with --stack, whose outputs name its resources."""

import argparse
import os

import boto3
from botocore.exceptions import EndpointConnectionError

from infra.local.stack import DEFAULT_STACK_NAME, REGION, LocalStack
from infra.local.template import load_template


class CliError(Exception):
    pass


def stack_outputs(arguments: argparse.Namespace) -> dict[str, str]:
    if arguments.stack:
        answer = boto3.client("cloudformation").describe_stacks(StackName=arguments.stack)
        return {o["OutputKey"]: o["OutputValue"] for o in answer["Stacks"][0].get("Outputs", [])}
    moto_port = os.environ.get("MOTO_PORT", "5000")
    endpoint = f"http://127.0.0.1:{moto_port}"
    # Point every client at the local stack's moto server.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    api_url = f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"
    stack = LocalStack(load_template(), endpoint, api_url, DEFAULT_STACK_NAME)
    try:
        return stack.outputs(stack.attach())
    except EndpointConnectionError as error:
        raise CliError(f"the local stack is not running at {endpoint}: start it with `make run`") from error
