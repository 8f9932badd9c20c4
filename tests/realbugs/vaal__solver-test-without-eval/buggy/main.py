import torch
from torch.utils import data

import vgg
from solver import Solver


def main(args, train_dataset, test_dataloader, querry_dataloader):
    args.cuda = args.cuda and torch.cuda.is_available()
    solver = Solver(args, test_dataloader)

    splits = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]
    accuracies = []
    for split in splits:
        task_model = vgg.vgg16_bn(num_classes=args.num_classes)
        acc = solver.train(querry_dataloader, task_model)
        print('Final accuracy with {}% of data is: {:.2f}'.format(int(split*100), acc))
        accuracies.append(acc)
    return accuracies
