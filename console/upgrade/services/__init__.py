"""The upgrade part's public surface: checking an upgrade bundle, what upgrading to it would do here, the release
key, versions and changelogs. Pages and the CLI import only this package."""

from __future__ import annotations

from console.upgrade.services import bundle
from console.upgrade.services.bundle import (
    BundleFacts,
    BundleRefused,
    changes_between,
    check_bundle,
    release_key,
    version_key,
)
from console.upgrade.services.planning import UpgradePlan, plan, upgrades_dir, waiting_bundles
from console.upgrade.services.receiving import Received, receive_bundle

__all__ = [
    'BundleFacts',
    'BundleRefused',
    'Received',
    'UpgradePlan',
    'bundle',
    'changes_between',
    'check_bundle',
    'plan',
    'receive_bundle',
    'release_key',
    'upgrades_dir',
    'version_key',
    'waiting_bundles',
]
