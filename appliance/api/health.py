"""GET /healthz: no auth, no secrets (the version, the uptime and which worker answered); 200 when the process,
the database, the schema and the data disk are fine.

The data disk answers 'ok', 'low' (90% used: still 200) or 'full' (95% used, or so little free that uploads stop: 503,
because writes fail and a monitor should say so).
"""

from __future__ import annotations

import os
import time
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import text

from appliance import __version__, diskspace
from appliance.api.deps import Router
from appliance.config import get_settings
from appliance.db import get_database
from appliance.migrate import schema_state
from appliance.workers import WORKER_ENV

router = Router(include_in_schema=False)
STARTED = time.monotonic()
WORKER = int(os.environ.get(WORKER_ENV, '') or 1)


@router.get('/healthz')
def healthz() -> JSONResponse:
    """Liveness and readiness in one: 503 with the failing part named when something is wrong."""
    checks: dict[str, Any] = {}
    status = 'ok'
    try:
        engine = get_database().engine
        with engine.connect() as connection:
            connection.execute(text('SELECT 1'))
        checks['database'] = 'ok'
        state = schema_state(engine)
        checks['migrations'] = 'ok' if state.up_to_date else 'pending' if not state.unknown else 'unknown revision'
        if not state.up_to_date:
            status = 'error'
    except Exception:  # noqa: BLE001 - any failure here means "not healthy"
        checks['database'] = 'unreachable'
        status = 'error'
    try:
        checks['disk'] = diskspace.grade(diskspace.space(get_settings().data_dir))
    except OSError:
        checks['disk'] = 'unreadable'
    if checks['disk'] != 'ok' and checks['disk'] != 'low':
        status = 'error'
    body = {
        'status': status,
        'version': __version__,
        'uptime_seconds': int(time.monotonic() - STARTED),
        # Which of the app's processes answered (appliance.workers): 1 when there is one.
        'worker': WORKER,
        'checks': checks,
    }
    return JSONResponse(body, status_code=200 if status == 'ok' else 503)
