"""Projects: keys, members with roles, milestones, an overview, an activity feed and a timeline."""

from __future__ import annotations

from appliance.errors import N_
from appliance.modules import ModuleSpec

MODULE = ModuleSpec(name='projects', label=N_('Projects'))
