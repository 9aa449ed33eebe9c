"""template.yaml as CloudFormation receives it: transformed by the SAM translator, as `sam deploy` does
(CodeUri replaced by the S3 location `sam package` gives it). Every Ref and GetAtt must resolve, and every
function's role must allow exactly the AWS calls its code makes, no more: the list below is what each
function calls, read from its code path (data/ for DynamoDB; a run of the integration tests recording each
handler's AWS calls found none outside it); it changes with the code."""

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
PSEUDO_PARAMETERS = {
    "AWS::AccountId",
    "AWS::NoValue",
    "AWS::NotificationARNs",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}
SUB_NAME = re.compile(r"\$\{(?!!)([^}]+)\}")

# Deliveries: conditional puts, one batch read of what is already stored, updates for deletions (and, for
# Meta, the edited comment read before its text is replaced).
INGEST = {"dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
# Assignments are transactions of conditional puts and updates.
DISPATCH = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
}
# The page and the sender read a link, a mention, its conversation and its replies; they write one reply.
REPLY = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"}
TEXT_AND_EMAIL = {"sns:Publish"}
# Texts from the two-way number and emails from the reply domain, when those are set up.
TWO_WAY = {"sms-voice:SendTextMessage", "ses:SendEmail", "ses:SendRawEmail"}
CALLS: dict[str, set[str]] = {
    "XWebhookFunction": {"secretsmanager:GetSecretValue", *INGEST},
    "MetaWebhookFunction": {"secretsmanager:GetSecretValue", *INGEST, "dynamodb:GetItem"},
    "SourceWebhookFunction": {"secretsmanager:GetSecretValue", *INGEST},
    "ThreadsWebhookFunction": {"secretsmanager:GetSecretValue", *INGEST, "dynamodb:GetItem"},
    # GetItem: as Meta's, the review's text is fetched on ingest.
    "GoogleReviewsWebhookFunction": {"secretsmanager:GetSecretValue", *INGEST, "dynamodb:GetItem"},
    # sqs:SendMessage: Lambda sends records that keep failing to the dead-letter queue under this role.
    "DispatcherFunction": {*DISPATCH, *TEXT_AND_EMAIL, *TWO_WAY, "sqs:SendMessage"},
    # DeleteItem: an Instagram mention's pending-text marker, once its text is fetched.
    "EscalationFunction": {
        "secretsmanager:GetSecretValue",
        *DISPATCH,
        "dynamodb:DeleteItem",
        *TEXT_AND_EMAIL,
        *TWO_WAY,
    },
    # No DeleteItem, no Scan; BatchGetItem: the mention and the answering agent in one read.
    "ReplyPageFunction": {
        "secretsmanager:GetSecretValue",
        *REPLY,
        "dynamodb:BatchGetItem",
        "sqs:SendMessage",
    },
    "ReplySenderFunction": {
        "secretsmanager:GetSecretValue",
        *REPLY,
        *TEXT_AND_EMAIL,
        "sms-voice:SendTextMessage",
        "sqs:ChangeMessageVisibility",
    },
    # Codes, replies and UNDO; DeleteItem: a text's claim released when handling it failed (SNS retries).
    "TextReplyFunction": {
        "secretsmanager:GetSecretValue",
        *REPLY,
        "dynamodb:BatchGetItem",
        "dynamodb:DeleteItem",
        "sqs:SendMessage",
        *TEXT_AND_EMAIL,
        "sms-voice:SendTextMessage",
    },
    # Sign-in links, the roster and taking work (transactions with deletes); no Scan.
    "TeamPagesFunction": {
        "secretsmanager:GetSecretValue",
        *REPLY,
        "dynamodb:BatchGetItem",
        "dynamodb:DeleteItem",
        *TEXT_AND_EMAIL,
    },
    # What a webhook stores, and its cursor (GetItem).
    "PollerFunction": {"secretsmanager:GetSecretValue", *INGEST, "dynamodb:GetItem"},
    # The stored message read; the link's token, mention and agent read, the reply stored and queued.
    "EmailReplyFunction": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "sqs:SendMessage",
        *TEXT_AND_EMAIL,
        "s3:GetObject",
    },
    # A survey read and rated (or commented): nothing else.
    "SurveyPageFunction": {"secretsmanager:GetSecretValue", "dynamodb:GetItem", "dynamodb:UpdateItem"},
    # A fact's marker and counters in one transaction, a survey scheduled; sqs:SendMessage: Lambda sends
    # records that keep failing to the dead-letter queue under this role.
    "MeasuresFunction": {"dynamodb:PutItem", "dynamodb:UpdateItem", "sqs:SendMessage"},
    # The week's roll-ups (batched), the week's claim, the leads; the email through the topic.
    "WeeklyReportFunction": {"dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:Query", *TEXT_AND_EMAIL},
    # Query: the leads; PutItem/DeleteItem: today's alert marker, taken back if the email could not go.
    "CredentialsCheckFunction": {
        "secretsmanager:GetSecretValue",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        *TEXT_AND_EMAIL,
    },
}
SECRETS = {
    "XWebhookFunction": {"XConfigSecret"},
    "MetaWebhookFunction": {"MetaConfigSecret"},
    "SourceWebhookFunction": {"SourcesConfigSecret"},
    "ThreadsWebhookFunction": {"ThreadsConfigSecret"},
    "GoogleReviewsWebhookFunction": {"GoogleReviewsConfigSecret"},
    # Instagram texts fetched late, and surveys asked on every platform.
    "EscalationFunction": {
        "XConfigSecret",
        "MetaConfigSecret",
        "SourcesConfigSecret",
        "BlueskyConfigSecret",
        "ThreadsConfigSecret",
        "GoogleReviewsConfigSecret",
    },
    # The sections that name platforms: feeds are answered there, sources have display names.
    "ReplyPageFunction": {"ReplyFormKeySecret", "FeedsConfigSecret", "SourcesConfigSecret"},
    "SurveyPageFunction": {"ReplyFormKeySecret"},
    "TeamPagesFunction": {"ReplyFormKeySecret"},
    # UNDO deletes through every platform's API.
    "TextReplyFunction": {
        "XConfigSecret",
        "MetaConfigSecret",
        "SourcesConfigSecret",
        "BlueskyConfigSecret",
        "ThreadsConfigSecret",
        "GoogleReviewsConfigSecret",
    },
    # What it reads: the feeds and the Bluesky account.
    "PollerFunction": {"FeedsConfigSecret", "BlueskyConfigSecret"},
    # Every platform; and the key a source's survey link is derived under.
    "ReplySenderFunction": {
        "XConfigSecret",
        "MetaConfigSecret",
        "SourcesConfigSecret",
        "BlueskyConfigSecret",
        "ThreadsConfigSecret",
        "GoogleReviewsConfigSecret",
        "ReplyFormKeySecret",
    },
    # Every platform whose credential it checks (not feeds: they have none).
    "CredentialsCheckFunction": {
        "XConfigSecret",
        "MetaConfigSecret",
        "SourcesConfigSecret",
        "BlueskyConfigSecret",
        "ThreadsConfigSecret",
        "GoogleReviewsConfigSecret",
    },
}
# Logs and traces for every function; the event source mapping's own reads for stream and queue consumers.
BASE_MANAGED = {"AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess"}
EVENT_SOURCE_MANAGED = {
    "DispatcherFunction": {"AWSLambdaDynamoDBExecutionRole"},
    "ReplySenderFunction": {"AWSLambdaSQSQueueExecutionRole"},
    "MeasuresFunction": {"AWSLambdaDynamoDBExecutionRole"},
}


