from nicegui import ui
from nicegui.testing import User as UIUser

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
