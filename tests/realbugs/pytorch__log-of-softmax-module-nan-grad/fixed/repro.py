import torch
from torch import nn
from torch import optim

sm = nn.Softmax(dim=1)
lsm = nn.LogSoftmax(dim=1)

crit = nn.NLLLoss()
target = torch.LongTensor([1])

data = torch.FloatTensor([[0, 50, -50]])
data.requires_grad_(True)

num_loop = 1000

for i in range(num_loop):
    model = nn.Linear(3, 3, bias=False)
    optimizer = optim.SGD(model.parameters(), lr = 0.01)
    optimizer.zero_grad()

    loss_sm = crit(lsm(model(data)), target)

    loss_sm.backward()
    optimizer.step()
