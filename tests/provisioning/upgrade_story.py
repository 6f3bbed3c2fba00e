"""Upgrades with real bundles on a fresh Debian 12 root with no network (`make upgrade-test`).

1. A minimal Debian 12 root (debootstrap), the bundle of this tree (release N = 0.1.0) installed with install.sh,
   first boot run.
2. Bundles built by the test from a copy of this tree with another version number, signed with the test key:
   N+1 = 0.1.1 with one migration more; 0.1.2 whose migration fails half way; 0.1.3 with no migration.
3. Inside the root (chroot, new network namespace with loopback only), one script as root: the app serves on its
   Unix socket as `enclave`; data is seeded through the API (an admin, a project, tasks, a comment, an attachment;
   the audit trail grows with it); each upgrade is asked for as the console asks (`enclave upgrade request`, as the
   app's user) and carried out by the root side (`upgrade.sh request`, which enclave-upgrade-request.path runs on
   the appliance; the root has no systemd, so a small script stands in for `systemctl start|stop enclave`).
   - 0.1.0 → 0.1.1: switched, migrated, every row and blob as before, the app healthy.
   - 0.1.1 → 0.1.2: the migration fails; the automatic rollback brings 0.1.1 back on identical data, and the
     history says why.
   - 0.1.1 → 0.1.3, killed (helper and app, SIGKILL) at a random step: the boot-time recovery (`upgrade.sh
     recover`) brings 0.1.1 back on identical data.
   - "Roll back to 0.1.0": the first upgrade is undone; 0.1.0 runs on the data of before.
   - The audit chain verifies at the end.
Needs root, debootstrap, unshare and chroot; takes about ten minutes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.upgrade.services import version_key
from provisioning import bundle
from tests.provisioning.install_story import debian_root, in_root  # noqa: F401 - fixture
from tests.provisioning.support import signing_key

REPO = Path(__file__).resolve().parents[2]
BASE_HEAD = 'the head of release N'  # replaced by the base bundle's schema head
MIGRATIONS = {
    '0.1.1': (
        'a5e1c0de0111',
        BASE_HEAD,
        "    op.create_table('upgrade_story_marker', sa.Column('id', sa.Integer, primary_key=True))\n",
    ),
    '0.1.2': (
        'a5e1c0de0112',
        'a5e1c0de0111',
        "    op.create_table('broken_half_way', sa.Column('id', sa.Integer, primary_key=True))\n"
        "    raise RuntimeError('this migration fails on purpose')\n",
    ),
}
MIGRATION = '''"""Made by tests/provisioning/upgrade_story.py."""

import sqlalchemy as sa
from alembic import op

revision = '{revision}'
down_revision = '{down}'
branch_labels = None
depends_on = None


def upgrade() -> None:
{body}

def downgrade() -> None:
    pass
'''

SERVICE = """#!/bin/sh
# Stands in for systemctl start|stop enclave.service (the root has no systemd).
pid=/run/enclave-story.pid
case $1 in
  start)
    mkdir -p /run/enclave && chown enclave:enclave /run/enclave
    runuser -u enclave -- env ENCLAVE_DATA_DIR=/var/lib/enclave ENCLAVE_CONFIG=/etc/enclave/enclave.toml \\
      NICEGUI_STORAGE_PATH=/var/lib/enclave/nicegui HOME=/var/lib/enclave ENCLAVE_WORKERS=1 \\
      /opt/enclave/current/venv/bin/enclave serve --no-migrate >>/var/log/enclave-story.log 2>&1 &
    echo $! > $pid ;;
  stop)
    [ -e $pid ] || exit 0
    p=$(cat $pid); kill $p 2>/dev/null || true
    for i in $(seq 1 300); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
    rm -f $pid /run/enclave/*.sock ;;
esac
"""

STORY = r"""
import hashlib, json, os, random, signal, sqlite3, subprocess, sys, time
import httpx

DATA = '/var/lib/enclave'
SOCKET = '/run/enclave/app-1.sock'
SKIP = {'core_sessions', 'core_login_tickets', 'console_runs', 'core_audit', 'console_state', 'alembic_version',
        'upgrade_story_marker'}
APP_ENV = {'ENCLAVE_DATA_DIR': DATA, 'ENCLAVE_CONFIG': '/etc/enclave/enclave.toml', 'HOME': DATA,
           'NICEGUI_STORAGE_PATH': DATA + '/nicegui', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8'}
HELPER_ENV = {**APP_ENV, 'ENCLAVE_UPGRADE_SERVICE': '/usr/local/sbin/enclave-story-service',
              'ENCLAVE_UPGRADE_DEADLINE': '240'}


def say(key, value):
    print('RESULT', json.dumps([key, value]), flush=True)


def as_app(*args, stdin=''):
    done = subprocess.run(['runuser', '-u', 'enclave', '--', '/opt/enclave/current/venv/bin/enclave', *args],
                          input=stdin, capture_output=True, text=True, env=APP_ENV)
    if done.returncode != 0:
        print(done.stdout, done.stderr, file=sys.stderr)
    return done


def service(verb):
    subprocess.run(['/usr/local/sbin/enclave-story-service', verb], check=True)


def client(token=None):
    headers = {'authorization': f'Bearer {token}'} if token else {}
    socket = SOCKET if os.path.exists(SOCKET) else '/run/enclave/app.sock'  # one worker: the unnumbered socket
    return httpx.Client(transport=httpx.HTTPTransport(uds=socket), base_url='http://localhost', headers=headers,
                        timeout=30)


def wait_up():
    for _ in range(600):
        try:
            if client().get('/healthz').status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def state():
    rows = {}
    with sqlite3.connect(f'file:{DATA}/enclave.db?mode=ro', uri=True) as db:
        names = [n for (n,) in db.execute("select name from sqlite_master where type='table'")]
        for name in sorted(names):
            if name in SKIP or '_fts' in name or name.startswith('sqlite_'):
                continue
            rows[name] = sorted(repr(row) for row in db.execute(f'select * from "{name}"'))
    blobs = {}
    for folder, _, files in os.walk(f'{DATA}/blobs'):
        for file in files:
            if len(file) == 64:
                with open(os.path.join(folder, file), 'rb') as handle:
                    blobs[file] = hashlib.sha256(handle.read()).hexdigest()
    return {'rows': rows, 'blobs': blobs}


def same(now):
    # The tables and files that differ from `before` (empty: the same).
    names = sorted(set(now['rows']) | set(before['rows']))
    return [name for name in names if now['rows'].get(name) != before['rows'].get(name)] + (
        ['blobs'] if now['blobs'] != before['blobs'] else [])


def kill_the_app():
    # The power goes: every process of the app's user, at once.
    import pwd
    uid = pwd.getpwnam('enclave').pw_uid
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            if os.stat(f'/proc/{pid}').st_uid == uid:
                os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


def current():
    return os.readlink('/opt/enclave/current')


def upgrade(name):
    asked = as_app('upgrade', 'request', name, '--without-fresh-backup')
    if asked.returncode != 0:
        return {'state': 'not asked', 'reason': asked.stderr}
    done = subprocess.run(['/opt/enclave/current/provisioning/upgrade.sh', 'request'], capture_output=True,
                          text=True, env=HELPER_ENV)
    return latest(done.stdout + done.stderr)


def latest(output=''):
    folder = f'{DATA}/upgrade-request/history'
    newest = sorted(os.listdir(folder))[-1]
    with open(f'{folder}/{newest}') as handle:
        record = json.load(handle)
    record['helper_output'] = output[-3000:]
    return record


service('start')
say('up', wait_up())
as_app('user', 'create', '--username', 'admin', '--role', 'admin', '--password-stdin', stdin='Story-Password-2026\n')
token = as_app('token', 'create', '--username', 'admin').stdout.strip()
api = client(token)
project = api.post('/api/v1/projects', json={'name': '升级演练 Upgrade drill', 'key': 'UPG'}).json()
for n in range(5):
    task = api.post('/api/v1/tasks', json={'project_id': project['id'], 'title': f'任务 {n}'}).json()
api.post(f'/api/v1/tasks/{task["id"]}/comments', json={'body': '升级前的评论'})
attached = api.put(f'/api/v1/tasks/{task["id"]}/attachments?filename=纪要.txt', content='会议纪要'.encode() * 1000,
                   headers={'content-type': 'text/plain'})
say('seeded', [project.get('key'), attached.status_code])
subprocess.run(['install', '-d', '-o', 'enclave', '-g', 'enclave', '-m', '0750', f'{DATA}/upgrades'], check=True)
for bundle in os.listdir('/root/bundles'):
    subprocess.run(['install', '-o', 'enclave', '-g', 'enclave', '-m', '0640', f'/root/bundles/{bundle}',
                    f'{DATA}/upgrades/{bundle}'], check=True)
# What the app keeps in memory (last-seen times) is written when it stops: compare from a stopped app's data.
service('stop')
before = state()
service('start')
wait_up()
say('blobs', len(before['blobs']))

first = upgrade('enclave-0.1.1-bundle.tar')
say('first', {k: first.get(k) for k in ('state', 'reason', 'downtime_seconds', 'duration_seconds', 'helper_output')})
say('first_current', current())
say('first_same', same(state()))
say('first_healthy', wait_up() and as_app('version').stdout)

broken = upgrade('enclave-0.1.2-bundle.tar')
say('broken', {k: broken.get(k) for k in ('state', 'reason', 'rollback_seconds', 'helper_output')})
say('broken_current', current())
say('broken_same', same(state()))
say('broken_healthy', wait_up() and as_app('version').stdout)

step = KILL_AT or random.choice(['stopped', 'snapshot', 'switched', 'migrated', 'started'])
say('killed_at', step)
as_app('upgrade', 'request', 'enclave-0.1.3-bundle.tar', '--without-fresh-backup')
helper = subprocess.Popen(['/opt/enclave/current/provisioning/upgrade.sh', 'request'], env=HELPER_ENV,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.monotonic() + 900
reached = False
while time.monotonic() < deadline and helper.poll() is None:
    try:
        with open('/var/lib/enclave-upgrade/journal.json') as handle:
            journal = json.load(handle)
        # The journal of the upgrade before stays until this one begins: wait for this one's own step.
        if journal['id'] != broken['id'] and step in [item['step'] for item in journal['steps']]:
            reached = True
            break
    except (OSError, ValueError, KeyError):
        pass
    time.sleep(0.05)
helper.send_signal(signal.SIGKILL)
helper.wait()
kill_the_app()
time.sleep(1)
subprocess.run(['rm', '-rf', '/run/enclave', '/run/enclave-story.pid'], check=False)
say('kill_reached', reached)
recovered = subprocess.run(['/opt/enclave/current/provisioning/upgrade.sh', 'recover'], capture_output=True,
                           text=True, env=HELPER_ENV)
service('start')
record = latest(recovered.stdout + recovered.stderr)
say('recovered', {k: record.get(k) for k in ('state', 'reason', 'helper_output')})
say('recovered_current', current())
say('recovered_same', same(state()))
say('recovered_healthy', wait_up() and as_app('version').stdout)

first_id = first['id']
as_app('upgrade', 'rollback', '--yes')
done = subprocess.run(['/opt/enclave/current/provisioning/upgrade.sh', 'request'], capture_output=True, text=True,
                      env=HELPER_ENV)
rolled = latest(done.stdout + done.stderr)
say('rollback', {k: rolled.get(k) for k in ('action', 'state', 'reason', 'upgrade', 'rollback_seconds',
                                            'helper_output')})
say('rollback_current', current())
say('rollback_same', same(state()))
say('rollback_healthy', wait_up() and as_app('version').stdout)
say('audit', as_app('audit', 'verify').stdout.strip())
say('history', as_app('upgrade', 'history').stdout)
service('stop')
"""


def tree_copy(target: Path) -> None:
    """This tree's files (tracked and new, not ignored), as a release would be built from them."""
    listed = subprocess.run(
        ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b'\0')
    for name in filter(None, listed):
        source = REPO / name.decode()
        if source.is_file():
            (target / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name.decode())


def variant(base: Path, out: Path, version: str) -> Path:
    """The bundle of this tree as release `version`: its own enclave wheel (and migration), everything else as in
    the bundle at `base` (unpacked), signed with the test key."""
    tree = out / f'tree-{version}'
    tree_copy(tree)
    pyproject = tree / 'pyproject.toml'
    pyproject.write_text(re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', pyproject.read_text()))
    (head,) = json.loads((base / 'RELEASE.json').read_text())['schema_heads']  # one line of migrations
    chain = [v for v in MIGRATIONS if version_key(v) <= version_key(version)]
    if version == '0.1.3':  # one migration more than 0.1.0, as 0.1.1 (not 0.1.2's broken one)
        chain = ['0.1.1']
    for step in chain:
        revision, down, body = MIGRATIONS[step]
        (tree / 'appliance' / 'migrations' / 'versions' / f'story_{revision}.py').write_text(
            MIGRATION.format(revision=revision, down=head if down == BASE_HEAD else down, body=body)
        )
    heads = [MIGRATIONS[chain[-1]][0]] if chain else [head]
    wheels = out / f'wheel-{version}'
    subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--quiet', '--no-deps', '--wheel-dir', str(wheels), str(tree)],
        check=True,
        timeout=600,
    )
    folder = out / 'src' / f'enclave-{version}'
    shutil.copytree(base, folder, ignore=shutil.ignore_patterns('MANIFEST', 'MANIFEST.sig'))
    for old in (folder / 'wheels').glob('enclave-*.whl'):
        old.unlink()
    for new in wheels.glob('enclave-*.whl'):
        shutil.copy2(new, folder / 'wheels' / new.name)
    (folder / 'VERSION').write_text(version + '\n')
    (folder / 'RELEASE.json').write_text(
        json.dumps({'version': version, 'upgrade_from': '0.1.0', 'schema_heads': heads}, indent=2) + '\n'
    )
    signed = bundle.manifest(folder)
    (folder / 'MANIFEST').write_bytes(signed)
    (folder / 'MANIFEST.sig').write_bytes(signing_key().sign(signed))
    target = out / f'enclave-{version}-bundle.tar'
    with tarfile.open(target, 'w', format=tarfile.PAX_FORMAT) as archive:
        archive.add(folder, arcname=folder.name)
    return target


@pytest.fixture(scope='module')
def installed(debian_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:  # noqa: F811
    """Release N installed from its bundle and first boot run; the unpacked bundle beside it."""
    out = tmp_path_factory.mktemp('bundles')
    built = bundle.assemble(out=out, key=signing_key(), debs_from=debian_root)
    with tarfile.open(built) as archive:
        archive.extractall(debian_root / 'root', filter='tar')
        archive.extractall(out / 'unpacked', filter='tar')
    folder = built.name.removesuffix('-bundle.tar')
    done = in_root(debian_root, f'sh /root/{folder}/install.sh && /opt/enclave/current/provisioning/firstboot.sh')
    assert done.returncode == 0, done.stdout + done.stderr
    yield debian_root, out / 'unpacked' / folder


def test_upgrade_rollback_and_a_hard_stop_with_real_bundles(installed: tuple[Path, Path]) -> None:
    root, base = installed
    assert base.name == 'enclave-0.1.0', 'the story numbers its releases from 0.1.0'
    out = root.parent / 'variants'
    bundles = root / 'root' / 'bundles'
    bundles.mkdir(parents=True, exist_ok=True)
    for version in ('0.1.1', '0.1.2', '0.1.3'):
        made = variant(base, out, version)
        shutil.copy2(made, bundles / made.name)
    service = root / 'usr' / 'local' / 'sbin' / 'enclave-story-service'
    service.write_text(SERVICE)
    service.chmod(0o755)
    # UPGRADE_STORY_KILL_AT=<step> picks the step the hard stop hits (random otherwise).
    kill_at = os.environ.get('UPGRADE_STORY_KILL_AT', '')
    (root / 'root' / 'story.py').write_text(f'KILL_AT = {kill_at!r}\n' + STORY)

    ran = in_root(root, '/opt/enclave/releases/0.1.0/venv/bin/python /root/story.py', timeout=3000)

    print(ran.stdout[-20000:], ran.stderr[-20000:])  # shown by -s, and the story's whole account
    results = dict(json.loads(line[7:]) for line in ran.stdout.splitlines() if line.startswith('RESULT '))
    context = ran.stdout[-6000:] + ran.stderr[-6000:]
    assert results.get('up') and results.get('seeded') == ['UPG', 201], context
    assert results.get('blobs', 0) >= 1, context
    first = results['first']
    assert first['state'] == 'done', context
    assert results['first_current'] == 'releases/0.1.1' and results['first_same'] == [], context
    assert 'enclave 0.1.1' in results['first_healthy'], context
    broken = results['broken']
    assert broken['state'] == 'rolled_back' and 'fails on purpose' in broken['reason'], context
    assert results['broken_current'] == 'releases/0.1.1' and results['broken_same'] == [], context
    assert 'enclave 0.1.1' in results['broken_healthy'], context
    assert results['kill_reached'], context
    assert results['recovered']['state'] == 'rolled_back', context
    assert 'interrupted' in results['recovered']['reason'], context
    assert results['recovered_current'] == 'releases/0.1.1' and results['recovered_same'] == [], context
    assert 'enclave 0.1.1' in results['recovered_healthy'], context
    rollback = results['rollback']
    assert rollback['action'] == 'rollback' and rollback['state'] == 'rolled_back', context
    assert results['rollback_current'] == 'releases/0.1.0' and results['rollback_same'] == [], context
    assert 'enclave 0.1.0' in results['rollback_healthy'], context
    assert 'intact' in results['audit'] or 'ok' in results['audit'].lower(), context
    print('figures:', json.dumps({
        'downtime_seconds': first['downtime_seconds'],
        'upgrade_seconds': first['duration_seconds'],
        'rollback_after_failed_migration_seconds': broken['rollback_seconds'],
        'rollback_on_request_seconds': rollback['rollback_seconds'],
        'killed_at': results['killed_at'],
    }))  # fmt: skip
    print(results['history'])
    assert os.path.islink(root / 'opt' / 'enclave' / 'current')
