"""``Report.save_html``: one self-contained page, checked in a real headless Chromium.

The browser tests skip when no Chromium is installed; ``.ci/run`` installs Debian's
``chromium``, so they run in CI. With ``TENSORLINT_SCREENSHOT=1`` the browser test also
copies its screenshot to ``docs/img/html_report.png`` (the picture in the README).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import torch
from html_helpers import browser, chromium, console_messages, demo_report, luminance_stats
from torch import nn

from tensorlint.runtime import Monitor
from tensorlint.runtime.html_report import block_of, build_data

ROOT = Path(__file__).resolve().parents[2]
# Skipped without a browser, except in CI (.ci/run installs Debian's chromium and sets TENSORLINT_REQUIRE_BROWSER).
needs_browser = pytest.mark.skipif(
    chromium() is None and not os.environ.get("TENSORLINT_REQUIRE_BROWSER"),
    reason="no chromium on PATH (CI installs Debian's chromium)",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    report = demo_report()
    path = tmp_path_factory.mktemp("html") / "report.html"
    report.save_html(path)
    return report, path


def embedded(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="tl-data">(.*?)</script>', text, re.S)
    assert match
    return json.loads(match.group(1).replace("<\\/", "</"))


def test_findings_and_plot_data_are_in_the_page(demo):
    report, path = demo
    kinds = {f.kind for f in report.findings}
    assert {"saturation", "dead-units", "drift"} <= kinds
    data = embedded(path)
    assert {f["kind"] for f in data["findings"]} == kinds
    layers = {layer["key"]: layer for layer in data["layers"]}
    # the dead ReLU and the saturated head carry their fractions and their finding kinds
    assert layers["blocks.2.act"]["dead"] == pytest.approx(0.75, abs=0.05) and "dead-units" in layers["blocks.2.act"]["kinds"]
    assert layers["blocks.1.act"]["sat"] > 0.5 and "saturation" in layers["blocks.1.act"]["kinds"]
    # history: one column per interval of sampled forwards; the shift at step 30 shows in the stem's std
    stem = layers["stem"]
    assert len(stem["hist"]) == len(data["forwards"]) >= 10
    forwards = data["forwards"]
    before = [s for f, s in zip(forwards, stem["h_std"]) if f < 28]
    after = [s for f, s in zip(forwards, stem["h_std"]) if 34 <= f < 60]
    assert max(before) * 1.5 < min(after)
    # gradient norms over optimizer steps, per layer with parameters
    assert data["grad_steps"] and len(layers["blocks.0.fc"]["grad"]) == len(data["grad_steps"])
    assert all(v is None or v > 0 for v in layers["blocks.0.fc"]["grad"])
    # drift panels compare reference and live densities; BatchNorm panels have one value per channel
    assert data["has_reference"] and data["drift"]
    assert all(abs(sum(d["live"]) - 1) < 1e-3 and abs(sum(d["ref"]) - 1) < 1e-3 for d in data["drift"])
    assert [b["key"] for b in data["bn"]] == ["blocks.0.bn"]
    assert all(len(b["z"]) == 32 for b in data["bn"])
    assert {layer["block"] for layer in data["layers"]} >= {"blocks.0", "blocks.1", "blocks.2", "(top level)"}


def test_page_is_self_contained(demo):
    _, path = demo
    text = path.read_text(encoding="utf-8")
    # the SVG namespace is an identifier, not a fetch; nothing else may name a URL or load a resource
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text)) - {"http://www.w3.org/2000/svg"}
    assert not urls
    for loader in ("<link", "<img", "<iframe", " src=", "@import", "url(", "fetch(", "XMLHttpRequest", "@font-face"):
        assert loader not in text, loader


def test_blocks_group_by_path_prefix():
    assert block_of("encoder.layer.3.attention.self.query") == "encoder.layer.3"
    assert block_of("layer1.0.conv1") == "layer1.0"
    assert block_of("transformer.wte") == "transformer"
    assert block_of("fc") == "(top level)"
    assert block_of("") == "(top level)"
    assert block_of("0") == "(top level)"  # a Sequential's own layers are not blocks
    assert block_of("0.17.1") == "0.17"  # a wrapper's index is not the repeat


def test_report_without_history_or_reference_still_renders(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    with Monitor(model) as mon:
        with torch.no_grad():
            model(torch.randn(8, 4))
    path = tmp_path / "r.html"
    mon.report().save_html(path)
    data = embedded(path)
    assert not data["findings"] and not data["drift"] and not data["has_reference"] and data["grad_steps"] == []


def _dom(path: Path, tmp: Path, fragment: str = "") -> tuple[str, str]:
    page = path.resolve().as_uri() + fragment  # a fragment sets the filter box
    result = browser(page, tmp, "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


@needs_browser
def test_page_renders_in_headless_chromium(demo, tmp_path):
    report, path = demo
    dom, stderr = _dom(path, tmp_path)
    assert not console_messages(stderr), console_messages(stderr)
    assert not re.search(r"<body[^>]*data-tl-errors=", dom)
    assert re.search(r'<div id="tl-errors"></div>', dom)
    drawn = int(re.search(r'data-tl-rendered="(\d+)"', dom).group(1))
    layers = embedded(path)["layers"]
    with_hist = sum(1 for layer in layers if layer["hist"])
    # every layer's heatmap (a small model: every block starts open) plus the grad heatmap, drawn by the script
    assert dom.count('class="tl-colorful"') == with_hist
    assert 'id="tl-grad-heatmap"' in dom and dom.count('data-drawn="1"') == with_hist + 1
    assert dom.count('class="tl-drift-hist"') == len(embedded(path)["drift"]) > 0
    assert dom.count('class="tl-bn-plot"') == 1
    assert dom.count('class="tl-line"') >= with_hist
    assert drawn >= with_hist * 2
    assert dom.count('class="finding"') == len(report.findings)

    shot = tmp_path / "shot.png"
    result = browser(path, tmp_path, "--window-size=1280,2000", f"--screenshot={shot}")
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    mean, var, levels = luminance_stats(shot)
    assert var > 500 and levels > 64, (mean, var, levels)  # text, bars and heatmaps, not a blank page
    if os.environ.get("TENSORLINT_SCREENSHOT"):
        target = ROOT / "docs" / "img" / "html_report.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, target)


@needs_browser
def test_blank_and_broken_pages_fail_the_checks(demo, tmp_path):
    """The checks above can fail: a script error is caught in the DOM and on the console; a blank page has no variance."""
    _, path = demo
    text = path.read_text(encoding="utf-8")
    broken = tmp_path / "broken.html"
    # a histogram column that is not a list makes the drawing code throw
    broken.write_text(text.replace('"hist":[[', '"hist":[7,[', 1), encoding="utf-8")
    dom, _ = _dom(broken, tmp_path)
    assert re.search(r'<body[^>]*data-tl-errors="1"', dom) and re.search(r'<div id="tl-errors">[^<]+</div>', dom)
    thrower = tmp_path / "thrower.html"
    thrower.write_text("<!DOCTYPE html><html><body><script>null.boom();</script></body></html>", encoding="utf-8")
    _, stderr = _dom(thrower, tmp_path)
    assert any("Uncaught" in line for line in console_messages(stderr))
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body style='background:#fff'></body></html>", encoding="utf-8")
    shot = tmp_path / "blank.png"
    browser(blank, tmp_path, "--window-size=400,300", f"--screenshot={shot}")
    assert luminance_stats(shot)[1] < 1


@needs_browser
def test_five_hundred_layers_stay_collapsed_and_searchable(tmp_path):
    blocks = [nn.Sequential(nn.Linear(8, 8), nn.Tanh()) for _ in range(250)]
    model = nn.Sequential(nn.Sequential(*blocks))
    with Monitor(model, every=1, grad_checks=False) as mon:
        with torch.no_grad():
            for _ in range(3):
                model(torch.randn(4, 8))
    report = mon.report()
    assert not report.findings  # a block with findings would start open
    path = tmp_path / "big.html"
    report.save_html(path)
    data = build_data(report)
    assert len(data["layers"]) >= 500 and not data["open_all"]
    assert path.stat().st_size < 2_000_000
    dom, stderr = _dom(path, tmp_path)
    assert not console_messages(stderr)
    assert dom.count('<details class="block"') == 251  # 250 repeated blocks and the top level
    assert dom.count('class="tl-colorful"') == 0  # nothing drawn until a block is opened
    dom, _ = _dom(path, tmp_path, "#filter=0.17.")
    visible = re.findall(r'<details class="block" data-name="([^"]+)"[^>]*open', dom)
    assert visible == ["0.17"]
    assert dom.count('class="tl-colorful"') == 2  # its Linear and its Tanh
