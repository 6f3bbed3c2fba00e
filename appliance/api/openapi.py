"""The OpenAPI document of /api/v1, served locally (no CDN-hosted docs page)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts
from nicegui import app

from appliance import __version__

router = APIRouter(include_in_schema=False)
_cache: dict[str, Any] = {}


@router.get('/api/v1/openapi.json')
def openapi() -> dict[str, Any]:
    """The schema of every /api/v1 route, built once."""
    if 'doc' not in _cache:
        # FastAPI keeps an included router as one lazy route; its route contexts are the real paths.
        routes = [ctx for ctx in iter_route_contexts(app.routes) if (ctx.path or '').startswith('/api/v1/')]
        doc = get_openapi(
            title='Enclave API',
            version=__version__,
            routes=routes,
            description='Authenticate with a personal access token: `Authorization: Bearer <token>`. '
            'Errors have the shape {"error": {"code": ..., "message": ...}}.',
        )
        doc.setdefault('components', {})['securitySchemes'] = {'token': {'type': 'http', 'scheme': 'bearer'}}
        doc['security'] = [{'token': []}]
        _cache['doc'] = doc
    return _cache['doc']  # type: ignore[no-any-return]
