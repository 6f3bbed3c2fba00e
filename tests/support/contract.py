"""What the generated contract test (tests/test_contract.py) needs: the app's routes and pages, the sample objects
that fill their parameters, the public routes, and what each person may get.

Samples: every `contract_samples.py` among tests/appliance/, tests/console/ and tests/modules/<name>/ has `SAMPLES`,
a list of functions `sample(people, found) -> {param: value}`. They create alice's objects (bob may use them,
charlie may not) and name them with SECRET, so the test can tell when a refused person was shown one. `found` holds
what earlier samples returned (the core's first, then each module after those it requires).
"""

from __future__ import annotations

import importlib
import json
import re
import runpy
import shutil
import tempfile
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from tests.conftest import People

MAIN = Path(__file__).resolve().parents[2] / 'appliance' / 'main.py'
SECRET = 'Zebra-7Q alice-only'  # in the names of the sample objects; never in a refused person's answer

Sample = Callable[[People, Mapping[str, Any]], Mapping[str, Any]]

# Routes anyone may call, each with its reason. Paths as the app declares them.
PUBLIC: dict[str, str] = {
    '/login': 'the sign-in page',
    '/setup': 'the first-run wizard (it sends everyone to sign in once an admin exists)',
    '/auth/session': 'the login ticket exchange that sets the session cookie',
    '/auth/signed-out': 'the page shown after signing out',
    '/auth/logout': 'signing out (harmless without a session)',
    '/healthz': "the proxy's and the monitor's health check",
    '/ca.crt': "the appliance's own CA certificate, for browsers to trust",
    '/api/v1/openapi.json': 'the API description',
    '/tasks-static/{path:path}': "the tasks module's static files (scripts, styles)",
    '/api/v1/calendar/{token}.ics': 'the calendar feed: the secret token in the URL is the credential',
}

# Routes only an admin may use: bob is refused like charlie, and alice must get in.
ADMIN_ONLY: dict[str, str] = {
    '/admin/': 'the administration pages',
    '/console': "the operator's console (backups, license, certificate, logs, support)",
    '/api/v1/users': 'managing accounts (everyone reads themselves at /api/v1/me)',
    '/api/v1/console/': "the operator's console API (uploading an upgrade bundle)",
    '/api/v1/departments': 'changing the department tree (every member reads it: see MEMBER_READS)',
}

# (method, path) under ADMIN_ONLY, or with a parameter, that every member reads by design, charlie too: he must be
# let in, and still never shown the secret.
MEMBER_READS: dict[tuple[str, str], str] = {
    ('GET', '/api/v1/departments'): 'the department tree is the company directory, shown to every member',
    ('GET', '/api/v1/departments/{department_id}'): 'one department of the directory',
    ('GET', '/api/v1/departments/{department_id}/history'): "a department's history (renamed, moved, merged)",
    ('GET', '/api/v1/people/{employee_id}'): "a personnel record's public part (name, number, location)",
    ('GET', '/people/{id}'): "a personnel record's page, with its public part",
}

# (method, path) that only HR may use (people.manage, which an administrator does not hold by being one): bob and
# charlie are refused, and a member with the HR role must get in.
HR_ONLY: dict[tuple[str, str], str] = {
    ('GET', '/people'): "HR's list of personnel records",
    ('GET', '/api/v1/people'): "HR's list of personnel records",
    ('POST', '/api/v1/people'): 'creating a personnel record',
    ('PATCH', '/api/v1/people/{employee_id}'): 'changing a personnel record',
}

# (method, path) that bob, a project manager, may not use on alice's objects, each with its reason.
BOB_REFUSED: dict[tuple[str, str], str] = {
    ('PATCH', '/api/v1/comments/{comment_id}'): "only its author edits a comment, and {comment_id} is alice's",
}

# Admin routes that bob may use all the same, each with its reason.
BOB_ALLOWED: dict[tuple[str, str], str] = {
    ('GET', '/api/v1/users/{user_id}'): 'everyone may read their own account, and {user_id} is bob',
    ('GET', '/api/v1/users/{user_id}/placement'): 'everyone may read where they sit, and {user_id} is bob',
}


