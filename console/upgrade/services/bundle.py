"""Checking an upgrade bundle before anything changes: the same checks as install.sh, and what an upgrade needs.

The upgrade bundle is the install bundle `make bundle` makes (`enclave-<version>-bundle.tar`, one folder
`enclave-<version>/`). In order, refusing with a sentence at the first failure:
1. the tar itself: regular files and folders only, all under that one folder, no absolute or `..` names, no links
   or devices, at most `MAX_BYTES` unpacked;
2. `MANIFEST.sig` is the release key's Ed25519 signature over `MANIFEST`;
3. every file is listed in `MANIFEST` with its sha256 and every listed file is there (nothing extra, nothing
   missing);
4. `VERSION` and `RELEASE.json` name the folder's version; it is newer than the running one; the running version
   is at least the bundle's required stop (`upgrade_from`);
5. the data volume has room for the release and a snapshot.
The tar is read, never unpacked: files are hashed as they stream out of it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tarfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from appliance.errors import N_, ServiceError

MAX_BYTES = 4 * 2**30
# The public half of the vendor's release key, shipped with the app.
RELEASE_KEY_PATH = files('appliance') / 'data' / 'release-public.pem'
MAX_SMALL = 2**20  # MANIFEST, VERSION, RELEASE.json, CHANGELOG.md are small
SIGNATURE = 'MANIFEST.sig'
INSTALLED_KEY = 'release-key.pem'
_VERSION = re.compile(r'(\d+(?:\.\d+){0,3})(?:\+[0-9A-Za-z.]+)?')
_FOLDER = re.compile(r'enclave-(\d+(?:\.\d+){0,3})')
_LINE = re.compile(r'([0-9a-f]{64})  (\S(?:.*\S)?)')
# An installed release takes about three times its wheels (unpacked into a venv, with bytecode).
INSTALL_FACTOR = 3


class BundleRefused(ServiceError):
    """The bundle cannot be used; nothing was changed."""

    code = 'bundle_refused'
    status = 422


@dataclass(frozen=True)
class BundleFacts:
    """What a checked bundle holds and what installing it takes."""

    version: str
    upgrade_from: str
    schema_heads: tuple[str, ...]
    changelog: str
    files: int
    bytes: int
    wheel_bytes: int

    @property
    def install_bytes(self) -> int:
        """What the new release takes on disk once installed."""
        return self.wheel_bytes * INSTALL_FACTOR


def version_key(version: str) -> tuple[int, ...]:
    """`1.2.10` → (1, 2, 10, 0); a local part (`+source`) is ignored. ValueError for anything else."""
    match = _VERSION.fullmatch(version.strip())
    if match is None:
        raise ValueError(version)
    numbers = tuple(int(part) for part in match.group(1).split('.'))
    return numbers + (0,) * (4 - len(numbers))


def release_key(pem: bytes | None = None) -> Ed25519PublicKey:
    """The Ed25519 public key in `pem`, or else the key the running release was installed with (install.sh keeps
    it beside the release's venv: an upgrade must be signed by whoever signed what is installed), or else the key
    Enclave releases are signed with (appliance/data/release-public.pem); ValueError when that is not one."""
    if pem is None:
        kept = installed_key_path()
        pem = kept.read_bytes() if kept.is_file() else Path(str(RELEASE_KEY_PATH)).read_bytes()
    key = load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError('not an Ed25519 public key')
    return key


def installed_key_path() -> Path:
    """`<release>/release-key.pem` of the release this code runs from (its venv is `<release>/venv`)."""
    return Path(sys.prefix).parent / INSTALLED_KEY


def check_bundle(path: Path, *, running: str, public_key: Ed25519PublicKey) -> BundleFacts:
    """Check the bundle at `path` against the release key and the running version (see the module's docstring)."""
    try:
        archive = tarfile.open(path, mode='r:')
    except (OSError, tarfile.TarError) as error:
        raise BundleRefused(
            N_('This file is not an Enclave bundle (not a tar archive): {error}'), error=str(error)
        ) from error
    with archive:
        members = _members(archive)
        folder = _folder(members)
        small = {name: _read_small(archive, members, f'{folder}/{name}') for name in ('MANIFEST', SIGNATURE)}
        try:
            public_key.verify(small[SIGNATURE], small['MANIFEST'])
        except InvalidSignature:
            raise BundleRefused(
                N_('The bundle is not signed with the Enclave release key: it was altered, or made by someone else.')
            ) from None
        listed = _manifest(small['MANIFEST'])
        _check_files(archive, members, folder, listed)
        facts = _facts(archive, members, folder)
    _check_versions(facts, running)
    return facts


def _members(archive: tarfile.TarFile) -> dict[str, tarfile.TarInfo]:
    found: dict[str, tarfile.TarInfo] = {}
    total = 0
    for member in archive:
        name = member.name
        parts = PurePosixPath(name).parts
        if name.startswith('/') or '..' in parts or not parts or '\\' in name:
            raise BundleRefused(N_('The bundle holds a file outside its folder ({name}).'), name=name[:200])
        if not (member.isfile() or member.isdir()):
            raise BundleRefused(N_('The bundle holds a link or a special file ({name}).'), name=name[:200])
        total += member.size
        if total > MAX_BYTES:
            raise BundleRefused(N_('The bundle is larger than an Enclave bundle can be.'))
        found[str(PurePosixPath(*parts))] = member
    return found


def _folder(members: dict[str, tarfile.TarInfo]) -> str:
    tops = {PurePosixPath(name).parts[0] for name in members}
    if len(tops) != 1 or not _FOLDER.fullmatch(next(iter(tops))):
        raise BundleRefused(N_('This file is not an Enclave bundle: it must hold one folder enclave-<version>.'))
    return next(iter(tops))


def _read_small(archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str) -> bytes:
    member = members.get(name)
    if member is None or not member.isfile():
        raise BundleRefused(N_('The bundle has no {file}: it is not complete.'), file=PurePosixPath(name).name)
    if member.size > MAX_SMALL:
        raise BundleRefused(N_("The bundle's {file} is too large."), file=PurePosixPath(name).name)
    handle = archive.extractfile(member)
    assert handle is not None
    return handle.read()


def _manifest(text: bytes) -> dict[str, str]:
    listed: dict[str, str] = {}
    try:
        lines = text.decode('utf-8').splitlines()
    except UnicodeDecodeError:
        lines = ['?']
    for line in lines:
        match = _LINE.fullmatch(line)
        if match is None:
            raise BundleRefused(N_("The bundle's MANIFEST is not a list of checksums."))
        listed[match.group(2)] = match.group(1)
    return listed


def _check_files(
    archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], folder: str, listed: dict[str, str]
) -> None:
    present = {
        name[len(folder) + 1 :]: member
        for name, member in members.items()
        if member.isfile() and name not in (f'{folder}/MANIFEST', f'{folder}/{SIGNATURE}')
    }
    extra = sorted(set(present) - set(listed))
    if extra:
        raise BundleRefused(
            N_('The bundle holds files its MANIFEST does not list ({names}): it was altered.'),
            names=', '.join(extra[:3]),
        )
    missing = sorted(set(listed) - set(present))
    if missing:
        raise BundleRefused(
            N_('Files the MANIFEST lists are missing from the bundle ({names}): it is not complete.'),
            names=', '.join(missing[:3]),
        )
    for relative, member in sorted(present.items()):
        handle = archive.extractfile(member)
        assert handle is not None
        hasher = hashlib.sha256()
        while chunk := handle.read(2**20):
            hasher.update(chunk)
        digest = hasher.hexdigest()
        if digest != listed[relative]:
            raise BundleRefused(
                N_('The file {name} of the bundle does not match its checksum: it was altered or damaged.'),
                name=relative,
            )


def _facts(archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], folder: str) -> BundleFacts:
    version = _FOLDER.fullmatch(folder).group(1)  # type: ignore[union-attr]  # checked by _folder
    stated = _read_small(archive, members, f'{folder}/VERSION').decode('utf-8', 'replace').strip()
    try:
        release = json.loads(_read_small(archive, members, f'{folder}/RELEASE.json'))
    except ValueError:
        release = None
    if not isinstance(release, dict) or stated != version or release.get('version') != version:
        raise BundleRefused(N_("The bundle's VERSION, RELEASE.json and folder name disagree; it is not usable."))
    upgrade_from = str(release.get('upgrade_from') or '0')
    try:
        version_key(upgrade_from)
    except ValueError:
        raise BundleRefused(
            N_("The bundle's required stop ({stop}) is not a version."), stop=upgrade_from[:40]
        ) from None
    changelog = members.get(f'{folder}/CHANGELOG.md')
    text = _read_small(archive, members, f'{folder}/CHANGELOG.md').decode('utf-8', 'replace') if changelog else ''
    files = [member for member in members.values() if member.isfile()]
    return BundleFacts(
        version=version,
        upgrade_from=upgrade_from,
        schema_heads=tuple(str(head) for head in release.get('schema_heads') or ()),
        changelog=text,
        files=len(files),
        bytes=sum(member.size for member in files),
        wheel_bytes=sum(member.size for name, member in members.items() if name.startswith(f'{folder}/wheels/')),
    )


