"""Where the CLI's commands find the system: the local stack of `make run` by default, whose gateway says
where its resources are (GET /_local/outputs: nothing is created or reseeded on a command), or a deployed
stack named with --stack, whose outputs name its resources."""

import argparse
import os

from infra.local.local_hosts import OUTPUTS_PATH

REGION = "us-east-1"


class CliError(Exception):
    pass


def local_api_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT', '3000')}"


def stack_outputs(arguments: argparse.Namespace) -> dict[str, str]:
    if arguments.stack:
        import boto3

        answer = boto3.client("cloudformation").describe_stacks(StackName=arguments.stack)
        return {o["OutputKey"]: o["OutputValue"] for o in answer["Stacks"][0].get("Outputs", [])}
    import requests

    try:
        response = requests.get(local_api_url() + OUTPUTS_PATH, timeout=30)
    except requests.ConnectionError as error:
        raise CliError(
            f"the local stack is not running at {local_api_url()}: start it with `make run`"
        ) from error
    if response.status_code != 200:
        raise CliError(
            f"{local_api_url()} answered {response.status_code}: is this the local stack of `make run`?"
        )
    running = response.json()
    # Point every client at the local stack's moto server.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    os.environ["AWS_ENDPOINT_URL"] = running["endpoint_url"]
    outputs: dict[str, str] = running["outputs"]
    return outputs
