"""The torch API signature table, read from ``tensorlint/data/torch_api.json``.

The table is generated from an installed torch by ``scripts/gen_torch_api.py``
and committed; this module never imports torch.  Everything here answers
three-valued: ``None`` means "not known", and a rule must then say nothing.

Keys are qualified names: ``torch.sum``, ``torch.nn.functional.softmax``,
``torch.linalg.norm``, ``torch.nn.Dropout`` (the constructor), and
``torch.Tensor.sum`` for tensor methods.  For ``torch.Tensor.X`` the entry
describes the bound call ``t.X(...)``: ``self`` is neither a keyword nor
counted among the positional arguments (nor part of ``positional_order``).

Builtins parsed by torch's C++ ``PythonArgParser`` also accept numpy-style
keyword aliases that no Python signature shows (``torch.sum(x, axis=0)``,
``keepdims=``); :attr:`ApiEntry.params` includes them for those entries.
"""

from __future__ import annotations

import difflib
import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["ApiEntry", "TORCH_VERSION", "lookup", "returns_tensor"]


@dataclass(frozen=True)
class ApiEntry:
    qualname: str
    #: every keyword name the call accepts, numpy aliases included where the
    #: C++ argument parser honours them
    params: tuple[str, ...]
    #: the most positional arguments any overload takes; None = unlimited
    positional_max: int | None
    #: takes ``**kwargs``: keywords are never flagged
    var_keyword: bool
    #: True / False / None (unknown)
    returns_tensor: bool | None
    #: the parameters that positional arguments bind, in order (the i-th
    #: positional argument binds ``positional_order[i]`` in every overload);
    #: None when that is not known or differs between overloads
    positional_order: tuple[str, ...] | None = None

    def accepts_keyword(self, name: str) -> bool | None:
        """False only when no overload accepts ``name``; None when unknowable."""
        if self.var_keyword:
            return None
        return name in self.params

    def accepts_positional(self, count: int) -> bool | None:
        """False only when no overload takes ``count`` positional arguments."""
        if self.positional_max is None:
            return None
        return count <= self.positional_max

    def suggest(self, name: str) -> str | None:
        """The closest accepted keyword, e.g. ``training`` -> ``train``."""
        if self.var_keyword or not self.params:
            return None
        matches = difflib.get_close_matches(name, self.params, n=1, cutoff=0.6)
        return matches[0] if matches else None


@functools.cache
def _table() -> dict[str, Any]:
    text = resources.files("tensorlint.data").joinpath("torch_api.json").read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def lookup(qualname: str) -> ApiEntry | None:
    """The table's entry for ``qualname``, or None when it is not known."""
    table = _table()
    raw = table["entries"].get(qualname)
    if raw is None:
        return None
    names = raw["p"].split()
    if raw.get("a"):
        aliases = table["aliases"]
        extra = [alias for name in names for alias in aliases.get(name, ())]
        names = names + [a for a in extra if a not in names]
    ret = raw.get("r")
    return ApiEntry(
        qualname=qualname,
        params=tuple(names),
        positional_max=raw.get("n"),
        var_keyword=bool(raw.get("k")),
        returns_tensor=None if ret is None else bool(ret),
        positional_order=tuple(raw["o"].split()) if raw.get("o") else None,
    )


def returns_tensor(qualname: str) -> bool | None:
    """Whether calling ``qualname`` yields a Tensor: True, False or None."""
    entry = lookup(qualname)
    return None if entry is None else entry.returns_tensor


def __getattr__(name: str) -> Any:
    # TORCH_VERSION is read lazily so that importing this module stays free.
    if name == "TORCH_VERSION":
        return _table()["torch_version"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
