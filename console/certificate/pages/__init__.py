"""The certificate part's pages: /console/certificate."""

from __future__ import annotations


def register() -> None:
    """Register the Certificate page."""
    from console.certificate.pages.certificate import register as register_certificate  # nicegui: only when built

    register_certificate()