def _check_versions(facts: BundleFacts, running: str) -> None:
    mine = version_key(running)
    theirs = version_key(facts.version)
    if theirs == mine:
        raise BundleRefused(N_('Enclave {version} is already running; there is nothing to upgrade.'), version=running)
    if theirs < mine:
        raise BundleRefused(
            N_(
                'The bundle holds Enclave {version}, older than the running {running}. An upgrade never goes back '
                'to an older version; nothing was changed.'
            ),
            version=facts.version,
            running=running,
        )
    if mine < version_key(facts.upgrade_from):
        raise BundleRefused(
            N_(
                'Enclave {version} upgrades from {stop} or newer, and this box runs {running}. Upgrade to {stop} '
                'first (a required stop), then to {version}.'
            ),
            version=facts.version,
            stop=facts.upgrade_from,
            running=running,
        )


def changes_between(changelog: str, running: str, target: str) -> str:
    """The CHANGELOG sections (`## <version> ...`) newer than `running` and up to `target`, as written."""
    low, high = version_key(running), version_key(target)
    sections: list[list[str]] = []
    keep = False
    for line in changelog.splitlines():
        if line.startswith('## '):
            heading = line[3:].strip().split(' ', 1)[0].lstrip('v')
            try:
                keep = low < version_key(heading) <= high
            except ValueError:
                keep = False  # "## Unreleased"
            if keep:
                sections.append([line])
        elif keep:
            sections[-1].append(line)
    return '\n\n'.join('\n'.join(section).strip() for section in sections)
