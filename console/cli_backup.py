"""`enclave` commands of the console's backup part: thin wrappers over the same services as the pages."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `enclave` app."""
