"""Build the offline install bundle: `python -m provisioning.bundle --signing-key KEY [--debs-from ROOT]`.

The bundle is one tarball, `dist/enclave-<version>-bundle.tar`, holding a folder `enclave-<version>/` with:
- `wheels/`: the app's wheel and a wheel of every locked dependency for Debian 12 / CPython 3.11 / x86_64
  (downloaded with `--no-deps --require-hashes` against requirements.lock, then checked to be complete);
- `debs/`: the Debian packages a minimal Debian 12 root lacks for Enclave (python3-venv, restic, nginx, ...), with
  everything they depend on, computed against that root's dpkg status (`--debs-from`: a debootstrap'd root);
- `systemd/`, `provisioning/` (first boot, nginx), `install.sh`, `VERSION`, `README.md`, `CHANGELOG.md`;
- `RELEASE.json`: the version, the oldest version it upgrades from (`UPGRADE_FROM`, a required stop) and the
  database schema heads it migrates to, read by `enclave upgrade check`;
- `MANIFEST` (sha256 of every other file) and `MANIFEST.sig` (Ed25519 over MANIFEST).
`install.sh` carries the public key that must have signed the manifest and checks it before anything else.
The vendor's signing key is kept outside the repository; the tests sign with the key under tests/provisioning/keys.
"""

from __future__ import annotations

import argparse
import email.parser
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name, parse_wheel_filename
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
DEBS = (
    'python3',
    'python3-venv',
    'restic',
    'nginx',
    'openssl',
    'nftables',
    'openssh-client',
    'ca-certificates',
    'libjemalloc2',  # the app's allocator (appliance/ui/memory.py)
)
# The oldest version this release upgrades from (a required stop): raise it when a release can no longer migrate
# the data of an older one (README: "The release process").
UPGRADE_FROM = '0.1.0'
SUITE = 'bookworm'
MIRROR = os.environ.get('ENCLAVE_DEBIAN_MIRROR', 'http://deb.debian.org/debian')
PLATFORMS = ('manylinux_2_28_x86_64', 'manylinux_2_17_x86_64', 'manylinux2014_x86_64', 'linux_x86_64', 'any')


def version() -> str:
    """The app's version, from the package."""
    sys.path.insert(0, str(REPO))
    from appliance import __version__

    return __version__


