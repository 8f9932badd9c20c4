"""pytest plugin (entry point ``pytest11``): the ``tensorlint_monitor`` fixture and the ``tensorlint`` marker.

::

    def test_inference(tensorlint_monitor):
        model = build_model()
        tensorlint_monitor(model)          # attaches a Monitor; returns it
        with torch.no_grad():
            model(x)                       # forgot model.eval(): the test fails with the report

    @pytest.mark.tensorlint(kinds=["dropout-active-at-inference"], allow={"dropout-active-at-inference": ["mc.*"]})
    def test_mc_dropout(tensorlint_monitor): ...

After the test body passes, every monitor the fixture attached is detached and reported;
findings at or above the configured severity (``--tensorlint-fail-on``, ini
``tensorlint_fail_on``, marker ``fail_on=``; default ``warning``) fail the test itself, with
the report as the failure message. ``never`` only records the report.

torch is imported only when a test uses the fixture, so a test run without torch keeps working.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

LEVELS = ("error", "warning", "info", "never")
_RANK = {"error": 0, "warning": 1, "info": 2}
_MARKER_KEYS = ("kinds", "allow", "fail_on")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tensorlint", "tensorlint runtime monitor")
    group.addoption(
        "--tensorlint-fail-on", choices=LEVELS, default=None,
        help="fail a test that uses tensorlint_monitor on findings at or above this severity (default: ini "
             "tensorlint_fail_on, else warning); never: only record the report",
    )  # fmt: skip
    parser.addini("tensorlint_fail_on", "severity at or above which tensorlint_monitor fails a test "
                  "(error, warning, info, never)", default="warning")  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "tensorlint(kinds=None, allow=None, fail_on=None, **options): configure the tensorlint_monitor fixture: "
        "only `kinds` can fail the test; `allow` is a Monitor allowlist ({kind: [module globs]}) or a list of "
        "kinds to tolerate; other keywords are Monitor options (every=1, ...)",
    )


def _fail_on(item: pytest.Item, marker_value: str | None) -> str:
    value = marker_value or item.config.getoption("--tensorlint-fail-on") or item.config.getini("tensorlint_fail_on")
    value = str(value).strip().lower()
    if value not in LEVELS:
        pytest.fail(f"tensorlint_fail_on must be one of {', '.join(LEVELS)}, not {value!r}", pytrace=False)
    return value


def _allow_map(allow: Mapping[str, Iterable[str] | str] | Iterable[str] | str | None) -> dict | None:
    """A Monitor allowlist; a kind or a list of kinds means "anywhere" (every module)."""
    if allow is None or isinstance(allow, Mapping):
        return allow
    kinds = [allow] if isinstance(allow, str) else list(allow)
    return {kind: ["*"] for kind in kinds}


class TensorlintMonitor:
    """What the fixture yields: call it with a model to monitor it for the rest of the test."""

    def __init__(self, item: pytest.Item) -> None:
        marker = item.get_closest_marker("tensorlint")
        settings = dict(marker.kwargs) if marker is not None else {}
        if marker is not None and marker.args:
            pytest.fail("@pytest.mark.tensorlint takes keywords only: kinds=[...], allow=..., fail_on=...", pytrace=False)
        self.kinds: list[str] | None = None if settings.get("kinds") is None else list(settings["kinds"])
        self.fail_on = _fail_on(item, settings.get("fail_on"))
        self._allow = _allow_map(settings.get("allow"))
        self._options = {k: v for k, v in settings.items() if k not in _MARKER_KEYS}
        self.monitors: list = []
        self._report = None
        from tensorlint.runtime.findings import KINDS  # torch-free

        unknown = [k for k in (self.kinds or []) if k not in KINDS]
        if unknown:
            pytest.fail(f"@pytest.mark.tensorlint: unknown finding kind(s) {unknown}; expected: {', '.join(KINDS)}", pytrace=False)

    def __call__(self, model: Any, **options: Any):
        """Attach a ``Monitor`` to ``model`` (marker options, overridden by these keywords); returns it."""
        from tensorlint.runtime.monitor import Monitor  # imports torch: only now

        kwargs = {**self._options, **options}
        if self._allow is not None and "allow" not in kwargs:
            kwargs["allow"] = self._allow
        monitor = Monitor(model, **kwargs)
        monitor.attach()
        self.monitors.append(monitor)
        self._report = None
        return monitor

    def report(self):
        """Every attached monitor's findings (restricted to ``kinds``), one ``Report``."""
        from tensorlint.runtime.report import Report

        findings, details, summary = [], [], {"forwards": 0, "sampled_forwards": 0, "monitors": len(self.monitors)}
        for monitor in self.monitors:
            rep = monitor.report()
            findings += rep.findings
            details += rep.details
            for key in ("forwards", "sampled_forwards"):
                summary[key] += rep.summary.get(key, 0)
            summary.setdefault("internal_errors", []).extend(rep.summary.get("internal_errors", []))
        if self.kinds is not None:
            findings = [f for f in findings if f.kind in self.kinds]
            details = [f for f in details if f.kind in self.kinds]
        findings.sort(key=lambda f: _RANK[f.severity])
        return Report(findings, summary, details)

    def failing(self) -> list:
        """The findings that fail the test under ``fail_on``."""
        if self.fail_on == "never" or not self.monitors:
            return []
        limit = _RANK[self.fail_on]
        return [f for f in self.report().findings if _RANK[f.severity] <= limit]

    def close(self) -> None:
        for monitor in self.monitors:
            monitor.detach()


def _render(report) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    report.print(Console(file=buffer, width=120, no_color=True, highlight=False))
    return buffer.getvalue()


@pytest.fixture
def tensorlint_monitor(request: pytest.FixtureRequest):
    """Monitor the models a test hands it; the test fails on findings at or above ``tensorlint_fail_on``."""
    state = TensorlintMonitor(request.node)
    request.node.stash[_KEY] = state
    try:
        yield state
    finally:
        state.close()


_KEY = pytest.StashKey[TensorlintMonitor]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield  # the test body raised: its own failure stands, nothing is added
    state = item.stash.get(_KEY, None)
    if state is not None:
        for monitor in state.monitors:
            monitor.detach()  # no more forwards count; the report is read once below
        bad = state.failing()
        if bad:
            report = state.report()
            report.findings = [f for f in report.findings if f in bad]
            kinds = ", ".join(sorted({f.kind for f in bad}))
            pytest.fail(
                f"tensorlint: {len(bad)} finding(s) at or above `{state.fail_on}` ({kinds}):\n{_render(report)}",
                pytrace=False,
            )
    return result
