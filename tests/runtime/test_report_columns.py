"""The runtime report table on an 80-column terminal: kind names are never split."""

from __future__ import annotations

import io

from rich.console import Console

from tensorlint.runtime.findings import KINDS, Finding
from tensorlint.runtime.report import Report


def test_kind_names_are_never_split_at_80_columns():
    longest = sorted(KINDS, key=len)[-3:]
    findings = [
        Finding(kind, "encoder.layers.3.attention.output_projection", "warning",
                "a long message that has to wrap onto several lines of the table at eighty columns " * 2,
                count=12345)
        for kind in longest
    ]
    report = Report(findings, {"forwards": 10, "sampled_forwards": 10})
    buf = io.StringIO()
    report.print(Console(file=buf, width=80, color_system=None))
    text = buf.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    for kind in longest:
        assert kind in text, kind  # whole, on one line
    assert "12345" in text
