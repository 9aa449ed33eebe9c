"""One Logger and one Metrics for the whole process, created once at import (Powertools reads the service
name, namespace and log level from the template's environment).

No Powertools Tracer: the X-Ray SDK it needs builds its recorder, with a botocore session, at import, which
cost every cold start about as much as the rest of a handler together (see `make bench`). The template's
`Tracing: Active` still gives each invocation its X-Ray trace."""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
