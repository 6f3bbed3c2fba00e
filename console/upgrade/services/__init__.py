"""The upgrade part's public surface: checking an upgrade bundle, what upgrading to it would do here, the release
key, versions and changelogs; asking the root side to upgrade or roll back, and its history. Pages and the CLI
import only this package."""

from __future__ import annotations

from console.upgrade.services import bundle
from console.upgrade.services.bundle import (
    INSTALLED_KEY,
    MAX_BYTES,
    BundleFacts,
    BundleRefused,
    changes_between,
    check_bundle,
    release_key,
    version_key,
)
from console.upgrade.services.planning import UpgradePlan, plan, upgrades_dir, waiting_bundles
from console.upgrade.services.receiving import Received, receive_bundle
from console.upgrade.services.requesting import (
    Finished,
    helper_installed,
    history,
    pending,
    record_finished,
    request_rollback,
    request_upgrade,
    rollback_offer,
)

__all__ = [
    'INSTALLED_KEY',
    'MAX_BYTES',
    'BundleFacts',
    'BundleRefused',
    'Finished',
    'Received',
    'UpgradePlan',
    'bundle',
    'changes_between',
    'check_bundle',
    'helper_installed',
    'history',
    'pending',
    'plan',
    'receive_bundle',
    'record_finished',
    'release_key',
    'request_rollback',
    'request_upgrade',
    'rollback_offer',
    'upgrades_dir',
    'version_key',
    'waiting_bundles',
]
