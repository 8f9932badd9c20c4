"""Which qualified names are torch optimizers (for rules about optimizer steps)."""

from __future__ import annotations


def is_optimizer_class(qualname: str | None) -> bool:
    """`torch.optim.SGD`, `torch.optim.adamw.AdamW`: yes; schedulers and SWA helpers: no."""
    if not qualname or not qualname.startswith("torch.optim."):
        return False
    if ".lr_scheduler" in qualname or ".swa_utils" in qualname:
        return False
    last = qualname.rsplit(".", 1)[-1]
    return last[:1].isupper()
