"""The console's tests use the module fixtures: the registry with projects and tasks, and the team; and the
license tests' `trust_test_key`."""

from tests.console.license_support import trust_test_key  # noqa: F401 - fixture
from tests.modules.conftest import module_registry, team  # noqa: F401 - fixtures
