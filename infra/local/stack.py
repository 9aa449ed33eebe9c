"""Creates the template's resources in a moto server and resolves what refers to them.

moto's CloudFormation does not create Secrets Manager secrets, so the local stack creates each resource type
the system uses itself, with the properties the template gives, under deterministic names
(<stack>-<LogicalId> unless the template names it). Everything else in the template (roles, log groups,
the API, the layer) has no local meaning: the gateway plays the API, the installed package plays the layer."""

import json
import re
import secrets as secrets_module
import shlex
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.local.template import Resolver, Template

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
DEFAULT_STACK_NAME = "socialcare-local"


def parse_parameter_overrides(text: str, declared: dict[str, Any]) -> dict[str, str]:
    """`Name=Value Name2='a value'`, as `sam deploy --parameter-overrides` takes them, checked against the
    template's Parameters (name, AllowedValues, AllowedPattern) so a typo fails at start."""
    overrides: dict[str, str] = {}
    for pair in shlex.split(text):
        name, equals, value = pair.partition("=")
        if not equals or name not in declared:
            known = ", ".join(sorted(declared))
            raise ValueError(f"SOCIALCARE_PARAMETERS: {pair!r} is not Name=Value with a Name among {known}")
        spec = declared[name]
        allowed = spec.get("AllowedValues")
        if allowed and value not in [str(v) for v in allowed]:
            raise ValueError(f"SOCIALCARE_PARAMETERS: {name} must be one of {', '.join(map(str, allowed))}")
        pattern = spec.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise ValueError(f"SOCIALCARE_PARAMETERS: {name}={value!r} does not match {pattern}")
        overrides[name] = value
    return overrides


