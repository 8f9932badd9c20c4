"""tensorlint.runtime: live diagnostics attached to an ``nn.Module``.

``with Monitor(model) as mon: ...`` then ``mon.report().print()``; see docs/runtime.md.

The names below are imported on first use (PEP 562), so importing a torch-free
submodule (``tensorlint.runtime.findings``, the pytest plugin) never imports torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "KINDS": ".findings",
    "Finding": ".findings",
    "Monitor": ".monitor",
    "Options": ".options",
    "Profile": ".profile",
    "Report": ".report",
}

__all__ = ["KINDS", "Finding", "Monitor", "Options", "Profile", "Report"]


def __getattr__(name: str):
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(where, __name__)
    except ModuleNotFoundError as exc:
        if exc.name != "torch" and not (exc.name or "").startswith("torch."):
            raise
        raise ModuleNotFoundError(
            f"tensorlint.runtime.{name} needs PyTorch, which is not installed here. Install tensorlint with "
            'its runtime extra: pip install "tensorlint[runtime]" (in a checkout of tensorlint: '
            'pip install ".[runtime]"); for a GPU build, install torch first as https://pytorch.org shows.',
            name="torch",
        ) from None
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
