"""Metrics with a `platform` dimension: the dashboard's per-platform lines and the per-platform alarms.

Here rather than in socialcare.observability because the dimension needs the registry: sources are named by
each company, so they share one line ("source").

A platform's metrics of one moment (a delivery's received and stored counts, a reply's count and its first
response time) go out in one EMF record, beside the function's own: one serialisation, one log line. As the
function's own, none goes out where POWERTOOLS_METRICS_DISABLED (or POWERTOOLS_DEV) turns metrics off."""

from collections.abc import Mapping

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from socialcare.observability import metrics


def platform_group(platform: str) -> str:
    """The dimension value of a platform: a named platform's own name, else "source"."""
    from socialcare.platforms.registry import named_platforms  # every platform's package: only when counted

    return platform if platform in named_platforms() else "source"


def platform_metrics(
    platform: str, counts: Mapping[str, float] | None = None, seconds: Mapping[str, float] | None = None
) -> None:
    """`counts` (name: count) and `seconds` (name: seconds) with the `platform` dimension, flushed at once. A
    count of 0 is left out: its sum is the same, and a delivery of duplicates stores none."""
    if is_metrics_disabled():
        return
    record = EphemeralMetrics(namespace=metrics.namespace)
    record.add_dimension(name="platform", value=platform_group(platform))
    for unit, values in ((MetricUnit.Count, counts), (MetricUnit.Seconds, seconds)):
        for name, value in (values or {}).items():
            if value or unit is not MetricUnit.Count:
                record.add_metric(name=name, unit=unit, value=value)
    record.flush_metrics()
