"""Render letter drafts from Jinja templates, in a sandbox, all before any file is written.

Templates are loaded only from the template folders: the user's
(`templates.folder`, relative to the rules file) first, then the bundled
ones. A template is `NAME.LANG.txt`, chosen by the customer's language with
`templates.fallback_language` and then `NAME.txt` as fallbacks; its first
line `Subject: …` is the subject. Rendering uses Jinja's
`ImmutableSandboxedEnvironment` with `StrictUndefined`: a missing field, a
syntax error or an attempt to reach Python internals is a `TemplateError`
naming the template, the line and the customer. Filters format money,
dates, percentages, numbers and time spans with Babel for the letter's
locale; printing a raw decimal number is refused, so money in a letter is
always formatted.
"""

from __future__ import annotations

import datetime as dt
import re
import traceback
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import pass_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from winback_cli.errors import RulesError, TemplateError
from winback_cli.rules import Rules

SUBJECT = re.compile(r"^\s*subject:[ \t]*(.*)$", re.IGNORECASE)


def bundled_folder() -> Path:
    """The folder of the templates shipped with winback."""
    return Path(str(resources.files("winback_cli").joinpath("data/templates")))


@dataclass(frozen=True)
class Rendered:
    """One rendered draft: subject and body (HTML-escaped values when rendered for HTML)."""

    customer_id: str
    template: str
    subject: str
    body: str


def _value_error(name: str, value: Any, wanted: str) -> jinja2.TemplateRuntimeError:
    return jinja2.TemplateRuntimeError(f"the {name} filter needs {wanted}, found {value!r}")


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise _value_error("date", value, "a date")


def _as_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _value_error(name, value, "a number")
    return value


@pass_context
def money(ctx, value: Any, currency: str | None = None) -> str:
    """`{{ 1234.5 | money }}` -> `1.234,50 €` for de_DE."""
    from babel.numbers import format_currency

    amount = _as_number("money", value)
    return format_currency(amount, currency or ctx["currency"], locale=ctx["locale"])


@pass_context
def date(ctx, value: Any, format: str = "long") -> str:
    """`{{ customer.last_order | date }}` -> `2. März 2025` for de_DE."""
    from babel.dates import format_date

    return format_date(_as_date(value), format, locale=ctx["locale"])


@pass_context
def percent(ctx, value: Any) -> str:
    """`{{ 0.1 | percent }}` -> `10 %` for de_DE."""
    from babel.numbers import format_percent

    return format_percent(_as_number("percent", value), locale=ctx["locale"])


@pass_context
def number(ctx, value: Any, digits: int = 0) -> str:
    """`{{ 1234.5 | number(1) }}` -> `1.234,5` for de_DE."""
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(_as_number("number", value), pattern, locale=ctx["locale"])


@pass_context
def timespan(ctx, value: Any) -> str:
    """`{{ 183 | timespan }}` (days) -> `6 Monate` for de_DE."""
    from babel.dates import format_timedelta

    days = value.days if isinstance(value, dt.timedelta) else _as_number("timespan", value)
    return format_timedelta(dt.timedelta(days=days), threshold=1.5, locale=ctx["locale"])


def _finalize(value: Any) -> Any:
    if isinstance(value, float):
        raise jinja2.TemplateRuntimeError(
            f"{value!r} is printed as a raw number; format it with | money, | number or | percent"
        )
    return "" if value is None else value


MAX_DRAFT = 1_000_000  # characters; a real letter is a few thousand


