"""The local certificate authority's certificate, for browsers to trust (the appliance makes one at first boot).

`GET /ca.crt` serves the file named by the `ca_certificate` setting (no auth: a public certificate); the setup
wizard links to it and shows its SHA-256 fingerprint, which the VM's console screen shows too, so the admin can
check that the certificate they downloaded is this box's. nginx serves the same file on port 80.
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi.responses import Response

from appliance.api.deps import Router
from appliance.config import get_settings

router = Router(include_in_schema=False)
MAX_BYTES = 64 * 1024


def fingerprint(certificate: x509.Certificate) -> str:
    """A certificate's SHA-256 fingerprint as browsers and `openssl x509 -fingerprint` show it: AA:BB:..."""
    digest = certificate.fingerprint(hashes.SHA256()).hex().upper()
    return ':'.join(digest[i : i + 2] for i in range(0, len(digest), 2))


def local_ca() -> tuple[bytes, str] | None:
    """The CA certificate (PEM) and its SHA-256 fingerprint (AA:BB:...), or None when none is configured or the file
    is missing or not a certificate."""
    name = get_settings().ca_certificate
    if not name:
        return None
    try:
        pem = Path(name).read_bytes()[: MAX_BYTES + 1]
        if len(pem) > MAX_BYTES:
            return None
        certificate = x509.load_pem_x509_certificate(pem)
    except (OSError, ValueError):
        return None
    return certificate.public_bytes(Encoding.PEM), fingerprint(certificate)


@router.get('/ca.crt')
def ca_certificate() -> Response:
    """The local CA's certificate as a download; 404 when this box has none."""
    found = local_ca()
    if found is None:
        return Response('No local certificate authority is configured on this server.\n', status_code=404)
    return Response(
        found[0],
        media_type='application/x-x509-ca-cert',
        headers={'Content-Disposition': 'attachment; filename="enclave-ca.crt"', 'X-Content-Type-Options': 'nosniff'},
    )
