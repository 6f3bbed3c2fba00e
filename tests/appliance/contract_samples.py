"""The core's samples for the contract test: what the /api/v1/users, tokens and notifications routes need."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from appliance.db import get_database
from appliance.models import Notification, User
from appliance.services import directory, notifications, tokens
from tests.conftest import People
from tests.support.contract import SECRET


def accounts(people: People, found: Mapping[str, Any]) -> dict[str, Any]:
    """bob's account (alice administers it), a token and a notification of his, and a search for the secret."""
    with get_database().session() as session:
        bob = session.get(User, people.bob.id)
        alice = session.get(User, people.alice.id)
        assert bob is not None and alice is not None
        token = tokens.create_token(session=session, actor=bob, name='contract')[0]
        notifications.notify(
            session, user_ids=[bob.id], module='tasks', kind='commented', title=SECRET, url='/tasks/1', actor=alice
        )
        session.flush()
        notification = session.scalars(select(Notification.id).where(Notification.user_id == bob.id)).one()
        return {'user_id': bob.id, 'token_id': token.id, 'notification_id': notification, 'q': SECRET.split()[0]}


def departments(people: People, found: Mapping[str, Any]) -> dict[str, Any]:
    """A department alice made (the directory: every member reads it, only user admins change it)."""
    with get_database().session() as session:
        made = directory.create_department(session, people.alice, name='合同测试部 Contract')
        directory.place_user(session, people.alice, people.bob.id, main_department_id=made.id)
        return {'department_id': made.id}


SAMPLES = [accounts, departments]
