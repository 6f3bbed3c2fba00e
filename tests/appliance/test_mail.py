"""E-mail through a real SMTP server (aiosmtpd on 127.0.0.1, a random port): settings, test mail, the outbox."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update

from appliance.db import get_database
from appliance.errors import Conflict, PermissionDenied, ValidationError
from appliance.models import AuditEvent, Notification, OrgSetting, User
from appliance.scheduler import CORE_JOBS
from appliance.services import mail
from modules.tasks.services import comments
from tests.modules import conftest as module_fixtures
from tests.modules.conftest import Team, make_project, make_task

# The module tests' fixtures: the registry with projects and tasks, and the team.
module_registry = module_fixtures.module_registry
team = module_fixtures.team


@dataclass
class Sink:
    """An SMTP handler that keeps what it receives (or refuses every recipient)."""

    refuse: bool = False
    received: list[Any] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse:
            return '550 5.1.1 No such mailbox here'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default))
        )
        return '250 OK'


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return int(probe.getsockname()[1])


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b'relay-user', b'relay-secret')
    return AuthResult(success=ok)


def _relay(sink: Sink, **kwargs: Any) -> Controller:
    controller = Controller(sink, hostname='127.0.0.1', port=_free_port(), **kwargs)
    controller.start()
    return controller


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    controller = _relay(handler)
    yield handler, controller.port
    controller.stop()


def _actor(user: User) -> User:
    with get_database().session() as session:
        actor = session.get(User, user.id)
        assert actor is not None
        session.expunge(actor)
        return actor


def _configure(team: Team, port: int, **changes: Any) -> None:
    values: dict[str, Any] = {
        'enabled': True,
        'host': '127.0.0.1',
        'port': port,
        'security': 'none',
        'from_address': 'enclave@example.lan',
        'site_url': 'https://enclave.example.lan',
    }
    values.update(changes)
    with get_database().session() as session:
        mail.save(session=session, actor=_actor(team.alice), config=mail.MailSettings(**values))


def _set_email(user: User, address: str, language: str = 'en') -> None:
    with get_database().session() as session:
        session.execute(update(User).where(User.id == user.id).values(email=address, language=language))


def _states() -> list[tuple[str, int]]:
    with get_database().session() as session:
        return [
            (n.email_state, n.email_attempts) for n in session.scalars(select(Notification).order_by(Notification.id))
        ]


def test_it_is_off_by_default_and_connects_nowhere(team: Team) -> None:
    with get_database().session() as session:
        assert mail.load(session).enabled is False
    project = make_project(members={team.bob.id: 'member', team.dave.id: 'member'})
    task = make_task(project=project)
    _set_email(team.dave, 'dave@example.lan')
    with get_database().session() as session:
        comments.add_comment(session=session, actor=_actor(team.bob), task_id=task.id, body='@dave hi')
    assert _states() == [('', 0)]  # not queued for e-mail at all
    assert mail.deliver_pending() == mail.DeliveryReport()
    assert 'core.deliver_mail' in {job.id for job in CORE_JOBS}


def test_it_mails_a_mention_with_the_right_recipient_subject_and_body(team: Team, sink: tuple[Sink, int]) -> None:
    handler, port = sink
    _configure(team, port)
    project = make_project(members={team.bob.id: 'member', team.dave.id: 'member', team.alice.id: 'member'})
    task = make_task(project=project, title='Fix the login')
    _set_email(team.dave, 'dave@example.lan')
    _set_email(team.alice, '')  # alice watches but has no address: skipped, nothing fails
    with get_database().session() as session:
        comments.add_comment(session=session, actor=_actor(team.alice), task_id=task.id, body='watching')
    with get_database().session() as session:
        comment = comments.add_comment(
            session=session, actor=_actor(team.bob), task_id=task.id, body='@dave can you **check** this?'
        )
        comment_id = comment.id
    report = mail.deliver_pending()
    assert (report.sent, report.failed, report.skipped) == (1, 0, 1)
    ((rcpt, message),) = handler.received
    assert rcpt == ['dave@example.lan']
    assert message['To'] == 'dave@example.lan'
    assert message['Subject'] == 'Bob 张伟 mentioned you in WEB-1 Fix the login'
    assert 'enclave@example.lan' in message['From']
    body = message.get_content()
    assert '@dave can you check this?' in body  # the words of the comment, without its Markdown
    assert f'https://enclave.example.lan/tasks/{task.id}#comment-{comment_id}' in body
    assert sorted(_states()) == [('', 0), ('sent', 1)]
    assert mail.deliver_pending().sent == 0  # nothing sent twice


def test_it_writes_the_mail_in_the_recipients_language(team: Team, sink: tuple[Sink, int]) -> None:
    from appliance import i18n

    handler, port = sink
    _configure(team, port)
    project = make_project(members={team.bob.id: 'member', team.dave.id: 'member'})
    task = make_task(project=project, title='修复登录')
    _set_email(team.dave, 'dave@example.lan', language='zh_CN')
    with get_database().session() as session:
        comments.add_comment(session=session, actor=_actor(team.bob), task_id=task.id, body='@dave 请看')
    assert mail.deliver_pending().sent == 1
    msgid = '{actor} mentioned you in {title}'
    expected = i18n.catalog('zh_CN').get(msgid, msgid).format(actor='Bob 张伟', title='WEB-1 修复登录')
    assert handler.received[0][1]['Subject'] == expected


def test_it_marks_refused_mail_failed_and_gives_up_after_three_tries(team: Team) -> None:
    handler = Sink(refuse=True)
    controller = _relay(handler)
    try:
        _configure(team, controller.port)
        project = make_project(members={team.bob.id: 'member', team.dave.id: 'member'})
        task = make_task(project=project)
        _set_email(team.dave, 'dave@example.lan')
        with get_database().session() as session:
            comments.add_comment(session=session, actor=_actor(team.bob), task_id=task.id, body='@dave hello')
        for attempt in (1, 2, 3):
            assert mail.deliver_pending().failed == 1
            assert _states() == [('failed', attempt)]
        assert mail.deliver_pending() == mail.DeliveryReport()  # no fourth try
        assert handler.received == []
    finally:
        controller.stop()


def test_it_survives_a_relay_that_cannot_be_reached(team: Team) -> None:
    _configure(team, _free_port())  # nothing listens there
    project = make_project(members={team.bob.id: 'member', team.dave.id: 'member'})
    task = make_task(project=project)
    _set_email(team.dave, 'dave@example.lan')
    with get_database().session() as session:
        comments.add_comment(session=session, actor=_actor(team.bob), task_id=task.id, body='@dave hello')
    assert mail.deliver_pending().failed == 1
    assert _states() == [('failed', 1)]


def test_it_sends_a_test_mail_with_the_stored_encrypted_password(team: Team) -> None:
    handler = Sink()
    controller = _relay(handler, auth_require_tls=False, authenticator=_authenticator)
    try:
        _configure(team, controller.port, username='relay-user', password='relay-secret')
        with get_database().session() as session:
            stored = session.get(OrgSetting, 'smtp_password')
            assert stored is not None and 'relay-secret' not in stored.value
        _configure(team, controller.port, username='relay-user', password='')  # empty: keep the stored one
        with get_database().session() as session:
            assert mail.send_test(session=session, actor=_actor(team.alice), to='it@example.lan') == 'it@example.lan'
        ((rcpt, message),) = handler.received
        assert rcpt == ['it@example.lan'] and message['Subject'] == 'Test e-mail from Enclave'
        _configure(team, controller.port, security='tls')  # the relay speaks plain SMTP: the handshake fails
        with pytest.raises(Conflict) as caught, get_database().session() as session:
            mail.send_test(session=session, actor=_actor(team.alice), to='it@example.lan')
        assert str(caught.value).startswith('The relay refused or could not be reached: ')
    finally:
        controller.stop()
    with get_database().session() as session:
        events = [e.details for e in session.scalars(select(AuditEvent).where(AuditEvent.action == 'settings.mail'))]
    assert events and all('relay-secret' not in e and 'wrong' not in e for e in events)


@pytest.mark.parametrize(
    ('changes', 'field'),
    [
        ({'host': ''}, 'smtp_host'),
        ({'port': 0}, 'smtp_port'),
        ({'port': 70000}, 'smtp_port'),
        ({'security': 'ssl3'}, 'smtp_security'),
        ({'from_address': 'not an address'}, 'smtp_from'),
        ({'from_address': ''}, 'smtp_from'),
        ({'host': 'bad host!'}, 'smtp_host'),
    ],
)
def test_it_refuses_bad_settings_and_keeps_the_old_ones(team: Team, changes: dict[str, Any], field: str) -> None:
    _configure(team, 2525)
    with pytest.raises(ValidationError) as caught:
        _configure(team, **{'port': 2525, **changes})
    assert caught.value.field == field
    with get_database().session() as session:
        config = mail.load(session)
    assert (config.host, config.port, config.from_address) == ('127.0.0.1', 2525, 'enclave@example.lan')


def test_it_lets_only_admins_change_or_test_mail(team: Team) -> None:
    with pytest.raises(PermissionDenied), get_database().session() as session:
        mail.save(session=session, actor=_actor(team.bob), config=mail.MailSettings(enabled=False))
    with pytest.raises(PermissionDenied), get_database().session() as session:
        mail.send_test(session=session, actor=_actor(team.charlie), to='x@example.lan')
    with pytest.raises(PermissionDenied), get_database().session() as session:
        mail.get_settings_for_admin(session=session, actor=_actor(team.charlie))
