"""The rules-file sections for what to do: playbook, contact, codes, templates, reasons.

Typed, frozen pydantic models like the rest of `rules`; unknown keys are
errors. `playbook:` is an ordered list of rules whose first match gives a
customer's measure (channel, offer, template, owner, cost, wait), with a
default measure for everyone else; `contact:` holds the consent and
frequency settings, `codes:` where offer codes come from, `templates:` the
letter templates and the sender, `reasons:` how churn reasons are guessed
from the data. `rules.Rules` holds one field per section.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from winback_cli.durations import Duration
from winback_cli.rule_types import DurationValue, MoneyValue, PercentValue, StrictModel, TriggerId

Channel = Literal["letter", "email", "phone", "visit", "none"]
ReasonCategory = Literal[
    "price",
    "quality",
    "service",
    "complaint",
    "competitor",
    "moved",
    "closed",
    "no_need",
    "unknown",
]
OfferKind = Literal["none", "discount", "bonus", "free_service", "fix", "manager_call"]
LeavingStatus = Literal["churned", "at_risk"]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=64)]


def _listed(value: Any) -> Any:
    """Let a single value stand for a list of one: `status: churned`."""
    return (value,) if isinstance(value, str | bool | int | float) else value


def _offer_shorthand(value: Any) -> Any:
    """`offer: manager_call` means `offer: {kind: manager_call}`."""
    return {"kind": value} if isinstance(value, str) else value


class When(StrictModel):
    """Conditions of a playbook rule; all given ones must hold (a list means any of)."""

    status: Annotated[tuple[LeavingStatus, ...], BeforeValidator(_listed)] = ()
    segment: Annotated[tuple[str, ...], BeforeValidator(_listed)] = ()
    reason: Annotated[tuple[ReasonCategory, ...], BeforeValidator(_listed)] = ()
    trigger: Annotated[tuple[TriggerId, ...], BeforeValidator(_listed)] = ()
    strategic: bool | None = None
    min_value: MoneyValue | None = None


class Offer(StrictModel):
    """What the customer is offered; discounts and bonuses carry a code by default."""

    kind: OfferKind = "none"
    percent: PercentValue | None = None
    amount: MoneyValue | None = None
    text: str = ""
    code: bool | None = None
    valid_for: DurationValue | None = None

    @model_validator(mode="after")
    def _complete(self) -> Offer:
        if self.kind == "discount" and self.percent is None:
            raise ValueError("a discount needs percent, e.g. {kind: discount, percent: 10%}")
        if self.kind == "bonus" and self.amount is None:
            raise ValueError("a bonus needs amount, e.g. {kind: bonus, amount: 50}")
        if self.kind in ("free_service", "fix") and not self.text.strip():
            raise ValueError(f"a {self.kind} offer needs text saying what it is")
        return self

    @property
    def needs_code(self) -> bool:
        """Whether a draft with this offer gets an offer code."""
        return self.code if self.code is not None else self.kind in ("discount", "bonus")


class Measure(StrictModel):
    """What to do for a customer: how, what to offer, with which letter, by whom."""

    id: Name = "default"
    channel: Channel = "letter"
    allow_channels: tuple[Channel, ...] = ()
    offer: Annotated[Offer, BeforeValidator(_offer_shorthand)] = Field(default_factory=Offer)
    template: Name = "winback"
    owner: str = ""
    cost: MoneyValue = 0.0
    wait: DurationValue | None = None


class PlaybookRule(Measure):
    """A measure and the conditions (`when`) under which it applies."""

    id: Name
    when: When = Field(default_factory=When)


class Playbook(StrictModel):
    """Ordered rules (the first that matches wins) and the default measure."""

    rules: tuple[PlaybookRule, ...] = ()
    default: Measure = Field(default_factory=Measure)

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, value: tuple[PlaybookRule, ...]) -> tuple[PlaybookRule, ...]:
        seen = {"default"}
        for rule in value:
            if rule.id in seen:
                raise ValueError(f"playbook rule id '{rule.id}' is used twice (or is 'default')")
            seen.add(rule.id)
        return value

    def measures(self) -> dict[str, Measure]:
        """Every measure by id, the default included."""
        return {**{rule.id: rule for rule in self.rules}, "default": self.default}


class ContactRules(StrictModel):
    """Consent and frequency: who may be contacted, how, and how often."""

    min_gap: DurationValue | None = Field(default_factory=lambda: Duration(90, "d"))
    respect_preferred_channel: bool = True


class CodesRules(StrictModel):
    """Offer codes: from a pool exported by the shop, or generated with a secret."""

    pool: str | None = None
    pool_column: str = "code"
    secret: str | None = None
    secret_env: str = Field(default="WINBACK_CODE_SECRET", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    prefix: str = Field(default="WB", pattern=r"^[A-Z0-9]{0,8}$")
    length: int = Field(default=12, ge=8, le=24)


class Sender(StrictModel):
    """Who signs the letters (a measure's owner, when set, signs instead of `name`)."""

    name: str = ""
    company: str = ""
    email: str = ""
    phone: str = ""


class TemplatesRules(StrictModel):
    """Where letter templates live and who sends them."""

    folder: str | None = None
    fallback_language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    sender: Sender = Field(default_factory=Sender)


class ReasonRules(StrictModel):
    """How probable churn reasons are read from the data."""

    window: DurationValue = Field(default_factory=lambda: Duration(6, "mo"))
    returns_share_above: PercentValue = 0.1
    basket_below: PercentValue = 0.7
    from_triggers: dict[TriggerId, ReasonCategory] = Field(default_factory=dict)
