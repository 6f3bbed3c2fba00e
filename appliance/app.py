"""Start-up: settings, secrets, database and schema guard, modules, pages, API, middleware, scheduler."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import APIRouter
from nicegui import app, core

from appliance import diskspace, i18n, logs
from appliance.api import ca, health, openapi
from appliance.api import core as api_core
from appliance.api import directory as api_directory
from appliance.api import errors as api_errors
from appliance.api import notifications as api_notifications
from appliance.config import Settings, check_data_dir, get_settings, prepare_data_dir
from appliance.db import get_database, init_database
from appliance.leader import Leadership, lock_for
from appliance.migrate import ensure_current, upgrade
from appliance.modules import build_registry
from appliance.scheduler import create_scheduler
from appliance.secrets import check_data_key, record_key_check, session_secret
from appliance.services import touches
from appliance.ui import (
    frame,
    memory,
    pages_admin,
    pages_auth,
    pages_directory,
    pages_home,
    pages_notifications,
    pages_profile,
)
from appliance.web import maintenance, sessions
from appliance.web.compression import TextGZipMiddleware
from appliance.web.failures import FailureMiddleware
from appliance.web.maintenance import MaintenanceMiddleware
from appliance.web.proxy import TrustedProxyMiddleware
from appliance.web.security import SecurityMiddleware

log = logging.getLogger('enclave')
API_THREADS = 8
"""Sync API routes running at once (see `_limit_threads`)."""


def build(settings: Settings | None = None, *, migrate: bool = False, module_package: str = 'modules') -> Settings:
    """Wire everything onto NiceGUI's app. Raises SchemaError / ModuleError with a message for the admin."""
    settings = settings or get_settings()
    check_data_dir(settings)
    database = init_database(settings.sqlalchemy_url)
    # Before anything is written: a missing or replaced data key would make every encrypted field unreadable.
    check_data_key(settings.data_dir, database.engine)
    prepare_data_dir(settings)
    logs.configure(settings)
    maintenance.use_data_dir(settings.data_dir)
    from nicegui.storage import Storage

    from appliance.ui import nicegui_patches

    nicegui_patches.apply()
    Storage.path = settings.data_dir / 'nicegui'
    if migrate:
        upgrade(database.engine)
    ensure_current(database.engine)
    record_key_check(settings.data_dir, database.engine)
    # Space held back for deletes and cleanup when the disk fills (released by the disk-full paths and the job).
    diskspace.create_reserve(settings.data_dir)
    diskspace.watch_database(database.engine, settings.data_dir)

    registry = build_registry(settings.enabled_modules, package=module_package)
    i18n.DEFAULT_LANGUAGE = settings.default_language

    # Socket.IO from another origin is refused (engine.io's same-origin check, proxy headers included).
    core.sio.eio.cors_allowed_origins = None
    # Innermost of ours: an error's answer still gets the security headers.
    app.add_middleware(FailureMiddleware)
    app.add_middleware(MaintenanceMiddleware)
    app.add_middleware(SecurityMiddleware, https=settings.https)
    # Outermost, so that everything below sees the client's own address: forwarded headers only from the proxy.
    app.add_middleware(TrustedProxyMiddleware, socket=bool(settings.socket), trusted=settings.trusted_proxies)
    api_errors.install(app)
    # FastAPI wraps the app's lifespan around each included router's (ours have none). Keep NiceGUI's as it is,
    # or every build in one process (each UI test builds the app again) nests it one level deeper.
    lifespan = app.router.lifespan_context
    routers: list[APIRouter] = [
        health.router,
        ca.router,
        openapi.router,
        sessions.router,
        api_core.router,
        api_directory.router,
        api_notifications.router,
    ]
    routers += [spec.api_router() for spec in registry.modules() if spec.api_router is not None]
    for router in routers:
        app.include_router(router)
    app.router.lifespan_context = lifespan

    pages_auth.register()
    frame.install()
    memory.install()
    pages_home.register()
    pages_profile.register()
    pages_admin.register()
    pages_directory.register()
    pages_notifications.register()
    for spec in registry.modules():
        if spec.register_pages is not None:
            spec.register_pages()
    if settings.scheduler_enabled:
        # With several workers only the one holding the lock runs the jobs (appliance.leader).
        leadership = Leadership(create_scheduler(registry), lock_for(database, settings.data_dir))
        app.on_startup(leadership.start)
        app.on_shutdown(leadership.stop)
    _flush_touches()
    app.on_startup(_limit_threads)
    # A clean stop merges the write-ahead log into enclave.db, so the file alone holds every commit.
    app.on_shutdown(lambda: get_database().close())
    return settings


def _limit_threads() -> None:
    """FastAPI runs sync routes on anyio's thread pool, 40 threads by default. Every runnable thread takes turns at
    the GIL with the event loop, so 40 busy routes leave the loop a fortieth of the CPU and every page and socket
    waits; past a few threads per core they add no throughput either. Requests beyond the limit wait, cheaply, on
    the loop."""
    import anyio.to_thread

    anyio.to_thread.current_default_thread_limiter().total_tokens = API_THREADS


def _flush_touches() -> None:
    """Last-seen times are written in batches while the app runs, and what is pending at a clean stop."""
    tasks: list[asyncio.Task[None]] = []

    def start() -> None:
        tasks.append(asyncio.get_running_loop().create_task(touches.flush_forever(), name='enclave-touches'))

    def stop() -> None:
        for task in tasks:
            task.cancel()
        tasks.clear()
        try:
            touches.flush_now()
        except Exception:  # a stop must finish; the times are only "last seen"
            log.warning('could not write last-seen times at shutdown', exc_info=True)

    app.on_startup(start)
    app.on_shutdown(stop)


def run_kwargs(settings: Settings) -> dict[str, object]:
    """Arguments for ui.run shared by `enclave serve` and the tests."""
    # uvicorn's proxy headers are off: TrustedProxyMiddleware believes them only from the proxy (appliance.web.proxy).
    listen: dict[str, object] = {'host': settings.host, 'port': settings.port, 'proxy_headers': False}
    if settings.socket:
        # Only the local proxy connects to the socket; uvicorn makes it 0666, like a loopback port. The host stays a
        # loopback address: with 0.0.0.0 NiceGUI would list the box's interfaces over netlink, which the unit denies.
        listen = {'host': '127.0.0.1', 'port': settings.port, 'uds': settings.socket, 'proxy_headers': False}
    return {
        **listen,
        'title': 'Enclave',
        'reload': False,
        'show': False,
        'storage_secret': session_secret(settings.data_dir),
        'session_middleware_kwargs': {'https_only': settings.https, 'same_site': 'lax'},
        'show_welcome_message': False,
        'fastapi_docs': False,
        'gzip_middleware_factory': TextGZipMiddleware,
        'favicon': Path(__file__).parent / 'static' / 'favicon.svg',
    }
