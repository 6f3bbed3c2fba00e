"""The console's tests use the module fixtures: the registry with projects and tasks, and the team."""

from tests.modules.conftest import module_registry, team  # noqa: F401 - fixtures
