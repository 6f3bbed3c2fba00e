"""A folder whose ModuleSpec carries another name."""

from appliance.modules import ModuleSpec

MODULE = ModuleSpec(name='othername', label='Misnamed')
