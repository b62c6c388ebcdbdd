"""Value types shared by the rules models: durations, percentages, money, strict models.

Rules sections are pydantic models that refuse unknown keys. Durations
(`6mo`), percentages (`50%`) and money (`200`) in YAML are parsed by the same
functions the loader uses for data, so the YAML and the data speak one
language. A YAML yes/no word where text or a number is meant is refused
rather than silently turned into `True`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from winback_cli.durations import Duration, parse_duration, parse_money, parse_percent

Severity = Literal["churned", "at_risk"]


def _duration(value: Any) -> Duration:
    if isinstance(value, Duration):
        return value
    return parse_duration(value)


def _percent(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a percentage such as '50%', found a yes/no value")
    return parse_percent(value)


def _money(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected an amount such as 200, found a yes/no value")
    return parse_money(value)


def _text_or_number(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected text or a number, found a yes/no value")
    return value


DurationValue = Annotated[Duration, BeforeValidator(_duration)]
PercentValue = Annotated[float, BeforeValidator(_percent)]
MoneyValue = Annotated[float, BeforeValidator(_money)]
TextOrNumber = Annotated[str | float, BeforeValidator(_text_or_number)]
TriggerId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=64)]


class StrictModel(BaseModel):
    """Base for every rules section: frozen, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
