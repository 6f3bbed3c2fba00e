"""Uploading an upgrade bundle into the upgrades folder (under /api/v1).

The route accepts the browser's session cookie as well as a token (the Upgrade page uploads through it); the
same-origin check of `BrowserOrApiActor` guards the cookie."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from appliance.api import uploads
from appliance.api.deps import BrowserOrApiActor, Router
from appliance.config import get_settings
from appliance.errors import ValidationError
from console.upgrade import services

router = Router(prefix='/api/v1', tags=['console'])


class BundleOut(BaseModel):
    """A bundle now waiting in the upgrades folder."""

    name: str
    size: int


@router.put(
    '/console/upgrade/bundles',
    response_model=BundleOut,
    status_code=201,
    summary='Upload an upgrade bundle (raw body)',
    description='Send the bundle as the request body and its file name (enclave-<version>-bundle.tar) in '
    '`?filename=`. The body is streamed to the data volume; over the size limit or the free space the answer is '
    '413 or 422 before the first byte is kept. Check it afterwards on the Upgrade page or with '
    '`enclave upgrade check`.',
)
async def upload_bundle(
    request: Request,
    actor: BrowserOrApiActor,
    filename: Annotated[str, Query(min_length=1, max_length=200)],
) -> Any:
    """Stream the raw body into the upgrades folder."""
    length = request.headers.get('content-length', '')
    try:
        received = await services.receive_bundle(
            settings=get_settings(),
            actor=actor,
            filename=filename,
            declared=int(length) if length.isdigit() else None,
            chunks=request.stream(),
        )
    except ValidationError as error:
        if uploads.is_too_large(error):
            return uploads.too_large_response(request, error)
        raise
    return JSONResponse(BundleOut(name=received.name, size=received.size).model_dump(), status_code=201)
