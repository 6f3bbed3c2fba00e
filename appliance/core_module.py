"""The core's own declaration, registered before any module: its permissions and admin navigation."""

from __future__ import annotations

from appliance import search_index
from appliance.dashboard import CARDS as DASHBOARD_CARDS
from appliance.errors import N_
from appliance.extensions import AUDIT_TEXTS, BANNERS, SEAT_GUARD
from appliance.modules import BackupHooks, ModuleSpec, NavItem, Permission
from appliance.search import search_people

CORE = ModuleSpec(
    name='core',
    label=N_('Administration'),
    permissions=(
        Permission('core.manage_users', N_('Create, edit and disable user accounts and their roles')),
        Permission('core.manage_sessions', N_("See and end anyone's sign-in sessions")),
        Permission('core.view_audit', N_('Read the audit log')),
        Permission('core.manage_settings', N_('Change organisation settings such as the two-factor policy')),
        Permission('core.search', N_('Use the global search'), roles=('admin', 'member')),
        Permission('core.directory', N_('See the colleague directory and the org chart'), roles=('admin', 'member')),
    ),
    nav=(
        NavItem(N_('Directory'), '/directory', 'contacts', 'core.directory'),
        NavItem(N_('Users'), '/admin/users', 'group', 'core.manage_users', 'admin'),
        NavItem(N_('Departments'), '/admin/departments', 'account_tree', 'core.manage_users', 'admin'),
        NavItem(N_('Sessions'), '/admin/sessions', 'devices', 'core.manage_sessions', 'admin'),
        NavItem(N_('Audit log'), '/admin/audit', 'policy', 'core.view_audit', 'admin'),
        NavItem(N_('Organisation'), '/admin/settings', 'tune', 'core.manage_settings', 'admin'),
        NavItem(N_('E-mail'), '/admin/mail', 'mail', 'core.manage_settings', 'admin'),
    ),
    search=search_people,
    dashboard_cards=DASHBOARD_CARDS,
    offers=(BANNERS, SEAT_GUARD, AUDIT_TEXTS),
    backup_hooks=BackupHooks(
        tables=(
            'core_settings',
            'core_users',
            'core_user_roles',
            'core_sessions',
            'core_login_tickets',
            'core_login_failures',
            'core_api_tokens',
            'core_audit',
            'core_blobs',
            'core_blob_refs',
            'core_search_terms',
            'core_notifications',
            'core_departments',
            'core_department_heads',
            'core_department_members',
            'core_department_events',
        ),
        # The full-text index is rebuilt from core_search_terms, whatever the dump held.
        after_restore=lambda *, session: search_index.rebuild(session),
    ),
    protected_paths=(
        '/admin/users',
        '/admin/sessions',
        '/admin/audit',
        '/admin/settings',
        '/admin/mail',
        '/api/v1/users',
        '/directory',
        '/directory/org',
        '/admin/departments',
        '/api/v1/departments',
        '/api/v1/directory',
    ),
)
