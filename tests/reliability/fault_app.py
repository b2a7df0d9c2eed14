"""The normal app, plus a worker that SIGKILLs itself where a test asks: ``gunicorn tests.reliability.fault_app:app``.

Only the fault-injection tests serve this module; production code has no
hook for it. A request carrying ``X-Inject-Fault`` kills its own worker:

- ``before-commit``: when a transaction that wrote something is about to
  send COMMIT, after every statement of the change has run;
- ``after-commit``: once the response is built, after COMMIT, before a byte
  of it is sent.

The client sees the connection drop; gunicorn starts a new worker.
"""

import os
import signal

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from loyalty import create_app

HEADER = "X-Inject-Fault"
WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")

app = create_app()


def _asked_for(fault: str) -> bool:
    return has_request_context() and request.headers.get(HEADER) == fault


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(connection, _cursor, statement, *_args) -> None:
    if statement.lstrip()[:6].upper().startswith(WRITES):
        connection.info["wrote"] = True


@event.listens_for(Engine, "commit")
def _before_commit(connection) -> None:
    if connection.info.pop("wrote", False) and _asked_for("before-commit"):
        _die()


@event.listens_for(Engine, "rollback")
def _forget_writes(connection) -> None:
    connection.info.pop("wrote", None)


@app.after_request
def _after_commit(response):
    if _asked_for("after-commit"):
        _die()
    return response
