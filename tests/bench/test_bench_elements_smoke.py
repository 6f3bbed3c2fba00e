"""The element-creation benchmark runs (tiny numbers; the figures themselves are for `make bench`)."""

from __future__ import annotations

import pytest
from nicegui import helpers

from tests.bench import bench_elements


def test_it_prints_both_figures_and_leaves_nicegui_as_it_found_it(capsys: pytest.CaptureFixture[str]) -> None:
    before = helpers.expects_arguments
    bench_elements.main(['--elements', '50', '--runs', '1'])
    assert 'with our patches vs' in capsys.readouterr().out
    assert helpers.expects_arguments is before
