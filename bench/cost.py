"""What 1,000 mentions and 1,000 replies cost on AWS and X, from what the AWS-calls measure counted (calls,
items, texts, emails) and timed (each warm handler), and each function's memory in template.yaml.

Prices: us-east-1, on-demand, list prices without free tiers, as of the end of 2026; check them at
aws.amazon.com/<service>/pricing before relying on a figure. Approximations, stated where they are made:
- DynamoDB: every item written is 1 WRU (items are under 1 KB), twice in a transaction, plus 1 WRU for the
  index entry most items carry; every item read is 1 RRU (consistent, under 4 KB; a Query of a few small
  items included). Stream reads by Lambda are free.
- Lambda: the measured warm duration (against in-process moto, a stand-in for DynamoDB's few milliseconds)
  rounded up to the millisecond, at the function's memory; one request per invocation.
- SMS: the US price of one single-part message (base plus the carrier's pass-through fee); a reply link
  text fits one part."""

from typing import Any

from infra.local.template import load_template

LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_REQUEST = 0.20 / 1e6
HTTP_API_REQUEST = 1.00 / 1e6
DYNAMODB_WRU = 0.625 / 1e6
DYNAMODB_RRU = 0.125 / 1e6
SNS_PUBLISH = 0.50 / 1e6
SNS_EMAIL = 2.00 / 1e5
SMS_US = 0.00581 + 0.00302  # AWS End User Messaging base price + carrier fee, one 10DLC message part
SQS_REQUEST = 0.40 / 1e6
SQS_REQUESTS_PER_MESSAGE = 3  # send, Lambda's receive, Lambda's delete
X_POST = 0.015  # a reply without a link; $0.20 with one
X_POST_WITH_LINK = 0.20

# Which handler invocations each flow pays for, and which of them came in over the HTTP API.
FLOWS = {
    "mention": (["XWebhookFunction", "DispatcherFunction"], 1),
    "reply": (["ReplyPageFunction.GET", "ReplyPageFunction", "ReplySenderFunction"], 2),
}


def memory_mb() -> dict[str, int]:
    document = load_template().document
    default = int(document.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    return {
        logical_id: int(resource.get("Properties", {}).get("MemorySize", default))
        for logical_id, resource in document["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def aws_usd(units: dict[str, int]) -> float:
    writes = units.get("dynamodb.write_items", 0) * 2 + units.get("dynamodb.transact_write_items", 0) * 3
    return (
        writes * DYNAMODB_WRU
        + units.get("dynamodb.read_items", 0) * DYNAMODB_RRU
        + (units.get("sns.sms", 0) + units.get("sns.email", 0)) * SNS_PUBLISH
        + units.get("sns.sms", 0) * SMS_US
        + units.get("sns.email", 0) * SNS_EMAIL
        + units.get("sqs.messages", 0) * SQS_REQUESTS_PER_MESSAGE * SQS_REQUEST
    )


def lambda_usd(handlers: list[str], handler_ms: dict[str, float], memory: dict[str, int]) -> float:
    total = 0.0
    for name in handlers:
        function = name.split(".")[0]
        billed_ms = -(-handler_ms[name] // 1)  # rounded up to the millisecond
        total += billed_ms / 1000 * memory[function] / 1024 * LAMBDA_GB_SECOND + LAMBDA_REQUEST
    return total


def costs(results: dict[str, Any], reply_has_link: bool = False) -> dict[str, Any]:
    memory = memory_mb()
    units = results["aws_units"]
    per_flow: dict[str, dict[str, float]] = {}
    for flow, (handlers, http_requests) in FLOWS.items():
        flow_units: dict[str, int] = dict(units[flow])
        if flow == "reply":
            for key, count in units.get("view", {}).items():
                flow_units[key] = flow_units.get(key, 0) + count
        per_flow[flow] = {
            "lambda": lambda_usd(handlers, results["handler_ms"], memory),
            "api": http_requests * HTTP_API_REQUEST,
            "aws": aws_usd(flow_units),
            "x": 0.0 if flow == "mention" else (X_POST_WITH_LINK if reply_has_link else X_POST),
        }
    total = {flow: sum(parts.values()) for flow, parts in per_flow.items()}
    return {
        "cost_per_1000_mentions_usd": round(total["mention"] * 1000, 2),
        "cost_per_1000_replies_usd": round(total["reply"] * 1000, 2),
        "cost_detail_per_1000_usd": {
            f"{flow}.{part}": round(value * 1000, 4)
            for flow, parts in per_flow.items()
            for part, value in parts.items()
        },
    }
