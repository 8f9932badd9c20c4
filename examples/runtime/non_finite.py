"""non-finite: a log of a possibly-negative value turns the whole network NaN; the first producer is named."""

import torch
from torch import nn

from tensorlint.runtime import Monitor


class LogFeatures(nn.Module):
    def forward(self, x):
        return torch.log(x)  # should have been log1p(relu(x)) or log(x.clamp_min(eps))


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(8, 16), LogFeatures(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))
with Monitor(model, every=1) as mon, torch.no_grad():
    for _ in range(3):
        model(torch.randn(32, 8))
mon.report().print()
