"""Entry file: `python -m appliance.main` and the NiceGUI test harness both run this."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

# NiceGUI resolves its storage folder at import time; keep it inside the data dir.
os.environ.setdefault(
    'NICEGUI_STORAGE_PATH', str(Path(os.environ.get('ENCLAVE_DATA_DIR', 'var')).resolve() / 'nicegui')
)

import pydantic
from nicegui import ui

from appliance.app import build, run_kwargs
from appliance.config import get_settings
from appliance.migrate import SchemaError
from appliance.modules import ModuleError


def main() -> None:
    """Build the app and serve it."""
    try:
        settings = build(get_settings(), migrate=os.environ.get('ENCLAVE_MIGRATE_ON_START', '0') == '1')
    except (pydantic.ValidationError, tomllib.TOMLDecodeError) as error:
        print(f'Enclave cannot start: the configuration is invalid; fix it and start again.\n{error}', file=sys.stderr)
        raise SystemExit(2) from error
    except (SchemaError, ModuleError) as error:
        print(f'Enclave cannot start: {error}', file=sys.stderr)
        raise SystemExit(2) from error
    ui.run(**run_kwargs(settings))  # type: ignore[arg-type]


if __name__ in {'__main__', '__mp_main__'}:
    main()
