"""The moto server the local stack runs, answering one request at a time.

moto's backends are not thread-safe: a TransactWriteItems iterating a table while a concurrent PutItem adds
to it fails with "dictionary changed size during iteration", and may leave half of the transaction applied.
DynamoDB makes every call atomic, so the local stack serializes moto's requests; its callers (gateway
threads, pollers, the CLI) still run concurrently. Nobody may hold the lock while waiting: the SQS poller
does not long-poll."""

import threading
from collections.abc import Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server


class SerializedMotoServer(ThreadedMotoServer):
    def _server_entry(self) -> None:
        backend_app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()

        def one_at_a_time(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            with lock:
                return list(backend_app(environ, start_response))  # the whole answer, inside the lock

        self._server = make_server(
            self._ip_address, self._port, one_at_a_time, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()
