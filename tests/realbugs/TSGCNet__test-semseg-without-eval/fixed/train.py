from dataloader import plydataset
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm
import numpy as np
from torch.autograd import Variable
import torch.nn.functional as F
from utils import test_semseg
from TSGCNet import TSGCNet


if __name__ == "__main__":
    batch_size = 2
    k = 16
    train_dataset = plydataset("data/train")
    train_loader = DataLoader(train_dataset, batch_size=batch_size, shuffle=True, num_workers=4)
    test_dataset = plydataset("data/test")
    test_loader = DataLoader(test_dataset, batch_size=1, shuffle=True, num_workers=1)

    model = TSGCNet(in_channels=12, output_channels=8, k=k)
    model = torch.nn.DataParallel(model, device_ids=[0,1])
    model.cuda()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-5)

    for epoch in range(0, 100):
        model.train()
        for i, data in tqdm(enumerate(train_loader, 0), total=len(train_loader), smoothing=0.9):
            _, points_face, label_face, label_face_onehot, name, _ = data
            coordinate = points_face.transpose(2,1)
            coordinate, label_face = Variable(coordinate.float()), Variable(label_face.long())
            coordinate, label_face = coordinate.cuda(), label_face.cuda()
            optimizer.zero_grad()
            pred = model(coordinate)
            label_face = label_face.view(-1, 1)[:, 0]
            pred = pred.contiguous().view(-1, 8)
            loss = F.nll_loss(pred, label_face)
            loss.backward()
            optimizer.step()

        if epoch % 5 == 0:
            metrics = test_semseg(model, test_loader, num_classes=8)
            print("Epoch %d, accuracy= %f" % (epoch, metrics['accuracy']))

    metrics = test_semseg(model, test_loader, num_classes=8, generate_ply=True)
