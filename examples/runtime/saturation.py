"""saturation: a sigmoid fed pre-activations around +-20 (the "feature map value of 10" trap)."""

import torch
from torch import nn

from tensorlint.runtime import Monitor

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 32), nn.Sigmoid(), nn.Linear(32, 1))
with torch.no_grad():
    model[0].weight.mul_(40)  # no normalisation: pre-activations far outside [-5, 5]

opt = torch.optim.SGD(model.parameters(), lr=0.1)
with Monitor(model, every=1) as mon:
    for _ in range(5):
        opt.zero_grad()
        model(torch.randn(64, 16)).pow(2).mean().backward()
        opt.step()
mon.report().print()
