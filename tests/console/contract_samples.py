"""The console's samples for the contract test: none yet (its pages and routes take no parameters).

A console route with a {param} needs a function here that creates the object and returns {param: its id}.
"""

from __future__ import annotations

SAMPLES: list[object] = []
