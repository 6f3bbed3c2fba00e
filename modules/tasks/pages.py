"""NiceGUI pages of the tasks module. PLACEHOLDER: being written."""

from __future__ import annotations


def register() -> None:
    """Register the module's pages."""
