"""One Logger, Tracer and Metrics for the whole process, created once at import (Powertools reads the
service name, namespace and log level from the template's environment)."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
