"""A transformers ``TrainerCallback`` that runs the tensorlint runtime monitor during ``Trainer.train()``.

::

    from tensorlint.runtime.integrations.hf import TensorlintCallback

    trainer = Trainer(model=model, args=args, ..., callbacks=[TensorlintCallback()])
    trainer.train()   # report printed after evaluations with findings and at the end;
                      # JSON/HTML in <output_dir>/tensorlint/

It attaches at ``on_train_begin`` (to the model the Trainer passes, unwrapped), writes
``eval-step<N>.json`` after each ``on_evaluate`` and ``report.json``/``report.html`` at
``on_train_end``; only the world process zero prints and writes. Keywords are those of
``MonitorSession`` (``reference``, ``allow``, ``fail_on``, ``print_report``, ``html``,
``save_profile``) plus any ``Monitor`` option.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from ._common import MonitorSession, TensorlintFindings


class TensorlintCallback(TrainerCallback):
    def __init__(self, **kwargs: Any) -> None:
        self.session = MonitorSession(**kwargs)

    @property
    def reports(self):
        return self.session.reports

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.session.start(model)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.session.checkpoint(args.output_dir, f"eval-step{state.global_step}", state.is_world_process_zero)

    def on_train_end(self, args, state, control, **kwargs):
        self.session.finish(args.output_dir, state.is_world_process_zero)


__all__ = ["TensorlintCallback", "TensorlintFindings"]
