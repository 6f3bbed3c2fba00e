"""Enclave platform core: configuration, database, accounts, modules, UI shell, API and CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version('enclave')
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = '0.0.0+source'
