"""Sealed fields: AES-GCM bound to table, column and row; keyed lookups; masks; the resident ID check digit."""

from __future__ import annotations

import os

import pytest

from modules.people.sealing import SealBroken, Sealer, china_id_check, mask, normalise

KEY = bytes(range(32))
ID = '11010519491231002X'  # the standard's own example


def sealer(key: bytes = KEY) -> Sealer:
    return Sealer.from_data_key(key)


def test_a_sealed_value_opens_where_it_was_sealed_and_nowhere_else() -> None:
    stored = sealer().seal(ID, table='people_sealed', column='id_number', row_id=7)
    assert ID not in stored and stored.startswith('v1.')
    assert sealer().open(stored, table='people_sealed', column='id_number', row_id=7) == ID
    for where in (
        {'table': 'people_sealed', 'column': 'id_number', 'row_id': 8},  # another row
        {'table': 'people_sealed', 'column': 'bank_card', 'row_id': 7},  # another column
        {'table': 'other', 'column': 'id_number', 'row_id': 7},  # another table
    ):
        with pytest.raises(SealBroken):
            sealer().open(stored, **where)  # type: ignore[arg-type]
    with pytest.raises(SealBroken):
        sealer(os.urandom(32)).open(stored, table='people_sealed', column='id_number', row_id=7)


def test_a_damaged_or_foreign_value_is_refused() -> None:
    stored = sealer().seal('6222020200112233445', table='t', column='c', row_id=1)
    flipped = stored[:-2] + ('A' if stored[-2] != 'A' else 'B') + stored[-1]
    for bad in (flipped, 'plain text', 'v1.!!!', 'v1.', stored[:10]):
        with pytest.raises(SealBroken):
            sealer().open(bad, table='t', column='c', row_id=1)


def test_two_seals_of_one_value_differ_but_their_lookup_is_the_same() -> None:
    one = sealer().seal(ID, table='t', column='c', row_id=1)
    two = sealer().seal(ID, table='t', column='c', row_id=1)
    assert one != two  # a fresh nonce each time
    assert sealer().lookup(ID, column='id_number') == sealer().lookup('110105 19491231 002x', column='id_number')
    assert sealer().lookup(ID, column='id_number') != sealer().lookup(ID, column='passport')
    assert sealer().lookup(ID, column='id_number') != sealer(os.urandom(32)).lookup(ID, column='id_number')


def test_masks_keep_the_ends() -> None:
    assert mask(ID) == '110***********002X'
    assert mask('6222 0202 0011 2233 445') == '622************3445'
    assert mask('1234') == '***4'
    assert mask('') == ''
    assert normalise('ａｂｃ－１２３') == 'ABC123'  # full-width forms fold


@pytest.mark.parametrize(
    ('number', 'reason'),
    [
        (ID, None),
        ('110105194912310021', 'check digit'),
        ('11010519491331002X', 'birth date'),
        ('1101051949123100', 'length'),
        ('11010519491231002Y', 'length'),
        ('110105 1949 1231 002x', None),
    ],
)
def test_the_resident_id_check(number: str, reason: str | None) -> None:
    assert china_id_check(number) == reason
