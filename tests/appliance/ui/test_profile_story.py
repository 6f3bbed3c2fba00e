"""bob looks after his own account: language, API tokens, two-factor, signing out."""

from __future__ import annotations

import time

import pyotp
from nicegui import ui
from nicegui.testing import User as UIUser

from appliance.db import get_database
from appliance.models import LoginSession, User
from appliance.services import orgsettings
from appliance.web.sessions import COOKIE
from tests.appliance.support import bearer, count, sign_in_url
from tests.conftest import People, reload_user
from tests.support.ui import click


async def test_it_offers_time_zones_by_region_and_city_and_saves_the_one_chosen(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('bob', next_path='/profile'))
    [select] = user.find(marker='timezone').elements
    assert isinstance(select, ui.select)
    assert select.options['Asia/Shanghai'].startswith('Asia · Shanghai · UTC+08:00')  # type: ignore[call-overload]
    assert 'ROC' not in select.options and 'UCT' not in select.options
    select.set_value('Asia/Shanghai')
    await click(user, marker='save-profile')
    assert reload_user(people.bob.id).timezone == 'Asia/Shanghai'


async def test_it_keeps_the_language_chosen_on_the_profile(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('bob', next_path='/profile'))
    user.find(marker='language').click()
    user.find('简体中文').click()
    await click(user, marker='save-profile')
    assert reload_user(people.bob.id).language == 'zh_CN'
    await user.open('/profile')
    [select] = user.find(marker='language').elements
    assert isinstance(select, ui.select) and select.value == 'zh_CN'


async def test_it_shows_a_new_token_once_and_the_token_works(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('bob', next_path='/profile'))
    user.find(marker='token-name').type('backup script')
    user.find(marker='create-token').click()
    await user.should_see(marker='token:backup script')
    [shown] = user.find(marker='new-token').elements
    raw = shown.text  # type: ignore[attr-defined]
    assert raw.startswith('enc_')
    await user.should_see('Token "backup script" created.')
    await user.should_see('Your new token. Copy it now: it is not shown again.')
    user.find(marker='copy-token').click()
    await user.should_see('Token copied.')
    response = await user.http_client.get('/api/v1/me', headers=bearer(raw))
    assert response.json()['username'] == 'bob'
    await user.open('/profile')
    await user.should_not_see(raw)
    await user.should_not_see(marker='copy-token')


async def test_it_signs_out_from_the_user_menu(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('bob'))
    await user.should_see(marker='welcome')
    user.find(marker='frame-header').trigger(
        'signOut'
    )  # the account menu's "Sign out" (appliance/static/frame_header.js)
    await user.should_see(marker='sign-in')
    assert count(LoginSession, LoginSession.ended_at.is_(None)) == 0
    assert COOKIE not in user.http_client.cookies
    response = await user.http_client.get('/', follow_redirects=False)
    assert response.headers['location'] == '/login?next=/'


async def test_it_makes_a_user_turn_on_two_factor_when_the_organisation_requires_it(
    user: UIUser, people: People
) -> None:
    with get_database().session() as session:
        orgsettings.put(session, 'require_2fa', '1')
    response = await user.http_client.get(sign_in_url('bob'), follow_redirects=True)
    assert str(response.url).endswith('/profile?enrol2fa=1')

    await user.open('/profile?enrol2fa=1')
    await user.should_see(marker='enrol-banner')
    [key] = user.find(marker='2fa-secret').elements
    secret = key.text.split(': ', 1)[1]  # type: ignore[attr-defined]
    user.find(marker='totp-code').type(pyotp.TOTP(secret).at(time.time()))
    user.find(marker='2fa-enable').click()
    await user.should_see(marker='2fa-on')
    assert reload_user(people.bob.id).totp_enabled
    await user.open('/')
    await user.should_see(marker='welcome')


async def test_it_serves_quasar_and_the_html_tag_in_the_readers_language(user: UIUser, people: People) -> None:
    with get_database().session() as session:
        session.get(User, people.bob.id).language = 'zh_CN'  # type: ignore[union-attr]
    await user.open(sign_in_url('bob'))
    chinese = (await user.http_client.get('/')).text
    english = (await user.http_client.get('/login', headers={'Accept-Language': 'en-US'})).text

    assert '<html lang="zh-CN">' in chinese and 'static/lang/zh-CN.umd.prod.js' in chinese
    assert '<html lang="en-US">' in english and 'static/lang/en-US.umd.prod.js' in english
