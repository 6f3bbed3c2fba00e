"""A module whose own import fails: the loader must not report it as "not installed"."""

import enclave_dependency_that_is_not_installed  # noqa: F401

from appliance.modules import ModuleSpec

MODULE = ModuleSpec(name='broken', label='Broken')
