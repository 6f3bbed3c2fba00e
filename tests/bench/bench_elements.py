"""`make bench`: what a NiceGUI element costs to create, with our patches (appliance/ui/nicegui_patches.py) against
NiceGUI as locked, measured in the same run (issue 13).

    python -m tests.bench.bench_elements [--elements 3000] [--runs 5]

Prints microseconds per element (best of `--runs`) and the ratio. Compare ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import time

from nicegui import Client, helpers, ui
from nicegui.page import page

from appliance.ui import nicegui_patches


def per_element(count: int) -> float:
    """Microseconds per element for `count` rows, each holding a label, as list pages build them."""
    client = Client(page('/'), request=None)
    start = time.perf_counter()
    with client.content:
        for _ in range(count):
            with ui.row().classes('gap-1'):
                ui.label('x').classes('text-sm')
    elapsed = time.perf_counter() - start
    client.delete()
    return elapsed / (2 * count) * 1e6


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--elements', type=int, default=3000)
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args(argv)
    original = helpers.expects_arguments
    baseline = min(per_element(args.elements) for _ in range(args.runs))
    nicegui_patches.apply()
    try:
        patched = min(per_element(args.elements) for _ in range(args.runs))
    finally:
        helpers.expects_arguments = original
    print(f'element creation: {patched:.1f} µs with our patches vs {baseline:.1f} µs NiceGUI as locked', end='')
    print(f' (ratio {patched / baseline:.2f})')


if __name__ == '__main__':
    main()
