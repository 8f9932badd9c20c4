"""Errors that end a run with exit code 2 and a one-line message, never a traceback."""


class UsageError(Exception):
    """Bad command line, bad configuration, missing path: exit code 2."""
