"""Which customers of a campaign form its control group: a deterministic random share.

A customer is held out when the SHA-256 hash of the campaign name and the
customer id, read as a number in [0, 1), falls below the share. The draw
depends on nothing else, so running a campaign again (or with another
`--limit`) puts the same people in the control group, while another
campaign draws afresh. Each customer is held out with the given
probability, so the group is about, not exactly, that share of a campaign.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from winback_cli.errors import UsageError


def parse_holdout(text: str | None) -> float:
    """`10%` (or `0.1`) -> 0.1; 0 when not given; a usage error above 50 %."""
    if text is None or str(text).strip() == "":
        return 0.0
    from winback_cli.durations import parse_percent

    try:
        share = parse_percent(str(text).strip())
    except ValueError as exc:
        raise UsageError(f"--holdout: {exc}") from None
    if share > 0.5:
        raise UsageError(
            f"--holdout {text}: at most 50% can be held out; a control group needs "
            "fewer people than the campaign, e.g. --holdout 10%"
        )
    return share


def draw(campaign: str, customer_id: str) -> float:
    """The customer's number in [0, 1) for this campaign.

    >>> 0 <= draw("spring", "K00042") < 1
    True
    >>> draw("spring", "K00042") == draw("spring", "K00042")
    True
    """
    digest = hashlib.sha256(f"{campaign}\x00{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def control_mask(ids: pd.Series, campaign: str, share: float) -> np.ndarray:
    """True for the customers held out of `campaign` as its control group."""
    if share <= 0:
        return np.zeros(len(ids), dtype=bool)
    return np.array([draw(campaign, str(i)) < share for i in ids], dtype=bool)