@dataclass(frozen=True)
class Case:
    """One route and method as the app registered it."""

    method: str
    path: str
    route: APIRoute
    is_page: bool

    @property
    def id(self) -> str:
        return f'{self.method} {self.path}'

    @property
    def params(self) -> list[str]:
        return re.findall(r'\{(\w+)(?::\w+)?\}', self.path)

    @property
    def admin_only(self) -> bool:
        if (self.method, self.path) in MEMBER_READS:
            return False
        return any(self.path == prefix.rstrip('/') or self.path.startswith(prefix) for prefix in ADMIN_ONLY) and (
            self.path != '/api/v1/me'
        )

    @property
    def member_read(self) -> bool:
        return (self.method, self.path) in MEMBER_READS

    @property
    def hr_only(self) -> bool:
        return (self.method, self.path) in HR_ONLY

    def required_query(self) -> list[str]:
        """Names of the query parameters the route cannot do without."""
        return [field.alias for field in self.route.dependant.query_params if field.field_info.is_required()]

    def query(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The query parameters a sample fills (all of them: a filter by alice's project must refuse charlie too)."""
        return {
            field.alias: values[field.alias] for field in self.route.dependant.query_params if field.alias in values
        }

    def url(self, values: Mapping[str, Any]) -> str:
        """The path with its parameters filled (a missing one is reported by `missing`)."""
        return re.sub(r'\{(\w+)(?::\w+)?\}', lambda match: str(values[match.group(1)]), self.path)

    def missing(self, values: Mapping[str, Any]) -> list[str]:
        return [name for name in [*self.params, *self.required_query()] if name not in values]

    def body(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """A minimal JSON body (required fields only) for a write route, so its access check is reached."""
        if self.method not in {'POST', 'PUT', 'PATCH'}:
            return None
        field = getattr(self.route, 'body_field', None)
        model = field.field_info.annotation if field is not None else None
        if isinstance(model, type) and issubclass(model, BaseModel):
            return minimal(model, values)
        return {}


def is_public(case: Case) -> bool:
    return case.path in PUBLIC or case.path.startswith('/_nicegui')


def cases(app_routes: Iterable[Any], page_paths: Iterable[str]) -> list[Case]:
    """Every route under /api/v1, the auth routes and every registered page, with each of its methods."""
    pages = set(page_paths)
    found = []
    for context in iter_route_contexts(list(app_routes)):
        route = getattr(context, 'route', context)
        path = getattr(context, 'path', None) or getattr(route, 'path', '')
        if not isinstance(route, APIRoute) or path.startswith('/_nicegui'):
            continue
        for method in sorted(route.methods or ()):
            found.append(Case(method, path, route, path in pages))
    return found


# ---- the samples -------------------------------------------------------------------------------------------


def sample_modules(enabled: Iterable[str]) -> list[str]:
    """The modules holding samples: the core's, the console's, then each enabled module's."""
    return ['tests.appliance.contract_samples', 'tests.console.contract_samples'] + [
        f'tests.modules.{name}.contract_samples' for name in enabled
    ]


def collect_samples(enabled: Iterable[str]) -> list[tuple[str, Sample]]:
    """(where, function) of every sample; a module without a contract_samples.py provides none."""
    found: list[tuple[str, Sample]] = []
    for name in sample_modules(enabled):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if not error.name or not f'{name}.'.startswith(f'{error.name}.'):  # it, or a folder above it, is missing
                raise
            continue
        found.extend((name, sample) for sample in getattr(module, 'SAMPLES', []))
    return found


def make_samples(people: People, enabled: Iterable[str]) -> dict[str, Any]:
    """Run every sample; two samples filling the same parameter is a mistake named here."""
    values: dict[str, Any] = {}
    where: dict[str, str] = {}
    for origin, sample in collect_samples(enabled):
        for key, value in sample(people, dict(values)).items():
            assert key not in values, f'{origin}.{sample.__name__} and {where[key]} both fill {{{key}}}: keep one'
            values[key] = value
            where[key] = f'{origin}.{sample.__name__}'
    return values


def missing_sample_message(case: Case, missing: list[str], enabled: Iterable[str]) -> str:
    modules = ', '.join(f'{name.replace(".", "/")}.py' for name in sample_modules(enabled))
    return (
        f'{case.id}: no sample fills {", ".join("{" + name + "}" for name in missing)}. Add a function to SAMPLES in '
        f'the contract_samples.py of the module that owns the route (one of {modules}) that returns '
        f"{{{missing[0]!r}: ...}}: the id of an object of alice's that bob may use and charlie may not (or the "
        'value a required query parameter needs).'
    )


# ---- minimal bodies ----------------------------------------------------------------------------------------


def minimal(model: type[BaseModel], values: Mapping[str, Any]) -> dict[str, Any]:
    """The model's required fields with a plain value each (an id from the samples when the name matches)."""
    body = {}
    for name, field in model.model_fields.items():
        if not field.is_required():
            continue
        key = field.alias or name
        body[key] = values[key] if key in values else _value_for(field.annotation, values)
    return body


def _value_for(annotation: Any, values: Mapping[str, Any]) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return _value_for(next(arg for arg in args if arg is not type(None)), values)
    if origin is typing.Literal:
        return args[0]
    if origin is typing.Annotated:
        return _value_for(args[0], values)
    if origin in (list, set, tuple, frozenset):
        return []
    if origin is dict:
        return {}
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, BaseModel):
            return minimal(annotation, values)
        if issubclass(annotation, bool):
            return False
        if issubclass(annotation, int | float | Decimal):
            return 1
        if issubclass(annotation, datetime):
            return '2026-01-05T09:00:00Z'
        if issubclass(annotation, date):
            return '2026-01-05'
    return 'Contract'


@contextmanager
def contract_app(enabled: list[str]) -> Iterator[tuple[list[Any], list[str]]]:
    """Build the app as appliance/main.py does, in a throwaway data dir: (its routes, its page paths)."""
    from nicegui import Client, core
    from nicegui.testing.general import nicegui_reset_globals

    from appliance.config import get_settings
    from tests.conftest import _migrated_template

    directory = Path(tempfile.mkdtemp(prefix='enclave-contract-'))
    shutil.copy(_migrated_template(), directory / 'enclave.db')
    env = {
        'ENCLAVE_DATA_DIR': str(directory),
        'ENCLAVE_CONFIG': str(directory / 'enclave.toml'),
        'ENCLAVE_SCHEDULER_ENABLED': 'false',
        'NICEGUI_USER_SIMULATION': 'true',
        'ENCLAVE_ENABLED_MODULES': json.dumps(enabled),
        'PYTEST_CURRENT_TEST': 'collecting the contract cases',  # ui.run then returns, as under the user fixture
    }
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            get_settings.cache_clear()
            with nicegui_reset_globals():
                runpy.run_path(str(MAIN), run_name='__main__')
                yield list(core.app.routes), list(Client.page_routes.values())
    finally:
        get_settings.cache_clear()
        shutil.rmtree(directory, ignore_errors=True)
