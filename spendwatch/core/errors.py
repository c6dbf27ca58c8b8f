"""Errors the CLI maps to exit codes: bad input or usage exits 2, anything else 1."""


class SpendwatchError(Exception):
    """A failure that is not the user's input (exit code 1)."""

    exit_code = 1


class UsageError(SpendwatchError):
    """Bad input or usage: a wrong flag, an invalid config, an unreadable file (exit code 2)."""

    exit_code = 2


class ConfigError(UsageError):
    """spendwatch.toml is invalid.  The message names the file, the key path and the reason."""
