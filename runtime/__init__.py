"""tensorlint.runtime: live diagnostics attached to an ``nn.Module``."""
