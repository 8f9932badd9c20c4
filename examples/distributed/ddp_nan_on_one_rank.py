"""Two DDP ranks on the CPU (gloo, 127.0.0.1); rank 1's validation shard has one NaN sample.

Run: ``python examples/distributed/ddp_nan_on_one_rank.py``. ``report()`` is a collective
(every rank calls it); rank 0 prints the merged report and writes ``ddp_report.html`` in
the temporary directory; rank 1 prints nothing. Expected output (rank 0)::

    tensorlint runtime: 1 finding(s), 88 forwards (8 sampled) on 2 ranks
    error  non-finite  (root)  1  The model's input was already NaN or Inf when it entered
    `module.0` at forward 40; check the data pipeline (missing values, a division or log in
    preprocessing). Seen on rank 1 only.
"""

from __future__ import annotations

import math
import os
import socket
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from tensorlint.runtime import Monitor


def worker(rank: int, port: int, out: str) -> None:
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 2))
        ddp = DistributedDataParallel(model)
        opt = torch.optim.SGD(ddp.parameters(), lr=0.01)
        gen = torch.Generator().manual_seed(rank)
        with Monitor(ddp) as mon:
            for _ in range(40):
                opt.zero_grad()
                ddp(torch.randn(16, 8, generator=gen)).pow(2).mean().backward()
                opt.step()
            ddp.eval()
            with torch.no_grad():
                for _ in range(4):  # each rank validates its own shard
                    x = torch.randn(16, 8, generator=gen)
                    if rank == 1:
                        x[3, 5] = math.nan  # rank 1's shard has a corrupt sample
                    ddp(x)
        report = mon.report()  # a collective: every rank calls it
        report.print()  # rank 0 prints; the other ranks print nothing
        report.save_html(os.path.join(out, "ddp_report.html"))  # written by rank 0 only
    finally:
        dist.destroy_process_group()


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tempfile.mkdtemp(prefix="tensorlint-ddp-")
    mp.spawn(worker, args=(port, out), nprocs=2, join=True)
    print(f"wrote {os.path.join(out, 'ddp_report.html')}")


if __name__ == "__main__":
    main()
