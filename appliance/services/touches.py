""" "Last seen" and "last used" times, kept in memory and written in one short transaction every few seconds.

Resolving a session cookie, an API token or a calendar feed happens on nearly every request; writing its
timestamp each time would make every read a writer that queues for the database's write lock. Instead, a read
notes the time here, and `flush` (every FLUSH_SECONDS, and at a clean stop) writes all noted times at once.
Readers in this process see the noted time at once (`seen`); other processes see it after the next flush, a
delay far below any idle timeout (the setting's minimum is one minute, the flush every FLUSH_SECONDS).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from appliance.db import Base

FLUSH_SECONDS = 15
"""How often noted times are written."""


class Touches:
    """Pending timestamps by (model, column, id); the latest wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[tuple[type[Base], str, int], datetime] = {}

    def note(self, model: type[Base], column: str, row_id: int, when: datetime) -> None:
        """Remember that row `row_id` of `model` was seen at `when` (written at the next flush)."""
        key = (model, column, row_id)
        with self._lock:
            known = self._pending.get(key)
            if known is None or when > known:
                self._pending[key] = when

    def seen(self, model: type[Base], column: str, row_id: int, stored: datetime | None) -> datetime | None:
        """The later of the stored time and one noted here but not written yet."""
        with self._lock:
            noted = self._pending.get((model, column, row_id))
        if noted is None:
            return stored
        return noted if stored is None or noted > stored else stored

    def clear(self) -> None:
        """Forget everything pending (a test's database is gone with its times)."""
        with self._lock:
            self._pending.clear()

    def pending(self) -> int:
        """How many timestamps wait to be written."""
        with self._lock:
            return len(self._pending)

    def flush(self, session: Session) -> int:
        """Write every noted time in the caller's (write) transaction; returns how many rows were touched.

        The times are taken out first and put back if the transaction fails, so none is lost and none is
        written twice; a row that was deleted meanwhile is simply not updated.
        """
        with self._lock:
            taken, self._pending = self._pending, {}
        try:
            for (model, column, row_id), when in sorted(taken.items(), key=_order):
                table: Any = model.__table__
                session.execute(
                    update(table)
                    .where(table.c.id == row_id, or_(table.c[column].is_(None), table.c[column] < when))
                    .values({column: when})
                )
            session.flush()
        except BaseException:
            for key, when in taken.items():
                self.note(*key, when)
            raise
        return len(taken)


def _order(item: tuple[tuple[type[Base], str, int], datetime]) -> tuple[str, str, int]:
    (model, column, row_id), _when = item
    return (model.__name__, column, row_id)


touches = Touches()
"""The process's pending timestamps."""


def flush_now() -> int:
    """Write the pending timestamps in a transaction of their own (a database thread, or a clean stop)."""
    from appliance.db import get_database

    if not touches.pending():
        return 0
    with get_database().session(write=True) as session:
        return touches.flush(session)


async def flush_forever() -> None:
    """Every FLUSH_SECONDS, write what is pending (started with the app, cancelled at its stop)."""
    import asyncio
    import logging

    from appliance.db import run_write

    while True:
        await asyncio.sleep(FLUSH_SECONDS)
        try:
            await run_write(flush_now)
        except Exception:  # a busy or full database: the times stay pending and go with the next flush
            logging.getLogger('enclave').warning('could not write last-seen times; trying again', exc_info=True)
