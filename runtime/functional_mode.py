"""The TorchFunctionMode that sees functional dropout, batch norm and activations.

It is pushed only while the monitored model's forward runs, so code outside the
model pays nothing. Unwatched functions are forwarded untouched.
"""

from __future__ import annotations

from collections.abc import Callable

from torch.overrides import TorchFunctionMode

from .classify import WATCHED, WatchedFunction

OnCall = Callable[[WatchedFunction, tuple, dict, object], None]


class FunctionalMode(TorchFunctionMode):
    """Calls ``on_call(spec, args, kwargs, result)`` after each watched function returns."""

    def __init__(self, on_call: OnCall):
        super().__init__()
        self._on_call = on_call
        self.active = False

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        result = func(*args, **kwargs)
        spec = WATCHED.get(func)
        if spec is not None:
            self._on_call(spec, args, kwargs, result)
        return result

    def push(self) -> None:
        if not self.active:
            self.__enter__()
            self.active = True

    def pop(self) -> None:
        if self.active:
            self.active = False
            self.__exit__(None, None, None)
