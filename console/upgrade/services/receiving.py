"""Receiving an upgrade bundle from the browser: streamed into the upgrades folder, size-limited, never whole in
memory, visible only once complete.

The bytes go to `<upgrades>/.incoming-<random>` (hidden: never listed, never checked) and are renamed to the bundle's
name once the last byte is fsynced. The declared size is refused before the first byte when it is over the limit or
would take the data volume below what uploads keep free; the limit holds again while the bytes come in. A dropped
connection or an error removes the partial file; what a killed process left is removed by the next upload after a
day.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path

from appliance.config import Settings
from appliance.db import get_database, run_db, run_write
from appliance.diskspace import space
from appliance.errors import N_, ValidationError
from appliance.fsutil import format_size, fsync_dir
from appliance.services import audit
from appliance.services.actors import Actor
from appliance.services.permissions import require
from console.upgrade.services.bundle import MAX_BYTES
from console.upgrade.services.planning import PERMISSION, upgrades_dir

NAME = re.compile(r'enclave-\d+(?:\.\d+){0,3}-bundle\.tar')
INCOMING = '.incoming-'
STALE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Received:
    """A bundle now waiting in the upgrades folder."""

    name: str
    size: int


def check_name(filename: str) -> str:
    """The bundle's file name as `make bundle` writes it; ValidationError for anything else (no paths)."""
    name = filename.strip()
    if not NAME.fullmatch(name):
        raise ValidationError(
            N_('Upload the bundle as it came: a file named enclave-<version>-bundle.tar, not "{name}".'),
            field='file',
            name=filename[:120],
        )
    return name


def too_large() -> ValidationError:
    """The bundle is over the size limit."""
    return ValidationError(
        N_('This file is larger than an Enclave bundle can be (at most {size}).'),
        field='file',
        size=format_size(MAX_BYTES),
        max_bytes=MAX_BYTES,
    )


def check_room(settings: Settings, declared: int | None) -> None:
    """Refuse a declared size over the limit, or one that would take the data volume below what uploads keep."""
    if declared is None:
        return
    if declared > MAX_BYTES:
        raise too_large()
    room = space(settings.data_dir)
    if room.free - declared < 2 * room.reserve:
        raise ValidationError(
            N_('The bundle needs {need} on the data volume and {free} is free. Free space first.'),
            field='file',
            need=format_size(declared),
            free=format_size(room.free),
        )


async def receive_bundle(
    *, settings: Settings, actor: Actor, filename: str, declared: int | None, chunks: AsyncIterable[bytes]
) -> Received:
    """Stream `chunks` into the upgrades folder as `filename` (see the module's docstring); audited."""
    await run_db(require, actor, PERMISSION)  # a refusal is audited: database work, off the event loop
    name = check_name(filename)
    check_room(settings, declared)
    # Folder work, file creation and every fsync in worker threads: never on the event loop.
    folder, fd, partial = await asyncio.to_thread(_open_partial, settings)
    size = 0
    try:
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > MAX_BYTES:
                    raise too_large()
                await asyncio.to_thread(os.write, fd, chunk)
            await asyncio.to_thread(os.fsync, fd)
        finally:
            os.close(fd)
        await asyncio.to_thread(_publish, partial, folder / name)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise

    def record() -> None:
        with get_database().session(write=True) as session:
            audit.record(
                session=session, actor=actor, action='console.upgrade_uploaded', target=name, details={'bytes': size}
            )

    await run_write(record)
    return Received(name=name, size=size)


def _open_partial(settings: Settings) -> tuple[Path, int, Path]:
    """The upgrades folder (stale partial uploads removed) and a new hidden file in it, open for writing."""
    folder = upgrades_dir(settings)
    _remove_stale(folder)
    partial = folder / f'{INCOMING}{secrets.token_hex(8)}'
    return folder, os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640), partial


def _publish(partial: Path, target: Path) -> None:
    """The whole bundle, under its own name."""
    os.replace(partial, target)
    fsync_dir(target.parent)


def _remove_stale(folder: Path) -> None:
    cutoff = time.time() - STALE_SECONDS
    for entry in os.scandir(folder):
        if entry.name.startswith(INCOMING) and entry.stat().st_mtime < cutoff:
            Path(entry.path).unlink(missing_ok=True)
