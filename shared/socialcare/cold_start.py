"""A function's cold start: its handler module imports this module before anything else, and calls
`ready()` last.

In between, Python collects no garbage. A function's imports make about a hundred thousand objects that
live as long as the process, and the collector went over them again and again while they were being made:
a tenth of a handler's import time (`make bench`). Loading modules makes little garbage, and what it makes
is collected once `ready()` turns the collector back on.

In Lambda the process is the function's own, so `ready()` also freezes what the import made: the
collections of warm invocations then skip it. The local stack runs every function in one process, where
tests and stacks come and go, so nothing is frozen there, and its runtime turns the collector back on even
when an import fails (infra.local.runtime)."""

import gc
import os

gc.disable()


def ready() -> None:
    """The function's modules are loaded: collect garbage again (in Lambda, never over what they made)."""
    if "AWS_LAMBDA_RUNTIME_API" in os.environ:  # Lambda's runtime sets it, in the function's own process
        gc.freeze()
    gc.enable()
