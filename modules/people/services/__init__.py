"""The public surface of people: pages, the API, hooks and other modules import only this package.

The rules live in `records.py` beside it; every name another part needs is re-exported here.
"""

from __future__ import annotations

from modules.people.services.records import (
    MANAGE,
    READ_SENSITIVE,
    RecordView,
    list_records,
    own_record,
    relations_of,
    reveal,
    save,
    view,
)

__all__ = [
    'MANAGE',
    'READ_SENSITIVE',
    'RecordView',
    'list_records',
    'own_record',
    'relations_of',
    'reveal',
    'save',
    'view',
]
