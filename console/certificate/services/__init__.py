"""The certificate part's public surface: the certificate nginx serves, and asking for another one."""

from __future__ import annotations

from console.certificate.services.certificate import (
    CertificateInfo,
    RequestState,
    check,
    current,
    managed,
    request_local,
    request_own,
    state,
)

__all__ = ['CertificateInfo', 'RequestState', 'check', 'current', 'managed', 'request_local', 'request_own', 'state']
