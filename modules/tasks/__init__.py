"""Tasks: boards with per-project workflows, lists, my tasks, a calendar, comments, time, files, notifications."""

from __future__ import annotations

from appliance.errors import N_
from appliance.modules import ModuleSpec

MODULE = ModuleSpec(name='tasks', label=N_('Tasks'), requires=('projects',))
