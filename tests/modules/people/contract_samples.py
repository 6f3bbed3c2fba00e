"""The people module's samples for the contract test: bob's own personnel record, with the secret in a field of
the HR classification (charlie, a colleague, reads the record's public part and must never see it; nor may bob)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appliance.db import get_database
from modules.people.services import records
from tests.conftest import People, make_user
from tests.support.contract import SECRET


def record(people: People, found: Mapping[str, Any]) -> dict[str, Any]:
    hr = make_user(username='contract.hr', roles=['member', 'hr'])
    with get_database().session() as session:
        made = records.save(
            session,
            hr,
            {'employee_no': 'C0001', 'legal_name': 'Bob 张伟', 'hukou_location': SECRET, 'user_id': people.bob.id},
        )
        return {'employee_id': made.id}


SAMPLES = [record]
