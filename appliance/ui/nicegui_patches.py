"""Fixes to NiceGUI carried in our tree until a NiceGUI release has them. Each is small, keeps NiceGUI's behaviour,
and has its test in tests/appliance/ui/test_nicegui_patches.py; remove one when the release that fixes it is locked.

`expects_arguments`: every element makes three observables (classes, props, style), and each asks
`helpers.expects_arguments(self._update)`, which runs `inspect.signature` on a fresh bound method: about 13 µs,
so about 40 µs of every element, the same answer each time. The answer depends only on the function (and on
whether it is bound), so it is kept per function, weakly (a function that goes away takes its entry with it).
NiceGUI 3.18 already resolves it once per observable rather than per change (zauberzeug/nicegui#6108); this
removes the per-element cost too.
"""

from __future__ import annotations

import inspect
import types
import weakref
from collections.abc import Callable
from typing import Any

from nicegui import helpers

_original: Callable[[Callable[..., Any]], bool] = helpers.expects_arguments
# function -> (answer when called plain, answer when bound as a method)
_answers: weakref.WeakKeyDictionary[types.FunctionType, list[bool | None]] = weakref.WeakKeyDictionary()


def expects_arguments(func: Callable[..., Any]) -> bool:
    """NiceGUI's `helpers.expects_arguments`, remembered per plain or bound Python function."""
    target = func.__func__ if inspect.ismethod(func) else func
    if not isinstance(target, types.FunctionType):
        return _original(func)  # partials, builtins, callable objects: asked each time, as before
    slot = 1 if target is not func else 0
    answers = _answers.get(target)
    if answers is None:
        answers = _answers[target] = [None, None]
    answer = answers[slot]
    if answer is None:
        answer = answers[slot] = _original(func)
    return answer


def apply() -> None:
    """Install the fixes (idempotent)."""
    helpers.expects_arguments = expects_arguments
