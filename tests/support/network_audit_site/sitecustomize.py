"""On PYTHONPATH of a live server with several workers (tests/livesrv.py): every process logs its attempts to reach
another host, as `python -m tests.livesrv` does for a single process."""

from tests.livesrv import install_network_audit

install_network_audit()
