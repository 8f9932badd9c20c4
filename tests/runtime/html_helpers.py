"""Shared by the HTML report tests: a small training run with planted faults, headless Chromium, PNG pixels."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import torch
from torch import nn

from tensorlint.runtime import Monitor


class Block(nn.Module):
    def __init__(self, width: int, act: nn.Module, norm: bool):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.bn = nn.BatchNorm1d(width) if norm else nn.Identity()
        self.act = act

    def forward(self, x):
        return self.act(self.bn(self.fc(x)))


class Net(nn.Module):
    """stem, three blocks (a saturated tanh, then 24 of 32 ReLU units dead), a sigmoid head."""

    def __init__(self, dead: bool = True, saturated: bool = True):
        super().__init__()
        self.stem = nn.Linear(16, 32)
        self.blocks = nn.ModuleList([Block(32, nn.ReLU(), True), Block(32, nn.Tanh(), False), Block(32, nn.ReLU(), False)])
        self.head = nn.Linear(32, 4)
        self.out = nn.Sigmoid()
        with torch.no_grad():
            if dead:
                self.blocks[2].fc.bias[:24] = -40.0
            if saturated:
                self.blocks[1].fc.weight.mul_(50.0)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.out(self.head(x))


def run(model: nn.Module, steps: int, shift_from: int | None, reference=None, seed: int = 0):
    """Train ``steps`` steps (input shifted from step ``shift_from``), then evaluate 4 batches; returns the monitor."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with Monitor(model, reference=reference, every=2, grad_every=2) as mon:
        for i in range(steps):
            x = torch.randn(64, 16, generator=gen)
            if shift_from is not None and i >= shift_from:
                x = x * 2.0 + 1.5
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            for _ in range(4):
                x = torch.randn(64, 16, generator=gen)
                model(x * 2.0 + 1.5 if shift_from is not None else x)
        model.train()
    return mon


def demo_report():
    """A report with saturation, dead units, drift against a clean reference and a BatchNorm mismatch."""
    torch.manual_seed(0)
    clean = Net()
    state = {k: v.clone() for k, v in clean.state_dict().items()}
    reference = run(clean, 60, None).profile()
    model = Net()
    model.load_state_dict(state)
    return run(model, 60, 30, reference=reference).report()


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def browser(page: Path | str, tmp: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    """Headless Chromium on a local file (or a file:// URL), with everything that could reach the network turned off."""
    exe = chromium()
    assert exe is not None, "chromium is not installed (apt-get install chromium); TENSORLINT_REQUIRE_BROWSER is set"
    profile = tmp / f"chromium-profile-{len(list(tmp.glob('chromium-profile-*')))}"
    cmd = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={profile}",
        "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", *args,
        page if isinstance(page, str) else page.resolve().as_uri(),
    ]  # fmt: skip
    env = dict(os.environ, HOME=str(tmp))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)


def console_messages(stderr: str) -> list[str]:
    """Page console output (console.log/error and uncaught exceptions) as Chromium logs it to stderr."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def png_pixels(path: Path) -> tuple[int, int, int, bytes]:
    """(width, height, bytes per pixel, raw pixels) of an 8-bit RGB/RGBA PNG, decoded with zlib only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, bpp = 8, [], 0, 0, 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6), (depth, color)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    out = bytearray(height * stride)
    prev = bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if ftype == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif ftype == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif ftype == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        out[y * stride : (y + 1) * stride] = line
        prev = line
    return width, height, bpp, bytes(out)


def luminance_stats(path: Path) -> tuple[float, float, int]:
    """(mean, variance, distinct grey levels) of the screenshot's luminance, every 2nd pixel."""
    width, height, bpp, px = png_pixels(path)
    values = []
    for i in range(0, width * height, 2):
        r, g, b = px[i * bpp], px[i * bpp + 1], px[i * bpp + 2]
        values.append((299 * r + 587 * g + 114 * b) // 1000)
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / len(values)
    return mean, var, len(set(values))
