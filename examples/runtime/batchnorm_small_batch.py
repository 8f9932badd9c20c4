"""batchnorm-small-batch: BatchNorm trained on 4 samples per batch, and a ragged last batch of 1."""

import torch
from torch import nn

from tensorlint.runtime import Monitor

torch.manual_seed(0)
data = torch.randn(21, 3, 16, 16)
model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
opt = torch.optim.SGD(model.parameters(), lr=0.01)
with Monitor(model) as mon:
    for batch in torch.utils.data.DataLoader(data, batch_size=4):  # 5 batches of 4, then 1
        opt.zero_grad()
        model(batch).pow(2).mean().backward()  # [1, 8, 14, 14] trains without an error
        opt.step()
mon.report().print()