def run(argv: list[str], *, timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """One build step, bounded in time; its failure stops the build with the step and its output."""
    print('+', ' '.join(argv), flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(argv, timeout=timeout, text=True, capture_output=True, **kwargs)  # type: ignore[call-overload]  # noqa: S603
    except subprocess.TimeoutExpired as error:
        raise SystemExit(f'build step timed out after {timeout:.0f} s: {" ".join(argv)}') from error
    if done.returncode != 0:
        raise SystemExit(f'build step failed ({done.returncode}): {" ".join(argv)}\n{done.stdout}\n{done.stderr}')
    print(f'  ({time.monotonic() - started:.0f} s)', flush=True)
    return done  # type: ignore[no-any-return]


def download_argv(lock: Path, target: Path) -> list[str]:
    """`pip download` of exactly what the lock pins: `--no-deps`, so that pip never resolves a dependency against
    what the index holds today (an extra such as nicegui's `uvicorn[standard]` would otherwise reach for a
    release newer than the lock, and `--require-hashes` refuses it); `check_complete` then proves the lock whole."""
    platforms = [arg for platform in PLATFORMS for arg in ('--platform', platform)]
    return [
        sys.executable, '-m', 'pip', 'download', '--quiet', '--disable-pip-version-check', '--no-deps',
        '--only-binary=:all:', *platforms, '--python-version', '3.11', '--implementation', 'cp',
        '--require-hashes', '-r', str(lock), '-d', str(target),
    ]  # fmt: skip


def wheels(target: Path, lock: Path = REPO / 'requirements.lock', index: tuple[str, ...] = ()) -> None:
    """The app's wheel and every locked dependency's, for CPython 3.11 on x86_64 Linux, and nothing the lock does not
    pin. `index`: extra pip options (the tests point pip at a local folder of wheels)."""
    target.mkdir(parents=True)
    pip = [sys.executable, '-m', 'pip']
    run([*pip, 'wheel', '--quiet', '--no-deps', '--wheel-dir', str(target), str(REPO)], timeout=900)
    run([*download_argv(lock, target), *index], timeout=1800)
    check_complete(target, lock)


# The target the wheels are for: Debian 12's CPython 3.11 on x86_64 (environment markers are evaluated for it).
TARGET_ENVIRONMENT = {
    'implementation_name': 'cpython', 'implementation_version': '3.11.2', 'os_name': 'posix',
    'platform_machine': 'x86_64', 'platform_python_implementation': 'CPython', 'platform_release': '',
    'platform_system': 'Linux', 'platform_version': '', 'python_full_version': '3.11.2', 'python_version': '3.11',
    'sys_platform': 'linux',
}  # fmt: skip


def _requires(wheel: Path) -> list[str]:
    """The Requires-Dist lines of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.count('/') == 1 and n.endswith('.dist-info/METADATA')]
        metadata = email.parser.HeaderParser().parsestr(archive.read(name).decode())
    return metadata.get_all('Requires-Dist') or []


def check_complete(folder: Path, lock: Path, root: str = 'enclave') -> None:
    """Stop the build with a sentence unless the wheels in `folder` (downloaded with --no-deps) hold everything the
    app needs on the target, at the versions asked for: the dependency graph is walked from the app's own wheel,
    extras included, with the environment markers of the target (`root`: the project the walk starts from)."""
    found: dict[str, tuple[Version, Path]] = {}
    for wheel in folder.glob('*.whl'):
        name, wheel_version, _, _ = parse_wheel_filename(wheel.name)
        found[name] = (wheel_version, wheel)
    problems: list[str] = []
    todo: list[tuple[NormalizedName, frozenset[str]]] = [(canonicalize_name(root), frozenset())]
    done: set[tuple[NormalizedName, frozenset[str]]] = set()
    while todo:
        needer, extras = todo.pop()
        if (needer, extras) in done:
            continue
        done.add((needer, extras))
        if needer not in found:
            raise SystemExit(f'{folder} has no wheel of {root}: build it first')
        for line in _requires(found[needer][1]):
            requirement = Requirement(line)
            wanted = requirement.marker is None or any(
                requirement.marker.evaluate({**TARGET_ENVIRONMENT, 'extra': extra}) for extra in {'', *extras}
            )
            if not wanted:
                continue
            name = canonicalize_name(requirement.name)
            if name not in found:
                problems.append(f'{requirement.name} (required by {needer}: {line})')
                continue
            if not requirement.specifier.contains(found[name][0], prereleases=True):
                problems.append(f"{requirement.name} {found[name][0]} does not satisfy {needer}'s {line}")
                continue
            todo.append((name, frozenset(requirement.extras)))
    if problems:
        raise SystemExit(
            f'{lock.name} is incomplete, so the build would not be reproducible from it: '
            + '; '.join(sorted(set(problems)))
            + f'. Regenerate it with `make lock`, check the difference and commit {lock.name}.'
        )


def debs(target: Path, root: Path) -> None:
    """The .deb files a root like `root` (a minimal Debian 12) lacks for Enclave, dependencies included."""
    target.mkdir(parents=True)
    status = root / 'var' / 'lib' / 'dpkg' / 'status'
    if not status.is_file():
        raise SystemExit(f'{root} is not a Debian root (no {status}); make one with debootstrap --variant=minbase')
    with tempfile.TemporaryDirectory() as state:
        lists = Path(state) / 'lists'
        (lists / 'partial').mkdir(parents=True)
        options = [
            '-o', f'Dir::State::status={status}', '-o', f'Dir::State::Lists={lists}',
            '-o', f'Dir::Cache::archives={target}', '-o', f'Dir::Cache={state}', '-o', 'Debug::NoLocking=1',
        ]  # fmt: skip
        run(['apt-get', *options, '-qq', 'update'], timeout=900)
        run(
            ['apt-get', *options, '-qq', '-y', '--download-only', '--no-install-recommends', 'install', *DEBS],
            timeout=1800,
        )
    for leftover in target.iterdir():
        if not leftover.name.endswith('.deb'):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()


def _not_shipped(folder: str, names: list[str]) -> set[str]:
    """What of provisioning/ stays home: the build scripts and the key's file at the top (install.sh goes to the
    bundle's top, with the key written in), and caches."""
    top = Path(folder) == REPO / 'provisioning'
    return {n for n in names if n == '__pycache__' or (top and (n.endswith(('.py', '.pem')) or n == 'install.sh'))}


def release_json() -> str:
    """What an upgrade reads before it changes anything: the version, the required stop, the schema heads."""
    import json

    from alembic.script import ScriptDirectory

    from appliance.migrate import alembic_config

    heads = sorted(ScriptDirectory.from_config(alembic_config('sqlite://')).get_heads())
    return json.dumps({'version': version(), 'upgrade_from': UPGRADE_FROM, 'schema_heads': heads}, indent=2) + '\n'


def public_pem(key: Ed25519PrivateKey) -> str:
    """The public half of the signing key, as PEM."""
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def bootstrap(folder: Path) -> str:
    """`<sha256>  <path>` of the openssl and libssl3 packages in debs/: the installer checks them with these
    checksums and unpacks them to verify the signature on a Debian that has no openssl yet."""
    lines = []
    for pattern in ('openssl_*.deb', 'libssl3_*.deb'):
        for path in sorted((folder / 'debs').glob(pattern)):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            lines.append(f'{digest}  {path.relative_to(folder).as_posix()}')
    return '\n'.join(lines)


def manifest(folder: Path) -> bytes:
    """`<sha256>  <path>` for every file in the folder, sorted (the format `sha256sum -c` reads)."""
    lines = []
    for path in sorted(p for p in folder.rglob('*') if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative in ('MANIFEST', 'MANIFEST.sig'):
            continue
        with path.open('rb') as handle:
            lines.append(f'{hashlib.file_digest(handle, "sha256").hexdigest()}  {relative}\n')
    return ''.join(lines).encode()


def assemble(*, out: Path, key: Ed25519PrivateKey, debs_from: Path | None, wheel_dir: Path | None = None) -> Path:
    """Build the bundle tarball in `out`; returns its path."""
    name = f'enclave-{version()}'
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        folder = Path(scratch) / name
        folder.mkdir()
        if wheel_dir is not None:
            shutil.copytree(wheel_dir, folder / 'wheels')
        else:
            wheels(folder / 'wheels')
        if debs_from is not None:
            debs(folder / 'debs', debs_from)
        else:
            (folder / 'debs').mkdir()
        shutil.copytree(REPO / 'systemd', folder / 'systemd')
        shutil.copytree(REPO / 'provisioning', folder / 'provisioning', ignore=_not_shipped)
        shutil.copy2(REPO / 'README.md', folder / 'README.md')
        (folder / 'VERSION').write_text(version() + '\n')
        (folder / 'RELEASE.json').write_text(release_json())
        shutil.copy2(REPO / 'CHANGELOG.md', folder / 'CHANGELOG.md')
        installer = (REPO / 'provisioning' / 'install.sh').read_text()
        installer = installer.replace('@PUBLIC_KEY@', public_pem(key).strip())
        installer = installer.replace('@BOOTSTRAP@', bootstrap(folder))
        (folder / 'install.sh').write_text(installer)
        os.chmod(folder / 'install.sh', 0o755)  # noqa: S103 - an installer anyone may read and run
        signed = manifest(folder)
        (folder / 'MANIFEST').write_bytes(signed)
        (folder / 'MANIFEST.sig').write_bytes(key.sign(signed))
        target = out / f'{name}-bundle.tar'
        with tarfile.open(target, 'w', format=tarfile.PAX_FORMAT) as archive:
            archive.add(folder, arcname=name)
    return target


def minimal_root(root: Path, mirror: str = MIRROR) -> Path:
    """A minimal Debian 12 root (debootstrap --variant=minbase): what the bundle's debs are computed against."""
    run(['debootstrap', '--variant=minbase', SUITE, str(root), mirror], timeout=900)
    return root


def warn_unless_release_key(key: Ed25519PrivateKey) -> None:
    """Say so when the key is not the release key (tests sign with the key under tests/provisioning/keys)."""
    release = (REPO / 'appliance' / 'data' / 'release-public.pem').read_text().strip()
    if public_pem(key).strip() != release:
        print(
            'warning: signed with a key other than the release key (appliance/data/release-public.pem): for tests only'
        )


def main() -> None:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--signing-key', type=Path, required=True, help='Ed25519 private key (PEM), kept offline')
    parser.add_argument('--debs-from', type=Path, help='a minimal Debian 12 root (default: debootstrap one)')
    parser.add_argument('--out', type=Path, default=REPO / 'dist')
    args = parser.parse_args()
    key = serialization.load_pem_private_key(args.signing_key.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f'{args.signing_key} is not an Ed25519 private key')
    warn_unless_release_key(key)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.debs_from is not None:
        print(assemble(out=args.out, key=key, debs_from=args.debs_from))
        return
    with tempfile.TemporaryDirectory(dir='/var/tmp', prefix='enclave-debroot.') as scratch:
        print(assemble(out=args.out, key=key, debs_from=minimal_root(Path(scratch) / 'root')))


if __name__ == '__main__':
    main()
