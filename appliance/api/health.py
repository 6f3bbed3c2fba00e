"""GET /healthz: no auth, no secrets; 200 when the process, the database, the schema and the data disk are fine.

The data disk answers 'ok', 'low' (90% used: still 200) or 'full' (95% used, or so little free that uploads stop: 503,
because writes fail and a monitor should say so).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import text

from appliance import __version__, diskspace
from appliance.api.deps import Router
from appliance.config import get_settings
from appliance.db import get_database
from appliance.migrate import schema_state

router = Router(include_in_schema=False)
STARTED = time.monotonic()


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
        'checks': checks,
    }
    return JSONResponse(body, status_code=200 if status == 'ok' else 503)
