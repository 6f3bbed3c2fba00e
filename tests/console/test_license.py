"""Activation codes: issued with the test key, read back; every forged, mutated or mistyped code is refused."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from console.license.services.codes import (
    ALPHABET,
    FREE_SEATS,
    License,
    LicenseError,
    decode,
    encode,
    issue,
    seat_limit,
    verify,
)

KEYS = Path(__file__).parent / 'keys'
INSTALL = 'inst-7f3a9c'
LICENSE = License(
    license_id='L-2026-0042', licensee='Acme 机器人有限公司', seats=150, issued='2026-11-29', expires='2027-11-28'
)


def private_key() -> Ed25519PrivateKey:
    key = load_pem_private_key((KEYS / 'TEST-ONLY-license-private.pem').read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def public_key() -> Ed25519PublicKey:
    key = load_pem_public_key((KEYS / 'TEST-ONLY-license-public.pem').read_bytes())
    assert isinstance(key, Ed25519PublicKey)
    return key


def read(code: str, install_id: str = INSTALL) -> License:
    return verify(code, install_id=install_id, public_key=public_key())


def test_it_reads_back_what_was_issued_whatever_the_spacing_and_case() -> None:
    code = issue(LICENSE, private_key())
    assert code.startswith('ENC1-')
    assert read(code) == LICENSE
    messy = '  ' + code.lower().replace('-', ' - ') + '\n'
    assert read(messy) == LICENSE


def test_it_reads_letters_people_confuse_as_the_digits_they_look_like() -> None:
    code = issue(LICENSE, private_key())
    prefix, rest = code[:5], code[5:]
    assert read(prefix + rest.replace('0', 'O').replace('1', 'I')) == LICENSE


def test_it_names_the_mistyped_group_before_checking_the_signature() -> None:
    code = issue(LICENSE, private_key())
    parts = code.split('-')
    group = parts[5]
    wrong = ALPHABET[(ALPHABET.index(group[1]) + 1) % 32]
    parts[5] = group[0] + wrong + group[2:]
    with pytest.raises(LicenseError) as error:
        read('-'.join(parts))
    assert error.value.params['n'] == 4


# Changed characters (counted among the code's letters after "ENC1-", dashes skipped: 4 of the length, then groups
# of 4 data characters and a check character), each replaced by the next letter of the alphabet. These replace 300
# random changes: the check characters catch a change in any group, the signature what they let through.
CHANGES = {
    'a character of the length': (0,),
    'the check character of the first group': (8,),
    'a character of the contents': (20,),
    'a character of the signature': (-30,),
    'the last check character': (-1,),
    'two neighbours': (10, 11),
    'three far apart': (0, 33, -1),
}


@pytest.mark.parametrize('positions', CHANGES.values(), ids=CHANGES.keys())
def test_it_refuses_a_code_with_changed_characters(positions: tuple[int, ...]) -> None:
    characters = list(issue(LICENSE, private_key()))
    places = [i for i, c in enumerate(characters) if c != '-' and i >= len('ENC1-')]
    for n in positions:
        place = places[n]
        characters[place] = ALPHABET[(ALPHABET.index(characters[place]) + 1) % len(ALPHABET)]
    with pytest.raises(LicenseError):
        read(''.join(characters))


# (byte, bit) flipped in the decoded code, encoded again with correct check characters: only the signature notices.
FLIPS = {
    'the format byte': (0, 0),
    'a byte of the contents': (10, 3),
    'the last byte of the contents': (-65, 6),
    'the first byte of the signature': (-64, 7),
    'the last byte of the signature': (-1, 0),
}


@pytest.mark.parametrize(('index', 'bit'), FLIPS.values(), ids=FLIPS.keys())
def test_it_refuses_flipped_bits_even_with_correct_check_characters(index: int, bit: int) -> None:
    data = bytearray(decode(issue(LICENSE, private_key())))
    data[index] ^= 1 << bit
    with pytest.raises(LicenseError) as error:
        read(encode(bytes(data)))
    assert error.value.message.startswith('The activation code is not valid')


def test_it_refuses_truncated_and_extended_codes() -> None:
    code = issue(LICENSE, private_key())
    for cut in (len(code) // 2, len(code) - 5, 12, 6):
        with pytest.raises(LicenseError):
            read(code[:cut])
    data = decode(code)
    for forged in (data[:-1], data[1:], data + b'\x00', data[:-64]):
        with pytest.raises(LicenseError):
            read(encode(forged))


def test_it_refuses_a_code_signed_with_another_key() -> None:
    with pytest.raises(LicenseError):
        read(issue(LICENSE, Ed25519PrivateKey.generate()))


def test_it_refuses_a_code_made_with_the_test_key_in_production() -> None:
    with pytest.raises(LicenseError):
        verify(issue(LICENSE, private_key()), install_id=INSTALL)


@pytest.mark.parametrize(
    'change',
    [
        {'seats': 100000},
        {'expires': '2099-12-31'},
        {'expires': ''},
        {'install_id': INSTALL},
        {'licensee': 'Someone else'},
        {'license_id': 'L-2026-0043'},
    ],
)
def test_it_refuses_an_altered_field_under_the_original_signature(change: dict[str, object]) -> None:
    data = decode(issue(LICENSE, private_key()))
    payload, signature = data[:-64], data[-64:]
    fields = json.loads(payload) | change
    altered = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(',', ':')).encode()
    with pytest.raises(LicenseError):
        read(encode(altered + signature))


def test_it_refuses_swapped_fields_under_the_original_signature() -> None:
    data = decode(issue(LICENSE, private_key()))
    fields = json.loads(data[:-64])
    fields['issued'], fields['expires'] = fields['expires'], fields['issued']
    altered = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(',', ':')).encode()
    with pytest.raises(LicenseError):
        read(encode(altered + data[-64:]))


def test_it_binds_a_code_to_its_installation() -> None:
    bound = License(license_id='L-1', licensee='Acme', seats=50, issued='2026-11-29', install_id=INSTALL)
    code = issue(bound, private_key())
    assert read(code).install_id == INSTALL
    with pytest.raises(LicenseError) as error:
        read(code, install_id='inst-other')
    assert error.value.params['id'] == INSTALL


def test_it_refuses_well_signed_but_malformed_contents() -> None:
    for bad in ({'seats': 0}, {'seats': '150'}, {'issued': 'yesterday'}, {'licensee': ''}):
        lic = json.loads(LICENSE.payload()) | bad
        payload = json.dumps(lic, sort_keys=True, separators=(',', ':')).encode()
        with pytest.raises(LicenseError):
            read(encode(payload + private_key().sign(payload)))


def test_it_falls_back_to_the_free_seats_after_expiry_and_never_below() -> None:
    assert seat_limit(None, today=date(2026, 11, 29)) == FREE_SEATS
    assert seat_limit(LICENSE, today=date(2027, 11, 28)) == 150
    assert seat_limit(LICENSE, today=date(2027, 11, 29)) == FREE_SEATS
    small = License(license_id='L-2', licensee='Tiny', seats=5, issued='2026-11-29')
    assert seat_limit(small, today=date(2030, 1, 1)) == FREE_SEATS


def test_it_refuses_text_that_is_no_code() -> None:
    for text in ('', 'hello', 'ENC1', 'ENC2-AAAAA-BBBBB', 'ENC1-!!-@@@@@'):
        with pytest.raises(LicenseError):
            read(text)
