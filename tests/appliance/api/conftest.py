"""API tests share one built app per module; see `tests.appliance.support.app_client_fixture`."""

from tests.appliance.support import api_fixture, app_client_fixture, fast_hashing, keys_fixture  # noqa: F401
