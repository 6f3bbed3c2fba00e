"""alice (admin) reads the license page and installs a code, pasted or as a .lic file; bob and charlie are kept out;
a user refused for want of a seat is told why in the users dialog."""

from __future__ import annotations

import pytest
from nicegui.elements.upload_files import SmallFileUpload
from nicegui.testing import User as UIUser

from appliance.models import AuditEvent
from console.license.services import licensing
from console.license.services.codes import License
from tests.appliance.support import count, sign_in_url
from tests.conftest import People
from tests.console.license_support import code_for, fill_active_users, stored, trust_test_key  # noqa: F401 - fixture
from tests.support.ui import trigger

PATH = '/console/license'


async def test_it_shows_the_free_limit_the_seats_and_the_install_id(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='license-status')
    await user.should_see('No activation code installed: the free limit of 20 seats applies.')
    await user.should_see('3 of 20')
    install_id = user.find(marker='install-id').elements.pop()
    assert install_id.value == licensing.install_id()
    await user.should_see(marker='copy-install-id')
    await user.should_see('No activation code has been installed yet.')
    await user.should_see(marker='nav:/console/license')


@pytest.mark.usefixtures('trust_test_key')
async def test_it_installs_a_pasted_code(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='license-code')  # drawn once the page is connected
    user.find(marker='license-code').type('\n  ' + code_for(seats=25) + '  \n')
    user.find(marker='install-license').click()
    await user.should_see('Activation code installed: Acme 机器人有限公司, 25 seats.')
    await user.should_see('3 of 25')
    await user.should_see(marker='license-history')
    assert stored() == [('L-2026-0042', 25)]
    assert count(AuditEvent, AuditEvent.action == 'license.install', AuditEvent.actor_name == 'alice') == 1


@pytest.mark.usefixtures('trust_test_key')
async def test_it_shows_why_a_pasted_code_was_refused(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('alice', next_path=PATH))
    await user.should_see(marker='license-code')  # drawn once the page is connected
    user.find(marker='license-code').type(code_for(install='ENC-0000-0000-0000'))
    user.find(marker='install-license').click()
    await user.should_see('This activation code belongs to another installation (install id ENC-0000-0000-0000).')
    assert stored() == []


@pytest.mark.usefixtures('trust_test_key')
async def test_it_installs_an_uploaded_lic_file(user: UIUser, people: People) -> None:
    await user.open(sign_in_url('alice', next_path=PATH))
    code = code_for(seats=60, license_id='L-FILE')
    lic = License(license_id='L-FILE', licensee='Acme 机器人有限公司', seats=60, issued='2026-01-01')
    await user.should_see(marker='license-file')
    upload = user.find(marker='license-file').elements.pop()
    data = licensing.lic_file_text(code, lic).encode()
    await upload.handle_uploads([SmallFileUpload(name='acme.lic', content_type='text/plain', _data=data)])  # type: ignore[attr-defined]
    await user.should_see('Activation code installed: Acme 机器人有限公司, 60 seats.')
    await user.should_see('3 of 60')
    assert stored() == [('L-FILE', 60)]


@pytest.mark.parametrize('who', ['bob', 'charlie'])
async def test_it_refuses_the_page_to_non_admins(user: UIUser, people: People, who: str) -> None:
    await user.http_client.get(sign_in_url(who), follow_redirects=False)
    response = await user.http_client.get(PATH, follow_redirects=False)
    assert response.status_code == 403
    assert 'You do not have permission to open this page.' in response.text
    await user.open(sign_in_url(who))
    await user.should_not_see(marker='nav:/console/license')


async def test_it_tells_the_admin_why_a_new_user_needs_a_seat(user: UIUser, people: People) -> None:
    fill_active_users(20)
    await user.open(sign_in_url('alice', next_path='/admin/users'))
    await user.should_see(marker='new-user')
    user.find(marker='new-user').click()
    await user.should_see(marker='new-username')
    user.find(marker='new-username').type('newcomer')
    user.find(marker='new-display-name').type('New Comer')
    user.find(marker='new-password').type('Long-Secret-Phrase-71')
    user.find(marker='save-user').click()
    await user.should_see('This would make 21 active users; the free limit is 20.', retries=5)


async def test_the_file_picker_says_what_to_choose_empties_itself_and_refuses_a_large_file(
    user: UIUser, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nicegui import ui

    await user.open(sign_in_url('alice', next_path=PATH))
    upload = user.find(marker='license-file').elements.pop()
    assert isinstance(upload, ui.upload)
    header = upload.slots['header'].template or ''
    assert 'Choose the .lic file' in header and 'uploadSizeLabel' not in header  # no "0.0B / 0.00%"
    assert '@click="props.pickFiles"' in header  # NiceGUI names a slot's scope `props`
    # The texts are bound as string literals, never template text a translation's {{ }} could run in.
    assert ':label="&quot;Choose the .lic file&quot;"' in header and 'v-text="&quot;' in header
    assert upload.props['hide-upload-btn'] is True
    calls: list[str] = []
    monkeypatch.setattr(upload, 'run_method', lambda name, *args, **kwargs: calls.append(name))
    await upload.handle_uploads([SmallFileUpload(name='photo.jpg', content_type='image/jpeg', _data=b'\xff\xd8\xff')])
    await user.should_see('This file is not an activation code. Choose the .lic file the vendor sent.')
    assert calls == ['reset']  # the refused file does not stay in the picker
    await trigger(user, 'rejected', [], marker='license-file')  # as the browser says of a file over the limit
    await user.should_see('This file is too large: at most')
