"""The rules file: typed models for triggers, value scoring and column mapping.

A rules YAML is read by `yaml_source` (which keeps line numbers and refuses
duplicate keys and Python tags) and validated here into frozen pydantic
models. Unknown keys are errors. Durations (`6mo`), percentages (`50%`) and
money (`200`) are parsed by the same functions the loader uses, so the YAML
and the data speak one language. `load_rules` is the only entry point the
CLI needs; `DEFAULT_RULES_TEXT` is the bundled, commented example.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    field_validator,
)

from winback_cli import playbook_rules
from winback_cli.durations import Duration
from winback_cli.errors import RulesError
from winback_cli.rule_types import (  # noqa: F401  (re-exported for rules sections elsewhere)
    DurationValue,
    MoneyValue,
    PercentValue,
    StrictModel,
    TriggerId,
)
from winback_cli.trigger_rules import TRIGGER_KINDS, Trigger  # noqa: F401  (re-exported)
from winback_cli.yaml_source import YamlDoc, format_validation_error, load_yaml_file, load_yaml_text

ValueBasis = Literal["revenue_per_year", "revenue_12m", "peak_12m", "margin_per_year"]
ScoreComponent = Literal[
    "revenue_12m",
    "revenue_per_year",
    "margin_per_year",
    "orders",
    "tenure_years",
    "strategic",
    "clv",
]


class ValueRules(StrictModel):
    """How customer value is scored and when a win-back is worth it."""

    basis: ValueBasis = "revenue_per_year"
    segments: dict[str, PercentValue] = Field(default_factory=lambda: {"A": 0.8, "B": 0.15})
    min_value_per_year: MoneyValue = 200.0
    # Expected lifetime value (clv: section) below which a win-back is not worth it.
    min_clv: MoneyValue | None = None
    weights: dict[ScoreComponent, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: {
            "revenue_per_year": 0.4,
            "margin_per_year": 0.3,
            "orders": 0.1,
            "tenure_years": 0.1,
            "strategic": 0.1,
        }
    )
    strategic_always_worth: bool = True
    not_worth_reasons: tuple[str, ...] = ("moved", "closed")

    @field_validator("segments")
    @classmethod
    def _segments_fit(cls, value: dict[str, float]) -> dict[str, float]:
        if not value:
            raise ValueError("give at least one segment, e.g. {A: 80%, B: 15%}")
        if sum(value.values()) > 1.0 + 1e-9:
            raise ValueError(f"segment shares add up to more than 100% ({sum(value.values()):.0%})")
        return value

    @field_validator("weights")
    @classmethod
    def _some_weight(cls, value: dict[str, float]) -> dict[str, float]:
        if not any(weight > 0 for weight in value.values()):
            raise ValueError("at least one weight must be above 0")
        return value


class ClvRules(StrictModel):
    """The lifetime-value model (BG/NBD or MBG/NBD with Gamma-Gamma spend)."""

    enabled: bool = True
    # MBG/NBD by default: under BG/NBD a one-time buyer is alive forever (p_alive 1).
    model: Literal["bgnbd", "mbgnbd"] = "mbgnbd"
    time_unit: Literal["day", "week", "month"] = "week"
    horizon: DurationValue = Field(default_factory=lambda: Duration(12, "mo"))
    discount_rate: PercentValue = 0.10
    value: Literal["margin", "revenue"] = "margin"

    @property
    def unit_days(self) -> float:
        """Days in one model time unit (a month is 365.25 / 12 days)."""
        return {"day": 1.0, "week": 7.0, "month": 365.25 / 12}[self.time_unit]


Profile = Literal["auto", "generic", "shopify", "woocommerce", "sap", "german_excel"]


class Rules(StrictModel):
    """The whole rules file."""

    profile: Profile = "auto"
    columns: dict[str, str | tuple[str, ...]] = Field(default_factory=dict)
    date_format: str | None = None
    decimal: Literal["auto", ",", "."] = "auto"
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    locale: str = "en_US"
    csv_style: Literal["standard", "excel-de"] = "standard"
    exclude_status: tuple[str, ...] = (
        "cancelled",
        "canceled",
        "storniert",
        "failed",
        "voided",
    )
    triggers: tuple[Trigger, ...] = ()
    value: ValueRules = Field(default_factory=ValueRules)
    clv: ClvRules = Field(default_factory=ClvRules)
    playbook: playbook_rules.Playbook = Field(default_factory=lambda: playbook_rules.Playbook())
    contact: playbook_rules.ContactRules = Field(
        default_factory=lambda: playbook_rules.ContactRules()
    )
    codes: playbook_rules.CodesRules = Field(default_factory=lambda: playbook_rules.CodesRules())
    templates: playbook_rules.TemplatesRules = Field(
        default_factory=lambda: playbook_rules.TemplatesRules()
    )
    reasons: playbook_rules.ReasonRules = Field(
        default_factory=lambda: playbook_rules.ReasonRules()
    )

    @field_validator("triggers")
    @classmethod
    def _unique_ids(cls, value: tuple[Any, ...]) -> tuple[Any, ...]:
        seen: set[str] = set()
        for trigger in value:
            if trigger.id in seen:
                raise ValueError(f"trigger id '{trigger.id}' is used twice; ids must be unique")
            seen.add(trigger.id)
        return value

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        from babel import Locale, UnknownLocaleError

        try:
            Locale.parse(value)
        except (ValueError, UnknownLocaleError) as exc:
            raise ValueError(f"unknown locale '{value}'; use e.g. de_DE or en_US") from exc
        return value


def _model_in(annotation: Any, step: str | int) -> Any:
    """The type one pydantic location step leads to from `annotation`."""
    import types
    import typing

    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _model_in(typing.get_args(annotation)[0], step)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        for member in members:
            kind = getattr(member, "model_fields", {}).get("kind")
            if kind is not None and step in typing.get_args(kind.annotation):
                return member
        return _model_in(members[0], step) if len(members) == 1 else None
    if origin in (tuple, list):
        return typing.get_args(annotation)[0] if isinstance(step, int) else None
    if origin is dict:
        return typing.get_args(annotation)[-1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            if step in (name, field.alias):
                return field.annotation
    return None


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """Keys allowed in the rules mapping at pydantic location `loc` (for "did you mean")."""
    current: Any = Rules
    for step in loc:
        nested = _model_in(current, step)
        if nested is None and isinstance(current, type):
            continue  # a union tag already resolved, or a step pydantic adds
        current = nested
    while current is not None and not (
        isinstance(current, type) and issubclass(current, BaseModel)
    ):
        current = _model_in(current, 0)
    if current is None:
        return []
    return [field.alias or name for name, field in current.model_fields.items()]


def rules_from_doc(doc: YamlDoc) -> Rules:
    """Validate a parsed YAML document into `Rules`, naming YAML lines on error."""
    data = doc.data
    if not isinstance(data, dict):
        raise RulesError(
            f"{doc.source}, line 1: expected a mapping of sections (columns:, triggers:, value:), "
            f"found {type(data).__name__}"
        )
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, doc, _allowed_keys) from None


def bundled_rules_text() -> str:
    """The commented default rules shipped with the package."""
    return resources.files("winback_cli").joinpath("data/rules.example.yaml").read_text("utf-8")


def load_rules(path: Path | None) -> tuple[Rules, str]:
    """Load rules from `path`, or the bundled defaults when `path` is None.

    Returns the rules and a description of where they came from.
    """
    if path is None:
        doc = load_yaml_text(bundled_rules_text(), "bundled default rules")
        return rules_from_doc(doc), "bundled default rules"
    return rules_from_doc(load_yaml_file(path)), str(path)
