"""The upgrade part's public surface: checking an upgrade bundle, the release key, versions and changelogs."""

from __future__ import annotations

from console.upgrade.services.bundle import (
    BundleFacts,
    BundleRefused,
    changes_between,
    check_bundle,
    release_key,
    version_key,
)

__all__ = ['BundleFacts', 'BundleRefused', 'changes_between', 'check_bundle', 'release_key', 'version_key']
