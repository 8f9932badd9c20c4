"""Three-valued answers: a rule may only warn on YES, never on UNKNOWN."""

from __future__ import annotations

import enum


class Ternary(enum.Enum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"

    @staticmethod
    def join(values) -> Ternary:
        """Agreement of several possible values: YES only if every one is YES."""
        result = None
        for value in values:
            if value is Ternary.UNKNOWN:
                return Ternary.UNKNOWN
            if result is None:
                result = value
            elif result is not value:
                return Ternary.UNKNOWN
        return result if result is not None else Ternary.UNKNOWN
