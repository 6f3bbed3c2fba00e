"""A busy database seen from a page: a sentence in a notification, not a silent failure or a stack trace."""

from __future__ import annotations

import sqlite3

import pytest
from nicegui.testing import User as UIUser

from appliance.config import get_settings
from appliance.models import ApiToken
from tests.appliance.support import count, short_busy_timeout_fixture, sign_in_url  # noqa: F401 - fixture
from tests.conftest import POSTGRES_URL, People
from tests.support.ui import click


@pytest.mark.skipif(bool(POSTGRES_URL), reason='holds an SQLite write lock')
async def test_it_says_the_server_is_busy_when_an_action_cannot_get_the_database(
    user: UIUser, people: People, short_busy_timeout: None
) -> None:
    await user.open(sign_in_url('bob', next_path='/profile'))
    await user.should_see(marker='create-token')
    user.find(marker='token-name').type('script')
    holder = sqlite3.connect(get_settings().data_dir / 'enclave.db', isolation_level=None)
    holder.execute('BEGIN IMMEDIATE')
    try:
        await click(user, marker='create-token')
        await user.should_see('The server is busy with other changes. Nothing was saved; try again in a moment.')
    finally:
        holder.execute('ROLLBACK')
        holder.close()
    assert count(ApiToken) == 0
    user.find(marker='create-token').click()
    await user.should_see(marker='token:script')
