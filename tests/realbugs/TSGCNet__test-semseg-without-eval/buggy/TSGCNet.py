import torch
import torch.nn as nn
import torch.nn.functional as F


class TSGCNet(nn.Module):
    def __init__(self, k=16, in_channels=12, output_channels=8):
        super(TSGCNet, self).__init__()
        self.k = k
        self.bn1_c = nn.BatchNorm2d(64)
        self.conv1_c = nn.Sequential(nn.Conv2d(in_channels * 2, 64, kernel_size=1, bias=False),
                                     self.bn1_c,
                                     nn.LeakyReLU(negative_slope=0.2))
        self.pred1 = nn.Sequential(nn.Conv1d(64, 256, kernel_size=1, bias=False),
                                   nn.BatchNorm1d(256),
                                   nn.LeakyReLU(negative_slope=0.2))
        self.dp1 = nn.Dropout(p=0.6)
        self.pred4 = nn.Sequential(nn.Conv1d(256, output_channels, kernel_size=1, bias=False))

    def forward(self, x):
        x = self.conv1_c(x.unsqueeze(-1)).max(dim=-1, keepdim=False)[0]
        x = self.pred1(x)
        x = self.dp1(x)
        x = self.pred4(x)
        x = F.log_softmax(x, dim=1)
        return x.transpose(2, 1)
