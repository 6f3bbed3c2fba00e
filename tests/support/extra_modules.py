"""A pytest plugin (`-p tests.support.extra_modules`): modules from a folder outside the tree join `modules`.

ENCLAVE_TEST_EXTRA_MODULES names a folder holding module packages (`<folder>/<name>/__init__.py`); they become
`modules.<name>` exactly as if they sat in `modules/`, so the loader, the migrations and the contract test find
them. tests/tooling/test_new_module.py uses it to load a module written from the template into a temporary folder.
"""

from __future__ import annotations

import os

import modules

_extra = os.environ.get('ENCLAVE_TEST_EXTRA_MODULES', '')
if _extra and _extra not in modules.__path__:
    modules.__path__.append(_extra)
