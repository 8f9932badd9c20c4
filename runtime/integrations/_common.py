"""What the trainer callbacks share: one Monitor per fit, reports written into the run's output folder."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from ..findings import _RANK
from ..monitor import Monitor
from ..profile import Profile
from ..report import Report

FAIL_ON = ("error", "warning", "info")


def _console():
    """The terminal's console; in logs and pipes, 120 columns so that kinds are never folded."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 120))


class TensorlintFindings(RuntimeError):
    """Raised at the end of training when ``fail_on`` is set and a finding is at or above it."""


class MonitorSession:
    """Attach at train begin, write a report after each evaluation and at train end, detach at the end.

    Files go into ``<output dir>/<folder>/``: ``eval-step<N>.json`` after each evaluation,
    ``report.json`` (and ``report.html`` when the HTML report is available) at the end, and
    ``profile.json`` with ``save_profile=True`` (a reference for later drift checks).
    """

    def __init__(
        self,
        *,
        reference: Profile | str | os.PathLike | None = None,
        allow: Mapping[str, Iterable[str] | str] | None = None,
        fail_on: str | None = None,
        print_report: bool = True,
        html: bool = True,
        save_profile: bool = False,
        folder: str = "tensorlint",
        **options: Any,
    ) -> None:
        if fail_on is not None and fail_on not in FAIL_ON:
            raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON)} or None, not {fail_on!r}")
        self.reference = Profile.load(reference) if isinstance(reference, (str, os.PathLike)) else reference
        self.allow = allow
        self.fail_on = fail_on
        self.print_report = print_report
        self.html = html
        self.save_profile = save_profile
        self.folder = folder
        self.options = options
        self.monitor: Monitor | None = None
        self.reports: list[tuple[str, Report]] = []  # (tag, report) in order: "eval-step<N>", ..., "final"
        self.written: list[str] = []

    def start(self, model: Any) -> None:
        """A fresh monitor per training run; one left attached by a run that raised is detached first."""
        if model is None:
            return
        self.close()
        self.monitor = Monitor(model, reference=self.reference, allow=self.allow, **self.options)
        self.monitor.attach()

    def checkpoint(self, out_dir: str | os.PathLike | None, tag: str, write: bool, final: bool = False) -> Report | None:
        """Report now; write ``<tag>.json`` (and the HTML and profile at the end) when ``write``."""
        if self.monitor is None:
            return None
        if final:
            self.monitor.detach()
        report = self.monitor.report()  # under torch.distributed, report() and profile() are collectives: every rank
        profile = self.monitor.profile() if final and self.save_profile else None
        self.reports.append((tag, report))
        if write and out_dir is not None:
            folder = os.path.join(os.fspath(out_dir), self.folder)
            os.makedirs(folder, exist_ok=True)
            name = "report" if final else tag
            self._write(report.save_json, os.path.join(folder, f"{name}.json"))
            if final and self.html and hasattr(report, "save_html"):
                self._write(report.save_html, os.path.join(folder, f"{name}.html"))
            if profile is not None:
                self._write(profile.save, os.path.join(folder, "profile.json"))
        if write and self.print_report and (final or report.findings):
            report.print(_console())
        return report

    def _write(self, save, path: str) -> None:
        save(path)
        self.written.append(path)

    def finish(self, out_dir: str | os.PathLike | None, write: bool) -> Report | None:
        report = self.checkpoint(out_dir, "final", write, final=True)
        self.monitor = None
        if report is not None and self.fail_on is not None:
            limit = _RANK[self.fail_on]
            bad = [f for f in report.findings if _RANK[f.severity] <= limit]
            if bad:
                kinds = ", ".join(sorted({f.kind for f in bad}))
                raise TensorlintFindings(f"tensorlint: {len(bad)} finding(s) at or above `{self.fail_on}`: {kinds}")
        return report

    def close(self) -> None:
        """Detach without reporting (training raised)."""
        if self.monitor is not None:
            self.monitor.detach()
            self.monitor = None
