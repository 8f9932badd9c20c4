import torch
import torch.nn as nn
import torch.optim as optim

import numpy as np
from sklearn.metrics import accuracy_score


class Solver:
    def __init__(self, args, test_dataloader):
        self.args = args
        self.test_dataloader = test_dataloader
        self.ce_loss = nn.CrossEntropyLoss()

    def read_data(self, dataloader, labels=True):
        while True:
            for img, label, _ in dataloader:
                yield img, label

    def train(self, querry_dataloader, task_model):
        labeled_data = self.read_data(querry_dataloader)
        optim_task_model = optim.Adam(task_model.parameters(), lr=5e-4)

        task_model.train()

        for iter_count in range(self.args.train_iterations):
            labeled_imgs, labels = next(labeled_data)
            if self.args.cuda:
                labeled_imgs = labeled_imgs.cuda()
                labels = labels.cuda()

            # task_model step
            preds = task_model(labeled_imgs)
            task_loss = self.ce_loss(preds, labels)
            optim_task_model.zero_grad()
            task_loss.backward()
            optim_task_model.step()

        final_accuracy = self.test(task_model)
        return final_accuracy

    def test(self, task_model):
        total, correct = 0, 0
        for imgs, labels in self.test_dataloader:
            if self.args.cuda:
                imgs = imgs.cuda()

            with torch.no_grad():
                preds = task_model(imgs)

            preds = torch.argmax(preds, dim=1).cpu().numpy()
            correct += accuracy_score(labels, preds, normalize=False)
            total += imgs.size(0)
        return correct / total * 100
