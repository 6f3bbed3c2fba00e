"""`enclave license issue | install | show`, end to end: the vendor issues with the test key, the operator installs."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from appliance.cli import app
from console.license.services import licensing
from console.license.services.codes import FREE_SEATS
from tests.conftest import People
from tests.console.license_support import KEYS, install_audits, stored, trust_test_key  # noqa: F401 - fixture

PRIVATE = str(KEYS / 'TEST-ONLY-license-private.pem')
TODAY = date.today()


def enclave(*args: str) -> Result:
    """Run `enclave <args>` in-process."""
    return CliRunner().invoke(app, list(args))


def issue(*extra: str, seats: int = 25, bind: bool = True) -> str:
    args = ['license', 'issue', '--private-key', PRIVATE, '--licensee', 'Acme 机器人有限公司', '--seats', str(seats)]
    if bind:
        args += ['--install-id', licensing.install_id()]
    result = enclave(*args, *extra)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.usefixtures('trust_test_key')
def test_it_issues_a_code_installs_it_and_shows_it(people: People) -> None:
    code = issue('--license-id', 'L-2026-0042', '--expires', (TODAY + timedelta(days=90)).isoformat())
    assert code.startswith('ENC1-')

    installed = enclave('license', 'install', code)
    assert installed.exit_code == 0, installed.stderr
    assert installed.stdout.splitlines() == [
        'Installed license L-2026-0042 for Acme 机器人有限公司: 25 seats.',
        'Seats used: 3 of 25.',
    ]
    assert stored() == [('L-2026-0042', 25)]
    assert install_audits() == 1

    shown = enclave('license', 'show')
    assert shown.exit_code == 0
    assert 'Licensee:    Acme 机器人有限公司' in shown.stdout
    assert 'Seats used:  3 of 25' in shown.stdout
    assert f'Expires:     {(TODAY + timedelta(days=90)).isoformat()}' in shown.stdout
    assert f'Install id:  {licensing.install_id()}' in shown.stdout

    data = json.loads(enclave('license', 'show', '--json').stdout)
    assert {key: data[key] for key in ('licensee', 'license_id', 'seats', 'seat_limit', 'seats_used', 'expired')} == {
        'licensee': 'Acme 机器人有限公司',
        'license_id': 'L-2026-0042',
        'seats': 25,
        'seat_limit': 25,
        'seats_used': 3,
        'expired': False,
    }
    assert data['install_id'] == licensing.install_id()


@pytest.mark.usefixtures('trust_test_key')
def test_it_writes_a_lic_file_and_installs_from_it(people: People, tmp_path: Path) -> None:
    target = tmp_path / 'acme.lic'
    code = issue('--out', str(target), seats=40)
    text = target.read_text()
    assert text.startswith('# Enclave activation code for Acme 机器人有限公司')
    assert code in text
    installed = enclave('license', 'install', str(target))
    assert installed.exit_code == 0, installed.stderr
    assert 'Seats used: 3 of 40.' in installed.stdout


def test_it_shows_the_free_limit_without_a_license(people: People) -> None:
    shown = enclave('license', 'show')
    assert shown.exit_code == 0
    assert f'Licensee:    none (the free limit of {FREE_SEATS} seats applies)' in shown.stdout
    assert 'Seats used:  3 of 20' in shown.stdout


@pytest.mark.usefixtures('trust_test_key')
def test_it_refuses_a_code_for_another_install_and_a_mistyped_one(people: People) -> None:
    other = enclave(
        'license',
        'issue',
        '--private-key',
        PRIVATE,
        '--licensee',
        'Acme',
        '--seats',
        '30',
        '--install-id',
        'ENC-0000-0000-0000',
    )
    refused = enclave('license', 'install', other.stdout.strip())
    assert refused.exit_code == 1
    assert 'This activation code belongs to another installation (install id ENC-0000-0000-0000).' in refused.stderr
    code = issue()
    typo = code[:12] + ('X' if code[12] != 'X' else 'Y') + code[13:]
    refused = enclave('license', 'install', typo)
    assert refused.exit_code == 1 and 'mistyped' in refused.stderr
    assert stored() == [] and install_audits() == 0


def test_it_refuses_the_test_keys_code_with_the_shipped_key(people: People) -> None:
    refused = enclave('license', 'install', issue())
    assert refused.exit_code == 1
    assert 'not issued by the vendor' in refused.stderr
    assert stored() == []


def test_it_says_when_the_file_is_missing(people: People, tmp_path: Path) -> None:
    refused = enclave('license', 'install', str(tmp_path / 'nowhere.lic'))
    assert refused.exit_code == 1 and 'There is no file' in refused.stderr
    not_a_code = tmp_path / 'notes.lic'
    not_a_code.write_bytes(b'\xff\xfe binary')
    refused = enclave('license', 'install', str(not_a_code))
    assert refused.exit_code == 1 and 'Cannot read' in refused.stderr


def test_it_refuses_to_issue_with_bad_arguments(tmp_path: Path) -> None:
    past = enclave(
        'license', 'issue', '--private-key', PRIVATE, '--licensee', 'Acme', '--seats', '5', '--expires', '2001-01-01'
    )
    assert past.exit_code == 1 and 'is in the past' in past.stderr
    bad_date = enclave(
        'license', 'issue', '--private-key', PRIVATE, '--licensee', 'Acme', '--seats', '5', '--expires', 'soon'
    )
    assert bad_date.exit_code == 1 and 'YYYY-MM-DD' in bad_date.stderr
    public = str(KEYS / 'TEST-ONLY-license-public.pem')
    wrong_key = enclave('license', 'issue', '--private-key', public, '--licensee', 'Acme', '--seats', '5')
    assert wrong_key.exit_code == 1 and 'Cannot read the private key' in wrong_key.stderr
    zero = enclave('license', 'issue', '--private-key', PRIVATE, '--licensee', 'Acme', '--seats', '0')
    assert zero.exit_code == 2
    nobody = enclave('license', 'issue', '--private-key', PRIVATE, '--licensee', '  ', '--seats', '5')
    assert nobody.exit_code == 1 and '--licensee' in nobody.stderr
