"""Long run: 3,000 monitored steps must not grow memory, hooks or device tensors."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
import torch
from torch import nn
from torch.nn.modules import module as module_hooks

from tensorlint.runtime import Monitor


@pytest.mark.slow
def test_three_thousand_steps_no_growth():
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2), nn.Sigmoid())
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(16, 8)

    def step(i):
        if i % 10 == 9:  # an evaluation every ten steps
            model.eval()
            with torch.no_grad():
                model(x)
            model.train()
            return
        opt.zero_grad(set_to_none=True)
        model(x).sum().backward()
        opt.step()

    with Monitor(model, every=1) as mon:
        for i in range(100):
            step(i)
        hooks = (len(module_hooks._global_forward_hooks), len(module_hooks._global_forward_pre_hooks))
        tensors = mon.tensor_count()
        tracemalloc.start()
        heap = []
        for i in range(100, 3100):
            step(i)
            if i % 500 == 99:
                gc.collect()
                heap.append(tracemalloc.get_traced_memory()[0])
        tracemalloc.stop()
        assert (len(module_hooks._global_forward_hooks), len(module_hooks._global_forward_pre_hooks)) == hooks
        assert mon.tensor_count() == tensors
        # CPython's and torch's caches fill up over the first ~2,000 steps (about 25 KiB in all) and
        # then stay bounded (under 1 KiB per 1,000 steps at 5,000 steps); a per-step leak of even
        # one small object would add > 16 KiB over the last 1,000 steps.
        assert heap[-1] - heap[-3] < 16 * 1024, f"Python heap kept growing: {heap}"
        assert mon.forwards == 3100
    assert not mon.report().summary["internal_errors"]
