"""UI stories run against the app that `appliance/main.py` builds, through NiceGUI's `user` fixture."""

from tests.appliance.support import fast_hashing  # noqa: F401 - autouse
