"""The one exception family of winback and the exit codes the CLI maps it to.

Library code raises a `WinbackError` subclass with a message written for a
person: it names the file, row (1-based, as a spreadsheet shows it) or YAML
line, says what was expected and what was found, and how to fix it. The CLI
catches the family once, prints the message and exits with `exit_code`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    DATA_ERROR = 1  # the data was read but something in it (or in writing) failed
    USAGE_ERROR = 2  # bad arguments, bad YAML, missing column: fix the call or config


class WinbackError(Exception):
    """Base class of every error meant for a person rather than a developer."""

    exit_code: ExitCode = ExitCode.DATA_ERROR


class InputError(WinbackError):
    """A data file cannot be read or used (encoding, rows, values)."""


class ColumnError(InputError):
    """Required columns are missing or ambiguous: the call or mapping must change."""

    exit_code = ExitCode.USAGE_ERROR


class RulesError(WinbackError):
    """The rules YAML is invalid (syntax, unknown key, wrong type)."""

    exit_code = ExitCode.USAGE_ERROR


class UsageError(WinbackError):
    """A command-line argument is invalid in a way typer cannot check."""

    exit_code = ExitCode.USAGE_ERROR


class TemplateError(WinbackError):
    """A letter template fails to load or render."""


class OutputError(WinbackError):
    """A result cannot be written (exists without --force, no permission)."""


class AmbiguousDateError(InputError):
    """A date column's day/month order cannot be told: the user must set `date_format:`."""

    exit_code = ExitCode.USAGE_ERROR
