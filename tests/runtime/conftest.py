"""Runtime monitor tests: one intra-op thread, a fixed seed, no hub downloads."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch = pytest.importorskip("torch")
# Tiny models on a shared 2-core machine: intra-op threads only add spin-wait contention.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
