"""The report a user reads: findings, plus JSON, a rich table and a self-contained HTML page.

Under ``torch.distributed`` a report holds every rank's findings (see runtime/distributed.py);
``print``/``save_json``/``save_html`` then act on rank 0 only unless ``all_ranks=True``.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .findings import Finding

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


class Report:
    """Findings of one monitoring session, most severe first, one per (kind, root cause).

    ``findings`` groups the modules that share a kind and a cause (a forgotten ``eval()`` on
    twenty BatchNorms is one row); ``details`` keeps one finding per (kind, module).
    """

    def __init__(self, findings: list[Finding], summary: dict[str, Any], details: list[Finding] | None = None):
        self.findings = findings
        self.summary = summary
        self.details = list(findings) if details is None else details
        self.profile: Any = None  # the Profile the findings were computed from (merged across ranks under DDP)
        self.history: Any = None  # a FrozenHistory (runtime/history.py), for the HTML report
        self.reference: Any = None  # the reference Profile, if drift was checked
        self.rank: int | None = None  # this process's rank when torch.distributed is initialised
        self.world_size = 1

    def attach(self, *, profile: Any = None, history: Any = None, reference: Any = None) -> Report:
        """Keep what the HTML report plots next to the findings (the monitor calls this)."""
        self.profile, self.history, self.reference = profile, history, reference
        return self

    def writes(self, all_ranks: bool = False) -> bool:
        """Whether this process prints and writes files: always outside DDP, else rank 0 (or every rank if asked)."""
        return all_ranks or not self.rank

    def by_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def modules(self, kind: str) -> set[str]:
        """Every module with a finding of ``kind`` (grouped rows expanded)."""
        return {f.module for f in self.details if f.kind == kind}

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
            "details": [f.to_dict() for f in self.details],
        }

    def save_json(self, path: str | os.PathLike, *, all_ranks: bool = False) -> None:
        if not self.writes(all_ranks):
            return
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=1, default=str)

    def save_html(self, path: str | os.PathLike, *, title: str | None = None, all_ranks: bool = False) -> None:
        """One self-contained HTML file (inline SVG/canvas and script, nothing fetched): findings and plots."""
        if not self.writes(all_ranks):
            return
        from .html_report import render

        text = render(self, title=title)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)

    def print(self, console=None, *, all_ranks: bool = False) -> None:
        """A table in the terminal; pass a ``rich.console.Console`` to redirect it."""
        if not self.writes(all_ranks):
            return
        from rich.console import Console
        from rich.table import Table

        console = console or Console()
        s = self.summary
        title = f"tensorlint runtime: {len(self.findings)} finding(s), {s['forwards']} forwards ({s['sampled_forwards']} sampled)"
        if self.world_size > 1:
            title += f" on {self.world_size} ranks"
        notes = s.get("notes") or []  # what the monitor could not see (torch.compile)
        if not self.findings:
            console.print(f"{title}: nothing to report.")
            for note in notes:
                console.print(f"note: {note}")
            return
        table = Table(title=title, show_lines=False)
        # kind names are looked up and copied (allow=, --select): never split inside one;
        # module paths fold at any character, messages wrap at words
        table.add_column("severity", no_wrap=True)
        table.add_column("kind", no_wrap=True, min_width=max(len(f.kind) for f in self.findings))
        table.add_column("module", overflow="fold")
        table.add_column("count", no_wrap=True, justify="right")
        table.add_column("message", overflow="fold", ratio=1)
        for f in self.findings:
            where = (f.module or "(root)") + (f" (+{len(f.modules) - 1} more)" if len(f.modules) > 1 else "")
            table.add_row(f"[{_STYLE[f.severity]}]{f.severity}[/]", f.kind, where, str(f.count), f.message)
        console.print(table)
        for note in notes:
            console.print(f"note: {note}")

    def __len__(self) -> int:
        return len(self.findings)

    def __repr__(self) -> str:
        return f"Report({len(self.findings)} findings: {', '.join(sorted({f.kind for f in self.findings})) or 'none'})"
