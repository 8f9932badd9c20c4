import math

import torch
import torch.optim as optim


class KFACOptimizer(optim.Optimizer):
    def __init__(self, model, lr=0.25, momentum=0.9, stat_decay=0.99,
                 kl_clip=0.001, damping=1e-2, weight_decay=0, fast_cnn=False, Ts=1, Tf=10):
        defaults = dict()
        super(KFACOptimizer, self).__init__(model.parameters(), defaults)
        self.known_modules = {'Linear', 'Conv2d', 'AddBias'}
        self.modules = []
        self.model = model
        self.steps = 0
        self.m_aa, self.m_gg = {}, {}
        self.Q_a, self.Q_g = {}, {}
        self.d_a, self.d_g = {}, {}
        self.momentum = momentum
        self.stat_decay = stat_decay
        self.lr = lr
        self.kl_clip = kl_clip
        self.damping = damping
        self.weight_decay = weight_decay
        self.fast_cnn = fast_cnn
        self.Ts = Ts
        self.Tf = Tf

    def step(self):
        updates = {}
        for i, m in enumerate(self.modules):
            classname = m.__class__.__name__
            p = next(m.parameters())

            la = self.damping + self.weight_decay

            if self.steps % self.Tf == 0:
                # My asynchronous implementation exists, I will add it later.
                # Experimenting with different ways to this in PyTorch.
                self.d_a[m], self.Q_a[m] = torch.linalg.eigh(self.m_aa[m], "U")
                self.d_g[m], self.Q_g[m] = torch.linalg.eigh(self.m_gg[m], "U")

                self.d_a[m].mul_((self.d_a[m] > 1e-6).float())
                self.d_g[m].mul_((self.d_g[m] > 1e-6).float())

            if classname == 'Conv2d':
                p_grad_mat = p.grad.data.view(p.grad.data.size(0), -1)
            else:
                p_grad_mat = p.grad.data

            v1 = self.Q_g[m].t() @ p_grad_mat @ self.Q_a[m]
            v2 = v1 / (
                self.d_g[m].unsqueeze(1) * self.d_a[m].unsqueeze(0) + la)
            v = self.Q_g[m] @ v2 @ self.Q_a[m].t()

            v = v.view(p.grad.data.size())
            updates[p] = v

        vg_sum = 0
        for p in self.model.parameters():
            v = updates[p]
            vg_sum += (v * p.grad.data * self.lr * self.lr).sum()

        nu = min(1, math.sqrt(self.kl_clip / vg_sum))
        for p in self.model.parameters():
            p.grad.data.copy_(updates[p])
            p.grad.data.mul_(nu)
        self.steps += 1