@dataclass
class LocalStack:
    template: Template
    endpoint_url: str
    api_url: str
    stack_name: str = DEFAULT_STACK_NAME
    stage: str = "local"
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    def _client(self, service: str) -> Any:
        client: Any = boto3.client(service, endpoint_url=self.endpoint_url, region_name=REGION)  # type: ignore[call-overload]
        return client

    def parameters(self) -> dict[str, Any]:
        return {
            **self.template.parameter_defaults(),
            "Stage": self.stage,
            "PublicBaseUrl": self.api_url,
            **self.parameter_overrides,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }

    def _physical_name(self, logical_id: str, properties: dict[str, Any], name_key: str) -> str:
        if name_key in properties:
            return str(self._bootstrap_resolver().resolve(properties[name_key]))
        return f"{self.stack_name}-{logical_id}"

    def _bootstrap_resolver(self) -> Resolver:
        return Resolver(self.parameters(), {}, {}, self.template.document.get("Conditions", {}))

    # ---------------------------------------------------------------- creation
    def provision(self, config_document: dict[str, Any] | None) -> Resolver:
        """Create every resource the system uses (idempotent), seed the configuration secret (unless
        config_document is None: then it is left as it is), and return a resolver that knows their names."""
        resolver = self._bootstrap_resolver()
        resources = self.template.resources
        # Queues first, dead-letter queues before the queues that redrive to them: others refer to their ARNs.
        order = sorted(
            resources.items(),
            key=lambda item: (
                item[1]["Type"] != "AWS::SQS::Queue",
                "RedrivePolicy" in item[1].get("Properties", {}),
            ),
        )
        for logical_id, resource in order:
            if not self.exists(logical_id, resolver):
                continue
            create = getattr(self, "_create_" + resource["Type"].replace("::", "_"), None)
            if create is not None:
                create(logical_id, resource.get("Properties", {}), resolver, config_document)
        return resolver

    def _create_AWS_DynamoDB_Table(
        self, logical_id: str, properties: dict[str, Any], resolver: Resolver, _config: Any
    ) -> None:
        name = self._physical_name(logical_id, properties, "TableName")
        dynamodb = self._client("dynamodb")
        arguments: dict[str, Any] = {
            "TableName": name,
            "KeySchema": properties["KeySchema"],
            "AttributeDefinitions": properties["AttributeDefinitions"],
            "BillingMode": properties.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in properties:
            arguments["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        if "StreamSpecification" in properties:
            arguments["StreamSpecification"] = {"StreamEnabled": True, **properties["StreamSpecification"]}
        try:
            dynamodb.create_table(**arguments)
            ttl = properties.get("TimeToLiveSpecification")
            if ttl:
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
        description = dynamodb.describe_table(TableName=name)["Table"]
        resolver.refs[logical_id] = name
        resolver.attributes[f"{logical_id}.Arn"] = description["TableArn"]
        if "LatestStreamArn" in description:
            resolver.attributes[f"{logical_id}.StreamArn"] = description["LatestStreamArn"]

    def _create_AWS_SecretsManager_Secret(
        self, logical_id: str, properties: dict[str, Any], resolver: Resolver, config: dict[str, Any] | None
    ) -> None:
        name = self._physical_name(logical_id, properties, "Name")
        secrets = self._client("secretsmanager")
        if config is None:
            resolver.refs[logical_id] = secrets.describe_secret(SecretId=name)["ARN"]
            resolver.attributes[f"{logical_id}.Id"] = resolver.refs[logical_id]
            return
        # Each section of the configuration document (SOCIALCARE_CONFIG) seeds the secret whose Metadata names
        # it; a secret the template generates (the reply form's key) gets a random value of the same kind.
        section = self.template.resources[logical_id].get("Metadata", {}).get("ConfigSection")
        if section is not None:
            secret_string = json.dumps(config.get(section, {}))
        elif "GenerateSecretString" in properties:
            secret_string = secrets_module.token_urlsafe(48)
        else:
            secret_string = str(resolver.resolve(properties.get("SecretString", "")))
        try:
            arn = secrets.create_secret(Name=name, SecretString=secret_string)["ARN"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceExistsException":
                raise
            if section is None:  # a generated key stays what it is: pages already shown carry nonces under it
                arn = secrets.describe_secret(SecretId=name)["ARN"]
            else:
                arn = secrets.put_secret_value(SecretId=name, SecretString=secret_string)["ARN"]
        resolver.refs[logical_id] = arn
        resolver.attributes[f"{logical_id}.Id"] = arn

    def _create_AWS_SNS_Topic(
        self, logical_id: str, properties: dict[str, Any], resolver: Resolver, _config: Any
    ) -> None:
        name = self._physical_name(logical_id, properties, "TopicName")
        arn = self._client("sns").create_topic(Name=name)["TopicArn"]
        resolver.refs[logical_id] = arn
        resolver.attributes[f"{logical_id}.TopicArn"] = arn
        resolver.attributes[f"{logical_id}.TopicName"] = name

    def _create_AWS_S3_Bucket(
        self, logical_id: str, properties: dict[str, Any], resolver: Resolver, _config: Any
    ) -> None:
        name = self._physical_name(logical_id, properties, "BucketName").lower()
        s3 = self._client("s3")
        try:
            s3.create_bucket(Bucket=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                raise
        resolver.refs[logical_id] = name
        resolver.attributes[f"{logical_id}.Arn"] = f"arn:aws:s3:::{name}"

    def _create_AWS_SES_EmailIdentity(
        self, logical_id: str, properties: dict[str, Any], resolver: Resolver, _config: Any
    ) -> None:
        # moto's SES sends only from verified identities; locally the domain is verified at once.
        identity = str(resolver.resolve(properties["EmailIdentity"]))
        self._client("ses").verify_domain_identity(Domain=identity)
        resolver.refs[logical_id] = identity

    def _create_AWS_SQS_Queue(
        self, logical_id: str, properties: dict[str, Any], resolver: Resolver, _config: Any
    ) -> None:
        name = self._physical_name(logical_id, properties, "QueueName")
        attributes: dict[str, str] = {}
        for key in (
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
        ):
            if key in properties:
                attributes[key] = str(resolver.resolve(properties[key]))
        if "RedrivePolicy" in properties:
            attributes["RedrivePolicy"] = json.dumps(resolver.resolve(properties["RedrivePolicy"]))
        sqs = self._client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        resolver.refs[logical_id] = url
        resolver.attributes[f"{logical_id}.Arn"] = arn
        resolver.attributes[f"{logical_id}.QueueName"] = name
        resolver.attributes[f"{logical_id}.QueueUrl"] = url

    # ---------------------------------------------------------------- reading
    def attach(self) -> Resolver:
        """The resolver of a running local stack, for tools such as the CLI: nothing is reseeded."""
        return self.provision(None)

    def exists(self, logical_id: str, resolver: Resolver) -> bool:
        """Whether the resource is created with these parameters (its Condition, if it has one, holds)."""
        condition = self.template.resources[logical_id].get("Condition")
        return condition is None or bool(resolver.resolve({"Condition": condition}))

    def function_environment(self, resolver: Resolver, logical_id: str) -> dict[str, str]:
        """The function's environment; empty for a function its Condition leaves out."""
        if not self.exists(logical_id, resolver):
            return {}
        spec = self.template.functions[logical_id]
        resolved = resolver.resolve(spec.environment)
        return {k: str(v) for k, v in resolved.items() if v is not None}

    def outputs(self, resolver: Resolver) -> dict[str, str]:
        outputs: dict[str, str] = {}
        for name, output in self.template.document.get("Outputs", {}).items():
            try:
                outputs[name] = str(resolver.resolve(output["Value"]))
            except KeyError:
                continue  # refers to something with no local meaning
        return outputs


class StandInResolver(Resolver):
    """Resolves every resource to a stand-in name, for a handler to import where no stack exists."""

    def _Ref(self, name: str) -> Any:
        try:
            return super()._Ref(name)
        except KeyError:
            return f"stand-in-{name}"

    def _fn_GetAtt(self, argument: Any) -> Any:
        logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        return f"stand-in-{logical}-{attribute}"


def stand_in_environments(template: Template) -> dict[str, dict[str, str]]:
    """Each function's environment as the template gives it (every function, whatever its Condition), with
    stand-in resource names: the API document and the benchmarks import handlers without a stack."""
    stack = LocalStack(template, endpoint_url="", api_url="https://stand-in.example")
    resolver = StandInResolver(stack.parameters(), {}, {}, template.document.get("Conditions", {}))
    environments = {}
    for logical_id, spec in template.functions.items():
        resolved = resolver.resolve(spec.environment)
        environments[logical_id] = {k: str(v) for k, v in resolved.items() if v is not None}
    return environments