class NoManagedPolicyLookups:
    """The translator asks IAM for managed policy ARNs only for names it does not know; we use none."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def source() -> dict[str, Any]:
    document: dict[str, Any] = yaml_parse(TEMPLATE.read_text())
    return document


@pytest.fixture(scope="module")
def deployed(source: dict[str, Any]) -> dict[str, Any]:
    document = yaml_parse(TEMPLATE.read_text())
    for logical_id, resource in document["Resources"].items():
        for key in ("CodeUri", "ContentUri"):
            if key in resource.get("Properties", {}):
                resource["Properties"][key] = f"s3://deployment-artifacts/{logical_id}.zip"
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("AWS_DEFAULT_REGION", "us-east-1")
        result: dict[str, Any] = transform(document, {"Stage": "prod"}, NoManagedPolicyLookups())
    return result


def references(node: Any) -> Iterator[tuple[str, str]]:
    """("Ref" | "GetAtt", target) of every intrinsic reference in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                yield "Ref", value
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                yield "GetAtt", target
            elif key == "Fn::Sub":
                text, local = (value[0], value[1]) if isinstance(value, list) else (value, {})
                for name in SUB_NAME.findall(text):
                    if name not in local:
                        yield ("GetAtt", name.split(".")[0]) if "." in name else ("Ref", name)
                yield from references(local)
                continue
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def test_every_ref_and_getatt_resolves(deployed: dict[str, Any]) -> None:
    resources, parameters = set(deployed["Resources"]), set(deployed.get("Parameters", {}))
    found = list(references(deployed))
    assert len(found) > 50
    dangling = [
        (kind, target)
        for kind, target in found
        if target not in resources
        and not (kind == "Ref" and (target in parameters or target in PSEUDO_PARAMETERS))
    ]
    assert dangling == []


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def actions_of(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_every_function_has_its_list_of_calls(source: dict[str, Any]) -> None:
    functions = {k for k, v in source["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert functions == set(CALLS)


@pytest.mark.parametrize("function", sorted(CALLS))
def test_each_role_allows_exactly_its_function_calls(deployed: dict[str, Any], function: str) -> None:
    role = deployed["Resources"][f"{function}Role"]
    allowed = set().union(*(actions_of(s) for s in statements(role) if s.get("Effect") == "Allow"))
    assert allowed == CALLS[function]
    assert not any(
        s.get("Effect") == "Allow" and s.get("Resource") in ("*", ["*"]) for s in statements(role)
    ), "no statement on every resource (texts to phones use NotResource: every topic is excluded)"
    managed = {str(arn).rsplit("/", 1)[-1] for arn in role["Properties"]["ManagedPolicyArns"]}
    assert managed == BASE_MANAGED | EVENT_SOURCE_MANAGED.get(function, set())


@pytest.mark.parametrize("function", sorted(CALLS))
def test_each_function_reads_only_its_own_secrets(deployed: dict[str, Any], function: str) -> None:
    role = deployed["Resources"][f"{function}Role"]
    readable = {
        name
        for statement in statements(role)
        if "secretsmanager:GetSecretValue" in actions_of(statement)
        for _kind, name in references(statement["Resource"])
    }
    assert readable == SECRETS.get(function, set())


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_samconfig_environments_set_only_the_templates_parameters(
    source: dict[str, Any], environment: str
) -> None:
    config = tomllib.loads((TEMPLATE.parent / "samconfig.toml").read_text())
    deploy = config[environment]["deploy"]["parameters"]
    overrides = dict(pair.split("=", 1) for pair in deploy["parameter_overrides"].split())
    assert overrides["Stage"] == environment
    assert set(overrides) <= set(source["Parameters"])
    for name, value in overrides.items():
        allowed = source["Parameters"][name].get("AllowedValues")
        assert allowed is None or value in [str(v) for v in allowed], (name, value)
    assert config[environment]["global"]["parameters"]["stack_name"] == f"socialcare-{environment}"
