"""Metrics with a `platform` dimension: the dashboard's per-platform lines and the per-platform alarms.

Here rather than in socialcare.observability because the dimension needs the registry: sources are named by
each company, so they share one line ("source")."""

from aws_lambda_powertools import single_metric
from aws_lambda_powertools.metrics import MetricUnit

from socialcare.observability import metrics


def platform_group(platform: str) -> str:
    """The dimension value of a platform: a named platform's own name, else "source"."""
    from socialcare.platforms.registry import named_platforms  # every platform's package: only when counted

    return platform if platform in named_platforms() else "source"


def count_for_platform(name: str, platform: str, value: float = 1, unit: str = "Count") -> None:
    """One metric with a `platform` dimension, flushed at once, beside the function's own metrics."""
    with single_metric(
        name=name,
        unit=MetricUnit[unit],
        value=value,
        namespace=metrics.namespace,
        default_dimensions={"platform": platform_group(platform)},
    ):
        pass
