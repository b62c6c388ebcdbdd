"""The churn trigger models: one pydantic model per `kind:` in the rules YAML.

Each model holds a trigger's parameters with their defaults and checks; the
functions that evaluate them live in `triggers`. `Trigger` is the union the
rules file's `triggers:` list is validated against, told apart by `kind`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from winback_cli.durations import Duration
from winback_cli.rule_types import (
    DurationValue,
    MoneyValue,
    PercentValue,
    Severity,
    StrictModel,
    TextOrNumber,
    TriggerId,
)


class TriggerBase(StrictModel):
    id: TriggerId
    label: str | None = None

    @property
    def title(self) -> str:
        """The label if given, else the id: what tables and letters show."""
        return self.label or self.id


class InactiveTrigger(TriggerBase):
    """No order for a duration."""

    kind: Literal["inactive"]
    for_: DurationValue = Field(alias="for")
    severity: Severity = "churned"


class RevenueDropTrigger(TriggerBase):
    """Trailing-window revenue below a share of its peak over the customer's history."""

    kind: Literal["revenue_drop"]
    window: DurationValue = Field(default_factory=lambda: Duration(12, "mo"))
    below: PercentValue = 0.5
    min_peak: MoneyValue = 0.0
    severity: Severity = "at_risk"

    @field_validator("window")
    @classmethod
    def _whole_months(cls, value: Duration) -> Duration:
        if value.unit not in ("mo", "y"):
            raise ValueError(
                f"window must be calendar months or years (e.g. '12mo'), found '{value}'; "
                "the peak is tracked month by month"
            )
        return value


class CategoryLapseTrigger(TriggerBase):
    """A regularly bought category not bought for a duration while other orders go on."""

    kind: Literal["category_lapse"]
    min_orders: int = Field(default=3, ge=1)
    for_: DurationValue = Field(alias="for", default_factory=lambda: Duration(4, "mo"))
    severity: Severity = "at_risk"


class OverdueTrigger(TriggerBase):
    """Days since the last order exceed factor x the customer's own median gap."""

    kind: Literal["overdue"]
    factor: float = Field(default=2.0, gt=0)
    min_orders: int = Field(default=4, ge=2)
    severity: Severity = "at_risk"


class BasketShrinkTrigger(TriggerBase):
    """Average order value in the recent window below a share of the window before."""

    kind: Literal["basket_shrink"]
    window: DurationValue = Field(default_factory=lambda: Duration(6, "mo"))
    below: PercentValue = 0.7
    min_orders: int = Field(default=2, ge=1)
    severity: Severity = "at_risk"


class FrequencyDropTrigger(TriggerBase):
    """Orders in the recent window below a share of the window before."""

    kind: Literal["frequency_drop"]
    window: DurationValue = Field(default_factory=lambda: Duration(6, "mo"))
    below: PercentValue = 0.5
    min_orders: int = Field(default=3, ge=1)
    severity: Severity = "at_risk"


ContractStatus = Literal["cancelled", "notice_given", "expired"]


class ContractTrigger(TriggerBase):
    """Contract cancelled, cancellation announced, or the end date passed or near."""

    kind: Literal["contract"]
    statuses: tuple[ContractStatus, ...] = ("cancelled", "notice_given", "expired")
    ends_within: DurationValue | None = None
    severity: Severity = "churned"


class FieldTrigger(TriggerBase):
    """A declarative condition on one customer column (never evaluated as code)."""

    kind: Literal["field"]
    column: str = Field(min_length=1)
    equals: TextOrNumber | None = None
    in_: tuple[TextOrNumber, ...] | None = Field(default=None, alias="in")
    is_true: bool | None = None
    less_than: float | None = None
    greater_than: float | None = None
    severity: Severity = "churned"

    @model_validator(mode="after")
    def _one_condition(self) -> FieldTrigger:
        given = [
            name
            for name in ("equals", "in_", "is_true", "less_than", "greater_than")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "a field trigger needs exactly one condition of equals, in, is_true, "
                f"less_than, greater_than; found {len(given)}"
            )
        return self


class PAliveTrigger(TriggerBase):
    """The lifetime-value model's probability that the customer is still active is low."""

    kind: Literal["p_alive"]
    below: PercentValue = 0.3
    severity: Severity = "at_risk"


Trigger = Annotated[
    InactiveTrigger
    | RevenueDropTrigger
    | CategoryLapseTrigger
    | OverdueTrigger
    | BasketShrinkTrigger
    | FrequencyDropTrigger
    | ContractTrigger
    | FieldTrigger
    | PAliveTrigger,
    Field(discriminator="kind"),
]

# Kinds read from the orders alone (the report re-runs them at past month ends).
ORDER_KINDS = (
    "inactive",
    "revenue_drop",
    "category_lapse",
    "overdue",
    "basket_shrink",
    "frequency_drop",
)
TRIGGER_KINDS = (*ORDER_KINDS, "contract", "field", "p_alive")
