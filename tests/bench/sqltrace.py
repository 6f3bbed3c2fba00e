"""`python -m tests.bench.sqltrace`: `python -m appliance.main` that also writes every SQL statement it runs, with
its parameters as the driver got them, one JSON line each, to the file named by ENCLAVE_BENCH_SQL_TRACE.

bench_pages starts a server this way once, loads each page, and replays the statements that page ran against the same
database file (the raw SQL baseline). The CPU figures come from a server started without it.
"""

from __future__ import annotations

import base64
import json
import os
import runpy
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

TRACE_ENV = 'ENCLAVE_BENCH_SQL_TRACE'


def encode(value: Any) -> Any:
    """A driver parameter as JSON (bytes tagged, so the replay gets bytes again)."""
    if isinstance(value, bytes):
        return {'bytes': base64.b64encode(value).decode()}
    return value


def decode(value: Any) -> Any:
    """The inverse of `encode`."""
    if isinstance(value, dict) and set(value) == {'bytes'}:
        return base64.b64decode(value['bytes'])
    return value


def read_trace(text: str) -> list[tuple[str, tuple[Any, ...]]]:
    """(statement, parameters) of every traced line in `text`."""
    found = []
    for line in text.splitlines():
        statement, parameters = json.loads(line)
        found.append((statement, tuple(decode(value) for value in parameters)))
    return found


def install(path: str) -> None:
    """Trace every engine's statements (single executes; executemany is only used by writes) to `path`."""
    handle = open(path, 'a', buffering=1, encoding='utf-8')  # open for the life of the process
    lock = threading.Lock()

    @event.listens_for(Engine, 'before_cursor_execute')
    def trace(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
        if executemany or isinstance(parameters, dict):
            return
        line = json.dumps([statement, [encode(value) for value in parameters or ()]], default=str)
        with lock:
            handle.write(line + '\n')


if __name__ == '__main__':
    install(os.environ[TRACE_ENV])
    runpy.run_module('appliance.main', run_name='__main__')
