"""bn-stats-mismatch: BatchNorm running statistics from one distribution, evaluated on another."""

import torch
from torch import nn

from tensorlint.runtime import Monitor

torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
with torch.no_grad():
    for _ in range(50):  # running statistics settle on un-normalised images in [0, 1]
        model(torch.rand(16, 3, 16, 16))

model.eval()
with Monitor(model, every=1) as mon, torch.no_grad():
    for _ in range(3):
        model(torch.rand(16, 3, 16, 16) * 255.0)  # evaluation forgot to divide by 255
mon.report().print()
