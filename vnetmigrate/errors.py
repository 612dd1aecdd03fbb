"""Errors the CLI turns into one readable message and a non-zero exit code."""

from vnetmigrate.exitcodes import ExitCode


class VnmError(Exception):
    """An expected failure: shown as one line (no traceback unless --debug)."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(VnmError):
    """Malformed input: a configuration file, network XML, saved evidence, a bundle."""


class EnvironmentProblem(VnmError):
    """The environment cannot support the command: a missing tool, not root, no namespace."""
