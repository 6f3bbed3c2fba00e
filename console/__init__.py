"""The maintenance console: backups (restic), restores, drills, health, the offline license, the certificate and the
logs (issue 4). A built-in module, registered right after the core and before any module; it never names a module.

This file is the declaration only. Each part (`console/<part>/`) has the shape of a module: `services/` (its public
surface), `pages/` (`register()`), and the hooks with fixed names the loader finds (`cli.py`, `health.py`, `jobs.py`,
`backup.py`).
"""

from __future__ import annotations

from appliance.errors import N_
from appliance.extensions import AUDIT_TEXTS, BANNERS, SEAT_GUARD, AuditText
from appliance.modules import ModuleSpec, NavItem, Permission
from console.health.services import red_banner
from console.license.services import seat_guard

PERMISSION = 'console.manage'


MODULE = ModuleSpec(
    name='console',
    label=N_('Maintenance'),
    permissions=(Permission(PERMISSION, N_('Run the maintenance console: backups, restores, health, license')),),
    nav=(
        NavItem(N_('Health'), '/console', 'monitor_heart', PERMISSION, 'maintenance'),
        NavItem(N_('Backups'), '/console/backups', 'backup', PERMISSION, 'maintenance'),
        NavItem(N_('Snapshots'), '/console/snapshots', 'history', PERMISSION, 'maintenance'),
        NavItem(N_('Upgrade'), '/console/upgrade', 'system_update_alt', PERMISSION, 'maintenance'),
        NavItem(N_('License'), '/console/license', 'verified', PERMISSION, 'maintenance'),
        NavItem(N_('Certificate'), '/console/certificate', 'lock', PERMISSION, 'maintenance'),
        NavItem(N_('Logs'), '/console/logs', 'article', PERMISSION, 'maintenance'),
        NavItem(N_('Support bundle'), '/console/support', 'support', PERMISSION, 'maintenance'),
    ),
    protected_paths=(
        '/console',
        '/console/backups',
        '/console/snapshots',
        '/console/upgrade',
        '/console/license',
        '/console/certificate',
        '/console/logs',
        '/console/support',
    ),
    contributes=(
        BANNERS.contribute(red_banner),
        SEAT_GUARD.contribute(seat_guard),
        AUDIT_TEXTS.contribute(
            AuditText('console.backup', N_('Started a backup to {target}')),
            AuditText('console.forget', N_('Started a retention pass on {target}')),
            AuditText('console.check', N_('Started a check of the backups on {target}')),
            AuditText('console.read_data', N_('Started a full check of the backups on {target}')),
            AuditText('console.drill', N_('Started a restore drill from {target}')),
            AuditText('console.restore', N_('Restored the box from a backup on {target}')),
            AuditText('console.snapshot', N_('Took the snapshot {target}')),
            AuditText('console.snapshot_deleted', N_('Deleted the snapshot {target}')),
            AuditText('console.snapshot_restore', N_('Restored the box to the snapshot {target}')),
            AuditText('console.upgrade_uploaded', N_('Uploaded the upgrade bundle {target}')),
            AuditText('console.upgrade_requested', N_('Asked for the upgrade to Enclave {target}')),
            AuditText('console.rollback_requested', N_('Asked to roll back to Enclave {target}')),
            AuditText('console.upgraded', N_('Enclave was upgraded to {target}')),
            AuditText('console.upgrade_rolled_back', N_('The upgrade to Enclave {target} failed and was rolled back')),
            AuditText('console.upgrade_failed', N_('The upgrade to Enclave {target} failed before Enclave stopped')),
            AuditText('console.upgrade_refused', N_('The upgrade service refused a request')),
            AuditText('console.rollback_done', N_('Enclave was rolled back to {target}')),
            AuditText('console.target_added', N_('Added the backup target {target}')),
            AuditText('console.target_changed', N_('Changed the backup target {target}')),
            AuditText('console.target_removed', N_('Removed the backup target {target}')),
            AuditText('console.kit_downloaded', N_('Downloaded the recovery kit of {target}')),
            AuditText('console.support_bundle.download', N_('Downloaded the support bundle {target}')),
            AuditText('license.install', N_('Installed the license {target}')),
            AuditText('certificate.install', N_('Installed a certificate')),
            AuditText('certificate.local', N_('Went back to the local certificate')),
        ),
    ),
    # The loader joins the parts' hooks in this order: health first, as the console always listed its checks.
    parts=('health', 'backup', 'license', 'certificate', 'logs', 'upgrade'),
)
