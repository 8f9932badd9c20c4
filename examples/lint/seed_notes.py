"""The seed notes' own dropout example: the keyword of torch.dropout is `train`."""

import torch

x = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
output = torch.dropout(x, p=0.5, training=True)  # TypeError at run time
