"""batchnorm-train-at-inference: a validation loop that quietly overwrites BatchNorm running statistics."""

import torch
from torch import nn

from tensorlint.runtime import Monitor

torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
before = model[1].running_mean.clone()
with Monitor(model) as mon, torch.no_grad():  # validation, but the model is still in train mode
    for _ in range(3):
        model(torch.randn(8, 3, 16, 16) + 2.0)  # noqa: TL103 (planted for the runtime monitor)
print("running_mean changed during validation:", not torch.equal(before, model[1].running_mean))
mon.report().print()
