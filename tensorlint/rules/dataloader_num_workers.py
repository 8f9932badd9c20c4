"""TL402: `DataLoader(...)` without `num_workers`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Severity
from tensorlint.rules.base import Rule
from tensorlint.semantics.calls import call_argument, callee_name

_DATALOADERS = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})
_NUM_WORKERS_POSITION = 5  # dataset, batch_size, shuffle, sampler, batch_sampler, num_workers


class DataloaderNumWorkers(Rule):
    """## What it does
    Flags `torch.utils.data.DataLoader(...)` calls that do not set `num_workers`, by
    keyword or by position. Calls with `**kwargs` are skipped, as they may carry it.
    Off by default: small datasets and tests are fine with loading in the main process.

    ## Why is this bad?
    The default `num_workers=0` loads and collates every batch in the training process,
    synchronously with the model step. With any real preprocessing the accelerator
    waits on data loading, and training is slower than it needs to be (TorchFix TOR401).

    ## Example
    ```python
    loader = DataLoader(dataset, batch_size=64, shuffle=True)
    ```

    ## Use instead
    ```python
    loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=4)
    ```
    or `num_workers=0` explicitly, to record that the main process is intended.

    ## Fix safety
    There is no fix: the right worker count depends on the machine and the dataset, and
    worker processes change behaviour (pickling, random seeds, memory).
    """

    code = "TL402"
    name = "dataloader-num-workers"
    summary = "`DataLoader` without `num_workers`: data loading runs in the training process"
    severity = Severity.INFO
    default_enabled = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = callee_name(func)
        if last != "DataLoader" or self.ctx.qualified_name(func) not in _DATALOADERS:
            return
        if call_argument(node, _NUM_WORKERS_POSITION, "num_workers") is not None:
            return  # passed, or possibly passed through *args/**kwargs
        self.report(
            node,
            "`DataLoader` without `num_workers` loads every batch in the training process; "
            "set `num_workers` (0 to keep it explicit)",
        )
