from appliance.db import get_database
from appliance.services import accounts, audit
from tests.conftest import PASSWORD, People


def test_it_lets_an_admin_create_a_user(people: People) -> None:
    with get_database().session() as session:
        user = accounts.create_user(
            session=session, actor=people.alice, username='dave', display_name='Dave', password=PASSWORD
        )
    assert user.role_names == {'member'}
    with get_database().session() as session:
        assert audit.verify(session=session).ok
