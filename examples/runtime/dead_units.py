"""dead-units: a ReLU layer whose bias pushed every unit below zero, so it never fires again."""

import torch
from torch import nn

from tensorlint.runtime import Monitor

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 1))
with torch.no_grad():
    model[0].bias.fill_(-10.0)  # what a too-large learning rate step can do

opt = torch.optim.SGD(model.parameters(), lr=0.01)
with Monitor(model, every=1) as mon:
    for _ in range(5):
        opt.zero_grad()
        model(torch.randn(64, 16)).pow(2).mean().backward()
        opt.step()
mon.report().print()
