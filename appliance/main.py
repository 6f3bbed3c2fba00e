"""Entry file: `python -m appliance.main` and the NiceGUI test harness both run this."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# NiceGUI resolves its storage folder at import time; keep it inside the data dir.
os.environ.setdefault(
    'NICEGUI_STORAGE_PATH', str(Path(os.environ.get('ENCLAVE_DATA_DIR', 'var')).resolve() / 'nicegui')
)

from nicegui import ui
from sqlalchemy.exc import OperationalError

from appliance.app import build, run_kwargs
from appliance.config import StartupError, load_settings
from appliance.migrate import SchemaError
from appliance.modules import ModuleError


def main() -> None:
    """Build the app and serve it."""
    try:
        settings = build(load_settings(), migrate=os.environ.get('ENCLAVE_MIGRATE_ON_START', '0') == '1')
    except (StartupError, SchemaError, ModuleError) as error:
        print(f'Enclave cannot start: {error}', file=sys.stderr)
        raise SystemExit(2) from error
    except OperationalError as error:
        print(
            f'Enclave cannot start: cannot open the database: {error.orig}. Check data_dir and database_url in the '
            'configuration, and that this account can write to them.',
            file=sys.stderr,
        )
        raise SystemExit(2) from error
    ui.run(**run_kwargs(settings))  # type: ignore[arg-type]


if __name__ in {'__main__', '__mp_main__'}:
    main()
