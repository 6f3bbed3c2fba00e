"""Organisation settings kept in the database (set by the setup wizard and the admin)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from appliance.errors import N_, ValidationError
from appliance.models import OrgSetting, User
from appliance.services import audit
from appliance.services.permissions import require

DEFAULTS = {'org_name': 'Enclave', 'language': 'en', 'require_2fa': '0'}
LANGUAGES = ('en', 'zh_CN')


def get(session: Session, key: str) -> str:
    """The value of a setting, or its default."""
    row = session.get(OrgSetting, key)
    return row.value if row else DEFAULTS.get(key, '')


def all_settings(session: Session) -> dict[str, str]:
    """Every setting with defaults filled in."""
    values = dict(DEFAULTS)
    # Plain columns, not objects: every page reads them.
    values.update({key: value for key, value in session.execute(select(OrgSetting.key, OrgSetting.value))})
    return values


def put(session: Session, key: str, value: str) -> None:
    """Store a setting in the caller's transaction (no permission check: callers check)."""
    row = session.get(OrgSetting, key)
    if row is None:
        session.add(OrgSetting(key=key, value=value))
    else:
        row.value = value


def validate_org_name(name: str) -> str:
    """A trimmed organisation name, or ValidationError."""
    name = name.strip()
    if not name:
        raise ValidationError(N_('Enter the organisation name.'), field='org_name')
    if len(name) > 100:
        raise ValidationError(N_('The organisation name must be at most {n} characters.'), field='org_name', n=100)
    return name


def validate_language(language: str) -> str:
    """A supported language code, or ValidationError."""
    if language not in LANGUAGES:
        raise ValidationError(N_('Choose a supported language.'), field='language')
    return language


def update(*, session: Session, actor: User, org_name: str, language: str, require_2fa: bool) -> None:
    """Change the organisation settings (admin)."""
    require(actor, 'core.manage_settings', target='settings')
    values = {
        'org_name': validate_org_name(org_name),
        'language': validate_language(language),
        'require_2fa': '1' if require_2fa else '0',
    }
    for key, value in values.items():
        put(session, key, value)
    audit.record(session=session, actor=actor, action='settings.update', target='organisation', details=values)
