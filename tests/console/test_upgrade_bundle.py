"""An upgrade bundle is checked before anything changes: a good one is read (version, required stop, changelog
between the versions, size), and an altered file, an altered or unsigned MANIFEST, an extra or missing file, a
foreign key, a link or a name outside the folder, a downgrade, the same version and an unmet required stop are
each refused with a sentence, nothing unpacked."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from console.upgrade.services import BundleRefused, changes_between, check_bundle, release_key, version_key
from provisioning import bundle
from tests.provisioning.support import signing_key

CHANGELOG = """# Changelog

## Unreleased
- Not yet released.

## 0.3.0
- Third.

## 0.2.0 (2026-12-01)
- Second: the network disk.

## 0.1.0
- First.
"""

Tamper = Callable[[Path], None]


def make_bundle(
    out: Path,
    *,
    version: str = '0.2.0',
    upgrade_from: str = '0.1.0',
    key: Ed25519PrivateKey | None = None,
    before_signing: Tamper | None = None,
    after_signing: Tamper | None = None,
) -> Path:
    """A small bundle laid out as `make bundle` lays it out, signed with the test key (or `key`)."""
    folder = out / 'src' / f'enclave-{version}'
    (folder / 'wheels').mkdir(parents=True)
    (folder / 'wheels' / f'enclave-{version}-py3-none-any.whl').write_bytes(b'PK\x05\x06' + b'\0' * 5000)
    (folder / 'VERSION').write_text(version + '\n')
    (folder / 'RELEASE.json').write_text(
        json.dumps({'version': version, 'upgrade_from': upgrade_from, 'schema_heads': ['abc123']})
    )
    (folder / 'CHANGELOG.md').write_text(CHANGELOG)
    (folder / 'install.sh').write_text('#!/bin/sh\n')
    if before_signing:
        before_signing(folder)
    signed = bundle.manifest(folder)
    (folder / 'MANIFEST').write_bytes(signed)
    (folder / 'MANIFEST.sig').write_bytes((key or signing_key()).sign(signed))
    if after_signing:
        after_signing(folder)
    target = out / f'enclave-{version}-bundle.tar'
    with tarfile.open(target, 'w', format=tarfile.PAX_FORMAT) as archive:
        archive.add(folder, arcname=folder.name)
    return target


def check(path: Path, running: str = '0.1.0') -> object:
    return check_bundle(path, running=running, public_key=signing_key().public_key())


def test_a_good_bundle_is_read_with_its_changes(tmp_path: Path) -> None:
    facts = check(make_bundle(tmp_path))
    assert facts.version == '0.2.0' and facts.upgrade_from == '0.1.0'  # type: ignore[attr-defined]
    assert facts.schema_heads == ('abc123',)  # type: ignore[attr-defined]
    assert facts.wheel_bytes == 5004  # type: ignore[attr-defined]
    assert changes_between(facts.changelog, '0.1.0', '0.2.0') == '## 0.2.0 (2026-12-01)\n- Second: the network disk.'  # type: ignore[attr-defined]
    assert changes_between(CHANGELOG, '0.1.0', '0.3.0').startswith('## 0.3.0\n- Third.\n\n## 0.2.0')


def _alter_wheel(folder: Path) -> None:
    wheel = next((folder / 'wheels').iterdir())
    wheel.write_bytes(wheel.read_bytes()[:-1] + b'\1')


def _alter_manifest(folder: Path) -> None:
    text = (folder / 'MANIFEST').read_text()
    (folder / 'MANIFEST').write_text(('0' * 64) + text[64:])


def _extra(folder: Path) -> None:
    (folder / 'wheels' / 'evil-1.0-py3-none-any.whl').write_bytes(b'PK')


def _missing(folder: Path) -> None:
    (folder / 'install.sh').unlink()


@pytest.mark.parametrize(
    ('after', 'sentence'),
    [
        (_alter_wheel, 'does not match its checksum'),
        (_alter_manifest, 'not signed with the Enclave release key'),
        (_extra, 'MANIFEST does not list'),
        (_missing, 'are missing from the bundle'),
    ],
)
def test_an_altered_bundle_is_refused(tmp_path: Path, after: Tamper, sentence: str) -> None:
    with pytest.raises(BundleRefused, match=sentence):
        check(make_bundle(tmp_path, after_signing=after))


def test_a_bundle_signed_with_another_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleRefused, match='not signed with the Enclave release key'):
        check(make_bundle(tmp_path, key=Ed25519PrivateKey.generate()))


def test_the_product_trusts_the_release_key_not_the_test_key(tmp_path: Path) -> None:
    assert release_key().public_bytes_raw() != signing_key().public_key().public_bytes_raw()
    with pytest.raises(BundleRefused, match='not signed with the Enclave release key'):
        check_bundle(make_bundle(tmp_path), running='0.1.0', public_key=release_key())


@pytest.mark.parametrize(
    ('version', 'upgrade_from', 'running', 'sentence'),
    [
        ('0.1.0', '0.1.0', '0.2.0', 'older than the running 0.2.0'),
        ('0.2.0', '0.1.0', '0.2.0', 'already running'),
        ('0.3.0', '0.2.0', '0.1.0', 'Upgrade to 0.2.0 first'),
    ],
)
def test_a_downgrade_the_same_version_and_an_unmet_required_stop_are_refused(
    tmp_path: Path, version: str, upgrade_from: str, running: str, sentence: str
) -> None:
    with pytest.raises(BundleRefused, match=sentence):
        check(make_bundle(tmp_path, version=version, upgrade_from=upgrade_from), running=running)


def _tar_with(tmp_path: Path, add: Callable[[tarfile.TarFile], None]) -> Path:
    target = tmp_path / 'odd.tar'
    with tarfile.open(target, 'w') as archive:
        add(archive)
    return target


def test_links_names_outside_the_folder_and_non_tars_are_refused(tmp_path: Path) -> None:
    def link(archive: tarfile.TarFile) -> None:
        info = tarfile.TarInfo('enclave-0.2.0/MANIFEST')
        info.type = tarfile.SYMTYPE
        info.linkname = '/etc/shadow'
        archive.addfile(info)

    def outside(archive: tarfile.TarFile) -> None:
        info = tarfile.TarInfo('enclave-0.2.0/../../etc/cron.d/x')
        info.size = 2
        archive.addfile(info, io.BytesIO(b'x\n'))

    with pytest.raises(BundleRefused, match='link or a special file'):
        check(_tar_with(tmp_path, link))
    with pytest.raises(BundleRefused, match='outside its folder'):
        check(_tar_with(tmp_path, outside))
    not_tar = tmp_path / 'photo.tar'
    not_tar.write_bytes(b'\x89PNG' + b'\0' * 2000)
    with pytest.raises(BundleRefused, match='not an Enclave bundle'):
        check(not_tar)


def test_versions_compare_as_numbers() -> None:
    assert version_key('0.10.0') > version_key('0.9.9')
    assert version_key('1.2') == version_key('1.2.0')
    assert version_key('0.0.0+source') == (0, 0, 0, 0)
    with pytest.raises(ValueError):
        version_key('1.0-beta')


def test_the_cli_checks_a_bundle_and_says_why_it_refuses(tmp_path: Path) -> None:
    good = make_bundle(tmp_path / 'good')
    bad = make_bundle(tmp_path / 'bad', after_signing=_extra)
    env_key = tmp_path / 'key.pem'
    env_key.write_text(bundle.public_pem(signing_key()))

    def cli(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, '-m', 'appliance.cli', 'upgrade', 'check', str(path), '--running', '0.1.0',
             '--release-key', str(env_key)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    ok = cli(good)
    assert ok.returncode == 0, ok.stderr
    assert 'Enclave 0.2.0' in ok.stdout and 'Second: the network disk.' in ok.stdout
    refused = cli(bad)
    assert refused.returncode == 1 and 'MANIFEST does not list' in refused.stderr
