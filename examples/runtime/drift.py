"""drift: record a reference profile on training-like data, then watch inference inputs shift."""

import tempfile
from pathlib import Path

import torch
from torch import nn

from tensorlint.runtime import Monitor, Profile

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 4)).eval()

with Monitor(model, every=1) as mon, torch.no_grad():
    for _ in range(20):
        model(torch.randn(64, 16))
path = Path(tempfile.mkdtemp()) / "reference.json"
mon.profile().save(path)  # JSON, reviewable, never pickle

with Monitor(model, every=1, reference=Profile.load(path)) as mon, torch.no_grad():
    for _ in range(20):
        model(torch.randn(64, 16) * 2.0 + 1.0)  # the upstream pipeline changed its scaling
mon.report().print()
