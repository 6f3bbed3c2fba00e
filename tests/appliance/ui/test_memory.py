"""A closed tab's page is freed: its client, its elements and what its handlers close over, once NiceGUI deletes
the client after the socket went; and its tab storage goes with it (appliance/ui/memory.py and the patches)."""

from __future__ import annotations

import asyncio
import gc
import weakref

from nicegui import Client, app, core
from nicegui.element import Element
from nicegui.testing import User as UIUser

from appliance.ui.memory import Sweeper
from tests.appliance.support import sign_in_url
from tests.conftest import People


async def _close_tab(client: Client) -> None:
    """What NiceGUI does when the browser tab closes: its socket disconnects; the client goes after the page's
    reconnect timeout (shortened here; the page object is this client's own copy, made by the guard)."""
    client.page.reconnect_timeout = 0.01
    for socket_id in list(client._socket_to_document_id):
        client.handle_disconnect(socket_id)
    for _ in range(100):
        if client.is_deleted:
            break
        await asyncio.sleep(0.01)
    assert client.is_deleted
    await asyncio.sleep(0.05)  # its elements' tasks (the bell's timer) see the deletion


async def test_a_closed_tab_s_page_is_freed(user: UIUser, people: People) -> None:
    client = await user.open(sign_in_url('bob'))
    await user.should_see(marker='welcome')
    tab_id = client.tab_id
    assert tab_id in core.app.storage._tabs
    refs = [weakref.ref(client)] + [weakref.ref(element) for element in client.elements.values()]
    assert len(refs) > 10  # the home page: the client, the frame, the cards
    user.client = None  # the simulated browser lets go of it, as a closed tab does
    await _close_tab(client)
    del client
    for _ in range(50):  # the client's outbox loop notices within a tenth of a second that it was stopped
        gc.collect()
        if all(ref() is None for ref in refs):
            break
        await asyncio.sleep(0.05)
    alive = [ref() for ref in refs if ref() is not None]
    alive = [ref() for ref in refs if ref() is not None]
    assert alive == [], [type(obj).__name__ for obj in alive[:10]]
    assert tab_id not in core.app.storage._tabs
    assert not any(isinstance(obj, Element) and obj.is_deleted for obj in gc.get_objects())


async def test_a_sweep_follows_the_deletions_once(user: UIUser, people: People) -> None:
    sweeper = Sweeper(delay=0.05, min_interval=0.0)
    app.on_delete(sweeper.client_deleted)
    first = await user.open(sign_in_url('bob'))
    await user.should_see(marker='welcome')
    second = await user.open('/')
    await user.should_see(marker='welcome')
    await asyncio.gather(_close_tab(first), _close_tab(second))
    await asyncio.sleep(0.2)
    assert sweeper.sweeps == 1


def test_the_appliance_and_make_run_serve_with_the_system_malloc() -> None:
    from pathlib import Path

    from appliance.ui.memory import SERVER_MEMORY_ENV

    repo = Path(__file__).resolve().parents[3]
    unit = (repo / 'systemd' / 'enclave.service').read_text()
    run = (repo / 'Makefile').read_text().split('\nrun:', 1)[1].split('\n\n', 1)[0]
    for name, value in SERVER_MEMORY_ENV.items():
        assert f'Environment={name}={value}\n' in unit
        assert f'{name}={value} ' in run
    assert 'libjemalloc2' in (repo / 'provisioning' / 'bundle.py').read_text()  # the appliance has it


def test_it_collects_less_often_once_started() -> None:
    from appliance.ui.memory import THRESHOLDS, freeze

    before = gc.get_threshold()
    try:
        freeze()
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
