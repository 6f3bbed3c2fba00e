"""The OpenAPI document of /api/v1, served locally (no CDN-hosted docs page).

FastAPI documents only the success answer (and a 422 in a shape we do not use). Every operation here also lists
the errors it can give, each with the one error shape: 401/403 when it needs a token, 404 when it names or refers
to something, 409 when it changes something, 413 when it takes a file, 422 for bad input, and 503/507 for a busy
database or a full disk, which any operation can meet.
"""

from __future__ import annotations

from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from nicegui import app

from appliance import __version__
from appliance.api.deps import Router, api_user, request_user

router = Router(include_in_schema=False)
_cache: dict[str, Any] = {}

ERROR_SCHEMA: dict[str, Any] = {
    'type': 'object',
    'required': ['error'],
    'additionalProperties': False,
    'properties': {
        'error': {
            'type': 'object',
            'required': ['code', 'message'],
            'properties': {
                'code': {'type': 'string', 'description': 'Stable, for programs: not_found, invalid, conflict, ...'},
                'message': {'type': 'string', 'description': "A sentence for people, in the caller's language."},
                'field': {'type': 'string', 'description': 'The input the error is about, when there is one.'},
            },
        }
    },
}

ERRORS = {
    '400': 'The body could not be read at all (not JSON, or not UTF-8).',
    '401': 'No valid token (or session), or the token was revoked.',
    '403': 'The caller lacks the permission this needs.',
    '404': 'It does not exist, or the caller may not see it.',
    '409': 'It clashes with the current state (a duplicate name, a last manager, ...).',
    '413': 'The file is over the configured size limit.',
    '422': 'Bad input: the message names the field and what is wrong; nothing was changed.',
    '503': 'The database is busy with other writers: nothing was changed; try again after Retry-After seconds.',
    '507': 'The server’s disk is full: nothing was saved.',
}
UNSAFE = {'post', 'put', 'patch', 'delete'}


def _needs_token(dependant: Dependant) -> bool:
    return any(dep.call in (api_user, request_user) or _needs_token(dep) for dep in dependant.dependencies)


def _errors_of(method: str, path: str, operation: dict[str, Any], authenticated: bool) -> list[str]:
    codes = ['503', '507']
    if authenticated:
        codes += ['401', '403']
    takes_input = bool(operation.get('parameters')) or 'requestBody' in operation
    if '{' in path or (authenticated and (takes_input or method in UNSAFE)):
        codes.append('404')
    if method in UNSAFE and authenticated:
        codes.append('409')
    if takes_input:
        codes.append('422')
    if 'requestBody' in operation:
        codes.append('400')
    body = operation.get('requestBody', {}).get('content', {})
    if 'multipart/form-data' in body or 'attachments' in path or '/import' in path:
        codes.append('413')
    return sorted(codes)


def document(routes: list[Any]) -> dict[str, Any]:
    """The OpenAPI document of these route contexts, with every error answer described."""
    doc = get_openapi(
        title='Enclave API',
        version=__version__,
        routes=routes,
        description='Authenticate with a personal access token: `Authorization: Bearer <token>`. '
        'Errors have the shape {"error": {"code": ..., "message": ...}}.',
    )
    components = doc.setdefault('components', {})
    components['securitySchemes'] = {'token': {'type': 'http', 'scheme': 'bearer'}}
    schemas = components.setdefault('schemas', {})
    schemas.pop('HTTPValidationError', None)
    schemas.pop('ValidationError', None)
    schemas['Error'] = ERROR_SCHEMA
    doc['security'] = [{'token': []}]
    authenticated: dict[tuple[str, str], bool] = {}
    for ctx in routes:
        route = ctx.original_route
        if isinstance(route, APIRoute) and ctx.path_format:
            for method in route.methods or ():
                authenticated[(method.lower(), ctx.path_format)] = _needs_token(route.dependant)
    for path, operations in doc.get('paths', {}).items():
        for method, operation in operations.items():
            needs_token = authenticated.get((method, path), True)
            if not needs_token:
                operation['security'] = []
            responses = operation.setdefault('responses', {})
            for code in _errors_of(method, path, operation, needs_token):
                responses[code] = {
                    'description': ERRORS[code],
                    'content': {'application/json': {'schema': {'$ref': '#/components/schemas/Error'}}},
                }
                if code == '503':
                    responses[code]['headers'] = {'Retry-After': {'schema': {'type': 'integer'}}}
    return doc


@router.get('/api/v1/openapi.json')
def openapi() -> dict[str, Any]:
    """The schema of every /api/v1 route, built once."""
    if 'doc' not in _cache:
        # FastAPI keeps an included router as one lazy route; its route contexts are the real paths.
        routes = [ctx for ctx in iter_route_contexts(app.routes) if (ctx.path or '').startswith('/api/v1/')]
        _cache['doc'] = document(routes)
    return _cache['doc']  # type: ignore[no-any-return]
