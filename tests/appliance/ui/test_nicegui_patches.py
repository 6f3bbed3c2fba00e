"""The NiceGUI fixes we carry (appliance/ui/nicegui_patches.py) answer exactly as NiceGUI does."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any

import pytest
from nicegui import helpers
from nicegui.testing import User as UIUser

from appliance.ui import nicegui_patches
from appliance.ui.nicegui_patches import expects_arguments


def plain(a: int) -> None: ...
def optional(a: int = 1) -> None: ...
def star(*args: Any, **kwargs: Any) -> None: ...
def nothing() -> None: ...


class Widget:
    def update(self) -> None: ...
    def handle(self, event: object) -> None: ...
    def maybe(self, event: object = None) -> None: ...

    @classmethod
    def make(cls, value: int) -> None: ...

    @staticmethod
    def static(value: int) -> None: ...

    def __call__(self, value: int) -> None: ...


CALLABLES: dict[str, Callable[..., Any]] = {
    'function': plain,
    'function with a default': optional,
    'function with *args and **kwargs': star,
    'function without parameters': nothing,
    'lambda without parameters': lambda: None,
    'lambda with one': lambda event: None,
    'bound method without parameters': Widget().update,
    'bound method with one': Widget().handle,
    'bound method with a default': Widget().maybe,
    'method from the class': Widget.handle,
    'classmethod': Widget.make,
    'staticmethod': Widget.static,
    'callable object': Widget(),
    'partial, filled': functools.partial(plain, 1),
    'partial, open': functools.partial(plain),
    'builtin': print,
}


@pytest.mark.parametrize('func', CALLABLES.values(), ids=CALLABLES.keys())
def test_it_answers_as_nicegui_does_the_first_time_and_every_time(func: Callable[..., Any]) -> None:
    expected = nicegui_patches._original(func)
    assert [expects_arguments(func) for _ in range(3)] == [expected] * 3


def test_a_bound_and_a_plain_use_of_one_function_are_told_apart() -> None:
    assert expects_arguments(Widget.update) is True  # plain: needs `self`
    assert expects_arguments(Widget().update) is False  # bound: needs nothing
    assert expects_arguments(Widget.update) is True


def test_it_forgets_a_function_that_goes_away() -> None:
    def handler(event: object) -> None: ...

    expects_arguments(handler)
    count = len(nicegui_patches._answers)
    del handler
    gc.collect()
    assert len(nicegui_patches._answers) == count - 1


async def test_the_built_app_runs_with_it(user: UIUser) -> None:
    assert helpers.expects_arguments is expects_arguments
