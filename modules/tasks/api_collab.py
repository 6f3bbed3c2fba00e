"""REST API for comments, time entries, attachments, the calendar feed and CSV. PLACEHOLDER: being written."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix='/api/v1', tags=['tasks'])
