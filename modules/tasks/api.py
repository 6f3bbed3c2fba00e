"""REST API for tasks, statuses, labels, dependencies, checklists (under /api/v1). PLACEHOLDER: being written."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix='/api/v1', tags=['tasks'])
