import time

import pyotp
from nicegui.testing import User as UIUser

from appliance.db import get_database
from appliance.services import twofactor
from appliance.web.sessions import COOKIE
from tests.appliance.support import audit_rows
from tests.conftest import PASSWORD, People


async def test_it_leads_to_the_setup_wizard_when_no_admin_exists(user: UIUser) -> None:
    await user.open('/')
    await user.should_see('Set up Enclave')


async def test_it_signs_in_and_shows_the_home_page(user: UIUser, people: People) -> None:
    await user.open('/login')
    user.find(marker='username').type('alice')
    user.find(marker='password').type(PASSWORD)
    user.find(marker='sign-in').click()
    await user.should_see(marker='welcome')
    await user.should_see('Welcome, Alice Admin.')


async def sign_in(user: UIUser, username: str, password: str = PASSWORD) -> None:
    user.find(marker='username').type(username)
    user.find(marker='password').type(password)
    user.find(marker='sign-in').click()


async def test_it_explains_a_wrong_password_and_stays_on_the_login_page(user: UIUser, people: People) -> None:
    await user.open('/login')
    await sign_in(user, 'alice', 'not-the-password')
    await user.should_see('Wrong username or password.')
    await user.should_not_see(marker='welcome')
    assert COOKIE not in user.http_client.cookies


async def test_it_asks_for_the_two_factor_code_when_it_is_on(user: UIUser, people: People) -> None:
    secret = pyotp.random_base32()
    with get_database().session() as session:
        twofactor.enable(session=session, actor=people.bob, secret=secret, code=pyotp.TOTP(secret).now())
    await user.open('/login')
    await sign_in(user, 'bob')
    await user.should_see('Enter the 6-digit code from your authenticator app.')
    user.find(marker='totp').type(pyotp.TOTP(secret).at(time.time() + 30))
    user.find(marker='sign-in').click()
    await user.should_see('Welcome, Bob 张伟.')


async def test_it_returns_to_the_page_asked_for_after_signing_in(user: UIUser, people: People) -> None:
    response = await user.http_client.get('/admin/audit', follow_redirects=False)
    assert response.headers['location'] == '/login?next=/admin/audit'
    await user.open(response.headers['location'])
    await sign_in(user, 'alice')
    await user.should_see(marker='audit-table')


async def test_it_ignores_a_next_page_on_another_site(user: UIUser, people: People) -> None:
    await user.open('/login?next=//evil.example/phish')
    await sign_in(user, 'alice')
    await user.should_see(marker='welcome')
    assert user.back_history[-1].endswith('next=/')


async def test_it_audits_a_wrong_password_with_the_browsers_address(user: UIUser, people: People) -> None:
    await user.open('/login')
    user.find(marker='username').type('bob')
    user.find(marker='password').type('not the password')
    user.find(marker='sign-in').click()
    await user.should_see('Wrong username or password.')

    [failure] = audit_rows('login.failure')
    assert (failure.actor_name, failure.ip) == ('bob', '127.0.0.1')


async def test_every_page_names_the_chinese_system_fonts_loads_none_and_leaves_buttons_in_their_case(
    user: UIUser, people: People
) -> None:
    """The font stack (appliance/ui/frame.py, NAV_CSS) names the CJK faces of macOS, Windows and Linux."""
    response = await user.http_client.get('/login')
    head = response.text.split('</head>')[0]
    stack = head[head.index('body { font-family:') :].split(';')[0]
    for face in ('PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei'):
        assert f'"{face}"' in stack, stack
    assert '@font-face' not in head and 'fonts.googleapis' not in head
    assert '.q-btn.q-btn { text-transform: none; }' in head  # buttons say their words as written, not upper-cased
