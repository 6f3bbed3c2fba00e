"""A pytest plugin (`-p tests.support.extra_modules`): modules from a folder outside the tree join `modules`.

ENCLAVE_TEST_EXTRA_MODULES names a folder holding module packages (`<folder>/<name>/__init__.py`); they become
`modules.<name>` exactly as if they sat in `modules/`, so the loader, the migrations and the contract test find
them. ENCLAVE_TEST_EXTRA_MODULE_TESTS does the same for their tests (`tests.modules.<name>`, where the contract
test looks for samples). tests/tooling/test_new_module.py uses both for a module written into a temporary folder.
"""

from __future__ import annotations

import os

import modules
import tests.modules

for _package, _variable in (
    (modules, 'ENCLAVE_TEST_EXTRA_MODULES'),
    (tests.modules, 'ENCLAVE_TEST_EXTRA_MODULE_TESTS'),
):
    _extra = os.environ.get(_variable, '')
    if _extra and _extra not in _package.__path__:
        _package.__path__.append(_extra)
