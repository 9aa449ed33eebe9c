"""Metrics with a `platform` dimension: the dashboard's per-platform lines and the per-platform alarms.

Here rather than in socialcare.observability because the dimension needs the registry: sources are named by
each company, so they share one line ("source")."""

import json
import os
import time

from aws_lambda_powertools.metrics import MetricUnit

from socialcare.observability import metrics


def platform_group(platform: str) -> str:
    """The dimension value of a platform: a named platform's own name, else "source"."""
    from socialcare.platforms.registry import named_platforms  # every platform's package: only when counted

    return platform if platform in named_platforms() else "source"


def count_for_platform(name: str, platform: str, value: float = 1, unit: str = "Count") -> None:
    """One metric with a `platform` dimension, printed at once as its own CloudWatch EMF document beside the
    function's own metrics: what Powertools' single_metric prints, without the metrics provider it built
    for each call (a tenth of a webhook delivery's own work)."""
    dimensions = {"platform": platform_group(platform)}
    service = os.environ.get("POWERTOOLS_SERVICE_NAME")
    if service:
        dimensions["service"] = service
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": metrics.namespace,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": MetricUnit[unit].value}],
                }
            ],
        },
        **dimensions,
        name: [float(value)],
    }
    print(json.dumps(document, separators=(",", ":")))
