"""The logs part's public surface: reading the app log back (`logview`), the support bundle (`support`) and the
error-rate health check. Pages and other parts import only this package."""

from __future__ import annotations

from console.logs.services.checks import error_rate
from console.logs.services.logview import LEVELS, LogFilter, LogPage, Record, count_since, read_page
from console.logs.services.support import Bundle, build_bundle, record_download

__all__ = [
    'LEVELS',
    'Bundle',
    'LogFilter',
    'LogPage',
    'Record',
    'build_bundle',
    'count_since',
    'error_rate',
    'read_page',
    'record_download',
]
