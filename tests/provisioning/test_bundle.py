"""The offline bundle's integrity: install.sh refuses an altered, re-signed, padded or foreign bundle before it
changes anything. (Installing a good bundle into a fresh Debian 12 root is tests/provisioning/install_story.py,
run by `make bundle-test`: it needs debootstrap and a few minutes.)"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from provisioning import bundle
from tests.provisioning.support import signing_key


@pytest.fixture(scope='module')
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle with only the app's own wheel (no dependencies, no debs): enough to test the checks."""
    out = tmp_path_factory.mktemp('bundle')
    wheels = out / 'wheels'
    subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--quiet', '--no-deps', '-w', str(wheels),
         str(bundle.REPO)],
        check=True,
    )  # fmt: skip
    return bundle.assemble(out=out, key=signing_key(), debs_from=None, wheel_dir=wheels)


def unpack(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / 'unpacked'
    with tarfile.open(built) as archive:
        archive.extractall(target, filter='data')
    (folder,) = target.iterdir()
    return folder


def install(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(['sh', str(folder / 'install.sh')], capture_output=True, text=True, timeout=60)


def test_the_manifest_lists_every_file_with_its_checksum(built: Path, tmp_path: Path) -> None:
    folder = unpack(built, tmp_path)
    listed = {line.split('  ', 1)[1] for line in (folder / 'MANIFEST').read_text().splitlines()}
    present = {p.relative_to(folder).as_posix() for p in folder.rglob('*') if p.is_file()}
    assert listed == present - {'MANIFEST', 'MANIFEST.sig'}
    assert any(name.startswith('wheels/enclave-') for name in listed)
    shipped = {'install.sh', 'VERSION', 'systemd/enclave.service', 'systemd/enclave-console.service',
               'provisioning/firstboot.sh', 'provisioning/tls.sh', 'provisioning/appliance/console.py',
               'provisioning/appliance/setup.sh', 'provisioning/nginx/enclave.conf'}  # fmt: skip
    assert shipped <= listed
    # The build scripts and the release key's file stay home; no caches.
    home = {f'provisioning/{name}' for name in ('bundle.py', 'image.py', 'release-public.pem', 'install.sh')}
    assert not home & listed
    assert not any('__pycache__' in name for name in listed)
    signing_key().public_key().verify((folder / 'MANIFEST.sig').read_bytes(), (folder / 'MANIFEST').read_bytes())
    assert '@PUBLIC_KEY@' not in (folder / 'install.sh').read_text()


@pytest.mark.parametrize(
    ('tamper', 'message'),
    [
        (lambda f: (f / 'systemd' / 'enclave.service').write_text('[Service]\nUser=root\n'), 'does not match MANIFEST'),
        (lambda f: (f / 'MANIFEST').write_text((f / 'MANIFEST').read_text() + '0' * 64 + '  evil\n'), 'signature'),
        (lambda f: (f / 'wheels' / 'evil-1.0-py3-none-any.whl').write_bytes(b'PK'), 'does not list'),
        (
            lambda f: (f / 'MANIFEST.sig').write_bytes(
                Ed25519PrivateKey.generate().sign((f / 'MANIFEST').read_bytes())
            ),
            'signature',
        ),
    ],
    ids=['altered-file', 'altered-manifest', 'extra-file', 'another-key'],
)
def test_it_refuses_a_tampered_bundle_before_changing_anything(
    built: Path, tmp_path: Path, tamper: object, message: str
) -> None:
    folder = unpack(built, tmp_path)
    tamper(folder)  # type: ignore[operator]
    result = install(folder)
    assert result.returncode == 1
    assert message in result.stderr and 'Nothing was installed' in result.stderr
    assert 'verified' not in result.stdout


def test_the_app_reads_a_real_bundle_as_an_upgrade_would(built: Path) -> None:
    """A bundle `make bundle` makes passes every check of `enclave upgrade check` up to the versions: signature,
    checksums, RELEASE.json with the required stop and the schema heads, the changelog."""
    from appliance.migrate import head_revision
    from console.upgrade.services import BundleRefused, check_bundle

    key = signing_key().public_key()
    with pytest.raises(BundleRefused, match=f'upgrades from {bundle.UPGRADE_FROM} or newer'):
        check_bundle(built, running='0.0.1', public_key=key)
    with pytest.raises(BundleRefused, match='already running'):
        check_bundle(built, running=bundle.version(), public_key=key)
    with tarfile.open(built) as archive:
        release = json.loads(archive.extractfile(f'enclave-{bundle.version()}/RELEASE.json').read())  # type: ignore[union-attr]
    assert release['schema_heads'] == [head_revision()]
