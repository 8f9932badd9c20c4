"""tensorlint.runtime: live diagnostics attached to an ``nn.Module``.

``with Monitor(model) as mon: ...`` then ``mon.report().print()``; see docs/runtime.md.
"""

from .findings import KINDS, Finding
from .monitor import Monitor
from .options import Options
from .profile import Profile
from .report import Report

__all__ = ["KINDS", "Finding", "Monitor", "Options", "Profile", "Report"]
