"""TL402: `DataLoader(...)` without `num_workers`."""

from __future__ import annotations

import re

import libcst as cst

from tensorlint.diagnostics import Severity
from tensorlint.rules.base import Rule
from tensorlint.semantics.calls import UNKNOWN, call_argument, callee_name
from tensorlint.semantics.dataflow import value_origins

_DATALOADERS = frozenset({"torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"})
_NUM_WORKERS_POSITION = 5  # dataset, batch_size, shuffle, sampler, batch_sampler, num_workers
# Iterable-style datasets: workers each run the whole iterator unless it shards itself.
ITERABLE_DATASET_BASES = frozenset(
    {
        "torch.utils.data.IterableDataset", "torch.utils.data.dataset.IterableDataset",
        "torch.utils.data.IterDataPipe", "torch.utils.data.datapipes.datapipe.IterDataPipe",
        "torchdata.datapipes.iter.IterDataPipe", "datasets.IterableDataset",
        "webdataset.WebDataset", "webdataset.DataPipeline", "webdataset.IterableDataset",
    }
)
# Builders whose datasets are iterable-style: torchtext's datasets are IterDataPipes
# since torchtext 0.12.
ITERABLE_DATASET_PREFIXES = ("torchtext.datasets.",)
# Text of a dataset class that hands out CUDA tensors (which worker processes cannot create).
_CUDA_TEXT = re.compile(r"""\.cuda\(|\.to\(\s*["']cuda|device\s*=\s*["']cuda|torch\.device\(\s*["']cuda""")
_MAX_DEPTH = 5


class DataloaderNumWorkers(Rule):
    """## What it does
    Flags `torch.utils.data.DataLoader(...)` calls that do not set `num_workers`, by
    keyword or by position. Calls with `**kwargs` are skipped, as they may carry it.
    Off by default: small datasets and tests are fine with loading in the main process.

    Not flagged where worker processes are the wrong advice: the dataset is an
    iterable-style one (a class of the file deriving from `IterableDataset` or
    `IterDataPipe`, directly or through other classes of the file, or with `__iter__`
    and no `__getitem__`; or a known one such as `webdataset.WebDataset` or a
    `torchtext.datasets` builder, which returns DataPipes), where each
    worker replays the whole stream unless it shards itself, or a class of the file
    that produces CUDA tensors (`.cuda()`, `.to("cuda")`, `device="cuda"`), which worker
    processes cannot create.

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
        dataset = call_argument(node, 0, "dataset")
        if dataset is not None and dataset is not UNKNOWN and self._main_process_dataset(dataset.value):
            return  # worker processes would be wrong advice
        self.report(
            node,
            "`DataLoader` without `num_workers` loads every batch in the training process; "
            "set `num_workers` (0 to keep it explicit)",
        )

    def _main_process_dataset(self, expr: cst.BaseExpression) -> bool:
        """Every value `expr` may hold is built by an iterable-style dataset class, or by a
        class of this file that hands out CUDA tensors."""
        origins = value_origins(self.ctx, expr)
        if not origins:
            return False
        for origin in origins:
            if not isinstance(origin, cst.Call):
                return False
            qualname = self.ctx.qualified_name(origin.func)
            if qualname is not None and (qualname in ITERABLE_DATASET_BASES or qualname.startswith(ITERABLE_DATASET_PREFIXES)):
                continue
            cls = self.ctx.modules.local_class(origin.func)
            if cls is None or not (self._iterable_class(cls) or _CUDA_TEXT.search(self.ctx.code_for(cls))):
                return False
        return True

    def _iterable_class(self, cls: cst.ClassDef, depth: int = 0) -> bool:
        """A class of this file deriving from an iterable-style dataset (through classes of
        this file too), or one with `__iter__` and no `__getitem__`."""
        if depth > _MAX_DEPTH:
            return False
        methods = {
            s.name.value for s in (cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()) if isinstance(s, cst.FunctionDef)
        }
        if "__iter__" in methods and "__getitem__" not in methods:
            return True
        for base in cls.bases:
            if base.keyword is not None:
                continue
            if self.ctx.qualified_name(base.value) in ITERABLE_DATASET_BASES:
                return True
            parent = self.ctx.modules.local_class(base.value)
            if parent is not None and parent is not cls and self._iterable_class(parent, depth + 1):
                return True
        return False
