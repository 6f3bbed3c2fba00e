"""The bundle's wheels come from the hashed lock alone (issue 11, item 5): pip downloads exactly the pinned files
with --no-deps, whatever newer releases the index holds, and the build stops with a sentence when the lock lacks
something a locked package needs. A local folder of small wheels stands in for the index."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile
from pathlib import Path

import pytest

from provisioning import bundle


def make_wheel(
    folder: Path, name: str, version: str, requires: tuple[str, ...] = (), extras: tuple[str, ...] = ()
) -> Path:
    path = folder / f'{name}-{version}-py3-none-any.whl'
    info = f'{name}-{version}.dist-info'
    metadata = f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n'
    metadata += ''.join(f'Provides-Extra: {extra}\n' for extra in extras)
    metadata += ''.join(f'Requires-Dist: {line}\n' for line in requires)
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr(f'{name}/__init__.py', '')
        archive.writestr(f'{info}/METADATA', metadata)
        archive.writestr(
            f'{info}/WHEEL', 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n'
        )
        archive.writestr(f'{info}/RECORD', '')
    return path


@pytest.fixture
def index(tmp_path: Path) -> Path:
    """alpha needs beta[fast] (as nicegui needs uvicorn[standard]); beta's extra needs gamma; the index also holds
    beta 2.0 and gamma 2.0, published after the lock was made."""
    folder = tmp_path / 'index'
    folder.mkdir()
    make_wheel(folder, 'alpha', '1.0', ('beta[fast]>=1',))
    make_wheel(folder, 'beta', '1.0', ('gamma; extra == "fast"', 'delta; sys_platform == "win32"'), ('fast',))
    make_wheel(folder, 'gamma', '1.0')
    make_wheel(folder, 'beta', '2.0', ('gamma; extra == "fast"',), ('fast',))
    make_wheel(folder, 'gamma', '2.0')
    return folder


def lock(tmp_path: Path, index: Path, pins: list[str]) -> Path:
    lines = []
    for pin in pins:
        name, version = pin.split('==')
        digest = hashlib.sha256((index / f'{name}-{version}-py3-none-any.whl').read_bytes()).hexdigest()
        lines.append(f'{pin} \\\n    --hash=sha256:{digest}\n')
    path = tmp_path / 'requirements.lock'
    path.write_text(''.join(lines))
    return path


def download(lock_file: Path, index: Path, target: Path) -> subprocess.CompletedProcess[str]:
    argv = [*bundle.download_argv(lock_file, target), '--no-index', '--find-links', str(index)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_it_downloads_exactly_the_locked_wheels_when_the_index_holds_newer_ones(tmp_path: Path, index: Path) -> None:
    lock_file = lock(tmp_path, index, ['alpha==1.0', 'beta==1.0', 'gamma==1.0'])
    target = tmp_path / 'wheels'
    done = download(lock_file, index, target)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in target.iterdir()) == [
        'alpha-1.0-py3-none-any.whl', 'beta-1.0-py3-none-any.whl', 'gamma-1.0-py3-none-any.whl',
    ]  # fmt: skip
    bundle.check_complete(target, lock_file, root='alpha')


def test_it_stops_with_a_sentence_when_the_lock_lacks_what_an_extra_needs(tmp_path: Path, index: Path) -> None:
    lock_file = lock(tmp_path, index, ['alpha==1.0', 'beta==1.0'])
    target = tmp_path / 'wheels'
    assert download(lock_file, index, target).returncode == 0
    with pytest.raises(SystemExit) as stopped:
        bundle.check_complete(target, lock_file, root='alpha')
    message = str(stopped.value)
    assert 'requirements.lock is incomplete' in message
    assert 'gamma (required by beta' in message
    assert 'delta' not in message  # a Windows-only dependency is not needed on the appliance
    assert 'make lock' in message


def test_it_stops_when_a_locked_version_does_not_satisfy_a_requirement(tmp_path: Path, index: Path) -> None:
    make_wheel(index, 'alpha', '3.0', ('beta[fast]>=2',))
    lock_file = lock(tmp_path, index, ['alpha==3.0', 'beta==1.0', 'gamma==1.0'])
    target = tmp_path / 'wheels'
    assert download(lock_file, index, target).returncode == 0
    with pytest.raises(SystemExit, match=r"beta 1.0 does not satisfy alpha's beta\[fast\]>=2"):
        bundle.check_complete(target, lock_file, root='alpha')
