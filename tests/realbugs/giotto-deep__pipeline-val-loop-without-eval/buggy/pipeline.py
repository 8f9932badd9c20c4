import torch.nn.functional as F
import torch
import copy
import time

if torch.cuda.is_available():
    DEVICE = torch.device("cuda")
else:
    DEVICE = torch.device("cpu")


class Pipeline:
    """This is the generic class that allows
    the user to benchhmark models over architectures
    datasets, regularisations, metrics... in one line
    of code.
    """

    def __init__(self, model, dataloaders, loss_fn, writer):
        self.model = model.to(DEVICE)
        self.initial_model = copy.deepcopy(self.model)
        assert len(dataloaders) > 0 and len(dataloaders) < 4, "Length of dataloaders must be 1, 2, or 3"
        self.dataloaders = dataloaders  # train and test
        self.train_epoch = 0
        self.train_cycle = 0
        self.val_epoch = 0
        self.loss_fn = loss_fn
        # integrate tensorboard
        self.writer = writer

    def reset_model(self):
        self.model = copy.deepcopy(self.initial_model)

    def _train_loop(self, dl_tr, writer_tag=""):
        """private method to run a single training
        loop
        """
        size = len(dl_tr.dataset)
        loss = -100    # arbitrary starting value to avoid nan loss
        correct = 0
        tik = time.time()
        for batch, (X, y) in enumerate(dl_tr):
            X = X.to(DEVICE)
            y = y.to(DEVICE)
            # Compute prediction and loss
            pred = self.model(X)
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
            loss = self.loss_fn(pred, y)
            self.writer.add_scalar(writer_tag + "/Loss/train", loss, self.train_epoch*batch + self.train_cycle)
            self.train_cycle += 1
            # Backpropagation
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        self.train_cycle = 0
        correct /= size
        print("\nTime taken for this epoch: {}s".format(round(time.time()-tik), 2))
        return loss, correct

    def _val_loop(self, dl_val, writer_tag=""):
        """private method to run a single validation
        loop
        """
        size = len(dl_val.dataset)
        val_loss, correct = 0, 0
        class_label = []
        class_probs = []
        with torch.no_grad():
            pred = 0
            for X, y in dl_val:
                X = X.to(DEVICE)
                y = y.to(DEVICE)
                pred = self.model(X)
                class_probs_batch = [F.softmax(el, dim=0)
                                     for el in pred]
                class_probs.append(class_probs_batch)
                val_loss += self.loss_fn(pred, y).item()
                correct += (pred.argmax(1) ==
                            y).type(torch.float).sum().item()
                class_label.append(y)
        val_loss /= size
        correct /= size
        self.writer.add_scalar(writer_tag + "/Accuracy/validation", correct, self.val_epoch)
        return val_loss, 100*correct

    def train(self, optimizer, n_epochs=10, optimizers_param=None):
        if optimizers_param is None:
            optimizers_param = {"lr":0.001}
        dl_tr = self.dataloaders[0]
        if len(self.dataloaders) == 3:
            dl_val = self.dataloaders[1]
        self.reset_model()
        self.optimizer = optimizer(self.model.parameters(), **optimizers_param)
        for t in range(n_epochs):
            print(f"Epoch {t+1}\n-------------------------------")
            self._train_loop(dl_tr)
            if len(self.dataloaders) == 3:
                valloss, valacc = self._val_loop(dl_val)
                self.val_epoch = t
            self.train_epoch = t
        # test the results
        if len(self.dataloaders) == 2:
            valloss, valacc = self._val_loop(self.dataloaders[1])
        self.writer.flush()
        return valloss, valacc
