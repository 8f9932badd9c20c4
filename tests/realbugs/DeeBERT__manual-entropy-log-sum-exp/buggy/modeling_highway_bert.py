import torch
from torch import nn


def entropy(x):
    # x: torch.Tensor, logits BEFORE softmax
    exp_x = torch.exp(x)
    A = torch.sum(exp_x, dim=1)    # sum of exp(x_i)
    B = torch.sum(x*exp_x, dim=1)  # sum of x_i * exp(x_i)
    return torch.log(A) - B/A


class HighwayExit(nn.Module):
    def __init__(self, hidden_size, num_labels, early_exit_entropy):
        super(HighwayExit, self).__init__()
        self.classifier = nn.Linear(hidden_size, num_labels)
        self.early_exit_entropy = early_exit_entropy

    def forward(self, pooled_output):
        highway_logits = self.classifier(pooled_output)
        highway_entropy = entropy(highway_logits)
        return highway_logits, highway_entropy < self.early_exit_entropy
