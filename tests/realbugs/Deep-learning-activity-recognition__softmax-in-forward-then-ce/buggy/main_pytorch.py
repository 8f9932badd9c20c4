# encoding=utf-8
import data_preprocess
import network as net
import torch
import torch.nn as nn
import torch.optim as optim

BATCH_SIZE = 64
N_EPOCH = 80
LEARNING_RATE = 0.01
DEVICE = torch.device('cuda:0' if torch.cuda.is_available() else 'cpu')


def train(model, optimizer, train_loader, test_loader):
    criterion = nn.CrossEntropyLoss()

    for e in range(N_EPOCH):
        model.train()
        for index, (sample, target) in enumerate(train_loader):
            sample, target = sample.to(DEVICE).float(), target.to(DEVICE).long()
            sample = sample.view(-1, 9, 1, 128)
            output = model(sample)
            loss = criterion(output, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        model.train(False)
        with torch.no_grad():
            correct, total = 0, 0
            for sample, target in test_loader:
                sample, target = sample.to(DEVICE).float(), target.to(DEVICE).long()
                sample = sample.view(-1, 9, 1, 128)
                output = model(sample)
                _, predicted = torch.max(output.data, 1)
                total += target.size(0)
                correct += (predicted == target).sum()


if __name__ == '__main__':
    torch.manual_seed(10)
    train_loader, test_loader = data_preprocess.load(batch_size=BATCH_SIZE)
    model = net.Network().to(DEVICE)
    optimizer = optim.SGD(params=model.parameters(), lr=LEARNING_RATE, momentum=0.9)
    train(model, optimizer, train_loader, test_loader)
