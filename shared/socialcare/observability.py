"""One Logger and one Metrics for the whole process, created once at import (Powertools reads the service
name, namespace and log level from the template's environment).

No Powertools Tracer: the X-Ray SDK it needs builds its recorder, with a botocore session, at import, which
cost every cold start about as much as the rest of a handler together (see `make bench`). The template's
`Tracing: Active` still gives each invocation its X-Ray trace."""

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

logger = Logger()
metrics = Metrics()


def platform_group(platform: str) -> str:
    """The dimension value of a platform: sources are named by each company, so they share one line."""
    from socialcare.platforms.registry import named_platforms  # only where a metric has a platform

    return platform if platform in named_platforms() else "source"


def count_for_platform(name: str, platform: str, value: float = 1, unit: str = "Count") -> None:
    """One metric with a `platform` dimension (the dashboard's per-platform lines, the per-platform alarms),
    flushed at once, beside the function's own metrics."""
    with single_metric(
        name=name,
        unit=MetricUnit[unit],
        value=value,
        namespace=metrics.namespace,
        default_dimensions={"platform": platform_group(platform)},
    ):
        pass
