"""Personnel records in the browser: HR's list and form, the record page by reader, reveal with a reason."""

from __future__ import annotations

from nicegui.testing import User as UIUser

from appliance.db import get_database
from appliance.models import User
from modules.people.services import records
from tests.appliance.support import sign_in_url
from tests.conftest import People, make_user
from tests.support.ui import click

ID = '11010519491231002X'


def hr_person() -> User:
    return make_user(username='hr.wu', roles=['member', 'hr'], display_name='吴人事')


def bobs_record(hr: User, people: People) -> int:
    values = {
        'employee_no': 'E0001',
        'legal_name': '张伟',
        'birth_date': '1990-05-17',
        'id_type': 'resident_id',
        'id_number': ID,
        'user_id': people.bob.id,
    }
    with get_database().session() as session:
        return records.save(session, hr, values).id


async def test_hr_reveals_an_id_number_with_a_reason(user: UIUser, people: People) -> None:
    hr = hr_person()
    record = bobs_record(hr, people)
    await user.open(sign_in_url('hr.wu', next_path=f'/people/{record}'))
    await user.should_see('110***********002X')
    await user.should_see(marker='level-hr')
    await click(user, marker='reveal-id_number')
    await click(user, marker='confirm-reveal')
    await user.should_see('Say why you need to see it')  # refused without a reason, the dialog stays
    user.find(marker='reveal-reason').type('核对社保缴纳')
    user.find(marker='confirm-reveal').click()
    await user.should_see(ID)


async def test_a_colleague_sees_only_the_public_part(user: UIUser, people: People) -> None:
    record = bobs_record(hr_person(), people)
    await user.open(sign_in_url('charlie', next_path=f'/people/{record}'))
    await user.should_see('张伟')
    await user.should_not_see(marker='level-hr')
    await user.should_not_see(marker='level-sensitive')
    await user.should_not_see(marker='reveal-id_number')


async def test_the_person_finds_their_own_record_and_others_are_told_there_is_none(
    user: UIUser, people: People
) -> None:
    bobs_record(hr_person(), people)
    await user.open(sign_in_url('bob', next_path='/people/me'))
    await user.should_see(marker='level-sensitive')
    await user.should_not_see(marker='level-hr')
    await user.open(sign_in_url('charlie', next_path='/people/me'))
    await user.should_see(marker='no-record')


async def test_hr_creates_a_record_in_the_form_and_a_bad_id_is_refused(user: UIUser, people: People) -> None:
    hr_person()
    await user.open(sign_in_url('hr.wu', next_path='/people'))
    await click(user, marker='new-record')
    user.find(marker='field-employee_no').type('E0100')
    user.find(marker='field-legal_name').type('王芳')
    user.find(marker='field-id_type').elements.pop().value = 'resident_id'
    user.find(marker='field-id_number').type('110105194912310021')
    await click(user, marker='save-record')
    await user.should_see('This is not a valid resident ID number')
    user.find(marker='field-id_number').clear().type(ID)
    await click(user, marker='save-record')
    await user.should_see('Record saved.')
