"""A Lightning ``Callback`` that runs the tensorlint runtime monitor during ``Trainer.fit()``.

::

    from tensorlint.runtime.integrations.lightning import TensorlintCallback

    trainer = lightning.Trainer(..., callbacks=[TensorlintCallback()])
    trainer.fit(module, train_loader, val_loader)   # JSON/HTML in <default_root_dir>/tensorlint/

It attaches to the ``LightningModule`` at ``on_fit_start``, reports after each validation
(``on_validation_end``; the sanity check is skipped) and at ``on_fit_end``; only global rank
zero prints and writes. It works with the ``lightning`` package or the older
``pytorch_lightning``; importing this module without either raises an ``ImportError`` that
says so. Keywords as for the transformers callback.
"""

from __future__ import annotations

from typing import Any

try:
    from lightning.pytorch import Callback
except ImportError:  # pragma: no cover - the older package name
    try:
        from pytorch_lightning import Callback
    except ImportError as exc:
        raise ImportError(
            "tensorlint.runtime.integrations.lightning needs Lightning: pip install lightning"
        ) from exc

from ._common import MonitorSession, TensorlintFindings


class TensorlintCallback(Callback):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.session = MonitorSession(**kwargs)

    @property
    def reports(self):
        return self.session.reports

    def on_fit_start(self, trainer, pl_module) -> None:
        self.session.start(pl_module)

    def on_validation_end(self, trainer, pl_module) -> None:
        if getattr(trainer, "sanity_checking", False):
            return
        self.session.checkpoint(trainer.default_root_dir, f"eval-step{trainer.global_step}", trainer.is_global_zero)

    def on_fit_end(self, trainer, pl_module) -> None:
        self.session.finish(trainer.default_root_dir, trainer.is_global_zero)

    def on_exception(self, trainer, pl_module, exception) -> None:
        self.session.close()


__all__ = ["TensorlintCallback", "TensorlintFindings"]
