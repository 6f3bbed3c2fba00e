"""alice sets up the relay on /admin/mail and sends a test e-mail to a real local SMTP server; others kept out."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from nicegui.testing import User as UIUser

from appliance.db import get_database
from appliance.services import mail
from tests.appliance.support import fast_hashing, sign_in_url  # noqa: F401 - autouse
from tests.conftest import People


class Sink:
    """Keeps the recipients of each message."""

    def __init__(self) -> None:
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.recipients.append(list(envelope.rcpt_tos))
        return '250 OK'


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return int(probe.getsockname()[1])


async def test_it_saves_the_relay_and_sends_a_test_mail(user: UIUser, people: People) -> None:
    sink = Sink()
    controller = Controller(sink, hostname='127.0.0.1', port=_free_port())
    controller.start()
    try:
        await user.open(sign_in_url('alice', next_path='/admin/mail'))
        user.find(marker='smtp-host').type('127.0.0.1')
        port = user.find(marker='smtp-port').elements.pop()
        port.value = controller.port
        user.find(marker='smtp-security').elements.pop().value = 'none'
        user.find(marker='smtp-from').type('enclave@example.lan')
        user.find(marker='smtp-enabled').click()
        user.find(marker='save-mail').click()
        await user.should_see('Saved.')
        with get_database().session() as session:
            config = mail.load(session)
        assert (config.enabled, config.host, config.port, config.security) == (
            True,
            '127.0.0.1',
            controller.port,
            'none',
        )
        user.find(marker='test-to').type('it@example.lan')
        user.find(marker='send-test').click()
        for _ in range(50):
            if sink.recipients:
                break
            await asyncio.sleep(0.05)
        await user.should_see('Sent to it@example.lan. Check the mailbox.')
        assert sink.recipients == [['it@example.lan']]
    finally:
        controller.stop()


async def test_it_says_why_a_save_was_refused(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('alice', next_path='/admin/mail'))
    user.find(marker='smtp-enabled').click()
    user.find(marker='save-mail').click()
    await user.should_see('Enter the relay host before turning e-mail on.')
    with get_database().session() as session:
        assert mail.load(session).enabled is False


@pytest.mark.parametrize('who', ['bob', 'charlie'])
async def test_it_keeps_non_admins_out(user: UIUser, people: People, who: str) -> None:
    await user.http_client.get(sign_in_url(who), follow_redirects=False)
    response = await user.http_client.get('/admin/mail')
    assert response.status_code == 403
