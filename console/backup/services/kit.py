"""The recovery kit: everything needed to restore this box's backups on a fresh one, in one text file.

It holds the repository's location and password, the install id, the version, and the steps. The console
records who downloaded it and when, and shows a warning on every target whose kit was never taken: without the
password the backups cannot be read by anyone, including us.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from appliance import __version__
from appliance.db import utcnow
from appliance.errors import N_, ServiceError
from appliance.secrets import install_id
from appliance.services.actors import Actor
from console.backup.services import targets

TEMPLATE = """ENCLAVE RECOVERY KIT / 恢复工具包
==================================
Keep this file offline (printed, in a safe). Anyone holding it can read the backups of this box.
请离线保存本文件（打印后放入保险柜）。持有者可读取本机全部备份。

Made:          {made} UTC
Install id:    {install_id}
Enclave:       {version}
Target:        {name}
Repository:    {repository}
Password:      {password}
{environment}
To restore on a freshly installed box (same or newer Enclave version):
1. Install Enclave and stop it:            systemctl stop enclave
2. Save the password above in a file:      printf '%s' 'PASSWORD' > /root/kit.password
3. Add the target with that password:
   enclave backup target add --name {name} --repo '{repository}' --password-file /root/kit.password
4. List the snapshots:                     enclave backup list --target {name}
5. Restore (the latest or one by id):      enclave restore --target {name} --snapshot latest --yes
6. Start Enclave:                          systemctl start enclave
   Everyone signs in again; the data found on the box before the restore is kept in a before-restore-* folder.
{sftp}"""


def recovery_kit(*, session: Session, actor: Actor, data_dir: Path, name: str) -> str:
    """The kit of target `name` as text; records the download."""
    target = targets.get_target(session=session, actor=actor, name=name)
    try:
        password = targets.password_file(data_dir, target.name).read_text(encoding='utf-8').strip()
    except OSError as error:
        raise ServiceError(
            N_('The password file of target "{name}" is missing; the repository cannot be opened without it.'),
            name=name,
        ) from error
    environment = targets.environment_of(data_dir, target)
    env_lines = ''.join(f'Setting:       {key}={value}\n' for key, value in sorted(environment.items()))
    sftp = ''
    if target.repository.startswith('sftp:'):
        key = targets.ssh_key(data_dir)
        sftp = (
            "\nSFTP: the server trusts this box's SSH key. On a new box, either copy the key files\n"
            f"{key} and {key}.pub from the backup, or add the new box's key to the server.\n"
        )
    text = TEMPLATE.format(
        made=utcnow().strftime('%Y-%m-%d %H:%M'),
        install_id=install_id(data_dir),
        version=__version__,
        name=target.name,
        repository=target.repository,
        password=password,
        environment=env_lines,
        sftp=sftp,
    )
    targets.record_kit_download(session=session, actor=actor, name=name, at=utcnow())
    return text