class _CappedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus a stop for `'A' * 10**9` and `10 ** 10**10`."""

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        sized = (str, list, tuple)
        if operator == "*" and (isinstance(left, sized) or isinstance(right, sized)):
            count = right if isinstance(left, sized) else left
            length = len(left) if isinstance(left, sized) else len(right)
            if isinstance(count, int) and count * max(length, 1) > MAX_DRAFT:
                raise SecurityError(f"'*' would build more than {MAX_DRAFT:,} characters")
        if operator == "**" and isinstance(right, int) and abs(right) > 1000:
            raise SecurityError("'**' with an exponent over 1000 is not allowed in templates")
        return super().call_binop(context, operator, left, right)


def _environment(folders: list[Path], *, html: bool) -> ImmutableSandboxedEnvironment:
    env = _CappedSandbox(
        loader=jinja2.FileSystemLoader([str(f) for f in folders]),
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters.update(money=money, date=date, percent=percent, number=number, timespan=timespan)
    return env


class Templates:
    """The template folders, and rendering with error messages for people."""

    def __init__(self, rules: Rules, rules_dir: Path | None) -> None:
        folders = []
        if rules.templates.folder:
            folder = Path(rules.templates.folder)
            folder = folder if folder.is_absolute() or rules_dir is None else rules_dir / folder
            if not folder.is_dir():
                raise RulesError(
                    f"templates.folder: {folder} is not a folder; create it or fix the path "
                    "(relative paths start at the rules file's folder)"
                )
            folders.append(folder)
        folders.append(bundled_folder())
        self.folders = folders
        self.fallback = rules.templates.fallback_language
        self._envs = {
            False: _environment(folders, html=False),
            True: _environment(folders, html=True),
        }
        self.names = set(self._envs[False].list_templates())

    def pick(self, name: str, language: str) -> tuple[str, str]:
        """The template file for `name` in `language`, and the language it is written in."""
        candidates = [
            (f"{name}.{language}.txt", language),
            (f"{name}.{self.fallback}.txt", self.fallback),
            (f"{name}.txt", self.fallback),
        ]
        for file_name, written_in in candidates:
            if file_name in self.names:
                return file_name, written_in
        looked = ", ".join(dict.fromkeys(c for c, _ in candidates))
        raise TemplateError(
            f"no template '{name}' for language '{language or '?'}': looked for {looked} in "
            + ", ".join(str(f) for f in self.folders)
            + "; add one, or fix `template:` in the playbook"
        )

    def render(self, file_name: str, context: dict[str, Any], *, customer: str, html: bool):
        """Render one draft; any failure becomes a TemplateError naming template, line, customer."""
        env = self._envs[html]
        try:
            template = env.get_template(file_name)
            text = _render_capped(template, context)
        except jinja2.TemplateSyntaxError as exc:
            raise _template_error(file_name, exc.lineno, exc.message, customer) from None
        except (
            jinja2.TemplateError,
            TypeError,
            ValueError,
            AttributeError,
            OverflowError,
            MemoryError,
            RecursionError,
        ) as exc:
            line = _template_line(exc, file_name)
            raise _template_error(file_name, line, _message(exc), customer) from None
        subject, body = split_subject(text)
        return Rendered(customer, file_name, subject, body)


def _render_capped(template: jinja2.Template, context: dict[str, Any]) -> str:
    """Render piece by piece and stop once a draft grows past `MAX_DRAFT` characters."""
    parts, size = [], 0
    for part in template.generate(context):
        size += len(part)
        if size > MAX_DRAFT:
            raise SecurityError(
                f"the draft grows longer than {MAX_DRAFT:,} characters; a letter is far "
                "shorter, so the template probably loops or repeats too much"
            )
        parts.append(part)
    return "".join(parts)


def _message(exc: Exception) -> str:
    if isinstance(exc, jinja2.UndefinedError):
        return (
            f"{exc.message}; a field that does not exist (typo?) — the variables are listed "
            "in the README"
        )
    if isinstance(exc, jinja2.sandbox.SecurityError):
        return f"blocked: {str(exc).rstrip('.')}; templates may only use the documented variables"
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"{exc.name} is not a template in the template folders (includes stay inside them)"
    return str(getattr(exc, "message", None) or exc)


def _template_line(exc: BaseException, file_name: str) -> int | None:
    """The template line Jinja's rewritten traceback points at."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if Path(frame.f_code.co_filename).name == file_name:
            line = lineno
    return line


def _template_error(file_name: str, line: int | None, message: str, customer: str) -> TemplateError:
    where = f"{file_name}, line {line}" if line else file_name
    return TemplateError(
        f"template {where}: {message} (drafting for customer {customer}). No file was written."
    )


def split_subject(text: str) -> tuple[str, str]:
    """The `Subject:` first line and the body, tidied: no runs of blank lines, one final newline."""
    lines = [line.rstrip() for line in str(text).splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    subject = ""
    if lines and (match := SUBJECT.match(lines[0])):
        subject = match.group(1).strip()
        lines.pop(0)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return subject, body + "\n"
