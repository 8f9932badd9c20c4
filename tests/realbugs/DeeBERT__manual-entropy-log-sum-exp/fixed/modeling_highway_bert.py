import torch
from torch import nn


def entropy(x):
    # x: torch.Tensor, logits BEFORE softmax
    x = torch.softmax(x, dim=-1)               # softmax normalized prob distribution
    return -torch.sum(x*torch.log(x), dim=-1)  # entropy calculation on probs: -\sum(p \ln(p))


class HighwayExit(nn.Module):
    def __init__(self, hidden_size, num_labels, early_exit_entropy):
        super(HighwayExit, self).__init__()
        self.classifier = nn.Linear(hidden_size, num_labels)
        self.early_exit_entropy = early_exit_entropy

    def forward(self, pooled_output):
        highway_logits = self.classifier(pooled_output)
        highway_entropy = entropy(highway_logits)
        return highway_logits, highway_entropy < self.early_exit_entropy
