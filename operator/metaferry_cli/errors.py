"""The one error every command raises for the user: its message is printed as is, without a traceback."""

from __future__ import annotations

EXIT_FAILED = 1  # the work was done and failed (a refresh that failed), or did not finish in time
EXIT_USAGE = 2  # bad input, or nothing to answer with (unknown connector, unreachable API)


class CliError(Exception):
    def __init__(self, message: str, *, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
