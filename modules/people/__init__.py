"""Personnel records: employee files with every field classified, sensitive ones sealed and every look recorded."""

from __future__ import annotations

from appliance.errors import N_
from appliance.extensions import AUDIT_TEXTS, AuditText
from appliance.modules import ModuleSpec, NavItem, Permission

MODULE = ModuleSpec(
    name='people',
    label=N_('Personnel'),
    permissions=(
        # HR's rights are not an administrator's: an admin reads personnel records only if also given the HR role.
        Permission('people.manage', N_('Keep personnel records (HR)'), roles=('hr',), admin=False),
        Permission(
            'people.read_sensitive', N_('Reveal sensitive personnel fields, with a reason'), roles=('hr',), admin=False
        ),
    ),
    nav=(
        NavItem(N_('My record'), '/people/me', 'assignment_ind', 'core.directory'),
        NavItem(N_('Personnel records'), '/people', 'badge', 'people.manage'),
    ),
    protected_paths=('/people', '/people/me', '/people/{id}', '/api/v1/people'),
    contributes=(
        AUDIT_TEXTS.contribute(
            AuditText('people.created', N_('Created the personnel record {target}')),
            AuditText('people.updated', N_('Changed the personnel record {target} ({fields})')),
            AuditText('people.revealed', N_('Revealed {field} of {target}: {reason}')),
        ),
    ),
)
