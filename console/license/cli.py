"""`enclave license ...`: show the license in force, install a code or a `.lic` file, and (vendor side) issue codes.

Thin wrappers over console.licensing, the same service the console page uses.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from appliance.fsutil import atomic_write_bytes
from appliance.i18n import translate_error
from console.license import services
from console.license.services import FREE_SEATS, License, LicenseError, issue, verify

license_app = typer.Typer(help='The offline license: show it, install an activation code, issue codes (vendor).')


def register(app: typer.Typer) -> None:
    """Add this part's commands to the `enclave` app."""
    app.add_typer(license_app, name='license', no_args_is_help=True)


def _lines(status: services.LicenseStatus) -> list[str]:
    lines = []
    if status.problem is not None:
        lines.append(f'Problem:     the installed code does not verify: {translate_error(status.problem)}')
    if status.licensed:
        expiry = status.expires or 'never'
        if status.expired:
            expiry += f' (expired: the free limit of {FREE_SEATS} applies)'
        lines += [
            f'Licensee:    {status.licensee}',
            f'License id:  {status.license_id}',
            f'Seats:       {status.seats} licensed',
            f'Expires:     {expiry}',
        ]
    else:
        lines.append(f'Licensee:    none (the free limit of {FREE_SEATS} seats applies)')
    lines += [
        f'Seats used:  {status.seats_used} of {status.seat_limit}',
        f'Install id:  {status.install_id}',
    ]
    if status.clock_behind:
        lines.append(f'Clock:       behind a date already seen; the license is judged on {status.today.isoformat()}')
    return lines


@license_app.command('show')
def show(json_output: Annotated[bool, typer.Option('--json', help='Print JSON for scripts.')] = False) -> None:
    """Show the license in force, the seats used and the install id."""
    from appliance.operator import operator_session

    with operator_session() as session:
        status = services.current_status(session)
    if json_output:
        typer.echo(json.dumps(status.as_dict(), ensure_ascii=False, indent=2))
        return
    for line in _lines(status):
        typer.echo(line)


@license_app.command('install')
def install(code_or_file: Annotated[str, typer.Argument(metavar='CODE|FILE', help='A code, or a .lic file.')]) -> None:
    """Install an activation code, given as the code itself or as the path of a .lic file."""
    from appliance.operator import OPERATOR, fail, operator_session

    text = code_or_file
    if not code_or_file.strip().upper().startswith('ENC1'):
        path = Path(code_or_file).expanduser()
        if not path.is_file() and (path.suffix.lower() == '.lic' or '/' in code_or_file):
            fail(f'There is no file {path}. Give the activation code itself, or the path of the .lic file.')
        if path.is_file():
            try:
                text = path.read_bytes()[: services.MAX_TEXT + 1].decode('utf-8')
            except (OSError, UnicodeDecodeError) as error:
                fail(f'Cannot read {path} as an activation code file: {error}')
    with operator_session() as session:
        row = services.install(session=session, actor=OPERATOR, text=text)
        status = services.current_status(session)
    typer.echo(f'Installed license {row.license_id} for {row.licensee}: {row.seats} seats.')
    typer.echo(f'Seats used: {status.seats_used} of {status.seat_limit}.')


def _private_key(path: Path) -> Ed25519PrivateKey:
    from appliance.operator import fail

    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        fail(f'Cannot read the private key {path}: {error}')
    if not isinstance(key, Ed25519PrivateKey):
        fail(f'{path} is not an Ed25519 private key.')
    return key


@license_app.command('issue')
def issue_code(
    private_key: Annotated[Path, typer.Option('--private-key', help="The vendor's Ed25519 private key (PEM).")],
    licensee: Annotated[str, typer.Option('--licensee', help='Who the license is for.')],
    seats: Annotated[int, typer.Option('--seats', help='Seats granted.', min=1)],
    expires: Annotated[str, typer.Option('--expires', help='Last valid day, YYYY-MM-DD; default: never.')] = '',
    install_id: Annotated[str, typer.Option('--install-id', help='Bind the code to one installation.')] = '',
    license_id: Annotated[str, typer.Option('--license-id', help='Default: L-<today>-<seats>.')] = '',
    out: Annotated[Path | None, typer.Option('--out', help='Also write a .lic file here.')] = None,
) -> None:
    """Make an activation code (vendor side): prints the code, and writes a .lic file with --out."""
    from appliance.operator import fail

    today = date.today()
    if expires:
        try:
            if date.fromisoformat(expires) < today:
                fail(f'--expires {expires} is in the past.')
        except ValueError:
            fail(f'--expires must be a date as YYYY-MM-DD, not "{expires}".')
    if not licensee.strip():
        fail('--licensee must name who the license is for.')
    lic = License(
        license_id=license_id.strip() or f'L-{today:%Y%m%d}-{seats}',
        licensee=licensee.strip(),
        seats=seats,
        issued=today.isoformat(),
        expires=expires,
        install_id=install_id.strip().upper(),
    )
    key = _private_key(private_key)
    code = issue(lic, key)
    try:  # read it back as the product will, so a code that cannot be installed is never handed out
        verify(code, install_id=lic.install_id, public_key=key.public_key())
    except LicenseError as error:
        fail(translate_error(error))
    if out is not None:
        try:
            atomic_write_bytes(out, services.lic_file_text(code, lic).encode(), mode=0o644)
        except OSError as error:
            fail(f'Cannot write {out}: {error}')
        typer.echo(f'Wrote {out}', err=True)
    typer.echo(code)
