"""Labels people read for the projects module's codes (statuses, roles, visibilities): N_() messages."""

from __future__ import annotations

from appliance.errors import N_

STATUS_LABELS = {
    'active': N_('Active'),
    'on_hold': N_('On hold'),
    'done': N_('Done'),
    'archived': N_('Archived'),
}
ROLE_LABELS = {'viewer': N_('Viewer'), 'member': N_('Member'), 'manager': N_('Manager')}
VISIBILITY_LABELS = {'members': N_('Members only'), 'org': N_('Whole organisation (read-only for non-members)')}
MILESTONE_STATUS_LABELS = {'open': N_('Open'), 'done': N_('Done')}
STATUS_COLORS = {'active': 'positive', 'on_hold': 'warning', 'done': 'primary', 'archived': 'grey'}
